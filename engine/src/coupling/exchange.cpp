// CityExchange: sizing for a layout, and hashing (it is part of the state's identity).
#include "citytwin/exchange.hpp"

namespace citytwin {

void CityExchange::reset(const ExchangeLayout& l) {
  const auto nl = static_cast<std::size_t>(l.n_links), nb = static_cast<std::size_t>(l.n_buildings),
             ns = static_cast<std::size_t>(l.n_signals()),
             nbus = static_cast<std::size_t>(l.n_bus()),
             ne = static_cast<std::size_t>(l.n_elements()),
             np = static_cast<std::size_t>(l.n_pumps());
  link_depth_m.assign(nl, 0.0f);
  building_depth_m.assign(nb, 0.0f);
  element_depth_m.assign(ne, 0.0f);
  pump_depth_m.assign(np, 0.0f);
  bus_dark_since.assign(nbus, -1);
  building_powered.assign(nb, 1);
  element_energised.assign(ne, 1);
  building_arrivals.assign(nb, 0);
  link_speed_factor.assign(nl, 1.0f);
  link_closed.assign(nl, 0);
  signal_powered.assign(ns, 1);
  element_in_service.assign(ne, 1);
  building_connected.assign(nb, 1);
  building_extra_w.assign(nb, 0.0f);
  pump_rate_m3s.assign(np, 0.0f);
}

namespace {
template <class A, class X>
void exchange_fields(A& a, X& x) {
  a.field("link_depth_m", x.link_depth_m);
  a.field("building_depth_m", x.building_depth_m);
  a.field("element_depth_m", x.element_depth_m);
  a.field("pump_depth_m", x.pump_depth_m);
  a.field("bus_dark_since", x.bus_dark_since);
  a.field("building_powered", x.building_powered);
  a.field("element_energised", x.element_energised);
  a.field("building_arrivals", x.building_arrivals);
  a.field("link_speed_factor", x.link_speed_factor);
  a.field("link_closed", x.link_closed);
  a.field("signal_powered", x.signal_powered);
  a.field("element_in_service", x.element_in_service);
  a.field("building_connected", x.building_connected);
  a.field("building_extra_w", x.building_extra_w);
  a.field("pump_rate_m3s", x.pump_rate_m3s);
}
}  // namespace

void CityExchange::save(StateOut& out) const {
  exchange_fields(out, *this);
}
void CityExchange::load(StateIn& in) {
  exchange_fields(in, *this);
}

}  // namespace citytwin
