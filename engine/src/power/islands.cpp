// Islands: connected components of the in-service branch graph (iterative DFS over a CSR
// adjacency), each with one slack bus, so a tripped network solves island by island in one
// Newton system (each island's own angle reference keeps the Jacobian non-singular).
#include "citytwin/power.hpp"

namespace citytwin::power {

std::int32_t Islands::n_deenergised() const {
  std::int32_t n = 0;
  for (auto e : island_energised) n += e ? 0 : 1;
  return n;
}

Islands find_islands(const Network& net) {
  const std::int32_t nb = net.n_bus();
  Islands isl;
  // CSR adjacency over in-service branches.
  std::vector<std::int32_t> off(static_cast<std::size_t>(nb) + 1, 0);
  for (std::int32_t k = 0; k < net.n_branch(); ++k)
    if (net.br_on[k]) {
      ++off[net.br_from[k] + 1];
      ++off[net.br_to[k] + 1];
    }
  for (std::int32_t i = 0; i < nb; ++i) off[i + 1] += off[i];
  std::vector<std::int32_t> adj(static_cast<std::size_t>(off[nb]));
  std::vector<std::int32_t> fill(off.begin(), off.end() - 1);
  for (std::int32_t k = 0; k < net.n_branch(); ++k)
    if (net.br_on[k]) {
      adj[fill[net.br_from[k]]++] = net.br_to[k];
      adj[fill[net.br_to[k]]++] = net.br_from[k];
    }

  isl.bus_island.assign(static_cast<std::size_t>(nb), -1);
  std::vector<std::int32_t> stack;
  for (std::int32_t s = 0; s < nb; ++s) {
    if (isl.bus_island[s] >= 0 || net.bus_type[s] == BusType::isolated) continue;
    const std::int32_t id = isl.n_islands();
    isl.island_slack.push_back(-1);
    isl.island_energised.push_back(0);
    isl.island_size.push_back(0);
    isl.bus_island[s] = id;
    stack.push_back(s);
    while (!stack.empty()) {
      const std::int32_t b = stack.back();
      stack.pop_back();
      ++isl.island_size[id];
      for (std::int32_t e = off[b]; e < off[b + 1]; ++e) {
        const std::int32_t n = adj[e];
        if (isl.bus_island[n] < 0 && net.bus_type[n] != BusType::isolated) {
          isl.bus_island[n] = id;
          stack.push_back(n);
        }
      }
    }
  }

  // Slack per island: the first reference bus with an in-service generator; otherwise the
  // voltage-controlled bus of the largest in-service generator (by Pmax, then lowest index).
  std::vector<std::int32_t> best_gen(isl.island_slack.size(), -1);
  std::vector<std::uint8_t> bus_has_gen(static_cast<std::size_t>(nb), 0);
  for (std::int32_t g = 0; g < net.n_gen(); ++g)
    if (net.gen_on[g]) bus_has_gen[net.gen_bus[g]] = 1;
  for (std::int32_t i = 0; i < nb; ++i) {
    const std::int32_t id = isl.bus_island[i];
    if (id >= 0 && net.bus_type[i] == BusType::ref && bus_has_gen[i] && isl.island_slack[id] < 0)
      isl.island_slack[id] = i;
  }
  for (std::int32_t g = 0; g < net.n_gen(); ++g) {
    const std::int32_t b = net.gen_bus[g];
    const std::int32_t id = isl.bus_island[b];
    if (!net.gen_on[g] || id < 0) continue;
    if (net.bus_type[b] != BusType::pv && net.bus_type[b] != BusType::ref) continue;
    if (best_gen[id] < 0 || net.gen_pmax[g] > net.gen_pmax[best_gen[id]]) best_gen[id] = g;
  }
  for (std::int32_t id = 0; id < isl.n_islands(); ++id) {
    if (isl.island_slack[id] < 0 && best_gen[id] >= 0)
      isl.island_slack[id] = net.gen_bus[best_gen[id]];
    isl.island_energised[id] = isl.island_slack[id] >= 0 ? 1 : 0;
  }
  return isl;
}

}  // namespace citytwin::power
