// The flood grid's cells under the city's shapes (domain.hpp): inside a polygon (building
// footprints, lakes), near or along a polyline (breaches, roads), and the inverse-distance
// weights of the rain gauges at a cell's centre. Cells are unpadded indices j * nx + i.
#include "flood/domain.hpp"

#include <algorithm>
#include <cmath>

namespace citytwin::flood {

std::vector<std::int32_t> cells_in_polygon(const Grid& g, const double* x, const double* y, int n) {
  std::vector<std::int32_t> cells;
  if (n < 3) return cells;
  const double xmin = *std::min_element(x, x + n), xmax = *std::max_element(x, x + n);
  const double ymin = *std::min_element(y, y + n), ymax = *std::max_element(y, y + n);
  const int i0 = std::max(0, static_cast<int>(std::floor((xmin - g.x0) / g.dx)));
  const int i1 = std::min(g.nx - 1, static_cast<int>(std::floor((xmax - g.x0) / g.dx)));
  const int j0 = std::max(0, static_cast<int>(std::floor((ymin - g.y0) / g.dx)));
  const int j1 = std::min(g.ny - 1, static_cast<int>(std::floor((ymax - g.y0) / g.dx)));
  for (int j = j0; j <= j1; ++j) {
    const double py = g.y0 + (j + 0.5) * g.dx;
    for (int i = i0; i <= i1; ++i) {
      const double px = g.x0 + (i + 0.5) * g.dx;
      bool inside = false;
      for (int a = 0, b = n - 1; a < n; b = a++)
        if ((y[a] > py) != (y[b] > py) && px < x[b] + (x[a] - x[b]) * (py - y[b]) / (y[a] - y[b]))
          inside = !inside;
      if (inside) cells.push_back(j * g.nx + i);
    }
  }
  return cells;
}

std::vector<std::int32_t> cells_near_line(const Grid& g, const std::vector<Point2>& line,
                                          double half_width) {
  std::vector<std::int32_t> cells;
  if (line.empty()) return cells;
  double x0 = line[0].x, x1 = x0, y0 = line[0].y, y1 = y0;
  for (const Point2& p : line)
    x0 = std::min(x0, p.x), x1 = std::max(x1, p.x), y0 = std::min(y0, p.y), y1 = std::max(y1, p.y);
  const int i0 = std::max(0, static_cast<int>(std::floor((x0 - half_width - g.x0) / g.dx)));
  const int i1 = std::min(g.nx - 1, static_cast<int>(std::floor((x1 + half_width - g.x0) / g.dx)));
  const int j0 = std::max(0, static_cast<int>(std::floor((y0 - half_width - g.y0) / g.dx)));
  const int j1 = std::min(g.ny - 1, static_cast<int>(std::floor((y1 + half_width - g.y0) / g.dx)));
  for (int j = j0; j <= j1; ++j)
    for (int i = i0; i <= i1; ++i) {
      const double px = g.x0 + (i + 0.5) * g.dx, py = g.y0 + (j + 0.5) * g.dx;
      double d2 = 1e300;
      for (std::size_t k = 0; k < line.size(); ++k) {
        const Point2 a = line[k], b = k + 1 < line.size() ? line[k + 1] : line[k];
        const double vx = b.x - a.x, vy = b.y - a.y, l2 = vx * vx + vy * vy;
        const double t =
            l2 > 0 ? std::clamp(((px - a.x) * vx + (py - a.y) * vy) / l2, 0.0, 1.0) : 0.0;
        const double dx = px - a.x - t * vx, dy = py - a.y - t * vy;
        d2 = std::min(d2, dx * dx + dy * dy);
      }
      if (d2 <= half_width * half_width) cells.push_back(j * g.nx + i);
    }
  return cells;
}

std::vector<std::int32_t> line_cells(const Grid& g, const double* x, const double* y,
                                     std::size_t n) {
  std::vector<std::int32_t> cells;
  int pi = -1, pj = -1;
  for (std::size_t p = 0; p < n; ++p) {
    const double ax = x[p], ay = y[p], bx = p + 1 < n ? x[p + 1] : ax,
                 by = p + 1 < n ? y[p + 1] : ay;
    const int steps = std::max(1, static_cast<int>(std::hypot(bx - ax, by - ay) / (0.25 * g.dx)));
    for (int s = 0; s <= steps; ++s) {
      int i = 0, j = 0;
      if (!g.locate(ax + (bx - ax) * s / steps, ay + (by - ay) * s / steps, i, j)) {
        pi = -1;
        continue;
      }
      // A diagonal move takes the cell beside it too: water passes through faces only.
      if (pi >= 0 && i != pi && j != pj) cells.push_back(pj * g.nx + i);
      cells.push_back(j * g.nx + i);
      pi = i, pj = j;
    }
  }
  std::sort(cells.begin(), cells.end());
  cells.erase(std::unique(cells.begin(), cells.end()), cells.end());
  return cells;
}

void idw_weights(const Grid& g, int i, int j, const std::vector<Point2>& gauges, double p,
                 double* w) {
  const double x = g.x0 + (i + 0.5) * g.dx, y = g.y0 + (j + 0.5) * g.dx;
  double sum = 0;
  for (std::size_t k = 0; k < gauges.size(); ++k) {
    const double d = std::hypot(x - gauges[k].x, y - gauges[k].y);
    if (d < 1e-9) {  // on a gauge: that gauge alone
      for (std::size_t m = 0; m < gauges.size(); ++m) w[m] = m == k ? 1.0 : 0.0;
      return;
    }
    w[k] = std::pow(d, -p);
    sum += w[k];
  }
  for (std::size_t k = 0; k < gauges.size(); ++k) w[k] /= sum;
}

}  // namespace citytwin::flood
