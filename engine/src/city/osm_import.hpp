// Private to engine/src/city: reading OpenStreetMap files (libosmium) into the CityModel.
#pragma once

#include <array>
#include <functional>
#include <optional>
#include <string>

#include "citytwin/city.hpp"

namespace citytwin {

struct OsmReadOptions {
  std::optional<std::array<double, 4>> bbox;  ///< [west, south, east, north], degrees
};

/// A drivable OSM way as read: tags decoded, node ids and WGS84 locations (NaN if missing).
struct OsmRoad {
  std::int64_t id = 0;
  RoadClass road_class = RoadClass::residential;
  int oneway = 0;  ///< 1 along the way, -1 against it, 0 both ways
  int lanes_forward = 1, lanes_backward = 1;
  float speed_mps = 0;
  std::string name, turn_lanes_forward, turn_lanes_backward;
  std::vector<std::int64_t> nodes;
  std::vector<double> lon, lat;
};

/// A building area as read (outer rings then their holes), WGS84.
struct OsmBuilding {
  std::int64_t id = 0;
  bool from_relation = false;
  float height_m = -1;  ///< < 0 when untagged
  float levels = -1;    ///< < 0 when untagged
  BuildingUse use = BuildingUse::other;
  std::vector<std::vector<double>> ring_lon, ring_lat;
  std::vector<std::uint8_t> ring_outer;
};

/// A polyline feature (power line, coastline, waterway), WGS84.
struct OsmLine {
  std::int64_t id = 0;
  int kind = 0;  ///< WaterKind, or 1 for an underground cable
  float voltage_v = 0;
  std::vector<double> lon, lat;
};

/// A critical facility as read: a node, or an area's vertex mean, WGS84.
struct OsmFacility {
  std::int64_t id = 0;
  std::uint8_t osm_type = 0;  ///< 0 node, 1 way, 2 relation
  FacilityKind kind = FacilityKind::hospital;
  std::string name;
  double lon = 0, lat = 0;
};

/// What the OSM reader collected, still in WGS84 longitude/latitude.
struct OsmCity {
  std::vector<OsmRoad> roads;
  std::vector<std::int64_t> signal_nodes;  ///< highway=traffic_signals, sorted
  std::vector<OsmBuilding> buildings;
  std::vector<OsmLine> power_lines, water;
  struct Substation {
    std::int64_t id;
    double lon, lat;
    float voltage_v;
  };
  std::vector<Substation> substations;
  std::vector<OsmFacility> facilities;
};

/// Adds a ring (WGS84 vertices, in order) to a building: a repeated closing vertex dropped,
/// rings of fewer than 3 vertices left out. OSM areas and GeoJSON outlines both go through it.
void add_building_ring(OsmBuilding& b, std::vector<double> lon, std::vector<double> lat,
                       bool outer);

/// The use class of a building from its OSM-style tags (`tag(key)`: the value, or null).
BuildingUse building_use(const std::function<const char*(const char*)>& tag);

/// Appends the buildings of a GeoJSON file (RFC 7946: WGS84 longitude/latitude; Polygon or
/// MultiPolygon features; properties as OSM tags: height, building:levels or levels, building,
/// amenity, ...) to `out`, with ids -1, -2, ... in feature order. Errors name the file and the
/// feature.
Result<void> read_geojson_buildings(const std::string& path, std::vector<OsmBuilding>& out);

/// Reads roads, buildings, power features and water from an .osm.pbf / .osm / .osm.gz file.
Result<OsmCity> read_osm(const std::string& path, const OsmReadOptions& options,
                         ImportStats& stats);

/// Longitude/latitude of the middle of the city (median of building and road positions);
/// nullopt when the file held nothing CityTwin imports.
std::optional<std::array<double, 2>> osm_center(const OsmCity& osm);

/// Projects what was read into the model CRS and fills the city's buildings, roads, power and
/// water (elevations are sampled later, once the terrain exists).
Result<void> build_city(const OsmCity& osm, const Projection& proj, double default_height_m,
                        double level_height_m, CityModel& city);

/// A point with a known elevation (an OSM node with an `ele` tag), in the model CRS.
struct ElevationPoint {
  double x, y, z;
};
/// Reads every node with a numeric `ele` tag from an OSM file and projects it.
Result<std::vector<ElevationPoint>> read_elevation_points(const std::string& path,
                                                          const Projection& proj);

}  // namespace citytwin
