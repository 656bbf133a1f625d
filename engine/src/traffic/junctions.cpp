// Junctions in the traffic step (sim.cpp): a vehicle passes a connection only if its signal
// allows it, the foes it must yield to (SUMO responses, also those still behind empty short
// edges) are not expected within params.critical_gap of its leaving the junction (at a signal:
// of its arrival), and its target lane has room for it (no blocking the junction); otherwise
// the stop line is a standing obstacle. The front vehicle of a lane looks ahead across as many
// junctions as its stopping distance needs (look_ahead) and crosses, in one step, those it was
// granted. Here: the signal phases (update_signals), each connection's control code and
// approach time (compute_approaches), the all-way stop at a dark signal, the pass decision
// (may_pass) and the look-ahead.
#include "traffic/step.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "citytwin/parallel.hpp"
#include "citytwin/traffic.hpp"

namespace citytwin::traffic {

namespace {

/// The control code of connection c this step (SUMO link states; k_go_major ... k_stop).
inline std::uint8_t signal_code(const Network& n, const TrafficState& s, std::int64_t c) {
  const std::int32_t tl = n.conn_tl[z(c)];
  if (tl >= 0 && s.tl_dark[z(tl)]) return k_all_way;  // dark signal: all-way stop (all_way_turn)
  if (tl < 0) {
    const LinkRule r = n.conn_rule[z(c)];
    return r == LinkRule::major ? k_go_major : r == LinkRule::minor ? k_go_yield : k_stop;
  }
  switch (n.phase_state[z(n.phase_state_begin[z(s.tl_phase[z(tl)])] + n.conn_tl_link[z(c)])]) {
    case 'G':
    case 'O':
      return k_go_major;
    case 'g':
    case 'o':
      return k_go_yield;
    case 'y':
    case 'Y':
      return k_amber;
    case 's':
      return k_stop;
    default:
      return k_red;
  }
}

/// All-way stop at a dark signal (first come, first served): connection c may go when no
/// passage of another approach of the junction is occupied and no vehicle stopped at another
/// approach's stop line has waited longer (ties: lower edge index first).
bool all_way_turn(const Network& n, const TrafficState& s, std::int32_t c) {
  const std::int32_t tl = n.conn_tl[z(c)];
  const std::int32_t my_edge = n.lane_edge[z(n.conn_from_lane[z(c)])];
  const std::int32_t me = lane_first(s, n.conn_from_lane[z(c)]);
  const float my_wait = me >= 0 ? s.veh_stopped_s[z(me)] : 0.0f;
  for (std::int32_t k = n.tl_conn_begin[z(tl)]; k < n.tl_conn_begin[z(tl) + 1]; ++k) {
    const std::int32_t f = n.tl_conn[z(k)];
    const std::int32_t from = n.conn_from_lane[z(f)];
    const std::int32_t edge = n.lane_edge[z(from)];
    if (edge == my_edge) continue;
    if (lane_first(s, n.conn_via_lane[z(f)]) >= 0) return false;  // someone in the junction
    const std::int32_t w = lane_first(s, from);
    if (w < 0 || s.veh_speed[z(w)] >= 0.5f || n.lane_length[z(from)] - s.veh_pos[z(w)] >= 3.0f)
      continue;
    const float wait = s.veh_stopped_s[z(w)];
    if (wait > my_wait || (wait == my_wait && edge < my_edge)) return false;
  }
  return true;
}

/// Whether a vehicle of length + minGap `room` may enter connection c now as far as the road
/// beyond it goes: no entering without room behind the junction, refused only when the queue
/// there is standing (a moving leader is handled by car following) and has no space for it.
/// The same rule tells whether a foe will pass (compute_approaches): one held back by a
/// standing full target lane does not block the links that yield to it (SUMO's willPass).
bool room_behind(const Network& n, const Demand& d, const TrafficState& s, std::int32_t c,
                 float room) {
  const std::int32_t to = n.conn_to_lane[z(c)];
  const std::int32_t via_last = lane_last(s, n.conn_via_lane[z(c)]);
  if (via_last >= 0) return s.veh_speed[z(via_last)] >= 1.0f;
  const std::int32_t last = lane_last(s, to);
  if (last < 0 || s.veh_speed[z(last)] >= 1.0f) return true;
  return free_space(n, d, s, to) >= std::min(room, n.lane_length[z(to)]);
}

/// How far vehicle u (on a road lane or in a passage) drives along its route to the stop line
/// of connection f, or -1 when its route does not take f within k_max_hops junctions, or a red
/// signal, a standing full road beyond a junction or its next stop holds it back before f.
float route_distance_to(const Network& n, const Demand& d, const TrafficState& s, std::int32_t u,
                        std::int32_t f) {
  const Driver dr = driver(d, u);
  const VehicleStop* stop = next_stop(d, s, u);
  std::int32_t cur = s.veh_lane[z(u)], rp = s.veh_route_pos[z(u)];
  float seen = n.lane_length[z(cur)] - s.veh_pos[z(u)];
  for (int hop = 0; hop <= k_max_hops; ++hop) {
    if (n.lane_edge[z(cur)] < 0) {  // in a passage: on to its lane
      cur = n.conn_to_lane[z(cur - n.n_road_lanes)];
      seen += n.lane_length[z(cur)];
    }
    if (stop != nullptr && stop->lane == cur) return -1.0f;
    const std::int32_t c = route_conn_at(n, s, u, rp, cur, dr.vclass);
    if (c == f) return seen;
    if (c < 0 || s.conn_signal[z(c)] == k_red || !room_behind(n, d, s, c, dr.len + dr.s0) ||
        strands(n, s, u, rp, c, dr.len + dr.s0, dr.vclass))
      return -1.0f;
    ++rp;
    cur = n.conn_via_lane[z(c)];
    seen += n.lane_length[z(cur)];
  }
  return -1.0f;
}

/// Foe link f's from-lane and passage are empty: does a vehicle further upstream arrive at its
/// stop line within `need` seconds (with impatience `imp` > 0: one that cannot stop comfortably
/// before it)? SUMO's vehicles announce their arrival at every link within their look-ahead
/// (MSVehicle::planMoveInternal, MSLink::setApproaching), so a foe behind a very short edge
/// (SUMO splits edges where lane counts change, down to 0.2 m; acosta's 77ab, 77bc, 77cd) is
/// seen before it is in the junction. Searched back through empty lanes only (a lane's front
/// vehicle arrives before those behind it), no further than a vehicle at twice the speed limit
/// comes in `need` seconds or sees ahead (look_horizon, with this driver's parameters), and
/// through at most k_upstream_lanes lanes.
constexpr int k_upstream_lanes = 32;
bool foe_upstream(const Network& n, const Demand& d, const TrafficState& s, const Driver& me,
                  std::int32_t f, float need, float imp) {
  struct Visit {
    std::int32_t lane;
    float dist;  // from the lane's start to f's stop line
    int depth;
  };
  std::array<Visit, 32> stack;
  int top = 0;
  const std::int32_t from = n.conn_from_lane[z(f)];
  stack[z(top++)] = {from, n.lane_length[z(from)], 0};
  const auto arrives = [&](std::int32_t u) {
    const float dist = route_distance_to(n, d, s, u, f);
    if (dist < 0.0f) return false;
    const Driver dr = driver(d, u);
    const float vel = s.veh_speed[z(u)];
    if (dist > look_horizon(dr, vel) || !room_behind(n, d, s, f, dr.len + dr.s0)) return false;
    if (imp > 0.0f && !(vel * vel > 2.0f * dr.b * dist)) return false;  // can still stop
    return dist / std::max(vel, 0.5f) < need;
  };
  for (int visits = 0; top > 0 && visits < k_upstream_lanes; ++visits) {
    const Visit at = stack[z(--top)];
    for (std::int32_t k = n.lane_in_begin[z(at.lane)]; k < n.lane_in_begin[z(at.lane) + 1]; ++k) {
      const std::int32_t ci = n.lane_in_conn[z(k)];
      const std::int32_t via = n.conn_via_lane[z(ci)], up = n.conn_from_lane[z(ci)];
      const std::int32_t in_via = lane_first(s, via);
      if (in_via >= 0) {
        if (arrives(in_via)) return true;
        continue;
      }
      const std::int32_t front = lane_first(s, up);
      if (front >= 0) {
        if (arrives(front)) return true;
        continue;
      }
      const float dist = at.dist + n.lane_length[z(via)] + n.lane_length[z(up)];
      const float v_up = 2.0f * n.lane_speed[z(up)];
      if (at.depth + 1 < k_max_hops && top < static_cast<int>(stack.size()) &&
          dist < std::min(need * v_up, look_horizon(me, v_up)))
        stack[z(top++)] = {up, dist, at.depth + 1};
    }
  }
  return false;
}

/// May vehicle v (front of its lane, distance `dist` to the stop line) pass connection c now?
bool may_pass(const Network& n, const Demand& d, const Params& p, const TrafficState& s,
              std::int32_t v, const Driver& dr, std::int32_t c, float dist) {
  const float vel = s.veh_speed[z(v)];
  if (s.edge_closed[z(n.lane_edge[z(n.conn_to_lane[z(c)])])]) return false;  // closed (events)
  switch (s.conn_signal[z(c)]) {
    case k_red:
      return false;
    case k_all_way:
      if (!(vel < 0.5f && dist < 3.0f) || !all_way_turn(n, s, c)) return false;
      break;
    case k_amber:
      return vel * vel > 2.0f * dr.b * dist;  // cannot stop comfortably: go
    case k_stop:
      if (!(vel < 0.5f && dist < 3.0f)) return false;
      break;
    default:
      break;
  }
  if (s.conn_signal[z(c)] != k_go_major && s.conn_signal[z(c)] != k_all_way) {
    // Gap acceptance against the foes that have right of way over this link, as SUMO's
    // MSLink::blockedByFoe: a foe must arrive no sooner than critical_gap (jmTimegapMinor)
    // after this vehicle has left the junction, i.e. after its arrival plus the time its
    // length needs to clear the passage (MSLink::getLeaveTime) at the mean of its arrival
    // speed and its speed at the passage's end, accelerating (MSVehicle::estimateLeaveSpeed).
    // SUMO's impatience (MSVehicle::getImpatience): a driver that has waited w seconds
    // expects a foe at (1 - i) x its arrival time + i x its arrival time if it braked,
    // i = min(1, w / time_to_impatience); a foe that can still stop comfortably before its
    // stop line then never arrives.
    float need = dist / std::max(vel, 1.0f) + static_cast<float>(p.critical_gap);
    // At a signal the clearing time is left out: SUMO's permissive turns there (g) wait at an
    // internal junction inside the intersection and cross only the rest of it, which one-piece
    // passages cannot; charging the whole passage gridlocked rand-2lane-signals congested in
    // 10 of 10 seeds (docs/traffic.md).
    if (n.conn_tl[z(c)] < 0) {
      const std::int32_t via = n.conn_via_lane[z(c)];
      const float via_len = n.lane_length[z(via)];
      const float v_max = desired_speed(n, s, dr, v, via);
      const float v_arrive = std::min(v_max, std::sqrt(vel * vel + 2.0f * dr.a * dist));
      const float v_leave = std::min(v_max, std::sqrt(v_arrive * v_arrive + 2.0f * dr.a * via_len));
      need += (via_len + dr.len) / std::max(0.5f * (v_arrive + v_leave), 0.1f);
    }
    const float imp =
        p.time_to_impatience > 0
            ? std::min(1.0f, s.veh_stopped_s[z(v)] / static_cast<float>(p.time_to_impatience))
            : 0.0f;
    for (std::int32_t k = n.conn_yield_begin[z(c)]; k < n.conn_yield_begin[z(c) + 1]; ++k) {
      const std::int32_t f = n.conn_yield[z(k)];
      if (s.conn_signal[z(f)] == k_red) continue;
      float foe = s.conn_arrival_s[z(f)];
      if (foe < need && imp > 0.0f) {
        const float brake = s.conn_arrival_brake_s[z(f)];
        foe = brake < k_inf ? (1.0f - imp) * foe + imp * brake : k_inf;
      }
      if (foe < need) return false;
      // Nobody on the foe's lane or in its passage: someone further back may still come.
      if (s.conn_arrival_s[z(f)] == k_inf && lane_first(s, n.conn_from_lane[z(f)]) < 0 &&
          foe_upstream(n, d, s, dr, f, need, imp))
        return false;
    }
  }
  return room_behind(n, d, s, c, dr.len + dr.s0);
}

}  // namespace

// ---- phase: signals (serial over signals; the per-connection codes are set in
// compute_approaches, which visits every connection anyway: one parallel pass less) ----
void update_signals(const Network& n, const Demand& d, const Params& p, TrafficState& s) {
  // Loops: a vehicle covering one now, or whose rear passed it within the last step (timed by
  // its current speed), was detected then (SUMO's time since the last detection).
  if (!n.loop_lane.empty())
    for (std::int32_t i = 0; i < s.n_running; ++i) {
      const std::int32_t v = s.running[z(i)];
      const std::int32_t loop = n.lane_loop[z(s.veh_lane[z(v)])];
      if (loop < 0) continue;
      const float front = s.veh_pos[z(v)], rear = front - d.types[z(d.veh_type[z(v)])].length;
      const float at = n.loop_pos[z(loop)], speed = s.veh_speed[z(v)];
      SimTime seen = k_never;
      if (rear <= at && at <= front) {
        seen = s.time;
      } else if (rear > at && speed > 0 && rear - at < speed * to_seconds(p.dt)) {
        seen = s.time - seconds_ms((rear - at) / speed);
      }
      s.loop_last[z(loop)] = std::max(s.loop_last[z(loop)], seen);
    }
  for (u t = 0; t < n.tl_id.size(); ++t) {
    const SimTime cyc = n.tl_cycle[t];
    const bool actuated = n.tl_loop_begin[t + 1] > n.tl_loop_begin[t];
    if (!actuated || s.tl_phase_start[t] == k_never) {
      // Fixed time; an actuated signal starts where its program's durations put it.
      SimTime pos = cyc > 0 ? ((s.time - n.tl_offset[t]) % cyc + cyc) % cyc : 0;
      std::int32_t ph = n.tl_phase_begin[t];
      while (ph + 1 < n.tl_phase_begin[t + 1] && pos >= n.phase_duration[z(ph)])
        pos -= n.phase_duration[z(ph++)];
      s.tl_phase[t] = ph;
      if (actuated) s.tl_phase_start[t] = s.time - pos;
      continue;
    }
    // Actuated: a phase lasts at least minDur and at most maxDur; in between it goes on while
    // a loop of a lane with green in it saw a vehicle less than max-gap ago.
    const std::int32_t ph = s.tl_phase[t];
    const SimTime held = s.time - s.tl_phase_start[t];
    bool next = held >= n.phase_max[z(ph)];
    if (!next && held >= n.phase_min[z(ph)]) {
      const SimTime gap = seconds_ms(n.tl_max_gap_s[t]);
      bool extend = false;
      for (std::int32_t k = n.tl_loop_begin[t]; k < n.tl_loop_begin[t + 1] && !extend; ++k)
        extend = n.loop_green[z(n.loop_green_begin[z(k)] + ph - n.tl_phase_begin[t])] &&
                 s.time - s.loop_last[z(k)] < gap;
      next = !extend;
    }
    if (next) {
      s.tl_phase[t] = ph + 1 < n.tl_phase_begin[t + 1] ? ph + 1 : n.tl_phase_begin[t];
      s.tl_phase_start[t] = s.time;
    }
  }
}

// ---- phase: approach times per connection (occupied passage = 0), by from-lane: its front
// vehicle takes one of the lane's connections (connections are sorted by from-lane) ----
void compute_approaches(const Network& n, const Demand& d, TrafficState& s, TaskPool& pool) {
  pool.for_blocks(n.n_road_lanes, grain_lanes(n), [&](std::int64_t b, std::int64_t e, int) {
    for (std::int64_t lane = b; lane < e; ++lane) {
      const std::int32_t c0 = n.lane_conn_begin[z(lane)], c1 = n.lane_conn_begin[z(lane) + 1];
      if (c0 == c1) continue;
      // The connection the lane's front vehicle takes, and its time to the stop line.
      const std::int32_t v = lane_first(s, static_cast<std::int32_t>(lane));
      std::int32_t taken = -1;
      float t_front = k_inf, t_brake = k_inf;
      if (v >= 0 && next_edge(d, s, v) >= 0) {
        const Driver dr = driver(d, v);
        taken = route_conn(n, d, s, v, static_cast<std::int32_t>(lane), dr.vclass);
        // A foe counts only if it will pass: one held back by a standing full target lane (or
        // a red light, below) does not block the links that yield to it (no yield deadlocks).
        if (taken >= 0 && room_behind(n, d, s, taken, dr.len + dr.s0) &&
            !strands(n, s, v, s.veh_route_pos[z(v)], taken, dr.len + dr.s0, dr.vclass)) {
          const float dist = n.lane_length[z(lane)] - s.veh_pos[z(v)], vel = s.veh_speed[z(v)];
          t_front = dist / std::max(vel, 0.5f);
          // Braking comfortably it stops before the line (never arrives), or cannot.
          if (vel * vel > 2.0f * dr.b * dist) t_brake = t_front;
        } else {
          taken = -1;
        }
      }
      for (std::int32_t c = c0; c < c1; ++c) {
        s.conn_signal[z(c)] = signal_code(n, s, c);
        float t = k_inf, tb = k_inf;
        if (lane_first(s, n.conn_via_lane[z(c)]) >= 0) {
          t = tb = 0.0f;  // in the junction already
        } else if (c == taken && s.conn_signal[z(c)] != k_red) {
          t = t_front;
          tb = t_brake;
        }
        s.conn_arrival_s[z(c)] = t;
        s.conn_arrival_brake_s[z(c)] = tb;
      }
    }
  });
}

Ahead look_ahead(const Network& n, const Demand& d, const Params& p, const TrafficState& s,
                 std::int32_t v, const Driver& dr, std::int32_t lane, float dist) {
  const float vel = s.veh_speed[z(v)];
  // Far enough to stop comfortably from the current speed, and to see the IDM's desired gap.
  const float horizon = look_horizon(dr, vel);
  Ahead r;
  const VehicleStop* stop = next_stop(d, s, v);  // a standing obstacle on its lane (step.hpp)
  float seen = dist;  // distance from the front bumper to the end of `cur`
  std::int32_t cur = lane, rp = s.veh_route_pos[z(v)];
  for (int hop = 0; hop < k_max_hops && seen < horizon; ++hop) {
    std::int32_t next = -1;
    if (n.lane_edge[z(cur)] < 0) {
      next = n.conn_to_lane[z(cur - n.n_road_lanes)];
    } else {
      if (s.veh_route_begin[z(v)] + rp + 1 >= s.veh_route_end[z(v)]) break;  // arrives
      const std::int32_t c = route_conn_at(n, s, v, rp, cur, dr.vclass);
      if (c < 0 || r.granted == std::numeric_limits<std::int8_t>::max() ||
          strands(n, s, v, rp, c, dr.len + dr.s0, dr.vclass) ||
          !may_pass(n, d, p, s, v, dr, c, seen)) {
        r.gap = seen;  // the stop line is a standing obstacle
        r.lead_v = 0.0f;
        return r;
      }
      ++r.granted;
      ++rp;
      next = n.conn_via_lane[z(c)];
      // Slow down to the passage's speed before entering it.
      const float vp = n.lane_speed[z(next)];
      if (vel > vp)
        r.acc_cap = std::min(r.acc_cap, (vp * vp - vel * vel) / (2.0f * std::max(seen, 1.0f)));
    }
    const std::int32_t w = lane_last(s, next);
    const bool stop_there = stop != nullptr && stop->lane == next;
    // Entering a passage: a vehicle on a passage merging with it, closer to the merge point.
    const MergeLeader m =
        n.lane_edge[z(next)] < 0 && n.lane_edge[z(cur)] >= 0
            ? merge_leader(n, d, s, next - n.n_road_lanes, seen + n.lane_length[z(next)], true)
            : MergeLeader{};
    if (w >= 0 || stop_there || m.gap < k_inf) {  // the last vehicle there, a stop, a merger
      r.gap = w >= 0 ? seen + s.veh_pos[z(w)] - driver(d, w).len : k_inf;
      r.lead_v = w >= 0 ? s.veh_speed[z(w)] : 0.0f;
      if (stop_there && seen + stop->end + dr.s0 < r.gap) {
        r.gap = seen + stop->end + dr.s0;
        r.lead_v = 0.0f;
      }
      if (m.gap < r.gap) {
        r.gap = m.gap;
        r.lead_v = m.speed;
      }
      return r;
    }
    seen += n.lane_length[z(next)];
    cur = next;
  }
  return r;
}

}  // namespace citytwin::traffic
