// Lane changes (lane_changes.cpp) on a hand-made network of tests/data: two drivers side by side
// on a two-lane road, each bound for the other's lane (the right turn leaves from lane 0 only,
// the left turn from lane 1 only), find no room as long as they drive abreast. The one behind
// falls back (SUMO's blocked driver changing behind its leader), and both make their turns.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "citytwin/parallel.hpp"
#include "citytwin/traffic.hpp"

using namespace citytwin;
using namespace citytwin::traffic;

namespace {

const std::string k_swap =
    std::string(CITYTWIN_SOURCE_DIR) + "/tests/data/traffic/lane-swap/swap.net.xml";

struct Abreast {
  double left_arrival = 0, right_arrival = 0;  ///< s; NaN: not arrived within 120 s
  float hardest_brake = 0;                     ///< the largest deceleration either made (m/s2)
  std::int64_t teleports = 0;
};

// "left" (to N, needs lane 1) put on lane 0 and "right" (to S, needs lane 0) on lane 1 of the
// 300 m road WC, at `pos` and `pos + ahead` m, both at 10 m/s, then run until both arrive.
Abreast drive_abreast(float pos, float ahead) {
  auto net = read_sumo_net(k_swap);
  REQUIRE(net);
  Demand demand;
  const auto path = std::filesystem::temp_directory_path() / "citytwin_swap.rou.xml";
  std::ofstream(path) << R"(<routes>
    <vType id="car" speedDev="0"/>
    <vehicle id="left" type="car" depart="0"><route edges="WC CN"/></vehicle>
    <vehicle id="right" type="car" depart="0"><route edges="WC CS"/></vehicle>
</routes>)";
  REQUIRE(read_sumo_routes(path.string(), *net, demand));
  finish_demand(demand);
  const Network& n = *net;
  Params p;
  TaskPool pool(1);
  TrafficState s = make_state(n, demand, p);
  // Both inserted (one per edge and step, on their own lanes: departLane best).
  for (int k = 0; k < 5 && s.inserted < 2; ++k) step(n, demand, p, s, pool);
  REQUIRE(s.n_running == 2);
  const std::int32_t wc = n.find_edge("WC");
  const std::int32_t lane0 = n.edge_lane_begin[static_cast<std::size_t>(wc)];
  const std::size_t left = 0, right = 1;
  REQUIRE(demand.veh_id[left] == "left");
  s.veh_lane[left] = lane0;  // the wrong lanes, abreast
  s.veh_lane[right] = lane0 + 1;
  s.veh_pos[left] = pos;
  s.veh_pos[right] = pos + ahead;
  s.veh_speed[left] = s.veh_speed[right] = 10.0f;
  Abreast r;
  float v_left = 10.0f, v_right = 10.0f;
  for (int k = 0; k < 120; ++k) {
    step(n, demand, p, s, pool);
    const float dt = static_cast<float>(to_seconds(p.dt));
    if (s.veh_status[left] == VehStatus::running)
      r.hardest_brake = std::max(r.hardest_brake, (v_left - s.veh_speed[left]) / dt);
    if (s.veh_status[right] == VehStatus::running)
      r.hardest_brake = std::max(r.hardest_brake, (v_right - s.veh_speed[right]) / dt);
    v_left = s.veh_speed[left];
    v_right = s.veh_speed[right];
  }
  auto arrival = [&](std::size_t v) {
    return s.veh_status[v] == VehStatus::arrived ? to_seconds(s.veh_arrive_time[v])
                                                 : std::numeric_limits<double>::quiet_NaN();
  };
  r.left_arrival = arrival(left);
  r.right_arrival = arrival(right);
  r.teleports = s.teleports;
  return r;
}

}  // namespace

TEST_CASE("two drivers abreast, each bound for the other's lane, sort themselves out",
          "[traffic]") {
  // Offsets 0 (exactly abreast: the later vehicle index falls back), a bumper ahead either way,
  // and half a car length.
  for (const float ahead : {0.0f, 0.3f, -0.3f, 2.5f}) {
    CAPTURE(ahead);
    const Abreast r = drive_abreast(20.0f, ahead);
    // Without falling back they stand at the stop line side by side until a teleport (300 s).
    CHECK(r.left_arrival < 60.0);
    CHECK(r.right_arrival < 60.0);
    CHECK(r.teleports == 0);
    // Falling back brakes at most comfortably (the car's decel is 4.5 m/s2; the turn itself
    // at 13.89 m/s needs no more either).
    CHECK(r.hardest_brake <= 4.5f + 1e-4f);
  }
}
