// The collision world over a CityMesh: one static btCollisionObject with a
// btBvhTriangleMeshShape per mesh part (tile x layer), the mesh arrays referenced, not copied.
// A ray result's (collision object, triangle index) maps back to (part, triangle) and from there
// to the entity through MeshPart::tri_entity. Layers are Bullet collision filter groups.
#include "citytwin/spatial.hpp"

#include <btBulletCollisionCommon.h>

#include <cmath>
#include <limits>

namespace citytwin {
namespace {

// Closest hit that also records which triangle was hit (ClosestRayResultCallback does not).
struct TriangleRayCallback : btCollisionWorld::ClosestRayResultCallback {
  int triangle = -1;
  TriangleRayCallback(const btVector3& from, const btVector3& to)
      : ClosestRayResultCallback(from, to) {}
  btScalar addSingleResult(btCollisionWorld::LocalRayResult& r, bool normal_in_world) override {
    triangle = r.m_localShapeInfo ? r.m_localShapeInfo->m_triangleIndex : -1;
    return ClosestRayResultCallback::addSingleResult(r, normal_in_world);
  }
};

}  // namespace

struct SpatialIndex::Impl {
  const CityMesh& mesh;
  btDefaultCollisionConfiguration config;
  btCollisionDispatcher dispatcher{&config};
  btDbvtBroadphase broadphase;
  btCollisionWorld world{&dispatcher, &broadphase, &config};
  std::vector<std::unique_ptr<btTriangleIndexVertexArray>> arrays;
  std::vector<std::unique_ptr<btBvhTriangleMeshShape>> shapes;
  std::vector<std::unique_ptr<btCollisionObject>> objects;
  double top = 0;  // highest vertex, for vertical rays

  explicit Impl(const CityMesh& m) : mesh(m) {
    double zmin = std::numeric_limits<double>::infinity(), zmax = -zmin;
    for (std::size_t i = 0; i < m.parts.size(); ++i) {
      const MeshPart& p = m.parts[i];
      if (p.triangle_count() == 0) continue;
      for (std::size_t v = 2; v < p.position.size(); v += 3) {
        zmin = std::min<double>(zmin, p.position[v]);
        zmax = std::max<double>(zmax, p.position[v]);
      }
      // Bullet takes non-const pointers but only reads them for static meshes.
      auto arr = std::make_unique<btTriangleIndexVertexArray>(
          p.triangle_count(), const_cast<int*>(p.index.data()), 3 * static_cast<int>(sizeof(int)),
          p.vertex_count(), const_cast<btScalar*>(p.position.data()),
          3 * static_cast<int>(sizeof(float)));
      auto shape = std::make_unique<btBvhTriangleMeshShape>(arr.get(), true, true);
      auto obj = std::make_unique<btCollisionObject>();
      obj->setCollisionShape(shape.get());
      obj->setUserIndex(static_cast<int>(i));
      const int group = 1 << static_cast<int>(p.kind);
      world.addCollisionObject(obj.get(), group, k_layer_all);
      arrays.push_back(std::move(arr));
      shapes.push_back(std::move(shape));
      objects.push_back(std::move(obj));
    }
    world.updateAabbs();
    top = std::isfinite(zmax) ? zmax + 100 : 100;
  }

  btVector3 local(const std::array<double, 3>& p) const {
    return {static_cast<btScalar>(p[0] - mesh.origin[0]),
            static_cast<btScalar>(p[1] - mesh.origin[1]), static_cast<btScalar>(p[2])};
  }

  std::optional<RayHit> cast(const std::array<double, 3>& from, const std::array<double, 3>& to,
                             std::uint32_t layers) const {
    const btVector3 a = local(from), b = local(to);
    TriangleRayCallback cb(a, b);
    cb.m_collisionFilterGroup = static_cast<int>(k_layer_all);
    cb.m_collisionFilterMask = static_cast<int>(layers);
    // Hits on back faces count too (a ray starting inside a building must still be blocked).
    cb.m_flags = 0;
    world.rayTest(a, b, cb);
    if (!cb.hasHit() || cb.triangle < 0) return std::nullopt;
    const MeshPart& p = mesh.parts[static_cast<std::size_t>(cb.m_collisionObject->getUserIndex())];
    RayHit h;
    const double f = cb.m_closestHitFraction;
    // The hit point from the double-precision segment, not from float local coordinates.
    for (int k = 0; k < 3; ++k) h.point[k] = from[k] + f * (to[k] - from[k]);
    h.normal = {cb.m_hitNormalWorld.x(), cb.m_hitNormalWorld.y(), cb.m_hitNormalWorld.z()};
    h.fraction = f;
    h.entity = {p.kind, p.tri_entity[static_cast<std::size_t>(cb.triangle)]};
    return h;
  }
};

SpatialIndex::SpatialIndex(const CityMesh& mesh) : m_impl(std::make_unique<Impl>(mesh)) {}
SpatialIndex::~SpatialIndex() = default;

std::optional<RayHit> SpatialIndex::ray(const std::array<double, 3>& from,
                                        const std::array<double, 3>& to,
                                        std::uint32_t layers) const {
  return m_impl->cast(from, to, layers);
}

double SpatialIndex::ground_elevation(double x, double y) const {
  const auto h = m_impl->cast({x, y, m_impl->top}, {x, y, -12000.0}, k_layer_terrain);
  return h ? h->point[2] : std::numeric_limits<double>::quiet_NaN();
}

std::optional<RayHit> SpatialIndex::roof(double x, double y) const {
  return m_impl->cast({x, y, m_impl->top}, {x, y, -12000.0}, k_layer_buildings);
}

SightLine SpatialIndex::line_of_sight(const std::array<double, 3>& a,
                                      const std::array<double, 3>& b, bool terrain_blocks) const {
  const std::uint32_t layers = k_layer_buildings | (terrain_blocks ? k_layer_terrain : 0u);
  SightLine s;
  s.blocker = m_impl->cast(a, b, layers);
  s.visible = !s.blocker.has_value();
  return s;
}

std::optional<RayHit> SpatialIndex::pick(const std::array<double, 3>& eye,
                                         const std::array<double, 3>& direction,
                                         double max_distance) const {
  const double len = std::sqrt(direction[0] * direction[0] + direction[1] * direction[1] +
                               direction[2] * direction[2]);
  if (len == 0) return std::nullopt;
  const double s = max_distance / len;
  return m_impl->cast(
      eye, {eye[0] + direction[0] * s, eye[1] + direction[1] * s, eye[2] + direction[2] * s},
      k_layer_all);
}

}  // namespace citytwin
