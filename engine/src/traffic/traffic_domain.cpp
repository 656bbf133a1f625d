// The traffic domain: the lane-level simulation (traffic.hpp) driven by the run loop.
//
// The network and demand come from SUMO files (a .sumocfg, or net/route/additional files named
// in the scenario), or from the city: the lane network compiled from its OSM roads
// (osm_network.cpp) and home-to-work trips from its buildings (demand.hpp: activity, zones,
// gravity model, daily profile), routed when they depart. Events close and reopen edges, change
// speed limits, switch signals dark and scale the demand. Each macro step runs whole traffic steps
// of `traffic.dt` until the traffic clock reaches the end of the macro step. Per-edge statistics
// close every `stats_interval` of simulated time; the network summary and the viewer frame
// (vehicles, link state) are written at every output frame; the per-trip CSV and the end-of-run
// figures are written at the end (docs/scenario-traffic.md, hdf5-layout.md).
//
// This file holds the domain the run loop drives (TrafficDomain, traffic_domain_impl.hpp): the
// state it makes, events on it, the exchange hooks (closures, speed factors and dark signals in;
// arrivals per building out) and the advance over a macro step. The section is parsed in
// traffic_domain_spec.cpp, compiled in traffic_domain_compile.cpp, and written out in
// traffic_domain_outputs.cpp.
#include "traffic/traffic_domain_impl.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

namespace citytwin::traffic {

Footprint TrafficDomain::footprint(const RunSpec& /*run*/) const {
  const double veh = m_demand.n_vehicles(), lanes = m_net.n_lanes(), edges = m_net.n_edges(),
               conns = m_net.n_conns(), tls = static_cast<double>(m_net.tl_id.size()),
               routes = static_cast<double>(m_demand.route_edges.size());
  Footprint f;
  // Model: per lane its geometry and links, per edge its lanes and name, per connection its
  // conflicts; per vehicle its id, departure, type and route (a route copy per vehicle).
  f.model_bytes = lanes * 96 + edges * 96 + conns * 48 + veh * 64 + routes * 4;
  // State: about 29 arrays per vehicle (TrafficState: kinematics, times, route cursor, trip
  // record, scratch), its route copy, and the per-lane, per-edge, per-connection and
  // per-signal arrays (actuated signals: the phase start, a loop per incoming lane).
  const double loops = static_cast<double>(m_net.loop_lane.size());
  f.state_bytes =
      veh * 128 + routes * 4 + lanes * 32 + edges * 72 + conns * 8 + tls * 16 + loops * 8;
  // Run file: every vehicle's trip row at the end; per frame every running vehicle's position,
  // heading and speed (at most all of them) and, on a city network, each link's speed ratio
  // and closure.
  f.static_bytes = veh * 48 + edges * 32;
  f.frame_bytes = veh * 24 + (m_c.city ? edges * 5 : 0) + 128;
  return f;
}

std::unique_ptr<DomainState> TrafficDomain::make_state(std::uint64_t seed) const {
  auto s = std::make_unique<TrafficDomainState>();
  Params p = m_params;
  p.seed = seed;  // the state's seed draws its drivers (desired speeds)
  s->ts = traffic::make_state(m_net, m_demand, p);
  s->applied_closed.assign(m_c.city ? static_cast<std::size_t>(m_net.n_edges()) : 0, 0);
  s->applied_factor.assign(s->applied_closed.size(), 1.0f);
  s->applied_dark.assign(m_signal_tl.size(), 0);
  if (!m_c.detectors.empty()) {
    const auto ok = set_detectors(m_net, s->ts, m_c.detectors);
    CT_ASSERT(ok.has_value(), "detectors were checked at compile time");
  }
  init_sensors(*s);
  return s;
}

void TrafficDomain::reseed(DomainState& state, std::uint64_t seed) const {
  draw_pending_drivers(m_demand, static_cast<TrafficDomainState&>(state).ts, seed);
}

Result<void> TrafficDomain::apply_event(const EventSpec& e, DomainState& state) const {
  auto& s = static_cast<TrafficDomainState&>(state).ts;
  if (const auto* ee = dynamic_cast<const EdgeEvent*>(e.payload.get())) {
    auto edges = resolve_edges(m_c, e, *ee);
    if (!edges) return fail(edges.error());
    if (ee->kind == EdgeEvent::Kind::close) close_edges(m_net, s, *edges);
    if (ee->kind == EdgeEvent::Kind::reopen) reopen_edges(m_net, s, *edges);
    if (ee->kind == EdgeEvent::Kind::speed)
      for (std::int32_t edge : *edges)
        set_edge_speed(m_net, s, edge, static_cast<float>(ee->speed_mps));
  } else if (const auto* se = dynamic_cast<const SignalEvent*>(e.payload.get())) {
    auto tl = resolve_signal(m_c, e, *se);
    if (!tl) return fail(tl.error());
    set_signal_dark(m_net, s, *tl, se->dark);
  }
  // DemandScaleEvent: applied to the demand at compile time (scale_demand), nothing to do.
  return {};
}

void TrafficDomain::declare(ExchangeLayout& l) const {
  l.traffic = true;
  l.traffic_on_city_links = m_c.city;
}

// City signals (the exchange's index space) -> this network's signals: a city network names
// its signal at road node n "n<OSM id>"; a signal node without one (no conflicting movement)
// maps to -1.
Result<void> TrafficDomain::bind(const ExchangeLayout& l) {
  m_signal_tl.assign(static_cast<std::size_t>(l.n_signals()), -1);
  if (!m_c.city) return {};
  std::map<std::string, std::int32_t> by_id;
  for (std::size_t t = 0; t < m_net.tl_id.size(); ++t)
    by_id[m_net.tl_id[t]] = static_cast<std::int32_t>(t);
  for (std::int32_t g = 0; g < l.n_signals(); ++g) {
    const auto node = static_cast<std::size_t>(l.signal_node[static_cast<std::size_t>(g)]);
    const auto it = by_id.find(fmt::format("n{}", m_city.roads.node_osm_id[node]));
    if (it != by_id.end()) m_signal_tl[static_cast<std::size_t>(g)] = it->second;
  }
  return {};
}

// The coupling's inputs, applied only where they changed: a closure re-routes the vehicles
// it affects once, a factor changes the lane limits once.
void TrafficDomain::consume(const CityExchange& x, DomainState& state, const StepContext&) const {
  auto& s = static_cast<TrafficDomainState&>(state);
  std::vector<std::int32_t> closing, opening;
  for (std::size_t e = 0; e < s.applied_closed.size(); ++e) {
    const auto edge = static_cast<std::int32_t>(e);
    if (x.link_closed[e] != s.applied_closed[e]) {
      (x.link_closed[e] ? closing : opening).push_back(edge);
      s.applied_closed[e] = x.link_closed[e];
    }
    const float f = x.link_closed[e] ? s.applied_factor[e] : x.link_speed_factor[e];
    if (f != s.applied_factor[e]) {
      set_edge_speed_factor(m_net, s.ts, edge, f);
      s.applied_factor[e] = f;
    }
  }
  if (!closing.empty()) s.flood_reroutes += close_edges(m_net, s.ts, closing, k_cause_coupling);
  if (!opening.empty()) reopen_edges(m_net, s.ts, opening, k_cause_coupling);
  for (std::size_t g = 0; g < s.applied_dark.size(); ++g) {
    const std::uint8_t dark = x.signal_powered[g] ? 0 : 1;
    if (dark == s.applied_dark[g]) continue;
    s.applied_dark[g] = dark;
    set_signal_dark(m_net, s.ts, m_signal_tl[g], dark, k_cause_coupling);
  }
}

// Trips that ended during the last macro step, per destination building (city demand).
void TrafficDomain::publish(const DomainState& state, CityExchange& x) const {
  const auto& s = static_cast<const TrafficDomainState&>(state);
  std::fill(x.building_arrivals.begin(), x.building_arrivals.end(), 0);
  if (m_c.veh_dest_building.empty()) return;
  for (std::size_t v = 0; v < m_c.veh_dest_building.size(); ++v) {
    const std::int32_t b = m_c.veh_dest_building[v];
    if (b >= 0 && s.ts.veh_status[v] == VehStatus::arrived &&
        s.ts.veh_arrive_time[v] > s.step_begin && s.ts.veh_arrive_time[v] <= s.ts.time)
      ++x.building_arrivals[static_cast<std::size_t>(b)];
  }
}

void TrafficDomain::advance(DomainState& state, const StepContext& ctx) const {
  auto& s = static_cast<TrafficDomainState&>(state);
  const SimTime end = ctx.t + ctx.dt;
  s.step_begin = s.ts.time;
  while (s.ts.time < end) {
    traffic::step(m_net, m_demand, m_params, s.ts, *ctx.pool);
    sample_sensors(s);
    if (s.ts.time - s.interval_begin >= m_params.stats_interval) {
      const double b = to_seconds(s.interval_begin), e = to_seconds(s.ts.time);
      s.intervals.push_back(take_edge_interval(s.ts, b, e));
      if (!s.ts.detectors.empty()) s.detections.push_back(take_detector_interval(s.ts, b, e));
      s.interval_begin = s.ts.time;
    }
  }
}

}  // namespace citytwin::traffic
