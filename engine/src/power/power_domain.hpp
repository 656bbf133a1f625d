// Private: the power domain's entry for the engine's domain list (engine/src/sim/domains.cpp).
#pragma once

#include "citytwin/city_grid.hpp"
#include "citytwin/power.hpp"
#include "citytwin/sim.hpp"

namespace citytwin::power {

/// The `[power]` section, events and time series of the power grid (docs/scenario.md#power).
const DomainEntry& power_domain_entry();

/// The synthesised grid as a per-unit network: HV buses are the slack (grid supply), loads
/// sit on LV buses at their peak (time series scale them), every branch rated.
Network to_network(const CityGrid& grid, double base_mva = 10.0);

}  // namespace citytwin::power
