// Monaco import checked against what the reference tools report for the same file.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "city/osm_import.hpp"
#include "citytwin/city.hpp"

using namespace citytwin;

namespace {
const std::string k_assets = std::string(CITYTWIN_SOURCE_DIR) + "/assets/monaco/";

std::shared_ptr<const CityModel> monaco(bool with_bbox) {
  CitySpec spec;
  spec.osm = k_assets + "monaco-2025-02.osm.pbf";
  spec.dem = {k_assets + "monaco_srtm3_crop.tif"};
  if (with_bbox) spec.bbox = std::array<double, 4>{7.405, 43.718, 7.445, 43.755};
  auto city = import_city(spec);
  REQUIRE(city.has_value());
  return *city;
}
}  // namespace

TEST_CASE("Monaco buildings equal osmium's areas, footprints equal GDAL's areas",
          "[city][monaco]") {
  const auto c = monaco(false);
  const Buildings& b = c->buildings;
  // Reference: `osmium tags-filter monaco.pbf wr/building | osmium export --geometry-types=polygon`
  // gives 1605 building polygons (none tagged building=no).
  CHECK(b.size() == 1605);
  CHECK(c->stats.buildings_without_geometry == 0);
  // Reference: those polygons projected by `ogr2ogr -t_srs EPSG:32632` and summed with
  // OGR_GEOM_AREA: 800576.832155203 m2. Each area is stored as float (7 digits), hence 1e-6.
  double footprint = 0;
  for (float a : b.footprint_m2) footprint += a;
  CHECK(footprint == Approx(800576.832155203).epsilon(1e-6));
  CHECK(c->crs.name == "EPSG:32632");

  // Heights: 43 buildings tagged `height`, the rest from levels (x 3 m) or the default 10 m.
  const auto n_height =
      std::count(b.height_source.begin(), b.height_source.end(), HeightSource::height_tag);
  const auto n_levels =
      std::count(b.height_source.begin(), b.height_source.end(), HeightSource::levels_tag);
  // 44 building ways/relations carry `height` (osmium tags-filter wr/building, then wr/height).
  CHECK(n_height == 44);
  CHECK(n_height + n_levels >= 479);  // 479 carry building:levels; some of those also `height`
  for (std::int32_t i = 0; i < b.size(); ++i) {
    if (b.height_source[i] == HeightSource::levels_tag)
      REQUIRE(b.height_m[i] == Approx(3.0 * b.levels[i]));
    if (b.height_source[i] == HeightSource::default_value) REQUIRE(b.height_m[i] == 10.0f);
    REQUIRE(b.floor_area_m2[i] == Approx(b.footprint_m2[i] * b.levels[i]).epsilon(1e-6));
  }
  // Ring orientation: outer counter-clockwise, holes clockwise.
  for (std::size_t r = 0; r < b.ring_outer.size(); ++r) {
    double a = 0;
    const int p0 = b.point_offsets[r], p1 = b.point_offsets[r + 1];
    REQUIRE(p1 - p0 >= 3);
    for (int i = p0, j = p1 - 1; i < p1; j = i++) a += b.x[j] * b.y[i] - b.x[i] * b.y[j];
    REQUIRE((a > 0) == (b.ring_outer[r] == 1));
  }
  CHECK(b.ring_offsets.size() == static_cast<std::size_t>(b.size()) + 1);
}

TEST_CASE("Monaco road graph: every drivable way is linked, CSR consistent", "[city][monaco]") {
  const auto c = monaco(false);
  const RoadNetwork& r = c->roads;
  // Reference: `osmium tags-filter w/highway=<the 14 drivable classes>` -> 1175 ways, of which
  // `osmium tags-filter w/access=no,private w/motor_vehicle=no,private w/area=yes` -> 80 are
  // not for public motor traffic. Every one of the other 1095 must yield links.
  const std::set<std::int64_t> ways(r.link_osm_way.begin(), r.link_osm_way.end());
  CHECK(ways.size() == 1095);
  CHECK(r.link_count() >= 2000);
  // Reference: `osmium tags-filter n/highway=traffic_signals` -> 19 nodes in the file.
  CHECK(r.signal_count() <= 19);
  CHECK(r.signal_count() >= 15);
  for (std::int32_t l = 0; l < r.link_count(); ++l) {
    REQUIRE(r.link_from[l] >= 0);
    REQUIRE(r.link_to[l] < r.node_count());
    REQUIRE(r.link_lanes[l] >= 1);
    REQUIRE(r.link_speed_mps[l] > 1.0f);
    const int p0 = r.link_point_offsets[l], p1 = r.link_point_offsets[l + 1];
    REQUIRE(p1 - p0 >= 2);
    // The geometry starts and ends at the link's nodes, and its length is the polyline's.
    REQUIRE(r.point_x[p0] == r.node_x[r.link_from[l]]);
    REQUIRE(r.point_y[p1 - 1] == r.node_y[r.link_to[l]]);
    double len = 0;
    for (int p = p0 + 1; p < p1; ++p)
      len += std::hypot(r.point_x[p] - r.point_x[p - 1], r.point_y[p] - r.point_y[p - 1]);
    REQUIRE(r.link_length_m[l] == Approx(len).epsilon(1e-6));
  }
  // Two-way streets give a link in each direction with mirrored geometry.
  std::int32_t two_way_pairs = 0;
  for (std::int32_t l = 0; l + 1 < r.link_count(); ++l)
    if (r.link_osm_way[l] == r.link_osm_way[l + 1] && r.link_from[l] == r.link_to[l + 1] &&
        r.link_to[l] == r.link_from[l + 1])
      ++two_way_pairs;
  CHECK(two_way_pairs > 500);
  // Outgoing CSR: each link listed once, under its start node.
  std::vector<int> seen(static_cast<std::size_t>(r.link_count()), 0);
  for (std::int32_t n = 0; n < r.node_count(); ++n)
    for (std::int32_t k = r.node_out_offsets[n]; k < r.node_out_offsets[n + 1]; ++k) {
      REQUIRE(r.link_from[r.node_out_links[k]] == n);
      ++seen[r.node_out_links[k]];
    }
  CHECK(std::all_of(seen.begin(), seen.end(), [](int s) { return s == 1; }));
  CHECK(r.lane_km() > 100.0);
}

TEST_CASE("Monaco terrain: UTM grid from SRTM, elevations on every building and node",
          "[city][monaco]") {
  const auto c = monaco(true);
  const Terrain& t = c->terrain;
  // The SRTM crop spans -2..893 m; the crop box keeps the coast up to the hills.
  CHECK(t.min() <= 0.0);
  CHECK(t.max() >= 150.0);
  CHECK(t.nodata_cells == 0);
  for (float z : c->buildings.ground_m) REQUIRE(!std::isnan(z));
  for (float z : c->roads.node_z) REQUIRE(!std::isnan(z));
  // The terrain at the UTM position of a DEM cell centre equals that cell (a smooth spot,
  // where bilinear resampling in UTM changes little): cell (40, 30) = 45 m, (40, 31) = 50 m.
  auto p = Projection::create("EPSG:32632");
  REQUIRE(p);
  double x = 7.394583333333333 + 40.5 / 1200.0, y = 43.765416666666667 - 30.5 / 1200.0;
  REQUIRE(p->forward(x, y));
  CHECK(c->ground(x, y) == Approx(45.0).margin(8.0));
  // Every building of the extract lies inside this box; a tighter box keeps fewer.
  CHECK(c->buildings.size() == 1605);
  CitySpec tight;
  tight.osm = k_assets + "monaco-2025-02.osm.pbf";
  tight.bbox = std::array<double, 4>{7.415, 43.725, 7.435, 43.745};
  auto t2 = import_city(tight);
  REQUIRE(t2);
  CHECK((*t2)->buildings.size() < 1605);
  CHECK((*t2)->buildings.size() > 500);
  for (std::int32_t i = 0; i < (*t2)->buildings.size(); ++i) {
    double lon = (*t2)->buildings.centroid_x[i], lat = (*t2)->buildings.centroid_y[i];
    REQUIRE(p->inverse(lon, lat));
    REQUIRE(lon >= 7.415 - 1e-3);
    REQUIRE(lon <= 7.435 + 1e-3);
  }
}

TEST_CASE("surveyed street elevations refine the terrain towards them", "[city][monaco]") {
  CitySpec spec;
  spec.osm = k_assets + "monaco-2025-02.osm.pbf";
  spec.dem = {k_assets + "monaco_srtm3_crop.tif"};
  spec.bbox = std::array<double, 4>{7.405, 43.718, 7.445, 43.755};
  spec.terrain_resolution_m = 20;
  auto plain = import_city(spec);
  spec.elevation_points = k_assets + "most_network_3d_roads.osm.gz";
  auto refined = import_city(spec);
  REQUIRE(plain);
  REQUIRE(refined);
  auto proj = Projection::create("EPSG:32632");
  REQUIRE(proj);
  auto points = read_elevation_points(spec.elevation_points, *proj);
  REQUIRE(points);
  // Tunnel and bridge nodes (road elevation, not ground) are left out: node -107068 (ele 9.5 m,
  // in a harbour tunnel) is one of them.
  double tx = 7.4215114, ty = 43.7319537;
  REQUIRE(proj->forward(tx, ty));
  for (const ElevationPoint& e : *points) REQUIRE(std::hypot(e.x - tx, e.y - ty) > 0.01);
  CHECK((*refined)->stats.elevation_points_used > 10000);
  // Root-mean-square misfit between the surveyed ground points and the terrain, inside the box.
  auto rms = [&](const CityModel& c) {
    double s = 0;
    int n = 0;
    for (const ElevationPoint& e : *points) {
      const double z = c.ground(e.x, e.y);
      if (std::isnan(z)) continue;
      s += (z - e.z) * (z - e.z);
      ++n;
    }
    return std::sqrt(s / n);
  };
  const double before = rms(**plain), after = rms(**refined);
  INFO("RMS misfit to surveyed points: SRTM " << before << " m, refined " << after << " m");
  CHECK(after < 0.5 * before);
}

TEST_CASE("A broken .pbf read many times leaves no file descriptor open", "[city][osm]") {
  // libosmium 2.18's PBF parser closed its file only after parsing to the end: every broken file
  // leaked a descriptor (the fuzzer ran out of them after 24 s). read_osm parses a .pbf from
  // memory since; the test counts this process's open descriptors around 200 failed reads.
  const std::string broken =
      std::string(CITYTWIN_SOURCE_DIR) + "/tests/data/fuzz/osm_pbf/truncated_block.osm.pbf";
  const auto open_fds = [] {
    return std::distance(std::filesystem::directory_iterator("/proc/self/fd"),
                         std::filesystem::directory_iterator{});
  };
  const auto before = open_fds();
  for (int k = 0; k < 200; ++k) {
    ImportStats stats;
    CHECK(!read_osm(broken, OsmReadOptions{}, stats).has_value());
  }
  CHECK(open_fds() <= before + 2);  // + the directory iterator's own, and slack for a thread
}
