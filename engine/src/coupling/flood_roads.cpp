// Rule flood -> roads: the flood depth over each road link sets its speed through a
// depth-disruption curve (Pregnolato et al. 2017 by default, or a table) and closes it at the
// closing depth; a closed link reopens only once the water is below the reopening depth
// (hysteresis, so a link at the threshold does not flicker and re-route traffic every step).
#include "coupling/rules.hpp"

namespace citytwin::coupling {

void flood_roads(const CouplingModel& m, CouplingState& s, SimTime t, SimTime dt, CityExchange& x) {
  const auto& fr = m.spec.flood_roads;
  const double hours = static_cast<double>(dt) / 3.6e6;
  for (std::size_t l = 0; l < x.link_depth_m.size(); ++l) {
    const double d = x.link_depth_m[l];
    const auto link = static_cast<std::int32_t>(l);
    std::uint8_t closed = s.link_closed[l];
    if (!closed && d >= fr.close_depth_m) closed = 1;
    if (closed && d < fr.reopen_depth_m) closed = 0;
    const float factor = closed ? 0.0f : m.speed_factor(link, d);
    if (closed != s.link_closed[l]) {
      log_change(s, t, CouplingRule::flood_roads, CouplingEntity::link, link, d,
                 CouplingEntity::link, link, closed ? 0.0 : factor);
      s.links_closed_total += closed;
    } else if (!closed && factor != s.link_factor[l]) {
      log_change(s, t, CouplingRule::flood_roads, CouplingEntity::link, link, d,
                 CouplingEntity::link, link, factor);
    }
    s.link_closed[l] = closed;
    s.link_factor[l] = factor;
    x.link_closed[l] = closed;
    x.link_speed_factor[l] = factor;
    s.link_hours_closed += closed * hours;
  }
}

}  // namespace citytwin::coupling
