// The compiled coupling: index maps built once (signal -> nearest LV bus, pump -> nearest bus,
// link limits and names), the rules' state, and apply_coupling, which runs the rules in their
// fixed order.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "citytwin/rng.hpp"
#include "coupling/rules.hpp"

namespace citytwin {

const char* to_string(CouplingRule r) {
  switch (r) {
    case CouplingRule::flood_roads:
      return "flood_roads";
    case CouplingRule::flood_power:
      return "flood_power";
    case CouplingRule::flood_buildings:
      return "flood_buildings";
    case CouplingRule::power_signals:
      return "power_signals";
    case CouplingRule::power_pumps:
      return "power_pumps";
    case CouplingRule::ev_charging:
      return "ev_charging";
  }
  return "?";
}

namespace {

// Nearest bus to a point among those `usable` (squared distance; ties to the lower index).
std::int32_t nearest_bus(const ExchangeLayout& l, double x, double y, bool lv_only) {
  std::int32_t best = -1;
  double best_d2 = std::numeric_limits<double>::infinity();
  for (std::int32_t b = 0; b < l.n_bus(); ++b) {
    if (lv_only && !l.bus_lv[static_cast<std::size_t>(b)]) continue;
    const double dx = l.bus_x[static_cast<std::size_t>(b)] - x,
                 dy = l.bus_y[static_cast<std::size_t>(b)] - y, d2 = dx * dx + dy * dy;
    if (d2 < best_d2) best_d2 = d2, best = b;
  }
  return best;
}

}  // namespace

float CouplingModel::speed_factor(std::int32_t link, double depth_m) const {
  const auto& fr = spec.flood_roads;
  if (depth_m >= fr.close_depth_m) return 0.0f;
  double f = 1.0;
  if (fr.curve.empty()) {
    // Pregnolato et al. (2017), Transp. Res. D 55, eq. 4: the highest safe speed at a water
    // depth of w mm, applied as a cap on the link's speed limit.
    const double w = depth_m * 1000.0;
    const double v = 0.0009 * w * w - 0.5529 * w + 86.9448;
    f = std::clamp(
        v / std::max(1.0, static_cast<double>(link_limit_kmh[static_cast<std::size_t>(link)])), 0.0,
        1.0);
  } else {
    const auto& c = fr.curve;
    const auto it = std::upper_bound(c.begin(), c.end(), depth_m,
                                     [](double d, const auto& p) { return d < p.first; });
    if (it == c.end())
      f = c.back().second;
    else {
      const auto& [d1, f1] = *it;
      const auto& [d0, f0] = *(it - 1);
      f = f0 + (f1 - f0) * (depth_m - d0) / (d1 - d0);
    }
  }
  // Steps of 5 %, rounded down (a slowed link never reads as faster than the curve), and
  // never 0 on an open link: traffic re-routes on a change, not on every centimetre.
  return static_cast<float>(std::max(0.05, std::floor(f * 20.0 + 1e-9) / 20.0));
}

Result<std::unique_ptr<const CouplingModel>> compile_coupling(
    const CouplingSpec& spec, std::shared_ptr<const ExchangeLayout> layout, const CityModel& city) {
  auto m = std::make_unique<CouplingModel>();
  m->spec = spec;
  const ExchangeLayout& l = *layout;
  const RoadNetwork& rn = city.roads;
  if (spec.flood_roads.on && !l.traffic_on_city_links)
    return fail(
        Diagnostic::at(spec.where, 0, "flood_roads",
                       "flood -> roads needs the traffic domain on the city's road links", "",
                       "traffic.network = \"city\" (a SUMO network's edges are not city links), "
                       "or [coupling.flood_roads] enabled = false"));
  if ((spec.flood_power.on || spec.signals.on || spec.pumps_on) && l.n_elements() == 0 && l.power)
    return fail(
        Diagnostic::at(spec.where, 0, spec.signals.on ? "signals" : "flood_power",
                       "these rules need the city's distribution grid (substations, kiosks, LV "
                       "buses with positions)",
                       "", "power.grid = \"city\", or switch the rule off"));
  for (std::int32_t k = 0; k < rn.link_count(); ++k) {
    const auto u = static_cast<std::size_t>(k);
    m->link_limit_kmh.push_back(rn.link_speed_mps[u] * 3.6f);
    m->link_names.push_back(rn.link_name[u].empty()
                                ? fmt::format("way {}", rn.link_osm_way[u])
                                : fmt::format("way {} ({})", rn.link_osm_way[u], rn.link_name[u]));
  }
  for (std::int32_t sg = 0; sg < l.n_signals(); ++sg) {
    const auto u = static_cast<std::size_t>(sg);
    m->signal_osm_node.push_back(rn.node_osm_id[static_cast<std::size_t>(l.signal_node[u])]);
    m->signal_bus.push_back(l.power ? nearest_bus(l, l.signal_x[u], l.signal_y[u], true) : -1);
  }
  for (std::int32_t p = 0; p < l.n_pumps(); ++p) {
    const auto u = static_cast<std::size_t>(p);
    m->pump_bus.push_back(l.power ? nearest_bus(l, l.pump_x[u], l.pump_y[u], true) : -1);
  }
  m->layout = std::move(layout);
  return std::unique_ptr<const CouplingModel>(std::move(m));
}

CouplingState make_coupling_state(const CouplingModel& m, std::uint64_t seed) {
  const ExchangeLayout& l = *m.layout;
  const auto& fp = m.spec.flood_power;
  CouplingState s;
  s.seed = seed;
  s.link_closed.assign(static_cast<std::size_t>(l.n_links), 0);
  s.link_factor.assign(static_cast<std::size_t>(l.n_links), 1.0f);
  // Each element's failure depth, drawn once per state: with a lognormal fragility curve
  // P(fail | d) = Phi(ln(d / median) / sigma), an element whose draw is z fails at
  // median * exp(sigma z), so the same seed fails the same elements at the same depths.
  for (std::int32_t e = 0; e < l.n_elements(); ++e) {
    const bool sub = l.element_kind[static_cast<std::size_t>(e)] == ElementKind::substation;
    double cap = sub ? fp.substation_depth_m : fp.transformer_depth_m;
    if (fp.fragility) {
      const double z = Rng(seed, RngStream::coupling, static_cast<std::uint64_t>(e), 0).normal(0);
      cap = (sub ? fp.substation_median_m : fp.transformer_median_m) *
            std::exp((sub ? fp.substation_sigma : fp.transformer_sigma) * z);
    }
    s.element_capacity_m.push_back(static_cast<float>(cap));
  }
  s.element_failed.assign(static_cast<std::size_t>(l.n_elements()), 0);
  s.element_dry_since.assign(static_cast<std::size_t>(l.n_elements()), -1);
  s.building_cut.assign(static_cast<std::size_t>(l.n_buildings), 0);
  s.signal_dark.assign(static_cast<std::size_t>(l.n_signals()), 0);
  s.pump_on.assign(static_cast<std::size_t>(l.n_pumps()), 1);
  s.ev_load_w.assign(static_cast<std::size_t>(l.n_buildings), 0.0f);
  return s;
}

namespace {
template <class A, class S>
void coupling_fields(A& a, S& s) {
  a.field("seed", s.seed);
  a.field("link_closed", s.link_closed);
  a.field("link_factor", s.link_factor);
  a.field("element_capacity_m", s.element_capacity_m);
  a.field("element_failed", s.element_failed);
  a.field("element_dry_since", s.element_dry_since);
  a.field("building_cut", s.building_cut);
  a.field("signal_dark", s.signal_dark);
  a.field("pump_on", s.pump_on);
  a.each("ev_sessions", s.ev_sessions, [](A& b, auto& e) {
    b.field("end", e.end);
    b.field("building", e.building);
  });
  a.field("ev_sessions_started", s.ev_sessions_started);
  a.field("ev_load_w", s.ev_load_w);
  a.field("link_hours_closed", s.link_hours_closed);
  a.field("customer_hours_unpowered", s.customer_hours_unpowered);
  a.field("signal_hours_dark", s.signal_hours_dark);
  a.field("pump_hours_lost", s.pump_hours_lost);
  a.field("links_closed_total", s.links_closed_total);
  a.field("elements_failed_total", s.elements_failed_total);
  a.field("signals_dark_total", s.signals_dark_total);
  a.field("max_customers_unpowered", s.max_customers_unpowered);
  a.each("log", s.log, [](A& b, auto& r) {
    b.field("t", r.t);
    b.field("rule", r.rule);
    b.field("source_kind", r.source_kind);
    b.field("source", r.source);
    b.field("source_value", r.source_value);
    b.field("target_kind", r.target_kind);
    b.field("target", r.target);
    b.field("new_state", r.new_state);
  });
}
}  // namespace

void CouplingState::save(StateOut& out) const {
  coupling_fields(out, *this);
}
void CouplingState::load(StateIn& in) {
  coupling_fields(in, *this);
}

void apply_coupling(const CouplingModel& m, CouplingState& s, SimTime t, SimTime dt,
                    CityExchange& x) {
  if (m.spec.flood_roads.on) coupling::flood_roads(m, s, t, dt, x);
  if (m.spec.flood_power.on) coupling::flood_power(m, s, t, dt, x);
  if (m.spec.signals.on) coupling::power_signals(m, s, t, dt, x);
  if (m.layout->n_pumps() > 0) coupling::power_pumps(m, s, t, dt, x);
  if (m.spec.ev.on) coupling::ev_charging(m, s, t, dt, x);
  // Customers (buildings) without power, whatever the cause, integrated over the step.
  if (m.layout->power) {
    std::int32_t dark = 0;
    for (std::uint8_t p : x.building_powered) dark += p ? 0 : 1;
    s.customer_hours_unpowered += dark * (static_cast<double>(dt) / 3.6e6);
    s.max_customers_unpowered = std::max(s.max_customers_unpowered, dark);
  }
}

}  // namespace citytwin
