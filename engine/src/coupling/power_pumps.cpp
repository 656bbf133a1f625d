// Rule power -> flood drainage pumps: a pump removes its capacity while the bus that feeds it
// (the nearest LV bus) has power, and stops when that bus is dark. Without a power domain, or
// with the coupling switched off, pumps always run.
#include "coupling/rules.hpp"

namespace citytwin::coupling {

void power_pumps(const CouplingModel& m, CouplingState& s, SimTime t, SimTime dt, CityExchange& x) {
  const double hours = static_cast<double>(dt) / 3.6e6;
  for (std::size_t p = 0; p < x.pump_rate_m3s.size(); ++p) {
    const std::int32_t bus = m.pump_bus[p];
    const bool on =
        !m.spec.pumps_on || bus < 0 || x.bus_dark_since[static_cast<std::size_t>(bus)] < 0;
    if (static_cast<std::uint8_t>(on) != s.pump_on[p])
      log_change(s, t, CouplingRule::power_pumps, CouplingEntity::bus, bus, on ? 1.0 : 0.0,
                 CouplingEntity::pump, static_cast<std::int32_t>(p), on ? 1.0 : 0.0);
    s.pump_on[p] = on ? 1 : 0;
    x.pump_rate_m3s[p] = on ? static_cast<float>(m.spec.pumps[p].capacity_m3s) : 0.0f;
    s.pump_hours_lost += on ? 0.0 : hours;
  }
}

}  // namespace citytwin::coupling
