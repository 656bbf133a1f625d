// The power grid in the viewer's frame: one mapping from the recorded values of a frame (line
// loading and state, bus voltages, buildings powered, served load) to the snapshot, used by the
// live domain (PowerDomain::fill_frame) and by the replay of /power (open_power_replay).
#include <cmath>

#include <fmt/format.h>

#include "citytwin/frame.hpp"
#include "citytwin/io.hpp"
#include "power/power_domain.hpp"

namespace citytwin {

void PowerLayout::link_substations() {
  substation_mv_bus.assign(substation_hv_bus.size(), -1);
  for (std::size_t s = 0; s < substation_hv_bus.size(); ++s)
    for (std::size_t k = 0; k < branch_from.size(); ++k)
      if (k < branch_kind.size() && branch_kind[k] == 1 && branch_from[k] == substation_hv_bus[s]) {
        substation_mv_bus[s] = branch_to[k];
        break;
      }
}

}  // namespace citytwin

namespace citytwin::power {

void fill_power_frame(std::shared_ptr<const PowerLayout> layout, const PowerFrameData& d,
                      FrameSnapshot& f) {
  const std::size_t nk = d.branch_loading.size();
  f.line_loading.resize(nk);
  f.line_on.assign(d.branch_on.begin(), d.branch_on.end());
  for (std::size_t k = 0; k < nk; ++k)
    f.line_loading[k] = d.branch_on[k] ? d.branch_loading[k] : std::nanf("");
  // A line is energised when in service with voltage at both ends (a blackout leaves lines in
  // service but dead). Without a layout the ends are unknown: in service counts as energised.
  auto live = [&](std::int32_t b) {
    return b >= 0 && static_cast<std::size_t>(b) < d.bus_vm.size() && d.bus_vm[b] > 0;
  };
  f.line_energised.assign(f.line_on.begin(), f.line_on.end());
  if (layout)
    for (std::size_t k = 0; k < nk && k < layout->branch_from.size(); ++k)
      f.line_energised[k] =
          f.line_on[k] && live(layout->branch_from[k]) && live(layout->branch_to[k]) ? 1 : 0;
  f.substation_on.clear();
  if (layout)
    for (std::int32_t mv : layout->substation_mv_bus)
      f.substation_on.push_back(
          mv >= 0 && static_cast<std::size_t>(mv) < d.bus_vm.size() && d.bus_vm[mv] > 0 ? 1 : 0);
  f.power_layout = std::move(layout);
  f.building_powered.assign(d.building_powered.begin(), d.building_powered.end());
  f.figures.emplace_back("served", fmt::format("{:.1f} MW", d.served_mw));
  f.figures.emplace_back("unserved", fmt::format("{:.1f} MW", d.unserved_mw));
  f.figures.emplace_back("buildings without power", std::to_string(d.customers_unserved));
}

namespace {

class PowerReplay : public DomainReplay {
 public:
  explicit PowerReplay(std::shared_ptr<const PowerLayout> layout) : m_layout(std::move(layout)) {}

  Result<void> read(const RunReader& r, std::size_t k, FrameSnapshot& f) const override {
    auto vm = r.read_row<float>("/power/bus_vm", k);
    auto load = r.read_row<float>("/power/branch_loading", k);
    auto on = r.read_row<std::uint8_t>("/power/branch_on", k);
    auto served = r.read_row<double>("/power/served_mw", k);
    auto unserved = r.read_row<double>("/power/unserved_mw", k);
    auto cust = r.read_row<std::int64_t>("/power/customers_unserved", k);
    for (const Error* e : {vm ? nullptr : &vm.error(), load ? nullptr : &load.error(),
                           on ? nullptr : &on.error(), served ? nullptr : &served.error(),
                           unserved ? nullptr : &unserved.error(), cust ? nullptr : &cust.error()})
      if (e) return fail(*e);
    Result<Dataset<std::uint8_t>> powered = Dataset<std::uint8_t>{};
    if (r.exists("/power/building_powered")) {
      powered = r.read_row<std::uint8_t>("/power/building_powered", k);
      if (!powered) return fail(powered.error());
    }
    PowerFrameData d;
    d.bus_vm = vm->data, d.branch_loading = load->data, d.branch_on = on->data;
    d.building_powered = powered->data;
    d.served_mw = served->data.at(0), d.unserved_mw = unserved->data.at(0);
    d.customers_unserved = cust->data.at(0);
    fill_power_frame(m_layout, d, f);
    return {};
  }

 private:
  std::shared_ptr<const PowerLayout> m_layout;
};

}  // namespace

Result<std::unique_ptr<const DomainReplay>> open_power_replay(const RunReader& r,
                                                              const std::string& file) {
  if (!r.exists("/power/branch_loading")) return std::unique_ptr<const DomainReplay>();
  auto l = std::make_shared<PowerLayout>();
  auto bx = r.read_values<double>("/power/bus_x");
  auto by = r.read_values<double>("/power/bus_y");
  auto bf = r.read_values<std::int32_t>("/power/branch_from");
  auto bt = r.read_values<std::int32_t>("/power/branch_to");
  if (!bx || !by || !bf || !bt)
    return fail(Error::msg("/power: bus_x, bus_y, branch_from and branch_to are needed", file));
  l->bus_x = std::move(*bx), l->bus_y = std::move(*by);
  l->branch_from = std::move(*bf), l->branch_to = std::move(*bt);
  if (r.exists("/power/branch_kind")) {
    auto k = r.read_values<std::uint8_t>("/power/branch_kind");
    auto s = r.read_values<std::int32_t>("/power/substation_hv_bus");
    if (!k || !s) return fail(Error::msg("/power: cannot read the city grid's kinds", file));
    l->branch_kind = std::move(*k);
    l->substation_hv_bus = std::move(*s);
  }
  l->link_substations();
  return std::unique_ptr<const DomainReplay>(std::make_unique<PowerReplay>(std::move(l)));
}

}  // namespace citytwin::power
