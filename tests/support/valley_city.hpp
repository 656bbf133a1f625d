// A small synthetic city across a valley, for the coupling tests: every quantity is chosen so
// that each link of the flood -> roads / power -> signals chain happens at a known place.
//
//   terrain  z = 20 + 0.05 |x - 200| + 0.01 y on [0, 400]^2, 5 m cells: a valley along x = 200
//            falling to the south (y = 0), closed on every side, so water poured into it ponds
//            against the southern edge and its level rises steadily;
//   roads    two east-west streets, y = 102.5 (crossing the valley floor 1 m above its lowest
//            point) and y = 302.5 (3 m above it), joined by north-south streets at x = 62.5,
//            x = 337.5 and along the valley (x = 202.5); every street two-way; a signal at the
//            valley junction of the northern street (202.5, 302.5);
//   homes    six 10-storey blocks of flats south-west, at x 12-47, y 60-127; jobs: six offices
//   south-east,
//            at x 352-387, y 60-127: morning trips run west to east, by the southern street
//            unless it is closed;
//   grid     one mapped substation on the valley floor at (200, 60), which therefore feeds every
//            kiosk, and with it every signal.
#pragma once

#include <array>
#include <cmath>
#include <vector>

#include "synthetic_city.hpp"

namespace citytwin::testing {

inline double valley_z(double x, double y) {
  return 20.0 + 0.05 * std::abs(x - 200.0) + 0.01 * y;
}

/// The street grid: nodes and two-way links between them, with node_out CSR.
inline void add_street_grid(CityModel& c, const std::vector<std::array<double, 2>>& nodes,
                            const std::vector<std::array<int, 2>>& streets,
                            const std::vector<int>& signal_nodes) {
  RoadNetwork& r = c.roads;
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    r.node_osm_id.push_back(static_cast<std::int64_t>(9000 + n));
    r.node_x.push_back(nodes[n][0]);
    r.node_y.push_back(nodes[n][1]);
    r.node_z.push_back(static_cast<float>(valley_z(nodes[n][0], nodes[n][1])));
    r.node_signal.push_back(0);
  }
  for (int s : signal_nodes) r.node_signal[static_cast<std::size_t>(s)] = 1;
  auto link = [&](int a, int b, std::int64_t way) {
    const auto& p = nodes[static_cast<std::size_t>(a)];
    const auto& q = nodes[static_cast<std::size_t>(b)];
    r.link_from.push_back(a);
    r.link_to.push_back(b);
    r.link_osm_way.push_back(way);
    r.link_class.push_back(RoadClass::residential);
    r.link_lanes.push_back(1);
    r.link_speed_mps.push_back(13.9f);
    r.link_length_m.push_back(static_cast<float>(std::hypot(q[0] - p[0], q[1] - p[1])));
    r.link_oneway.push_back(0);
    r.link_name.emplace_back();
    r.link_turn_lanes.emplace_back();
    r.point_x.insert(r.point_x.end(), {p[0], q[0]});
    r.point_y.insert(r.point_y.end(), {p[1], q[1]});
    r.point_z.insert(r.point_z.end(), {static_cast<float>(valley_z(p[0], p[1])),
                                       static_cast<float>(valley_z(q[0], q[1]))});
    r.link_point_offsets.push_back(static_cast<std::int32_t>(r.point_x.size()));
  };
  for (std::size_t s = 0; s < streets.size(); ++s) {
    link(streets[s][0], streets[s][1], static_cast<std::int64_t>(700 + s));
    link(streets[s][1], streets[s][0], static_cast<std::int64_t>(700 + s));
  }
  const auto n = static_cast<std::size_t>(r.node_count());
  r.node_out_offsets.assign(n + 1, 0);
  for (std::int32_t from : r.link_from) ++r.node_out_offsets[static_cast<std::size_t>(from) + 1];
  for (std::size_t i = 0; i < n; ++i) r.node_out_offsets[i + 1] += r.node_out_offsets[i];
  r.node_out_links.resize(r.link_from.size());
  std::vector<std::int32_t> fill(r.node_out_offsets.begin(), r.node_out_offsets.end() - 1);
  for (std::int32_t l = 0; l < r.link_count(); ++l)
    r.node_out_links[static_cast<std::size_t>(
        fill[static_cast<std::size_t>(r.link_from[static_cast<std::size_t>(l)])]++)] = l;
}

/// Node indices of the valley city's streets.
enum ValleyNode : int {
  sw = 0,
  s_valley = 1,
  se = 2,
  nw = 3,
  n_valley = 4,
  ne = 5,
  w_end = 6,
  e_end = 7
};

inline CityModel valley_city() {
  CityModel c = planar_city(0, 0, 400, 400, 5);
  Terrain& t = c.terrain;
  for (int j = 0; j < t.ny; ++j)
    for (int i = 0; i < t.nx; ++i)
      t.z[static_cast<std::size_t>(j) * t.nx + i] =
          static_cast<float>(valley_z((i + 0.5) * t.dx, (j + 0.5) * t.dy));
  // Streets: the southern one crosses the valley floor at y = 102.5; the northern one at 302.5.
  const std::vector<std::array<double, 2>> nodes = {{62.5, 102.5}, {202.5, 102.5}, {337.5, 102.5},
                                                    {62.5, 302.5}, {202.5, 302.5}, {337.5, 302.5},
                                                    {7.5, 102.5},  {392.5, 102.5}};
  const std::vector<std::array<int, 2>> streets = {
      {w_end, sw},    {sw, s_valley}, {s_valley, se}, {se, e_end},         {sw, nw},
      {nw, n_valley}, {n_valley, ne}, {ne, se},       {s_valley, n_valley}};
  add_street_grid(c, nodes, streets, {n_valley});
  // Homes south-west, offices south-east (between the streets, clear of them).
  const double rows[3] = {60, 78, 112};  // two rows south of the street, one north of it
  for (int k = 0; k < 6; ++k) {
    const double x = 12 + (k % 2) * 20, yy = rows[k / 2];
    add_building(c, {{{x, yy}, {x + 15, yy}, {x + 15, yy + 15}, {x, yy + 15}}}, 30);
    add_building(c, {{{x + 340, yy}, {x + 355, yy}, {x + 355, yy + 15}, {x + 340, yy + 15}}}, 20);
    c.buildings.use.back() = BuildingUse::office;
  }
  for (std::int32_t b = 0; b < c.buildings.size(); ++b)
    c.buildings.ground_m[static_cast<std::size_t>(b)] =
        static_cast<float>(valley_z(c.buildings.centroid_x[static_cast<std::size_t>(b)],
                                    c.buildings.centroid_y[static_cast<std::size_t>(b)]));
  // The substation, mapped on the valley floor.
  c.power.substation_osm_id.push_back(4242);
  c.power.substation_x.push_back(200.0);
  c.power.substation_y.push_back(60.0);
  c.power.substation_voltage_v.push_back(63000.0f);
  return c;
}

}  // namespace citytwin::testing
