// Live-count calibrators (calibrators.cpp) on a two-edge road: the flow past a detector is
// kept at a factor times the natural flow, by inserting reserve vehicles or removing the next
// vehicle to pass; the vehicle counters stay balanced; the result does not depend on threads.
#include <catch2/catch.hpp>

#include "citytwin/parallel.hpp"
#include "citytwin/traffic.hpp"
#include "unit/traffic/fixtures.hpp"

using namespace citytwin;
using namespace citytwin::traffic;

namespace {

struct Road {
  Network n = test::make_chain({500.0f, 500.0f}, 15.0f, false);
  Demand d;
  std::vector<DetectorSpec> dets{{"loop", 1, 250.0f}};  // on edge 1's lane, mid-way

  // 60 vehicles, one every 10 s, over both edges; a calibrator with 100 in reserve.
  Road() {
    VehicleType t;
    t.speed_dev = 0.0f;
    d = test::make_demand(t, 60, {0, 1});
    for (std::int32_t v = 0; v < d.n_vehicles(); ++v)
      d.veh_depart[static_cast<std::size_t>(v)] = seconds_ms(10.0 * v);
    CalibratorSpec c;
    c.id = "count-loop";
    c.dets = {0};
    REQUIRE(add_calibrator(n, dets, d, c, 100, 7));
  }

  // Runs 800 s (every planned vehicle has passed by about 650 s) with the factor set at 0.
  TrafficState run(double factor, int threads) const {
    Params p;
    TaskPool pool(threads);
    TrafficState s = make_state(n, d, p);
    REQUIRE(set_detectors(n, s, dets));
    set_calibrator_factor(d, s, 0, factor);
    for (int k = 0; k < 800; ++k) step(n, d, p, s, pool);
    return s;
  }
};

}  // namespace

TEST_CASE("calibrator: the flow past the detector is the factor times the natural flow") {
  const Road r;
  REQUIRE(r.d.n_planned() == 60);
  REQUIRE(r.d.n_vehicles() == 160);
  REQUIRE(r.d.calibrators[0].edge == 1);
  for (const double factor : {1.0, 1.5, 0.5, 0.0}) {
    CAPTURE(factor);
    const TrafficState s = r.run(factor, 1);
    // All 60 planned vehicles would pass: factor * 60, to the vehicle.
    CHECK(std::abs(static_cast<double>(s.det_total[0]) - factor * 60) <= 1.0);
    CHECK(s.calib_ins[0] == s.calib_inserted);
    CHECK(s.calib_rem[0] == s.calib_removed);
    if (factor > 1) CHECK(std::abs(static_cast<double>(s.calib_inserted) - 30) <= 1.0);
    if (factor < 1)
      CHECK(std::abs(static_cast<double>(s.calib_removed) - (1 - factor) * 60) <= 1.0);
    if (factor == 1.0) CHECK(s.calib_inserted + s.calib_removed == 0);
    // inserted = running + arrived + removed; the reserve not taken is not pending traffic.
    CHECK(s.inserted == s.n_running + s.arrived + s.removed);
    CHECK(s.calib_unused == 100 - s.calib_inserted);
    CHECK(summary(s, Params{}).pending == 0);
  }
}

TEST_CASE("calibrator: the same state for any thread count") {
  const Road r;
  CHECK(state_hash(r.run(1.5, 1)) == state_hash(r.run(1.5, 2)));
  CHECK(state_hash(r.run(0.5, 1)) == state_hash(r.run(0.5, 2)));
}

TEST_CASE("calibrator: a detector too close to its lane's start is refused with the room needed") {
  const Network n = test::make_chain({500.0f, 500.0f}, 15.0f, false);
  Demand d = test::make_demand(VehicleType{}, 5, {0, 1});
  CalibratorSpec c;
  c.id = "near";
  c.dets = {0};
  const auto r = add_calibrator(n, {{"near", 1, 3.0f}}, d, c, 10, 7);
  REQUIRE(!r);
  CHECK_THAT(r.error().to_string(),
             Catch::Contains("stands 3.0 m from its lane's start") && Catch::Contains("9.5 m"));
}
