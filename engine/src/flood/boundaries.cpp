// Boundary conditions compiled into the model (docs/scenario-flood.md, docs/lisflood.md): a
// condition on a side opens the side's cells in its range; a level at a point holds that cell;
// a discharge per unit width (LISFLOOD-FP's QFIX / QVAR) is imposed on the boundary faces of an
// edge (inertial), else it becomes an inflow of q * dx per cell (godunov, points).
#include <algorithm>
#include <cmath>
#include <tuple>

#include <fmt/format.h>

#include "flood/domain.hpp"

namespace citytwin::flood {

namespace {

// The condition's series (a .bdy series, already read and checked, or a CSV), or its constant
// value.
Result<Series> load_series(const BoundarySpec& b, const SeriesRange& range) {
  if (!b.bdy.empty()) return b.bdy;
  if (!b.series.empty()) return read_series_csv(b.series, false, range);
  return Series{{0.0}, {b.value}, false};
}

// Boundary cells of a side whose centres lie in [from, to] along it: {first, last}, or the cell
// holding the middle of a range narrower than a cell; {0, -1} when the range misses the side.
std::pair<int, int> side_range(const Grid& g, int side, double from, double to) {
  const bool along_y = side == west || side == east;
  const int count = along_y ? g.ny : g.nx;
  const double origin = along_y ? g.y0 : g.x0;
  const double lo = std::max(from, origin), hi = std::min(to, origin + count * g.dx);
  if (!(lo <= hi)) return {0, -1};
  // Compared in double before converting: the range may be far outside int.
  const double a = std::ceil((lo - origin) / g.dx - 0.5),
               b = std::floor((hi - origin) / g.dx - 0.5);
  if (a <= b) return {static_cast<int>(a), static_cast<int>(b)};
  const int mid =
      std::clamp(static_cast<int>(std::floor((0.5 * (lo + hi) - origin) / g.dx)), 0, count - 1);
  return {mid, mid};
}

// Unpadded index of boundary cell k of a side.
std::int32_t side_cell(const Grid& g, int side, int k) {
  if (side == west) return k * g.nx;
  if (side == east) return k * g.nx + g.nx - 1;
  if (side == south) return k;
  return (g.ny - 1) * g.nx + k;
}

}  // namespace

Result<void> compile_boundary(const BoundarySpec& b, FloodModel& m) {
  const Grid& g = m.grid;
  using Type = BoundarySpec::Type;
  std::vector<std::int32_t> cells;
  int first = 0, last = -1;
  if (b.side >= 0) {
    std::tie(first, last) = side_range(g, b.side, b.from, b.to);
    for (int k = first; k <= last; ++k) {
      const std::int32_t c = side_cell(g, b.side, k);
      if (g.active[g.idx(c % g.nx, c / g.nx)]) cells.push_back(c);
    }
  } else {
    int i = 0, j = 0;
    if (g.locate(b.at.x, b.at.y, i, j) && g.active[g.idx(i, j)]) cells.push_back(j * g.nx + i);
  }
  if (cells.empty())
    return fail(Diagnostic::at(
        b.where, 0, "", "the boundary condition holds no active cell",
        b.side >= 0 ? fmt::format("{} to {} along the side", b.from, b.to)
                    : fmt::format("[{}, {}]", b.at.x, b.at.y),
        b.side >= 0 ? "a range along the side over active cells" : "a point over an active cell"));
  switch (b.type) {
    case Type::closed: {
      auto& v = m.side_bc[static_cast<std::size_t>(b.side)];
      if (!v.empty())
        for (int k = first; k <= last; ++k) v[static_cast<std::size_t>(k)] = -1;
      return {};
    }
    case Type::free:
      open_side(m, static_cast<Side>(b.side), Boundary{BoundaryKind::free, {}, b.slope}, first,
                last);
      return {};
    case Type::level: {
      auto level = load_series(b, k_level_range);
      if (!level) return fail(level.error());
      Boundary bd{BoundaryKind::level, std::move(*level), -1};
      if (b.side >= 0) {
        open_side(m, static_cast<Side>(b.side), std::move(bd), first, last);
      } else {
        m.boundaries.push_back(std::move(bd));
        m.held_cells.push_back({cells[0], static_cast<std::int32_t>(m.boundaries.size()) - 1});
      }
      return {};
    }
    case Type::discharge: {
      auto q = load_series(b, k_unit_discharge_range);
      if (!q) return fail(q.error());
      if (b.side >= 0 && m.params.solver == Solver::inertial) {
        open_side(m, static_cast<Side>(b.side),
                  Boundary{BoundaryKind::discharge, std::move(*q), -1}, first, last);
        return {};
      }
      // q (m2/s) over each cell's width: the inflow spreads q dx n evenly over its n cells.
      const double scale = g.dx * static_cast<double>(cells.size());
      for (double& v : q->value) v *= scale;
      Inflow in;
      in.name = b.where;
      in.cells = std::move(cells);
      in.discharge = std::move(*q);
      m.inflows.push_back(std::move(in));
      return {};
    }
  }
  return {};
}

}  // namespace citytwin::flood
