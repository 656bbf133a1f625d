// Private to coupling/: one function per rule, each in its own file, run in this order by
// apply_coupling (model.cpp). Each reads the exports the domains just published in `x`, keeps
// what it must remember in `s`, writes the next step's inputs into `x` and logs every change.
#pragma once

#include "citytwin/coupling.hpp"

namespace citytwin::coupling {

void flood_roads(const CouplingModel& m, CouplingState& s, SimTime t, SimTime dt, CityExchange& x);
void flood_power(const CouplingModel& m, CouplingState& s, SimTime t, SimTime dt, CityExchange& x);
void power_signals(const CouplingModel& m, CouplingState& s, SimTime t, SimTime dt,
                   CityExchange& x);
void power_pumps(const CouplingModel& m, CouplingState& s, SimTime t, SimTime dt, CityExchange& x);
void ev_charging(const CouplingModel& m, CouplingState& s, SimTime t, SimTime dt, CityExchange& x);

inline void log_change(CouplingState& s, SimTime t, CouplingRule rule, CouplingEntity sk,
                       std::int32_t src, double sv, CouplingEntity tk, std::int32_t tgt,
                       double state) {
  s.log.push_back({t, rule, sk, src, static_cast<float>(sv), tk, tgt, static_cast<float>(state)});
}

}  // namespace citytwin::coupling
