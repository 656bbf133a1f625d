// Determinism and conservation on real SUMO scenarios: grid20 (18,000 vehicles), first 900 s,
// and with trips routed in the simulation, closures, speed changes, dark signals, periodic
// re-routing and detectors; Bologna acosta (signals, short-edge chains), first 1,200 s.
#include <catch2/catch.hpp>

#include <span>

#include "citytwin/parallel.hpp"
#include "citytwin/traffic.hpp"

using namespace citytwin;
using namespace citytwin::traffic;

namespace {
struct Grid {
  Network net;
  Demand demand;
};
const Grid& grid20() {
  static const Grid g = [] {
    const std::string dir = std::string(CITYTWIN_SOURCE_DIR) + "/tests/data/traffic/grid20/";
    auto net = read_sumo_net(dir + "grid20.net.xml.gz");
    REQUIRE(net);
    Demand d;
    REQUIRE(read_sumo_routes(dir + "routes_p020.rou.xml.gz", *net, d));
    finish_demand(d);
    return Grid{std::move(*net), std::move(d)};
  }();
  return g;
}
}  // namespace

TEST_CASE("grid20: equal state hashes with 1 and 2 threads, vehicles conserved every step") {
  const Grid& g = grid20();
  Params p;
  TrafficState a = make_state(g.net, g.demand, p), b = make_state(g.net, g.demand, p);
  TaskPool one(1), two(2);
  for (int k = 0; k < 900; ++k) {
    step(g.net, g.demand, p, a, one);
    step(g.net, g.demand, p, b, two);
    // Conservation: every inserted vehicle is running, arrived or removed (removals counted).
    REQUIRE(a.inserted == a.n_running + a.arrived + a.removed);
    if (k % 100 == 99) REQUIRE(state_hash(a) == state_hash(b));
  }
  CHECK(state_hash(a) == state_hash(b));
  CHECK(a.inserted > 4000);  // 18,000 vehicles over 3,600 s: about 4,500 by 900 s
  CHECK(a.arrived > 1000);
}

TEST_CASE("grid20 trips with events, re-routing and detectors: equal hashes with 1 and 2 threads") {
  const Grid& g = grid20();
  const std::string dir = std::string(CITYTWIN_SOURCE_DIR) + "/tests/data/traffic/grid20/";
  Demand trips;
  REQUIRE(read_sumo_routes(dir + "trips_p020.trips.xml.gz", g.net, trips));
  finish_demand(trips);
  Params p;
  p.reroute_period = 60000;
  TrafficState a = make_state(g.net, trips, p), b = make_state(g.net, trips, p);
  std::vector<DetectorSpec> dets;
  for (std::int32_t l = 0; l < g.net.n_road_lanes; l += 7)
    dets.push_back({std::string("d").append(std::to_string(l)), l, 10.0f});
  REQUIRE(set_detectors(g.net, a, dets));
  REQUIRE(set_detectors(g.net, b, dets));
  TaskPool one(1), two(2);
  const std::int32_t closed[] = {g.net.find_edge("K12K13"), g.net.find_edge("H8H9"),
                                 g.net.find_edge("C3D3")};
  for (std::int32_t e : closed) REQUIRE(e >= 0);
  for (int k = 0; k < 700; ++k) {
    if (k == 200)
      for (TrafficState* s : {&a, &b})
        for (std::int32_t t = 0; t < 40; ++t) set_signal_dark(g.net, *s, t * 9, true);
    if (k == 300)
      for (TrafficState* s : {&a, &b}) {
        close_edges(g.net, *s, closed);
        set_edge_speed(g.net, *s, g.net.find_edge("J10J11"), 3.0f);
      }
    if (k == 500)
      for (TrafficState* s : {&a, &b}) reopen_edges(g.net, *s, std::span(closed).subspan(1));
    step(g.net, trips, p, a, one);
    step(g.net, trips, p, b, two);
    REQUIRE(a.inserted == a.n_running + a.arrived + a.removed);
    if (k % 100 == 99) REQUIRE(state_hash(a) == state_hash(b));
  }
  CHECK(state_hash(a) == state_hash(b));
  CHECK(a.rerouted > 0);
  CHECK(a.rerouted == b.rerouted);
  const DetectorInterval da = take_detector_interval(a, 0, 700),
                         db = take_detector_interval(b, 0, 700);
  CHECK(da.count == db.count);
  CHECK(da.occupancy == db.occupancy);
}

// Bologna acosta exercises what grid20 does not: signal programs, chains of very short edges
// crossed in one step (multi-junction look-ahead), turning lanes and strategic lane changes.
TEST_CASE("acosta: equal state hashes with 1 and 2 threads, vehicles conserved every step") {
  const std::string dir = std::string(CITYTWIN_SOURCE_DIR) + "/tests/data/traffic/bologna-acosta/";
  auto net = read_sumo_net(dir + "acosta_buslanes.net.xml.gz");
  REQUIRE(net);
  REQUIRE(read_sumo_tls(dir + "acosta_tls.add.xml", *net));
  REQUIRE(read_sumo_stop_places(dir + "acosta_bus_stops.add.xml", *net));
  Demand d;
  for (const char* f : {"acosta_vtypes.add.xml", "acosta.rou.xml.gz", "acosta_busses.rou.xml"})
    REQUIRE(read_sumo_routes(dir + f, *net, d));
  finish_demand(d);
  Params p;
  TrafficState a = make_state(*net, d, p), b = make_state(*net, d, p);
  TaskPool one(1), two(2);
  for (int k = 0; k < 1200; ++k) {
    step(*net, d, p, a, one);
    step(*net, d, p, b, two);
    REQUIRE(a.inserted == a.n_running + a.arrived + a.removed);
    if (k % 100 == 99) REQUIRE(state_hash(a) == state_hash(b));
  }
  CHECK(state_hash(a) == state_hash(b));
  CHECK(a.inserted > 2000);  // SUMO: 2,715 inserted by 1,200 s
  CHECK(a.arrived > 1500);   // SUMO: 2,142 arrived by 1,200 s
}
