// Grid construction, series integrals, the IEEE cube root and dry-tile skipping.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "analytic/flood/fixture.hpp"
#include "flood/kernels.hpp"

using namespace citytwin;
using namespace citytwin::flood;

TEST_CASE("make_grid: nodata cells are inactive walls and counted") {
  Terrain t;
  t.nx = 4, t.ny = 3, t.dx = t.dy = 2.0, t.x0 = 100, t.y0 = 200;
  t.z.assign(12, 5.0f);
  t.z[5] = std::numeric_limits<float>::quiet_NaN();
  t.z[11] = std::numeric_limits<float>::quiet_NaN();
  const auto g = make_grid(t, {0.05, 8});
  REQUIRE(g.has_value());
  CHECK(g->inactive_cells == 2);
  CHECK(g->active_cells == 10);
  CHECK(g->active[g->idx(1, 1)] == 0);
  CHECK(g->z[g->idx(1, 1)] == k_wall_z);
  CHECK(g->z[g->idx(-1, 0)] == k_wall_z);
  CHECK(g->z[g->idx(0, 0)] == 5.0f);
  CHECK(g->gn2[g->idx(0, 0)] == Approx(k_g * 0.05 * 0.05));
  int i = 0, j = 0;
  CHECK(g->locate(105.0, 203.0, i, j));
  CHECK((i == 2 && j == 1));
  CHECK_FALSE(g->locate(99.0, 203.0, i, j));

  Terrain bad = t;
  bad.dy = 3.0;
  const auto e = make_grid(bad);
  REQUIRE_FALSE(e.has_value());
  CHECK(e.error().first().field == "city.dem");
}

TEST_CASE("Series: step and linear integrals are exact") {
  const Series rain{{0.0, 600.0, 1200.0}, {30.0, 60.0, 0.0}, true};
  CHECK(rain.at(-1) == 0);
  CHECK(rain.at(700) == 60);
  CHECK(rain.at(1300) == 0);
  CHECK(rain.integral(300, 900) == Approx(300 * 30 + 300 * 60));
  const Series hyd{{0.0, 100.0}, {0.0, 10.0}, false};
  CHECK(hyd.at(50) == Approx(5));
  CHECK(hyd.integral(0, 100) == Approx(500));
  CHECK(hyd.integral(100, 200) == Approx(1000));  // held after the last point
}

TEST_CASE("cbrt_ieee matches std::cbrt to float and double precision") {
  for (double x : {1e-6, 1e-3, 0.1, 0.7, 1.0, 3.3, 25.0, 1000.0}) {
    CHECK(detail::cbrt_ieee(static_cast<float>(x)) ==
          Approx(std::cbrt(static_cast<float>(x))).epsilon(3e-7));
    CHECK(detail::cbrt_ieee(x) == Approx(std::cbrt(x)).epsilon(1e-15));
  }
}

TEST_CASE("rcbrt_ieee matches 1 / std::cbrt to float and double precision") {
  for (double x : {1e-7, 1e-6, 1e-3, 0.1, 0.7, 1.0, 3.3, 25.0, 1000.0, 1e6}) {
    CHECK(detail::rcbrt_ieee(static_cast<float>(x)) == Approx(1.0 / std::cbrt(x)).epsilon(5e-7));
    CHECK(detail::rcbrt_ieee(x) == Approx(1.0 / std::cbrt(x)).epsilon(1e-15));
  }
}

TEST_CASE("Dry tiles are skipped") {
  // 256 x 256 cells in tiles of 32: water only in the south-west corner tile. The first step
  // computes that tile and its 3 neighbours: 4 of 64 tiles.
  FloodModel m = test::make_model(
      256, 256, 1.0, [](double, double) { return 0.0; }, Solver::inertial, 0.03, 32);
  FloodState s = make_state(m);
  for (int j = 0; j < 8; ++j)
    for (int i = 0; i < 8; ++i) set_depth(m, s, i, j, real(1));
  TaskPool pool(1);
  start(m, s, pool);
  step(m, s, 1e9, pool);
  CHECK(s.active_tiles.size() == 4);
  CHECK(s.cell_updates == 4 * 32 * 32);
}

TEST_CASE("advance: a collapsing time step stalls the interval instead of hanging") {
  // A column of water 1e9 m deep: wave speed sqrt(g h) ~ 1e5 m/s, so the CFL step on 1 m cells
  // is ~1e-5 s, below k_dt_min. (Inputs that would do this are refused when read; this is the
  // solver's own guard.)
  FloodModel m = test::make_model(
      8, 8, 1.0, [](double, double) { return 0.0; }, Solver::inertial, 0.03);
  FloodState s = make_state(m);
  set_depth(m, s, 3, 3, real(1e9));
  TaskPool pool(1);
  start(m, s, pool);
  REQUIRE(s.dt_next < k_dt_min);
  advance(m, s, 1.0, pool);
  CHECK(s.t == 1.0);
  CHECK(s.stalls == 1);
  advance(m, s, 2.0, pool);
  CHECK(s.stalls == 2);
}
