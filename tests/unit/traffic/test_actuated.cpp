// Actuated signals (SUMO's gap-based control, docs/traffic.md "Signals"): a green phase lasts
// at least minDur and at most maxDur, and in between goes on while the loop detector-gap
// seconds before the stop line saw a vehicle less than max-gap ago. On a one-link signal at
// the end of a 300 m road: no traffic gives minDur greens, a saturated approach maxDur greens,
// a lone vehicle a green that ends max-gap after it left the loop.
#include <catch2/catch.hpp>

#include <vector>

#include "citytwin/parallel.hpp"
#include "citytwin/traffic.hpp"
#include "traffic/sumo_common.hpp"
#include "unit/traffic/fixtures.hpp"

using namespace citytwin;
using namespace citytwin::traffic;

namespace {

// Green 5..30 s (starting at 10), yellow 3 s, red 20 s; max-gap 3 s, detector-gap 2 s.
Network actuated_road() {
  Network n = test::make_chain({300.0f, 300.0f}, 13.89f, false, 0.1f, 0, 10, 20);
  TlsProgram prog;
  prog.type = "actuated";
  prog.durations = {seconds_ms(10), seconds_ms(3), seconds_ms(20)};
  prog.min_durs = {seconds_ms(5), seconds_ms(3), seconds_ms(20)};
  prog.max_durs = {seconds_ms(30), seconds_ms(3), seconds_ms(20)};
  prog.states = {"G", "y", "r"};
  REQUIRE(set_program(n, "tl", prog));
  return n;
}

// The green phases' (start, end) in s over `seconds` of simulated time.
struct Greens {
  std::vector<std::pair<double, double>> spans;
  TrafficState s;
};
Greens run(const Network& n, const Demand& d, int seconds, int threads = 1) {
  Params p;
  TaskPool pool(threads);
  Greens g{{}, make_state(n, d, p)};
  std::int32_t last = -1;
  for (int k = 0; k < seconds; ++k) {
    step(n, d, p, g.s, pool);
    // The phase the step ran with (set at its start, time k).
    const std::int32_t ph = g.s.tl_phase[0];
    if (ph != last && ph == 0) g.spans.push_back({k, -1});
    if (ph != last && last == 0) g.spans.back().second = k;
    last = ph;
  }
  return g;
}

}  // namespace

TEST_CASE("actuated signal: the loop sits detector-gap seconds before the stop line") {
  const Network n = actuated_road();
  REQUIRE(n.loop_lane.size() == 1);
  CHECK(n.loop_lane[0] == 0);
  CHECK(n.loop_pos[0] == Approx(300.0f - 2.0f * 13.89f));
  CHECK(n.loop_green == std::vector<std::uint8_t>{1, 0, 0});
}

TEST_CASE("actuated signal: no traffic, every green lasts minDur") {
  const Network n = actuated_road();
  VehicleType t;
  const Demand d = test::make_demand(t, 0, {0, 1});
  const Greens g = run(n, d, 120);
  // Cycles of 5 + 3 + 20 s from t = 0.
  REQUIRE(g.spans.size() >= 4);
  for (std::size_t k = 0; k + 1 < g.spans.size(); ++k) {
    CHECK(g.spans[k].first == Approx(28.0 * k));
    CHECK(g.spans[k].second - g.spans[k].first == Approx(5.0));
  }
}

TEST_CASE("actuated signal: a saturated approach holds every green to maxDur") {
  const Network n = actuated_road();
  VehicleType t;
  t.speed_dev = 0.0f;
  Demand d = test::make_demand(t, 200, {0, 1});
  for (std::int32_t v = 0; v < d.n_vehicles(); ++v)
    d.veh_depart[static_cast<std::size_t>(v)] = seconds_ms(1.5 * v);
  const Greens g = run(n, d, 250);
  REQUIRE(g.spans.size() >= 4);
  // The first green ends at minDur: no vehicle reaches the loop (272 m) within 5 s. From then
  // on a queue stands over the loop at the start of each green and the flow keeps it covered.
  CHECK(g.spans[0].second == Approx(5.0));
  for (std::size_t k = 1; k + 1 < g.spans.size(); ++k) {
    CAPTURE(k);
    CHECK(g.spans[k].second - g.spans[k].first == Approx(30.0));
  }
}

TEST_CASE("actuated signal: a lone vehicle's green ends max-gap after it left the loop") {
  const Network n = actuated_road();
  VehicleType t;
  t.speed_dev = 0.0f;
  // Departs at 10 s: reaches the loop after the second green began (28 s), at speed.
  Demand d = test::make_demand(t, 1, {0, 1}, 10.0);
  Params p;
  TaskPool pool(1);
  TrafficState s = make_state(n, d, p);
  double left = -1, green_end = -1;
  std::int32_t last = -1;
  for (int k = 0; k < 80; ++k) {
    step(n, d, p, s, pool);
    if (left < 0 && s.veh_status[0] == VehStatus::running && s.veh_lane[0] == 0 &&
        s.veh_pos[0] - t.length > n.loop_pos[0])
      left = k + 1 - (s.veh_pos[0] - t.length - n.loop_pos[0]) / s.veh_speed[0];
    if (green_end < 0 && last == 0 && s.tl_phase[0] != 0 && k > 28) green_end = k;
    last = s.tl_phase[0];
  }
  REQUIRE(left > 28.0);
  INFO("rear left the loop at " << left << " s, green ended at " << green_end << " s");
  // The next step start after left + 3 s (1 s steps), and not before minDur (33 s).
  CHECK(green_end >= std::max(33.0, left + 3.0));
  CHECK(green_end < std::max(33.0, left + 3.0) + 1.0);
}

TEST_CASE("actuated signal: equal states for 1 and 2 threads") {
  const Network n = actuated_road();
  VehicleType t;
  Demand d = test::make_demand(t, 100, {0, 1});
  for (std::int32_t v = 0; v < d.n_vehicles(); ++v)
    d.veh_depart[static_cast<std::size_t>(v)] = seconds_ms(4.0 * v);
  const Greens a = run(n, d, 300, 1), b = run(n, d, 300, 2);
  CHECK(a.spans == b.spans);
  CHECK(a.s.loop_last == b.s.loop_last);
  CHECK(a.s.tl_phase_start == b.s.tl_phase_start);
}
