// Closed-form checks of the car-following model.
#include <catch2/catch.hpp>
#include <cmath>

#include "citytwin/parallel.hpp"
#include "citytwin/traffic.hpp"
#include "unit/traffic/fixtures.hpp"

using namespace citytwin;
using namespace citytwin::traffic;

namespace {

// IDM equilibrium speed for a bumper-to-bumper gap s: the root of
// 1 - (v/v0)^delta - ((s0 + v T) / s)^2 = 0 (Treiber et al. 2000, eq. 3), by bisection.
double idm_equilibrium_speed(double s, double v0, double s0, double T, double delta) {
  double lo = 0, hi = v0;
  for (int i = 0; i < 200; ++i) {
    const double v = 0.5 * (lo + hi);
    const double f = 1 - std::pow(v / v0, delta) - std::pow((s0 + v * T) / s, 2);
    (f > 0 ? lo : hi) = v;
  }
  return 0.5 * (lo + hi);
}

VehicleType exact_type() {
  VehicleType t;
  t.speed_dev = 0.0f;  // every driver wants exactly the speed limit
  t.min_gap = 2.0f;
  t.tau = 1.5f;
  t.accel = 1.0f;
  t.decel = 1.5f;
  return t;
}

}  // namespace

TEST_CASE("ring road settles on the IDM equilibrium flow-density relation") {
  // A 2 km single-lane ring (two 1 km edges). For each density, vehicles start evenly spaced
  // at rest; after 900 s the homogeneous state is the equilibrium (the IDM with these
  // parameters is string-stable at these densities, so no stop-and-go waves form), and the
  // measured flow q = rho * mean speed must match rho * v_e(s) within 5 % (the stated
  // requirement; the dt = 1 s ballistic scheme's own error is well below that).
  const float v0 = 15.0f;
  const VehicleType t = exact_type();
  for (int nveh : {20, 40, 80}) {
    Network net = test::make_chain({1000.0f, 1000.0f}, v0, true, 0.1f);
    std::vector<std::int32_t> route;
    for (int k = 0; k < 400; ++k) route.push_back(k % 2);
    Demand d = test::make_demand(t, nveh, route);
    Params p;
    TrafficState s = make_state(net, d, p);
    const double ring = 2000.2;
    const double spacing = ring / nveh;
    for (int v = 0; v < nveh; ++v) {  // place by hand: even spacing on the ring
      const double x = v * spacing;
      const int e = x < 1000.0 ? 0 : 1;
      s.veh_status[v] = VehStatus::running;
      s.veh_lane[v] = e;
      s.veh_route_pos[v] = e;
      s.veh_pos[v] = static_cast<float>(x - e * 1000.0 + t.length);
      s.veh_insert_time[v] = 0;
      s.running[s.n_running++] = v;
      s.origin_next[0] = s.origin_begin[1];  // nothing left to insert
      ++s.inserted;
    }
    TaskPool pool(1);
    for (int k = 0; k < 900; ++k) step(net, d, p, s, pool);
    double vs = 0;
    for (int v = 0; v < nveh; ++v) vs += s.veh_speed[v];
    const double rho = nveh / ring;
    const double q_sim = rho * vs / nveh;
    const double q_eq = rho * idm_equilibrium_speed(spacing - t.length, v0, t.min_gap, t.tau, 4.0);
    INFO("vehicles " << nveh << " q_sim " << q_sim * 3600 << " veh/h, q_eq " << q_eq * 3600);
    CHECK(q_sim == Approx(q_eq).epsilon(0.05));
    CHECK(s.collisions == 0);
  }
}

TEST_CASE("a signalised approach discharges at the saturation flow the IDM implies") {
  // 60 vehicles queue at a red light, then get 120 s of green. The queue discharge rate of
  // the IDM is bounded above by the capacity of its equilibrium fundamental diagram,
  // q_max = max_s v_e(s) / (s + l), and lies 0-20 % below it (the capacity drop of queue
  // outflow; Treiber & Kesting, Traffic Flow Dynamics, 2013, sec. 11.3 and 21.5). The
  // measured saturation flow, from the 5th to the 25th vehicle over the stop line (past the
  // start-up lost time), must lie in [0.8, 1.03] * q_max: crossings are seen at whole steps
  // (1 s) over a ~40 s window, so the measurement itself carries +-2.5 %.
  const float v0 = 13.89f;
  VehicleType t = exact_type();
  t.accel = 2.6f;
  t.decel = 4.5f;
  t.min_gap = 2.5f;
  t.tau = 1.0f;
  Network net = test::make_chain({1000.0f, 2000.0f}, v0, false, 10.0f, 0, 120.0, 300.0, true);
  Demand d = test::make_demand(t, 60, {0, 1});
  for (int v = 0; v < 60; ++v) d.veh_depart[v] = seconds_ms(2.0 * v);
  Params p;
  TrafficState s = make_state(net, d, p);
  TaskPool pool(1);
  std::vector<double> cross;
  std::vector<std::int32_t> last_lane(60, 0);
  for (int k = 0; k < 600; ++k) {
    step(net, d, p, s, pool);
    for (int v = 0; v < 60; ++v) {
      if (s.veh_status[v] == VehStatus::running && s.veh_lane[v] != 0 && last_lane[v] == 0)
        cross.push_back(to_seconds(s.time));
      last_lane[v] = s.veh_lane[v];
    }
  }
  REQUIRE(cross.size() >= 25);
  std::sort(cross.begin(), cross.end());
  const double q_sat = 20.0 / (cross[24] - cross[4]);  // veh/s
  double q_max = 0;
  for (double gap = 2.6; gap < 200; gap += 0.05)
    q_max =
        std::max(q_max, idm_equilibrium_speed(gap, v0, t.min_gap, t.tau, 4.0) / (gap + t.length));
  INFO("saturation flow " << q_sat * 3600 << " veh/h; IDM capacity " << q_max * 3600 << " veh/h");
  CHECK(q_sat <= q_max * 1.03);
  CHECK(q_sat >= q_max * 0.8);
  CHECK(cross.front() >= 300.0);  // nobody crossed on red
}
