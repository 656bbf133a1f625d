// Shared pieces of the flood solvers: branch-free maths that vectorises, tile geometry, and
// the solver entry points (inertial.cpp, godunov.cpp) behind flood::step.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

#include "citytwin/flood.hpp"

namespace citytwin::flood::detail {

/// Cube root of x >= 0 from IEEE operations only, so it vectorises and gives the same bits in
/// scalar and SIMD code: an exponent-divided-by-three initial guess, then Newton steps
/// y <- (2y + x/y^2)/3 (two reach float precision, four double). x = 0 gives a tiny positive
/// value, callers guard with their own depth thresholds.
inline float cbrt_ieee(float x) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(x) / 3u + 709921077u;
  float y = std::bit_cast<float>(bits);
  for (int k = 0; k < 3; ++k) y = (2.0f * y + x / (y * y)) * (1.0f / 3.0f);
  return y;
}
inline double cbrt_ieee(double x) {
  const std::uint64_t bits = std::bit_cast<std::uint64_t>(x) / 3u + 0x2A9F7893782DA1CEull;
  double y = std::bit_cast<double>(bits);
  for (int k = 0; k < 5; ++k) y = (2.0 * y + x / (y * y)) * (1.0 / 3.0);
  return y;
}

/// Cells [i0, i1) x [j0, j1) of a tile.
struct TileBox {
  int i0, i1, j0, j1;
};
inline TileBox tile_box(const Grid& g, std::int32_t t) {
  const int ti = t % g.tiles_x, tj = t / g.tiles_x;
  return {ti * g.tile, std::min(g.nx, (ti + 1) * g.tile), tj * g.tile,
          std::min(g.ny, (tj + 1) * g.tile)};
}

/// Tiles per parallel block: fixed, so blocks never depend on the thread count.
inline constexpr std::int64_t k_tile_grain = 2;

// Solver steps: advance by exactly dt (dt already respects the CFL limit in state.dt_next),
// update the per-tile partials (stored, wet, hmax/speed, clamped) and return the new CFL dt.
double inertial_step(const FloodModel& m, FloodState& s, double dt, TaskPool& pool);
double godunov_step(const FloodModel& m, FloodState& s, double dt, TaskPool& pool);
/// CFL time step from the current state (used once at start).
double inertial_dt(const FloodModel& m, const FloodState& s);
double godunov_dt(const FloodModel& m, const FloodState& s);
/// Fills ghost cells of (h, hu, hv) for free and level boundaries at time t.
void fill_ghosts(const FloodModel& m, real* h, real* hu, real* hv, double t, bool centred);

}  // namespace citytwin::flood::detail
