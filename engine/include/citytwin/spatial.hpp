// The 3D city: a triangle mesh built from a CityModel (terrain grid, extruded buildings, road
// ribbons), merged per tile, and a collision world over it for ray casts, elevations, line of
// sight and picking (engine/src/spatial; Bullet is used only there).
//
// Coordinates: the mesh is stored in float32 relative to CityMesh::origin (the centre of the
// city extent), so that vertices keep millimetre precision over tens of kilometres. The query
// API takes and returns model-CRS doubles; the conversion is internal.
//
// Every triangle carries the entity it belongs to (terrain cell, building index, road link
// index), so a ray hit maps back to the CityModel's dense indices.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "citytwin/city.hpp"

namespace citytwin {

/// What a triangle belongs to. Values are stable (the viewer uses them as layer ids).
enum class EntityKind : std::uint8_t { terrain = 0, building = 1, road = 2 };
const char* to_string(EntityKind kind);

/// An entity of the CityModel: terrain cell (j * nx + i), building index or road link index.
struct EntityRef {
  EntityKind kind = EntityKind::terrain;
  std::int32_t index = -1;
  friend bool operator==(const EntityRef&, const EntityRef&) = default;
};

/// How the mesh is built.
struct CityMeshOptions {
  double tile_size_m = 500;   ///< side of the square tiles geometry is merged into
  float lane_width_m = 3.5f;  ///< road ribbon width = lanes * lane_width_m
  float road_lift_m = 0.3f;   ///< ribbons float this far above the terrain (no z-fighting)
  /// Ribbons are sampled at the terrain spacing, and samples are dropped where the ribbon stays
  /// within this of the ground without them (straight streets on smooth ground: few triangles).
  float road_tolerance_m = 0.05f;
  float building_sink_m = 0.5f;  ///< walls reach this far below the lowest ground point
  bool building_floors = true;   ///< close buildings with a floor (watertight solids)
};

/// One merged piece of geometry: one layer (entity kind) inside one tile.
/// Vertices are not shared between entities, so each vertex has exactly one entity.
struct MeshPart {
  EntityKind kind = EntityKind::terrain;
  std::int32_t tile = 0;                    ///< index into CityMesh::tile_origin
  std::vector<float> position;              ///< (3 * n_vertices) x, y, z relative to the origin
  std::vector<float> normal;                ///< (3 * n_vertices) unit normals
  std::vector<std::int32_t> vertex_entity;  ///< (n_vertices) entity index of each vertex
  std::vector<std::int32_t> index;          ///< (3 * n_triangles) counter-clockwise from outside
  std::vector<std::int32_t> tri_entity;     ///< (n_triangles) entity index of each triangle

  std::int32_t vertex_count() const { return static_cast<std::int32_t>(vertex_entity.size()); }
  std::int32_t triangle_count() const { return static_cast<std::int32_t>(tri_entity.size()); }
};

/// The city as triangles. Built once per CityModel; read-only afterwards (safe to share).
struct CityMesh {
  std::array<double, 2> origin{};  ///< model-CRS point that vertex (0, 0, 0) stands for
  std::int32_t tiles_x = 0, tiles_y = 0;
  std::vector<MeshPart> parts;  ///< every non-empty (tile, kind) pair
  /// Buildings whose footprint could not be triangulated without a fallback ear (self-touching
  /// or self-intersecting rings from the source data); they are still extruded and counted.
  std::int32_t footprints_repaired = 0;
  std::int32_t terrain_nx = 0;  ///< terrain columns, to decode a terrain cell index

  std::int64_t triangle_count() const;
};

/// Builds the mesh. Terrain: one vertex per DEM cell centre, two triangles per quad of four
/// valid cells. Buildings: every ring extruded from below the lowest ground under the
/// footprint to ground_m + height_m, with a flat roof (and floor) triangulated by ear clipping
/// with holes bridged. Roads: one ribbon per link, to the right of its direction of travel for
/// two-way streets and centred for one-way ones, following the terrain.
CityMesh build_city_mesh(const CityModel& city, const CityMeshOptions& options = {});

/// Triangulates a polygon with holes by ear clipping (Eberly, "Triangulation by Ear Clipping",
/// Geometric Tools 2002: holes are joined to the outer ring by mutually visible bridges).
/// `rings` are closed point lists (last != first), the first the outer ring; orientation is
/// normalised internally (outer CCW, holes CW). Returns vertex indices into the concatenation
/// of the rings, three per triangle, counter-clockwise. `repaired` is set when the input was not
/// a simple polygon and a fallback ear was cut.
std::vector<std::int32_t> triangulate_polygon(
    const std::vector<std::vector<std::array<double, 2>>>& rings, bool* repaired = nullptr);

/// A ray hit: where, what, and the surface normal.
struct RayHit {
  std::array<double, 3> point{};  ///< model CRS, z in metres
  std::array<double, 3> normal{};
  double fraction = 0;  ///< along the ray, 0 at the start, 1 at the end
  EntityRef entity;
};

/// Which layers a query sees (bit mask of 1 << EntityKind).
enum LayerMask : std::uint32_t {
  k_layer_terrain = 1u << 0,
  k_layer_buildings = 1u << 1,
  k_layer_roads = 1u << 2,
  k_layer_all = 7u,
};

/// Result of a line-of-sight query.
struct SightLine {
  bool visible = true;
  std::optional<RayHit> blocker;  ///< the first obstacle when not visible
};

/// A Bullet collision world (btBvhTriangleMeshShape per mesh part) over a CityMesh.
/// Thread safety: not thread-safe, even for queries (Bullet's broadphase keeps one ray-test
/// stack per world); give each thread its own SpatialIndex over the same CityMesh.
class SpatialIndex {
 public:
  /// Builds the world over `mesh`, which must outlive the index (its arrays are referenced).
  explicit SpatialIndex(const CityMesh& mesh);
  ~SpatialIndex();
  SpatialIndex(const SpatialIndex&) = delete;
  SpatialIndex& operator=(const SpatialIndex&) = delete;

  /// First hit along the segment from `from` to `to` among the given layers.
  std::optional<RayHit> ray(const std::array<double, 3>& from, const std::array<double, 3>& to,
                            std::uint32_t layers = k_layer_all) const;
  /// Elevation of the terrain mesh at (x, y); NaN where there is no terrain.
  double ground_elevation(double x, double y) const;
  /// Roof elevation and building index at (x, y), if a building covers the point.
  std::optional<RayHit> roof(double x, double y) const;
  /// Whether the straight segment between two points is free of buildings (and terrain when
  /// `terrain_blocks`).
  SightLine line_of_sight(const std::array<double, 3>& a, const std::array<double, 3>& b,
                          bool terrain_blocks = true) const;
  /// Picking: the first thing a camera ray from `eye` through `direction` (any length) meets
  /// within `max_distance`.
  std::optional<RayHit> pick(const std::array<double, 3>& eye,
                             const std::array<double, 3>& direction,
                             double max_distance = 1e5) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace citytwin
