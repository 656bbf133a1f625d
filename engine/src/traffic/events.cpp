// Events on a running traffic state: closures, speed limits, dark signals; and demand scaling
// (a transform of the demand before the run). Events only mark the state and queue the
// vehicles they affect; the next step re-routes them (routing.cpp) before anyone moves, and
// the step refuses entry into closed edges (junctions.cpp may_pass), so no vehicle enters a
// closed edge after the call.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "citytwin/rng.hpp"
#include "traffic/kernel.hpp"

namespace citytwin::traffic {
namespace {

using u = std::size_t;
inline u z(std::int64_t i) {
  return static_cast<u>(i);
}

/// True when the part of v's route it has not driven yet (after its current edge for a
/// running vehicle, all of it for a waiting one) uses a closed edge.
bool route_uses_closed(const TrafficState& s, std::int32_t v) {
  const bool running = s.veh_status[z(v)] == VehStatus::running;
  const std::int32_t b = s.veh_route_begin[z(v)] + (running ? s.veh_route_pos[z(v)] + 1 : 0);
  for (std::int32_t k = b; k < s.veh_route_end[z(v)]; ++k)
    if (s.edge_closed[z(s.route_edges[z(k)])]) return true;
  return false;
}

}  // namespace

std::int64_t close_edges(const Network& n, TrafficState& s, std::span<const std::int32_t> edges,
                         std::uint8_t cause) {
  bool any = false;
  for (std::int32_t e : edges)
    if (e >= 0 && e < n.n_edges()) {
      any |= s.edge_closed[z(e)] == 0;
      s.edge_closed[z(e)] |= cause;
    }
  if (!any) return 0;
  ++s.tt_epoch;  // cached routes may use the closed edges
  std::int64_t queued = 0;
  for (std::int32_t v = 0; v < static_cast<std::int32_t>(s.veh_status.size()); ++v) {
    const VehStatus st = s.veh_status[z(v)];
    if (st == VehStatus::arrived || st == VehStatus::removed) continue;
    // A trip not routed yet is routed (around the closure) when it departs.
    if (st == VehStatus::pending && (s.veh_flags[z(v)] & k_flag_needs_route)) continue;
    if (route_uses_closed(s, v)) s.route_queue.push_back(v), ++queued;
  }
  return queued;
}

void reopen_edges(const Network& n, TrafficState& s, std::span<const std::int32_t> edges,
                  std::uint8_t cause) {
  bool any = false;
  for (std::int32_t e : edges)
    if (e >= 0 && e < n.n_edges() && (s.edge_closed[z(e)] & cause)) {
      s.edge_closed[z(e)] &= static_cast<std::uint8_t>(~cause);
      any |= s.edge_closed[z(e)] == 0;
    }
  if (!any) return;
  ++s.tt_epoch;
  for (std::int32_t i = 0; i < s.n_running; ++i) {
    const std::int32_t v = s.running[z(i)];
    if (s.veh_flags[z(v)] & k_flag_stranded) s.route_queue.push_back(v);
  }
}

namespace {

// Lane limits of an edge from its event limit (or the network's) and its flood factor; routing
// weights follow, and vehicles whose remaining route uses the edge reconsider it (they switch
// only when the new route is at least Params::reroute_min_gain faster, see routing.cpp).
void update_edge_speed(const Network& n, TrafficState& s, std::int32_t edge) {
  const float limit = s.edge_limit[z(edge)], factor = s.edge_speed_factor[z(edge)];
  for (std::int32_t l = n.edge_lane_begin[z(edge)]; l < n.edge_lane_begin[z(edge) + 1]; ++l)
    s.lane_speed[z(l)] = (limit > 0 ? limit : n.lane_speed[z(l)]) * factor;
  const float ff = free_time(n, s, edge);
  s.edge_tt[z(edge)] = ff;
  for (std::int32_t v = 0; v < static_cast<std::int32_t>(s.veh_status.size()); ++v) {
    const VehStatus st = s.veh_status[z(v)];
    if (st == VehStatus::arrived || st == VehStatus::removed) continue;
    if (st == VehStatus::pending && (s.veh_flags[z(v)] & k_flag_needs_route)) continue;
    const bool running = st == VehStatus::running;
    const std::int32_t b = s.veh_route_begin[z(v)] + (running ? s.veh_route_pos[z(v)] + 1 : 0);
    for (std::int32_t k = b; k < s.veh_route_end[z(v)]; ++k)
      if (s.route_edges[z(k)] == edge) {
        s.route_queue.push_back(v);
        break;
      }
  }
  // Landmark distances assume the network's free-flow times; a faster edge scales them down.
  s.heuristic_scale =
      std::min(s.heuristic_scale, static_cast<double>(ff / n.edge_free_time[z(edge)]));
  ++s.tt_epoch;
}

}  // namespace

void set_edge_speed(const Network& n, TrafficState& s, std::int32_t edge, float speed) {
  if (edge < 0 || edge >= n.n_edges() || !(speed > 0)) return;
  s.edge_limit[z(edge)] = speed;
  update_edge_speed(n, s, edge);
}

void set_edge_speed_factor(const Network& n, TrafficState& s, std::int32_t edge, float factor) {
  if (edge < 0 || edge >= n.n_edges() || !(factor > 0) || factor > 1) return;
  s.edge_speed_factor[z(edge)] = factor;
  update_edge_speed(n, s, edge);
}

void set_signal_dark(const Network& n, TrafficState& s, std::int32_t tl, bool dark,
                     std::uint8_t cause) {
  if (tl < 0 || z(tl) >= n.tl_id.size()) return;
  if (dark)
    s.tl_dark[z(tl)] |= cause;
  else
    s.tl_dark[z(tl)] &= static_cast<std::uint8_t>(~cause);
}

void scale_demand(Demand& d, double factor, SimTime from, SimTime to, std::uint64_t seed) {
  factor = std::max(0.0, factor);
  const auto whole = static_cast<std::int64_t>(std::floor(factor));
  const double frac = factor - static_cast<double>(whole);
  Demand out = d.without_vehicles();
  const bool trips = !d.veh_trip.empty();
  for (std::int32_t v = 0; v < d.n_vehicles(); ++v) {
    const bool in = d.veh_depart[z(v)] >= from && d.veh_depart[z(v)] < to;
    std::int64_t copies = 1;
    if (in) {
      // Counter-based draw keyed by (seed, vehicle): the same vehicles are kept for any run.
      const double r = Rng(seed, RngStream::traffic_demand, z(v), 1).uniform(0);
      copies = whole + (r < frac ? 1 : 0);
    }
    for (std::int64_t k = 0; k < copies; ++k) {
      out.veh_id.push_back(k == 0 ? d.veh_id[z(v)] : d.veh_id[z(v)] + "#" + std::to_string(k));
      out.veh_depart.push_back(d.veh_depart[z(v)]);
      out.veh_type.push_back(d.veh_type[z(v)]);
      if (trips) out.veh_trip.push_back(d.veh_trip[z(v)]);
      out.route_edges.insert(out.route_edges.end(), d.route_edges.begin() + d.veh_route_begin[z(v)],
                             d.route_edges.begin() + d.veh_route_begin[z(v) + 1]);
      out.veh_route_begin.push_back(static_cast<std::int32_t>(out.route_edges.size()));
      out.push_stops(d.stops_of(v));
    }
  }
  d = std::move(out);
  finish_demand(d);
}

}  // namespace citytwin::traffic
