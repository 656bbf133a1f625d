// The flood grid's cells under the city's shapes (domain.hpp): inside a polygon (building
// footprints, lakes), near or along a polyline (breaches, roads), and the inverse-distance
// weights of the rain gauges at a cell's centre. Cells are unpadded indices j * nx + i.
#include "flood/domain.hpp"

#include <algorithm>
#include <cmath>

namespace citytwin::flood {

namespace {

// Cells [first, last] of one axis (n cells from `origin`, size dx) that [lo, hi] overlaps,
// clamped in floating point before the conversion to int: a coordinate of 1e30 or NaN from a
// file must not overflow it. False when nothing overlaps.
bool cell_span(double lo, double hi, double origin, double dx, int n, int& first, int& last) {
  const double a = std::floor((lo - origin) / dx), b = std::floor((hi - origin) / dx);
  if (!(a <= n - 1.0 && b >= 0.0 && a <= b)) return false;
  first = static_cast<int>(std::max(a, 0.0));
  last = static_cast<int>(std::min(b, n - 1.0));
  return true;
}

}  // namespace

bool clip_to_grid(const Grid& g, Point2& a, Point2& b) {
  const double vx = b.x - a.x, vy = b.y - a.y;
  if (!std::isfinite(vx) || !std::isfinite(vy) || !std::isfinite(a.x) || !std::isfinite(a.y))
    return false;
  const double p[4] = {-vx, vx, -vy, vy};
  const double q[4] = {a.x - g.x0, g.x0 + g.nx * g.dx - a.x, a.y - g.y0, g.y0 + g.ny * g.dx - a.y};
  double t0 = 0, t1 = 1;
  for (int k = 0; k < 4; ++k) {
    if (p[k] == 0) {
      if (q[k] < 0) return false;  // parallel to this edge and outside it
    } else if (p[k] < 0) {
      t0 = std::max(t0, q[k] / p[k]);
    } else {
      t1 = std::min(t1, q[k] / p[k]);
    }
  }
  if (t0 > t1) return false;
  const Point2 o = a;
  a = {o.x + t0 * vx, o.y + t0 * vy};
  b = {o.x + t1 * vx, o.y + t1 * vy};
  return true;
}

std::vector<std::int32_t> cells_in_polygon(const Grid& g, const double* x, const double* y, int n) {
  std::vector<std::int32_t> cells;
  if (n < 3) return cells;
  const double xmin = *std::min_element(x, x + n), xmax = *std::max_element(x, x + n);
  const double ymin = *std::min_element(y, y + n), ymax = *std::max_element(y, y + n);
  int i0 = 0, i1 = -1, j0 = 0, j1 = -1;
  if (!cell_span(xmin, xmax, g.x0, g.dx, g.nx, i0, i1) ||
      !cell_span(ymin, ymax, g.y0, g.dx, g.ny, j0, j1))
    return cells;
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
  int i0 = 0, i1 = -1, j0 = 0, j1 = -1;
  if (!cell_span(x0 - half_width, x1 + half_width, g.x0, g.dx, g.nx, i0, i1) ||
      !cell_span(y0 - half_width, y1 + half_width, g.y0, g.dx, g.ny, j0, j1))
    return cells;
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
    Point2 a{x[p], y[p]}, b = p + 1 < n ? Point2{x[p + 1], y[p + 1]} : a;
    if (!clip_to_grid(g, a, b)) {
      pi = -1;
      continue;
    }
    const int steps =
        std::max(1, static_cast<int>(std::hypot(b.x - a.x, b.y - a.y) / (0.25 * g.dx)));
    for (int s = 0; s <= steps; ++s) {
      int i = 0, j = 0;
      if (!g.locate(a.x + (b.x - a.x) * s / steps, a.y + (b.y - a.y) * s / steps, i, j)) {
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
