// Small builders for flood tests: a model on a synthetic terrain, and depth profiles.
#pragma once

#include <cmath>
#include <cstdio>
#include <functional>

#include "citytwin/flood.hpp"

namespace citytwin::flood::test {

/// The bound on the relative volume error: 1e-4 with float32 state, 1e-6 with double
/// (the balance itself is always accumulated in double).
inline constexpr double k_volume_tol = sizeof(real) == 8 ? 1e-6 : 1e-4;

/// A model of nx x ny cells of size dx with bed z(x, y) at cell centres (x, y from the
/// south-west corner); closed sides, uniform Manning's n (0: frictionless).
inline FloodModel make_model(int nx, int ny, double dx,
                             const std::function<double(double, double)>& z, Solver solver,
                             double manning, int tile = 64) {
  Terrain t;
  t.nx = nx;
  t.ny = ny;
  t.dx = t.dy = dx;
  t.z.resize(static_cast<std::size_t>(nx) * static_cast<std::size_t>(ny));
  for (int j = 0; j < ny; ++j)
    for (int i = 0; i < nx; ++i)
      t.z[static_cast<std::size_t>(j) * nx + i] =
          static_cast<float>(z((i + 0.5) * dx, (j + 0.5) * dx));
  FloodModel m;
  GridOptions opt;
  opt.manning = manning > 0 ? manning : 0.01;
  opt.tile = tile;
  m.grid = make_grid(t, opt).value();
  if (manning <= 0) std::fill(m.grid.gn2.begin(), m.grid.gn2.end(), real(0));
  m.params.solver = solver;
  return m;
}

/// Mean of |h - exact(x, y)| over every active cell (m).
inline double l1_depth_error(const FloodModel& m, const FloodState& s,
                             const std::function<double(double, double)>& exact) {
  const Grid& g = m.grid;
  double sum = 0;
  for (int j = 0; j < g.ny; ++j)
    for (int i = 0; i < g.nx; ++i)
      sum += std::abs(static_cast<double>(s.h[g.idx(i, j)]) -
                      exact((i + 0.5) * g.dx, (j + 0.5) * g.dx));
  return sum / static_cast<double>(g.active_cells);
}

}  // namespace citytwin::flood::test
