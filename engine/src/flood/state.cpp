// The flood time loop shared by both solvers: state allocation, active tiles, rain and inflow,
// the volume balance, and dispatch to the solver step.
//
// Active tiles: a tile is computed when it or one of its 8 neighbours held water after the
// last step (a front moves less than one cell per step under the CFL condition, so it cannot
// skip a tile), when it holds an inflow or an open level boundary, or everywhere while it
// rains. A tile leaving the set has its discharges zeroed, so faces it owns read as dry.
#include <algorithm>
#include <cmath>

#include "citytwin/flood.hpp"
#include "citytwin/hash.hpp"
#include "flood/kernels.hpp"

namespace citytwin::flood {

using detail::tile_box;

double Balance::relative_error() const {
  const double scale =
      std::max({initial, stored, rain + inflow, std::abs(assimilated), outflow, losses, 1e-30});
  return std::abs(error()) / scale;
}

void open_side(FloodModel& model, Side side, Boundary b, int first, int last) {
  const Grid& g = model.grid;
  const int count = side == west || side == east ? g.ny : g.nx;
  auto& cells = model.side_bc[static_cast<std::size_t>(side)];
  if (cells.empty()) cells.assign(static_cast<std::size_t>(count), -1);
  const std::int32_t id = static_cast<std::int32_t>(model.boundaries.size());
  model.boundaries.push_back(std::move(b));
  for (int k = std::max(first, 0); k <= std::min(last, count - 1); ++k)
    cells[static_cast<std::size_t>(k)] = id;
}

void prepare_boundaries(FloodModel& model) {
  Grid& g = model.grid;
  for (Boundary& b : model.boundaries) b.bed_min = 1e300;
  for (int side = 0; side < 4; ++side) {
    if (!model.side_open(side)) continue;
    const bool along_x = side == west || side == east;
    const int count = along_x ? g.ny : g.nx;
    for (int k = 0; k < count; ++k) {
      int bi = 0, bj = 0, di = 0, dj = 0;
      if (side == west) bi = 0, bj = k, di = -1;
      if (side == east) bi = g.nx - 1, bj = k, di = 1;
      if (side == south) bi = k, bj = 0, dj = -1;
      if (side == north) bi = k, bj = g.ny - 1, dj = 1;
      const std::size_t c = g.idx(bi, bj), in = g.idx(bi - di, bj - dj);
      const Boundary* b = model.boundary(side, k);
      for (int layer = 1; layer <= Grid::halo; ++layer) {
        const std::size_t gc = g.idx(bi + layer * di, bj + layer * dj);
        g.z[gc] = k_wall_z;
        g.gn2[gc] = g.gn2[c];
      }
      // Discharge boundaries keep wall ghosts: the face is imposed, not computed.
      if (!b || !g.active[c] || b->kind == BoundaryKind::discharge) continue;
      Boundary& bm = model.boundaries[static_cast<std::size_t>(
          model.side_bc[static_cast<std::size_t>(side)][static_cast<std::size_t>(k)])];
      bm.bed_min = std::min(bm.bed_min, static_cast<double>(g.z[c]));
      // Free: the bed drop per cell outwards, the given slope times dx or the drop from the inner
      // neighbour to the boundary cell continued (>= 0 so a free side never pushes water in).
      real drop = 0;
      if (b->kind == BoundaryKind::free)
        drop = b->slope >= 0                                 ? static_cast<real>(b->slope * g.dx)
               : (along_x ? g.nx : g.ny) > 1 && g.active[in] ? std::max(real(0), g.z[in] - g.z[c])
                                                             : real(0);
      for (int layer = 1; layer <= Grid::halo; ++layer)
        g.z[g.idx(bi + layer * di, bj + layer * dj)] = g.z[c] - real(layer) * drop;
    }
  }
}

FloodState make_state(const FloodModel& model) {
  const Grid& g = model.grid;
  const std::size_t n = static_cast<std::size_t>(g.sx) * static_cast<std::size_t>(g.sy);
  const std::size_t tiles = static_cast<std::size_t>(g.tile_count());
  FloodState s;
  s.h.assign(n, 0);
  s.qx.assign(n, 0);
  s.qy.assign(n, 0);
  s.drain_mps = model.drain_mps;
  s.b0.assign(n, 0);
  s.b1.assign(n, 0);
  // Inertial: b2 holds the donor factors; ghosts keep 1 (boundary inflow is never limited).
  s.b2.assign(n, model.params.solver == Solver::inertial ? 1 : 0);
  // Inertial: the faces on tile edges, recomputed by the tile west / south of them; godunov:
  // the mass fluxes through the domain's sides (its face fluxes stay in the tile scratch).
  s.fx[0].assign(n, 0);
  s.fy[0].assign(n, 0);
  if (model.params.solver == Solver::godunov) s.recon.assign(tiles * detail::recon_per_tile(g), 0);
  s.active_tiles.reserve(tiles);
  s.tile_on.assign(tiles, 0);
  s.tile_wet.assign(tiles, 0);
  s.tile_stored.assign(tiles, 0);
  s.tile_clamped.assign(tiles, 0);
  s.tile_speed.assign(tiles, 0);
  s.tile_loss.assign(tiles, 0);
  s.tile_drained.assign(tiles, 0);
  s.tile_hmax.assign(tiles, 0);
  s.tile_live.assign(tiles, 0);
  for (std::int32_t t = 0; t < g.tile_count(); ++t) {
    const auto b = tile_box(g, t);
    for (int j = b.j0; j < b.j1; ++j)
      for (int i = b.i0; i < b.i1; ++i)
        s.tile_live[static_cast<std::size_t>(t)] |= g.active[g.idx(i, j)];
  }
  return s;
}

void set_level(const FloodModel& model, FloodState& state, double level) {
  const Grid& g = model.grid;
  for (int j = 0; j < g.ny; ++j)
    for (int i = 0; i < g.nx; ++i) {
      const std::size_t c = g.idx(i, j);
      if (g.active[c] && g.z[c] < level) state.h[c] = static_cast<real>(level - g.z[c]);
    }
}

double stored_volume(const FloodModel& model, const FloodState& state) {
  const Grid& g = model.grid;
  double sum = 0;
  for (int j = 0; j < g.ny; ++j) {
    double row = 0;
    for (int i = 0; i < g.nx; ++i) row += static_cast<double>(state.h[g.idx(i, j)]);
    sum += row;
  }
  return sum * g.cell_area();
}

namespace {

// Per-tile wet flags from the depths (serial; used at start only, steps update them).
void scan_tiles(const FloodModel& m, FloodState& s) {
  const Grid& g = m.grid;
  for (std::int32_t t = 0; t < g.tile_count(); ++t) {
    const auto b = tile_box(g, t);
    bool wet = false;
    real hmax = 0;
    for (int j = b.j0; j < b.j1; ++j)
      for (int i = b.i0; i < b.i1; ++i) {
        wet = wet || s.h[g.idx(i, j)] > real(0);
        hmax = std::max(hmax, s.h[g.idx(i, j)]);
      }
    s.tile_wet[static_cast<std::size_t>(t)] = wet;
    s.tile_hmax[static_cast<std::size_t>(t)] = hmax;
  }
}

// Zeroes the discharges (and godunov face fluxes) of a tile that leaves the active set.
void clear_tile(const FloodModel& m, FloodState& s, std::int32_t t) {
  const Grid& g = m.grid;
  const auto b = tile_box(g, t);
  // Faces owned by the tile include the domain's east/north faces on the last tiles.
  const int i1 = b.i1 + (b.i1 == g.nx), j1 = b.j1 + (b.j1 == g.ny);
  auto zero = [&](std::vector<real>& a) {
    if (a.empty()) return;
    for (int j = b.j0; j < j1; ++j)
      std::fill(a.begin() + static_cast<std::ptrdiff_t>(g.idx(b.i0, j)),
                a.begin() + static_cast<std::ptrdiff_t>(g.idx(i1, j)), real(0));
  };
  zero(s.qx), zero(s.qy), zero(s.b0), zero(s.b1);
  if (m.params.solver == Solver::godunov) zero(s.b2);  // inertial: donor factors, rewritten
  for (auto& f : s.fx) zero(f);
  for (auto& f : s.fy) zero(f);
}

// A tile on the grid's edge holding a boundary cell whose ghosts a level sets or whose face a
// discharge is imposed on: water can come in there while the tile is dry.
bool forced_tile(const FloodModel& m, int ti, int tj) {
  const Grid& g = m.grid;
  const auto any_forced = [&](int side, int k0, int k1) {
    if (!m.side_open(side)) return false;
    for (int k = k0; k < k1; ++k) {
      const Boundary* b = m.boundary(side, k);
      if (b && (b->kind == BoundaryKind::level || b->kind == BoundaryKind::discharge)) return true;
    }
    return false;
  };
  const int i0 = ti * g.tile, i1 = std::min(g.nx, i0 + g.tile);
  const int j0 = tj * g.tile, j1 = std::min(g.ny, j0 + g.tile);
  return (ti == 0 && any_forced(west, j0, j1)) ||
         (ti == g.tiles_x - 1 && any_forced(east, j0, j1)) ||
         (tj == 0 && any_forced(south, i0, i1)) ||
         (tj == g.tiles_y - 1 && any_forced(north, i0, i1));
}

// Rebuilds the active tile list for a step over [t, t + dt].
void update_active_tiles(const FloodModel& m, FloodState& s, double dt) {
  const Grid& g = m.grid;
  bool raining = m.rain_mm_h.integral(s.t, s.t + dt) > 0;
  for (const RainGauge& rg : m.rain_gauges)
    raining = raining || rg.mm_h.integral(s.t, s.t + dt) > 0;
  const std::size_t tiles = static_cast<std::size_t>(g.tile_count());
  std::vector<std::uint8_t>& want = s.tile_on;  // reused: old flags read before overwrite
  s.active_tiles.clear();
  for (int tj = 0; tj < g.tiles_y; ++tj)
    for (int ti = 0; ti < g.tiles_x; ++ti) {
      const std::int32_t t = tj * g.tiles_x + ti;
      // A tile without active cells holds no water and no face of it can carry any.
      const bool live = s.tile_live[static_cast<std::size_t>(t)] != 0;
      bool on = raining && live;
      for (int dj = -1; dj <= 1 && !on; ++dj)
        for (int di = -1; di <= 1 && !on; ++di) {
          const int a = ti + di, b = tj + dj;
          on = a >= 0 && b >= 0 && a < g.tiles_x && b < g.tiles_y &&
               s.tile_wet[static_cast<std::size_t>(b * g.tiles_x + a)];
        }
      on = live && (on || forced_tile(m, ti, tj));
      if (on)
        s.active_tiles.push_back(t);
      else if (want[static_cast<std::size_t>(t)])
        clear_tile(m, s, t);
    }
  const auto keep = [&](std::int32_t c) {
    const std::int32_t t = (c / g.nx / g.tile) * g.tiles_x + (c % g.nx) / g.tile;
    if (std::find(s.active_tiles.begin(), s.active_tiles.end(), t) == s.active_tiles.end())
      s.active_tiles.push_back(t);
  };
  for (const Inflow& in : m.inflows)
    for (std::int32_t c : in.cells) keep(c);
  for (const HeldCell& hc : m.held_cells) keep(hc.cell);
  std::sort(s.active_tiles.begin(), s.active_tiles.end());
  std::fill(want.begin(), want.begin() + static_cast<std::ptrdiff_t>(tiles), 0);
  for (std::int32_t t : s.active_tiles) want[static_cast<std::size_t>(t)] = 1;
}

// Losses over the active tiles (dry tiles hold no water to lose): Horton infiltration (f at
// the middle of the step) plus the cell's drainage capacity, never more than the water
// present: each cell loses min(h, (f + drain) dt). Per-tile sums reduced in tile order.
void apply_losses(const FloodModel& m, FloodState& s, double dt, TaskPool& pool) {
  const Params& p = m.params;
  const bool infil = p.infil_f0_mm_h > 0 || p.infil_fc_mm_h > 0;
  const bool drain = !s.drain_mps.empty();
  if (!infil && !drain) return;
  const Grid& g = m.grid;
  const double t_h = (s.t + 0.5 * dt) / 3600.0;
  const double f = infil ? p.infil_fc_mm_h + (p.infil_f0_mm_h - p.infil_fc_mm_h) *
                                                 std::exp(-p.infil_k_per_h * t_h)
                         : 0.0;
  const real dh = static_cast<real>(f / 1000.0 / 3600.0 * dt);
  const real rdt = static_cast<real>(dt);
  pool.for_blocks(static_cast<std::int64_t>(s.active_tiles.size()), detail::k_tile_grain,
                  [&](std::int64_t b, std::int64_t e, int) {
                    for (std::int64_t k = b; k < e; ++k) {
                      const std::int32_t t = s.active_tiles[static_cast<std::size_t>(k)];
                      const auto box = tile_box(g, t);
                      double lost = 0, drained = 0;
                      for (int j = box.j0; j < box.j1; ++j) {
                        real* h = s.h.data() + g.idx(0, j);
                        real row = 0, row_d = 0;
                        if (drain) {
                          const real* cap = s.drain_mps.data() + g.idx(0, j);
                          for (int i = box.i0; i < box.i1; ++i) {
                            const real take = std::min(h[i], dh + cap[i] * rdt);
                            // The drainage share: what is left after infiltration took its part.
                            row_d += std::max(real(0), take - dh);
                            h[i] -= take;
                            row += take;
                          }
                        } else {
                          for (int i = box.i0; i < box.i1; ++i) {
                            const real take = std::min(h[i], dh);
                            h[i] -= take;
                            row += take;
                          }
                        }
                        lost += static_cast<double>(row);
                        drained += static_cast<double>(row_d);
                      }
                      s.tile_loss[static_cast<std::size_t>(t)] = lost;
                      s.tile_drained[static_cast<std::size_t>(t)] = drained;
                    }
                  });
  double lost = 0, drained = 0;
  for (std::int32_t t : s.active_tiles) {
    lost += s.tile_loss[static_cast<std::size_t>(t)];
    drained += s.tile_drained[static_cast<std::size_t>(t)];
  }
  s.balance.losses += lost * g.cell_area();
  s.balance.drained += drained * g.cell_area();
}

// Rain over every active cell and inflow hydrographs into their cells, as volumes over the
// step (exact integrals of the series), so the balance sees exactly what was added.
void apply_sources(const FloodModel& m, FloodState& s, double dt, TaskPool& pool) {
  const Grid& g = m.grid;
  const double rain_m = s.rain_factor * m.rain_mm_h.integral(s.t, s.t + dt) / 1000.0 / 3600.0;
  if (rain_m > 0) {
    const real dh = static_cast<real>(rain_m);
    pool.for_blocks(static_cast<std::int64_t>(s.active_tiles.size()), detail::k_tile_grain,
                    [&](std::int64_t b, std::int64_t e, int) {
                      for (std::int64_t k = b; k < e; ++k) {
                        const auto box = tile_box(g, s.active_tiles[static_cast<std::size_t>(k)]);
                        for (int j = box.j0; j < box.j1; ++j) {
                          real* h = s.h.data() + g.idx(0, j);
                          const std::uint8_t* act = g.active.data() + g.idx(0, j);
                          for (int i = box.i0; i < box.i1; ++i) h[i] += act[i] ? dh : real(0);
                        }
                      }
                    });
    s.balance.rain += static_cast<double>(dh) * g.cell_area() * static_cast<double>(g.active_cells);
  }
  // Rain gauges: each adds its depth times its inverse-distance weight on every active cell.
  double gauge_dh[16] = {};  // at most 16 gauges (parse_flood)
  const std::size_t ng = m.rain_gauges.size();
  bool gauge_rain = false;
  for (std::size_t k = 0; k < ng; ++k) {
    const RainGauge& rg = m.rain_gauges[k];
    gauge_dh[k] = s.rain_factor * rg.mm_h.integral(s.t, s.t + dt) / 1000.0 / 3600.0;
    gauge_rain = gauge_rain || gauge_dh[k] > 0;
  }
  if (gauge_rain) {
    pool.for_blocks(static_cast<std::int64_t>(s.active_tiles.size()), detail::k_tile_grain,
                    [&](std::int64_t b, std::int64_t e, int) {
                      for (std::int64_t a = b; a < e; ++a) {
                        const auto box = tile_box(g, s.active_tiles[static_cast<std::size_t>(a)]);
                        for (std::size_t k = 0; k < ng; ++k) {
                          const real dh = static_cast<real>(gauge_dh[k]);
                          if (!(dh > 0)) continue;
                          for (int j = box.j0; j < box.j1; ++j) {
                            real* h = s.h.data() + g.idx(0, j);
                            const real* w = m.rain_gauges[k].weight.data() + g.idx(0, j);
                            for (int i = box.i0; i < box.i1; ++i) h[i] += w[i] * dh;
                          }
                        }
                      }
                    });
    for (std::size_t k = 0; k < ng; ++k)
      s.balance.rain += gauge_dh[k] * m.rain_gauges[k].weight_sum * g.cell_area();
  }
  apply_losses(m, s, dt, pool);
  for (const Inflow& in : m.inflows) {
    if (in.cells.empty()) continue;
    const double vol = in.discharge.integral(s.t, s.t + dt);
    const real dh = static_cast<real>(vol / (g.cell_area() * static_cast<double>(in.cells.size())));
    for (std::int32_t c : in.cells) s.h[g.idx(c % g.nx, c / g.nx)] += dh;
    s.balance.inflow +=
        static_cast<double>(dh) * g.cell_area() * static_cast<double>(in.cells.size());
  }
}

// The sea takes every drop above its level (counted as outflow); it has no currents of its own.
// Cells a point boundary holds are set to their level the same way, in or out.
void apply_held_levels(const FloodModel& m, FloodState& s) {
  const Grid& g = m.grid;
  const std::vector<real>& z = bed_of(m, s);
  double out = 0;
  const bool centred = m.params.solver == Solver::godunov;
  const auto hold = [&](std::int32_t c, double level) {
    const std::size_t k = g.idx(c % g.nx, c / g.nx);
    const real target = std::max(real(0), static_cast<real>(level) - z[k]);
    out += static_cast<double>(s.h[k]) - static_cast<double>(target);
    s.h[k] = target;
    if (centred) s.qx[k] = s.qy[k] = 0;
  };
  for (std::int32_t c : m.sea_cells) hold(c, m.sea_level);
  for (const HeldCell& hc : m.held_cells)
    hold(hc.cell, m.boundaries[static_cast<std::size_t>(hc.boundary)].level.at(s.t));
  s.balance.outflow += out * g.cell_area();
}

}  // namespace

void start(const FloodModel& model, FloodState& state, TaskPool& /*pool*/) {
  scan_tiles(model, state);
  state.balance = Balance{};
  state.balance.initial = state.balance.stored = stored_volume(model, state);
  state.dt_next = model.params.solver == Solver::inertial ? detail::inertial_dt(model, state)
                                                          : detail::godunov_dt(model, state);
}

// The time step the forcing allows: the CFL condition over the water it puts on cells within
// the step, which the last step's wave speeds (dt_next) do not know: a level boundary's depth in
// its ghost cells, a held cell's depth, and a source's inflow over the step on top of what its
// cells hold (a hydrograph starting on dry ground; with dt_max over a dry grid the godunov
// scheme would otherwise step far beyond its CFL limit and create water by clamping). The
// godunov bound takes the dam-break front speed 2 sqrt(g h); the inertial one its own sqrt(g h).
double forcing_dt(const FloodModel& m, const FloodState& s, double dt) {
  const Grid& g = m.grid;
  const bool inertial = m.params.solver == Solver::inertial;
  const double k = m.params.courant() * g.dx / ((inertial ? 1.0 : 2.0) * std::sqrt(k_g));
  double h = 0;
  for (const Boundary& b : m.boundaries)
    if (b.kind == BoundaryKind::level) h = std::max(h, b.level.at(s.t) - b.bed_min);
  // An imposed boundary discharge adds q dt / dx per step to its cell.
  for (int pass = 0; pass < 4; ++pass) {
    double hq = 0;
    for (const Boundary& b : m.boundaries)
      if (b.kind == BoundaryKind::discharge)
        hq = std::max(hq, b.level.integral(s.t, s.t + dt) / g.dx);
    if (!(hq > 0) || k / std::sqrt(hq) >= dt) break;
    dt = k / std::sqrt(hq);
  }
  for (const HeldCell& hc : m.held_cells)
    h = std::max(h, m.boundaries[static_cast<std::size_t>(hc.boundary)].level.at(s.t) -
                        static_cast<double>(bed_of(m, s)[g.idx(hc.cell % g.nx, hc.cell / g.nx)]));
  if (h > 0) dt = std::min(dt, k / std::sqrt(h));
  // Inflows: the depth added depends on the step; a few fixed-point passes shorten it until
  // the added depth fits (each pass only shortens).
  for (int pass = 0; pass < 4 && !m.inflows.empty(); ++pass) {
    double hin = 0;
    for (const Inflow& in : m.inflows) {
      if (in.cells.empty()) continue;
      double h0 = 0;
      for (std::int32_t c : in.cells)
        h0 = std::max(h0, static_cast<double>(s.h[g.idx(c % g.nx, c / g.nx)]));
      hin = std::max(hin, h0 + in.discharge.integral(s.t, s.t + dt) /
                                   (g.cell_area() * static_cast<double>(in.cells.size())));
    }
    if (!(hin > 0) || k / std::sqrt(hin) >= dt) break;
    dt = k / std::sqrt(hin);
  }
  return dt;
}

double step(const FloodModel& model, FloodState& state, double dt_limit, TaskPool& pool) {
  const Grid& g = model.grid;
  const double dt =
      forcing_dt(model, state, std::min({dt_limit, state.dt_next, model.params.dt_max}));
  update_active_tiles(model, state, dt);
  if (!model.sea_cells.empty() || !model.held_cells.empty()) apply_held_levels(model, state);
  apply_sources(model, state, dt, pool);
  state.dt_next = model.params.solver == Solver::inertial
                      ? detail::inertial_step(model, state, dt, pool)
                      : detail::godunov_step(model, state, dt, pool);
  // Balance from the per-tile partials, in tile order (deterministic).
  double stored = 0, clamped = 0;
  std::int64_t cells = 0;
  for (std::int32_t t : state.active_tiles) {
    stored += state.tile_stored[static_cast<std::size_t>(t)];
    clamped += state.tile_clamped[static_cast<std::size_t>(t)];
    const auto b = tile_box(g, t);
    cells += static_cast<std::int64_t>(b.i1 - b.i0) * (b.j1 - b.j0);
  }
  state.balance.stored = stored * g.cell_area();
  state.balance.clamped += clamped * g.cell_area();
  if (clamped > 0) ++state.clamp_events;
  state.cell_updates += cells;
  state.t += dt;
  ++state.steps;
  return dt;
}

void advance(const FloodModel& model, FloodState& state, double t_end, TaskPool& pool) {
  while (state.t < t_end) {
    // A time step that collapses (speeds of kilometres per second, or NaN) would never reach
    // t_end: count the stall and give up the rest of the interval rather than hang.
    if (!(state.dt_next >= k_dt_min)) {
      ++state.stalls;
      state.t = t_end;
      break;
    }
    const double left = t_end - state.t;
    // Land exactly on t_end, and never leave a sliver step behind.
    const double dt =
        left < 1.5 * state.dt_next ? (left <= state.dt_next ? left : 0.5 * left) : state.dt_next;
    step(model, state, dt, pool);
    if (t_end - state.t < 1e-9) state.t = t_end;
  }
}

double nudge_depth(const FloodModel& model, FloodState& state, double x, double y, double radius,
                   double target_depth, double gain) {
  const Grid& g = model.grid;
  int gi = 0, gj = 0;
  if (!g.locate(x, y, gi, gj)) return 0;
  const double misfit = target_depth - state.h[g.idx(gi, gj)];
  const int reach = static_cast<int>(std::ceil(radius / g.dx));
  const double r2max = radius * radius;
  double added = 0, hmax = 0;
  for (int j = std::max(0, gj - reach); j <= std::min(g.ny - 1, gj + reach); ++j)
    for (int i = std::max(0, gi - reach); i <= std::min(g.nx - 1, gi + reach); ++i) {
      const std::size_t c = g.idx(i, j);
      const double ddx = (i - gi) * g.dx, ddy = (j - gj) * g.dx, r2 = ddx * ddx + ddy * ddy;
      if (!g.active[c] || r2 > r2max) continue;
      const double w = r2max > 0 ? (r2max - r2) / (r2max + r2) : 1.0;
      const double h0 = state.h[c];
      const double h1 = std::max(0.0, h0 + gain * w * misfit);
      state.h[c] = static_cast<real>(h1);
      added += (static_cast<double>(state.h[c]) - h0) * g.cell_area();
      hmax = std::max(hmax, h1);
      if (h1 > 0) {
        const std::size_t t = static_cast<std::size_t>((j / g.tile) * g.tiles_x + i / g.tile);
        state.tile_wet[t] = 1;
        state.tile_hmax[t] = std::max(state.tile_hmax[t], static_cast<real>(h1));
      }
    }
  state.balance.assimilated += added;
  // The next time step must suit the deeper water (Bates et al. 2010, eq. 12).
  if (hmax > model.params.h_flow)
    state.dt_next = std::min(state.dt_next, model.params.courant() * g.dx / std::sqrt(k_g * hmax));
  return added;
}

void velocity(const FloodModel& model, const FloodState& state, int i, int j, double& u,
              double& v) {
  const Grid& g = model.grid;
  const std::size_t c = g.idx(i, j);
  const double h = state.h[c];
  u = v = 0;
  if (!(h > model.params.h_dry) || !g.active[c]) return;
  if (model.params.solver == Solver::godunov) {
    u = state.qx[c] / h;
    v = state.qy[c] / h;
  } else {
    // Face discharges averaged to the centre.
    u = 0.5 * (static_cast<double>(state.qx[c]) + state.qx[c + 1]) / h;
    v = 0.5 * (static_cast<double>(state.qy[c]) + state.qy[c + static_cast<std::size_t>(g.sx)]) / h;
  }
}

std::uint64_t state_hash(const FloodModel& /*model*/, const FloodState& state) {
  StateHasher hs;
  hs.add(state.t);
  hs.add(state.steps);
  hs.add(state.h);
  hs.add(state.qx);
  hs.add(state.qy);
  hs.add(state.balance.stored);
  hs.add(state.balance.outflow);
  return hs.digest();
}

}  // namespace citytwin::flood
