// The traffic datastreams of a live twin (docs/live.md "Assimilation"): what a count or speed
// sensor at a detector reads (its passings over the datastream's period, from a ring of the
// detectors' totals after each step), and how its observations steer the state: a count scales
// its calibrator's factor on the natural flow (calibrators.cpp), a mean speed the edge's speed
// limit.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "traffic/traffic_domain_impl.hpp"

namespace citytwin::traffic {

namespace {
using u = std::size_t;
}

Result<void> resolve_sensors(const ScenarioSpec& scenario, std::uint64_t seed, Compiled& c) {
  c.sensor_of.assign(scenario.live.datastreams.size(), -1);
  for (const DatastreamSpec& ds : scenario.live.datastreams) {
    if (ds.kind != SensorKind::traffic_count && ds.kind != SensorKind::traffic_speed) continue;
    // The entity is a detector's id, or the id of a [[traffic.detector]] over every lane of
    // an edge (its detectors are "<id>_<lane>").
    TrafficSensor sn{ds.id, {}, ds.period, -1, -1};
    for (std::size_t k = 0; k < c.detectors.size(); ++k) {
      const std::string& id = c.detectors[k].id;
      const bool lane_of =
          id.size() > ds.entity.size() + 1 && id.starts_with(ds.entity) &&
          id[ds.entity.size()] == '_' &&
          id.find_first_not_of("0123456789", ds.entity.size() + 1) == std::string::npos;
      if (id == ds.entity || lane_of) sn.dets.push_back(static_cast<std::int32_t>(k));
    }
    if (sn.dets.empty())
      return fail(Diagnostic::at(ds.where, 0, "entity", "no such detector", ds.entity,
                                 "the id of a [[traffic.detector]] or of an inductionLoop in the "
                                 "traffic's additional files"));
    sn.edge = c.net.lane_edge[static_cast<u>(c.detectors[static_cast<u>(sn.dets[0])].lane)];
    for (std::int32_t k : sn.dets)
      if (c.net.lane_edge[static_cast<u>(c.detectors[static_cast<u>(k)].lane)] != sn.edge)
        return fail(Diagnostic::at(ds.where, 0, "entity", "the detectors are on several edges",
                                   ds.entity, "detectors of one edge"));
    if (ds.kind == SensorKind::traffic_count) {
      sn.calibrator = static_cast<std::int32_t>(c.demand.calibrators.size());
      CalibratorSpec cs;
      cs.id = ds.id;
      cs.dets = sn.dets;
      if (auto ok = add_calibrator(c.net, c.detectors, c.demand, std::move(cs), ds.reserve, seed);
          !ok)
        return fail(Diagnostic::at(ds.where, 0, "entity", ok.error().to_string(), ds.entity,
                                   "a detector that planned vehicles can reach"));
    }
    c.sensor_of[static_cast<u>(ds.index)] = static_cast<std::int32_t>(c.sensors.size());
    c.sensors.push_back(std::move(sn));
  }
  return {};
}

const TrafficSensor* TrafficDomain::sensor(const DatastreamSpec& ds) const {
  // Resolved when compiled; the id guards against a datastream of another scenario.
  if (ds.index < 0 || static_cast<u>(ds.index) >= m_c.sensor_of.size()) return nullptr;
  const std::int32_t k = m_c.sensor_of[static_cast<u>(ds.index)];
  if (k < 0 || m_c.sensors[static_cast<u>(k)].id != ds.id) return nullptr;
  return &m_c.sensors[static_cast<u>(k)];
}

void TrafficDomain::init_sensors(TrafficDomainState& s) const {
  if (m_c.sensors.empty()) return;
  SimTime longest = 0;
  for (const TrafficSensor& sn : m_c.sensors) longest = std::max(longest, sn.period);
  const auto slots = static_cast<u>(longest / std::max<SimTime>(1, m_params.dt) + 2);
  s.hist_time.assign(slots, -1);
  s.hist_count.assign(slots * m_c.sensors.size(), 0);
  s.hist_speed.assign(slots * m_c.sensors.size(), 0.0);
  s.hist_head = 0;
  sample_sensors(s);  // t = 0: nothing passed
}

void TrafficDomain::sample_sensors(TrafficDomainState& s) const {
  if (m_c.sensors.empty()) return;
  const auto slot = static_cast<u>(s.hist_head);
  const u ns = m_c.sensors.size();
  s.hist_time[slot] = s.ts.time;
  for (u k = 0; k < ns; ++k) {
    const auto [n, speed] = detector_totals(s.ts, m_c.sensors[k].dets);
    s.hist_count[slot * ns + k] = n;
    s.hist_speed[slot * ns + k] = speed;
  }
  s.hist_head = static_cast<std::int32_t>((slot + 1) % s.hist_time.size());
}

std::pair<std::int64_t, double> TrafficDomain::sensor_window(const TrafficDomainState& s,
                                                             std::size_t k) const {
  // The newest sample at or before now - period (the oldest kept if the ring is younger).
  const u ns = m_c.sensors.size();
  const SimTime from = s.ts.time - m_c.sensors[k].period;
  std::int64_t best = -1;
  for (u slot = 0; slot < s.hist_time.size(); ++slot) {
    const SimTime t = s.hist_time[slot];
    if (t < 0) continue;
    const bool fits = t <= from, best_fits = best >= 0 && s.hist_time[static_cast<u>(best)] <= from;
    if (best < 0 || (fits && (!best_fits || t > s.hist_time[static_cast<u>(best)])) ||
        (!fits && !best_fits && t < s.hist_time[static_cast<u>(best)]))
      best = static_cast<std::int64_t>(slot);
  }
  const auto [n, speed] = detector_totals(s.ts, m_c.sensors[k].dets);
  const auto b = static_cast<u>(best) * ns + k;
  return {n - s.hist_count[b], speed - s.hist_speed[b]};
}

Result<std::optional<double>> TrafficDomain::observe(const DomainState& state,
                                                     const DatastreamSpec& ds) const {
  if (ds.kind != SensorKind::traffic_count && ds.kind != SensorKind::traffic_speed)
    return std::optional<double>();
  const TrafficSensor* sn = sensor(ds);
  if (!sn)
    return fail(Diagnostic::at(ds.where, 0, "entity", "no such detector", ds.entity,
                               "a detector of the traffic network"));
  const auto& s = static_cast<const TrafficDomainState&>(state);
  const auto [n, speed] = sensor_window(s, static_cast<u>(sn - m_c.sensors.data()));
  if (ds.kind == SensorKind::traffic_count) return std::optional<double>(static_cast<double>(n));
  // A mean speed needs a vehicle: none passed, no reading.
  return std::optional<double>(n > 0 ? speed / static_cast<double>(n)
                                     : std::numeric_limits<double>::quiet_NaN());
}

bool TrafficDomain::assimilate(DomainState& state, const DatastreamSpec& ds, double observed,
                               double gain) const {
  const TrafficSensor* sn = sensor(ds);
  const auto simulated = observe(state, ds);
  if (!sn || !simulated || !*simulated || !std::isfinite(**simulated) || observed < 0) return false;
  auto& s = static_cast<TrafficDomainState&>(state);
  const double sim = **simulated;
  if (sim <= 0) return false;  // nothing passed (count) or no speed: nothing to scale
  // Both scale by (observed / simulated)^gain, at most halved or doubled per reading: a count
  // the calibrator's factor on the natural flow (kept within [0, 10]), a mean speed the
  // edge's limit (kept between 1 m/s and the network's limit).
  const double r = std::clamp(std::pow(observed / sim, gain), 0.5, 2.0);
  if (ds.kind == SensorKind::traffic_count) {
    const auto c = static_cast<u>(sn->calibrator);
    set_calibrator_factor(m_demand, s.ts, sn->calibrator, std::min(10.0, s.ts.calib_factor[c] * r));
    return true;
  }
  const auto e = static_cast<u>(sn->edge);
  float network = 0.0f;
  for (std::int32_t l = m_net.edge_lane_begin[e]; l < m_net.edge_lane_begin[e + 1]; ++l)
    network = std::max(network, m_net.lane_speed[static_cast<u>(l)]);
  const float now = s.ts.edge_limit[e] > 0 ? s.ts.edge_limit[e] : network;
  set_edge_speed(m_net, s.ts, sn->edge,
                 static_cast<float>(std::clamp(now * r, 1.0, static_cast<double>(network))));
  return true;
}

}  // namespace citytwin::traffic
