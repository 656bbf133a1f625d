// What the power domain writes and shows (PowerDomain, power_domain_impl.hpp): the network once
// (write_static); bus voltages, branch loading and state, served and unserved load and the
// buildings with power every output frame (write_frame); the cascade log, the counters and the
// summary rows at the end (write_final); and the viewer's frame (fill_frame, through
// fill_power_frame as the replay).
#include "power/power_domain_impl.hpp"

#include <algorithm>
#include <cmath>
#include <span>

#include "citytwin/io.hpp"
#include "power/power_domain.hpp"

namespace citytwin::power {

void PowerDomain::write_static(RunWriter& out) const {
  const Network& n = m_base;
  out.write(std::string("/power/bus_id"), n.bus_id,
            {"", "bus number (1-based for the city grid, the case's BUS_I otherwise)"});
  out.write(std::string("/power/bus_base_kv"), n.bus_base_kv, {"kV", "nominal voltage"});
  out.write(std::string("/power/bus_x"), n.bus_x,
            {"m", "bus position, model CRS (NaN if unknown)"});
  out.write(std::string("/power/bus_y"), n.bus_y,
            {"m", "bus position, model CRS (NaN if unknown)"});
  out.write(std::string("/power/branch_from"), n.br_from, {"", "from bus index"});
  out.write(std::string("/power/branch_to"), n.br_to, {"", "to bus index"});
  std::vector<double> rating(n.br_rate_a.size());
  for (std::size_t k = 0; k < rating.size(); ++k) rating[k] = n.br_rate_a[k] * n.base_mva;
  out.write(std::string("/power/branch_rating_mva"), rating,
            {"MVA", "long-term rating (0: unlimited)"});
  if (m_city) {
    std::vector<std::uint8_t> kind(m_grid.bus_kind.size()), bkind(m_grid.br_kind.size());
    for (std::size_t b = 0; b < kind.size(); ++b)
      kind[b] = static_cast<std::uint8_t>(m_grid.bus_kind[b]);
    for (std::size_t k = 0; k < bkind.size(); ++k)
      bkind[k] = static_cast<std::uint8_t>(m_grid.br_kind[k]);
    out.write(std::string("/power/bus_kind"), kind, {"", "0 HV (grid supply), 1 MV, 2 LV"});
    out.write(std::string("/power/branch_kind"), bkind,
              {"", "0 MV cable, 1 HV/MV transformer, 2 MV/LV transformer, 3 direct cable"});
    out.write(std::string("/power/branch_road_link"), m_grid.br_road_link,
              {"", "road link a cable follows (-1: none)"});
    out.write(std::string("/power/building_bus"), m_grid.building_bus,
              {"", "LV bus index of each building"});
    out.write(std::string("/power/building_peak_w"), m_grid.building_peak_w,
              {"W", "peak demand of each building"});
    out.write(std::string("/power/substation_hv_bus"), m_grid.substation_hv_bus,
              {"", "HV bus of each substation"});
    out.write(std::string("/power/substation_osm_id"), m_grid.substation_osm_id,
              {"", "OSM id (0: placed by k-means)"});
  }
}

void PowerDomain::write_frame(const DomainState& state, RunWriter& out) const {
  const auto& s = static_cast<const PowerState&>(state);
  const std::size_t nb = static_cast<std::size_t>(m_base.n_bus()),
                    nk = static_cast<std::size_t>(m_base.n_branch());
  std::vector<float> vm(nb, 0.0f), load(nk, 0.0f);
  std::vector<std::uint8_t> on(s.br_on);
  for (std::size_t b = 0; b < nb && s.have_result; ++b)
    vm[b] = static_cast<float>(s.result.bus_vm[b]);
  for (std::size_t k = 0; k < nk; ++k) load[k] = static_cast<float>(s.loading[k]);
  out.append<float>("/power/bus_vm", vm, std::span<const std::size_t>(&nb, 1),
                    {"pu", "voltage magnitude (0: de-energised)"});
  out.append<float>("/power/branch_loading", load, std::span<const std::size_t>(&nk, 1),
                    {"1", "max end apparent power / rating"});
  out.append<std::uint8_t>("/power/branch_on", on, std::span<const std::size_t>(&nk, 1),
                           {"1", "1 in service"});
  out.append<double>("/power/served_mw", s.served_mw, {"MW", "load supplied"});
  out.append<double>("/power/unserved_mw", s.unserved_mw,
                     {"MW", "load not supplied (de-energised or shed)"});
  out.append<std::int64_t>("/power/customers_unserved", s.customers_unserved,
                           {"1", "buildings without power"});
  if (!s.building_powered.empty()) {
    const std::size_t n = s.building_powered.size();
    out.append<std::uint8_t>("/power/building_powered", s.building_powered,
                             std::span<const std::size_t>(&n, 1),
                             {"1", "1 when the building has power"});
  }
}

// The same values write_frame records, through the mapping replay uses too.
void PowerDomain::fill_frame(const DomainState& state, FrameSnapshot& f) const {
  const auto& s = static_cast<const PowerState&>(state);
  std::vector<float> vm(static_cast<std::size_t>(m_base.n_bus()), 0.0f),
      load(static_cast<std::size_t>(m_base.n_branch()));
  for (std::size_t b = 0; b < vm.size() && s.have_result; ++b)
    vm[b] = static_cast<float>(s.result.bus_vm[b]);
  for (std::size_t k = 0; k < load.size(); ++k) load[k] = static_cast<float>(s.loading[k]);
  PowerFrameData d;
  d.bus_vm = vm, d.branch_loading = load, d.branch_on = s.br_on;
  d.building_powered = s.building_powered;
  d.served_mw = s.served_mw, d.unserved_mw = s.unserved_mw;
  d.customers_unserved = s.customers_unserved;
  fill_power_frame(m_layout, d, f);
}

std::string PowerDomain::fmt_grid() const {
  return std::to_string(m_base.n_bus()) + " buses, " + std::to_string(m_base.n_branch()) +
         " branches, " + std::to_string(m_grid.substation_hv_bus.size()) +
         " substations (synthesised)";
}

void PowerDomain::write_final(const DomainState& state, RunWriter& out,
                              std::vector<SummaryRow>& summary) const {
  const auto& s = static_cast<const PowerState&>(state);
  const std::string c = "/power/cascade/";
  out.write(c + "time_s", s.log_time_s, {"s", "when it happened"});
  out.write(c + "generation", s.log_generation,
            {"", "cascade generation within that check (0 first)"});
  out.write(c + "branch", s.log_branch, {"", "branch index (-1: a bus event)"});
  out.write(c + "bus", s.log_bus, {"", "bus index for sheds and substation events (-1: none)"});
  out.write(c + "reason", s.log_reason, {"", "index into the attribute reason_names"});
  out.attr(c + "reason", "reason_names", std::string_view(k_reason_names));
  out.write(c + "loading", s.log_loading, {"1", "branch loading, or bus voltage (pu) for sheds"});
  out.attr("/power", "power_flows", s.flows);
  out.attr("/power", "failed_power_flows", s.failures);
  out.attr("/power", "last_failure", s.last_failure);
  out.attr("/power", "unserved_mwh", s.unserved_mwh);
  double vmin = 10;
  for (std::int32_t b = 0; b < m_base.n_bus() && s.have_result; ++b)
    if (s.result.bus_vm[b] > 0) vmin = std::min(vmin, s.result.bus_vm[b]);
  const auto trips = std::count_if(s.log_reason.begin(), s.log_reason.end(), [](std::uint8_t r) {
    return r == static_cast<std::uint8_t>(Reason::overload_timed) ||
           r == static_cast<std::uint8_t>(Reason::overload_instant);
  });
  summary.push_back({"power", "grid", m_city ? fmt_grid() : m_base.name});
  summary.push_back({"power", "power flows (failed)",
                     std::to_string(s.flows) + " (" + std::to_string(s.failures) + ")"});
  summary.push_back({"power", "served load now",
                     std::to_string(static_cast<int>(std::lround(s.served_mw))) + " MW"});
  // Of the buses that have power: after a blackout there are none, and no voltage to report.
  summary.push_back({"power", "lowest voltage of an energised bus now",
                     !s.have_result ? "-"
                     : vmin < 10    ? std::to_string(vmin).substr(0, 5) + " pu"
                                    : "none energised"});
  summary.push_back({"power", "protection trips", std::to_string(trips)});
  summary.push_back(
      {"power", "energy not supplied", std::to_string(s.unserved_mwh).substr(0, 6) + " MWh"});
  summary.push_back({"power", "buildings without power now", std::to_string(s.customers_unserved)});
  if (s.failures > 0) summary.push_back({"power", "last failure", s.last_failure});
}

}  // namespace citytwin::power
