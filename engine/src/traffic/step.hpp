// Private to traffic/: what the traffic step's phases (sim.cpp, lane_changes.cpp) and its
// junction logic (junctions.cpp) share: the parallel grains, the vehicle, lane and route
// queries and the IDM inline, and the phases implemented outside sim.cpp: the lane changes,
// the signal and approach phases, and the look-ahead of a lane's front vehicle across
// junctions.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "citytwin/traffic.hpp"

namespace citytwin {
class TaskPool;
}

namespace citytwin::traffic {

constexpr float k_inf = std::numeric_limits<float>::infinity();
/// A time that never was (a loop no vehicle has covered; a signal not yet started), ms.
constexpr SimTime k_never = std::numeric_limits<SimTime>::min() / 4;

/// Block sizes of the step's parallel phases, from the network alone (never the thread count):
/// a quarter of the network's lanes per block, rounded down to a power of two, 64 to 256 (Bologna's
/// 617 lanes: 128; grid20's 10,400: 256), and twice that in vehicles. Measured with citytwin-bench
/// on 2 cores: small networks need small blocks to spread a 50 us step, large ones lose with them.
inline std::int64_t grain_lanes(const Network& n) {
  return std::clamp<std::int64_t>(std::bit_floor(static_cast<std::uint64_t>(n.n_lanes()) / 4), 64,
                                  256);
}
inline std::int64_t grain_veh(const Network& n) {
  return 2 * grain_lanes(n);
}

using u = std::size_t;
inline u z(std::int64_t i) {
  return static_cast<u>(i);
}

/// Everything a kernel needs about the vehicle's type, gathered once.
struct Driver {
  float a, b, len, s0, T, vmax;
  std::uint8_t vclass;
};
inline Driver driver(const Demand& d, std::int32_t v) {
  const VehicleType& t = d.types[z(d.veh_type[z(v)])];
  return {t.accel, t.decel, t.length, t.min_gap, t.tau, t.max_speed, t.vclass};
}

/// IDM acceleration for speed v, desired speed v0, gap s (m, bumper to bumper) and approach
/// rate dv = v - v_leader; s = inf means a free road.
inline float idm(const Driver& d, float v, float v0, float s, float dv, double delta) {
  const double r = static_cast<double>(v / v0);
  // delta = 4 (the default) as two squarings: pow() was ~7 % of a step.
  const float free =
      1.0f - static_cast<float>(delta == 4.0 ? (r * r) * (r * r) : std::pow(r, delta));
  if (!(s < k_inf)) return d.a * free;
  const float sstar = d.s0 + std::max(0.0f, v * d.T + v * dv / (2.0f * std::sqrt(d.a * d.b)));
  const float ss = std::max(s, 0.01f);
  return d.a * (free - (sstar / ss) * (sstar / ss));
}

/// The acceleration with which vehicle v (driver dr, desired speed v0) falls back behind w, a
/// moving vehicle alongside on the lane it urgently needs (decide_lane_changes): w as its
/// leader, however short the gap, braking no harder than comfortably (dr.b).
inline float fall_back(const Demand& d, const TrafficState& s, const Driver& dr, std::int32_t v,
                       std::int32_t w, float v0, double delta) {
  const float vel = s.veh_speed[z(v)];
  const float gap = s.veh_pos[z(w)] - d.types[z(d.veh_type[z(w)])].length - s.veh_pos[z(v)];
  return std::max(idm(dr, vel, v0, gap, vel - s.veh_speed[z(w)], delta), -dr.b);
}

/// How far ahead a vehicle at speed `vel` looks (m): far enough to stop comfortably and to
/// see the IDM's desired gap, at least 50 m.
inline float look_horizon(const Driver& dr, float vel) {
  return std::max(50.0f, 2.0f * (dr.s0 + vel * dr.T) + vel * vel / dr.b);
}
/// The most junctions the look-ahead crosses.
constexpr int k_max_hops = 8;

inline float desired_speed(const Network& n, const TrafficState& s, const Driver& d, std::int32_t v,
                           std::int32_t lane) {
  (void)n;
  return std::max(0.1f, std::min(d.vmax, s.lane_speed[z(lane)] * s.veh_v0[z(v)]));
}

/// The first connection from `lane` into edge `to_edge` the class may use, or -1.
inline std::int32_t next_conn(const Network& n, std::int32_t lane, std::int32_t to_edge,
                              std::uint8_t vclass) {
  for (std::int32_t c = n.lane_conn_begin[z(lane)]; c < n.lane_conn_begin[z(lane) + 1]; ++c) {
    const std::int32_t to = n.conn_to_lane[z(c)];
    if (n.lane_edge[z(to)] == to_edge && (n.lane_allow[z(n.conn_via_lane[z(c)])] & vclass))
      return c;
  }
  return -1;
}

/// The next route edge after the vehicle's current one, or -1 on its last edge.
inline std::int32_t next_edge(const Demand& d, const TrafficState& s, std::int32_t v) {
  (void)d;
  const std::int32_t i = s.veh_route_begin[z(v)] + s.veh_route_pos[z(v)] + 1;
  return i < s.veh_route_end[z(v)] ? s.route_edges[z(i)] : -1;
}

/// The connection vehicle v takes out of `lane` (a road lane of route edge `rp`): one into
/// the next route edge, preferring a target lane that continues to the edge after that
/// (short edges leave no room to change lanes). -1 on the last edge or without a connection.
inline std::int32_t route_conn_at(const Network& n, const TrafficState& s, std::int32_t v,
                                  std::int32_t rp, std::int32_t lane, std::uint8_t vclass) {
  const std::int32_t i = s.veh_route_begin[z(v)] + rp + 1;
  const std::int32_t end = s.veh_route_end[z(v)];
  if (i >= end) return -1;
  const std::int32_t ne = s.route_edges[z(i)];
  const std::int32_t nne = i + 1 < end ? s.route_edges[z(i + 1)] : -1;
  std::int32_t first = -1;
  for (std::int32_t c = n.lane_conn_begin[z(lane)]; c < n.lane_conn_begin[z(lane) + 1]; ++c) {
    const std::int32_t to = n.conn_to_lane[z(c)];
    if (n.lane_edge[z(to)] != ne || !(n.lane_allow[z(n.conn_via_lane[z(c)])] & vclass)) continue;
    if (nne < 0 || next_conn(n, to, nne, vclass) >= 0) return c;
    if (first < 0) first = c;
  }
  return first;
}
/// route_conn_at for the vehicle's current edge.
inline std::int32_t route_conn(const Network& n, const Demand& d, const TrafficState& s,
                               std::int32_t v, std::int32_t lane, std::uint8_t vclass) {
  (void)d;
  return route_conn_at(n, s, v, s.veh_route_pos[z(v)], lane, vclass);
}

/// Would connection c, from the edge at route position rp, strand vehicle v in the junction?
/// It does when its lane beyond does not lead on to the route's edge after (route_conn_at's
/// fallback: v is on the wrong lane) and is too short for v to stand on and change lanes
/// (SUMO splits edges where lane counts change, down to 0.2 m). v then waits at the stop line
/// for its lane change, as at a lane with no connection at all, instead of stopping in the
/// passage until it teleports.
inline bool strands(const Network& n, const TrafficState& s, std::int32_t v, std::int32_t rp,
                    std::int32_t c, float len, std::uint8_t vclass) {
  const std::int32_t i = s.veh_route_begin[z(v)] + rp + 2;
  if (i >= s.veh_route_end[z(v)]) return false;
  const std::int32_t to = n.conn_to_lane[z(c)];
  return n.lane_length[z(to)] < len && next_conn(n, to, s.route_edges[z(i)], vclass) < 0;
}

inline std::int32_t lane_last(const TrafficState& s, std::int32_t lane) {
  const std::int32_t b = s.lane_veh_begin[z(lane)], e = s.lane_veh_begin[z(lane) + 1];
  return e > b ? s.lane_veh[z(e - 1)] : -1;
}
inline std::int32_t lane_first(const TrafficState& s, std::int32_t lane) {
  const std::int32_t b = s.lane_veh_begin[z(lane)], e = s.lane_veh_begin[z(lane) + 1];
  return e > b ? s.lane_veh[z(b)] : -1;
}

/// Back-bumper position of the last vehicle on a lane (lane length when empty).
inline float free_space(const Network& n, const Demand& d, const TrafficState& s,
                        std::int32_t lane) {
  const std::int32_t w = lane_last(s, lane);
  if (w < 0) return n.lane_length[z(lane)];
  return s.veh_pos[z(w)] - d.types[z(d.veh_type[z(w)])].length;
}

/// The leader a vehicle meets where passage `self` (a connection) merges into its target lane:
/// the nearest vehicle on another passage into the same lane that is closer to the merge point
/// than the vehicle's front (`to_merge` m away; ties: the lower connection leads, and a vehicle
/// not yet in its passage, `entering`, yields every tie). Like SUMO's leaders on foe internal
/// lanes of merging links (MSLink::getLeaderInfo), it is seen from before the passage too (the
/// look-ahead), so a vehicle does not enter a merge at speed behind one that is already in it.
/// Returns the gap to its back (inf: none) and its speed.
struct MergeLeader {
  float gap = k_inf, speed = 0.0f;
};
inline MergeLeader merge_leader(const Network& n, const Demand& d, const TrafficState& s,
                                std::int32_t self, float to_merge, bool entering) {
  MergeLeader r;
  const std::int32_t to = n.conn_to_lane[z(self)];
  for (std::int32_t k = n.lane_in_begin[z(to)]; k < n.lane_in_begin[z(to) + 1]; ++k) {
    const std::int32_t oc = n.lane_in_conn[z(k)];
    if (oc == self) continue;
    const std::int32_t via = n.conn_via_lane[z(oc)];
    const bool leads_ties = entering || oc < self;
    // Back to front: the first one closer to the merge point is the nearest ahead.
    for (std::int32_t i = s.lane_veh_begin[z(via) + 1] - 1; i >= s.lane_veh_begin[z(via)]; --i) {
      const std::int32_t w = s.lane_veh[z(i)];
      const float orem = n.lane_length[z(via)] - s.veh_pos[z(w)];
      if (orem > to_merge || (orem == to_merge && !leads_ties)) continue;
      const float g = to_merge - orem - d.types[z(d.veh_type[z(w)])].length;
      if (g < r.gap) {
        r.gap = g;
        r.speed = s.veh_speed[z(w)];
      }
      break;
    }
  }
  return r;
}

/// How far vehicle v can drive along its route from the start of `lane` (a road lane of route
/// edge `rp`) without changing lanes, capped at `limit` (reached also when the route ends),
/// and the queue on that way: vehicles on its lanes times `spacing` (a vehicle length plus
/// gap). This is SUMO's "best lanes" continuation length and occupation
/// (MSVehicle::updateBestLanes; Erdmann, "SUMO's lane-changing model", LNCS 13, 2015):
/// strategic lane changes aim at the lane whose continuation is longest, early enough for
/// the queue on it. Once the way has `need` metres of free road (length minus occupation),
/// no lane-change rule can depend on the rest: it counts as reaching `limit`.
struct Continuation {
  float length = 0.0f, occupation = 0.0f;
};
Continuation continuation(const Network& n, const Demand& d, const TrafficState& s, std::int32_t v,
                          std::int32_t rp, std::int32_t lane, std::uint8_t vclass, float spacing,
                          float need, float limit);

// lane_changes.cpp: the lane-change decisions (MOBIL + strategic, one direction per step) and
// their moves, applied and re-indexed per edge.
void decide_lane_changes(const Network& n, const Demand& d, const Params& p, TrafficState& s,
                         TaskPool& pool);
void apply_lane_changes(const Network& n, TrafficState& s, TaskPool& pool);

/// Phase: the current phase of every signal (serial over signals): fixed-time programs from
/// the clock; actuated ones from their loops (SUMO's gap-based control).
void update_signals(const Network& n, const Demand& d, const Params& p, TrafficState& s);

/// Phase: the control code of every connection this step and the time its approaching vehicle
/// needs to reach it (0 when its passage is occupied, inf when none comes), for yielding.
void compute_approaches(const Network& n, const Demand& d, TrafficState& s, TaskPool& pool);

// ---- scheduled stops (stops.cpp; docs/traffic.md "Stops") ----

/// The stop vehicle v stands at or heads for in this step (the one after the stop it leaves
/// in this step); nullptr when it has none left (or the demand has no stops, when the stop
/// arrays of the state are empty).
inline const VehicleStop* next_stop(const Demand& d, const TrafficState& s, std::int32_t v) {
  if (d.stops.empty()) return nullptr;
  const SimTime until = s.veh_stop_until[z(v)];
  const std::int32_t k = s.veh_stop_next[z(v)] + (until >= 0 && s.time >= until ? 1 : 0);
  return k < d.stop_end(v) ? &d.stops[z(k)] : nullptr;
}
/// Whether vehicle v stands at its stop during this step (it leaves in the step that begins
/// at or after veh_stop_until).
inline bool standing(const TrafficState& s, std::int32_t v) {
  return !s.veh_stop_until.empty() && s.veh_stop_until[z(v)] >= 0 &&
         s.time < s.veh_stop_until[z(v)];
}
/// A stop is a standing obstacle whose back is the vehicle's minGap beyond the stop's end, so
/// that the IDM brings its front to rest at the end; it is reached once the vehicle halts with
/// its front at most this far before the end (the IDM approaches a standing leader
/// asymptotically).
constexpr float k_stop_reach_m = 1.0f;
/// Whether a vehicle (length `len`, minGap `s0`) that will halt with its front at `front` on
/// its stop's lane (length `lane_len`) has reached stop `st`: at the end (within
/// k_stop_reach_m; a stop line halts vehicles minGap before the lane's end, so an end closer to
/// it counts from there), or wholly inside its stopping place behind a vehicle standing there
/// (SUMO's next free position of a stopping place).
inline bool stop_reached(const VehicleStop& st, float front, float len, float s0, float lane_len,
                         bool behind_standing) {
  return front >= std::min(st.end, lane_len - s0) - k_stop_reach_m ||
         (st.place >= 0 && behind_standing && front - len >= st.start - k_stop_reach_m);
}

/// The state's stop arrays for the demand (make_state; nothing without stops).
void init_stops(const Demand& d, TrafficState& s);
/// Vehicle v leaves route entries [from, to) (absolute indices into route_edges): its next
/// stops on them, in order, are missed.
void pass_stops(const Demand& d, TrafficState& s, std::int32_t v, std::int32_t from,
                std::int32_t to);
/// Vehicle v finished (arrived or removed): its stops go into the state's made / missed
/// counters.
void finish_stops(const Demand& d, TrafficState& s, std::int32_t v);

/// What the front vehicle of a lane sees ahead along its route: the nearest obstacle (the
/// back of a vehicle, or a stop line it may not pass), the cap on its acceleration from
/// slower junction passages, and how many junctions it was granted. Like SUMO's planMove
/// (Krajzewicz, "Traffic Simulation with SUMO", 2010; MSVehicle::planMoveInternal) the
/// look-ahead crosses as many lanes as the stopping distance needs, so a chain of very short
/// edges (SUMO splits edges where lane counts change) is driven through without stopping on
/// each piece.
struct Ahead {
  float gap = k_inf, lead_v = 0.0f, acc_cap = k_inf;
  std::int8_t granted = 0;
};
Ahead look_ahead(const Network& n, const Demand& d, const Params& p, const TrafficState& s,
                 std::int32_t v, const Driver& dr, std::int32_t lane, float dist);

}  // namespace citytwin::traffic
