// Flood solvers on the standard grids (1000 x 1000 cells), float32 unless built with
// CITYTWIN_DOUBLE. Rate = cell updates per second: cells in computed tiles, summed over steps.
#include <chrono>
#include <ctime>
#include <stdexcept>

#include "bench.hpp"
#include "citytwin/flood.hpp"

namespace {

using namespace citytwin;
using namespace citytwin::flood;

FloodModel flat_model(Solver solver, double dx) {
  Terrain t;
  t.nx = t.ny = 1000;
  t.dx = t.dy = dx;
  t.z.assign(1000 * 1000, 0.0f);
  FloodModel m;
  auto g = make_grid(t, {0.03, 64});
  if (!g) throw std::runtime_error(g.error().to_string());
  m.grid = std::move(*g);
  m.params.solver = solver;
  return m;
}

bench::Result run(const FloodModel& m, FloodState& s, double t_end, int threads) {
  using Clock = std::chrono::steady_clock;
  TaskPool pool(threads);
  start(m, s, pool);
  const auto t0 = Clock::now();
  const std::clock_t c0 = std::clock();
  advance(m, s, t_end, pool);
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  // Process CPU time: on a shared machine wall time includes waiting for a core.
  const double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  return {static_cast<double>(s.cell_updates) / wall,
          "cell_updates/s",
          wall,
          {{"cells", 1e6},
           {"dx_m", m.grid.dx},
           {"simulated_s", t_end},
           {"steps", static_cast<double>(s.steps)},
           {"cell_updates", static_cast<double>(s.cell_updates)},
           {"volume_error", s.balance.relative_error()},
           {"cpu_s", cpu},
           {"rate_per_cpu_s", static_cast<double>(s.cell_updates) / cpu}},
          {{"precision", sizeof(real) == 4 ? "float32" : "float64"},
           {"solver", to_string(m.params.solver)}}};
}

bench::Result wet1000(Solver solver, double t_end, int threads) {
  FloodModel m = flat_model(solver, 10.0);
  FloodState s = make_state(m);
  set_level(m, s, 1.0);
  return run(m, s, t_end, threads);
}

CT_BENCH("flood.inertial.wet1000",
         "inertial, 1000x1000 cells of 10 m, 1 m of water everywhere, 1800 s simulated",
         [](int threads) { return wet1000(Solver::inertial, 1800, threads); });

CT_BENCH("flood.godunov.wet1000",
         "godunov, 1000x1000 cells of 10 m, 1 m of water everywhere, 300 s simulated",
         [](int threads) { return wet1000(Solver::godunov, 300, threads); });

bench::Result inflow1000(int threads) {
  FloodModel m = flat_model(Solver::inertial, 5.0);
  Inflow in;
  in.name = "point";
  in.cells = {500 * 1000 + 500};
  in.discharge = Series{{0.0}, {100.0}, false};
  m.inflows.push_back(in);
  FloodState s = make_state(m);
  auto r = run(m, s, 1800, threads);
  r.size.push_back({"inflow_m3s", 100});
  return r;
}

CT_BENCH("flood.inertial.inflow1000",
         "inertial, dry 1000x1000 plain of 5 m cells, 100 m3/s point inflow at the centre, 1800 s",
         inflow1000);

}  // namespace
