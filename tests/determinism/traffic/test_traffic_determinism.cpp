// Determinism and conservation on real SUMO scenarios (grid20, 18,000 vehicles, first 900 s;
// Bologna acosta, first 1,200 s).
#include <catch2/catch.hpp>

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

// Bologna acosta exercises what grid20 does not: signal programs, chains of very short edges
// crossed in one step (multi-junction look-ahead), turning lanes and strategic lane changes.
TEST_CASE("acosta: equal state hashes with 1 and 2 threads, vehicles conserved every step") {
  const std::string dir = std::string(CITYTWIN_SOURCE_DIR) + "/tests/data/traffic/bologna-acosta/";
  auto net = read_sumo_net(dir + "acosta_buslanes.net.xml.gz");
  REQUIRE(net);
  REQUIRE(read_sumo_tls(dir + "acosta_tls.add.xml", *net));
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
