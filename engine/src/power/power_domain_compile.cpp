// compile_power: the power domain from the [power] section, once per run. The network from the
// city (the synthesised grid, with the scenario's new and replaced substations) or from a
// MATPOWER or pandapower case; the PowerDomain (power_domain_impl.hpp) that runs it with its
// load peaks, elements and viewer layout; the events checked against the grid. Then the
// domain's entry for the run loop.
#include "power/power_domain_impl.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "power/power_domain.hpp"

namespace citytwin::power {

PowerDomain::PowerDomain(const PowerSpec& spec, const RunSpec& run, Network net, CityGrid grid,
                         bool city, const std::vector<std::uint8_t>& residential)
    : m_spec(spec), m_run(run), m_base(std::move(net)), m_grid(std::move(grid)), m_city(city) {
  m_res_peak.assign(static_cast<std::size_t>(m_base.n_bus()), 0.0);
  m_com_peak = m_res_peak;
  for (std::size_t i = 0; i < m_grid.building_bus.size(); ++i)
    (residential[i] ? m_res_peak : m_com_peak)[m_grid.building_bus[i]] +=
        m_grid.building_peak_w[i] * 1e-6 / m_base.base_mva;
}

std::vector<std::vector<std::int32_t>> PowerDomain::make_elements() const {
  std::vector<std::vector<std::int32_t>> el;
  if (!m_city) return el;
  for (std::size_t sub = 0; sub < m_grid.substation_hv_bus.size(); ++sub) {
    const std::int32_t hv = m_grid.substation_hv_bus[sub], mv = m_grid.substation_mv_bus[sub];
    std::vector<std::int32_t> br;
    for (std::int32_t k = 0; k < m_base.n_branch(); ++k) {
      const auto u = static_cast<std::size_t>(k);
      if (m_base.br_from[u] == hv || m_base.br_to[u] == hv || m_base.br_from[u] == mv ||
          m_base.br_to[u] == mv)
        br.push_back(k);
    }
    el.push_back(std::move(br));
  }
  for (std::int32_t k = 0; k < m_grid.n_branch(); ++k)
    if (m_grid.br_kind[static_cast<std::size_t>(k)] == GridBranchKind::mv_lv_transformer)
      el.push_back({k});
  return el;
}

std::vector<std::vector<std::int32_t>> PowerDomain::substation_buses() const {
  std::vector<std::vector<std::int32_t>> buses(m_grid.substation_hv_bus.size());
  const auto n = std::min(m_grid.bus_substation.size(), static_cast<std::size_t>(m_base.n_bus()));
  for (std::size_t b = 0; b < n; ++b)
    if (const std::int32_t sub = m_grid.bus_substation[b];
        sub >= 0 && static_cast<std::size_t>(sub) < buses.size())
      buses[static_cast<std::size_t>(sub)].push_back(static_cast<std::int32_t>(b));
  return buses;
}

std::vector<std::int32_t> PowerDomain::element_buses() const {
  std::vector<std::int32_t> bus;
  for (std::size_t e = 0; e < m_element_branches.size(); ++e)
    bus.push_back(e < m_grid.substation_mv_bus.size()
                      ? m_grid.substation_mv_bus[e]
                      : m_grid.br_to[static_cast<std::size_t>(m_element_branches[e].front())]);
  return bus;
}

std::shared_ptr<const PowerLayout> PowerDomain::make_layout() const {
  auto l = std::make_shared<PowerLayout>();
  l->bus_x = m_base.bus_x, l->bus_y = m_base.bus_y;
  l->branch_from = m_base.br_from, l->branch_to = m_base.br_to;
  if (m_city) {
    for (GridBranchKind k : m_grid.br_kind) l->branch_kind.push_back(static_cast<std::uint8_t>(k));
    l->substation_hv_bus = m_grid.substation_hv_bus;
  }
  l->link_substations();
  return l;
}

namespace {

Result<std::unique_ptr<Domain>> compile_power(const DomainSpec& dspec, const ScenarioSpec& scenario,
                                              const CityModel& city) {
  const auto& spec = static_cast<const PowerSpec&>(dspec);
  Network net;
  CityGrid grid;
  std::vector<std::uint8_t> residential;
  if (spec.city_grid) {
    if (city.buildings.size() == 0)
      return fail(
          Error::msg("power.grid = \"city\" needs buildings: set city.osm, or give power.case",
                     scenario.path));
    CityGridParams params;
    if (!spec.substations.empty()) {
      // Replaced substations are indices into the grid as the city gives it.
      const auto base =
          static_cast<std::int64_t>(synthesise_city_grid(city).substation_hv_bus.size());
      const auto& e = city.extent;
      for (const PowerSpec::NewSubstation& n : spec.substations) {
        if (n.at.x < e[0] || n.at.x > e[2] || n.at.y < e[1] || n.at.y > e[3])
          return fail(Diagnostic::at(
              n.where, 0, "power.substation.at", "the substation lies outside the city",
              fmt::format("[{}, {}]", n.at.x, n.at.y),
              fmt::format("x in [{:.0f}, {:.0f}], y in [{:.0f}, {:.0f}]", e[0], e[2], e[1], e[3])));
        if (n.replaces >= base)
          return fail(
              Diagnostic::at(n.where, 0, "power.substation.replaces", "no such substation",
                             std::to_string(n.replaces),
                             fmt::format("an index below {} (/power/substation_hv_bus)", base)));
        if (n.replaces >= 0)
          params.removed_substations.push_back(static_cast<std::int32_t>(n.replaces));
        params.added_substations.push_back({n.at.x, n.at.y});
      }
    }
    grid = synthesise_city_grid(city, params);
    net = to_network(grid);
    for (BuildingUse u : city.buildings.use)
      residential.push_back(u == BuildingUse::residential || u == BuildingUse::other);
  } else {
    const bool json = spec.case_path.size() > 5 && spec.case_path.ends_with(".json");
    auto r = json ? read_pandapower(spec.case_path) : read_matpower(spec.case_path);
    if (!r) return fail(r.error());
    net = std::move(*r);
  }
  auto domain = std::make_unique<PowerDomain>(spec, scenario.run, std::move(net), std::move(grid),
                                              spec.city_grid, residential);
  // Events must name branches and substations that exist.
  for (const EventSpec& e : scenario.events)
    if (scenario.domain_names[static_cast<std::size_t>(e.domain)] == "power")
      if (auto ok = domain->check_event(e); !ok) return fail(ok.error());
  return std::unique_ptr<Domain>(std::move(domain));
}

}  // namespace

const DomainEntry& domain_entry() {
  static const DomainEntry entry{
      {"power", parse_power, parse_power_event,
       "trip_branch, restore_branch, substation_out, substation_in, scale_load"},
      compile_power,
      open_power_replay};
  return entry;
}

}  // namespace citytwin::power
