// Scheduled stops (SUMO's <stop>,
// https://sumo.dlr.de/docs/Definition_of_Vehicles%2C_Vehicle_Types%2C_and_Routes.html#stops_and_waypoints;
// docs/traffic.md "Stops"): the stopping places of additional files (<busStop>, <trainStop>),
// and the bookkeeping of a vehicle's stops in the state. The stop's motion rules live in the
// step's phases (car following: the stop is a standing obstacle; commit: the halt begins and
// ends; lane changes: towards the stop's lane) and use the queries of step.hpp.
#include <unordered_set>

#include <fmt/format.h>

#include "traffic/kernel.hpp"
#include "traffic/step.hpp"
#include "traffic/sumo_common.hpp"
#include "traffic/xml_reader.hpp"

namespace citytwin::traffic {
namespace {

class PlaceHandler final : public xml::Handler {
 public:
  explicit PlaceHandler(Network& n) : m_net(n), m_ids(n.place_id.begin(), n.place_id.end()) {}

  Result<void> start(std::string_view name, const xml::Attrs& at, int depth) override {
    if (depth == 1) return additional_root(name, at);
    if (name != "busStop" && name != "trainStop") return {};
    const std::string el(name);
    auto id = at.text(el, "id");
    if (!id) return fail(id.error());
    if (!m_ids.emplace(*id).second)
      return fail(at.error(el + ".id", "duplicate id", std::string(*id),
                           "an id no other stopping place has"));
    auto lane_id = at.text(el, "lane");
    if (!lane_id) return fail(lane_id.error());
    const std::string lid(*lane_id);
    const std::int32_t lane = find_lane(m_net, lid);
    if (lane < 0)
      return fail(at.error(el + ".lane", "unknown lane", "'" + lid + "'",
                           "a lane of the network (<edge id>_<index>)"));
    const double len = m_net.lane_length[z(lane)];
    auto start = at.number_or(el, "startPos", 0.0);
    if (!start) return fail(start.error());
    auto end = at.number_or(el, "endPos", len);
    if (!end) return fail(end.error());
    auto b = lane_position(at, el, "startPos", *start, len);
    if (!b) return fail(b.error());
    auto e = lane_position(at, el, "endPos", *end, len);
    if (!e) return fail(e.error());
    if (*b > *e)
      return fail(at.error(el + ".startPos", "after endPos", fmt::format("{} > {}", *b, *e),
                           "startPos <= endPos"));
    m_net.place_id.emplace_back(*id);
    m_net.place_lane.push_back(lane);
    m_net.place_start.push_back(*b);
    m_net.place_end.push_back(*e);
    return {};
  }

 private:
  Network& m_net;
  std::unordered_set<std::string> m_ids;  // stopping places so far (earlier files' too)
};

}  // namespace

Result<void> read_sumo_stop_places(const std::string& path, Network& net) {
  PlaceHandler h(net);
  return parse_sumo_file(path, h);
}

void init_stops(const Demand& d, TrafficState& s) {
  if (d.stops.empty()) return;
  const auto nv = z(d.n_vehicles());
  s.veh_stop_next.resize(nv);
  for (std::int32_t v = 0; v < d.n_vehicles(); ++v) s.veh_stop_next[z(v)] = d.stop_begin(v);
  s.veh_stop_until.assign(nv, -1);
  s.veh_stop_time.assign(nv, 0.0f);
  s.veh_stops_missed.assign(nv, 0);
  s.scratch_stop.assign(nv, 0);
}

void pass_stops(const Demand& d, TrafficState& s, std::int32_t v, std::int32_t from,
                std::int32_t to) {
  for (const VehicleStop* st = next_stop(d, s, v); st != nullptr; st = next_stop(d, s, v)) {
    while (from < to && s.route_edges[z(from)] != st->edge) ++from;
    if (from >= to) return;
    ++s.veh_stops_missed[z(v)];
    ++s.veh_stop_next[z(v)];
  }
}

void finish_stops(const Demand& d, TrafficState& s, std::int32_t v) {
  if (d.stops.empty()) return;
  const std::int64_t left = d.stop_end(v) - s.veh_stop_next[z(v)];
  const std::int64_t missed = s.veh_stops_missed[z(v)] + left;
  s.stops_missed += missed;
  s.stops_made += d.stop_end(v) - d.stop_begin(v) - missed;
}

}  // namespace citytwin::traffic
