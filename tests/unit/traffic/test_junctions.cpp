// Junction rules (junctions.cpp) on the hand-made priority crossing of tests/data: a minor
// vehicle facing a dense major stream, with and without SUMO's impatience.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "citytwin/parallel.hpp"
#include "citytwin/traffic.hpp"

using namespace citytwin;
using namespace citytwin::traffic;

namespace {

const std::string k_cross = std::string(CITYTWIN_SOURCE_DIR) +
                            "/tests/data/traffic/junction-cross/cross-nointernal.net.xml";

// Major road W -> E: a vehicle every 3 s for 120 s (as fast as the origin has room for them,
// inserted at rest; about 40 m apart at 13 m/s). Minor road S -> N: one vehicle departing at
// 5 s. With a critical gap of 3 s the minor vehicle needs a foe more than 3 s behind its own
// arrival, which the stream never leaves it. (Every major vehicle counts as a foe: its target
// lane's last vehicle is moving, so it will pass.)
struct Crossing {
  Network net;
  Demand demand;
  std::int32_t minor = -1;
  Crossing() {
    auto n = read_sumo_net(k_cross);
    REQUIRE(n);
    net = std::move(*n);
    const auto path = std::filesystem::temp_directory_path() / "citytwin_crossing.rou.xml";
    std::ofstream(path) << R"(<routes>
    <vType id="car" speedDev="0"/>
    <route id="we" edges="WC CE"/>
    <flow id="major" type="car" begin="0" end="120" period="3" route="we"/>
    <vehicle id="minor" type="car" depart="5"><route edges="SC CN"/></vehicle>
</routes>)";
    REQUIRE(read_sumo_routes(path.string(), net, demand));
    finish_demand(demand);
    while (demand.veh_id[static_cast<std::size_t>(++minor)] != "minor") {
    }
  }
  // The minor vehicle's arrival (s) with the given time to impatience.
  double minor_arrival(double time_to_impatience, double& waited) const {
    Params p;
    p.time_to_impatience = time_to_impatience;
    p.critical_gap = 3.0;
    TaskPool pool(1);
    TrafficState s = make_state(net, demand, p);
    const auto m = static_cast<std::size_t>(minor);
    for (int k = 0; k < 400 && s.veh_status[m] != VehStatus::arrived; ++k)
      step(net, demand, p, s, pool);
    REQUIRE(s.veh_status[m] == VehStatus::arrived);
    waited = s.veh_waiting[m];
    return to_seconds(s.veh_arrive_time[m]);
  }
};

}  // namespace

TEST_CASE("impatience: a minor vehicle that has waited goes ahead of foes that can still stop") {
  const Crossing c;
  double waited_off = 0, waited_on = 0;
  // Without impatience it waits for the end of the stream: the last major vehicle departs at
  // 117 s and needs 200 m (about 17 s from rest) to the junction.
  const double off = c.minor_arrival(0.0, waited_off);
  CHECK(off > 130.0);
  CHECK(waited_off > 90.0);
  // With SUMO's 180 s it first stops at the line (impatience grows only while waiting), then
  // enters as soon as the front major vehicle is far enough away to brake comfortably
  // (v^2 / 2b = 13.89^2 / 9 = 21 m): within a few seconds, long before the stream ends.
  const double on = c.minor_arrival(180.0, waited_on);
  CHECK(waited_on >= 1.0);
  CHECK(waited_on < 10.0);
  CHECK(on < 60.0);
}
