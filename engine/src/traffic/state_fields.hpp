// Private to traffic/: the persistent fields of a TrafficState, listed once (state_io.hpp) for
// its hash (state_hash), the traffic domain's checkpoint and its clones. Left out: the per-step
// scratch (scratch_*, rebuilt before it is read) and the router's per-worker working memory.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "citytwin/state_io.hpp"
#include "citytwin/traffic.hpp"

namespace citytwin::traffic {

// The route cache's index goes in key order, so the bytes do not depend on the hash map's
// layout.
inline void route_cache_fields(StateOut& a, const RouteCache& c) {
  std::vector<std::uint64_t> keys;
  std::vector<std::int32_t> first, last;
  for (const auto& [k, v] : c.index) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  for (std::uint64_t k : keys) {
    first.push_back(c.index.at(k).first);
    last.push_back(c.index.at(k).second);
  }
  a.field("route_cache.epoch", c.epoch);
  a.field("route_cache.keys", keys);
  a.field("route_cache.first", first);
  a.field("route_cache.last", last);
  a.field("route_cache.edges", c.edges);
  a.field("route_cache.hits", c.hits);
  a.field("route_cache.misses", c.misses);
}

inline void route_cache_fields(StateIn& a, RouteCache& c) {
  std::vector<std::uint64_t> keys;
  std::vector<std::int32_t> first, last;
  a.field("route_cache.epoch", c.epoch);
  a.field("route_cache.keys", keys);
  a.field("route_cache.first", first);
  a.field("route_cache.last", last);
  a.field("route_cache.edges", c.edges);
  a.field("route_cache.hits", c.hits);
  a.field("route_cache.misses", c.misses);
  c.index.clear();
  if (first.size() == keys.size() && last.size() == keys.size())
    for (std::size_t i = 0; i < keys.size(); ++i) c.index[keys[i]] = {first[i], last[i]};
}

template <class A, class S>
void state_fields(A& a, S& s) {
  a.field("time", s.time);
  a.field("step_count", s.step_count);
  a.field("veh_status", s.veh_status);
  a.field("veh_lane", s.veh_lane);
  a.field("veh_route_pos", s.veh_route_pos);
  a.field("veh_pos", s.veh_pos);
  a.field("veh_speed", s.veh_speed);
  a.field("veh_v0", s.veh_v0);
  a.field("veh_stopped_s", s.veh_stopped_s);
  a.field("veh_insert_time", s.veh_insert_time);
  a.field("veh_arrive_time", s.veh_arrive_time);
  a.field("veh_route_length", s.veh_route_length);
  a.field("veh_time_loss", s.veh_time_loss);
  a.field("veh_waiting", s.veh_waiting);
  a.field("veh_waits", s.veh_waits);
  a.field("veh_reroutes", s.veh_reroutes);
  a.field("veh_depart_lane", s.veh_depart_lane);
  a.field("veh_depart_pos", s.veh_depart_pos);
  a.field("veh_teleports", s.veh_teleports);
  a.field("veh_stop_next", s.veh_stop_next);
  a.field("veh_stop_until", s.veh_stop_until);
  a.field("veh_stop_time", s.veh_stop_time);
  a.field("veh_stops_missed", s.veh_stops_missed);
  a.field("stops_made", s.stops_made);
  a.field("stops_missed", s.stops_missed);
  a.field("running", s.running);
  a.field("n_running", s.n_running);
  a.field("lane_veh_begin", s.lane_veh_begin);
  a.field("lane_veh", s.lane_veh);
  a.field("origin_begin", s.origin_begin);
  a.field("origin_veh", s.origin_veh);
  a.field("origin_next", s.origin_next);
  a.field("next_depart", s.next_depart);
  a.field("depart_order", s.depart_order);
  a.field("conn_arrival_s", s.conn_arrival_s);
  a.field("conn_arrival_brake_s", s.conn_arrival_brake_s);
  a.field("conn_signal", s.conn_signal);
  a.field("tl_phase", s.tl_phase);
  a.field("tl_phase_start", s.tl_phase_start);
  a.field("loop_last", s.loop_last);
  a.field("lane_merge_pos", s.lane_merge_pos);
  a.field("inserted", s.inserted);
  a.field("arrived", s.arrived);
  a.field("removed", s.removed);
  a.field("teleports", s.teleports);
  a.field("collisions", s.collisions);
  a.field("vehicle_steps", s.vehicle_steps);
  a.each("teleport_log", s.teleport_log, [](A& b, auto& e) {
    b.field("time", e.time);
    b.field("vehicle", e.vehicle);
    b.field("from_lane", e.from_lane);
    b.field("to_lane", e.to_lane);
  });
  a.field("edge_entered", s.edge_entered);
  a.field("edge_veh_seconds", s.edge_veh_seconds);
  a.field("edge_veh_meters", s.edge_veh_meters);
  a.field("route_edges", s.route_edges);
  a.field("veh_route_begin", s.veh_route_begin);
  a.field("veh_route_end", s.veh_route_end);
  a.field("veh_dest", s.veh_dest);
  a.field("veh_flags", s.veh_flags);
  a.field("edge_closed", s.edge_closed);
  a.field("lane_speed", s.lane_speed);
  a.field("edge_limit", s.edge_limit);
  a.field("edge_speed_factor", s.edge_speed_factor);
  a.field("tl_dark", s.tl_dark);
  a.field("edge_tt", s.edge_tt);
  a.field("tt_veh_meters", s.tt_veh_meters);
  a.field("tt_veh_seconds", s.tt_veh_seconds);
  a.field("tt_epoch", s.tt_epoch);
  a.field("heuristic_scale", s.heuristic_scale);
  a.field("next_tt_update", s.next_tt_update);
  a.field("route_queue", s.route_queue);
  a.field("route_cursor", s.route_cursor);
  route_cache_fields(a, s.route_cache);
  a.each("detectors", s.detectors, [](A& b, auto& d) {
    b.field("id", d.id);
    b.field("lane", d.lane);
    b.field("pos", d.pos);
  });
  a.field("lane_det_begin", s.lane_det_begin);
  a.field("lane_det", s.lane_det);
  a.field("det_count", s.det_count);
  a.field("det_occupied_s", s.det_occupied_s);
  a.field("det_speed_sum", s.det_speed_sum);
  a.field("det_total", s.det_total);
  a.field("det_speed_total", s.det_speed_total);
  a.each("det_cover", s.det_cover, [](A& b, auto& c) {
    b.field("det", c.det);
    b.field("veh", c.veh);
    b.field("teleports", c.teleports);
    b.field("progress", c.progress);
  });
  a.field("det_prev_lane", s.det_prev_lane);
  a.field("det_prev_pos", s.det_prev_pos);
  a.field("det_prev_speed", s.det_prev_speed);
  a.field("calib_factor", s.calib_factor);
  a.field("calib_base", s.calib_base);
  a.field("calib_ins", s.calib_ins);
  a.field("calib_rem", s.calib_rem);
  a.field("calib_next", s.calib_next);
  a.field("calib_armed", s.calib_armed);
  a.field("calib_inserted", s.calib_inserted);
  a.field("calib_removed", s.calib_removed);
  a.field("calib_short", s.calib_short);
  a.field("calib_unused", s.calib_unused);
  a.field("rerouted", s.rerouted);
  a.field("stranded", s.stranded);
  a.field("unroutable", s.unroutable);
}

}  // namespace citytwin::traffic
