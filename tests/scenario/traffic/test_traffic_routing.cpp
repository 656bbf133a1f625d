// Routing, closures, dark signals and detectors on SUMO's grid20 (1,520 edges, 18,000 trips).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>

#include "citytwin/parallel.hpp"
#include "citytwin/traffic.hpp"
#include "traffic/vclass.hpp"

using namespace citytwin;
using namespace citytwin::traffic;

namespace {
const std::string k_dir = std::string(CITYTWIN_SOURCE_DIR) + "/tests/data/traffic/grid20/";

const Network& grid_net() {
  static const Network n = [] {
    auto r = read_sumo_net(k_dir + "grid20.net.xml.gz");
    REQUIRE(r);
    return std::move(*r);
  }();
  return n;
}
const Demand& grid_demand(const std::string& file) {
  static std::map<std::string, Demand> cache;
  auto it = cache.find(file);
  if (it == cache.end()) {
    Demand d;
    REQUIRE(read_sumo_routes(k_dir + file, grid_net(), d));
    finish_demand(d);
    it = cache.emplace(file, std::move(d)).first;
  }
  return it->second;
}
}  // namespace

TEST_CASE("grid20: A* with landmarks equals Dijkstra and is never worse than duarouter") {
  const Network& n = grid_net();
  const Demand& trips = grid_demand("trips_p020.trips.xml.gz");
  const Demand& routes = grid_demand("routes_p020.rou.xml.gz");
  REQUIRE(trips.n_vehicles() == 18000);
  REQUIRE(routes.n_vehicles() == 18000);
  RouterScratch sc;
  std::vector<std::int32_t> astar, dijkstra;
  std::int64_t settled_astar = 0, settled_dijkstra = 0, same_as_sumo = 0;
  const std::int32_t sample = 3000;
  for (std::int32_t v = 0; v < sample; ++v) {
    const auto b = static_cast<std::size_t>(trips.veh_route_begin[static_cast<std::size_t>(v)]);
    const std::int32_t from = trips.route_edges[b], to = trips.route_edges[b + 1];
    REQUIRE(routes.veh_id[static_cast<std::size_t>(v)] ==
            trips.veh_id[static_cast<std::size_t>(v)]);
    REQUIRE(shortest_path(n, {}, {}, from, to, k_class_passenger, astar, sc));
    settled_astar += sc.settled;
    REQUIRE(shortest_path(n, {}, {}, from, to, k_class_passenger, dijkstra, sc, 0.0));
    settled_dijkstra += sc.settled;
    const double ta = path_time(n, {}, astar), td = path_time(n, {}, dijkstra);
    REQUIRE(ta == Approx(td).epsilon(1e-9));
    // SUMO's route for the same trip, timed with our weights: ours is never longer.
    const auto rb = routes.veh_route_begin[static_cast<std::size_t>(v)];
    const auto re = routes.veh_route_begin[static_cast<std::size_t>(v) + 1];
    const std::vector<std::int32_t> sumo(routes.route_edges.begin() + rb,
                                         routes.route_edges.begin() + re);
    REQUIRE(sumo.front() == from);
    REQUIRE(sumo.back() == to);
    REQUIRE(ta <= path_time(n, {}, sumo) * (1 + 1e-9));
    same_as_sumo += astar == sumo ? 1 : 0;
  }
  // Every trip is between fringe edges: equal-cost alternatives abound on a grid, so the exact
  // path often differs from duarouter's, never its cost. Landmarks settle far fewer edges.
  CHECK(same_as_sumo > 0);
  CHECK(settled_astar * 3 < settled_dijkstra);
  WARN("A*/ALT settled " << settled_astar / sample << " edges per query, Dijkstra "
                         << settled_dijkstra / sample << "; same path as duarouter for "
                         << same_as_sumo << " of " << sample);
}

TEST_CASE("grid20: trips routed in the simulation match the duarouter routes run") {
  const Network& n = grid_net();
  const Demand& trips = grid_demand("trips_p020.trips.xml.gz");
  const Demand& routes = grid_demand("routes_p020.rou.xml.gz");
  Params p;
  TaskPool pool(2);
  TrafficState a = make_state(n, trips, p), b = make_state(n, routes, p);
  for (int k = 0; k < 1200; ++k) {
    step(n, trips, p, a, pool);
    step(n, routes, p, b, pool);
  }
  REQUIRE(a.inserted == a.n_running + a.arrived + a.removed);
  CHECK(a.unroutable == 0);
  CHECK(a.rerouted == 0);
  // Same demand and the same (free-flow shortest) route costs: within 3 % on arrivals and on
  // the mean trip duration of the vehicles that arrived by 1,200 s.
  const auto mean_duration = [&](const TrafficState& s) {
    double sum = 0;
    std::int64_t k = 0;
    for (std::size_t v = 0; v < s.veh_status.size(); ++v)
      if (s.veh_status[v] == VehStatus::arrived) {
        sum += to_seconds(s.veh_arrive_time[v] - s.veh_insert_time[v]);
        ++k;
      }
    return sum / static_cast<double>(std::max<std::int64_t>(k, 1));
  };
  REQUIRE(b.arrived > 3000);
  CHECK(static_cast<double>(a.arrived) == Approx(static_cast<double>(b.arrived)).epsilon(0.03));
  CHECK(mean_duration(a) == Approx(mean_duration(b)).epsilon(0.03));
}

TEST_CASE("grid20: closure with periodic re-routing, 1 vs 2 threads, conservation") {
  const Network& n = grid_net();
  const Demand& d = grid_demand("routes_p020.rou.xml.gz");
  Params p;
  p.reroute_period = 120000;
  p.reroute_factor = 1.5;
  TaskPool one(1), two(2);
  TrafficState a = make_state(n, d, p), b = make_state(n, d, p);
  for (int k = 0; k < 600; ++k) {
    step(n, d, p, a, one);
    step(n, d, p, b, two);
  }
  // Close the edge that most remaining routes use, right now.
  std::vector<std::int64_t> use(static_cast<std::size_t>(n.n_edges()), 0);
  for (std::int32_t i = 0; i < a.n_running; ++i) {
    const std::int32_t v = a.running[static_cast<std::size_t>(i)];
    const auto vv = static_cast<std::size_t>(v);
    for (std::int32_t k = a.veh_route_begin[vv] + a.veh_route_pos[vv] + 1; k < a.veh_route_end[vv];
         ++k)
      ++use[static_cast<std::size_t>(a.route_edges[static_cast<std::size_t>(k)])];
  }
  const auto closed =
      static_cast<std::int32_t>(std::max_element(use.begin(), use.end()) - use.begin());
  // Who may still be on it: vehicles already on it or inside a junction towards it.
  std::vector<std::uint8_t> may_be_on(d.veh_id.size(), 0);
  std::int64_t through = 0;
  for (std::int32_t i = 0; i < a.n_running; ++i) {
    const std::int32_t v = a.running[static_cast<std::size_t>(i)];
    const auto vv = static_cast<std::size_t>(v);
    const std::int32_t edge =
        a.route_edges[static_cast<std::size_t>(a.veh_route_begin[vv] + a.veh_route_pos[vv])];
    if (edge == closed)
      may_be_on[vv] = 1;
    else
      for (std::int32_t k = a.veh_route_begin[vv] + a.veh_route_pos[vv] + 1;
           k < a.veh_route_end[vv]; ++k)
        through += a.route_edges[static_cast<std::size_t>(k)] == closed ? 1 : 0;
  }
  REQUIRE(through >= 10);
  const std::int32_t list[] = {closed};
  close_edges(n, a, list);
  close_edges(n, b, list);
  std::vector<std::uint8_t> was_rerouted(d.veh_id.size(), 0);
  std::int64_t entered_closed = 0, routes_through = 0;
  for (int k = 0; k < 900; ++k) {
    step(n, d, p, a, one);
    step(n, d, p, b, two);
    if (a.inserted != a.n_running + a.arrived + a.removed) FAIL("conservation");
    for (std::int32_t i = 0; i < a.n_running; ++i) {
      const std::int32_t v = a.running[static_cast<std::size_t>(i)];
      const auto vv = static_cast<std::size_t>(v);
      const std::int32_t e = n.lane_edge[static_cast<std::size_t>(a.veh_lane[vv])];
      if (e == closed && !may_be_on[vv]) ++entered_closed;
      // Remaining routes never use the closed edge.
      for (std::int32_t q = a.veh_route_begin[vv] + a.veh_route_pos[vv] + 1;
           q < a.veh_route_end[vv]; ++q)
        routes_through += a.route_edges[static_cast<std::size_t>(q)] == closed ? 1 : 0;
    }
    if (k % 150 == 149) REQUIRE(state_hash(a) == state_hash(b));
  }
  CHECK(entered_closed == 0);
  CHECK(routes_through == 0);
  CHECK(a.rerouted >= through);  // closure re-routes + periodic ones
  CHECK(a.teleports == b.teleports);
  CHECK(state_hash(a) == state_hash(b));
  WARN("closed edge " << n.edge_id[static_cast<std::size_t>(closed)] << ": " << through
                      << " running vehicles routed through it; re-routes " << a.rerouted
                      << ", stranded " << a.stranded << ", arrived " << a.arrived << ", teleports "
                      << a.teleports);
}

TEST_CASE("grid20: detector counts equal the vehicles that passed (every lane, 20 m)") {
  const Network& n = grid_net();
  const Demand& d = grid_demand("routes_p020.rou.xml.gz");
  Params p;
  TaskPool pool(2);
  TrafficState s = make_state(n, d, p);
  std::vector<DetectorSpec> dets;
  for (std::int32_t l = 0; l < n.n_road_lanes; ++l)
    if (n.lane_length[static_cast<std::size_t>(l)] > 25.0f)
      dets.push_back({std::string("d").append(std::to_string(l)), l, 20.0f});
  REQUIRE(set_detectors(n, s, dets));
  for (int k = 0; k < 900; ++k) step(n, d, p, s, pool);
  // A teleport skips detectors: leave out the edges on the routes of teleported vehicles.
  std::vector<std::uint8_t> skip(static_cast<std::size_t>(n.n_edges()), 0);
  for (std::size_t v = 0; v < s.veh_teleports.size(); ++v)
    if (s.veh_teleports[v] > 0)
      for (std::int32_t k = s.veh_route_begin[v]; k < s.veh_route_end[v]; ++k)
        skip[static_cast<std::size_t>(s.route_edges[static_cast<std::size_t>(k)])] = 1;
  const DetectorInterval iv = take_detector_interval(s, 0, 900);
  // Per edge: vehicles that entered it (insertions included) minus those still before 20 m.
  std::vector<std::int64_t> counted(static_cast<std::size_t>(n.n_edges()), 0), expect(counted);
  std::vector<std::uint8_t> has(static_cast<std::size_t>(n.n_edges()), 0);
  for (std::size_t k = 0; k < dets.size(); ++k) {
    const std::int32_t e = n.lane_edge[static_cast<std::size_t>(dets[k].lane)];
    counted[static_cast<std::size_t>(e)] += iv.count[k];
    has[static_cast<std::size_t>(e)] = 1;
    if (!(iv.occupancy[k] >= 0.0f && iv.occupancy[k] <= 1.0f)) FAIL("occupancy out of [0, 1]");
  }
  for (std::int32_t e = 0; e < n.n_edges(); ++e)
    expect[static_cast<std::size_t>(e)] = s.edge_entered[static_cast<std::size_t>(e)];
  for (std::int32_t i = 0; i < s.n_running; ++i) {
    const std::int32_t v = s.running[static_cast<std::size_t>(i)];
    const std::int32_t e =
        n.lane_edge[static_cast<std::size_t>(s.veh_lane[static_cast<std::size_t>(v)])];
    if (e >= 0 && s.veh_pos[static_cast<std::size_t>(v)] < 20.0f)
      --expect[static_cast<std::size_t>(e)];
  }
  std::int64_t edges = 0, total = 0, wrong = 0;
  for (std::int32_t e = 0; e < n.n_edges(); ++e)
    if (has[static_cast<std::size_t>(e)] && !skip[static_cast<std::size_t>(e)]) {
      ++edges;
      total += counted[static_cast<std::size_t>(e)];
      wrong += counted[static_cast<std::size_t>(e)] != expect[static_cast<std::size_t>(e)] ? 1 : 0;
    }
  CHECK(wrong == 0);
  CHECK(edges > n.n_edges() * 9 / 10);
  CHECK(total > 20000);
}

TEST_CASE("grid20: dark signals are all-way stops, one approach at a time") {
  const Network& n = grid_net();
  const Demand& d = grid_demand("routes_p020.rou.xml.gz");
  Params p;
  TaskPool pool(2);
  TrafficState s = make_state(n, d, p);
  for (std::int32_t t = 0; t < static_cast<std::int32_t>(n.tl_id.size()); ++t)
    set_signal_dark(n, s, t, true);
  for (int k = 0; k < 600; ++k) {
    step(n, d, p, s, pool);
    if (s.inserted != s.n_running + s.arrived + s.removed) FAIL("conservation");
    // Vehicles inside a junction all come from one approach.
    for (std::size_t t = 0; t < n.tl_id.size(); ++t) {
      std::int32_t approach = -1;
      for (std::int32_t j = n.tl_conn_begin[t]; j < n.tl_conn_begin[t + 1]; ++j) {
        const std::int32_t c = n.tl_conn[static_cast<std::size_t>(j)];
        const std::int32_t via = n.conn_via_lane[static_cast<std::size_t>(c)];
        if (s.lane_veh_begin[static_cast<std::size_t>(via) + 1] ==
            s.lane_veh_begin[static_cast<std::size_t>(via)])
          continue;
        const std::int32_t from =
            n.lane_edge[static_cast<std::size_t>(n.conn_from_lane[static_cast<std::size_t>(c)])];
        if (approach < 0) approach = from;
        if (approach != from) FAIL("two approaches inside a dark junction");
      }
    }
  }
  CHECK(s.arrived > 500);  // traffic still flows (one approach at a time)
}

TEST_CASE("grid20: every teleport is in the log, consistent with the counters and the routes") {
  // A short time-to-teleport turns waits at red lights into teleports: many log entries.
  const Network& n = grid_net();
  const Demand& d = grid_demand("routes_p010.rou.xml.gz");
  Params p;
  p.teleport_after = 25000;
  TaskPool pool(2);
  TrafficState s = make_state(n, d, p);
  for (int k = 0; k < 600; ++k) step(n, d, p, s, pool);
  REQUIRE(s.teleports >= 50);
  REQUIRE(s.teleport_log.size() == static_cast<std::size_t>(s.teleports));
  std::vector<std::int32_t> per_vehicle(d.veh_id.size(), 0);
  std::int64_t removed = 0, passages = 0;
  SimTime last = 0;
  for (const TeleportEvent& e : s.teleport_log) {
    ++per_vehicle[static_cast<std::size_t>(e.vehicle)];
    CHECK(e.time >= last);
    CHECK(e.time <= s.time);
    CHECK(e.time % p.dt == 0);
    last = e.time;
    const std::string stuck = describe_lane(n, e.from_lane);
    if (n.lane_edge[static_cast<std::size_t>(e.from_lane)] < 0) {
      ++passages;
      CHECK(stuck.find(" -> ") != std::string::npos);
    } else {
      const auto l = static_cast<std::size_t>(e.from_lane);
      CHECK(stuck == n.edge_id[static_cast<std::size_t>(n.lane_edge[l])] + "_" +
                         std::to_string(n.lane_index[l]));
    }
    if (e.to_lane < 0) {
      ++removed;
      continue;
    }
    // Moved ahead onto a road lane of an edge of its own route (no re-routing in this run).
    const auto v = static_cast<std::size_t>(e.vehicle);
    const std::int32_t edge = n.lane_edge[static_cast<std::size_t>(e.to_lane)];
    REQUIRE(edge >= 0);
    bool on_route = false;
    for (std::int32_t k = s.veh_route_begin[v]; k < s.veh_route_end[v]; ++k)
      on_route |= s.route_edges[static_cast<std::size_t>(k)] == edge;
    CHECK(on_route);
  }
  CHECK(removed == s.removed - s.stranded);
  // A junction passage is named by the edges it joins.
  const std::int32_t via = n.conn_via_lane[0];
  REQUIRE(n.lane_edge[static_cast<std::size_t>(via)] < 0);
  CHECK(describe_lane(n, via) ==
        n.edge_id[static_cast<std::size_t>(
            n.lane_edge[static_cast<std::size_t>(n.conn_from_lane[0])])] +
            " -> " +
            n.edge_id[static_cast<std::size_t>(
                n.lane_edge[static_cast<std::size_t>(n.conn_to_lane[0])])]);
  for (std::size_t v = 0; v < per_vehicle.size(); ++v)
    if (per_vehicle[v] != s.veh_teleports[v]) FAIL("vehicle " << d.veh_id[v] << " log count");
  // The CSV has a line per teleport, in log order, naming the vehicle and both lanes.
  const std::string csv = "test_teleports.csv";
  REQUIRE(write_teleports_csv(csv, teleport_table(n, d, s)));
  std::ifstream in(csv);
  std::string line;
  std::getline(in, line);
  CHECK(line == "time,vehicle,stuck_on,moved_to,outcome");
  std::int64_t rows = 0;
  while (std::getline(in, line)) {
    const TeleportEvent& e = s.teleport_log[static_cast<std::size_t>(rows++)];
    char time[32];
    std::snprintf(time, sizeof time, "%.1f", to_seconds(e.time));
    const std::string expect =
        std::string(time) + "," + d.veh_id[static_cast<std::size_t>(e.vehicle)] + "," +
        describe_lane(n, e.from_lane) + "," +
        (e.to_lane >= 0 ? describe_lane(n, e.to_lane) + ",moved" : ",removed");
    if (line != expect) FAIL("row " << rows << ": '" << line << "', expected '" << expect << "'");
  }
  CHECK(rows == s.teleports);
  std::remove(csv.c_str());
  WARN("teleports " << s.teleports << " (" << passages << " from junction passages, " << removed
                    << " removed)");
}
