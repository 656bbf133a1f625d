// Synthetic CityModels for spatial and viewer tests and benchmarks: a planar sloping terrain,
// buildings of known shape and height, a few roads. Everything is closed-form so tests can
// state exact expectations.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "citytwin/city.hpp"

namespace citytwin::testing {

/// Terrain plane z = k_z0 + k_sx * x + k_sy * y (m).
constexpr double k_z0 = 10.0, k_sx = 0.01, k_sy = 0.02;
inline double plane_z(double x, double y) {
  return k_z0 + k_sx * x + k_sy * y;
}

/// Appends a building with the given rings (first outer; any orientation is normalised to
/// outer CCW / holes CW as the importer guarantees).
inline void add_building(CityModel& c, std::vector<std::vector<std::array<double, 2>>> rings,
                         float height) {
  Buildings& b = c.buildings;
  if (b.ring_offsets.empty()) b.ring_offsets.push_back(0);
  if (b.point_offsets.empty()) b.point_offsets.push_back(0);
  double area = 0, cx = 0, cy = 0, outer_area = 0;
  for (std::size_t r = 0; r < rings.size(); ++r) {
    auto& ring = rings[r];
    double a2 = 0;
    for (std::size_t i = 0, j = ring.size() - 1; i < ring.size(); j = i++)
      a2 += ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
    const bool outer = r == 0;
    if ((a2 > 0) != outer) {
      std::vector<std::array<double, 2>> rev(ring.rbegin(), ring.rend());
      ring = rev;
    }
    area += (outer ? 1 : -1) * std::abs(a2) / 2;
    if (outer) {
      outer_area = std::abs(a2) / 2;
      for (const auto& p : ring) cx += p[0] / ring.size(), cy += p[1] / ring.size();
    }
    for (const auto& p : ring) b.x.push_back(p[0]), b.y.push_back(p[1]);
    b.point_offsets.push_back(static_cast<std::int32_t>(b.x.size()));
    b.ring_outer.push_back(outer ? 1 : 0);
  }
  (void)outer_area;
  b.ring_offsets.push_back(static_cast<std::int32_t>(b.ring_outer.size()));
  b.osm_id.push_back(1000 + b.size());
  b.from_relation.push_back(0);
  b.height_m.push_back(height);
  b.ground_m.push_back(static_cast<float>(c.terrain.sample(cx, cy)));
  b.levels.push_back(height / 3);
  b.footprint_m2.push_back(static_cast<float>(area));
  b.floor_area_m2.push_back(static_cast<float>(area * height / 3));
  b.centroid_x.push_back(cx);
  b.centroid_y.push_back(cy);
  b.use.push_back(BuildingUse::residential);
  b.height_source.push_back(HeightSource::height_tag);
}

/// Appends a straight link between two new nodes.
inline void add_road(CityModel& c, double x0, double y0, double x1, double y1, bool oneway) {
  RoadNetwork& r = c.roads;
  if (r.link_point_offsets.empty()) r.link_point_offsets.push_back(0);
  const auto n = r.node_count();
  r.node_osm_id.insert(r.node_osm_id.end(), {n + 1, n + 2});
  r.node_x.insert(r.node_x.end(), {x0, x1});
  r.node_y.insert(r.node_y.end(), {y0, y1});
  r.node_z.insert(r.node_z.end(),
                  {static_cast<float>(plane_z(x0, y0)), static_cast<float>(plane_z(x1, y1))});
  r.node_signal.insert(r.node_signal.end(), {0, 0});
  r.link_from.push_back(n);
  r.link_to.push_back(n + 1);
  r.link_osm_way.push_back(500 + r.link_count());
  r.link_class.push_back(RoadClass::residential);
  r.link_lanes.push_back(1);
  r.link_speed_mps.push_back(13.9f);
  r.link_length_m.push_back(static_cast<float>(std::hypot(x1 - x0, y1 - y0)));
  r.link_oneway.push_back(oneway ? 1 : 0);
  r.link_name.emplace_back();
  r.link_turn_lanes.emplace_back();
  r.point_x.insert(r.point_x.end(), {x0, x1});
  r.point_y.insert(r.point_y.end(), {y0, y1});
  r.point_z.insert(r.point_z.end(),
                   {static_cast<float>(plane_z(x0, y0)), static_cast<float>(plane_z(x1, y1))});
  r.link_point_offsets.push_back(static_cast<std::int32_t>(r.point_x.size()));
}

/// An empty city over [x0, x0 + w] x [y0, y0 + h] with planar terrain at `dx` spacing.
inline CityModel planar_city(double x0, double y0, double w, double h, double dx) {
  CityModel c;
  c.crs.name = "EPSG:32632";
  c.extent = {x0, y0, x0 + w, y0 + h};
  Terrain& t = c.terrain;
  t.nx = static_cast<int>(w / dx);
  t.ny = static_cast<int>(h / dx);
  t.x0 = x0;
  t.y0 = y0;
  t.dx = t.dy = dx;
  t.z.resize(static_cast<std::size_t>(t.nx) * t.ny);
  for (int j = 0; j < t.ny; ++j)
    for (int i = 0; i < t.nx; ++i)
      t.z[static_cast<std::size_t>(j) * t.nx + i] =
          static_cast<float>(plane_z(x0 + (i + 0.5) * dx, y0 + (j + 0.5) * dx));
  c.buildings.ring_offsets.push_back(0);
  c.buildings.point_offsets.push_back(0);
  c.roads.link_point_offsets.push_back(0);
  return c;
}

/// The small test city (origin at 0, 0; 400 m x 400 m, 10 m terrain):
///  0: 20 m square [100,120]^2, 30 m tall;
///  1: L-shaped (concave) block, 12 m;
///  2: 40 m square courtyard block with a 20 m hole, 18 m;
///  3: U-shaped block, 25 m; road 0 from (20, 300) to (380, 300), two-way.
inline CityModel small_city() {
  CityModel c = planar_city(0, 0, 400, 400, 10);
  add_building(c, {{{100, 100}, {120, 100}, {120, 120}, {100, 120}}}, 30);
  add_building(c, {{{200, 100}, {260, 100}, {260, 120}, {220, 120}, {220, 160}, {200, 160}}}, 12);
  add_building(c,
               {{{100, 200}, {140, 200}, {140, 240}, {100, 240}},
                {{110, 210}, {130, 210}, {130, 230}, {110, 230}}},
               18);
  add_building(c,
               {{{250, 200},
                 {300, 200},
                 {300, 250},
                 {290, 250},
                 {290, 210},
                 {260, 210},
                 {260, 250},
                 {250, 250}}},
               25);
  add_road(c, 20, 300, 380, 300, false);
  return c;
}

/// A grid city of n buildings (rectangles of varied size and height, some with courtyards)
/// with a road between every row and column of blocks; for the 50k-building benchmark.
inline CityModel grid_city(int n) {
  const int side = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(n))));
  const double pitch = 30;
  CityModel c = planar_city(0, 0, side * pitch + 20, side * pitch + 20, 20);
  int k = 0;
  for (int j = 0; j < side && k < n; ++j)
    for (int i = 0; i < side && k < n; ++i, ++k) {
      const double x = 10 + i * pitch, y = 10 + j * pitch;
      const double w = 14 + (k * 7 % 9), h = 12 + (k * 5 % 8);
      const float height = static_cast<float>(6 + (k * 13 % 60));
      if (k % 10 == 0)
        add_building(
            c,
            {{{x, y}, {x + w, y}, {x + w, y + h}, {x, y + h}},
             {{x + 4, y + 4}, {x + w - 4, y + 4}, {x + w - 4, y + h - 4}, {x + 4, y + h - 4}}},
            height);
      else
        add_building(c, {{{x, y}, {x + w, y}, {x + w, y + h}, {x, y + h}}}, height);
    }
  for (int j = 0; j <= side; ++j) add_road(c, 0, 5 + j * pitch, side * pitch, 5 + j * pitch, false);
  for (int i = 0; i <= side; ++i) add_road(c, 5 + i * pitch, 0, 5 + i * pitch, side * pitch, false);
  return c;
}

}  // namespace citytwin::testing
