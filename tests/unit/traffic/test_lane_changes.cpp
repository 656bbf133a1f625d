// Lane changes (lane_changes.cpp) on a hand-made network of tests/data: two drivers side by side
// on a two-lane road, each bound for the other's lane (the right turn leaves from lane 0 only,
// the left turn from lane 1 only), find no room as long as they drive abreast. The one behind
// falls back (SUMO's blocked driver changing behind its leader), and both make their turns.
// And a driver still on the wrong lane at the stop line waits there for its lane change rather
// than entering a junction whose far side (a 0.2 m edge) it could not leave.
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
const std::string k_stub =
    std::string(CITYTWIN_SOURCE_DIR) + "/tests/data/traffic/lane-stub/stub.net.xml";

struct Abreast {
  double left_arrival = 0, right_arrival = 0;  ///< s; NaN: not arrived within 120 s
  float hardest_brake = 0;                     ///< the largest deceleration either made (m/s2)
  std::int64_t teleports = 0;
};

// The two vehicles of `routes` (a SUMO route file's text) on the network `net_file`, stepped
// until both run on road WC (one insertion per edge and step, departLane best).
struct TwoOnWc {
  Network n;
  Demand demand;
  Params p;
  TrafficState s;
  std::int32_t lane0 = -1;  ///< WC's lane 0; its lane 1 is lane0 + 1
};
TwoOnWc two_on_wc(const std::string& net_file, const std::string& routes, TaskPool& pool) {
  auto net = read_sumo_net(net_file);
  REQUIRE(net);
  TwoOnWc t;
  t.n = std::move(*net);
  const auto path = std::filesystem::temp_directory_path() /
                    std::filesystem::path(net_file).filename().replace_extension(".rou.xml");
  std::ofstream(path) << routes;
  REQUIRE(read_sumo_routes(path.string(), t.n, t.demand));
  finish_demand(t.demand);
  t.s = make_state(t.n, t.demand, t.p);
  for (int k = 0; k < 5 && t.s.inserted < 2; ++k) step(t.n, t.demand, t.p, t.s, pool);
  REQUIRE(t.s.n_running == 2);
  t.lane0 = t.n.edge_lane_begin[static_cast<std::size_t>(t.n.find_edge("WC"))];
  return t;
}

// "left" (to N, needs lane 1) put on lane 0 and "right" (to S, needs lane 0) on lane 1 of the
// 300 m road WC, at `pos` and `pos + ahead` m, both at 10 m/s, then run until both arrive.
Abreast drive_abreast(float pos, float ahead) {
  TaskPool pool(1);
  TwoOnWc t = two_on_wc(k_swap, R"(<routes>
    <vType id="car" speedDev="0"/>
    <vehicle id="left" type="car" depart="0"><route edges="WC CN"/></vehicle>
    <vehicle id="right" type="car" depart="0"><route edges="WC CS"/></vehicle>
</routes>)",
                        pool);
  auto& [n, demand, p, s, lane0] = t;
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

TEST_CASE("a driver on the wrong lane at the line waits there, not in the junction", "[traffic]") {
  // WC (2 lanes) -> junction C (17 m passages) -> CD (2 lanes, 0.2 m) -> right turn to DS from
  // CD's lane 0 only. "late" is on lane 1, 16 m before the line at 10 m/s, with "beside" on
  // lane 0 a metre ahead at the same speed: no room to change before the line.
  TaskPool pool(1);
  TwoOnWc t = two_on_wc(k_stub, R"(<routes>
    <vType id="car" speedDev="0"/>
    <vehicle id="late" type="car" depart="0"><route edges="WC CD DS"/></vehicle>
    <vehicle id="beside" type="car" depart="1"><route edges="WC CD DS"/></vehicle>
</routes>)",
                        pool);
  auto& [n, demand, p, s, lane0] = t;
  const float line = n.lane_length[static_cast<std::size_t>(lane0)];
  const std::size_t late = 0, beside = 1;
  REQUIRE(demand.veh_id[late] == "late");
  s.veh_lane[late] = lane0 + 1;
  s.veh_lane[beside] = lane0;
  s.veh_pos[late] = line - 16.0f;
  s.veh_pos[beside] = line - 15.0f;
  s.veh_speed[late] = s.veh_speed[beside] = 10.0f;
  bool in_passage_on_lane1 = false;
  for (int k = 0; k < 120; ++k) {
    step(n, demand, p, s, pool);
    const std::int32_t l = s.veh_lane[late];
    // The passage from WC's lane 1 leads only to CD's lane 1, from which DS is not reached.
    if (s.veh_status[late] == VehStatus::running && l >= n.n_road_lanes &&
        n.conn_from_lane[static_cast<std::size_t>(l - n.n_road_lanes)] == lane0 + 1)
      in_passage_on_lane1 = true;
  }
  // Without the rule it stops inside the passage, s0 short of CD's end, until the 300 s
  // teleport.
  CHECK_FALSE(in_passage_on_lane1);
  CHECK(s.veh_status[late] == VehStatus::arrived);
  CHECK(s.veh_status[beside] == VehStatus::arrived);
  CHECK(s.teleports == 0);
}
