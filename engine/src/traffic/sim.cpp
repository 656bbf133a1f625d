// The traffic step. Design:
//
// Every phase either writes only per-vehicle / per-lane / per-connection slots it owns, or is
// a short serial pass in a fixed order, so the result is bit-identical for any thread count:
//   signals -> insert -> index lanes -> signal codes + approaches -> lane changes ->
//   apply them (re-index per edge) ->
//   car following (into scratch) -> commit moves -> teleports -> statistics -> compact.
// Lanes are indexed by a counting sort of the running vehicles into CSR (lane_veh, front
// first), so leaders are neighbours in an array and the step never allocates.
//
// Car following: IDM (Treiber, Hennecke, Helbing 2000, eq. 1-2):
//   a = a_max [1 - (v/v0)^delta - (s*/s)^2],  s* = s0 + max(0, v T + v dv / (2 sqrt(a_max b)))
// integrated with the ballistic scheme (Treiber & Kanagaraj 2015, eq. 7): x += v dt + a dt^2/2,
// v = max(0, v + a dt), stopping exactly where v reaches 0; the advance is capped at the gap
// to the leader's current back, so vehicles never overlap.
// Junctions (junctions.cpp): signals, right of way, all-way stops at dark signals, room behind
// the junction, and the look-ahead of a lane's front vehicle across the junctions it may pass.
// Lane changes (lane_changes.cpp): MOBIL for speed, SUMO LC2013-style strategic changes toward
// the lane whose continuation along the route is longest.
#include <algorithm>
#include <cmath>
#include <limits>

#include "citytwin/hash.hpp"
#include "citytwin/parallel.hpp"
#include "citytwin/rng.hpp"
#include "citytwin/traffic.hpp"
#include "traffic/kernel.hpp"
#include "traffic/state_fields.hpp"
#include "traffic/step.hpp"
#include "traffic/vclass.hpp"

namespace citytwin::traffic {
namespace {

// ---- phase: insertion at origins (serial over edges, fixed order) ----
// At most one vehicle per origin edge per step (up to 3600 veh/h per edge at dt = 1 s), in
// departure order; a vehicle that does not fit waits in its origin's queue (SUMO's insertion
// backlog), and so does everyone behind it.
void insert_vehicles(const Network& n, const Demand& d, const Params& p, TrafficState& s) {
  const std::int32_t first_new = s.n_running;
  for (std::int32_t e = 0; e < n.n_edges(); ++e) {
    std::int32_t q = s.origin_next[z(e)];
    // Vehicles dropped before insertion (no route, routing.cpp) leave the queue.
    while (q < s.origin_begin[z(e) + 1] &&
           s.veh_status[z(s.origin_veh[z(q)])] != VehStatus::pending)
      ++q;
    s.origin_next[z(e)] = q;
    if (q >= s.origin_begin[z(e) + 1] || s.edge_closed[z(e)]) continue;
    const std::int32_t v = s.origin_veh[z(q)];
    if (d.veh_depart[z(v)] > s.time) continue;
    if (insert_vehicle(n, d, p, s, e, v, first_new)) ++s.origin_next[z(e)];
  }
}

// ---- phase: lane index (counting sort by lane, then by position, front first) ----
// (Atomic parallel counts and scatter were measured slower on 2 cores than these serial loops.)
void index_lanes(const Network& n, TrafficState& s, TaskPool& pool) {
  auto& cnt = s.scratch_count;
  std::fill(cnt.begin(), cnt.end(), 0);
  for (std::int32_t i = 0; i < s.n_running; ++i) ++cnt[z(s.veh_lane[z(s.running[z(i)])]) + 1];
  for (u l = 0; l + 1 < cnt.size(); ++l) cnt[l + 1] += cnt[l];
  std::copy(cnt.begin(), cnt.end(), s.lane_veh_begin.begin());
  for (std::int32_t i = 0; i < s.n_running; ++i) {
    const std::int32_t v = s.running[z(i)];
    s.lane_veh[z(cnt[z(s.veh_lane[z(v)])]++)] = v;
  }
  pool.for_blocks(n.n_lanes(), grain_lanes(n), [&](std::int64_t b, std::int64_t e, int) {
    for (std::int64_t l = b; l < e; ++l) {
      auto first = s.lane_veh.begin() + s.lane_veh_begin[z(l)];
      auto last = s.lane_veh.begin() + s.lane_veh_begin[z(l) + 1];
      // Insertion sort: lists are nearly sorted from the previous step. Ties by index.
      for (auto it = first + (first != last ? 1 : 0); it < last; ++it) {
        const std::int32_t v = *it;
        auto j = it;
        while (j > first && (s.veh_pos[z(*(j - 1))] < s.veh_pos[z(v)] ||
                             (s.veh_pos[z(*(j - 1))] == s.veh_pos[z(v)] && *(j - 1) > v))) {
          *j = *(j - 1);
          --j;
        }
        *j = v;
      }
    }
  });
}

/// Cooperative merging: a blocked merger ahead on a neighbouring lane of the same edge acts
/// as a standing leader, if this vehicle can still stop behind it comfortably.
float cooperate(const Network& n, const Demand& d, const Params& p, const TrafficState& s,
                const Driver& dr, std::int32_t lane, float pos, float vel, float v0) {
  const std::int32_t edge = n.lane_edge[z(lane)];
  float acc = k_inf;
  for (std::int32_t side = 0; side < 2; ++side) {
    const std::int32_t src =
        side == 0 ? lane - 1 : lane + 1;  // side 0: merger comes from the right
    if (src < n.edge_lane_begin[z(edge)] || src >= n.edge_lane_begin[z(edge) + 1]) continue;
    const float mpos = s.lane_merge_pos[z(2 * src + (side == 0 ? 1 : 0))];
    if (mpos < 0.0f) continue;
    const float gap = mpos - 5.0f - pos;  // leave room for a car-length merger
    // Hold back only if that leaves the merger its gap (our minGap) behind it and we can stop
    // comfortably; a follower already closer passes, and the merger goes in behind it (as
    // SUMO's informFollower asks a follower that cannot make room to overtake). Holding back
    // alongside would wait for a gap that never opens (stand-off until a teleport).
    if (gap < dr.s0 || vel * vel > 2.0f * dr.b * gap) continue;
    acc = std::min(acc, idm(dr, vel, v0, gap, vel, p.delta));
  }
  (void)d;
  return acc;
}

// ---- phase: car following into scratch (dx, v') ----
void car_following(const Network& n, const Demand& d, const Params& p, TrafficState& s,
                   TaskPool& pool) {
  const float dt = static_cast<float>(to_seconds(p.dt));
  const bool stops = !d.stops.empty();
  pool.for_blocks(n.n_lanes(), grain_lanes(n) / 4, [&](std::int64_t b, std::int64_t e, int) {
    for (std::int64_t l64 = b; l64 < e; ++l64) {
      const auto lane = static_cast<std::int32_t>(l64);
      const float len = n.lane_length[z(lane)];
      for (std::int32_t i = s.lane_veh_begin[z(lane)]; i < s.lane_veh_begin[z(lane) + 1]; ++i) {
        const std::int32_t v = s.lane_veh[z(i)];
        if (stops) {
          s.scratch_stop[z(v)] = 0;
          if (standing(s, v)) {
            s.scratch_dx[z(v)] = 0.0f;
            s.scratch_v[z(v)] = 0.0f;
            s.scratch_lc[z(v)] = 0;
            continue;
          }
        }
        const Driver dr = driver(d, v);
        const float pos = s.veh_pos[z(v)], vel = s.veh_speed[z(v)];
        const float v0 = desired_speed(n, s, dr, v, lane);
        float gap = k_inf, lead_v = 0.0f, acc_cap = k_inf;
        std::int8_t granted = 0;
        if (i > s.lane_veh_begin[z(lane)]) {
          const std::int32_t w = s.lane_veh[z(i - 1)];
          gap = s.veh_pos[z(w)] - driver(d, w).len - pos;
          lead_v = s.veh_speed[z(w)];
        } else {
          const Ahead ah = look_ahead(n, d, p, s, v, dr, lane, len - pos);
          gap = ah.gap;
          lead_v = ah.lead_v;
          acc_cap = ah.acc_cap;
          granted = ah.granted;
        }
        if (n.lane_edge[z(lane)] < 0 && i == s.lane_veh_begin[z(lane)]) {
          // Merging passages: a vehicle on another passage into the same lane that is closer
          // to the merge point leads this one (step.hpp).
          const MergeLeader m = merge_leader(n, d, s, lane - n.n_road_lanes, len - pos, false);
          if (m.gap < gap) {
            gap = m.gap;
            lead_v = m.speed;
          }
        }
        // A stop ahead on this lane: a standing obstacle minGap beyond its end (step.hpp).
        const VehicleStop* st = stops ? next_stop(d, s, v) : nullptr;
        if (st != nullptr && (st->lane != lane || pos >= st->end + dr.s0)) st = nullptr;
        if (st != nullptr && st->end + dr.s0 - pos < gap) {
          gap = st->end + dr.s0 - pos;
          lead_v = 0.0f;
          granted = 0;
        }
        float acc = std::min(idm(dr, vel, v0, gap, vel - lead_v, p.delta), acc_cap);
        if (const std::int32_t w = n.lane_edge[z(lane)] >= 0 ? s.scratch_block[z(v)] : -1; w >= 0) {
          // An urgent lane change blocked by a vehicle alongside on the target lane: fall
          // back behind it, braking at most comfortably (step.hpp, fall_back).
          acc = std::min(acc, fall_back(d, s, dr, v, w, v0, p.delta));
        }
        if (n.lane_edge[z(lane)] >= 0)
          acc = std::min(acc, cooperate(n, d, p, s, dr, lane, pos, vel, v0));
        // Ballistic update (Treiber & Kanagaraj 2015): stop exactly when v would turn negative.
        float v_new = vel + acc * dt;
        float dx = v_new >= 0.0f ? (vel + 0.5f * acc * dt) * dt : -0.5f * vel * vel / acc;
        v_new = std::max(v_new, 0.0f);
        const float cap = std::max(0.0f, gap < k_inf ? gap - 0.01f : k_inf);
        if (dx > cap) {
          dx = cap;
          v_new = std::min(v_new, dx / dt);
        }
        s.scratch_dx[z(v)] = std::max(dx, 0.0f);
        s.scratch_v[z(v)] = v_new;
        s.scratch_lc[z(v)] = granted;
        if (st != nullptr && v_new < static_cast<float>(p.halting_speed)) {
          const bool behind_standing =
              i > s.lane_veh_begin[z(lane)] && standing(s, s.lane_veh[z(i - 1)]);
          s.scratch_stop[z(v)] =
              stop_reached(*st, pos + s.scratch_dx[z(v)], dr.len, dr.s0, len, behind_standing);
        }
      }
    }
  });
}

// ---- phase: commit moves (per vehicle; crossings into passages and next edges) ----
void commit_moves(const Network& n, const Demand& d, const Params& p, TrafficState& s,
                  TaskPool& pool) {
  const float dt = static_cast<float>(to_seconds(p.dt));
  const SimTime t_end = s.time + p.dt;
  const bool stops = !d.stops.empty();
  pool.for_blocks(s.n_running, grain_veh(n), [&](std::int64_t b, std::int64_t e, int) {
    for (std::int64_t i = b; i < e; ++i) {
      const std::int32_t v = s.running[z(i)];
      if (stops && s.veh_stop_until[z(v)] >= 0) {
        if (s.time < s.veh_stop_until[z(v)]) {
          // Standing at its stop: SUMO's stopTime, neither waiting nor time loss.
          s.veh_stop_time[z(v)] += dt;
          s.scratch_lc[z(v)] = 0;
          continue;
        }
        s.veh_stop_until[z(v)] = -1;  // leaves: its move this step is the car following's
        ++s.veh_stop_next[z(v)];
      }
      const Driver dr = driver(d, v);
      const float dx = s.scratch_dx[z(v)], vnew = s.scratch_v[z(v)];
      const float allowed = desired_speed(n, s, dr, v, s.veh_lane[z(v)]);
      s.veh_time_loss[z(v)] += dt * std::max(0.0f, 1.0f - vnew / allowed);
      s.veh_waiting[z(v)] += vnew < static_cast<float>(p.halting_speed) ? dt : 0.0f;
      // A halt begins when a moving vehicle (or one just inserted at rest) falls below the
      // halting speed.
      s.veh_waits[z(v)] +=
          vnew < static_cast<float>(p.halting_speed) && s.veh_stopped_s[z(v)] == 0.0f ? 1 : 0;
      s.veh_stopped_s[z(v)] =
          vnew < static_cast<float>(p.halting_speed) ? s.veh_stopped_s[z(v)] + dt : 0.0f;
      s.veh_route_length[z(v)] += dx;
      s.veh_speed[z(v)] = vnew;
      float pos = s.veh_pos[z(v)] + dx;
      std::int32_t lane = s.veh_lane[z(v)];
      // Only the junctions car following looked at and was granted may be crossed.
      std::int8_t budget = s.scratch_lc[z(v)], entered = 0;
      while (pos > n.lane_length[z(lane)]) {
        const float over = pos - n.lane_length[z(lane)];
        if (n.lane_edge[z(lane)] < 0) {
          lane = n.conn_to_lane[z(lane - n.n_road_lanes)];
          pos = over;
          ++entered;  // entered a new edge
          continue;
        }
        const std::int32_t ne = next_edge(d, s, v);
        if (ne < 0) {  // end of the route: arrived (a stranded vehicle is removed, routing.cpp)
          s.veh_status[z(v)] =
              s.veh_flags[z(v)] & k_flag_stranded ? VehStatus::removed : VehStatus::arrived;
          s.veh_arrive_time[z(v)] = t_end;
          break;
        }
        const std::int32_t c = route_conn(n, d, s, v, lane, dr.vclass);
        if (c < 0 || budget == 0) {  // not granted: wait at the stop line
          pos = n.lane_length[z(lane)];
          s.veh_speed[z(v)] = 0.0f;
          break;
        }
        --budget;
        if (stops) {  // stops on the edge it leaves and has not made are missed
          const std::int32_t k = s.veh_route_begin[z(v)] + s.veh_route_pos[z(v)];
          pass_stops(d, s, v, k, k + 1);
        }
        lane = n.conn_via_lane[z(c)];
        ++s.veh_route_pos[z(v)];
        pos = over;
      }
      s.scratch_lc[z(v)] = entered;
      s.veh_lane[z(v)] = lane;
      s.veh_pos[z(v)] = pos;
      if (stops && s.scratch_stop[z(v)]) {  // halts at its stop: stays duration, until `until`
        const VehicleStop& st = d.stops[z(s.veh_stop_next[z(v)])];
        s.veh_stop_until[z(v)] = std::max(t_end + st.duration, st.until);
        s.veh_speed[z(v)] = 0.0f;
      }
    }
  });
}

// ---- phase: teleports (serial, rare): SUMO's policy of jumping a vehicle stuck for
// params.teleport_after ahead along its route to the first edge with room; a vehicle with no
// such edge is removed. Both are counted. ----
void teleports(const Network& n, const Demand& d, const Params& p, TrafficState& s) {
  const float limit = static_cast<float>(to_seconds(p.teleport_after));
  for (std::int32_t i = 0; i < s.n_running; ++i) {
    const std::int32_t v = s.running[z(i)];
    if (s.veh_status[z(v)] != VehStatus::running || s.veh_stopped_s[z(v)] < limit) continue;
    const Driver dr = driver(d, v);
    ++s.veh_teleports[z(v)];
    ++s.teleports;
    const std::int32_t stuck_on = s.veh_lane[z(v)];
    s.veh_stopped_s[z(v)] = 0.0f;
    bool placed = false;
    const std::int32_t rb = s.veh_route_begin[z(v)], re = s.veh_route_end[z(v)];
    for (std::int32_t k = rb + s.veh_route_pos[z(v)] + 1; k < re && !placed; ++k) {
      const std::int32_t edge = s.route_edges[z(k)];
      if (s.edge_closed[z(edge)]) break;  // never past a closure
      for (std::int32_t l = n.edge_lane_begin[z(edge)]; l < n.edge_lane_begin[z(edge) + 1]; ++l) {
        if (!(n.lane_allow[z(l)] & dr.vclass) ||
            free_space(n, d, s, l) < std::min(dr.len + dr.s0, n.lane_length[z(l)]))
          continue;
        s.veh_lane[z(v)] = l;
        s.veh_pos[z(v)] = std::min(dr.len, n.lane_length[z(l)]);
        s.veh_speed[z(v)] = 0.0f;
        if (!d.stops.empty()) pass_stops(d, s, v, rb + s.veh_route_pos[z(v)], k);
        s.veh_route_pos[z(v)] = k - rb;
        placed = true;
        break;
      }
    }
    if (!placed) {
      s.veh_status[z(v)] = VehStatus::removed;
      s.veh_arrive_time[z(v)] = s.time + p.dt;
    }
    s.teleport_log.push_back({s.time + p.dt, v, stuck_on, placed ? s.veh_lane[z(v)] : -1});
  }
}

// ---- phase: statistics and compaction (serial, fixed order) ----
void statistics_and_compact(const Network& n, const Demand& d, const Params& p, TrafficState& s) {
  const double dt = to_seconds(p.dt);
  std::int32_t k = 0;
  for (std::int32_t i = 0; i < s.n_running; ++i) {
    const std::int32_t v = s.running[z(i)];
    const std::int32_t edge = n.lane_edge[z(s.veh_lane[z(v)])];
    ++s.vehicle_steps;
    if (edge >= 0) {
      s.edge_veh_seconds[z(edge)] += dt;
      s.edge_veh_meters[z(edge)] += s.scratch_dx[z(v)];
      s.tt_veh_seconds[z(edge)] += dt;
      s.tt_veh_meters[z(edge)] += s.scratch_dx[z(v)];
    }
    if (s.veh_status[z(v)] != VehStatus::running) finish_stops(d, s, v);
    switch (s.veh_status[z(v)]) {
      case VehStatus::arrived:
        ++s.arrived;
        break;
      case VehStatus::removed:
        ++s.removed;
        if (s.veh_flags[z(v)] & k_flag_stranded) ++s.stranded;
        break;
      default:
        s.running[z(k++)] = v;
        break;
    }
  }
  s.n_running = k;
}

/// Counts the edge entries commit_moves recorded (insertions are counted when inserted): the
/// scratch_lc[v] road edges of the route up to the current one (the one before, on a passage).
void count_entries(const Network& n, TrafficState& s) {
  for (std::int32_t i = 0; i < s.n_running; ++i) {
    const std::int32_t v = s.running[z(i)];
    const std::int32_t k = s.scratch_lc[z(v)];
    if (k <= 0) continue;
    const std::int32_t last = s.veh_route_begin[z(v)] + s.veh_route_pos[z(v)] -
                              (n.lane_edge[z(s.veh_lane[z(v)])] < 0 ? 1 : 0);
    for (std::int32_t j = last - k + 1; j <= last; ++j) ++s.edge_entered[z(s.route_edges[z(j)])];
  }
}

}  // namespace

bool insert_vehicle(const Network& n, const Demand& d, const Params& p, TrafficState& s,
                    std::int32_t e, std::int32_t v, std::int32_t first_new) {
  const Driver dr = driver(d, v);
  // SUMO's departLane="best": the allowed lane whose continuation along the route is
  // longest, then the one with the most room at its start.
  const float horizon = static_cast<float>(p.strategic_lookahead);
  std::int32_t best = -1;
  float best_room = -k_inf, best_cont = -k_inf;
  for (std::int32_t l = n.edge_lane_begin[z(e)]; l < n.edge_lane_begin[z(e) + 1]; ++l) {
    if (!(n.lane_allow[z(l)] & dr.vclass)) continue;
    const float cont = continuation(n, d, s, v, 0, l, dr.vclass, 0.0f, horizon, horizon).length;
    float room = free_space(n, d, s, l);
    // Vehicles inserted earlier in this step are not in the lane index yet.
    for (std::int32_t i = first_new; i < s.n_running; ++i) {
      const std::int32_t w = s.running[z(i)];
      if (s.veh_lane[z(w)] == l)
        room = std::min(room, s.veh_pos[z(w)] - d.types[z(d.veh_type[z(w)])].length);
    }
    if (cont > best_cont || (cont == best_cont && room > best_room)) {
      best = l;
      best_room = room;
      best_cont = cont;
    }
  }
  if (best < 0 || best_room < std::min(dr.len + dr.s0, n.lane_length[z(best)])) return false;
  s.veh_status[z(v)] = VehStatus::running;
  s.veh_lane[z(v)] = best;
  s.veh_route_pos[z(v)] = 0;
  s.veh_pos[z(v)] = std::min(dr.len, n.lane_length[z(best)]);
  s.veh_speed[z(v)] = 0.0f;
  s.veh_insert_time[z(v)] = s.time;
  s.veh_depart_lane[z(v)] = best;
  s.veh_depart_pos[z(v)] = s.veh_pos[z(v)];
  s.running[z(s.n_running++)] = v;
  ++s.inserted;
  ++s.edge_entered[z(e)];
  return true;
}

int crossed_lanes(const Network& n, const Demand& d, const TrafficState& s, std::int32_t v,
                  std::int32_t from, std::int32_t* out, int max_out) {
  const std::int32_t to = s.veh_lane[z(v)];
  if (from == to) return 0;
  // scratch_lc holds the road edges entered this step (commit_moves); every junction crossed
  // advanced the route position by one.
  const bool from_passage = n.lane_edge[z(from)] < 0, to_passage = n.lane_edge[z(to)] < 0;
  const std::int32_t crossings = s.scratch_lc[z(v)] - (from_passage ? 1 : 0) + (to_passage ? 1 : 0);
  std::int32_t rp = s.veh_route_pos[z(v)] - crossings, cur = from;
  const std::uint8_t vclass = driver(d, v).vclass;
  int k = 0;
  for (int guard = 0; guard < 2 * std::numeric_limits<std::int8_t>::max(); ++guard) {
    std::int32_t next = -1;
    if (n.lane_edge[z(cur)] < 0) {
      next = n.conn_to_lane[z(cur - n.n_road_lanes)];
    } else {
      const std::int32_t c = route_conn_at(n, s, v, rp, cur, vclass);
      if (c < 0) break;
      next = n.conn_via_lane[z(c)];
      ++rp;
    }
    if (next == to) break;
    if (k < max_out) out[k++] = next;
    cur = next;
  }
  return k;
}

void draw_pending_drivers(const Demand& d, TrafficState& s, std::uint64_t seed) {
  // Desired-speed factors: SUMO's normc(mean, dev, 0.2, 2) truncated at two deviations.
  for (std::int32_t v = 0; v < d.n_vehicles(); ++v) {
    if (s.veh_status[z(v)] != VehStatus::pending) continue;
    const VehicleType& t = d.types[z(d.veh_type[z(v)])];
    const double g = std::clamp(Rng(seed, RngStream::traffic_driver, z(v), 0).normal(0), -2.0, 2.0);
    s.veh_v0[z(v)] = static_cast<float>(std::clamp(t.speed_factor + t.speed_dev * g, 0.2, 2.0));
  }
}

TrafficState make_state(const Network& n, const Demand& d, const Params& p) {
  TrafficState s;
  const auto nv = z(d.n_vehicles());
  init_routing_state(n, d, s);
  s.veh_status.assign(nv, VehStatus::pending);
  s.veh_lane.assign(nv, 0);
  s.veh_route_pos.assign(nv, 0);
  s.veh_pos.assign(nv, 0.0f);
  s.veh_speed.assign(nv, 0.0f);
  s.veh_v0.resize(nv);
  s.veh_stopped_s.assign(nv, 0.0f);
  s.veh_insert_time.assign(nv, -1);
  s.veh_arrive_time.assign(nv, -1);
  s.veh_route_length.assign(nv, 0.0f);
  s.veh_time_loss.assign(nv, 0.0f);
  s.veh_waiting.assign(nv, 0.0f);
  s.veh_waits.assign(nv, 0);
  s.veh_reroutes.assign(nv, 0);
  s.veh_depart_lane.assign(nv, -1);
  s.veh_depart_pos.assign(nv, 0.0f);
  s.veh_teleports.assign(nv, 0);
  draw_pending_drivers(d, s, p.seed);
  init_stops(d, s);
  s.running.assign(nv, 0);
  s.lane_veh_begin.assign(z(n.n_lanes()) + 1, 0);
  s.lane_veh.assign(nv, 0);
  s.origin_begin.assign(z(n.n_edges()) + 1, 0);
  for (std::int32_t v = 0; v < d.n_vehicles(); ++v)
    ++s.origin_begin[z(d.route_edges[z(d.veh_route_begin[z(v)])]) + 1];
  for (u e = 0; e < z(n.n_edges()); ++e) s.origin_begin[e + 1] += s.origin_begin[e];
  s.origin_veh.assign(nv, 0);
  std::vector<std::int32_t> fill(s.origin_begin.begin(), s.origin_begin.end() - 1);
  for (std::int32_t v = 0; v < d.n_vehicles(); ++v)  // demand is in departure order
    s.origin_veh[z(fill[z(d.route_edges[z(d.veh_route_begin[z(v)])])]++)] = v;
  s.origin_next.assign(s.origin_begin.begin(), s.origin_begin.end() - 1);
  s.conn_arrival_s.assign(z(n.n_conns()), k_inf);
  s.conn_arrival_brake_s.assign(z(n.n_conns()), k_inf);
  s.conn_signal.assign(z(n.n_conns()), 0);
  s.tl_phase.assign(n.tl_id.size(), 0);
  s.tl_phase_start.assign(n.tl_id.size(), k_never);
  s.loop_last.assign(n.loop_lane.size(), k_never);
  s.scratch_dx.assign(nv, 0.0f);
  s.scratch_v.assign(nv, 0.0f);
  s.scratch_lc.assign(nv, 0);
  s.scratch_block.assign(nv, -1);
  s.scratch_count.assign(z(n.n_lanes()) + 1, 0);
  s.lane_merge_pos.assign(2 * z(n.n_lanes()), -1.0f);
  const auto nc = d.calibrators.size();
  s.calib_factor.assign(nc, 1.0);
  s.calib_base.assign(nc, 0);
  s.calib_ins.assign(nc, 0);
  s.calib_rem.assign(nc, 0);
  s.calib_next.resize(nc);
  for (u c = 0; c < nc; ++c) s.calib_next[c] = d.calibrators[c].reserve_begin;
  s.calib_unused = d.n_vehicles() - d.n_planned();
  s.calib_armed.assign(nc, -1);
  s.edge_entered.assign(z(n.n_edges()), 0);
  s.edge_veh_seconds.assign(z(n.n_edges()), 0.0);
  s.edge_veh_meters.assign(z(n.n_edges()), 0.0);
  return s;
}

namespace {
void step_phases(const Network& n, const Demand& d, const Params& p, TrafficState& s,
                 TaskPool& pool) {
  update_signals(n, d, p, s);
  prepare_routes(n, d, p, s, pool);
  const std::int32_t first_new = s.n_running;
  insert_vehicles(n, d, p, s);
  if (!d.calibrators.empty()) calibrate(n, d, p, s, first_new);
  index_lanes(n, s, pool);
  compute_approaches(n, d, s, pool);
  decide_lane_changes(n, d, p, s, pool);
  apply_lane_changes(n, s, pool);
  car_following(n, d, p, s, pool);
  if (!s.detectors.empty()) detectors_before_move(s, pool);
  commit_moves(n, d, p, s, pool);
  if (!s.detectors.empty()) detectors_after_move(n, d, p, s);
  count_entries(n, s);
  index_lanes(n, s, pool);
  teleports(n, d, p, s);
  statistics_and_compact(n, d, p, s);
  s.time += p.dt;
  ++s.step_count;
}
}  // namespace

void step(const Network& n, const Demand& d, const Params& p, TrafficState& s, TaskPool& pool) {
  // About ten parallel phases. When they are short (a few hundred vehicles: microseconds each)
  // the pool's workers stay at hand between them as a team; with more vehicles TBB's fork-join
  // per phase measured faster (citytwin-bench, 2 threads, docs/traffic.md "Performance").
  // Results are the same either way.
  constexpr std::int32_t k_team_below = 2048;
  if (s.n_running < k_team_below)
    pool.with_team([&] { step_phases(n, d, p, s, pool); });
  else
    step_phases(n, d, p, s, pool);
}

std::uint64_t state_hash(const TrafficState& s) {
  StateHasher h;
  StateOut out(h);
  state_fields(out, s);
  return h.digest();
}

SummaryRow summary(const TrafficState& s, const Params& p) {
  SummaryRow r{};
  r.time_s = to_seconds(s.time);
  r.running = s.n_running;
  r.inserted = s.inserted;
  r.arrived = s.arrived;
  r.removed = s.removed;
  double vs = 0;
  for (std::int32_t i = 0; i < s.n_running; ++i) {
    const float v = s.veh_speed[z(s.running[z(i)])];
    vs += v;
    if (v < static_cast<float>(p.halting_speed)) ++r.halting;
  }
  r.pending =
      static_cast<std::int64_t>(s.veh_status.size()) - s.inserted - s.unroutable - s.calib_unused;
  r.mean_speed = s.n_running > 0 ? vs / s.n_running : 0.0;
  return r;
}

EdgeInterval take_edge_interval(TrafficState& s, double begin_s, double end_s) {
  EdgeInterval r;
  r.begin_s = begin_s;
  r.end_s = end_s;
  r.entered = s.edge_entered;
  r.veh_seconds = s.edge_veh_seconds;
  r.mean_speed.resize(s.edge_entered.size());
  for (u e = 0; e < s.edge_entered.size(); ++e)
    r.mean_speed[e] = s.edge_veh_seconds[e] > 0
                          ? static_cast<float>(s.edge_veh_meters[e] / s.edge_veh_seconds[e])
                          : std::numeric_limits<float>::quiet_NaN();
  std::fill(s.edge_entered.begin(), s.edge_entered.end(), 0);
  std::fill(s.edge_veh_seconds.begin(), s.edge_veh_seconds.end(), 0.0);
  std::fill(s.edge_veh_meters.begin(), s.edge_veh_meters.end(), 0.0);
  return r;
}

}  // namespace citytwin::traffic
