// City mesh: triangulation and extrusion checked against closed forms on synthetic cities.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "citytwin/spatial.hpp"
#include "mesh_checks.hpp"
#include "support/synthetic_city.hpp"

using namespace citytwin;
using Ring = std::vector<std::array<double, 2>>;

namespace {
double tri_area_sum(const std::vector<Ring>& rings, const std::vector<std::int32_t>& tris,
                    double* min_area) {
  std::vector<std::array<double, 2>> pts;
  for (const Ring& r : rings) pts.insert(pts.end(), r.begin(), r.end());
  double sum = 0;
  *min_area = 1e300;
  for (std::size_t t = 0; t < tris.size(); t += 3) {
    const auto &a = pts[tris[t]], &b = pts[tris[t + 1]], &c = pts[tris[t + 2]];
    const double a2 = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
    sum += a2 / 2;  // signed: counter-clockwise triangles are positive
    *min_area = std::min(*min_area, a2 / 2);
  }
  return sum;
}
}  // namespace

TEST_CASE("Ear clipping covers concave polygons and holes exactly", "[spatial]") {
  double min_area = 0;
  // L shape, 60x20 + 20x40 = 2000 m2; given clockwise to test orientation handling.
  const std::vector<Ring> l{
      {{200, 160}, {220, 160}, {220, 120}, {260, 120}, {260, 100}, {200, 100}}};
  auto t = triangulate_polygon(l);
  CHECK(t.size() == 3 * 4);  // n - 2 triangles for a simple hexagon
  CHECK(tri_area_sum(l, t, &min_area) == Approx(2000).epsilon(1e-12));
  CHECK(min_area > 0);
  // Square 40x40 with a 20x20 hole: 1200 m2, n + 2h - 2 = 8 + 2 - 2 = 8 triangles.
  const std::vector<Ring> h{{{0, 0}, {40, 0}, {40, 40}, {0, 40}},
                            {{10, 10}, {30, 10}, {30, 30}, {10, 30}}};
  bool repaired = true;
  t = triangulate_polygon(h, &repaired);
  CHECK_FALSE(repaired);
  CHECK(t.size() == 3 * 8);
  CHECK(tri_area_sum(h, t, &min_area) == Approx(1200).epsilon(1e-12));
  CHECK(min_area > 0);
  // Two holes side by side: 100x40 - 2 * 20x20 = 3200 m2.
  const std::vector<Ring> h2{{{0, 0}, {100, 0}, {100, 40}, {0, 40}},
                             {{10, 10}, {30, 10}, {30, 30}, {10, 30}},
                             {{60, 10}, {80, 10}, {80, 30}, {60, 30}}};
  t = triangulate_polygon(h2, &repaired);
  CHECK_FALSE(repaired);
  CHECK(tri_area_sum(h2, t, &min_area) == Approx(3200).epsilon(1e-12));
  CHECK(min_area > 0);
  // Star polygons (very concave), 5 to 40 spikes: area from the shoelace formula.
  for (int spikes = 5; spikes <= 40; spikes += 7) {
    Ring star;
    for (int k = 0; k < 2 * spikes; ++k) {
      const double a = M_PI * k / spikes, r = k % 2 ? 3.0 : 10.0;
      star.push_back({r * std::cos(a), r * std::sin(a)});
    }
    double shoelace = 0;
    for (std::size_t i = 0, j = star.size() - 1; i < star.size(); j = i++)
      shoelace += star[j][0] * star[i][1] - star[i][0] * star[j][1];
    t = triangulate_polygon({star}, &repaired);
    CHECK_FALSE(repaired);
    CHECK(t.size() == 3 * (star.size() - 2));
    CHECK(tri_area_sum({star}, t, &min_area) == Approx(shoelace / 2).epsilon(1e-12));
    CHECK(min_area > 0);
  }
}

TEST_CASE("Every building is a closed solid from below the ground to its roof", "[spatial]") {
  const CityModel city = testing::small_city();
  const CityMesh mesh = build_city_mesh(city);
  CHECK(mesh.footprints_repaired == 0);
  const auto solids = testing::building_solids(mesh, city.buildings.size());
  for (std::int32_t b = 0; b < city.buildings.size(); ++b) {
    INFO("building " << b);
    const auto& s = solids[b];
    REQUIRE(s.triangles > 0);
    // Roof at ground (terrain at the centroid) + height; floats hold 1e-5 m at these values.
    CHECK(s.zmax == Approx(city.buildings.ground_m[b] + city.buildings.height_m[b]).margin(1e-4));
    // Floor 0.5 m (building_sink_m) below the lowest terrain under the footprint; terrain is
    // a plane, so its lowest point is the footprint vertex with the least k_sx x + k_sy y.
    double lowest = 1e300;
    for (std::int32_t q = city.buildings.point_offsets[city.buildings.ring_offsets[b]];
         q < city.buildings.point_offsets[city.buildings.ring_offsets[b + 1]]; ++q)
      lowest = std::min(lowest, testing::plane_z(city.buildings.x[q], city.buildings.y[q]));
    CHECK(s.zmin == Approx(lowest - 0.5).margin(1e-4));
    // Closed: the area vectors cancel and the volume is footprint x extrusion height.
    CHECK(std::abs(s.area_vector[0]) + std::abs(s.area_vector[1]) + std::abs(s.area_vector[2]) <
          1e-6 * city.buildings.footprint_m2[b] * 10);
    CHECK(s.volume == Approx(city.buildings.footprint_m2[b] * (s.zmax - s.zmin)).epsilon(1e-6));
    CHECK(s.roof_area == Approx(city.buildings.footprint_m2[b]).epsilon(1e-6));
    CHECK(s.min_triangle_area > 1e-3);
  }
}

TEST_CASE("Terrain and roads: one vertex per cell centre, ribbons on the ground", "[spatial]") {
  const CityModel city = testing::small_city();
  const CityMesh mesh = build_city_mesh(city);
  std::int64_t terrain_tris = 0, road_tris = 0;
  for (const MeshPart& p : mesh.parts) {
    for (int v = 0; v < p.vertex_count(); ++v) {
      const double x = p.position[3 * v] + mesh.origin[0],
                   y = p.position[3 * v + 1] + mesh.origin[1];
      if (p.kind == EntityKind::terrain)
        REQUIRE(p.position[3 * v + 2] == Approx(testing::plane_z(x, y)).margin(1e-4));
      // Roads 0.3 m above the terrain (road_lift_m); the plane is linear so sampling is exact.
      if (p.kind == EntityKind::road)
        REQUIRE(p.position[3 * v + 2] == Approx(testing::plane_z(x, y) + 0.3).margin(1e-4));
    }
    if (p.kind == EntityKind::terrain) terrain_tris += p.triangle_count();
    if (p.kind == EntityKind::road) road_tris += p.triangle_count();
  }
  // 40 x 40 cells -> 39 x 39 quads of cell centres, two triangles each.
  CHECK(terrain_tris == 2 * 39 * 39);
  // A straight 360 m link on a plane: the ribbon is exact without intermediate samples, so one
  // segment of two triangles.
  CHECK(road_tris == 2);
  // 400 m x 400 m at 500 m tiles: one tile.
  CHECK(mesh.tiles_x * mesh.tiles_y == 1);
}

TEST_CASE("Road ribbons follow curved ground within road_tolerance_m with fewer samples",
          "[spatial]") {
  // The small city's road (20, 300) -> (380, 300) over ground with a 2 m bump of 60 m
  // wavelength between x = 150 and 270, planar elsewhere.
  CityModel city = testing::small_city();
  Terrain& t = city.terrain;
  auto bump = [](double x) {
    return x > 150 && x < 270 ? 1.0 - std::cos((x - 150) * 2 * M_PI / 60) : 0.0;
  };
  for (int j = 0; j < t.ny; ++j)
    for (int i = 0; i < t.nx; ++i)
      t.z[static_cast<std::size_t>(j) * t.nx + i] +=
          static_cast<float>(bump(t.x0 + (i + 0.5) * t.dx));
  CityMeshOptions opt;
  const CityMesh mesh = build_city_mesh(city, opt);
  // The ribbon's left edge (the centre line, y = 300) as a polyline sorted by x.
  std::vector<std::pair<double, double>> edge;
  std::int64_t road_tris = 0;
  for (const MeshPart& p : mesh.parts) {
    if (p.kind != EntityKind::road) continue;
    road_tris += p.triangle_count();
    for (int v = 0; v < p.vertex_count(); ++v) {
      const double x = p.position[3 * v] + mesh.origin[0],
                   y = p.position[3 * v + 1] + mesh.origin[1];
      // Every kept vertex sits exactly road_lift_m above the (bilinear) ground.
      REQUIRE(p.position[3 * v + 2] == Approx(t.sample(x, y) + 0.3).margin(1e-4));
      if (std::abs(y - 300) < 1e-6) edge.emplace_back(x, p.position[3 * v + 2]);
    }
  }
  std::sort(edge.begin(), edge.end());
  REQUIRE(edge.size() >= 2);
  // At every 10 m sample of the terrain spacing, the ribbon is within the tolerance of the
  // ground + lift (the greedy drop guarantees it there; float positions: 1e-4).
  for (double x = 20; x <= 380; x += 10) {
    const auto hi = std::lower_bound(edge.begin(), edge.end(), std::pair{x, -1e300});
    REQUIRE(hi != edge.end());
    const auto lo = hi == edge.begin() ? hi : hi - 1;
    const double f = hi->first == lo->first ? 0 : (x - lo->first) / (hi->first - lo->first);
    const double zr = lo->second + f * (hi->second - lo->second);
    INFO("x = " << x);
    CHECK(std::abs(zr - (t.sample(x, 300) + 0.3)) <= opt.road_tolerance_m + 1e-4);
  }
  // Fewer than the 36 uniform segments (the planar ends need none), more than one (the bump).
  CHECK(road_tris > 2);
  CHECK(road_tris < 2 * 36);
}
