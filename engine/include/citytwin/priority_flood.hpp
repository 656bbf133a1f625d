// Priority-flood depression filling, one implementation for the engine's two grids: the city's
// DEM (city.fill_depressions, city_model.cpp) and the flood grid after the buildings
// (flood.fill_depressions, flood/compile.cpp). Private to the engine: the city module owns it,
// the flood module includes it. A template over how a cell's elevation and openness are read,
// so that each grid keeps its layout (the DEM's rows, the flood grid's padded arrays) and its
// element type (float, or the flood solver's real).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <queue>
#include <type_traits>
#include <utility>
#include <vector>

namespace citytwin {

/// Priority-flood (Barnes, Lehman & Mulla 2014, "Priority-flood: an optimal depression-filling
/// and watershed-labeling algorithm", Computers & Geosciences 62, Algorithm 1) on an nx * ny
/// grid, 4-connected, cell (i, j) numbered c = j * nx + i. `z(i, j)` returns a reference to the
/// cell's elevation, `open(i, j)` whether it takes part (closed cells are barriers and never
/// change). Starting from the open cells among `outlets` (cell numbers; repeats count once),
/// cells are visited in order of (elevation, number) and each is raised to the lowest level
/// from which water can run to an outlet. `reached` (nx * ny, reset by the call) is 1 on every
/// cell visited. Returns the number of cells raised.
template <class Z, class Open>
std::int64_t priority_flood(int nx, int ny, const std::vector<std::int64_t>& outlets, Z&& z,
                            Open&& open, std::vector<std::uint8_t>& reached) {
  using Level = std::remove_cvref_t<decltype(z(0, 0))>;
  using Item = std::pair<Level, std::int64_t>;
  std::priority_queue<Item, std::vector<Item>, std::greater<>> queue;
  reached.assign(static_cast<std::size_t>(nx) * static_cast<std::size_t>(ny), 0);
  for (const std::int64_t c : outlets) {
    const int i = static_cast<int>(c % nx), j = static_cast<int>(c / nx);
    if (reached[static_cast<std::size_t>(c)] || !open(i, j)) continue;
    reached[static_cast<std::size_t>(c)] = 1;
    queue.emplace(z(i, j), c);
  }
  std::int64_t raised = 0;
  while (!queue.empty()) {
    const auto [level, c] = queue.top();
    queue.pop();
    const int i = static_cast<int>(c % nx), j = static_cast<int>(c / nx);
    for (int d = 0; d < 4; ++d) {
      const int a = i + (d == 0) - (d == 1), b = j + (d == 2) - (d == 3);
      if (a < 0 || b < 0 || a >= nx || b >= ny) continue;
      const std::int64_t n = static_cast<std::int64_t>(b) * nx + a;
      if (reached[static_cast<std::size_t>(n)] || !open(a, b)) continue;
      reached[static_cast<std::size_t>(n)] = 1;
      Level& zn = z(a, b);
      if (zn < level) zn = level, ++raised;
      queue.emplace(zn, n);
    }
  }
  return raised;
}

}  // namespace citytwin
