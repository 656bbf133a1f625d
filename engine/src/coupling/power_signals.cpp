// Rule power -> traffic signals: every signal is fed from its nearest LV bus (CouplingModel::
// signal_bus). When that bus loses power the signal runs on its battery for `battery`, counted
// from the moment the bus went dark (CityExchange::bus_dark_since), then goes dark: the traffic
// domain makes the junction an all-way stop. Power back: the signal is back, battery recharged.
#include "coupling/rules.hpp"

namespace citytwin::coupling {

void power_signals(const CouplingModel& m, CouplingState& s, SimTime t, SimTime dt,
                   CityExchange& x) {
  const SimTime battery = m.spec.signals.battery;
  const double hours = static_cast<double>(dt) / 3.6e6;
  for (std::size_t g = 0; g < x.signal_powered.size(); ++g) {
    const std::int32_t bus = m.signal_bus[g];
    const std::int64_t since = bus >= 0 ? x.bus_dark_since[static_cast<std::size_t>(bus)] : -1;
    const std::uint8_t dark = since >= 0 && t >= since + battery ? 1 : 0;
    if (dark != s.signal_dark[g]) {
      log_change(s, t, CouplingRule::power_signals, CouplingEntity::bus, bus, dark ? 0.0 : 1.0,
                 CouplingEntity::signal, static_cast<std::int32_t>(g), dark ? 0.0 : 1.0);
      s.signals_dark_total += dark;
    }
    s.signal_dark[g] = dark;
    x.signal_powered[g] = dark ? 0 : 1;
    s.signal_hours_dark += dark * hours;
  }
}

}  // namespace citytwin::coupling
