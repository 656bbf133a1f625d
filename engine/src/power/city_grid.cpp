// Synthesis of a city's distribution grid from buildings and streets (see city_grid.hpp).
#include "citytwin/city_grid.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <queue>
#include <unordered_map>

namespace citytwin::power {

namespace {

constexpr double k_inf = std::numeric_limits<double>::infinity();

struct Builder {
  const CityModel& city;
  const CityGridParams& p;
  CityGrid g;

  std::int32_t add_bus(GridBusKind kind, double kv, double x, double y,
                       std::int32_t road_node = -1) {
    g.bus_kind.push_back(kind);
    g.bus_kv.push_back(kv);
    g.bus_x.push_back(x);
    g.bus_y.push_back(y);
    g.bus_road_node.push_back(road_node);
    g.bus_peak_w.push_back(0);
    g.bus_substation.push_back(-1);
    return g.n_bus() - 1;
  }

  void add_branch(GridBranchKind kind, std::int32_t from, std::int32_t to, double length_m,
                  double rating_mva, double r_ohm, double x_ohm, double b_us, double kv,
                  std::int32_t road_link) {
    g.br_kind.push_back(kind);
    g.br_from.push_back(from);
    g.br_to.push_back(to);
    g.br_length_m.push_back(length_m);
    g.br_rating_mva.push_back(rating_mva);
    g.br_r_ohm.push_back(r_ohm);
    g.br_x_ohm.push_back(x_ohm);
    g.br_b_us.push_back(b_us);
    g.br_kv.push_back(kv);
    g.br_road_link.push_back(road_link);
  }

  // Transformer impedance from its short-circuit voltage uk and copper losses ur (per unit of
  // its rating), referred to the `kv` side: |Z| = uk kV^2 / S (IEC 60076-5 convention).
  void add_transformer(GridBranchKind kind, std::int32_t from, std::int32_t to, double mva,
                       double uk, double ur, double kv) {
    const double z = uk * kv * kv / mva, r = ur * kv * kv / mva;
    add_branch(kind, from, to, 0, mva, r, std::sqrt(z * z - r * r), 0, kv, -1);
  }

  void add_cable(GridBranchKind kind, std::int32_t from, std::int32_t to, double length_m,
                 std::int32_t link) {
    const double km = length_m * 1e-3;
    const double omega = 2 * M_PI * 50;
    const double rating = std::sqrt(3.0) * p.mv_kv * p.cable_ampacity * 1e-3;
    add_branch(kind, from, to, length_m, rating, p.cable_r * km, p.cable_x * km,
               omega * p.cable_c_uf * km, p.mv_kv, link);
  }
};

// Quadtree over building centroids: leaves become LV buses.
void split(Builder& b, std::vector<std::int32_t>& ids, double x0, double y0, double size,
           std::vector<std::int32_t>& leaf_of, std::vector<std::vector<std::int32_t>>& leaves) {
  if (ids.empty()) return;
  const auto& bl = b.city.buildings;
  double peak_kva = 0;
  for (std::int32_t i : ids) peak_kva += b.g.building_peak_w[i] / b.p.power_factor * 1e-3;
  const double capacity = b.p.transformer_kva.back() * b.p.max_transformer_loading;
  if (peak_kva <= capacity || size <= b.p.min_leaf_m || ids.size() == 1) {
    for (std::int32_t i : ids) leaf_of[i] = static_cast<std::int32_t>(leaves.size());
    leaves.push_back(std::move(ids));
    return;
  }
  const double h = size / 2;
  std::vector<std::int32_t> quad[4];
  for (std::int32_t i : ids) {
    const int qx = bl.centroid_x[i] >= x0 + h, qy = bl.centroid_y[i] >= y0 + h;
    quad[qy * 2 + qx].push_back(i);
  }
  for (int q = 0; q < 4; ++q)
    split(b, quad[q], x0 + (q % 2) * h, y0 + (q / 2) * h, h, leaf_of, leaves);
}

std::int32_t nearest_node(const RoadNetwork& r, double x, double y,
                          const std::vector<double>* reachable = nullptr) {
  double best = k_inf;
  std::int32_t best_n = -1;
  for (std::int32_t n = 0; n < r.node_count(); ++n) {
    if (reachable && !std::isfinite((*reachable)[n])) continue;
    const double d = std::hypot(r.node_x[n] - x, r.node_y[n] - y);
    if (d < best) best = d, best_n = n;
  }
  return best_n;
}

// Peak load downstream of every branch (branches are created parent before child, so a
// reverse sweep sees children first), then parallel units so that each carries <= 80 %.
void size_parallel_units(CityGrid& g, const CityGridParams& p) {
  std::vector<double> downstream(g.bus_peak_w);
  g.br_peak_mva.assign(static_cast<std::size_t>(g.n_branch()), 0.0);
  g.br_parallel.assign(static_cast<std::size_t>(g.n_branch()), 1);
  for (std::int32_t k = g.n_branch() - 1; k >= 0; --k) {
    downstream[g.br_from[k]] += downstream[g.br_to[k]];
    g.br_peak_mva[k] = downstream[g.br_to[k]] / p.power_factor * 1e-6;
    if (g.br_kind[k] == GridBranchKind::mv_lv_transformer) continue;  // sized when chosen
    const int n =
        std::max(1, static_cast<int>(std::ceil(g.br_peak_mva[k] /
                                               (g.br_rating_mva[k] * p.max_transformer_loading))));
    g.br_parallel[k] = n;
    g.br_rating_mva[k] *= n;
    g.br_r_ohm[k] /= n;
    g.br_x_ohm[k] /= n;
    g.br_b_us[k] *= n;
  }
}

}  // namespace

CityGrid synthesise_city_grid(const CityModel& city, const CityGridParams& p) {
  Builder b{city, p, {}};
  CityGrid& g = b.g;
  const Buildings& bl = city.buildings;
  const RoadNetwork& roads = city.roads;

  // 1. Peak demand per building.
  g.building_peak_w.resize(static_cast<std::size_t>(bl.size()));
  for (std::int32_t i = 0; i < bl.size(); ++i)
    g.building_peak_w[i] =
        bl.floor_area_m2[i] * p.peak_w_per_m2[static_cast<std::size_t>(bl.use[i])];

  // 2. LV buses: quadtree leaves.
  std::vector<std::int32_t> all(static_cast<std::size_t>(bl.size()));
  std::iota(all.begin(), all.end(), 0);
  double xmin = k_inf, ymin = k_inf, xmax = -k_inf, ymax = -k_inf;
  for (std::int32_t i : all) {
    xmin = std::min(xmin, bl.centroid_x[i]), xmax = std::max(xmax, bl.centroid_x[i]);
    ymin = std::min(ymin, bl.centroid_y[i]), ymax = std::max(ymax, bl.centroid_y[i]);
  }
  std::vector<std::int32_t> leaf_of(all.size(), -1);
  std::vector<std::vector<std::int32_t>> leaves;
  if (!all.empty())
    split(b, all, xmin, ymin, std::max(xmax - xmin, ymax - ymin) + 1e-6, leaf_of, leaves);
  std::vector<std::int32_t> lv_bus(leaves.size());
  for (std::size_t l = 0; l < leaves.size(); ++l) {
    double w = 0, x = 0, y = 0;
    for (std::int32_t i : leaves[l]) {
      const double wi = std::max(g.building_peak_w[i], 1.0);
      w += wi, x += wi * bl.centroid_x[i], y += wi * bl.centroid_y[i];
    }
    lv_bus[l] = b.add_bus(GridBusKind::lv, p.lv_kv, x / w, y / w);
    for (std::int32_t i : leaves[l]) g.bus_peak_w[lv_bus[l]] += g.building_peak_w[i];
  }
  // (split() moves `all` into a leaf when the whole city fits one transformer: count from the
  // buildings, not from it.)
  g.building_bus.resize(static_cast<std::size_t>(bl.size()));
  for (std::size_t i = 0; i < g.building_bus.size(); ++i) g.building_bus[i] = lv_bus[leaf_of[i]];

  // 3. Substations: mapped ones inside the city, else weighted k-means over the LV load.
  std::vector<double> sx, sy;
  const auto& e = city.extent;
  for (std::size_t s = 0; s < city.power.substation_x.size(); ++s) {
    const double x = city.power.substation_x[s], y = city.power.substation_y[s];
    if (x < e[0] || x > e[2] || y < e[1] || y > e[3]) continue;
    sx.push_back(x), sy.push_back(y);
    g.substation_osm_id.push_back(city.power.substation_osm_id[s]);
  }
  if (sx.empty() && !lv_bus.empty()) {
    double total_w = 0;
    for (std::int32_t v : lv_bus) total_w += g.bus_peak_w[v];
    const int k =
        std::max(1, std::min(static_cast<int>(lv_bus.size()),
                             static_cast<int>(std::ceil(total_w * 1e-6 / p.substation_mw))));
    // Farthest-point initialisation from the heaviest LV bus, then Lloyd iterations.
    std::int32_t first = *std::max_element(
        lv_bus.begin(), lv_bus.end(),
        [&](std::int32_t a, std::int32_t c) { return g.bus_peak_w[a] < g.bus_peak_w[c]; });
    sx.push_back(g.bus_x[first]), sy.push_back(g.bus_y[first]);
    while (static_cast<int>(sx.size()) < k) {
      double far = -1;
      std::int32_t pick = lv_bus[0];
      for (std::int32_t v : lv_bus) {
        double d = k_inf;
        for (std::size_t c = 0; c < sx.size(); ++c)
          d = std::min(d, std::hypot(g.bus_x[v] - sx[c], g.bus_y[v] - sy[c]));
        if (d > far) far = d, pick = v;
      }
      sx.push_back(g.bus_x[pick]), sy.push_back(g.bus_y[pick]);
    }
    for (int it = 0; it < 30; ++it) {
      std::vector<double> wx(sx.size(), 0), wy(sx.size(), 0), ww(sx.size(), 0);
      for (std::int32_t v : lv_bus) {
        std::size_t best = 0;
        for (std::size_t c = 1; c < sx.size(); ++c)
          if (std::hypot(g.bus_x[v] - sx[c], g.bus_y[v] - sy[c]) <
              std::hypot(g.bus_x[v] - sx[best], g.bus_y[v] - sy[best]))
            best = c;
        const double w = std::max(g.bus_peak_w[v], 1.0);
        wx[best] += w * g.bus_x[v], wy[best] += w * g.bus_y[v], ww[best] += w;
      }
      for (std::size_t c = 0; c < sx.size(); ++c)
        if (ww[c] > 0) sx[c] = wx[c] / ww[c], sy[c] = wy[c] / ww[c];
    }
    g.substation_osm_id.assign(sx.size(), 0);
  }

  // A variant's substations: some left out (a relocation removes the old place), new ones added.
  for (std::int32_t r = static_cast<std::int32_t>(sx.size()) - 1; r >= 0; --r)
    if (std::find(p.removed_substations.begin(), p.removed_substations.end(), r) !=
        p.removed_substations.end()) {
      sx.erase(sx.begin() + r), sy.erase(sy.begin() + r);
      g.substation_osm_id.erase(g.substation_osm_id.begin() + r);
    }
  for (const auto& [x, y] : p.added_substations) {
    sx.push_back(x), sy.push_back(y);
    g.substation_osm_id.push_back(0);
  }

  // 4. Street graph (undirected) and a shortest-path forest from every substation.
  const std::int32_t n_nodes = roads.node_count();
  std::vector<std::vector<std::int32_t>> adjacent(
      static_cast<std::size_t>(n_nodes));  // link indices
  for (std::int32_t l = 0; l < roads.link_count(); ++l) {
    adjacent[roads.link_from[l]].push_back(l);
    adjacent[roads.link_to[l]].push_back(l);
  }
  std::vector<double> dist(static_cast<std::size_t>(n_nodes), k_inf);
  std::vector<std::int32_t> parent_link(static_cast<std::size_t>(n_nodes), -1),
      source(static_cast<std::size_t>(n_nodes), -1);
  using Item = std::pair<double, std::int32_t>;
  std::priority_queue<Item, std::vector<Item>, std::greater<>> queue;
  std::vector<std::int32_t> root(sx.size(), -1);
  for (std::size_t s = 0; s < sx.size(); ++s) {
    root[s] = nearest_node(roads, sx[s], sy[s]);
    if (root[s] < 0 || dist[root[s]] == 0) continue;
    dist[root[s]] = 0;
    source[root[s]] = static_cast<std::int32_t>(s);
    queue.emplace(0.0, root[s]);
  }
  while (!queue.empty()) {
    const auto [d, n] = queue.top();
    queue.pop();
    if (d > dist[n]) continue;
    for (std::int32_t l : adjacent[n]) {
      const std::int32_t m = roads.link_from[l] == n ? roads.link_to[l] : roads.link_from[l];
      const double nd = d + roads.link_length_m[l];
      if (nd < dist[m])
        dist[m] = nd, parent_link[m] = l, source[m] = source[n], queue.emplace(nd, m);
    }
  }

  // Substation buses: HV bus at the substation, MV busbar at its street node.
  std::unordered_map<std::int32_t, std::int32_t> mv_bus_of_node;
  for (std::size_t s = 0; s < sx.size(); ++s) {
    const std::int32_t hv = b.add_bus(GridBusKind::hv, p.hv_kv, sx[s], sy[s]);
    std::int32_t mv;
    if (root[s] >= 0 && !mv_bus_of_node.contains(root[s])) {
      mv = b.add_bus(GridBusKind::mv, p.mv_kv, roads.node_x[root[s]], roads.node_y[root[s]],
                     root[s]);
      mv_bus_of_node[root[s]] = mv;
    } else {
      mv = b.add_bus(GridBusKind::mv, p.mv_kv, sx[s], sy[s]);
    }
    g.bus_substation[hv] = g.bus_substation[mv] = static_cast<std::int32_t>(s);
    g.substation_hv_bus.push_back(hv);
    g.substation_mv_bus.push_back(mv);
    b.add_transformer(GridBranchKind::hv_mv_transformer, hv, mv, p.substation_mva, 0.12, 0.005,
                      p.hv_kv);
  }

  // MV feeders: from each transformer's street node up the forest to its substation.
  for (std::int32_t lv : lv_bus) {
    const std::int32_t attach =
        n_nodes > 0 && !sx.empty() ? nearest_node(roads, g.bus_x[lv], g.bus_y[lv], &dist) : -1;
    std::int32_t feeder_bus;
    std::int32_t sub;
    if (sx.empty()) continue;  // no buildings, so no substations either
    if (attach < 0) {
      // No street path: a direct cable from the nearest substation's MV busbar.
      sub = 0;
      for (std::size_t s = 1; s < sx.size(); ++s)
        if (std::hypot(g.bus_x[lv] - sx[s], g.bus_y[lv] - sy[s]) <
            std::hypot(g.bus_x[lv] - sx[sub], g.bus_y[lv] - sy[sub]))
          sub = static_cast<std::int32_t>(s);
      feeder_bus = b.add_bus(GridBusKind::mv, p.mv_kv, g.bus_x[lv], g.bus_y[lv]);
      b.add_cable(GridBranchKind::direct_cable, g.substation_mv_bus[sub], feeder_bus,
                  std::hypot(g.bus_x[lv] - sx[sub], g.bus_y[lv] - sy[sub]), -1);
      ++g.unreachable_transformers;
    } else {
      sub = source[attach];
      // Walk up until a node that already has a bus; create buses and cables on the way.
      std::vector<std::int32_t> path;
      std::int32_t n = attach;
      while (!mv_bus_of_node.contains(n)) {
        path.push_back(n);
        const std::int32_t l = parent_link[n];
        n = roads.link_from[l] == n ? roads.link_to[l] : roads.link_from[l];
      }
      for (auto it = path.rbegin(); it != path.rend(); ++it) {
        const std::int32_t node = *it, l = parent_link[node];
        const std::int32_t up =
            mv_bus_of_node.at(roads.link_from[l] == node ? roads.link_to[l] : roads.link_from[l]);
        const std::int32_t bus =
            b.add_bus(GridBusKind::mv, p.mv_kv, roads.node_x[node], roads.node_y[node], node);
        g.bus_substation[bus] = sub;
        mv_bus_of_node[node] = bus;
        b.add_cable(GridBranchKind::mv_cable, up, bus, roads.link_length_m[l], l);
      }
      feeder_bus = mv_bus_of_node.at(attach);
    }
    g.bus_substation[feeder_bus] = g.bus_substation[lv] = sub;
    // The transformer: the smallest standard size that carries the peak at the loading limit,
    // or parallel units of the largest size.
    const double kva = g.bus_peak_w[lv] / p.power_factor * 1e-3;
    double rating_kva = p.transformer_kva.back() *
                        std::ceil(kva / (p.transformer_kva.back() * p.max_transformer_loading));
    for (double size : p.transformer_kva)
      if (size * p.max_transformer_loading >= kva) {
        rating_kva = size;
        break;
      }
    b.add_transformer(GridBranchKind::mv_lv_transformer, feeder_bus, lv,
                      std::max(rating_kva, p.transformer_kva.front()) * 1e-3, 0.06, 0.01, p.mv_kv);
  }
  size_parallel_units(g, p);
  return std::move(b.g);
}

}  // namespace citytwin::power
