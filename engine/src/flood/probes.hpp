// Private to flood/: where the flood grid is read for the city's entities. One owner for
// "the depth at a building" and "the depth over a road link": the exchange (depth now), the
// run file's maxima (/flood/building_max_depth, /flood/link_max_depth) and so the viewer all
// read the same cells.
#pragma once

#include <cstdint>
#include <vector>

#include "citytwin/flood.hpp"

namespace citytwin::flood {

/// Cells per entity, CSR of padded grid indices (only cells that can hold water).
struct Probes {
  std::vector<std::int32_t> begin;  ///< (n + 1)
  std::vector<std::size_t> cells;

  std::int32_t size() const { return static_cast<std::int32_t>(begin.size()) - 1; }
  /// Largest value of a padded field over entity k's cells (0 when it has none).
  template <class T>
  float max(const std::vector<T>& field, std::int32_t k) const {
    float m = 0;
    for (auto c = begin[static_cast<std::size_t>(k)]; c < begin[static_cast<std::size_t>(k) + 1];
         ++c)
      m = std::max(m, static_cast<float>(field[cells[static_cast<std::size_t>(c)]]));
    return m;
  }
};

/// A building's cells: its centroid cell and, around every vertex of its outer ring, the vertex
/// cell and its four neighbours (with buildings as walls, the water stands against the walls).
Probes building_probes(const Grid& g, const Buildings& b);
/// A road link's cells: every cell its polyline crosses (4-connected).
Probes link_probes(const Grid& g, const RoadNetwork& rn);
/// The water-holding cell nearest to a point (centre distance, ties to the lower index) within
/// `radius_m`, as a padded index; -1 when there is none (outside the grid, or all walls).
std::int64_t nearest_open_cell(const Grid& g, double x, double y, double radius_m);

}  // namespace citytwin::flood
