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

void CityExchange::hash(StateHasher& h) const {
  h.add(link_depth_m);
  h.add(building_depth_m);
  h.add(element_depth_m);
  h.add(pump_depth_m);
  h.add(bus_dark_since);
  h.add(building_powered);
  h.add(element_energised);
  h.add(building_arrivals);
  h.add(link_speed_factor);
  h.add(link_closed);
  h.add(signal_powered);
  h.add(element_in_service);
  h.add(building_connected);
  h.add(building_extra_w);
  h.add(pump_rate_m3s);
}

}  // namespace citytwin
