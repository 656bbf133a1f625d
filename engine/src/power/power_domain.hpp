// Private: the power domain's entry for the engine's domain list (engine/src/sim/domains.cpp).
#pragma once

#include <span>

#include "citytwin/city_grid.hpp"
#include "citytwin/frame.hpp"
#include "citytwin/power.hpp"
#include "citytwin/sim.hpp"

namespace citytwin::power {

/// The recorded values of one power frame (/power per-frame datasets).
struct PowerFrameData {
  std::span<const float> bus_vm, branch_loading;   ///< (n_bus), (n_branch)
  std::span<const std::uint8_t> branch_on;         ///< (n_branch)
  std::span<const std::uint8_t> building_powered;  ///< (n_buildings) or empty
  double served_mw = 0, unserved_mw = 0;
  std::int64_t customers_unserved = 0;
};

/// Power in the viewer's frame: line loading (NaN when out of service), state and energised
/// (in service with voltage at both buses), substations
/// energised (their MV bus has voltage), buildings powered, HUD figures served MW, unserved MW
/// and buildings without power. The live domain and the replay both call it.
void fill_power_frame(std::shared_ptr<const PowerLayout> layout, const PowerFrameData& d,
                      FrameSnapshot& f);
/// Replay of /power (null when the run file has no power domain).
Result<std::unique_ptr<const DomainReplay>> open_power_replay(const RunReader& r,
                                                              const std::string& file);

/// The synthesised grid as a per-unit network: HV buses are the slack (grid supply), loads
/// sit on LV buses at their peak (time series scale them), every branch rated.
Network to_network(const CityGrid& grid, double base_mva = 10.0);

}  // namespace citytwin::power
