// Shared pieces of the flood solvers: branch-free maths that vectorises, tile geometry, and
// the solver entry points (inertial.cpp, godunov.cpp) behind flood::step.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "citytwin/flood.hpp"

namespace citytwin::flood::detail {

/// Cube root of x >= 0 from IEEE operations only, so it vectorises and gives the same bits in
/// scalar and SIMD code: an exponent-divided-by-three initial guess, then Newton steps
/// y <- (2y + x/y^2)/3 (two reach float precision, four double). x = 0 gives a tiny positive
/// value, callers guard with their own depth thresholds.
[[gnu::always_inline]] inline float cbrt_ieee(float x) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(x) / 3u + 709921077u;
  float y = std::bit_cast<float>(bits);
  for (int k = 0; k < 3; ++k) y = (2.0f * y + x / (y * y)) * (1.0f / 3.0f);
  return y;
}
[[gnu::always_inline]] inline double cbrt_ieee(double x) {
  const std::uint64_t bits = std::bit_cast<std::uint64_t>(x) / 3u + 0x2A9F7893782DA1CEull;
  double y = std::bit_cast<double>(bits);
  for (int k = 0; k < 5; ++k) y = (2.0 * y + x / (y * y)) * (1.0 / 3.0);
  return y;
}

/// x^(-1/3) for x > 0 without a division: bit-trick initial guess (magic constants of Moroz,
/// Samotyy, Walczyk & Cieslinski 2021, "Fast calculation of cube and inverse cube roots using a
/// magic constant and its implementation on microcontrollers", Energies 14, 1058; within 3.4 %)
/// then Newton steps y <- y (4 - x y^3) / 3 (error e -> ~2 e^2: three reach float precision,
/// four double).
[[gnu::always_inline]] inline float rcbrt_ieee(float x) {
  const std::uint32_t bits = 0x54a21d2au - std::bit_cast<std::uint32_t>(x) / 3u;
  float y = std::bit_cast<float>(bits);
  for (int k = 0; k < 3; ++k) y = y * (4.0f - x * y * y * y) * (1.0f / 3.0f);
  return y;
}
[[gnu::always_inline]] inline double rcbrt_ieee(double x) {
  const std::uint64_t bits = 0x553ef0ff289dd796ull - std::bit_cast<std::uint64_t>(x) / 3u;
  double y = std::bit_cast<double>(bits);
  for (int k = 0; k < 4; ++k) y = y * (4.0 - x * y * y * y) * (1.0 / 3.0);
  return y;
}

/// Row partials reduced in 8 fixed lanes (lane = position mod 8, combined in lane order): the
/// loops vectorise without reassociating sums, and the result depends only on positions,
/// never on threads.
inline constexpr int k_lanes = 8;

/// Clamps the depths of a row to >= 0; adds the clamped (created) water to `neg`, the depth
/// sum to `sum` and raises `hmax`.
inline void clamp_depths(real* h, int i0, int i1, double& sum, double& neg, real& hmax) {
  real s[k_lanes] = {}, n[k_lanes] = {}, mx[k_lanes] = {};
  int i = i0;
  for (; i + k_lanes <= i1; i += k_lanes)
    for (int l = 0; l < k_lanes; ++l) {
      const real v = h[i + l];
      n[l] += std::min(v, real(0));
      const real c = std::max(v, real(0));
      h[i + l] = c;
      s[l] += c;
      mx[l] = std::max(mx[l], c);
    }
  for (; i < i1; ++i) {
    n[0] += std::min(h[i], real(0));
    h[i] = std::max(h[i], real(0));
    s[0] += h[i];
    mx[0] = std::max(mx[0], h[i]);
  }
  for (int l = 0; l < k_lanes; ++l) {
    sum += static_cast<double>(s[l]);
    neg -= static_cast<double>(n[l]);
    hmax = std::max(hmax, mx[l]);
  }
}

/// Largest wave speed max(|u|, |v|) + sqrt(g h) over a row of cell-centred (h, hu, hv).
inline real max_wave_speed(const real* h, const real* hu, const real* hv, int i0, int i1,
                           real h_dry) {
  const real g = static_cast<real>(k_g);
  real mx[k_lanes] = {};
  auto speed = [&](int i) {
    const real r = real(1) / std::max(h[i], h_dry);
    const real inv = h[i] > h_dry ? r : real(0);
    return std::max(std::abs(hu[i]), std::abs(hv[i])) * inv + std::sqrt(g * h[i]);
  };
  int i = i0;
  for (; i + k_lanes <= i1; i += k_lanes)
    for (int l = 0; l < k_lanes; ++l) mx[l] = std::max(mx[l], speed(i + l));
  for (; i < i1; ++i) mx[0] = std::max(mx[0], speed(i));
  real m = 0;
  for (int l = 0; l < k_lanes; ++l) m = std::max(m, mx[l]);
  return m;
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

/// Godunov scratch per tile (FloodState::recon): 36 rows of tile + 4 reals (a ring of 4 rows
/// of u, v, eta; the x slopes of h, eta, u, v; a ring of 2 rows of y slopes; one row of x face
/// fluxes; a ring of 2 rows of y face fluxes, 4 arrays each).
inline constexpr int k_recon_rows = 36;
inline std::size_t recon_per_tile(const Grid& g) {
  return static_cast<std::size_t>(k_recon_rows) * static_cast<std::size_t>(g.tile + 4);
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
