// Rule flood -> power: a substation or distribution transformer fails when the water at it
// reaches its failure depth (a threshold per element class, or a depth drawn once from a
// lognormal fragility curve, make_coupling_state); it is switched out of service and comes
// back `repair_time` after the water has fallen below that depth again (a rise during the
// repair starts it over). Optionally, a building whose own depth reaches
// flood_power.building_depth is disconnected while it is that deep.
#include "coupling/rules.hpp"

namespace citytwin::coupling {

void flood_power(const CouplingModel& m, CouplingState& s, SimTime t, SimTime /*dt*/,
                 CityExchange& x) {
  const auto& fp = m.spec.flood_power;
  for (std::size_t e = 0; e < x.element_depth_m.size(); ++e) {
    const double d = x.element_depth_m[e];
    const auto el = static_cast<std::int32_t>(e);
    const bool wet = d >= s.element_capacity_m[e];
    if (!s.element_failed[e] && wet) {
      s.element_failed[e] = 1;
      s.element_dry_since[e] = -1;
      ++s.elements_failed_total;
      log_change(s, t, CouplingRule::flood_power, CouplingEntity::element, el, d,
                 CouplingEntity::element, el, 0.0);
    } else if (s.element_failed[e]) {
      if (wet) {
        s.element_dry_since[e] = -1;
      } else {
        if (s.element_dry_since[e] < 0) s.element_dry_since[e] = t;
        if (t - s.element_dry_since[e] >= fp.repair) {
          s.element_failed[e] = 0;
          s.element_dry_since[e] = -1;
          log_change(s, t, CouplingRule::flood_power, CouplingEntity::element, el, d,
                     CouplingEntity::element, el, 1.0);
        }
      }
    }
    x.element_in_service[e] = s.element_failed[e] ? 0 : 1;
  }
  if (fp.building_depth_m <= 0) return;
  for (std::size_t b = 0; b < x.building_depth_m.size(); ++b) {
    const double d = x.building_depth_m[b];
    const std::uint8_t cut = d >= fp.building_depth_m ? 1 : 0;
    if (cut != s.building_cut[b])
      log_change(s, t, CouplingRule::flood_buildings, CouplingEntity::building,
                 static_cast<std::int32_t>(b), d, CouplingEntity::building,
                 static_cast<std::int32_t>(b), cut ? 0.0 : 1.0);
    s.building_cut[b] = cut;
    x.building_connected[b] = cut ? 0 : 1;
  }
}

}  // namespace citytwin::coupling
