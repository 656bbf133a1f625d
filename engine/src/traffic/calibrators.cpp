// Live-count calibrators in the manner of SUMO's calibrators (SUMO user documentation,
// "Simulation/Calibrator"): at a detector, vehicles are inserted when fewer have passed than
// wished, and the vehicle next to pass is removed when more have. What is wished is a factor
// on the natural flow (the vehicles that would pass without the calibrator), set from the
// traffic_count observations (TrafficDomain::assimilate) as the power meters set their
// substation's load factor: a 30 % heavier demand is learned as a factor of 1.3 that holds
// while the flow itself rises and falls.
//
// The inserted vehicles come from a reserve compiled into the demand (the state's arrays keep
// their size): copies of planned vehicles (type, destination) that start on the detectors'
// edge and depart only when the calibrator inserts them.
#include <fmt/format.h>

#include <algorithm>

#include "citytwin/rng.hpp"
#include "traffic/kernel.hpp"
#include "traffic/step.hpp"

namespace citytwin::traffic {

Result<void> add_calibrator(const Network& n, const std::vector<DetectorSpec>& dets, Demand& d,
                            CalibratorSpec c, std::int32_t reserve, std::uint64_t seed) {
  if (c.dets.empty()) return fail(Error::msg("calibrator " + c.id + ": no detector"));
  c.edge = n.lane_edge[z(dets[z(c.dets[0])].lane)];
  for (std::int32_t k : c.dets)
    if (n.lane_edge[z(dets[z(k)].lane)] != c.edge)
      return fail(
          Error::msg(fmt::format("calibrator {}: detectors {} and {} are on different edges", c.id,
                                 dets[z(c.dets[0])].id, dets[z(k)].id)));
  // Planned vehicles to copy: those whose route passes the edge (their route on from there),
  // else any whose destination the edge leads to (a trip there, routed when inserted).
  const std::int32_t planned = d.n_planned();
  const auto route_of = [&](std::int32_t v) {
    return std::span<const std::int32_t>(d.route_edges.data() + d.veh_route_begin[z(v)],
                                         z(d.veh_route_begin[z(v) + 1] - d.veh_route_begin[z(v)]));
  };
  const auto is_trip = [&](std::int32_t v) { return !d.veh_trip.empty() && d.veh_trip[z(v)]; };
  // The edges the detectors' edge leads to (depth-first over successor edges).
  std::vector<std::uint8_t> reach(z(n.n_edges()), 0);
  std::vector<std::int32_t> stack{c.edge};
  reach[z(c.edge)] = 1;
  while (!stack.empty()) {
    const std::int32_t e = stack.back();
    stack.pop_back();
    for (std::int32_t k = n.edge_succ_begin[z(e)]; k < n.edge_succ_begin[z(e) + 1]; ++k) {
      const std::int32_t next = n.edge_succ[z(k)];
      if (!reach[z(next)]) {
        reach[z(next)] = 1;
        stack.push_back(next);
      }
    }
  }
  std::vector<std::int32_t> through, any;
  for (std::int32_t v = 0; v < planned; ++v) {
    const auto r = route_of(v);
    if (!is_trip(v) && std::find(r.begin(), r.end(), c.edge) != r.end()) through.push_back(v);
    if (r.back() != c.edge && reach[z(r.back())]) any.push_back(v);
  }
  const std::vector<std::int32_t>& pick = through.empty() ? any : through;
  if (pick.empty())
    return fail(Error::msg("no planned vehicle passes the detectors' edge or goes where it leads"));
  const auto index = static_cast<std::uint64_t>(d.calibrators.size());
  if (d.reserve_begin < 0) d.reserve_begin = d.n_vehicles();
  c.reserve_begin = d.n_vehicles();
  for (std::int32_t k = 0; k < reserve; ++k) {
    const double r = Rng(seed, RngStream::sensors, index, static_cast<std::uint64_t>(k)).uniform(0);
    const std::int32_t t = pick[std::min(
        pick.size() - 1, static_cast<std::size_t>(r * static_cast<double>(pick.size())))];
    // A copy: appending to the demand's route pool moves it.
    const auto of_t = route_of(t);
    const std::vector<std::int32_t> route(of_t.begin(), of_t.end());
    d.veh_id.push_back(fmt::format("{}#{}.{}", d.veh_id[z(t)], c.id, k));
    d.veh_depart.push_back(k_reserve_depart);
    d.veh_type.push_back(d.veh_type[z(t)]);
    const auto at = std::find(route.begin(), route.end(), c.edge);
    const bool trip = is_trip(t) || at == route.end();
    if (trip) {
      if (d.veh_trip.empty()) d.veh_trip.assign(z(d.n_vehicles() - 1), 0);
      d.route_edges.push_back(c.edge);
      d.route_edges.push_back(route.back());
    } else {
      d.route_edges.insert(d.route_edges.end(), at, route.end());
    }
    if (!d.veh_trip.empty()) d.veh_trip.push_back(trip ? 1 : 0);
    d.veh_route_begin.push_back(static_cast<std::int32_t>(d.route_edges.size()));
  }
  c.reserve_end = d.n_vehicles();
  // Its vehicles start at the lane start and must pass the detectors to be counted.
  float room = 0.0f;
  for (std::int32_t v = c.reserve_begin; v < c.reserve_end; ++v) {
    const VehicleType& t = d.types[z(d.veh_type[z(v)])];
    room = std::max(room, t.length + t.min_gap + 2.0f);
  }
  for (std::int32_t k : c.dets)
    if (dets[z(k)].pos < room)
      return fail(Error::msg(fmt::format(
          "detector {} stands {:.1f} m from its lane's start; a calibrator inserts vehicles "
          "before it and needs {:.1f} m (a vehicle, its gap and 2 m)",
          dets[z(k)].id, dets[z(k)].pos, room)));
  d.calibrators.push_back(std::move(c));
  return {};
}

std::pair<std::int64_t, double> detector_totals(const TrafficState& s,
                                                std::span<const std::int32_t> dets) {
  std::int64_t n = 0;
  double speed = 0;
  for (std::int32_t k : dets) n += s.det_total[z(k)], speed += s.det_speed_total[z(k)];
  return {n, speed};
}

void set_calibrator_factor(const Demand& d, TrafficState& s, std::int32_t c, double factor) {
  s.calib_factor[z(c)] = std::max(0.0, factor);
  s.calib_base[z(c)] = detector_totals(s, d.calibrators[z(c)].dets).first;
  s.calib_ins[z(c)] = 0;
  s.calib_rem[z(c)] = 0;
}

namespace {

// The running vehicle nearest upstream of one of the calibrator's detectors (the next to
// pass), from the lane index of the last step; -1 if none.
std::int32_t next_to_pass(const TrafficState& s, const CalibratorSpec& cs) {
  std::int32_t best = -1;
  float best_pos = -1.0f;
  for (std::int32_t k : cs.dets) {
    const DetectorSpec& det = s.detectors[z(k)];
    for (std::int32_t j = s.lane_veh_begin[z(det.lane)]; j < s.lane_veh_begin[z(det.lane) + 1];
         ++j) {
      const std::int32_t w = s.lane_veh[z(j)];
      if (s.veh_status[z(w)] != VehStatus::running || s.veh_pos[z(w)] >= det.pos) continue;
      if (s.veh_pos[z(w)] > best_pos) best = w, best_pos = s.veh_pos[z(w)];
      break;  // front first: the rest of the lane is further upstream
    }
  }
  return best;
}

void remove_vehicle(TrafficState& s, std::int32_t v) {
  s.veh_status[z(v)] = VehStatus::removed;
  s.veh_arrive_time[z(v)] = s.time;
  s.veh_flags[z(v)] |= k_flag_calibrated;
  const auto end = s.running.begin() + s.n_running;
  const auto at = std::find(s.running.begin(), end, v);
  std::copy(at + 1, end, at);
  --s.n_running;
  ++s.removed;
  ++s.calib_removed;
}

}  // namespace

void calibrate(const Network& n, const Demand& d, const Params& p, TrafficState& s,
               std::int32_t first_new) {
  for (std::size_t c = 0; c < d.calibrators.size(); ++c) {
    const double factor = s.calib_factor[c];
    if (factor == 1.0) continue;
    const CalibratorSpec& cs = d.calibrators[c];
    // Since the factor was set: the vehicles that passed the detectors, its own vehicles
    // still before them (they will pass), and the natural flow: the passings less its own
    // vehicles, plus those it removed.
    float det_pos = 0.0f;
    for (std::int32_t k : cs.dets) det_pos = std::max(det_pos, s.detectors[z(k)].pos);
    std::int64_t in_flight = 0;
    for (std::int32_t v = cs.reserve_begin; v < s.calib_next[c]; ++v)
      in_flight += s.veh_status[z(v)] == VehStatus::running &&
                   n.lane_edge[z(s.veh_lane[z(v)])] == cs.edge && s.veh_pos[z(v)] < det_pos;
    const std::int64_t passed = detector_totals(s, cs.dets).first - s.calib_base[c];
    const std::int64_t natural = passed - (s.calib_ins[c] - in_flight) + s.calib_rem[c];
    const double wished = factor * static_cast<double>(natural);
    if (static_cast<double>(passed + in_flight) + 1 <= wished) {
      std::int32_t& armed = s.calib_armed[c];
      if (armed >= 0 && s.veh_status[z(armed)] != VehStatus::pending) armed = -1;  // no route
      if (armed < 0) {
        if (s.calib_next[c] >= cs.reserve_end) {
          ++s.calib_short;
          continue;
        }
        armed = s.calib_next[c]++;
        --s.calib_unused;
      }
      // A trip is routed first (prepare_routes, next step), with the current travel times.
      if (s.veh_flags[z(armed)] & k_flag_needs_route) {
        s.route_queue.push_back(armed);
        continue;
      }
      if (!s.edge_closed[z(cs.edge)] && insert_vehicle(n, d, p, s, cs.edge, armed, first_new)) {
        ++s.calib_ins[c];
        ++s.calib_inserted;
        armed = -1;
      }
    } else if (static_cast<double>(passed) >= wished + 1) {
      // Ahead of the wished share of the natural flow: the next to pass goes.
      if (const std::int32_t v = next_to_pass(s, cs); v >= 0) {
        remove_vehicle(s, v);
        ++s.calib_rem[c];
      }
    }
  }
}

}  // namespace citytwin::traffic
