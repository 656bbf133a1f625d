// Routing and re-routing.
//
// Graph: nodes are edges; e -> f when a connection joins a lane of e to a lane of f (the class
// mask is the AND of from-lane, passage and to-lane permissions, ORed over the connections).
// The cost of a path [e0, e1, ..., ek] is sum_{i>=1} (passage(e_{i-1}, e_i) + time(e_i)): the
// first edge is where the vehicle already is. Shortest paths: A* (Hart, Nilsson, Raphael 1968)
// with the ALT heuristic (Goldberg & Harrelson, "Computing the shortest path: A* search meets
// graph theory", SODA 2005): for landmarks L with free-flow distances d,
//   h(v) = max_L max(d(L,t) - d(L,v), d(v,L) - d(t,L)),
// a lower bound on d(v,t) (triangle inequality) while every weight is >= its free-flow value,
// so it stays admissible and consistent with measured times and closures (they only raise
// weights). Raised speed limits lower weights; the heuristic is then scaled by
// TrafficState::heuristic_scale = min(new / old free-flow time) <= 1.
// Ties: the heap orders by (f, edge index) and a node's parent changes only on a strictly
// shorter g, so equal-cost paths resolve the same way every run.
//
// Travel times (Params::reroute_period > 0): every period the space-mean speed of each edge
// (metres driven / vehicle-seconds, as SUMO's device.rerouting samples edge speeds) gives a
// measured travel time length / speed (>= free flow), smoothed exponentially with weight
// tt_smoothing; an edge nobody drove relaxes towards free flow.
#include <algorithm>
#include <cmath>
#include <limits>

#include "citytwin/parallel.hpp"
#include "traffic/kernel.hpp"
#include "traffic/step.hpp"
#include "traffic/vclass.hpp"

namespace citytwin::traffic {
namespace {

constexpr double k_dinf = std::numeric_limits<double>::infinity();
constexpr std::int32_t k_landmarks = 8;

/// Plain Dijkstra over free-flow weights from `src`, forward (src -> all) or backward
/// (all -> src).
void free_flow_tree(const Network& n, const std::vector<std::int32_t>& succ_from, std::int32_t src,
                    bool forward, std::vector<double>& dist) {
  dist.assign(z(n.n_edges()), k_dinf);
  std::vector<std::pair<double, std::int32_t>> heap;
  dist[z(src)] = 0;
  heap.emplace_back(0.0, src);
  const auto cmp = std::greater<>();
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), cmp);
    const auto [g, e] = heap.back();
    heap.pop_back();
    if (g > dist[z(e)]) continue;
    if (forward) {
      for (std::int32_t k = n.edge_succ_begin[z(e)]; k < n.edge_succ_begin[z(e) + 1]; ++k) {
        const std::int32_t f = n.edge_succ[z(k)];
        const double c = g + n.edge_succ_time[z(k)] + n.edge_free_time[z(f)];
        if (c < dist[z(f)]) {
          dist[z(f)] = c;
          heap.emplace_back(c, f);
          std::push_heap(heap.begin(), heap.end(), cmp);
        }
      }
    } else {
      for (std::int32_t j = n.edge_pred_begin[z(e)]; j < n.edge_pred_begin[z(e) + 1]; ++j) {
        const std::int32_t k = n.edge_pred[z(j)];
        const std::int32_t p = succ_from[z(k)];
        const double c = g + n.edge_succ_time[z(k)] + n.edge_free_time[z(e)];
        if (c < dist[z(p)]) {
          dist[z(p)] = c;
          heap.emplace_back(c, p);
          std::push_heap(heap.begin(), heap.end(), cmp);
        }
      }
    }
  }
}

inline std::uint64_t cache_key(std::int32_t from, std::int32_t to, std::uint8_t vclass) {
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(from)) << 36) ^
         (static_cast<std::uint64_t>(static_cast<std::uint32_t>(to)) << 4) ^ vclass;
}

std::uint8_t veh_class(const Demand& d, std::int32_t v) {
  return d.types[z(d.veh_type[z(v)])].vclass;
}

}  // namespace

void build_routing_graph(Network& n) {
  const std::int32_t ne = n.n_edges();
  // Free-flow edge times: length / fastest lane.
  n.edge_free_time.assign(z(ne), 0.0f);
  for (std::int32_t e = 0; e < ne; ++e) {
    float vmax = 0.1f;
    for (std::int32_t l = n.edge_lane_begin[z(e)]; l < n.edge_lane_begin[z(e) + 1]; ++l)
      vmax = std::max(vmax, n.lane_speed[z(l)]);
    n.edge_free_time[z(e)] = n.edge_length[z(e)] / vmax;
  }
  // Successors: (from edge, to edge) pairs over connections, sorted, merged.
  struct Link {
    std::int32_t from, to;
    std::uint8_t allow;
    float time;
  };
  std::vector<Link> links;
  links.reserve(z(n.n_conns()));
  for (std::int32_t c = 0; c < n.n_conns(); ++c) {
    const std::int32_t fl = n.conn_from_lane[z(c)], tl = n.conn_to_lane[z(c)];
    const std::int32_t via = n.conn_via_lane[z(c)];
    const std::int32_t fe = n.lane_edge[z(fl)], te = n.lane_edge[z(tl)];
    if (fe < 0 || te < 0) continue;
    const auto allow =
        static_cast<std::uint8_t>(n.lane_allow[z(fl)] & n.lane_allow[z(via)] & n.lane_allow[z(tl)]);
    const float t = n.lane_length[z(via)] / std::max(n.lane_speed[z(via)], 0.1f);
    links.push_back({fe, te, allow, t});
  }
  std::sort(links.begin(), links.end(), [](const Link& a, const Link& b) {
    return a.from != b.from ? a.from < b.from : a.to < b.to;
  });
  n.edge_succ_begin.assign(z(ne) + 1, 0);
  n.edge_succ.clear();
  n.edge_succ_allow.clear();
  n.edge_succ_time.clear();
  std::vector<std::int32_t> succ_from;
  for (u i = 0; i < links.size(); ++i) {
    if (i > 0 && links[i].from == links[i - 1].from && links[i].to == links[i - 1].to) {
      n.edge_succ_allow.back() |= links[i].allow;
      n.edge_succ_time.back() = std::min(n.edge_succ_time.back(), links[i].time);
      continue;
    }
    n.edge_succ.push_back(links[i].to);
    n.edge_succ_allow.push_back(links[i].allow);
    n.edge_succ_time.push_back(links[i].time);
    succ_from.push_back(links[i].from);
    ++n.edge_succ_begin[z(links[i].from) + 1];
  }
  for (u e = 0; e < z(ne); ++e) n.edge_succ_begin[e + 1] += n.edge_succ_begin[e];
  n.edge_pred_begin.assign(z(ne) + 1, 0);
  for (std::int32_t f : n.edge_succ) ++n.edge_pred_begin[z(f) + 1];
  for (u e = 0; e < z(ne); ++e) n.edge_pred_begin[e + 1] += n.edge_pred_begin[e];
  n.edge_pred.assign(n.edge_succ.size(), 0);
  {
    std::vector<std::int32_t> fill(n.edge_pred_begin.begin(), n.edge_pred_begin.end() - 1);
    for (u k = 0; k < n.edge_succ.size(); ++k)
      n.edge_pred[z(fill[z(n.edge_succ[k])]++)] = static_cast<std::int32_t>(k);
  }
  // Landmarks: "farthest" selection (Goldberg & Harrelson 2005, sec. 6): each new landmark is
  // the edge whose smallest free-flow distance (either direction, finite) to the landmarks so
  // far is largest; the first is the edge farthest from edge 0. Ties: lowest index.
  n.landmark.clear();
  n.landmark_from.clear();
  n.landmark_to.clear();
  if (ne == 0) return;
  const std::int32_t k_max = std::min(k_landmarks, ne);
  std::vector<double> nearest(z(ne), k_dinf), fwd, bwd;
  free_flow_tree(n, succ_from, 0, true, fwd);
  std::int32_t next = 0;
  double best = -1;
  for (std::int32_t e = 0; e < ne; ++e)
    if (fwd[z(e)] < k_dinf && fwd[z(e)] > best) {
      best = fwd[z(e)];
      next = e;
    }
  for (std::int32_t k = 0; k < k_max; ++k) {
    n.landmark.push_back(next);
    free_flow_tree(n, succ_from, next, true, fwd);
    free_flow_tree(n, succ_from, next, false, bwd);
    n.landmark_from.insert(n.landmark_from.end(), fwd.begin(), fwd.end());
    n.landmark_to.insert(n.landmark_to.end(), bwd.begin(), bwd.end());
    best = -1;
    for (std::int32_t e = 0; e < ne; ++e) {
      double d = std::min(fwd[z(e)], bwd[z(e)]);
      if (fwd[z(e)] < k_dinf && bwd[z(e)] < k_dinf) d = std::min(d, fwd[z(e)] + bwd[z(e)]);
      nearest[z(e)] = std::min(nearest[z(e)], d);
      if (nearest[z(e)] < k_dinf && nearest[z(e)] > best) {
        best = nearest[z(e)];
        next = e;
      }
    }
    if (best <= 0) break;  // every reachable edge is a landmark already
  }
}

bool shortest_path(const Network& n, std::span<const float> edge_time,
                   std::span<const std::uint8_t> closed, std::int32_t from, std::int32_t to,
                   std::uint8_t vclass, std::vector<std::int32_t>& path, RouterScratch& sc,
                   double h_scale) {
  path.clear();
  const std::int32_t ne = n.n_edges();
  if (from < 0 || to < 0 || from >= ne || to >= ne) return false;
  if (from == to) {
    path.push_back(from);
    return true;
  }
  if (!closed.empty() && closed[z(to)]) return false;
  if (sc.g.size() != z(ne)) {
    sc.g.assign(z(ne), k_dinf);
    sc.parent.assign(z(ne), -1);
    sc.stamp.assign(z(ne), 0);
    sc.done.assign(z(ne), 0);
    sc.now = 0;
  }
  if (++sc.now == 0) {  // stamp wrap-around
    std::fill(sc.stamp.begin(), sc.stamp.end(), 0);
    std::fill(sc.done.begin(), sc.done.end(), 0);
    sc.now = 1;
  }
  const auto nl = static_cast<std::int32_t>(n.landmark.size());
  // Slightly shrunk so rounding differences between the landmark sums and g never overestimate.
  const double hs = h_scale * (1.0 - 1e-9);
  const auto h = [&](std::int32_t e) {
    double best = 0;
    if (hs == 0) return best;  // plain Dijkstra
    for (std::int32_t k = 0; k < nl; ++k) {
      const u base = z(k) * z(ne);
      const double lf_t = n.landmark_from[base + z(to)], lf_e = n.landmark_from[base + z(e)];
      if (lf_t < k_dinf && lf_e < k_dinf) best = std::max(best, lf_t - lf_e);
      const double lt_e = n.landmark_to[base + z(e)], lt_t = n.landmark_to[base + z(to)];
      if (lt_e < k_dinf && lt_t < k_dinf) best = std::max(best, lt_e - lt_t);
    }
    return best * hs;
  };
  const auto weight = [&](std::int32_t e) {
    return edge_time.empty() ? static_cast<double>(n.edge_free_time[z(e)])
                             : static_cast<double>(edge_time[z(e)]);
  };
  auto& heap = sc.heap;
  heap.clear();
  const auto cmp = std::greater<>();
  sc.stamp[z(from)] = sc.now;
  sc.g[z(from)] = 0;
  sc.parent[z(from)] = -1;
  heap.emplace_back(h(from), from);
  sc.settled = 0;
  bool found = false;
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), cmp);
    const auto [f, e] = heap.back();
    heap.pop_back();
    (void)f;
    if (sc.done[z(e)] == sc.now) continue;  // stale heap entry
    sc.done[z(e)] = sc.now;
    const double g = sc.g[z(e)];
    ++sc.settled;
    if (e == to) {
      found = true;
      break;
    }
    for (std::int32_t k = n.edge_succ_begin[z(e)]; k < n.edge_succ_begin[z(e) + 1]; ++k) {
      if (!(n.edge_succ_allow[z(k)] & vclass)) continue;
      const std::int32_t nx = n.edge_succ[z(k)];
      if (!closed.empty() && closed[z(nx)]) continue;
      const double c = g + n.edge_succ_time[z(k)] + weight(nx);
      if (sc.done[z(nx)] == sc.now) continue;
      if (sc.stamp[z(nx)] != sc.now || c < sc.g[z(nx)]) {
        sc.stamp[z(nx)] = sc.now;
        sc.g[z(nx)] = c;
        sc.parent[z(nx)] = e;
        heap.emplace_back(c + h(nx), nx);
        std::push_heap(heap.begin(), heap.end(), cmp);
      }
    }
  }
  if (!found) return false;
  for (std::int32_t e = to; e >= 0; e = sc.parent[z(e)]) path.push_back(e);
  std::reverse(path.begin(), path.end());
  return true;
}

double path_time(const Network& n, std::span<const float> edge_time,
                 std::span<const std::int32_t> path) {
  double t = 0;
  for (u i = 1; i < path.size(); ++i) {
    const std::int32_t e = path[i - 1], f = path[i];
    double pass = k_dinf;
    for (std::int32_t k = n.edge_succ_begin[z(e)]; k < n.edge_succ_begin[z(e) + 1]; ++k)
      if (n.edge_succ[z(k)] == f) pass = n.edge_succ_time[z(k)];
    t += pass + (edge_time.empty() ? n.edge_free_time[z(f)] : edge_time[z(f)]);
  }
  return t;
}

float free_time(const Network& n, const TrafficState& s, std::int32_t e) {
  float vmax = 0.1f;
  for (std::int32_t l = n.edge_lane_begin[z(e)]; l < n.edge_lane_begin[z(e) + 1]; ++l)
    vmax = std::max(vmax, s.lane_speed[z(l)]);
  return n.edge_length[z(e)] / vmax;
}

void init_routing_state(const Network& n, const Demand& d, TrafficState& s) {
  const auto nv = z(d.n_vehicles());
  s.route_edges = d.route_edges;
  s.veh_route_begin.assign(d.veh_route_begin.begin(), d.veh_route_begin.end() - (nv ? 1 : 0));
  s.veh_route_end.assign(d.veh_route_begin.begin() + (nv ? 1 : 0), d.veh_route_begin.end());
  s.veh_route_begin.resize(nv);
  s.veh_route_end.resize(nv);
  s.veh_dest.resize(nv);
  s.veh_flags.assign(nv, 0);
  for (u v = 0; v < nv; ++v) {
    s.veh_dest[v] = d.route_edges[z(d.veh_route_begin[v + 1] - 1)];
    if (!d.veh_trip.empty() && d.veh_trip[v]) s.veh_flags[v] = k_flag_needs_route;
  }
  s.edge_closed.assign(z(n.n_edges()), 0);
  s.lane_speed = n.lane_speed;
  s.edge_limit.assign(z(n.n_edges()), 0.0f);
  s.edge_speed_factor.assign(z(n.n_edges()), 1.0f);
  s.tl_dark.assign(n.tl_id.size(), 0);
  s.edge_tt = n.edge_free_time;
  s.tt_veh_meters.assign(z(n.n_edges()), 0.0);
  s.tt_veh_seconds.assign(z(n.n_edges()), 0.0);
}

}  // namespace citytwin::traffic

namespace citytwin::traffic {
namespace {

/// Index (into route_edges) of the edge a vehicle's new route starts from: the origin for a
/// waiting vehicle; for a running one its current edge, or the edge it is committed to (it is
/// inside the junction towards it, or cannot stop comfortably before the stop line).
std::int32_t reroute_start(const Network& n, const Demand& d, const TrafficState& s,
                           std::int32_t v) {
  const std::int32_t rb = s.veh_route_begin[z(v)], re = s.veh_route_end[z(v)];
  if (s.veh_status[z(v)] != VehStatus::running) return rb;
  const std::int32_t lane = s.veh_lane[z(v)];
  const std::int32_t k = rb + s.veh_route_pos[z(v)];
  if (n.lane_edge[z(lane)] < 0 || k + 1 >= re) return k;
  const std::int32_t nx = s.route_edges[z(k) + 1];
  const float b = d.types[z(d.veh_type[z(v)])].decel;
  const float dist = n.lane_length[z(lane)] - s.veh_pos[z(v)];
  const float vel = s.veh_speed[z(v)];
  return !s.edge_closed[z(nx)] && vel * vel > 2.0f * b * dist ? k + 1 : k;
}

struct Routed {
  std::vector<std::int32_t> edges;  // the new route from the vehicle's current edge on
  bool ok = false, cached = false;
  bool keep_old = false;  // not enough faster than the current route (periodic re-routing)
};

/// The new route of a queued vehicle (parallel: reads the state, writes only `out`).
void route_one(const Network& n, const Demand& d, const Params& p, const TrafficState& s,
               std::int32_t v, RouterScratch& sc, std::vector<std::int32_t>& leg, Routed& out) {
  const std::int32_t rb = s.veh_route_begin[z(v)], re = s.veh_route_end[z(v)];
  const std::int32_t start = reroute_start(n, d, s, v);
  const std::uint8_t vc = veh_class(d, v);
  out.edges.assign(s.route_edges.begin() + rb +
                       (s.veh_status[z(v)] == VehStatus::running ? s.veh_route_pos[z(v)] : 0),
                   s.route_edges.begin() + start);
  const std::span<const float> w(s.edge_tt);
  const std::span<const std::uint8_t> closed(s.edge_closed);
  // Legs: a trip not routed yet goes through its via edges; everyone else straight to the
  // destination.
  std::vector<std::int32_t> stops;
  if (s.veh_flags[z(v)] & k_flag_needs_route && s.veh_status[z(v)] == VehStatus::pending &&
      !d.veh_trip.empty() && d.veh_trip[z(v)])
    stops.assign(s.route_edges.begin() + rb, s.route_edges.begin() + re);
  else
    stops = {s.route_edges[z(start)], s.veh_dest[z(v)]};
  // Through the edges of its scheduled stops still ahead, in order (SUMO routes through a
  // vehicle's stops); a stop on an edge it is leaving (before `start`) is passed, one on
  // `start` is ahead on it. (A trip routed the first time has them among its vias already.)
  if (!d.stops.empty() && stops.size() == 2) {
    const std::int32_t from =
        rb + (s.veh_status[z(v)] == VehStatus::running ? s.veh_route_pos[z(v)] : 0);
    std::int32_t k = s.veh_stop_next[z(v)];
    for (std::int32_t j = from; k < d.stop_end(v) && j < start; ++j)
      if (s.route_edges[z(j)] == d.stops[z(k)].edge) ++k;
    if (k < d.stop_end(v) && d.stops[z(k)].edge == s.route_edges[z(start)]) ++k;
    for (; k < d.stop_end(v); ++k)
      if (d.stops[z(k)].edge != stops[stops.size() - 2] && d.stops[z(k)].edge != stops.back())
        stops.insert(stops.end() - 1, d.stops[z(k)].edge);
  }
  out.edges.push_back(stops.front());
  for (std::size_t i = 1; i < stops.size(); ++i) {
    const std::int32_t a = out.edges.back(), b = stops[i];
    const auto key = cache_key(a, b, vc);
    if (stops.size() == 2) {
      if (auto it = s.route_cache.index.find(key); it != s.route_cache.index.end()) {
        out.edges.insert(out.edges.end(), s.route_cache.edges.begin() + it->second.first + 1,
                         s.route_cache.edges.begin() + it->second.second);
        out.cached = true;
        continue;
      }
    }
    if (!shortest_path(n, w, closed, a, b, vc, leg, sc, s.heuristic_scale)) {
      out.ok = false;
      return;
    }
    out.edges.insert(out.edges.end(), leg.begin() + 1, leg.end());
  }
  out.ok = true;
  // A vehicle with a usable route switches only for a gain of reroute_min_gain or more
  // (fewer oscillations when many vehicles see the same congestion).
  if (s.veh_flags[z(v)] & (k_flag_needs_route | k_flag_stranded)) return;
  const std::span<const std::int32_t> old(s.route_edges.data() + start, z(re - start));
  for (std::int32_t e : old.subspan(1))
    if (s.edge_closed[z(e)]) return;
  const std::span<const std::int32_t> fresh(out.edges);
  const double t_old = path_time(n, w, old);
  std::size_t k0 = 0;
  while (k0 < fresh.size() && fresh[k0] != old.front()) ++k0;
  const double t_new = path_time(n, w, fresh.subspan(std::min(k0, fresh.size())));
  if (t_new > t_old * (1.0 - p.reroute_min_gain)) out.keep_old = true;
}

/// Applies a computed route (serial, vehicle order).
void apply_route(const Network& n, TrafficState& s, std::int32_t v, const Routed& r) {
  const bool initial =
      (s.veh_flags[z(v)] & k_flag_needs_route) != 0 && s.veh_status[z(v)] == VehStatus::pending;
  const std::int32_t rb = s.veh_route_begin[z(v)], re = s.veh_route_end[z(v)];
  const std::int32_t pos = s.veh_status[z(v)] == VehStatus::running ? s.veh_route_pos[z(v)] : 0;
  s.veh_flags[z(v)] &= static_cast<std::uint8_t>(~k_flag_needs_route);
  if (!r.ok) {
    if (s.veh_status[z(v)] == VehStatus::pending) {
      // Policy: a waiting vehicle with no route to its destination is never inserted.
      s.veh_status[z(v)] = VehStatus::removed;
      ++s.unroutable;
      return;
    }
    // Policy: a running vehicle keeps its route up to the last edge before the first closed
    // one and is removed there (counted in removed and stranded).
    for (std::int32_t j = rb + pos + 1; j < re; ++j)
      if (s.edge_closed[z(s.route_edges[z(j)])]) {
        s.veh_route_end[z(v)] = j;
        s.veh_flags[z(v)] |= k_flag_stranded;
        break;
      }
    return;
  }
  s.veh_flags[z(v)] &= static_cast<std::uint8_t>(~k_flag_stranded);
  if (!initial && std::equal(r.edges.begin(), r.edges.end(), s.route_edges.begin() + rb + pos,
                             s.route_edges.begin() + re))
    return;  // the same route
  const auto nb = static_cast<std::int32_t>(s.route_edges.size());
  s.route_edges.insert(s.route_edges.end(), r.edges.begin(), r.edges.end());
  s.veh_route_begin[z(v)] = nb;
  s.veh_route_end[z(v)] = static_cast<std::int32_t>(s.route_edges.size());
  s.veh_route_pos[z(v)] = 0;
  if (!initial) ++s.rerouted, ++s.veh_reroutes[z(v)];
  (void)n;
}

/// Exponentially smoothed measured travel times, then the periodic re-routing check.
void update_travel_times(const Network& n, const Demand& d, const Params& p, TrafficState& s) {
  const double a = std::clamp(p.tt_smoothing, 0.0, 1.0);
  for (std::int32_t e = 0; e < n.n_edges(); ++e) {
    const double ff = free_time(n, s, e);
    double meas = ff;
    if (s.tt_veh_seconds[z(e)] > 0) {
      const double v = s.tt_veh_meters[z(e)] / s.tt_veh_seconds[z(e)];
      meas = std::max(ff, n.edge_length[z(e)] / std::max(v, 0.5));
    }
    s.edge_tt[z(e)] = static_cast<float>(
        std::max(ff, a * meas + (1.0 - a) * static_cast<double>(s.edge_tt[z(e)])));
  }
  std::fill(s.tt_veh_meters.begin(), s.tt_veh_meters.end(), 0.0);
  std::fill(s.tt_veh_seconds.begin(), s.tt_veh_seconds.end(), 0.0);
  ++s.tt_epoch;
  for (std::int32_t i = 0; i < s.n_running; ++i) {
    const std::int32_t v = s.running[z(i)];
    if (s.veh_flags[z(v)] & (k_flag_stranded | k_flag_needs_route)) continue;
    double meas = 0, ff = 0;
    for (std::int32_t k = reroute_start(n, d, s, v) + 1; k < s.veh_route_end[z(v)]; ++k) {
      const std::int32_t e = s.route_edges[z(k)];
      meas += s.edge_tt[z(e)];
      ff += free_time(n, s, e);
    }
    if (meas > p.reroute_factor * ff + 1e-6) s.route_queue.push_back(v);
  }
}

}  // namespace

bool compact_routes(TrafficState& s) {
  std::size_t live = 0;
  for (std::size_t v = 0; v < s.veh_route_begin.size(); ++v)
    live += z(s.veh_route_end[v] - s.veh_route_begin[v]);
  if (s.route_edges.size() <= 2 * live + (std::size_t{1} << 16)) return false;
  std::vector<std::int32_t> pool;
  pool.reserve(live);
  for (std::size_t v = 0; v < s.veh_route_begin.size(); ++v) {
    const auto b = static_cast<std::int32_t>(pool.size());
    pool.insert(pool.end(), s.route_edges.begin() + s.veh_route_begin[v],
                s.route_edges.begin() + s.veh_route_end[v]);
    s.veh_route_begin[v] = b;
    s.veh_route_end[v] = static_cast<std::int32_t>(pool.size());
  }
  s.route_edges = std::move(pool);
  return true;
}

void prepare_routes(const Network& n, const Demand& d, const Params& p, TrafficState& s,
                    TaskPool& pool) {
  if (p.reroute_period > 0 && s.time >= s.next_tt_update) {
    if (s.time > 0) update_travel_times(n, d, p, s);
    s.next_tt_update = s.time + p.reroute_period;
  }
  // Trips departing now are routed with the current travel times (SUMO routes trips at
  // insertion).
  while (s.route_cursor < d.n_vehicles() && d.veh_depart[z(s.route_cursor)] <= s.time) {
    if (s.veh_flags[z(s.route_cursor)] & k_flag_needs_route)
      s.route_queue.push_back(s.route_cursor);
    ++s.route_cursor;
  }
  // Every 256 steps (the check walks all vehicles): drop replaced routes if they dominate.
  if ((s.step_count & 255) == 0 && s.route_edges.size() > (std::size_t{1} << 16)) compact_routes(s);
  if (s.route_queue.empty()) return;
  auto& q = s.route_queue;
  std::sort(q.begin(), q.end());
  q.erase(std::unique(q.begin(), q.end()), q.end());
  q.erase(std::remove_if(q.begin(), q.end(),
                         [&](std::int32_t v) {
                           const VehStatus st = s.veh_status[z(v)];
                           return st == VehStatus::arrived || st == VehStatus::removed;
                         }),
          q.end());
  if (s.route_cache.epoch != s.tt_epoch || s.route_cache.edges.size() > (1u << 22)) {
    s.route_cache.index.clear();
    s.route_cache.edges.clear();
    s.route_cache.epoch = s.tt_epoch;
  }
  if (s.router.size() < z(pool.threads())) s.router.resize(z(pool.threads()));
  std::vector<Routed> out(q.size());
  pool.for_blocks(static_cast<std::int64_t>(q.size()), 8,
                  [&](std::int64_t b, std::int64_t e, int worker) {
                    std::vector<std::int32_t> leg;
                    for (std::int64_t i = b; i < e; ++i)
                      route_one(n, d, p, s, q[z(i)], s.router[z(worker)], leg, out[z(i)]);
                  });
  for (std::size_t i = 0; i < q.size(); ++i) {
    const std::int32_t v = q[i];
    const Routed& r = out[i];
    if (r.ok && !r.cached && r.edges.size() >= 2) {
      // Cache the leg from the route's start edge (single-leg queries only).
      const bool single = d.veh_trip.empty() || !d.veh_trip[z(v)] ||
                          s.veh_status[z(v)] != VehStatus::pending ||
                          s.veh_route_end[z(v)] - s.veh_route_begin[z(v)] == 2;
      const std::int32_t start = reroute_start(n, d, s, v);
      const std::int32_t kept =
          start - (s.veh_route_begin[z(v)] +
                   (s.veh_status[z(v)] == VehStatus::running ? s.veh_route_pos[z(v)] : 0));
      if (single && kept >= 0) {
        const auto key = cache_key(r.edges[z(kept)], r.edges.back(), veh_class(d, v));
        if (!s.route_cache.index.contains(key)) {
          const auto b = static_cast<std::int32_t>(s.route_cache.edges.size());
          s.route_cache.edges.insert(s.route_cache.edges.end(), r.edges.begin() + kept,
                                     r.edges.end());
          s.route_cache.index[key] = {b, static_cast<std::int32_t>(s.route_cache.edges.size())};
        }
      }
    }
    if (r.cached)
      ++s.route_cache.hits;
    else
      ++s.route_cache.misses;
    if (!r.keep_old) apply_route(n, s, v, r);
  }
  q.clear();
}

}  // namespace citytwin::traffic
