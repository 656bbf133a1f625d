// Invariants and steady states for both solvers: a lake at rest over bumps with dry islands,
// rain into a closed tilted box, and normal depth in a uniform Manning channel (where the
// local inertial theory holds, so the two solvers are compared there too).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>

#include "analytic/flood/fixture.hpp"

using namespace citytwin;
using namespace citytwin::flood;

namespace {

double max_speed(const FloodModel& m, const FloodState& s) {
  double vmax = 0;
  for (int j = 0; j < m.grid.ny; ++j)
    for (int i = 0; i < m.grid.nx; ++i) {
      double u = 0, v = 0;
      velocity(m, s, i, j, u, v);
      vmax = std::max(vmax, std::hypot(u, v));
    }
  return vmax;
}

}  // namespace

TEST_CASE("Lake at rest over bumps with dry islands stays at rest") {
  for (Solver solver : {Solver::inertial, Solver::godunov}) {
    // 80 x 80 cells of 1 m; three Gaussian bumps, two of which rise above the 1 m lake level.
    auto bed = [](double x, double y) {
      auto bump = [&](double cx, double cy, double r, double hgt) {
        return hgt * std::exp(-((x - cx) * (x - cx) + (y - cy) * (y - cy)) / (r * r));
      };
      return 0.1 * x / 80 + bump(20, 20, 6, 1.6) + bump(55, 40, 10, 0.7) + bump(40, 65, 5, 2.5);
    };
    FloodModel m = test::make_model(80, 80, 1.0, bed, solver, 0.03, 16);
    FloodState s = make_state(m);
    set_level(m, s, 1.0);
    TaskPool pool(2);
    start(m, s, pool);
    int dry = 0;
    for (int j = 0; j < 80; ++j)
      for (int i = 0; i < 80; ++i) dry += s.h[m.grid.idx(i, j)] == real(0);
    REQUIRE(dry > 50);  // the islands exist
    for (int k = 0; k < 1000; ++k) step(m, s, 1e9, pool);
    const double vmax = max_speed(m, s);
    std::printf(
        "lake at rest %s: %d dry cells, max speed %.2e m/s after 1000 steps (t = %.1f s), volume "
        "error %.2e\n",
        to_string(solver), dry, vmax, s.t, s.balance.relative_error());
    // The bound. Both schemes balance the bed slope exactly for a flat level (the
    // face gradient of eta vanishes), so only rounding of h + z could drive a flow.
    CHECK(vmax < 1e-6);
    CHECK(s.balance.relative_error() < test::k_volume_tol);
  }
}

TEST_CASE("Rain on a closed tilted box is all stored") {
  for (Solver solver : {Solver::inertial, Solver::godunov}) {
    // 40 x 40 cells of 5 m tilted 1 % west-east; 50 mm/h for 30 min, then 15 min of draining
    // into the low side.
    FloodModel m = test::make_model(
        40, 40, 5.0, [](double x, double) { return 0.01 * (200 - x); }, solver, 0.03, 16);
    m.rain_mm_h = Series{{0.0, 1800.0}, {50.0, 0.0}, true};
    FloodState s = make_state(m);
    TaskPool pool(2);
    start(m, s, pool);
    advance(m, s, 2700, pool);
    const double area = 200.0 * 200.0, rain = 0.025 * area;
    const double stored = stored_volume(m, s);
    // Water piles up at the low end: the east column is deeper than the west one.
    const double h_low = s.h[m.grid.idx(39, 20)], h_high = s.h[m.grid.idx(0, 20)];
    std::printf(
        "rain box %s: stored %.4f m3, rain %.4f m3, relative %.2e, balance error %.2e, low/high "
        "depth %.4f/%.4f m\n",
        to_string(solver), stored, rain, std::abs(stored - rain) / rain, s.balance.relative_error(),
        h_low, h_high);
    // Float32: 1e-4 of the volume (rounding of 1e3 depth increments of 1e-5 m).
    CHECK(std::abs(stored - rain) / rain < 1e-4);
    // The rain added per step is a float depth: 1e-6 covers its rounding (6e-8 per step).
    CHECK(std::abs(s.balance.rain - rain) / rain < 1e-6);
    CHECK(s.balance.relative_error() < test::k_volume_tol);
    CHECK(h_low > 5 * h_high);
  }
}

TEST_CASE("Horton infiltration removes exactly its integral while water is present") {
  for (Solver solver : {Solver::inertial, Solver::godunov}) {
    // Flat closed 20 x 20 box of 5 m cells with 0.2 m of water; f0 = 60 mm/h, fc = 10 mm/h,
    // k = 2/h over 1 h. The water never runs out (loss < 30 mm), so every cell loses
    //   F = fc T + (f0 - fc)(1 - exp(-k T)) / k = 10 + 25 (1 - e^-2) = 31.617 mm.
    FloodModel m = test::make_model(
        20, 20, 5.0, [](double, double) { return 0.0; }, solver, 0.03, 16);
    m.params.infil_f0_mm_h = 60;
    m.params.infil_fc_mm_h = 10;
    m.params.infil_k_per_h = 2;
    FloodState s = make_state(m);
    set_level(m, s, 0.2);
    TaskPool pool(2);
    start(m, s, pool);
    advance(m, s, 3600, pool);
    const double F = 0.010 + 0.025 * (1 - std::exp(-2.0));
    const double h = s.h[m.grid.idx(10, 10)];
    std::printf("horton %s: depth %.6f m (exact %.6f), losses %.3f m3, volume error %.2e\n",
                to_string(solver), h, 0.2 - F, s.balance.losses, s.balance.relative_error());
    // The rate is taken at mid-step (midpoint rule) over ~360 steps of 10 s: its error is
    // O(k^2 dt^2 / 24) relative, far below 1e-4 of F; float rounding of 0.2 m depths is 1e-8 m.
    CHECK(h == Approx(0.2 - F).margin(1e-5));
    CHECK(s.balance.losses == Approx(F * 100 * 100).epsilon(1e-4));
    CHECK(s.balance.relative_error() < test::k_volume_tol);
  }
}

TEST_CASE("Normal depth in a uniform Manning channel; inertial and godunov agree") {
  // Wide channel (closed sides, no side friction) of 1 km, bed slope S0 = 1e-3, n = 0.03,
  // q = 1 m2/s: Manning's normal depth hn = (q n / sqrt(S0))^(3/5) = 0.9689 m.
  const double S0 = 1e-3, n = 0.03, q = 1.0, dx = 10.0;
  const double hn = std::pow(q * n / std::sqrt(S0), 0.6);
  double depth[2] = {0, 0};
  int k = 0;
  for (Solver solver : {Solver::inertial, Solver::godunov}) {
    FloodModel m = test::make_model(
        100, 3, dx, [&](double x, double) { return S0 * (1000 - x); }, solver, n);
    open_side(m, east, Boundary{BoundaryKind::free, {}, -1});
    prepare_boundaries(m);
    Inflow in;
    in.name = "upstream";
    in.cells = {0, 100, 200};  // the first column
    in.discharge = Series{{0.0}, {q * 3 * dx}, false};
    m.inflows.push_back(in);
    FloodState s = make_state(m);
    for (int j = 0; j < 3; ++j)
      for (int i = 0; i < 100; ++i) set_depth(m, s, i, j, real(0.5));
    TaskPool pool(1);
    start(m, s, pool);
    advance(m, s, 6 * 3600.0, pool);
    double sum = 0;
    for (int i = 30; i < 70; ++i) sum += s.h[m.grid.idx(i, 1)];
    depth[k] = sum / 40;
    double u = 0, v = 0;
    velocity(m, s, 50, 1, u, v);
    std::printf("channel %s: depth %.4f m (normal %.4f), q %.4f m2/s, volume error %.2e\n",
                to_string(solver), depth[k], hn, u * s.h[m.grid.idx(50, 1)],
                s.balance.relative_error());
    // Uniform flow is an exact steady state of both discretisations up to the face-centred
    // friction slope; 1 % covers the O(dx) inlet and outlet adjustments that decay into the
    // reach measured (cells 30-70).
    CHECK(depth[k] == Approx(hn).epsilon(0.01));
    CHECK(u * s.h[m.grid.idx(50, 1)] == Approx(q).epsilon(0.01));
    CHECK(s.balance.relative_error() < test::k_volume_tol);
    ++k;
  }
  // Gradually varied subcritical flow (Froude 0.33): the local inertial approximation drops
  // only the advection term, which vanishes in uniform flow; the two solvers agree to 0.5 %.
  CHECK(depth[0] == Approx(depth[1]).epsilon(5e-3));
}
