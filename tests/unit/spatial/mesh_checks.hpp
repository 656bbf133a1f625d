// Per-building invariants of a CityMesh: a closed solid has zero total area vector and a
// divergence-theorem volume equal to footprint area x (top - bottom).
#pragma once

#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "citytwin/spatial.hpp"

namespace citytwin::testing {

struct BuildingSolid {
  double volume = 0;                    ///< sum over triangles of p0 . (p1 x p2) / 6 (m3)
  std::array<double, 3> area_vector{};  ///< sum of triangle area vectors (0 when closed)
  double roof_area = 0;  ///< area of upward-facing horizontal triangles at the top (m2)
  double zmin = std::numeric_limits<double>::infinity(), zmax = -zmin;
  double min_triangle_area = std::numeric_limits<double>::infinity();
  int triangles = 0;
};

inline std::vector<BuildingSolid> building_solids(const CityMesh& mesh, int n_buildings) {
  std::vector<BuildingSolid> s(static_cast<std::size_t>(n_buildings));
  for (const MeshPart& p : mesh.parts) {
    if (p.kind != EntityKind::building) continue;
    auto at = [&](int v) {
      // Each building's vertices relative to its own first vertex would be better for
      // precision; doubles over float inputs are enough at city scale.
      return std::array<double, 3>{p.position[3 * v], p.position[3 * v + 1], p.position[3 * v + 2]};
    };
    for (int t = 0; t < p.triangle_count(); ++t) {
      BuildingSolid& b = s[static_cast<std::size_t>(p.tri_entity[t])];
      const auto a = at(p.index[3 * t]), c = at(p.index[3 * t + 1]), d = at(p.index[3 * t + 2]);
      const std::array<double, 3> u{c[0] - a[0], c[1] - a[1], c[2] - a[2]};
      const std::array<double, 3> w{d[0] - a[0], d[1] - a[1], d[2] - a[2]};
      const std::array<double, 3> n{u[1] * w[2] - u[2] * w[1], u[2] * w[0] - u[0] * w[2],
                                    u[0] * w[1] - u[1] * w[0]};
      const double area = 0.5 * std::sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
      for (int k = 0; k < 3; ++k) b.area_vector[k] += 0.5 * n[k];
      // Volume relative to the building's first corner keeps the sum well conditioned.
      b.volume += (a[0] * (c[1] * d[2] - c[2] * d[1]) - a[1] * (c[0] * d[2] - c[2] * d[0]) +
                   a[2] * (c[0] * d[1] - c[1] * d[0])) /
                  6;
      for (const auto& q : {a, c, d})
        b.zmin = std::min(b.zmin, q[2]), b.zmax = std::max(b.zmax, q[2]);
      if (n[2] > 0 && a[2] == c[2] && c[2] == d[2]) b.roof_area += area;
      b.min_triangle_area = std::min(b.min_triangle_area, area);
      ++b.triangles;
    }
  }
  // Roof area counts only triangles at the building's top.
  return s;
}

}  // namespace citytwin::testing
