// Bit-identical flood states for 1, 2 and 4 threads, both solvers: a dam break over rough
// terrain with rain (uniform and two gauges), drainage, an inflow and an open side, on small
// tiles so many blocks run at once.
#include <catch2/catch.hpp>

#include <cmath>

#include "analytic/flood/fixture.hpp"

using namespace citytwin;
using namespace citytwin::flood;

namespace {

std::uint64_t run(Solver solver, int threads) {
  FloodModel m = test::make_model(
      120, 90, 2.0,
      [](double x, double y) { return 0.3 * std::sin(x / 17) * std::cos(y / 11) + 0.002 * x; },
      solver, 0.035, 16);
  m.rain_mm_h = Series{{0.0, 60.0}, {120.0, 0.0}, true};
  // Two rain gauges (inverse-distance weights) and drainage on the northern half.
  const Grid& g = m.grid;
  for (int k = 0; k < 2; ++k) {
    RainGauge rg;
    rg.mm_h = Series{{0.0, 40.0}, {k == 0 ? 50.0 : 150.0, 0.0}, true};
    rg.weight.assign(g.z.size(), 0);
    m.rain_gauges.push_back(rg);
  }
  m.drain_mps.assign(g.z.size(), 0);
  for (int j = 0; j < g.ny; ++j)
    for (int i = 0; i < g.nx; ++i) {
      const double x = (i + 0.5) * g.dx, y = (j + 0.5) * g.dx;
      const double d0 = std::hypot(x - 20, y - 20), d1 = std::hypot(x - 200, y - 150);
      const double w0 = 1 / (d0 * d0), w1 = 1 / (d1 * d1);
      m.rain_gauges[0].weight[g.idx(i, j)] = static_cast<real>(w0 / (w0 + w1));
      m.rain_gauges[1].weight[g.idx(i, j)] = static_cast<real>(w1 / (w0 + w1));
      m.rain_gauges[0].weight_sum += w0 / (w0 + w1);
      m.rain_gauges[1].weight_sum += w1 / (w0 + w1);
      if (j >= g.ny / 2) m.drain_mps[g.idx(i, j)] = real(20.0 / 3.6e6);
    }
  open_side(m, west, Boundary{BoundaryKind::free, {}, -1});
  prepare_boundaries(m);
  Inflow in;
  in.cells = {45 * 120 + 100};
  in.discharge = Series{{0.0, 100.0}, {0.0, 5.0}, false};
  m.inflows.push_back(in);
  FloodState s = make_state(m);
  for (int j = 30; j < 60; ++j)
    for (int i = 60; i < 80; ++i) set_depth(m, s, i, j, real(1.5));
  TaskPool pool(threads);
  start(m, s, pool);
  advance(m, s, 50.0, pool);
  REQUIRE(s.steps > 20);
  CHECK(s.balance.relative_error() < test::k_volume_tol);
  return state_hash(m, s);
}

}  // namespace

TEST_CASE("Flood states are bit-identical for 1, 2 and 4 threads") {
  for (Solver solver : {Solver::inertial, Solver::godunov}) {
    const std::uint64_t h1 = run(solver, 1);
    CHECK(run(solver, 2) == h1);
    CHECK(run(solver, 4) == h1);
  }
}
