// The traffic step's lane-change phases (step.hpp): the decisions, MOBIL for speed (Kesting,
// Treiber, Helbing, "General lane-changing model MOBIL", TRR 1999, 2007) and SUMO LC2013-style
// strategic changes toward the lane whose continuation along the route is longest; then the
// moves, applied per edge. One direction per step (left on even steps, right on odd), so no
// two vehicles change into one gap from both sides.
#include <algorithm>
#include <cmath>

#include "citytwin/parallel.hpp"
#include "citytwin/traffic.hpp"
#include "traffic/kernel.hpp"
#include "traffic/step.hpp"
#include "traffic/vclass.hpp"

namespace citytwin::traffic {

Continuation continuation(const Network& n, const Demand& d, const TrafficState& s, std::int32_t v,
                          std::int32_t rp, std::int32_t lane, std::uint8_t vclass, float spacing,
                          float need, float limit) {
  const float len = n.lane_length[z(lane)];
  const float occ =
      spacing * static_cast<float>(s.lane_veh_begin[z(lane) + 1] - s.lane_veh_begin[z(lane)]);
  const std::int32_t i = s.veh_route_begin[z(v)] + rp + 1;
  if (len >= limit || len - occ >= need || i >= s.veh_route_end[z(v)]) return {limit, occ};
  const std::int32_t ne = s.route_edges[z(i)];
  Continuation best{len, occ};
  for (std::int32_t c = n.lane_conn_begin[z(lane)]; c < n.lane_conn_begin[z(lane) + 1]; ++c) {
    const std::int32_t to = n.conn_to_lane[z(c)], via = n.conn_via_lane[z(c)];
    if (n.lane_edge[z(to)] != ne || !(n.lane_allow[z(via)] & vclass)) continue;
    const float done = len + n.lane_length[z(via)];
    const Continuation rest = done >= limit ? Continuation{0.0f, 0.0f}
                                            : continuation(n, d, s, v, rp + 1, to, vclass, spacing,
                                                           need - (done - occ), limit - done);
    const float total = std::min(limit, done + rest.length);
    if (total > best.length) best = {total, occ + rest.occupation};
    if (best.length >= limit) break;
  }
  return best;
}

namespace {

/// Leader (vehicle index, gap, speed) on `lane` for a vehicle whose front is at `pos`.
struct Neighbour {
  std::int32_t veh = -1;
  float gap = k_inf, speed = 0.0f;
};
// The first vehicle of `lane` (front first, decreasing position) whose front is at or behind
// `pos`: vehicles [begin, it) are ahead.
std::int32_t first_behind(const TrafficState& s, std::int32_t lane, float pos) {
  std::int32_t lo = s.lane_veh_begin[z(lane)], hi = s.lane_veh_begin[z(lane) + 1];
  while (lo < hi) {
    const std::int32_t mid = (lo + hi) / 2;
    if (s.veh_pos[z(s.lane_veh[z(mid)])] > pos)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}
Neighbour leader_at(const Demand& d, const TrafficState& s, std::int32_t lane, float pos) {
  const std::int32_t k = first_behind(s, lane, pos);
  Neighbour r;
  if (k > s.lane_veh_begin[z(lane)]) {
    r.veh = s.lane_veh[z(k - 1)];
    r.gap = s.veh_pos[z(r.veh)] - d.types[z(d.veh_type[z(r.veh)])].length - pos;
    r.speed = s.veh_speed[z(r.veh)];
  }
  return r;
}
Neighbour follower_at(const TrafficState& s, std::int32_t lane, float pos, float len) {
  const std::int32_t k = first_behind(s, lane, pos);
  Neighbour r;
  if (k < s.lane_veh_begin[z(lane) + 1]) {
    r.veh = s.lane_veh[z(k)];
    r.gap = pos - len - s.veh_pos[z(r.veh)];
    r.speed = s.veh_speed[z(r.veh)];
  }
  return r;
}

/// What the route asks of a lane change: allowed (MOBIL decides), urgent, or refused.
enum class Strategic { may, must, refuse };

/// The strategic rule for vehicle v changing from `lane` to `target` (direction dir), after
/// SUMO's LC2013 (Erdmann 2015; MSLCM_LC2013::_wantsChange): the look-ahead distance is laDist
/// = 10 s at the look-ahead speed (here the desired speed on the lane, which SUMO's slowly
/// decaying speed memory stays close to), twice that for changes to the left, plus two vehicle
/// lengths with gap. A change toward the lane with the longest continuation is urgent once the
/// usable distance (continuation minus the queue on the best lane) per lane change still
/// needed is below laDist; a change away from it is refused unless the target leaves room
/// (continuation minus the larger queue) for changing there and back, 2 laDist.
Strategic strategic(const Network& n, const Demand& d, const Params& p, const TrafficState& s,
                    std::int32_t v, const Driver& dr, std::int32_t lane, std::int32_t target,
                    std::int32_t dir) {
  const std::int32_t edge = n.lane_edge[z(lane)];
  const float pos = s.veh_pos[z(v)];
  const std::int32_t rp = s.veh_route_pos[z(v)];
  const float horizon = static_cast<float>(p.strategic_lookahead);
  const float spacing = dr.len + dr.s0;
  const float la_dist =
      desired_speed(n, s, dr, v, lane) * 10.0f * (dir > 0 ? 2.0f : 1.0f) + 2.0f * spacing;
  // Free road beyond which the rules below no longer trigger (k <= lanes - 1, 2 laDist).
  const float need =
      pos + static_cast<float>(std::max<std::int32_t>(
                2, n.edge_lane_begin[z(edge) + 1] - n.edge_lane_begin[z(edge)] - 1)) *
                la_dist;
  const Continuation here = continuation(n, d, s, v, rp, lane, dr.vclass, spacing, need, horizon);
  const Continuation there =
      continuation(n, d, s, v, rp, target, dr.vclass, spacing, need, horizon);
  // The best lane (longest continuation; ties: the nearest) and its offset. Only needed
  // when this lane runs out within reach; otherwise this lane counts as best.
  std::int32_t best_off = 0;
  Continuation best = here;
  if (here.length < horizon) {
    for (std::int32_t l2 = n.edge_lane_begin[z(edge)]; l2 < n.edge_lane_begin[z(edge) + 1]; ++l2) {
      if (l2 == lane || !(n.lane_allow[z(l2)] & dr.vclass)) continue;
      const Continuation c2 =
          l2 == target ? there
                       : continuation(n, d, s, v, rp, l2, dr.vclass, spacing, need, horizon);
      const std::int32_t off = l2 - lane;
      if (c2.length > best.length ||
          (c2.length == best.length && best_off != 0 && std::abs(off) < std::abs(best_off))) {
        best = c2;
        best_off = off;
      }
    }
  }
  if (best_off != 0 && (best_off > 0) == (dir > 0)) {
    // Toward the best lane: urgent once the usable distance per change is below laDist.
    const float usable = here.length - pos - best.occupation;
    return usable < static_cast<float>(std::abs(best_off)) * la_dist ? Strategic::must
                                                                     : Strategic::may;
  }
  if (there.length < here.length || best_off != 0) {
    // Away from the best lane (or off it): only with room to change there and back
    // (SUMO: neighLeftPlace / (|bestLaneOffset| + 2) < laDist means stay).
    const float left_place = there.length - pos - std::max(here.occupation, there.occupation);
    if (left_place < static_cast<float>(std::abs(best_off) + 2) * la_dist) return Strategic::refuse;
  }
  return Strategic::may;
}

}  // namespace

// ---- phase: apply the lane changes and re-index, per edge (parallel, no serial pass) ----
// Lane changes stay within an edge, and an edge's lanes are consecutive, so its vehicles keep
// their range of lane_veh: sorting that range by (lane, position descending, index) gives the
// same index a full re-index would, and only the boundaries between its lanes move.
void apply_lane_changes(const Network& n, TrafficState& s, TaskPool& pool) {
  pool.for_blocks(n.n_edges(), grain_lanes(n), [&](std::int64_t b, std::int64_t e, int) {
    for (std::int64_t edge = b; edge < e; ++edge) {
      const std::int32_t l0 = n.edge_lane_begin[z(edge)], l1 = n.edge_lane_begin[z(edge) + 1];
      const std::int32_t vb = s.lane_veh_begin[z(l0)], ve = s.lane_veh_begin[z(l1)];
      bool changed = false;
      for (std::int32_t i = vb; i < ve; ++i) {
        const std::int32_t v = s.lane_veh[z(i)];
        if (s.scratch_lc[z(v)] == 0) continue;
        s.veh_lane[z(v)] += s.scratch_lc[z(v)];
        changed = true;
      }
      if (!changed) continue;
      const auto before = [&](std::int32_t a, std::int32_t c) {
        const std::int32_t la = s.veh_lane[z(a)], lc = s.veh_lane[z(c)];
        if (la != lc) return la < lc;
        const float pa = s.veh_pos[z(a)], pc = s.veh_pos[z(c)];
        return pa > pc || (pa == pc && a < c);
      };
      // Insertion sort: only the few vehicles that changed lanes are out of place.
      for (std::int32_t i = vb + 1; i < ve; ++i) {
        const std::int32_t v = s.lane_veh[z(i)];
        std::int32_t j = i;
        while (j > vb && before(v, s.lane_veh[z(j - 1)])) {
          s.lane_veh[z(j)] = s.lane_veh[z(j - 1)];
          --j;
        }
        s.lane_veh[z(j)] = v;
      }
      std::int32_t i = vb;
      for (std::int32_t l = l0; l + 1 < l1; ++l) {
        while (i < ve && s.veh_lane[z(s.lane_veh[z(i)])] == l) ++i;
        s.lane_veh_begin[z(l) + 1] = i;
      }
    }
  });
}

// ---- phase: lane-change decisions (MOBIL + strategic), one direction per step ----
void decide_lane_changes(const Network& n, const Demand& d, const Params& p, TrafficState& s,
                         TaskPool& pool) {
  const std::int32_t dir = (s.step_count & 1) ? -1 : 1;  // left on even steps, right on odd
  pool.for_blocks(n.n_road_lanes, grain_lanes(n), [&](std::int64_t b, std::int64_t e, int) {
    for (std::int64_t l64 = b; l64 < e; ++l64) {
      const auto lane = static_cast<std::int32_t>(l64);
      const std::int32_t edge = n.lane_edge[z(lane)];
      const std::int32_t target = lane + dir;
      const bool has_target =
          target >= n.edge_lane_begin[z(edge)] && target < n.edge_lane_begin[z(edge) + 1];
      bool prev_changed = false;
      float& merge_pos = s.lane_merge_pos[z(2 * lane + (dir > 0 ? 1 : 0))];
      merge_pos = -1.0f;
      for (std::int32_t i = s.lane_veh_begin[z(lane)]; i < s.lane_veh_begin[z(lane) + 1]; ++i) {
        const std::int32_t v = s.lane_veh[z(i)];
        s.scratch_lc[z(v)] = 0;
        s.scratch_block[z(v)] = -1;
        if (!has_target || prev_changed) {
          prev_changed = false;
          continue;
        }
        const Driver dr = driver(d, v);
        if (!(n.lane_allow[z(target)] & dr.vclass)) continue;
        const float pos = s.veh_pos[z(v)], vel = s.veh_speed[z(v)];
        // A stop ahead on this edge: the vehicle keeps to its lane, or changes towards it
        // whenever it safely can (its only usable lane here; SUMO's best lanes end at a stop).
        const VehicleStop* st = next_stop(d, s, v);
        const bool to_stop = st != nullptr && st->edge == edge && pos < st->end + dr.s0;
        if (standing(s, v) || (to_stop && st->lane == lane)) continue;
        if (to_stop && (st->lane > lane) != (dir > 0)) continue;
        bool must = to_stop;
        if (!to_stop) {
          const Strategic r = strategic(n, d, p, s, v, dr, lane, target, dir);
          if (r == Strategic::refuse) continue;
          must = r == Strategic::must;
        }
        const Neighbour nl = leader_at(d, s, target, pos);
        const Neighbour nf = follower_at(s, target, pos, dr.len);
        // Room ahead: SUMO's secure gap to the target lane's leader (MSCFModel::getSecureGap):
        // its headway, and room to stop behind it braking comfortably as the leader could.
        const bool tight =
            nl.veh >= 0 && nl.gap < vel * dr.T + (vel * vel - nl.speed * nl.speed) / (2.0f * dr.b);
        if (nl.gap < 0.5f || tight || nf.gap < 0.5f) {  // no room: ask for cooperation
          if (must && merge_pos < 0.0f) merge_pos = pos;
          // Alongside a moving vehicle it would never find room (two drivers bound for each
          // other's lanes drive side by side to the stop line): it falls back behind it, as
          // SUMO's blocked driver adapts its speed to change behind the blocking leader
          // (MSLCM_LC2013::informLeader). The one ahead keeps its speed; of two exactly
          // abreast, the one with the lower index counts as ahead.
          const bool tie = nf.veh >= 0 && nf.veh < v && s.veh_pos[z(nf.veh)] == pos;
          const bool ahead = nl.gap < 0.5f || tight;
          const Neighbour& w = ahead ? nl : nf;
          if (must && (ahead || tie) && w.veh >= 0 && w.speed >= p.halting_speed)
            s.scratch_block[z(v)] = w.veh;
          continue;
        }
        float bf_new = 0.0f, bf_old = 0.0f;
        if (nf.veh >= 0) {
          const Driver fd = driver(d, nf.veh);
          const float fv0 = desired_speed(n, s, fd, nf.veh, target);
          bf_new = idm(fd, nf.speed, fv0, nf.gap, nf.speed - vel, p.delta);
          bf_old = idm(fd, nf.speed, fv0, nl.veh >= 0 ? nl.gap + dr.len + nf.gap : k_inf,
                       nf.speed - nl.speed, p.delta);
          const float safe =
              static_cast<float>(must ? std::max(p.lc_safe_decel, 1.5 * fd.b) : p.lc_safe_decel);
          if (bf_new < -safe) {  // MOBIL safety criterion
            if (must && merge_pos < 0.0f) merge_pos = pos;
            continue;
          }
        }
        if (!must) {
          const float v0 = desired_speed(n, s, dr, v, lane);
          const float a_old = i > s.lane_veh_begin[z(lane)]
                                  ? idm(dr, vel, v0,
                                        s.veh_pos[z(s.lane_veh[z(i - 1)])] -
                                            driver(d, s.lane_veh[z(i - 1)]).len - pos,
                                        vel - s.veh_speed[z(s.lane_veh[z(i - 1)])], p.delta)
                                  : idm(dr, vel, v0, k_inf, 0.0f, p.delta);
          const float a_new =
              idm(dr, vel, desired_speed(n, s, dr, v, target), nl.gap, vel - nl.speed, p.delta);
          // MOBIL incentive (Kesting et al. 2007, eq. 2) with a keep-right bias.
          const float bias = dir < 0 ? 0.1f : -0.1f;
          const float gain =
              a_new - a_old + static_cast<float>(p.lc_politeness) * (bf_new - bf_old) + bias;
          if (!(gain > static_cast<float>(p.lc_threshold))) continue;
        }
        s.scratch_lc[z(v)] = static_cast<std::int8_t>(dir);
        prev_changed = true;
      }
    }
  });
  // Applied by apply_lane_changes.
}

}  // namespace citytwin::traffic
