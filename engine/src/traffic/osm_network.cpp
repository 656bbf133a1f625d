// The city's road links -> a lane network with junctions (docs/scenario-traffic.md).
//
// Edges are the city's directed links; each has `lanes` lanes (rightmost first) with the link's
// length and speed limit, drawn offset to the right of the way (two-way) or centred (one-way).
// At every node each incoming link connects to the outgoing ones (a U-turn only at a dead end,
// or where it is the only way onto the reverse link, as where a one-way street leaves a
// two-way one). Turn classes come from the angle between the last segment in and the first out:
// right below -30 degrees, left above +30, straight between. Lanes: OSM `turn:lanes` when the
// tag has one entry per lane; otherwise rightmost lane turns right, leftmost turns left, every
// lane goes straight; lanes left without a movement take the nearest one.
//
// Conflicts: two movements from different approaches conflict when they enter the same link or
// their paths cross (their end points interleave around the node). Who yields:
//   - the approach of the lower road class yields (OSM highway class: motorway > trunk >
//     primary > secondary > tertiary > unclassified > residential > service > living_street;
//     *_link ranks as its road);
//   - between approaches of equal class where the node has a major road, the movement turning
//     more to the left yields;
//   - where every approach has the same class, right before left (the approach on the
//     driver's right goes first), and turning left yields to the opposite direction.
// Signals (OSM highway=traffic_signals nodes): approaches are split into two groups by axis
// (within 45 degrees of the major approach's axis, or not); each group gets a green phase and
// an amber; the plan is Webster's (see webster_plan) with the flows if given, else the default
// cycle split by approach lanes. A signal on a single axis (a crossing) alternates green with
// an all-red pedestrian phase. Within a green group, a movement that yields shows 'g'.
#include "traffic/osm_network.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "traffic/sumo_common.hpp"
#include "traffic/vclass.hpp"

namespace citytwin::traffic {

namespace {

using u = std::size_t;
constexpr double k_pi = std::numbers::pi;
constexpr double k_turn = 0.5236;  // 30 degrees

double wrap(double a) {
  while (a > k_pi) a -= 2 * k_pi;
  while (a <= -k_pi) a += 2 * k_pi;
  return a;
}

int class_rank(RoadClass c) {
  const int k = static_cast<int>(c);
  return k >= static_cast<int>(RoadClass::motorway_link)
             ? k - static_cast<int>(RoadClass::motorway_link)
             : k;
}

enum Turn : std::uint8_t { right = 0, straight = 1, left = 2 };

struct Movement {
  std::int32_t in, out;  // links
  double theta;          // turn angle, left positive
  Turn turn;
  double p_in, p_out;  // angular positions of the ends around the node (radians)
};

// Does movement b cross movement a? Ends interleave around the node.
bool crosses(const Movement& a, const Movement& b) {
  auto inside = [&](double x) {  // strictly on the CCW arc from a.p_in to a.p_out
    const double span = std::fmod(a.p_out - a.p_in + 4 * k_pi, 2 * k_pi);
    const double d = std::fmod(x - a.p_in + 4 * k_pi, 2 * k_pi);
    return d > 1e-9 && d < span - 1e-9;
  };
  return inside(b.p_in) != inside(b.p_out);
}

// Token classes of one turn:lanes entry ("left;through"): bit per Turn.
std::uint8_t turn_bits(std::string_view entry) {
  std::uint8_t bits = 0;
  while (true) {
    const auto semi = entry.find(';');
    const std::string_view t = entry.substr(0, semi);
    if (t.find("left") != std::string_view::npos || t == "reverse")
      bits |= 1 << left;
    else if (t.find("right") != std::string_view::npos)
      bits |= 1 << right;
    else
      bits |= 1 << straight;  // through, none, empty, merge_to_*
    if (semi == std::string_view::npos) break;
    entry = entry.substr(semi + 1);
  }
  return bits;
}

}  // namespace

WebsterPlan webster_plan(const std::vector<double>& y, const CityNetworkParams& p) {
  WebsterPlan w;
  const double n = static_cast<double>(y.size());
  w.total_lost_s = n * p.lost_time_s;
  for (double v : y) w.y_total += v;
  double c = w.y_total < 0.9 ? (1.5 * w.total_lost_s + 5.0) / (1.0 - w.y_total) : p.max_cycle_s;
  w.cycle_s = std::clamp(c, p.min_cycle_s, p.max_cycle_s);
  for (double v : y)
    w.green_s.push_back(w.y_total > 0 ? (w.cycle_s - w.total_lost_s) * v / w.y_total
                                      : (w.cycle_s - w.total_lost_s) / n);
  return w;
}

CityNetwork build_city_network(const RoadNetwork& r, const std::vector<double>& flow,
                               const CityNetworkParams& p) {
  CityNetwork out;
  Network& net = out.net;
  LaneGeometry& g = out.geom;
  const std::int32_t n_links = r.link_count(), n_nodes = r.node_count();
  auto pts = [&](std::int32_t l) {
    return std::pair{r.link_point_offsets[static_cast<u>(l)],
                     r.link_point_offsets[static_cast<u>(l) + 1]};
  };

  // ---- edges, lanes and their drawn shapes ----
  net.edge_lane_begin.push_back(0);
  g.lane_point_begin.push_back(0);
  for (std::int32_t l = 0; l < n_links; ++l) {
    const int n = std::max<int>(1, r.link_lanes[static_cast<u>(l)]);
    net.edge_id.push_back(std::to_string(l));
    net.edge_length.push_back(std::max(1.0f, r.link_length_m[static_cast<u>(l)]));
    const auto [b, e] = pts(l);
    for (int i = 0; i < n; ++i) {
      net.lane_length.push_back(net.edge_length.back());
      net.lane_speed.push_back(r.link_speed_mps[static_cast<u>(l)]);
      net.lane_edge.push_back(l);
      net.lane_index.push_back(i);
      net.lane_allow.push_back(k_class_all);
      const double off = (r.link_oneway[static_cast<u>(l)] ? 0.5 * (n - 1) - i : n - 0.5 - i) *
                         p.lane_width_m;  // to the right of the way
      float s = 0;
      for (std::int32_t k = b; k < e; ++k) {
        const auto a = static_cast<u>(std::max(b, k - 1)),
                   c = static_cast<u>(std::min(e - 1, k + 1));
        double dx = r.point_x[c] - r.point_x[a], dy = r.point_y[c] - r.point_y[a];
        const double len = std::hypot(dx, dy);
        if (len > 0) dx /= len, dy /= len;
        const double x = r.point_x[static_cast<u>(k)] + off * dy,
                     y = r.point_y[static_cast<u>(k)] - off * dx;
        if (k > b) s += static_cast<float>(std::hypot(x - g.x.back(), y - g.y.back()));
        g.x.push_back(x);
        g.y.push_back(y);
        g.s.push_back(s);
      }
      g.lane_point_begin.push_back(static_cast<std::int32_t>(g.x.size()));
    }
    net.edge_lane_begin.push_back(net.n_lanes());
  }
  net.n_road_lanes = net.n_lanes();
  net.edge_sorted.resize(static_cast<u>(n_links));
  for (std::int32_t e = 0; e < n_links; ++e) net.edge_sorted[static_cast<u>(e)] = e;
  std::sort(net.edge_sorted.begin(), net.edge_sorted.end(),
            [&](std::int32_t a, std::int32_t b) { return net.edge_id[a] < net.edge_id[b]; });

  // Incoming links per node (CSR).
  std::vector<std::int32_t> in_begin(static_cast<u>(n_nodes) + 1, 0),
      in_links(static_cast<u>(n_links));
  for (std::int32_t l = 0; l < n_links; ++l) ++in_begin[static_cast<u>(r.link_to[l]) + 1];
  for (std::int32_t k = 0; k < n_nodes; ++k) in_begin[k + 1] += in_begin[k];
  {
    std::vector<std::int32_t> fill(in_begin.begin(), in_begin.end() - 1);
    for (std::int32_t l = 0; l < n_links; ++l) in_links[static_cast<u>(fill[r.link_to[l]]++)] = l;
  }
  auto end_heading = [&](std::int32_t l) {
    const auto [b, e] = pts(l);
    return std::atan2(r.point_y[e - 1] - r.point_y[e - 2], r.point_x[e - 1] - r.point_x[e - 2]);
  };
  auto start_heading = [&](std::int32_t l) {
    const auto [b, e] = pts(l);
    return std::atan2(r.point_y[b + 1] - r.point_y[b], r.point_x[b + 1] - r.point_x[b]);
  };
  auto lanes_of = [&](std::int32_t l) {
    return net.edge_lane_begin[static_cast<u>(l) + 1] - net.edge_lane_begin[static_cast<u>(l)];
  };
  auto is_reverse = [&](std::int32_t a, std::int32_t b) {
    return r.link_osm_way[a] == r.link_osm_way[b] && r.link_from[a] == r.link_to[b] &&
           r.link_to[a] == r.link_from[b];
  };

  // ---- junctions: movements, lane connections, conflicts, signals ----
  struct Conn {
    std::int32_t from, to, node, movement;
    Turn turn;
    float length, speed;
  };
  std::vector<Conn> conns;
  std::vector<Movement> moves;  // all movements, grouped by node
  std::vector<std::int32_t> node_moves(static_cast<u>(n_nodes) + 1, 0);
  std::vector<TlsProgram> programs;
  std::vector<std::vector<std::int32_t>> tl_conns;            // per signal: its conns (link order)
  std::vector<std::int32_t> conn_group;                       // per conn: signal group, -1 none
  std::vector<std::pair<std::int32_t, std::int32_t>> yields;  // (conn, foe)

  for (std::int32_t nd = 0; nd < n_nodes; ++nd) {
    const std::int32_t m0 = static_cast<std::int32_t>(moves.size());
    const auto ib = in_begin[static_cast<u>(nd)], ie = in_begin[static_cast<u>(nd) + 1];
    const auto ob = r.node_out_offsets[static_cast<u>(nd)],
               oe = r.node_out_offsets[static_cast<u>(nd) + 1];
    const std::int32_t c0 = static_cast<std::int32_t>(conns.size());
    for (auto ia = ib; ia < ie; ++ia) {
      const std::int32_t a = in_links[static_cast<u>(ia)];
      const double ha = end_heading(a);
      bool other = false;
      for (auto o = ob; o < oe; ++o) other |= !is_reverse(a, r.node_out_links[static_cast<u>(o)]);
      const std::int32_t mb = static_cast<std::int32_t>(moves.size());
      for (auto o = ob; o < oe; ++o) {
        const std::int32_t b = r.node_out_links[static_cast<u>(o)];
        // A U-turn only where a has no other way on, or b no other way in.
        bool b_entered = false;
        for (auto k = ib; k < ie; ++k) b_entered |= !is_reverse(in_links[static_cast<u>(k)], b);
        if (is_reverse(a, b) && other && b_entered) continue;
        Movement m{a, b, wrap(start_heading(b) - ha), straight, 0, 0};
        m.turn = is_reverse(a, b) || m.theta > k_turn ? left : m.theta < -k_turn ? right : straight;
        m.p_in = wrap(ha + k_pi) + 0.05;  // arriving traffic keeps right
        m.p_out = start_heading(b) - 0.05;
        moves.push_back(m);
      }
      const std::int32_t me = static_cast<std::int32_t>(moves.size());
      if (me == mb) continue;
      // Lane assignment: bits[i] = turn classes lane i serves.
      const int na = lanes_of(a);
      std::vector<std::uint8_t> bits(static_cast<u>(na), 0);
      std::uint8_t present = 0;
      for (auto k = mb; k < me; ++k) present |= 1 << moves[static_cast<u>(k)].turn;
      const std::string& tag = r.link_turn_lanes[static_cast<u>(a)];
      bool tagged = false;
      if (!tag.empty()) {
        std::vector<std::string_view> entries;
        std::string_view t = tag;
        while (true) {
          const auto bar = t.find('|');
          entries.push_back(t.substr(0, bar));
          if (bar == std::string_view::npos) break;
          t = t.substr(bar + 1);
        }
        if (static_cast<int>(entries.size()) == na) {
          for (int j = 0; j < na; ++j)
            bits[static_cast<u>(na - 1 - j)] = turn_bits(entries[static_cast<u>(j)]) & present;
          tagged = true;
          ++out.turn_lanes_used;
        } else {
          ++out.turn_lanes_ignored;
        }
      }
      if (!tagged) {
        for (int i = 0; i < na; ++i) bits[static_cast<u>(i)] = present & (1 << straight);
        if (present & (1 << right)) bits[0] |= 1 << right;
        if (present & (1 << left)) bits[static_cast<u>(na - 1)] |= 1 << left;
      }
      // Every movement class served by some lane; every lane serves something.
      for (int t = 0; t < 3; ++t) {
        if (!(present & (1 << t))) continue;
        bool served = false;
        for (auto b : bits) served |= (b >> t) & 1;
        if (!served)
          bits[t == right  ? 0
               : t == left ? static_cast<u>(na - 1)
                           : static_cast<u>(na / 2)] |= 1 << t;
      }
      for (int i = 0; i < na; ++i) {
        if (bits[static_cast<u>(i)]) continue;
        for (int d = 1; d < na && !bits[static_cast<u>(i)]; ++d)
          for (int j : {i - d, i + d})
            if (j >= 0 && j < na && bits[static_cast<u>(j)]) {
              bits[static_cast<u>(i)] = bits[static_cast<u>(j)];
              break;
            }
      }
      for (auto k = mb; k < me; ++k) {
        const Movement& m = moves[static_cast<u>(k)];
        const int nb = lanes_of(m.out);
        for (int i = 0; i < na; ++i) {
          if (!((bits[static_cast<u>(i)] >> m.turn) & 1)) continue;
          const int to = m.turn == right ? 0 : m.turn == left ? nb - 1 : std::min(i, nb - 1);
          Conn c{net.edge_lane_begin[static_cast<u>(a)] + i,
                 net.edge_lane_begin[static_cast<u>(m.out)] + to,
                 nd,
                 k,
                 m.turn,
                 0,
                 0};
          const auto fl = static_cast<u>(c.from), tl = static_cast<u>(c.to);
          const double x0 = g.x[static_cast<u>(g.lane_point_begin[fl + 1] - 1)],
                       y0 = g.y[static_cast<u>(g.lane_point_begin[fl + 1] - 1)],
                       x1 = g.x[static_cast<u>(g.lane_point_begin[tl])],
                       y1 = g.y[static_cast<u>(g.lane_point_begin[tl])];
          c.length = static_cast<float>(std::max(3.0, std::hypot(x1 - x0, y1 - y0)));
          c.speed = std::min(net.lane_speed[fl], net.lane_speed[tl]);
          if (m.turn != straight) c.speed = std::min(c.speed, static_cast<float>(p.turn_speed_mps));
          conns.push_back(c);
          conn_group.push_back(-1);
        }
      }
    }
    node_moves[static_cast<u>(nd) + 1] = static_cast<std::int32_t>(moves.size());
    const std::int32_t c1 = static_cast<std::int32_t>(conns.size());
    if (c1 == c0) continue;

    // Priority between movements of this node: does movement x yield to movement y?
    int best = 99, worst = -1;
    for (auto i = ib; i < ie; ++i) {
      const int k = class_rank(r.link_class[in_links[static_cast<u>(i)]]);
      best = std::min(best, k), worst = std::max(worst, k);
    }
    auto yields_to = [&](const Movement& x, const Movement& y) {
      if (x.in == y.in) return false;
      if (x.out != y.out && !crosses(x, y)) return false;
      const int rx = class_rank(r.link_class[x.in]), ry = class_rank(r.link_class[y.in]);
      if (rx != ry) return rx > ry;
      if (best == worst) {
        // Right before left: is y's approach on x's driver's right (or x's on y's)?
        const double ry_rel = wrap(wrap(end_heading(y.in) + k_pi) - end_heading(x.in));
        const double rx_rel = wrap(wrap(end_heading(x.in) + k_pi) - end_heading(y.in));
        const bool y_right = ry_rel < -0.3 && ry_rel > -k_pi + 0.3;
        const bool x_right = rx_rel < -0.3 && rx_rel > -k_pi + 0.3;
        if (y_right != x_right) return y_right;
      }
      return x.theta > y.theta + 0.1;  // the more-left-turning movement yields
    };

    // Signal groups by axis.
    const bool signal = r.node_signal[static_cast<u>(nd)] != 0;
    std::vector<std::int32_t> in_group(static_cast<u>(ie - ib), 0);
    int n_groups = 1;
    if (signal) {
      std::int32_t ref = in_links[static_cast<u>(ib)];
      for (auto i = ib; i < ie; ++i) {
        const std::int32_t l = in_links[static_cast<u>(i)];
        if (class_rank(r.link_class[l]) < class_rank(r.link_class[ref]) ||
            (class_rank(r.link_class[l]) == class_rank(r.link_class[ref]) &&
             lanes_of(l) > lanes_of(ref)))
          ref = l;
      }
      const double h0 = end_heading(ref);
      for (auto i = ib; i < ie; ++i) {
        const double d = std::abs(wrap(end_heading(in_links[static_cast<u>(i)]) - h0));
        in_group[static_cast<u>(i - ib)] = d < k_pi / 4 || d > 3 * k_pi / 4 ? 0 : 1;
        n_groups = std::max(n_groups, in_group[static_cast<u>(i - ib)] + 1);
      }
    }
    auto group_of_link = [&](std::int32_t l) {
      for (auto i = ib; i < ie; ++i)
        if (in_links[static_cast<u>(i)] == l) return in_group[static_cast<u>(i - ib)];
      return 0;
    };
    for (auto c = c0; c < c1; ++c) {
      const Movement& x = moves[static_cast<u>(conns[static_cast<u>(c)].movement)];
      if (signal) conn_group[static_cast<u>(c)] = group_of_link(x.in);
      for (auto d = c0; d < c1; ++d) {
        const Movement& y = moves[static_cast<u>(conns[static_cast<u>(d)].movement)];
        if (signal && group_of_link(x.in) != group_of_link(y.in)) continue;
        if (yields_to(x, y)) yields.emplace_back(c, d);
      }
    }
    (void)m0;
    if (!signal) continue;

    // The fixed-time plan: Webster with flows, else the default cycle split by lanes.
    std::vector<double> y(static_cast<u>(n_groups), 0.0), lanes(static_cast<u>(n_groups), 0.0);
    bool have_flow = false;
    for (auto i = ib; i < ie; ++i) {
      const std::int32_t l = in_links[static_cast<u>(i)];
      const auto k = static_cast<u>(in_group[static_cast<u>(i - ib)]);
      lanes[k] += lanes_of(l);
      if (!flow.empty() && flow[static_cast<u>(l)] > 0) {
        have_flow = true;
        y[k] = std::max(y[k], flow[static_cast<u>(l)] / (p.saturation_flow_vph * lanes_of(l)));
      }
    }
    TlsProgram prog;
    std::vector<double> green;
    if (n_groups == 1) {
      green = {p.default_cycle_s - p.amber_s - p.pedestrian_red_s};
    } else if (have_flow) {
      const WebsterPlan w = webster_plan(y, p);
      for (double gi : w.green_s) green.push_back(gi + p.lost_time_s - p.amber_s);
    } else {
      const double total = lanes[0] + lanes[1];
      const double avail = p.default_cycle_s - n_groups * p.lost_time_s;
      for (int k = 0; k < n_groups; ++k)
        green.push_back(avail * lanes[static_cast<u>(k)] / total + p.lost_time_s - p.amber_s);
    }
    const auto n_tl_links = static_cast<u>(c1 - c0);
    for (int k = 0; k < n_groups; ++k) {
      std::string gs(n_tl_links, 'r'), ys(n_tl_links, 'r');
      for (auto c = c0; c < c1; ++c) {
        if (conn_group[static_cast<u>(c)] != k) continue;
        bool yielding = false;
        for (const auto& [a, b] : yields) yielding |= a == c && b >= c0;
        gs[static_cast<u>(c - c0)] = yielding ? 'g' : 'G';
        ys[static_cast<u>(c - c0)] = 'y';
      }
      prog.durations.push_back(
          static_cast<SimTime>(std::llround(std::max(1.0, green[static_cast<u>(k)]) * 1000)));
      prog.states.push_back(gs);
      prog.durations.push_back(static_cast<SimTime>(std::llround(p.amber_s * 1000)));
      prog.states.push_back(ys);
    }
    if (n_groups == 1) {
      prog.durations.push_back(static_cast<SimTime>(std::llround(p.pedestrian_red_s * 1000)));
      prog.states.push_back(std::string(n_tl_links, 'r'));
    }
    programs.push_back(std::move(prog));
    out.tl_node.push_back(nd);
    std::vector<std::int32_t> cs;
    for (auto c = c0; c < c1; ++c) cs.push_back(c);
    tl_conns.push_back(std::move(cs));
  }

  // ---- compile connections (sorted by from-lane), passages, yields, signals ----
  std::vector<std::int32_t> order(conns.size());
  for (u k = 0; k < order.size(); ++k) order[k] = static_cast<std::int32_t>(k);
  std::stable_sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) {
    return conns[static_cast<u>(a)].from < conns[static_cast<u>(b)].from;
  });
  std::vector<std::int32_t> rank(conns.size());
  for (u k = 0; k < order.size(); ++k)
    rank[static_cast<u>(order[k])] = static_cast<std::int32_t>(k);
  std::vector<std::int32_t> conn_tl(conns.size(), -1), conn_tl_link(conns.size(), -1);
  for (u t = 0; t < tl_conns.size(); ++t)
    for (u k = 0; k < tl_conns[t].size(); ++k) {
      conn_tl[static_cast<u>(tl_conns[t][k])] = static_cast<std::int32_t>(t);
      conn_tl_link[static_cast<u>(tl_conns[t][k])] = static_cast<std::int32_t>(k);
    }
  std::vector<std::vector<std::int32_t>> foes(conns.size());
  for (const auto& [a, b] : yields)
    foes[static_cast<u>(rank[static_cast<u>(a)])].push_back(rank[static_cast<u>(b)]);
  net.conn_yield_begin.push_back(0);
  for (std::int32_t k : order) {
    const Conn& c = conns[static_cast<u>(k)];
    const std::int32_t via = net.n_lanes();
    net.lane_length.push_back(c.length);
    net.lane_speed.push_back(c.speed);
    net.lane_edge.push_back(-1);
    net.lane_index.push_back(0);
    net.lane_allow.push_back(k_class_all);
    net.conn_from_lane.push_back(c.from);
    net.conn_to_lane.push_back(c.to);
    net.conn_via_lane.push_back(via);
    net.conn_tl.push_back(conn_tl[static_cast<u>(k)]);
    net.conn_tl_link.push_back(conn_tl_link[static_cast<u>(k)]);
    auto& f = foes[static_cast<u>(rank[static_cast<u>(k)])];
    std::sort(f.begin(), f.end());
    net.conn_rule.push_back(f.empty() ? LinkRule::major : LinkRule::minor);
    net.conn_yield.insert(net.conn_yield.end(), f.begin(), f.end());
    net.conn_yield_begin.push_back(static_cast<std::int32_t>(net.conn_yield.size()));
  }
  net.lane_conn_begin.assign(static_cast<u>(net.n_lanes()) + 1, 0);
  for (std::int32_t from : net.conn_from_lane) ++net.lane_conn_begin[static_cast<u>(from) + 1];
  for (u l = 0; l < static_cast<u>(net.n_lanes()); ++l)
    net.lane_conn_begin[l + 1] += net.lane_conn_begin[l];

  net.tl_phase_begin.push_back(0);
  for (u t = 0; t < programs.size(); ++t) {
    const TlsProgram& prog = programs[t];
    net.tl_id.push_back("n" + std::to_string(r.node_osm_id[static_cast<u>(out.tl_node[t])]));
    net.tl_offset.push_back(prog.offset);
    net.tl_links.push_back(static_cast<std::int32_t>(prog.states.front().size()));
    SimTime cycle = 0;
    for (u k = 0; k < prog.durations.size(); ++k) {
      net.phase_duration.push_back(prog.durations[k]);
      net.phase_state_begin.push_back(static_cast<std::int32_t>(net.phase_state.size()));
      net.phase_state += prog.states[k];
      cycle += prog.durations[k];
    }
    net.tl_cycle.push_back(cycle);
    net.tl_phase_begin.push_back(static_cast<std::int32_t>(net.phase_duration.size()));
  }
  finalize_network(net);
  add_passage_shapes(net, g);
  return out;
}

}  // namespace citytwin::traffic
