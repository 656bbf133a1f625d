// Probe cells of buildings, road links and points on the flood grid (probes.hpp).
#include "flood/probes.hpp"

#include <cmath>
#include <limits>

#include "flood/domain.hpp"

namespace citytwin::flood {

namespace {

bool holds_water(const Grid& g, std::size_t k) {
  return g.active[k] != 0;
}

void close_entity(Probes& p) {
  // Sorted and unique within the entity: the same cells in the same order for every caller.
  const auto b = static_cast<std::size_t>(p.begin.back());
  std::sort(p.cells.begin() + static_cast<std::ptrdiff_t>(b), p.cells.end());
  p.cells.erase(std::unique(p.cells.begin() + static_cast<std::ptrdiff_t>(b), p.cells.end()),
                p.cells.end());
  p.begin.push_back(static_cast<std::int32_t>(p.cells.size()));
}

}  // namespace

Probes building_probes(const Grid& g, const Buildings& b) {
  Probes p;
  p.begin.push_back(0);
  auto add = [&](double x, double y) {
    int i = 0, j = 0;
    if (g.locate(x, y, i, j) && holds_water(g, g.idx(i, j))) p.cells.push_back(g.idx(i, j));
  };
  const double d = g.dx;
  for (std::int32_t k = 0; k < b.size(); ++k) {
    const auto u = static_cast<std::size_t>(k);
    add(b.centroid_x[u], b.centroid_y[u]);
    const auto r = static_cast<std::size_t>(b.ring_offsets[u]);
    for (auto q = b.point_offsets[r]; q < b.point_offsets[r + 1]; ++q) {
      const double x = b.x[static_cast<std::size_t>(q)], y = b.y[static_cast<std::size_t>(q)];
      add(x, y), add(x + d, y), add(x - d, y), add(x, y + d), add(x, y - d);
    }
    close_entity(p);
  }
  return p;
}

Probes link_probes(const Grid& g, const RoadNetwork& rn) {
  Probes p;
  p.begin.push_back(0);
  for (std::int32_t l = 0; l < rn.link_count(); ++l) {
    const auto p0 = static_cast<std::size_t>(rn.link_point_offsets[static_cast<std::size_t>(l)]),
               p1 =
                   static_cast<std::size_t>(rn.link_point_offsets[static_cast<std::size_t>(l) + 1]);
    for (std::int32_t c : line_cells(g, rn.point_x.data() + p0, rn.point_y.data() + p0, p1 - p0)) {
      const std::size_t k = g.idx(c % g.nx, c / g.nx);
      if (holds_water(g, k)) p.cells.push_back(k);
    }
    close_entity(p);
  }
  return p;
}

std::int64_t nearest_open_cell(const Grid& g, double x, double y, double radius_m) {
  const double fi = (x - g.x0) / g.dx - 0.5, fj = (y - g.y0) / g.dx - 0.5;
  const int r = static_cast<int>(std::ceil(radius_m / g.dx));
  const int ci = static_cast<int>(std::lround(fi)), cj = static_cast<int>(std::lround(fj));
  std::int64_t best = -1;
  double best_d2 = std::numeric_limits<double>::infinity();
  for (int j = std::max(0, cj - r); j <= std::min(g.ny - 1, cj + r); ++j)
    for (int i = std::max(0, ci - r); i <= std::min(g.nx - 1, ci + r); ++i) {
      const std::size_t k = g.idx(i, j);
      if (!holds_water(g, k)) continue;
      const double dx = (i - fi) * g.dx, dy = (j - fj) * g.dx, d2 = dx * dx + dy * dy;
      if (d2 <= radius_m * radius_m && d2 < best_d2)
        best_d2 = d2, best = static_cast<std::int64_t>(k);
    }
  return best;
}

}  // namespace citytwin::flood
