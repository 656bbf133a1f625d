// The lane network compiled from OSM roads: Webster plans by hand, right of way and turn lanes
// on hand-built junctions, Monaco's network against OSM counts (osmium), and the strongly
// connected part the city's trips use against a brute-force search.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "citytwin/city.hpp"
#include "traffic/osm_network.hpp"
#include "traffic/traffic_domain_impl.hpp"

using namespace citytwin;
using namespace citytwin::traffic;

namespace {

/// Monaco's shipped OSM extract imported within a box (lon/lat).
std::shared_ptr<const CityModel> monaco_city(std::array<double, 4> bbox) {
  CitySpec spec;
  spec.osm = std::string(CITYTWIN_SOURCE_DIR) + "/assets/monaco/monaco-2025-02.osm.pbf";
  spec.bbox = bbox;
  auto city = import_city(spec);
  REQUIRE(city);
  return *city;
}

// A junction at (0, 0) with arms of 100 m to the east, north, west and south (in this order),
// each a two-way road of `cls[i]` with one lane per direction (or `lanes[i]` towards the
// centre); node 0 is the centre.
RoadNetwork crossing(std::array<RoadClass, 4> cls, bool signal = false,
                     std::array<int, 4> lanes = {1, 1, 1, 1},
                     std::array<std::string, 4> turn_lanes = {}) {
  RoadNetwork r;
  const double ex[4] = {100, 0, -100, 0}, ey[4] = {0, 100, 0, -100};
  r.node_osm_id = {1, 2, 3, 4, 5};
  r.node_x = {0, 100, 0, -100, 0};
  r.node_y = {0, 0, 100, 0, -100};
  r.node_z.assign(5, 0.0f);
  r.node_signal = {static_cast<std::uint8_t>(signal), 0, 0, 0, 0};
  r.link_point_offsets.push_back(0);
  auto add = [&](int from, int to, double x0, double y0, double x1, double y1, int arm, int n,
                 std::string tl) {
    r.link_from.push_back(from);
    r.link_to.push_back(to);
    r.link_osm_way.push_back(100 + arm);
    r.link_class.push_back(cls[static_cast<std::size_t>(arm)]);
    r.link_lanes.push_back(static_cast<std::uint8_t>(n));
    r.link_speed_mps.push_back(13.9f);
    r.link_length_m.push_back(100.0f);
    r.link_oneway.push_back(0);
    r.link_name.emplace_back();
    r.link_turn_lanes.push_back(std::move(tl));
    r.point_x.insert(r.point_x.end(), {x0, x1});
    r.point_y.insert(r.point_y.end(), {y0, y1});
    r.point_z.insert(r.point_z.end(), {0.0f, 0.0f});
    r.link_point_offsets.push_back(static_cast<std::int32_t>(r.point_x.size()));
  };
  for (int a = 0; a < 4; ++a) {
    const auto k = static_cast<std::size_t>(a);
    add(a + 1, 0, ex[k], ey[k], 0, 0, a, lanes[k], turn_lanes[k]);  // link 2a: inbound
    add(0, a + 1, 0, 0, ex[k], ey[k], a, 1, "");                    // link 2a+1: outbound
  }
  r.node_out_offsets.assign(6, 0);
  for (std::int32_t f : r.link_from) ++r.node_out_offsets[static_cast<std::size_t>(f) + 1];
  for (std::size_t i = 0; i < 5; ++i) r.node_out_offsets[i + 1] += r.node_out_offsets[i];
  r.node_out_links.resize(r.link_from.size());
  std::vector<std::int32_t> fill(r.node_out_offsets.begin(), r.node_out_offsets.end() - 1);
  for (std::int32_t l = 0; l < r.link_count(); ++l)
    r.node_out_links[static_cast<std::size_t>(fill[static_cast<std::size_t>(r.link_from[l])]++)] =
        l;
  return r;
}

// The connection from the inbound lane `lane` of arm `from` to the outbound link of arm `to`.
std::int32_t conn(const Network& n, int from, int to, int lane = 0) {
  for (std::int32_t c = 0; c < n.n_conns(); ++c)
    if (n.conn_from_lane[c] == n.edge_lane_begin[2 * from] + lane &&
        n.lane_edge[n.conn_to_lane[c]] == 2 * to + 1)
      return c;
  return -1;
}

bool yields(const Network& n, std::int32_t a, std::int32_t b) {
  for (std::int32_t k = n.conn_yield_begin[a]; k < n.conn_yield_begin[a + 1]; ++k)
    if (n.conn_yield[k] == b) return true;
  return false;
}

constexpr int E = 0, N = 1, W = 2, S = 3;

}  // namespace

TEST_CASE("Webster's cycle and greens by hand", "[traffic][osm][webster]") {
  CityNetworkParams p;  // lost time 4 s per phase
  // Two phases, y = 0.3 and 0.2: L = 8 s, Y = 0.5, C0 = (1.5 * 8 + 5) / 0.5 = 34 s,
  // greens (34 - 8) * 0.3 / 0.5 = 15.6 s and 10.4 s.
  WebsterPlan w = webster_plan({0.3, 0.2}, p);
  CHECK(w.total_lost_s == Approx(8.0));
  CHECK(w.cycle_s == Approx(34.0).epsilon(1e-12));
  CHECK(w.green_s[0] == Approx(15.6).epsilon(1e-12));
  CHECK(w.green_s[1] == Approx(10.4).epsilon(1e-12));
  // y = 0.45 and 0.35: C0 = 17 / 0.2 = 85 s; greens 77 * 0.45 / 0.8 = 43.3125, 33.6875 s.
  w = webster_plan({0.45, 0.35}, p);
  CHECK(w.cycle_s == Approx(85.0).epsilon(1e-12));
  CHECK(w.green_s[0] == Approx(43.3125).epsilon(1e-12));
  // Near saturation the cycle is capped at max_cycle (120 s); light flows at min_cycle (30 s).
  CHECK(webster_plan({0.5, 0.45}, p).cycle_s == Approx(120.0));
  CHECK(webster_plan({0.05, 0.05}, p).cycle_s == Approx(30.0));
}

TEST_CASE("a signalised crossing gets Webster's plan from the approach flows",
          "[traffic][osm][webster]") {
  const RoadNetwork r = crossing(
      {RoadClass::primary, RoadClass::secondary, RoadClass::primary, RoadClass::secondary}, true);
  // 900 veh/h on each east-west approach, 450 on the north-south ones, 1800 veh/h/lane
  // saturation: y = 0.5 and 0.25, C0 = 17 / 0.25 = 68 s, effective greens 40 and 20 s,
  // shown greens g + lost (4) - amber (3) = 41 and 21 s, phases 41 + 3 + 21 + 3 = 68 s.
  std::vector<double> flow(static_cast<std::size_t>(r.link_count()), 0.0);
  flow[2 * E] = flow[2 * W] = 900;
  flow[2 * N] = flow[2 * S] = 450;
  const CityNetwork cn = build_city_network(r, flow);
  const Network& n = cn.net;
  REQUIRE(n.tl_id.size() == 1);
  CHECK(n.tl_id[0] == "n1");
  REQUIRE(n.tl_phase_begin[1] == 4);
  CHECK(n.phase_duration[0] == 41000);
  CHECK(n.phase_duration[1] == 3000);
  CHECK(n.phase_duration[2] == 21000);
  CHECK(n.phase_duration[3] == 3000);
  CHECK(n.tl_cycle[0] == 68000);
  // East-west straight is green in phase 0 and red in phase 2; north-south the opposite; the
  // east-west left turn (crossing the opposite straight) is a yielding green 'g'.
  auto state = [&](int phase, std::int32_t c) {
    return n.phase_state[static_cast<std::size_t>(n.phase_state_begin[phase] + n.conn_tl_link[c])];
  };
  const std::int32_t ew = conn(n, E, W), ns = conn(n, N, S), e_left = conn(n, E, S);
  REQUIRE(ew >= 0);
  REQUIRE(ns >= 0);
  REQUIRE(e_left >= 0);
  CHECK(state(0, ew) == 'G');
  CHECK(state(2, ew) == 'r');
  CHECK(state(0, ns) == 'r');
  CHECK(state(2, ns) == 'G');
  CHECK(state(1, ew) == 'y');
  CHECK(state(0, e_left) == 'g');
  CHECK(yields(n, e_left, conn(n, W, E)));
}

TEST_CASE("priority by road class, and right before left among equals",
          "[traffic][osm][priority]") {
  SECTION("minor road yields to the major road") {
    const CityNetwork cn = build_city_network(crossing(
        {RoadClass::primary, RoadClass::residential, RoadClass::primary, RoadClass::residential}));
    const Network& n = cn.net;
    CHECK(n.tl_id.empty());
    const std::int32_t ew = conn(n, E, W), we = conn(n, W, E), ns = conn(n, N, S);
    CHECK(n.conn_rule[ew] == LinkRule::major);
    CHECK(n.conn_rule[we] == LinkRule::major);
    CHECK(n.conn_rule[ns] == LinkRule::minor);
    CHECK(yields(n, ns, ew));
    CHECK(yields(n, ns, we));
    CHECK(!yields(n, ew, ns));
    // Right turns from the major road cross nothing; the major left turn yields to the
    // opposite straight.
    CHECK(n.conn_rule[conn(n, E, N)] == LinkRule::major);
    CHECK(yields(n, conn(n, E, S), we));
  }
  SECTION("all equal: the vehicle from the right goes first") {
    const CityNetwork cn =
        build_city_network(crossing({RoadClass::residential, RoadClass::residential,
                                     RoadClass::residential, RoadClass::residential}));
    const Network& n = cn.net;
    // A driver from the south heading north has the east arm on the right.
    const std::int32_t sn = conn(n, S, N), ew = conn(n, E, W);
    CHECK(yields(n, sn, ew));
    CHECK(!yields(n, ew, sn));
    // Opposite straights do not cross; never does a pair yield both ways.
    CHECK(!yields(n, sn, conn(n, N, S)));
    for (std::int32_t a = 0; a < n.n_conns(); ++a)
      for (std::int32_t b = 0; b < n.n_conns(); ++b)
        if (yields(n, a, b)) CHECK(!yields(n, b, a));
  }
}

TEST_CASE("lanes: turn:lanes when tagged, else right/left from the outer lanes",
          "[traffic][osm][lanes]") {
  SECTION("default") {
    const CityNetwork cn = build_city_network(
        crossing({RoadClass::primary, RoadClass::primary, RoadClass::primary, RoadClass::primary},
                 false, {3, 1, 1, 1}));
    const Network& n = cn.net;
    // East approach, lanes 0 (right) .. 2 (left): right turn (to the north... east arm heading
    // west turns right to the north) only from lane 0, left (south) only from lane 2.
    CHECK(conn(n, E, N, 0) >= 0);
    CHECK(conn(n, E, N, 1) < 0);
    CHECK(conn(n, E, S, 2) >= 0);
    CHECK(conn(n, E, S, 0) < 0);
    for (int lane = 0; lane < 3; ++lane) CHECK(conn(n, E, W, lane) >= 0);
    CHECK(cn.turn_lanes_used == 0);
  }
  SECTION("turn:lanes = left|through|right (listed left to right)") {
    const CityNetwork cn = build_city_network(
        crossing({RoadClass::primary, RoadClass::primary, RoadClass::primary, RoadClass::primary},
                 false, {3, 1, 1, 1}, {"left|through|right", "", "", ""}));
    const Network& n = cn.net;
    CHECK(cn.turn_lanes_used == 1);
    CHECK(conn(n, E, S, 2) >= 0);  // leftmost lane: left only
    CHECK(conn(n, E, W, 2) < 0);
    CHECK(conn(n, E, W, 1) >= 0);  // middle: through only
    CHECK(conn(n, E, N, 1) < 0);
    CHECK(conn(n, E, N, 0) >= 0);  // rightmost: right only
    CHECK(conn(n, E, W, 0) < 0);
  }
}

TEST_CASE("Monaco: the network against OSM counts; lanes reachable, connections consistent",
          "[traffic][osm][monaco]") {
  const auto city = monaco_city({7.405, 43.718, 7.445, 43.755});
  const RoadNetwork& r = city->roads;
  const CityNetwork cn = build_city_network(r);
  const Network& n = cn.net;

  REQUIRE(n.n_edges() == r.link_count());
  CHECK(n.n_road_lanes ==
        std::accumulate(r.link_lanes.begin(), r.link_lanes.end(), 0,
                        [](int a, std::uint8_t b) { return a + std::max<int>(1, b); }));
  // Reference (osmium 1.15): `osmium extract -b 7.405,43.718,7.445,43.755
  // --strategy=complete_ways`, `osmium tags-filter` on the 14 motor-road highway classes,
  // `osmium export -f geojsonseq`; segments inside the box, access/motor_vehicle not no/private,
  // two-way ways counted twice: 113.34 km of directed road (haversine). Link lengths are in
  // UTM 32N (scale 0.9998 here): within 1 %.
  const double km = std::accumulate(n.edge_length.begin(), n.edge_length.end(), 0.0) / 1000.0;
  INFO("directed km " << km);
  CHECK(km == Approx(113.34).epsilon(0.01));
  // `osmium tags-filter n/highway=traffic_signals`: 19 nodes in the box. Every one on a road
  // of the graph becomes a signal.
  std::int32_t signal_nodes_on_roads = 0;
  for (std::int32_t k = 0; k < r.node_count(); ++k) signal_nodes_on_roads += r.node_signal[k];
  INFO("signals " << n.tl_id.size() << " of " << signal_nodes_on_roads << " signal nodes");
  CHECK(static_cast<std::int32_t>(n.tl_id.size()) == signal_nodes_on_roads);
  CHECK(n.tl_id.size() <= 19);
  CHECK(n.tl_id.size() >= 15);

  // Connections join the end node of their from-edge to the start node of their to-edge.
  for (std::int32_t c = 0; c < n.n_conns(); ++c) {
    const std::int32_t a = n.lane_edge[n.conn_from_lane[c]], b = n.lane_edge[n.conn_to_lane[c]];
    REQUIRE(a >= 0);
    REQUIRE(b >= 0);
    CHECK(r.link_to[a] == r.link_from[b]);
    CHECK(n.lane_edge[n.conn_via_lane[c]] == -1);
    if (n.conn_tl[c] >= 0) CHECK(n.conn_tl_link[c] < n.tl_links[n.conn_tl[c]]);
  }
  // Every lane of an edge that does not end at a dead end continues somewhere; every edge whose
  // start node has other incoming roads is entered by some connection.
  std::int32_t dead = 0;
  for (std::int32_t l = 0; l < n.n_road_lanes; ++l) {
    const std::int32_t e = n.lane_edge[l];
    const std::int32_t node = r.link_to[e];
    const bool has_out = r.node_out_offsets[node + 1] > r.node_out_offsets[node];
    if (has_out) CHECK(n.lane_conn_begin[l + 1] > n.lane_conn_begin[l]);
    dead += !has_out;
  }
  std::vector<int> has_in_road(static_cast<std::size_t>(r.node_count()), 0);
  for (std::int32_t l = 0; l < r.link_count(); ++l) has_in_road[r.link_to[l]] = 1;
  for (std::int32_t e = 0; e < n.n_edges(); ++e) {
    if (!has_in_road[r.link_from[e]]) continue;
    bool entered = false;
    for (std::int32_t l = n.edge_lane_begin[e]; l < n.edge_lane_begin[e + 1]; ++l)
      entered |= n.lane_in_begin[l + 1] > n.lane_in_begin[l];
    CHECK(entered);
  }
  // Signal plans: each cycle in [30, 120] s, every signalised connection green in some phase.
  for (std::size_t t = 0; t < n.tl_id.size(); ++t) {
    CHECK(n.tl_cycle[t] >= 30000);
    CHECK(n.tl_cycle[t] <= 120000);
  }
  for (std::int32_t c = 0; c < n.n_conns(); ++c) {
    const std::int32_t t = n.conn_tl[c];
    if (t < 0) continue;
    bool green = false;
    for (std::int32_t ph = n.tl_phase_begin[t]; ph < n.tl_phase_begin[t + 1]; ++ph) {
      const char s =
          n.phase_state[static_cast<std::size_t>(n.phase_state_begin[ph] + n.conn_tl_link[c])];
      green |= s == 'G' || s == 'g';
    }
    CHECK(green);
  }
  // Lane shapes cover every lane, passages included.
  CHECK(cn.geom.lane_point_begin.size() == static_cast<std::size_t>(n.n_lanes()) + 1);
  INFO("dead-end lanes " << dead << ", turn:lanes used " << cn.turn_lanes_used << ", ignored "
                         << cn.turn_lanes_ignored);
  CHECK(cn.turn_lanes_used > 0);
}

TEST_CASE("the trips' network is the largest strongly connected component, by brute force",
          "[traffic][osm][scc]") {
  // Monaco cut by a box through its main roads, so the network falls into many components.
  const Network n = build_city_network(monaco_city({7.42, 43.73, 7.43, 43.74})->roads).net;
  const auto ne = static_cast<std::size_t>(n.n_edges());
  std::vector<std::vector<std::int32_t>> succ(ne), pred(ne);
  for (std::int32_t c = 0; c < n.n_conns(); ++c) {
    const std::int32_t a = n.lane_edge[static_cast<std::size_t>(n.conn_from_lane[c])],
                       b = n.lane_edge[static_cast<std::size_t>(n.conn_to_lane[c])];
    succ[static_cast<std::size_t>(a)].push_back(b);
    pred[static_cast<std::size_t>(b)].push_back(a);
  }
  auto reach = [&](std::int32_t e0, const std::vector<std::vector<std::int32_t>>& adj) {
    std::vector<std::uint8_t> seen(ne, 0);
    std::vector<std::int32_t> stack{e0};
    seen[static_cast<std::size_t>(e0)] = 1;
    while (!stack.empty()) {
      const std::int32_t e = stack.back();
      stack.pop_back();
      for (std::int32_t f : adj[static_cast<std::size_t>(e)])
        if (!seen[static_cast<std::size_t>(f)])
          seen[static_cast<std::size_t>(f)] = 1, stack.push_back(f);
    }
    return seen;
  };
  // Each edge's component: the edges it reaches and that reach it. The largest, first found.
  std::vector<std::uint8_t> best;
  std::size_t best_n = 0, components = 0;
  std::vector<std::uint8_t> done(ne, 0);
  for (std::size_t e = 0; e < ne; ++e) {
    if (done[e]) continue;
    std::vector<std::uint8_t> f = reach(static_cast<std::int32_t>(e), succ);
    const std::vector<std::uint8_t> b = reach(static_cast<std::int32_t>(e), pred);
    std::size_t size = 0;
    for (std::size_t k = 0; k < ne; ++k) size += (f[k] &= b[k]), done[k] |= f[k];
    ++components;
    if (size > best_n) best_n = size, best = std::move(f);
  }
  REQUIRE(components > 10);  // the box did cut the network up
  const std::vector<std::uint8_t> main = main_component(n);
  CHECK(std::count(main.begin(), main.end(), 1) == static_cast<std::ptrdiff_t>(best_n));
  CHECK(best_n < ne);
  CHECK(main == best);
}
