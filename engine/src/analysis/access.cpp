// Road access from critical facilities: multi-source Dijkstra (Dijkstra 1959) over the directed
// road links of /city/roads, driven at their speed limits, every facility of a kind a source.
#include "analysis/access.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <queue>
#include <unordered_map>

#include "citytwin/io.hpp"

namespace citytwin {

namespace {
template <class T>
Result<std::vector<T>> need(const RunReader& run, const char* path) {
  auto v = run.read_values<T>(path);
  if (!v) return fail(Error::msg(std::string("not a CityTwin run file: ") + path + " is missing"));
  return v;
}

// Nearest node of each query point on a uniform grid of nodes (cells of `cell` metres,
// searched in growing rings until the best distance is certain).
std::vector<std::int32_t> nearest_nodes(const std::vector<double>& nx,
                                        const std::vector<double>& ny,
                                        const std::vector<double>& qx,
                                        const std::vector<double>& qy) {
  std::vector<std::int32_t> out(qx.size(), -1);
  if (nx.empty()) return out;
  const double cell = 100.0;
  const double x0 = *std::min_element(nx.begin(), nx.end());
  const double y0 = *std::min_element(ny.begin(), ny.end());
  auto key = [](std::int64_t i, std::int64_t j) { return (i << 32) ^ (j & 0xffffffff); };
  std::unordered_map<std::int64_t, std::vector<std::int32_t>> grid;
  for (std::size_t n = 0; n < nx.size(); ++n)
    grid[key(static_cast<std::int64_t>(std::floor((nx[n] - x0) / cell)),
             static_cast<std::int64_t>(std::floor((ny[n] - y0) / cell)))]
        .push_back(static_cast<std::int32_t>(n));
  for (std::size_t q = 0; q < qx.size(); ++q) {
    if (!std::isfinite(qx[q]) || !std::isfinite(qy[q])) continue;
    const auto ci = static_cast<std::int64_t>(std::floor((qx[q] - x0) / cell));
    const auto cj = static_cast<std::int64_t>(std::floor((qy[q] - y0) / cell));
    double best = std::numeric_limits<double>::infinity();
    for (std::int64_t r = 0;; ++r) {
      // Every node outside ring r - 1 is at least (r - 1) cells away.
      if (r > 0 && best <= ((r - 1) * cell) * ((r - 1) * cell)) break;
      if (r > 4096) break;  // a point kilometres off every road keeps its best so far
      for (std::int64_t i = ci - r; i <= ci + r; ++i)
        for (std::int64_t j = cj - r; j <= cj + r; ++j) {
          if (std::max(std::abs(i - ci), std::abs(j - cj)) != r) continue;
          const auto it = grid.find(key(i, j));
          if (it == grid.end()) continue;
          for (std::int32_t n : it->second) {
            const double dx = nx[static_cast<std::size_t>(n)] - qx[q];
            const double dy = ny[static_cast<std::size_t>(n)] - qy[q];
            const double d2 = dx * dx + dy * dy;
            if (d2 < best || (d2 == best && n < out[q])) best = d2, out[q] = n;
          }
        }
    }
  }
  return out;
}

void csr(std::int32_t nodes, const std::vector<std::int32_t>& key, std::vector<std::int32_t>& begin,
         std::vector<std::int32_t>& items) {
  begin.assign(static_cast<std::size_t>(nodes) + 1, 0);
  for (std::int32_t k : key) ++begin[static_cast<std::size_t>(k) + 1];
  for (std::size_t n = 0; n < static_cast<std::size_t>(nodes); ++n) begin[n + 1] += begin[n];
  items.resize(key.size());
  std::vector<std::int32_t> fill(begin.begin(), begin.end() - 1);
  for (std::size_t l = 0; l < key.size(); ++l)
    items[static_cast<std::size_t>(fill[static_cast<std::size_t>(key[l])]++)] =
        static_cast<std::int32_t>(l);
}
}  // namespace

Result<RoadAccess> RoadAccess::load(const RunReader& run) {
  RoadAccess a;
  auto nx = need<double>(run, "/city/roads/node_x");
  auto ny = need<double>(run, "/city/roads/node_y");
  auto from = need<std::int32_t>(run, "/city/roads/link_from");
  auto to = need<std::int32_t>(run, "/city/roads/link_to");
  auto len = need<double>(run, "/city/roads/link_length_m");
  auto speed = need<double>(run, "/city/roads/link_speed_mps");
  auto bx = need<double>(run, "/city/buildings/centroid_x");
  auto by = need<double>(run, "/city/buildings/centroid_y");
  for (const auto* r : {&nx, &ny, &len, &speed, &bx, &by})
    if (!*r) return fail(r->error());
  for (const auto* r : {&from, &to})
    if (!*r) return fail(r->error());
  a.m_nodes = static_cast<std::int32_t>(nx->size());
  a.m_from = std::move(*from);
  a.m_to = std::move(*to);
  a.m_time.resize(a.m_from.size());
  for (std::size_t l = 0; l < a.m_time.size(); ++l)
    a.m_time[l] = (*len)[l] / std::max((*speed)[l], 0.1);
  csr(a.m_nodes, a.m_from, a.m_out_begin, a.m_out);
  csr(a.m_nodes, a.m_to, a.m_in_begin, a.m_in);
  a.m_building_node = nearest_nodes(*nx, *ny, *bx, *by);
  // Runs written before facilities were imported have none: the access KPIs are then NaN.
  if (run.exists("/city/facilities/x")) {
    auto fx = need<double>(run, "/city/facilities/x");
    auto fy = need<double>(run, "/city/facilities/y");
    auto fk = need<std::uint8_t>(run, "/city/facilities/kind");
    if (!fx) return fail(fx.error());
    if (!fy) return fail(fy.error());
    if (!fk) return fail(fk.error());
    a.m_facility_node = nearest_nodes(*nx, *ny, *fx, *fy);
    a.m_facility_kind = std::move(*fk);
  }
  return a;
}

std::vector<double> RoadAccess::node_times(int kind, bool from_facility,
                                           std::span<const std::uint8_t> closed) const {
  constexpr double inf = std::numeric_limits<double>::infinity();
  std::vector<double> t(static_cast<std::size_t>(m_nodes), inf);
  using Item = std::pair<double, std::int32_t>;
  std::priority_queue<Item, std::vector<Item>, std::greater<>> heap;
  for (std::size_t f = 0; f < m_facility_node.size(); ++f)
    if (m_facility_kind[f] == kind && m_facility_node[f] >= 0) {
      t[static_cast<std::size_t>(m_facility_node[f])] = 0;
      heap.push({0.0, m_facility_node[f]});
    }
  // From a facility: follow links forward; to a facility: search backwards along links.
  const auto& begin = from_facility ? m_out_begin : m_in_begin;
  const auto& items = from_facility ? m_out : m_in;
  const auto& far = from_facility ? m_to : m_from;
  while (!heap.empty()) {
    const auto [d, n] = heap.top();
    heap.pop();
    if (d > t[static_cast<std::size_t>(n)]) continue;
    for (std::int32_t k = begin[static_cast<std::size_t>(n)];
         k < begin[static_cast<std::size_t>(n) + 1]; ++k) {
      const auto l = static_cast<std::size_t>(items[static_cast<std::size_t>(k)]);
      if (!closed.empty() && closed[l]) continue;
      const double nd = d + m_time[l];
      const auto m = static_cast<std::size_t>(far[l]);
      if (nd < t[m]) t[m] = nd, heap.push({nd, far[l]});
    }
  }
  return t;
}

std::vector<double> RoadAccess::building_times(int kind, bool from_facility,
                                               std::span<const std::uint8_t> closed) const {
  if (std::find(m_facility_kind.begin(), m_facility_kind.end(), kind) == m_facility_kind.end())
    return {};
  const std::vector<double> t = node_times(kind, from_facility, closed);
  std::vector<double> out(m_building_node.size(), std::numeric_limits<double>::infinity());
  for (std::size_t b = 0; b < out.size(); ++b)
    if (m_building_node[b] >= 0) out[b] = t[static_cast<std::size_t>(m_building_node[b])];
  return out;
}

std::vector<double> RoadAccess::facility_times(int kind, bool from_facility,
                                               std::span<const std::uint8_t> closed) const {
  if (std::find(m_facility_kind.begin(), m_facility_kind.end(), kind) == m_facility_kind.end())
    return {};
  const std::vector<double> t = node_times(kind, from_facility, closed);
  std::vector<double> out(m_facility_node.size(), std::numeric_limits<double>::infinity());
  for (std::size_t f = 0; f < out.size(); ++f)
    if (m_facility_node[f] >= 0) out[f] = t[static_cast<std::size_t>(m_facility_node[f])];
  return out;
}

}  // namespace citytwin
