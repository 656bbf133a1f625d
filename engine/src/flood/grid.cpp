// The flood grid from the terrain: padded arrays, walls on ghosts and nodata, Manning's n,
// tiles. Also the ghost-cell fill for open boundaries (shared by both solvers).
#include <cmath>
#include <string>
#include <utility>

#include "citytwin/flood.hpp"
#include "flood/kernels.hpp"

namespace citytwin::flood {

const char* to_string(Solver s) {
  return s == Solver::inertial ? "inertial" : "godunov";
}

double Params::stability_limit() const {
  return std::sqrt(theta / 2);
}

double Params::courant() const {
  if (cfl > 0) return cfl;
  return solver == Solver::inertial ? 0.9 * stability_limit() : 0.45;
}

bool Grid::locate(double x, double y, int& i, int& j) const {
  const double fi = std::floor((x - x0) / dx), fj = std::floor((y - y0) / dx);
  if (!(fi >= 0 && fj >= 0 && fi < nx && fj < ny)) return false;  // NaN too
  i = static_cast<int>(fi);
  j = static_cast<int>(fj);
  return true;
}

Result<Grid> make_grid(const Terrain& terrain, const GridOptions& options) {
  auto bad = [](std::string field, std::string message, std::string found, std::string expected) {
    Diagnostic d;
    d.field = std::move(field);
    d.message = std::move(message);
    d.found = std::move(found);
    d.expected = std::move(expected);
    return fail(std::move(d));
  };
  if (terrain.empty()) return bad("city.dem", "the terrain is empty", "", "a DEM with cells");
  if (std::abs(terrain.dx - terrain.dy) > 1e-6 * terrain.dx)
    return bad("city.dem", "the flood grid needs square cells",
               std::to_string(terrain.dx) + " x " + std::to_string(terrain.dy), "dx == dy");
  if (!(options.manning > 0))
    return bad("flood.manning", "Manning's n must be positive", std::to_string(options.manning),
               "a roughness in s/m^(1/3), e.g. 0.03");
  if (options.tile < 8)
    return bad("flood.tile", "tiles must be at least 8 cells wide", std::to_string(options.tile),
               ">= 8");
  Grid g;
  g.nx = terrain.nx;
  g.ny = terrain.ny;
  g.sx = g.nx + 2 * Grid::halo;
  g.sy = g.ny + 2 * Grid::halo;
  g.x0 = terrain.x0;
  g.y0 = terrain.y0;
  g.dx = terrain.dx;
  g.tile = options.tile;
  g.tiles_x = (g.nx + g.tile - 1) / g.tile;
  g.tiles_y = (g.ny + g.tile - 1) / g.tile;
  const std::size_t n = static_cast<std::size_t>(g.sx) * static_cast<std::size_t>(g.sy);
  g.z.assign(n, k_wall_z);
  g.gn2.assign(n, static_cast<real>(k_g * options.manning * options.manning));
  g.active.assign(n, 0);
  for (int j = 0; j < g.ny; ++j)
    for (int i = 0; i < g.nx; ++i) {
      const float z = terrain.at(i, j);
      if (std::isnan(z)) {
        ++g.inactive_cells;
        continue;
      }
      g.z[g.idx(i, j)] = static_cast<real>(z);
      g.active[g.idx(i, j)] = 1;
      ++g.active_cells;
    }
  return g;
}

namespace detail {

// Ghost cells beyond the open boundary cells. Both ghost layers get the same state (zero
// gradient) over the beds prepare_boundaries set: a free boundary keeps the boundary cell's
// depth over a lowered bed (normal-depth outflow), a level boundary sets the ghost depth from
// the level over the boundary cell's bed.
void fill_ghosts(const FloodModel& m, real* h, real* hu, real* hv, double t, bool centred) {
  const Grid& g = m.grid;
  // Neighbouring boundary cells mostly share their condition: its level is looked up once per
  // run of cells (no allocation in a step).
  std::int32_t level_id = -1;
  double level_now = 0;
  for (int side = 0; side < 4; ++side) {
    if (!m.side_open(side)) continue;
    const auto& bc = m.side_bc[static_cast<std::size_t>(side)];
    const bool along_x = side == west || side == east;
    const int count = along_x ? g.ny : g.nx;
    for (int k = 0; k < count; ++k) {
      const std::int32_t id = bc[static_cast<std::size_t>(k)];
      if (id < 0) continue;
      int bi = 0, bj = 0, di = 0, dj = 0;
      if (side == west) bi = 0, bj = k, di = -1;
      if (side == east) bi = g.nx - 1, bj = k, di = 1;
      if (side == south) bi = k, bj = 0, dj = -1;
      if (side == north) bi = k, bj = g.ny - 1, dj = 1;
      const std::size_t c = g.idx(bi, bj);
      if (!g.active[c]) continue;
      const Boundary& b = m.boundaries[static_cast<std::size_t>(id)];
      if (b.kind == BoundaryKind::discharge) continue;  // walls; the face is imposed
      const bool level = b.kind == BoundaryKind::level;
      if (level && id != level_id) level_id = id, level_now = b.level.at(t);
      for (int layer = 1; layer <= Grid::halo; ++layer) {
        const std::size_t gc = g.idx(bi + layer * di, bj + layer * dj);
        const real zg = g.z[gc];
        real hg = h[c];
        if (level) hg = static_cast<real>(std::max(0.0, level_now - zg));
        h[gc] = hg;
        if (centred) {
          const bool wet = h[c] > real(0);
          hu[gc] = wet ? hu[c] / h[c] * hg : real(0);
          hv[gc] = wet ? hv[c] / h[c] * hg : real(0);
        }
      }
    }
  }
}

}  // namespace detail
}  // namespace citytwin::flood
