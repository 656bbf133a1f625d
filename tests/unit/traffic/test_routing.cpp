// Routing, events, demand scaling and detectors on small hand-made networks whose answers are
// computed by hand.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <set>

#include "citytwin/parallel.hpp"
#include "citytwin/traffic.hpp"
#include "traffic/kernel.hpp"
#include "traffic/vclass.hpp"
#include "unit/traffic/fixtures.hpp"

using namespace citytwin;
using namespace citytwin::traffic;

namespace {

// Nodes 0..5; all speeds 10 m/s, passages 0.1 m (0.01 s each).
//   e0 s: 0->1 100 m   e1 a: 1->2 300 m (30 s)   e2 b: 2->4 300 m (30 s)
//   e3 c: 1->3 200 m (20 s)   e4 d: 3->4 500 m (50 s)   e5 e: 3->2 50 m (5 s)
//   e6 t: 4->5 100 m (10 s)
// From s to t: s,a,b,t = 70.03 s; s,c,d,t = 80.03 s; s,c,e,b,t = 65.04 s (best).
constexpr std::int32_t S = 0, A = 1, B = 2, C = 3, D = 4, E = 5, T = 6;
Network diamond(std::uint8_t e_allow = 15) {
  return test::make_graph({{0, 1, 100, 10},
                           {1, 2, 300, 10},
                           {2, 4, 300, 10},
                           {1, 3, 200, 10},
                           {3, 4, 500, 10},
                           {3, 2, 50, 10, e_allow},
                           {4, 5, 100, 10}});
}

std::vector<std::int32_t> route_of(const TrafficState& s, std::int32_t v) {
  return {s.route_edges.begin() + s.veh_route_begin[static_cast<std::size_t>(v)],
          s.route_edges.begin() + s.veh_route_end[static_cast<std::size_t>(v)]};
}

VehicleType steady_type() {
  VehicleType t;
  t.speed_dev = 0.0f;  // desired speed = speed limit exactly
  return t;
}

}  // namespace

TEST_CASE("router: shortest travel-time paths on a hand-made network") {
  const Network n = diamond();
  RouterScratch sc;
  std::vector<std::int32_t> path;
  REQUIRE(shortest_path(n, {}, {}, S, T, k_class_passenger, path, sc));
  CHECK(path == std::vector<std::int32_t>{S, C, E, B, T});
  CHECK(path_time(n, {}, path) == Approx(65.04).epsilon(1e-6));
  // Plain Dijkstra (no heuristic) agrees.
  std::vector<std::int32_t> dij;
  REQUIRE(shortest_path(n, {}, {}, S, T, k_class_passenger, dij, sc, 0.0));
  CHECK(dij == path);
  // Closing e: s,a,b,t (70.03 s).
  std::vector<std::uint8_t> closed(7, 0);
  closed[E] = 1;
  REQUIRE(shortest_path(n, {}, closed, S, T, k_class_passenger, path, sc));
  CHECK(path == std::vector<std::int32_t>{S, A, B, T});
  CHECK(path_time(n, {}, path) == Approx(70.03).epsilon(1e-6));
  // Given travel times: b congested to 60 s -> s,c,d,t (80.03 s).
  std::vector<float> w(n.edge_free_time.begin(), n.edge_free_time.end());
  w[B] = 60.0f;
  REQUIRE(shortest_path(n, w, {}, S, T, k_class_passenger, path, sc));
  CHECK(path == std::vector<std::int32_t>{S, C, D, T});
  CHECK(path_time(n, w, path) == Approx(80.03).epsilon(1e-6));
  // Unreachable: both edges into node 4 closed.
  closed.assign(7, 0);
  closed[B] = closed[D] = 1;
  CHECK_FALSE(shortest_path(n, {}, closed, S, T, k_class_passenger, path, sc));
  CHECK(path.empty());
  CHECK_FALSE(shortest_path(n, {}, {}, T, S, k_class_passenger, path, sc));  // one-way
  REQUIRE(shortest_path(n, {}, {}, C, C, k_class_passenger, path, sc));
  CHECK(path == std::vector<std::int32_t>{C});
}

TEST_CASE("router: vehicle classes follow the lanes they may use") {
  const Network n = diamond(k_class_bus);  // e is a bus lane
  RouterScratch sc;
  std::vector<std::int32_t> path;
  REQUIRE(shortest_path(n, {}, {}, S, T, k_class_passenger, path, sc));
  CHECK(path == std::vector<std::int32_t>{S, A, B, T});
  REQUIRE(shortest_path(n, {}, {}, S, T, k_class_bus, path, sc));
  CHECK(path == std::vector<std::int32_t>{S, C, E, B, T});
}

TEST_CASE("trips are routed at departure and arrive") {
  const Network n = diamond();
  const Demand d = test::make_trips(steady_type(), 6, S, T, 5.0);
  Params p;
  TaskPool pool(1);
  TrafficState s = make_state(n, d, p);
  for (int k = 0; k < 400 && s.arrived < 6; ++k) step(n, d, p, s, pool);
  CHECK(s.arrived == 6);
  CHECK(s.rerouted == 0);
  for (std::int32_t v = 0; v < 6; ++v)
    CHECK(route_of(s, v) == std::vector<std::int32_t>{S, C, E, B, T});
  CHECK(s.route_cache.hits == 5);  // one search, five cache hits (same OD, same epoch)
}

TEST_CASE("speed-limit event changes the routes of later trips") {
  const Network n = diamond();
  const Demand d = test::make_trips(steady_type(), 2, S, T, 5.0);
  Params p;
  TaskPool pool(1);
  TrafficState s = make_state(n, d, p);
  step(n, d, p, s, pool);          // trip 0 routed on the free network
  set_edge_speed(n, s, D, 50.0f);  // d: 500 m at 50 m/s = 10 s -> s,c,d,t = 40.03 s
  CHECK(s.heuristic_scale == Approx(0.2));
  for (int k = 0; k < 300 && s.arrived < 2; ++k) step(n, d, p, s, pool);
  CHECK(s.arrived == 2);
  CHECK(route_of(s, 0) == std::vector<std::int32_t>{S, C, E, B, T});
  CHECK(route_of(s, 1) == std::vector<std::int32_t>{S, C, D, T});
  CHECK(s.lane_speed[D] == 50.0f);
}

TEST_CASE("closure: nobody enters the closed edge, affected vehicles re-route and arrive") {
  const Network n = diamond();
  const std::int32_t nv = 30;
  const Demand d = test::make_trips(steady_type(), nv, S, T, 3.0);
  Params p;
  TaskPool pool(2);
  TrafficState s = make_state(n, d, p);
  for (int k = 0; k < 40; ++k) step(n, d, p, s, pool);
  // Vehicles whose remaining route uses e, and those already on e or in a junction towards it.
  std::set<std::int32_t> affected, allowed_on_e;
  for (std::int32_t v = 0; v < nv; ++v) {
    const auto vv = static_cast<std::size_t>(v);
    if (s.veh_status[vv] == VehStatus::arrived) continue;
    const auto r = route_of(s, v);
    const std::int32_t lane = s.veh_lane[vv];
    const bool running = s.veh_status[vv] == VehStatus::running;
    const std::int32_t pos = running ? s.veh_route_pos[vv] : -1;
    const bool on_or_into_e = running && r[static_cast<std::size_t>(pos)] == E &&
                              (n.lane_edge[static_cast<std::size_t>(lane)] == E ||
                               n.lane_edge[static_cast<std::size_t>(lane)] < 0);
    if (on_or_into_e) {
      allowed_on_e.insert(v);
      continue;
    }
    for (std::size_t k = static_cast<std::size_t>(pos + 1); k < r.size(); ++k)
      if (r[k] == E) affected.insert(v);
  }
  const std::int64_t pending_trips = d.n_vehicles() - s.inserted;
  REQUIRE(affected.size() >= 3);
  const std::int32_t close[] = {E};
  close_edges(n, s, close);
  for (int k = 0; k < 600 && s.arrived + s.removed + s.unroutable < nv; ++k) {
    step(n, d, p, s, pool);
    REQUIRE(s.inserted == s.n_running + s.arrived + s.removed);
    for (std::int32_t i = 0; i < s.n_running; ++i) {
      const std::int32_t v = s.running[static_cast<std::size_t>(i)];
      if (n.lane_edge[static_cast<std::size_t>(s.veh_lane[static_cast<std::size_t>(v)])] == E)
        REQUIRE(allowed_on_e.contains(v));
    }
  }
  CHECK(s.arrived == nv);
  CHECK(s.rerouted == static_cast<std::int64_t>(affected.size()));
  for (std::int32_t v : affected) {
    const auto r = route_of(s, v);
    CHECK(std::find(r.begin(), r.end(), E) == r.end());
    CHECK(r.back() == T);
  }
  // Trips that departed after the closure were routed around it from the start: s,a,b,t.
  for (std::int32_t v = nv - static_cast<std::int32_t>(pending_trips); v < nv; ++v)
    CHECK(route_of(s, v) == std::vector<std::int32_t>{S, A, B, T});
}

TEST_CASE("closure cutting the destination: stranded vehicles removed, waiting ones dropped") {
  const Network n = diamond();
  const std::int32_t nv = 20;
  const Demand d = test::make_trips(steady_type(), nv, S, T, 4.0);
  Params p;
  TaskPool pool(1);
  TrafficState s = make_state(n, d, p);
  for (int k = 0; k < 30; ++k) step(n, d, p, s, pool);
  std::int64_t before_node4 = 0;  // running vehicles not yet on b, d or t
  for (std::int32_t i = 0; i < s.n_running; ++i) {
    const std::int32_t v = s.running[static_cast<std::size_t>(i)];
    const auto vv = static_cast<std::size_t>(v);
    const std::int32_t edge =
        s.route_edges[static_cast<std::size_t>(s.veh_route_begin[vv] + s.veh_route_pos[vv])];
    if (edge != B && edge != D && edge != T) ++before_node4;
  }
  const std::int64_t waiting = nv - s.inserted;
  REQUIRE(before_node4 > 0);
  REQUIRE(waiting > 0);
  const std::int32_t close[] = {B, D};
  close_edges(n, s, close);
  for (int k = 0; k < 600 && (s.n_running > 0 || s.inserted + s.unroutable < nv); ++k) {
    step(n, d, p, s, pool);
    REQUIRE(s.inserted == s.n_running + s.arrived + s.removed);
  }
  CHECK(s.stranded == before_node4);
  CHECK(s.removed == before_node4);
  CHECK(s.unroutable == waiting);
  CHECK(s.arrived + s.removed + s.unroutable == nv);
  CHECK(summary(s, p).pending == 0);
}

TEST_CASE("scale_demand thins and duplicates departures deterministically") {
  Demand d = test::make_demand(VehicleType{}, 0, {0});
  for (std::int32_t v = 0; v < 10000; ++v) {
    d.veh_id.push_back(std::string("v").append(std::to_string(v)));
    d.veh_depart.push_back(v * 100);  // one every 0.1 s over 1000 s
    d.veh_type.push_back(0);
    d.route_edges.push_back(0);
    d.veh_route_begin.push_back(static_cast<std::int32_t>(d.route_edges.size()));
  }
  const auto in_window = [](const Demand& x) {
    std::int64_t k = 0;
    for (SimTime t : x.veh_depart) k += t >= 200000 && t < 600000 ? 1 : 0;
    return k;
  };
  Demand a = d, b = d, two = d, zero = d;
  scale_demand(a, 1.3, 200000, 600000, 7);
  scale_demand(b, 1.3, 200000, 600000, 7);
  scale_demand(two, 2.0, 200000, 600000, 7);
  scale_demand(zero, 0.0, 200000, 600000, 7);
  CHECK(a.veh_id == b.veh_id);
  // 4,000 in the window: 4,000 + Binomial(4000, 0.3), sd = 29; within 4 sd.
  CHECK(std::abs(static_cast<double>(in_window(a)) - 5200.0) < 4 * std::sqrt(4000 * 0.21));
  CHECK(in_window(two) == 8000);
  CHECK(in_window(zero) == 0);
  CHECK(a.n_vehicles() - in_window(a) == 6000);
  CHECK(std::is_sorted(a.veh_depart.begin(), a.veh_depart.end()));
}

TEST_CASE("detector: one vehicle at constant speed gives count 1, its speed and L/(vT)") {
  // 3,000 m road at 15 m/s; the vehicle reaches 15 m/s long before the loop at 2,000 m.
  const Network n = test::make_chain({3000.0f}, 15.0f, false);
  const VehicleType t = steady_type();
  const Demand d = test::make_demand(t, 1, {0});
  Params p;
  TaskPool pool(1);
  TrafficState s = make_state(n, d, p);
  REQUIRE(set_detectors(n, s, {{"far", 0, 2000.0f}, {"near", 0, 20.0f}}));
  const int steps = 400;
  for (int k = 0; k < steps; ++k) step(n, d, p, s, pool);
  const DetectorInterval iv = take_detector_interval(s, 0, steps);
  CHECK(iv.count == std::vector<std::int32_t>{1, 1});
  CHECK(iv.mean_speed[0] == Approx(15.0).epsilon(1e-4));
  // Covered for L / v = 5 / 15 s of the 400 s interval.
  CHECK(iv.occupancy[0] == Approx(5.0 / 15.0 / steps).epsilon(1e-3));
  CHECK(iv.mean_speed[1] < 15.0f);  // still accelerating at 20 m
  CHECK(iv.occupancy[1] > iv.occupancy[0]);
  const DetectorInterval next = take_detector_interval(s, steps, 2 * steps);
  CHECK(next.count == std::vector<std::int32_t>{0, 0});
  CHECK(std::isnan(next.mean_speed[0]));
}

TEST_CASE("detector: a vehicle standing on the loop covers it all the time") {
  // A red signal at the end of a 100 m edge stops the vehicle about s0 = 2.5 m before the
  // stop line; a loop 5 m before the line is under it from the moment it stands there.
  const Network n = test::make_chain({100.0f, 100.0f}, 10.0f, false, 0.1f, 0, 0.0, 1000.0, true);
  const Demand d = test::make_demand(steady_type(), 1, {0, 1});
  Params p;
  TaskPool pool(1);
  TrafficState s = make_state(n, d, p);
  REQUIRE(set_detectors(n, s, {{"line", 0, 95.0f}}));
  for (int k = 0; k < 100; ++k) step(n, d, p, s, pool);
  REQUIRE(s.veh_speed[0] == 0.0f);
  REQUIRE(s.veh_pos[0] > 95.0f);
  REQUIRE(s.veh_pos[0] - 5.0f < 95.0f);
  CHECK(take_detector_interval(s, 0, 100).count[0] == 1);
  for (int k = 0; k < 50; ++k) step(n, d, p, s, pool);
  const DetectorInterval iv = take_detector_interval(s, 100, 150);
  CHECK(iv.count[0] == 0);
  CHECK(iv.occupancy[0] == Approx(1.0).epsilon(1e-6));
}

TEST_CASE("detectors: bad positions and lanes are errors naming the detector") {
  const Network n = test::make_chain({100.0f}, 10.0f, false);
  const Demand d = test::make_demand(VehicleType{}, 1, {0});
  TrafficState s = make_state(n, d, Params{});
  auto r = set_detectors(n, s, {{"x", 0, 150.0f}});
  REQUIRE_FALSE(r);
  CHECK(r.error().to_string().find("'x'") != std::string::npos);
  CHECK_FALSE(set_detectors(n, s, {{"y", 5, 1.0f}}));
}

TEST_CASE("read_sumo_detectors: Bologna acosta induction loops; bad lanes name file and line") {
  const std::string dir = std::string(CITYTWIN_SOURCE_DIR) + "/tests/data/traffic/bologna-acosta/";
  auto net = read_sumo_net(dir + "acosta_buslanes.net.xml.gz");
  REQUIRE(net);
  auto dets = read_sumo_detectors(dir + "acosta_detectors.add.xml", *net);
  REQUIRE(dets);
  REQUIRE(dets->size() == 58);  // 62 in the file, 4 of them inside comments
  const DetectorSpec& first = dets->front();
  CHECK(first.id == "0.127_2.73_6_1__l0");
  const std::int32_t e = net->find_edge("104");
  REQUIRE(e >= 0);
  CHECK(first.lane == net->edge_lane_begin[static_cast<std::size_t>(e)]);
  CHECK(first.pos == 23.0f);
  Params p;
  TrafficState s = make_state(*net, Demand{}, p);
  CHECK(set_detectors(*net, s, *dets));
  const std::string bad = std::string(CITYTWIN_BINARY_DIR) + "/bad_detectors.add.xml";
  {
    std::FILE* f = std::fopen(bad.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fputs("<additional>\n  <e1Detector id=\"x\" lane=\"nope_0\" pos=\"1\"/>\n</additional>\n",
               f);
    std::fclose(f);
  }
  auto r = read_sumo_detectors(bad, *net);
  REQUIRE_FALSE(r);
  const std::string msg = r.error().to_string();
  CHECK(msg.find("bad_detectors.add.xml") != std::string::npos);
  CHECK(msg.find(":2") != std::string::npos);
  CHECK(msg.find("nope_0") != std::string::npos);
}

TEST_CASE("slowing an edge re-routes the vehicles that would use it") {
  // 20 trips s -> t (route s,c,e,b,t); at 25 s edge e drops to 1 m/s (50 s instead of 5 s):
  // s,c,e,b,t = 110.04 s > s,a,b,t = 70.03 s, and from c: d,t = 60 s < e,b,t = 90 s.
  const Network n = diamond();
  const std::int32_t nv = 20;
  const Demand d = test::make_trips(steady_type(), nv, S, T, 3.0);
  Params p;
  TaskPool pool(1);
  TrafficState s = make_state(n, d, p);
  for (int k = 0; k < 25; ++k) step(n, d, p, s, pool);
  std::vector<std::int32_t> on_s, on_c;
  for (std::int32_t v = 0; v < nv; ++v) {
    const auto vv = static_cast<std::size_t>(v);
    if (s.veh_status[vv] != VehStatus::running) continue;
    const std::int32_t lane = s.veh_lane[vv];
    if (lane == S) on_s.push_back(v);
    const float v2 = s.veh_speed[vv] * s.veh_speed[vv];
    if (lane == C && v2 < 2.0f * 4.5f * (200.0f - s.veh_pos[vv])) on_c.push_back(v);
  }
  REQUIRE(!on_s.empty());
  REQUIRE(!on_c.empty());
  set_edge_speed(n, s, E, 1.0f);
  for (int k = 0; k < 1000 && s.arrived < nv; ++k) step(n, d, p, s, pool);
  CHECK(s.arrived == nv);
  for (std::int32_t v : on_s) CHECK(route_of(s, v) == std::vector<std::int32_t>{S, A, B, T});
  // Vehicles on c that could still stop before the junction turn to d.
  for (std::int32_t v : on_c) CHECK(route_of(s, v) == std::vector<std::int32_t>{C, D, T});
  CHECK(s.rerouted >= static_cast<std::int64_t>(on_s.size() + on_c.size()));
}

TEST_CASE("route pool compaction keeps every vehicle's route and drops replaced ones") {
  const Network n = diamond();
  const Demand d = test::make_demand(steady_type(), 3, {S, C, E, B, T});
  TrafficState s = make_state(n, d, Params{});
  CHECK_FALSE(compact_routes(s));  // nothing replaced yet
  // Vehicle 1 was re-routed 20,000 times: its old routes are dead entries in the pool.
  for (int k = 0; k < 20000; ++k) {
    s.veh_route_begin[1] = static_cast<std::int32_t>(s.route_edges.size());
    for (std::int32_t e : {S, A, B, T}) s.route_edges.push_back(e);
    s.veh_route_end[1] = static_cast<std::int32_t>(s.route_edges.size());
  }
  REQUIRE(compact_routes(s));
  CHECK(s.route_edges.size() == 14);
  CHECK(route_of(s, 0) == std::vector<std::int32_t>{S, C, E, B, T});
  CHECK(route_of(s, 1) == std::vector<std::int32_t>{S, A, B, T});
  CHECK(route_of(s, 2) == std::vector<std::int32_t>{S, C, E, B, T});
}

TEST_CASE("read_sumo_routes: trips with via and route-less flows are routed by the simulation") {
  const Network n = diamond();
  const std::string path = std::string(CITYTWIN_BINARY_DIR) + "/diamond_trips.rou.xml";
  const auto write = [](const std::string& file, const char* text) {
    std::FILE* f = std::fopen(file.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fputs(text, f);
    std::fclose(f);
  };
  write(
      path,
      "<routes>\n"
      "  <vType id=\"car\" speedDev=\"0\"/>\n"
      "  <trip id=\"a\" depart=\"0\" from=\"e0\" to=\"e6\" type=\"car\"/>\n"
      "  <trip id=\"b\" depart=\"2\" from=\"e0\" to=\"e6\" via=\"e4\" type=\"car\"/>\n"
      "  <flow id=\"f\" begin=\"4\" end=\"10\" number=\"3\" from=\"e0\" to=\"e6\" type=\"car\"/>\n"
      "</routes>\n");
  Demand d;
  REQUIRE(read_sumo_routes(path, n, d));
  finish_demand(d);
  REQUIRE(d.n_vehicles() == 5);
  CHECK(d.veh_trip == std::vector<std::uint8_t>{1, 1, 1, 1, 1});
  Params p;
  TaskPool pool(1);
  TrafficState s = make_state(n, d, p);
  for (int k = 0; k < 300 && s.arrived < 5; ++k) step(n, d, p, s, pool);
  CHECK(s.arrived == 5);
  CHECK(route_of(s, 0) == std::vector<std::int32_t>{S, C, E, B, T});
  CHECK(route_of(s, 1) == std::vector<std::int32_t>{S, C, D, T});  // via d
  for (std::int32_t v = 2; v < 5; ++v)
    CHECK(route_of(s, v) == std::vector<std::int32_t>{S, C, E, B, T});
  // An unknown edge names the file, the line and the field.
  write(path, "<routes>\n  <trip id=\"x\" depart=\"0\" from=\"e0\" to=\"nowhere\"/>\n</routes>\n");
  Demand bad;
  auto r = read_sumo_routes(path, n, bad);
  REQUIRE_FALSE(r);
  const std::string msg = r.error().to_string();
  CHECK(msg.find("diamond_trips.rou.xml") != std::string::npos);
  CHECK(msg.find(":2") != std::string::npos);
  CHECK(msg.find("nowhere") != std::string::npos);
}
