// The imported city: terrain, buildings, roads, power features and water, projected into one
// metric CRS. Built once by import_city() and never changed during a run (read-only; safe to
// share between threads and between runs).
//
// Arrays are structure-of-arrays named <entity>_<quantity>; polylines and polygons are CSR
// (offsets into flat coordinate arrays). Entities are dense int32 indices; the OSM id of each
// is kept so outputs can name them.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "citytwin/error.hpp"
#include "citytwin/spec.hpp"

namespace citytwin {

/// The model's coordinate reference system (metric, x east, y north).
struct Crs {
  std::string name;  ///< "EPSG:32632" or "WGS 84 / UTM zone 32N" or the DEM's own name
  std::string wkt;   ///< WKT2 definition
};

/// A regular elevation grid in the model CRS. Row 0 is the southernmost row.
struct Terrain {
  int nx = 0, ny = 0;     ///< columns, rows
  double x0 = 0, y0 = 0;  ///< model coordinates of the south-west corner of cell (0, 0)
  double dx = 0, dy = 0;  ///< cell size (m)
  std::vector<float> z;   ///< (ny * nx) elevations (m), row-major; NaN where no data
  std::int64_t nodata_cells = 0;

  bool empty() const { return nx == 0 || ny == 0; }
  float at(int i, int j) const { return z[static_cast<std::size_t>(j) * nx + i]; }
  /// Bilinear interpolation between cell centres; NaN outside the grid or next to nodata.
  double sample(double x, double y) const;
  double min() const;
  double max() const;
};

/// Building use classes (from OSM building=* / amenity / shop / office tags).
enum class BuildingUse : std::uint8_t {
  residential,
  commercial,
  office,
  industrial,
  public_service,
  education,
  health,
  religious,
  parking,
  other
};
const char* to_string(BuildingUse use);

/// Where a building's height came from.
enum class HeightSource : std::uint8_t { height_tag, levels_tag, default_value };

struct Buildings {
  std::vector<std::int64_t> osm_id;         ///< (n) way id, or relation id for multipolygons
  std::vector<std::uint8_t> from_relation;  ///< (n) 1 when osm_id is a relation id
  std::vector<float> height_m;              ///< (n) height above ground
  std::vector<float> ground_m;              ///< (n) terrain elevation at the centroid (NaN: none)
  std::vector<float> levels;                ///< (n) levels (height / level height if untagged)
  std::vector<float> footprint_m2;          ///< (n) outer minus inner ring area
  std::vector<float> floor_area_m2;         ///< (n) footprint * levels
  std::vector<double> centroid_x, centroid_y;  ///< (n)
  std::vector<BuildingUse> use;                ///< (n)
  std::vector<HeightSource> height_source;     ///< (n)
  // Footprints: building b has rings [ring_offsets[b], ring_offsets[b+1]); ring r has points
  // [point_offsets[r], point_offsets[r+1]) (closed: last point != first), outer rings CCW.
  std::vector<std::int32_t> ring_offsets;   ///< (n + 1)
  std::vector<std::int32_t> point_offsets;  ///< (n_rings + 1)
  std::vector<std::uint8_t> ring_outer;     ///< (n_rings) 1 outer, 0 inner (hole)
  std::vector<double> x, y;                 ///< (n_points)

  std::int32_t size() const { return static_cast<std::int32_t>(osm_id.size()); }
};

/// OSM road classes that carry motor traffic, from highest to lowest.
enum class RoadClass : std::uint8_t {
  motorway,
  trunk,
  primary,
  secondary,
  tertiary,
  unclassified,
  residential,
  service,
  living_street,
  motorway_link,
  trunk_link,
  primary_link,
  secondary_link,
  tertiary_link
};
const char* to_string(RoadClass c);

/// Directed road network: nodes are junctions and dead ends; a link runs between two nodes
/// along one OSM way, in one direction. A two-way street is two links.
struct RoadNetwork {
  std::vector<std::int64_t> node_osm_id;  ///< (n_nodes)
  std::vector<double> node_x, node_y;     ///< (n_nodes) model CRS
  std::vector<float> node_z;              ///< (n_nodes) ground elevation (NaN: none)
  std::vector<std::uint8_t> node_signal;  ///< (n_nodes) 1 at highway=traffic_signals

  std::vector<std::int32_t> link_from, link_to;  ///< (n_links) node indices
  std::vector<std::int64_t> link_osm_way;        ///< (n_links)
  std::vector<RoadClass> link_class;             ///< (n_links)
  std::vector<std::uint8_t> link_lanes;          ///< (n_links) lanes in this direction (>= 1)
  std::vector<float> link_speed_mps;      ///< (n_links) speed limit (tagged or class default)
  std::vector<float> link_length_m;       ///< (n_links) along the geometry, 2D
  std::vector<std::uint8_t> link_oneway;  ///< (n_links) 1 when the way is one-way
  std::vector<std::string> link_name;     ///< (n_links) name tag (may be empty)
  /// turn:lanes tag for this direction ("left|through|through;right"), empty when untagged.
  std::vector<std::string> link_turn_lanes;
  std::vector<std::int32_t> link_point_offsets;  ///< (n_links + 1) into point_x/y/z
  std::vector<double> point_x, point_y;          ///< polyline vertices, from node to node inclusive
  std::vector<float> point_z;                    ///< ground elevation of each vertex
  // Outgoing links of each node (CSR).
  std::vector<std::int32_t> node_out_offsets;  ///< (n_nodes + 1)
  std::vector<std::int32_t> node_out_links;    ///< (n_links)

  std::int32_t node_count() const { return static_cast<std::int32_t>(node_x.size()); }
  std::int32_t link_count() const { return static_cast<std::int32_t>(link_from.size()); }
  double lane_km() const;
  std::int32_t signal_count() const;
};

/// Mapped power infrastructure (OSM power=substation / line / cable / minor_line).
struct PowerFeatures {
  std::vector<std::int64_t> substation_osm_id;     ///< (n_sub)
  std::vector<double> substation_x, substation_y;  ///< (n_sub) centroid
  std::vector<float> substation_voltage_v;         ///< (n_sub) highest tagged voltage, NaN if none
  std::vector<std::int64_t> line_osm_id;           ///< (n_lines)
  std::vector<float> line_voltage_v;               ///< (n_lines) NaN if untagged
  std::vector<std::uint8_t> line_underground;      ///< (n_lines) 1 for power=cable
  std::vector<std::int32_t> line_point_offsets;    ///< (n_lines + 1)
  std::vector<double> point_x, point_y;
};

enum class WaterKind : std::uint8_t { coastline, river, stream, canal, drain, other };

/// Kinds of critical facility (emergency services and the places most exposed people gather).
enum class FacilityKind : std::uint8_t { hospital, fire_station, police, school };
const char* to_string(FacilityKind kind);

/// Critical facilities, from OSM nodes and areas tagged amenity=hospital, fire_station, police,
/// school, kindergarten, college or university (or building=hospital, fire_station, school). One
/// per building and kind: a facility mapped both as a point and as its building counts once.
struct Facilities {
  std::vector<std::int64_t> osm_id;    ///< (n) node, way or relation id
  std::vector<std::uint8_t> osm_type;  ///< (n) 0 node, 1 way, 2 relation
  std::vector<FacilityKind> kind;      ///< (n)
  std::vector<std::string> name;       ///< (n) name tag (may be empty)
  std::vector<double> x, y;            ///< (n) position (an area's vertex mean), model CRS
  std::vector<std::int32_t> building;  ///< (n) building holding it (or within 30 m), -1 none
  std::int32_t size() const { return static_cast<std::int32_t>(osm_id.size()); }
};

/// Coastline and waterways as polylines.
struct WaterFeatures {
  std::vector<std::int64_t> osm_id;         ///< (n)
  std::vector<WaterKind> kind;              ///< (n)
  std::vector<std::int32_t> point_offsets;  ///< (n + 1)
  std::vector<double> point_x, point_y;
};

/// How long each import stage took and what it saw; printed by `citytwin info`.
struct ImportStats {
  struct Stage {
    std::string name;
    double seconds = 0;
  };
  std::vector<Stage> stages;
  std::int64_t osm_nodes = 0, osm_ways = 0, osm_relations = 0;
  std::int64_t buildings_without_geometry = 0;  ///< broken multipolygons, dropped and counted
  std::int64_t elevation_points_used = 0;       ///< `ele` nodes that refined the terrain
  std::int64_t depression_cells_filled = 0;     ///< cells raised by city.fill_depressions
  /// Input dropped beyond a documented share (Model::warnings carries them on).
  std::vector<Diagnostic> warnings;
};

/// Projection between WGS84 longitude/latitude (degrees) and the model CRS (metres).
class Projection {
 public:
  static Result<Projection> create(const std::string& model_crs);
  ~Projection();
  Projection(Projection&&) noexcept;
  Projection& operator=(Projection&&) noexcept;
  /// lon/lat -> x/y in place; returns false where the transform fails.
  bool forward(double& lon_x, double& lat_y) const;
  bool inverse(double& x_lon, double& y_lat) const;
  const Crs& crs() const { return m_crs; }

 private:
  Projection() = default;
  void* m_ctx = nullptr;  // PJ_CONTEXT*
  void* m_pj = nullptr;   // PJ*
  Crs m_crs;
};

/// "EPSG:326zz" / "EPSG:327zz": the UTM zone holding a WGS84 point.
std::string utm_crs_for(double lon, double lat);

struct CityModel {
  Crs crs;
  std::array<double, 4> extent{};  ///< [xmin, ymin, xmax, ymax] of everything imported
  Terrain terrain;
  Buildings buildings;
  RoadNetwork roads;
  PowerFeatures power;
  WaterFeatures water;
  Facilities facilities;
  ImportStats stats;

  /// Ground elevation at a point (terrain, NaN outside it).
  double ground(double x, double y) const { return terrain.sample(x, y); }
};

/// A raster as stored in its file: row 0 is the first (northern) row, cell values as float,
/// NaN for nodata. Coordinates in the raster's own CRS.
struct Raster {
  int nx = 0, ny = 0;
  std::array<double, 6> geo{};  ///< GDAL geotransform (x0, dx, 0, y0, 0, dy<0); no rotation
  std::vector<float> z;         ///< (ny * nx)
  std::string wkt;              ///< raster CRS, empty when the file names none
  bool geographic = false;      ///< CRS in degrees

  /// Bilinear between cell centres, renormalised over the corners that hold data; NaN outside.
  double sample(double x, double y) const;
};

/// Reads band 1 of a GeoTIFF, ESRI ASCII grid or any raster GDAL reads.
Result<Raster> read_raster(const std::string& path);

/// Imports the city the spec names (OSM and/or DEM) into a CityModel.
Result<std::shared_ptr<const CityModel>> import_city(const CitySpec& spec);

}  // namespace citytwin
