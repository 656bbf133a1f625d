// Monaco's real buildings through the mesh and the collision world.
#include <catch2/catch.hpp>

#include <cmath>

#include "../../unit/spatial/mesh_checks.hpp"
#include "citytwin/spatial.hpp"

using namespace citytwin;

namespace {
std::shared_ptr<const CityModel> monaco() {
  const std::string assets = std::string(CITYTWIN_SOURCE_DIR) + "/assets/monaco/";
  CitySpec spec;
  spec.osm = assets + "monaco-2025-02.osm.pbf";
  spec.dem = {assets + "monaco_srtm3_crop.tif"};
  spec.bbox = std::array<double, 4>{7.405, 43.718, 7.445, 43.755};
  auto city = import_city(spec);
  REQUIRE(city.has_value());
  return *city;
}
}  // namespace

TEST_CASE("Monaco: every building extruded closed to its height; rays hit the right roofs",
          "[spatial][monaco]") {
  const auto city = monaco();
  const Buildings& b = city->buildings;
  const CityMesh mesh = build_city_mesh(*city);
  INFO("footprints repaired: " << mesh.footprints_repaired);
  const auto solids = testing::building_solids(mesh, b.size());
  int volume_off = 0;
  for (std::int32_t k = 0; k < b.size(); ++k) {
    INFO("building " << k << " osm " << b.osm_id[k]);
    const auto& s = solids[k];
    REQUIRE(s.triangles > 0);
    const double ground = std::isfinite(b.ground_m[k]) ? b.ground_m[k] : 0.0;
    // Roof at ground + height (float32 vertices of values up to ~900 m: 1e-4 relative).
    REQUIRE(s.zmax == Approx(ground + b.height_m[k]).margin(1e-3));
    REQUIRE(s.min_triangle_area > 0);
    // Closed: area vectors cancel to float rounding of the footprint's coordinates.
    const double av =
        std::abs(s.area_vector[0]) + std::abs(s.area_vector[1]) + std::abs(s.area_vector[2]);
    REQUIRE(av < 1e-3 * (b.footprint_m2[k] + 1) * (s.zmax - s.zmin));
    // Roof area equals the footprint (outer minus holes) unless the source ring is not simple.
    if (std::abs(s.volume - b.footprint_m2[k] * (s.zmax - s.zmin)) > 1e-3 * s.volume) ++volume_off;
  }
  // Only footprints that needed a fallback ear may have a roof area off the footprint area.
  CHECK(volume_off <= mesh.footprints_repaired);
  CHECK(mesh.footprints_repaired <= b.size() / 100);

  // A vertical ray through a point inside each building's first roof triangle hits that
  // building at its roof, unless a taller overlapping building covers the point.
  SpatialIndex index(mesh);
  int hits = 0, own = 0;
  for (const MeshPart& p : mesh.parts) {
    if (p.kind != EntityKind::building) continue;
    std::vector<char> done(static_cast<std::size_t>(b.size()), 0);
    for (int t = 0; t < p.triangle_count(); ++t) {
      const int k = p.tri_entity[t];
      const int v0 = p.index[3 * t], v1 = p.index[3 * t + 1], v2 = p.index[3 * t + 2];
      const float z = p.position[3 * v0 + 2];
      if (done[k] || z != p.position[3 * v1 + 2] || z != p.position[3 * v2 + 2]) continue;
      const auto& sk = solids[k];
      if (z != static_cast<float>(sk.zmax)) continue;
      done[k] = 1;
      const double x =
          (p.position[3 * v0] + p.position[3 * v1] + p.position[3 * v2]) / 3.0 + mesh.origin[0];
      const double y =
          (p.position[3 * v0 + 1] + p.position[3 * v1 + 1] + p.position[3 * v2 + 1]) / 3.0 +
          mesh.origin[1];
      const auto hit = index.roof(x, y);
      REQUIRE(hit);
      ++hits;
      if (hit->entity.index == k) {
        ++own;
        REQUIRE(hit->point[2] == Approx(sk.zmax).margin(1e-2));
      } else {
        REQUIRE(hit->point[2] >= sk.zmax - 1e-2);  // covered by a taller overlapping building
      }
    }
  }
  CHECK(hits == b.size());
  CHECK(own >= b.size() * 98 / 100);
}
