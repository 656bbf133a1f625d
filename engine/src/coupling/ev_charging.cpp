// Rule traffic -> power (optional): a share of the cars arriving at a building start charging
// there, adding `power` to the building's load for `duration`. Whether an arrival charges is a
// counter-based draw keyed by (seed, building, arrival time, k), so a seed gives the same load.
#include <algorithm>

#include "citytwin/rng.hpp"
#include "coupling/rules.hpp"

namespace citytwin::coupling {

void ev_charging(const CouplingModel& m, CouplingState& s, SimTime t, SimTime /*dt*/,
                 CityExchange& x) {
  const auto& ev = m.spec.ev;
  std::erase_if(s.ev_sessions, [&](const CouplingState::Session& e) { return e.end <= t; });
  for (std::size_t b = 0; b < x.building_arrivals.size(); ++b)
    for (std::int32_t k = 0; k < x.building_arrivals[b]; ++k) {
      const Rng rng(s.seed, RngStream::coupling,
                    (static_cast<std::uint64_t>(b) << 20) | static_cast<std::uint64_t>(k),
                    static_cast<std::uint64_t>(t) + 1);
      if (rng.uniform(0) >= ev.share) continue;
      s.ev_sessions.push_back({t + ev.duration, static_cast<std::int32_t>(b)});
      ++s.ev_sessions_started;
    }
  std::vector<float> load(x.building_extra_w.size(), 0.0f);
  for (const CouplingState::Session& e : s.ev_sessions)
    load[static_cast<std::size_t>(e.building)] += static_cast<float>(ev.power_w);
  for (std::size_t b = 0; b < load.size(); ++b) {
    if (load[b] != s.ev_load_w[b])
      log_change(s, t, CouplingRule::ev_charging, CouplingEntity::building,
                 static_cast<std::int32_t>(b), x.building_arrivals[b], CouplingEntity::building,
                 static_cast<std::int32_t>(b), load[b]);
    s.ev_load_w[b] = load[b];
    x.building_extra_w[b] = load[b];
  }
}

}  // namespace citytwin::coupling
