// Tiny hand-built networks for traffic tests (STYLE.md section 10: a shared builder).
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "citytwin/traffic.hpp"

namespace citytwin::traffic::test {

/// A chain of single-lane edges e0 -> e1 -> ... (closed into a ring when `ring`), joined by
/// major (uncontrolled) connections whose passages are `passage` m long. Optionally the
/// connection out of edge `signal_edge` is controlled by a one-link fixed-time signal with
/// the given green and red durations (s), starting green... red first when `red_first`.
inline Network make_chain(const std::vector<float>& lengths, float speed, bool ring,
                          float passage = 0.1f, int signal_edge = -1, double green = 0,
                          double red = 0, bool red_first = false) {
  Network n;
  const auto ne = static_cast<std::int32_t>(lengths.size());
  n.edge_lane_begin.push_back(0);
  for (std::int32_t e = 0; e < ne; ++e) {
    std::string id = "e";
    id += std::to_string(e);
    n.edge_id.push_back(std::move(id));
    n.edge_length.push_back(lengths[static_cast<std::size_t>(e)]);
    n.lane_length.push_back(lengths[static_cast<std::size_t>(e)]);
    n.lane_speed.push_back(speed);
    n.lane_edge.push_back(e);
    n.lane_index.push_back(0);
    n.lane_allow.push_back(15);
    n.edge_lane_begin.push_back(e + 1);
    n.edge_sorted.push_back(e);
  }
  std::sort(n.edge_sorted.begin(), n.edge_sorted.end(),
            [&](std::int32_t a, std::int32_t b) { return n.edge_id[a] < n.edge_id[b]; });
  n.n_road_lanes = ne;
  const std::int32_t nc = ring ? ne : ne - 1;
  n.conn_yield_begin.push_back(0);
  for (std::int32_t c = 0; c < nc; ++c) {
    n.lane_length.push_back(passage);
    n.lane_speed.push_back(speed);
    n.lane_edge.push_back(-1);
    n.lane_index.push_back(0);
    n.lane_allow.push_back(15);
    n.conn_from_lane.push_back(c);
    n.conn_to_lane.push_back((c + 1) % ne);
    n.conn_via_lane.push_back(ne + c);
    n.conn_rule.push_back(LinkRule::major);
    n.conn_tl.push_back(c == signal_edge ? 0 : -1);
    n.conn_tl_link.push_back(c == signal_edge ? 0 : -1);
    n.conn_yield_begin.push_back(0);
  }
  n.lane_conn_begin.assign(static_cast<std::size_t>(n.n_lanes()) + 1, 0);
  for (std::int32_t c = 0; c < nc; ++c) n.lane_conn_begin[static_cast<std::size_t>(c) + 1] = 1;
  for (std::size_t l = 0; l + 1 < n.lane_conn_begin.size(); ++l)
    n.lane_conn_begin[l + 1] += n.lane_conn_begin[l];
  n.tl_phase_begin.push_back(0);
  if (signal_edge >= 0) {
    n.tl_id.push_back("tl");
    n.tl_offset.push_back(0);
    n.tl_cycle.push_back(seconds_ms(green + red));
    n.tl_links.push_back(1);
    const SimTime g = seconds_ms(green), r = seconds_ms(red);
    n.phase_duration = red_first ? std::vector<SimTime>{r, g} : std::vector<SimTime>{g, r};
    n.phase_state = red_first ? "rG" : "Gr";
    n.phase_state_begin = {0, 1};
    n.tl_phase_begin.push_back(2);
  }
  finalize_network(n);
  return n;
}

/// One vehicle type, `count` vehicles departing at `depart_s`, each on the same route.
inline Demand make_demand(const VehicleType& type, std::int32_t count,
                          const std::vector<std::int32_t>& route, double depart_s = 0) {
  Demand d;
  d.types.push_back(type);
  d.veh_route_begin.push_back(0);
  for (std::int32_t v = 0; v < count; ++v) {
    std::string id = "v";
    id += std::to_string(v);
    d.veh_id.push_back(std::move(id));
    d.veh_depart.push_back(seconds_ms(depart_s));
    d.veh_type.push_back(0);
    d.route_edges.insert(d.route_edges.end(), route.begin(), route.end());
    d.veh_route_begin.push_back(static_cast<std::int32_t>(d.route_edges.size()));
  }
  return d;
}

}  // namespace citytwin::traffic::test

namespace citytwin::traffic::test {

/// One directed single-lane edge of make_graph(): nodes, length (m), speed (m/s), classes.
struct GraphEdge {
  std::int32_t from, to;
  float length, speed;
  std::uint8_t allow = 15;
};

/// A network of single-lane edges between numbered nodes; at every node each incoming edge
/// connects to each outgoing one except its reverse (major links, passages `passage` m long at
/// the slower speed). Edge ids are "e<index>".
inline Network make_graph(const std::vector<GraphEdge>& edges, float passage = 0.1f) {
  Network n;
  const auto ne = static_cast<std::int32_t>(edges.size());
  n.edge_lane_begin.push_back(0);
  for (std::int32_t e = 0; e < ne; ++e) {
    const GraphEdge& g = edges[static_cast<std::size_t>(e)];
    std::string id = "e";
    id += std::to_string(e);
    n.edge_id.push_back(std::move(id));
    n.edge_length.push_back(g.length);
    n.lane_length.push_back(g.length);
    n.lane_speed.push_back(g.speed);
    n.lane_edge.push_back(e);
    n.lane_index.push_back(0);
    n.lane_allow.push_back(g.allow);
    n.edge_lane_begin.push_back(e + 1);
    n.edge_sorted.push_back(e);
  }
  std::sort(n.edge_sorted.begin(), n.edge_sorted.end(),
            [&](std::int32_t a, std::int32_t b) { return n.edge_id[a] < n.edge_id[b]; });
  n.n_road_lanes = ne;
  n.conn_yield_begin.push_back(0);
  std::vector<std::int32_t> per_lane(static_cast<std::size_t>(ne), 0);
  for (std::int32_t a = 0; a < ne; ++a)
    for (std::int32_t b = 0; b < ne; ++b) {
      const GraphEdge& ga = edges[static_cast<std::size_t>(a)];
      const GraphEdge& gb = edges[static_cast<std::size_t>(b)];
      if (ga.to != gb.from || (gb.to == ga.from)) continue;
      const auto via = static_cast<std::int32_t>(n.lane_length.size());
      n.lane_length.push_back(passage);
      n.lane_speed.push_back(std::min(ga.speed, gb.speed));
      n.lane_edge.push_back(-1);
      n.lane_index.push_back(0);
      n.lane_allow.push_back(15);
      n.conn_from_lane.push_back(a);
      n.conn_to_lane.push_back(b);
      n.conn_via_lane.push_back(via);
      n.conn_rule.push_back(LinkRule::major);
      n.conn_tl.push_back(-1);
      n.conn_tl_link.push_back(-1);
      n.conn_yield_begin.push_back(0);
      ++per_lane[static_cast<std::size_t>(a)];
    }
  n.lane_conn_begin.assign(static_cast<std::size_t>(n.n_lanes()) + 1, 0);
  for (std::int32_t a = 0; a < ne; ++a)
    n.lane_conn_begin[static_cast<std::size_t>(a) + 1] = per_lane[static_cast<std::size_t>(a)];
  for (std::size_t l = 0; l + 1 < n.lane_conn_begin.size(); ++l)
    n.lane_conn_begin[l + 1] += n.lane_conn_begin[l];
  n.tl_phase_begin.push_back(0);
  finalize_network(n);
  return n;
}

/// Trips (routed by the simulation) from `from` to `to`, one every `headway_s` from 0 s.
inline Demand make_trips(const VehicleType& type, std::int32_t count, std::int32_t from,
                         std::int32_t to, double headway_s) {
  Demand d;
  d.types.push_back(type);
  d.veh_route_begin.push_back(0);
  for (std::int32_t v = 0; v < count; ++v) {
    std::string id = "t";
    id += std::to_string(v);
    d.veh_id.push_back(std::move(id));
    d.veh_depart.push_back(seconds_ms(headway_s * v));
    d.veh_type.push_back(0);
    d.veh_trip.push_back(1);
    d.route_edges.push_back(from);
    d.route_edges.push_back(to);
    d.veh_route_begin.push_back(static_cast<std::int32_t>(d.route_edges.size()));
  }
  return d;
}

}  // namespace citytwin::traffic::test
