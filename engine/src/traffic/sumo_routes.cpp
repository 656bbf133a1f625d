// SUMO route files
// (https://sumo.dlr.de/docs/Definition_of_Vehicles%2C_Vehicle_Types%2C_and_Routes.html): vType,
// vTypeDistribution, named and inline <route>, <vehicle>, <flow> (period, vehsPerHour or number,
// with begin/end), <trip> and route-less <flow> with from/to (and optional via): those are
// stored as trips (Demand::veh_trip) and routed by the simulation when they depart.
// <stop> in a vehicle, flow, trip or named route: at a stopping place (busStop, trainStop of an
// additional file read before), on a lane or an edge, for a duration and/or until a time
// (Demand::stops); kinds the model has not (parking, triggered, waypoints, container stops,
// charging stations, parking areas) and <param>, <interval> are counted in Demand::ignored, a
// warning per file and kind.
#include <algorithm>
#include <map>
#include <numeric>
#include <unordered_set>

#include <fmt/format.h>

#include "citytwin/rng.hpp"
#include "citytwin/traffic.hpp"
#include "traffic/sumo_common.hpp"
#include "traffic/vclass.hpp"

namespace citytwin::traffic {
namespace {

struct Distribution {
  std::vector<std::int32_t> types;
  std::vector<double> probability;
};

class RoutesHandler final : public xml::Handler {
 public:
  RoutesHandler(const Network& n, Demand& d, std::uint64_t seed)
      : m_net(n), m_demand(d), m_seed(seed), m_ids(d.veh_id.begin(), d.veh_id.end()) {
    for (std::size_t t = 0; t < d.types.size(); ++t)
      m_type_of[d.types[t].id] = static_cast<std::int32_t>(t);
    for (std::size_t k = 0; k < d.dist_id.size(); ++k)
      for (std::int32_t i = d.dist_begin[k]; i < d.dist_begin[k + 1]; ++i) {
        m_dists[d.dist_id[k]].types.push_back(d.dist_type[static_cast<std::size_t>(i)]);
        m_dists[d.dist_id[k]].probability.push_back(d.dist_prob[static_cast<std::size_t>(i)]);
      }
  }
  /// Stores the distributions back into the demand (for later files).
  void save_distributions() {
    m_demand.dist_id.clear();
    m_demand.dist_begin.assign(1, 0);
    m_demand.dist_type.clear();
    m_demand.dist_prob.clear();
    for (const auto& [id, dist] : m_dists) {
      m_demand.dist_id.push_back(id);
      m_demand.dist_type.insert(m_demand.dist_type.end(), dist.types.begin(), dist.types.end());
      m_demand.dist_prob.insert(m_demand.dist_prob.end(), dist.probability.begin(),
                                dist.probability.end());
      m_demand.dist_begin.push_back(static_cast<std::int32_t>(m_demand.dist_type.size()));
    }
  }
  std::map<std::string, std::int64_t> ignored;

  Result<void> start(std::string_view name, const xml::Attrs& at, int depth) override {
    if (depth == 1) {
      if (name != "routes" && name != "additional" && name != "add")
        return fail(
            at.error("root", "not a SUMO route file", "<" + std::string(name) + ">", "<routes>"));
      return {};
    }
    if (name == "vTypeDistribution") {
      auto id = at.text("vTypeDistribution", "id");
      if (!id) return fail(id.error());
      m_dist_name = *id;
      m_dists[m_dist_name] = {};
      return {};
    }
    if (name == "vType") return start_vtype(at);
    if (name == "route") return start_route(at);
    if (name == "vehicle" || name == "flow" || name == "trip") return start_vehicle(name, at);
    if (name == "stop") return start_stop(at);
    if (name == "param" || name == "interval") {
      ++ignored[std::string(name)];
      return {};
    }
    return fail(at.error(std::string(name), "unsupported element", "<" + std::string(name) + ">",
                         "vType, vTypeDistribution, route, vehicle, trip, flow, stop, param"));
  }

  Result<void> end(std::string_view name, int) override {
    if (name == "vTypeDistribution") m_dist_name.clear();
    if (name == "route") m_route_open.clear();
    if (name == "vehicle" || name == "flow" || name == "trip") return finish_vehicle();
    return {};
  }

 private:
  struct Pending {
    bool open = false, is_flow = false;
    std::string id;
    int line = 0;
    double depart = 0, begin = 0, end = 3600, period = 0;
    std::int64_t number = -1;
    std::string type, route_ref;
    std::vector<std::int32_t> edges;
    std::vector<std::int32_t> trip;  // from, via..., to (a trip without a route)
    std::vector<VehicleStop> stops;
    std::vector<int> stop_lines;
  };
  struct RouteStops {
    std::vector<VehicleStop> stops;
    std::vector<int> lines;
  };
  const Network& m_net;
  Demand& m_demand;
  std::uint64_t m_seed;
  std::map<std::string, std::int32_t> m_type_of;
  std::unordered_set<std::string> m_ids;  // vehicle and flow ids so far (SUMO's must be unique)
  std::unordered_set<std::uint64_t> m_joined;  // (from edge << 32 | to edge) with a connection

  // The first consecutive pair of a route's edges that no connection joins (-1: none).
  std::ptrdiff_t first_gap(const std::vector<std::int32_t>& edges) {
    if (m_joined.empty())
      for (std::int32_t c = 0; c < m_net.n_conns(); ++c) {
        const auto a = static_cast<std::uint64_t>(m_net.lane_edge[static_cast<std::size_t>(
            m_net.conn_from_lane[static_cast<std::size_t>(c)])]);
        const auto b = static_cast<std::uint32_t>(m_net.lane_edge[static_cast<std::size_t>(
            m_net.conn_to_lane[static_cast<std::size_t>(c)])]);
        m_joined.insert(a << 32 | b);
      }
    for (std::size_t k = 1; k < edges.size(); ++k)
      if (!m_joined.contains(static_cast<std::uint64_t>(edges[k - 1]) << 32 |
                             static_cast<std::uint32_t>(edges[k])))
        return static_cast<std::ptrdiff_t>(k);
    return -1;
  }
  std::map<std::string, Distribution> m_dists;
  std::map<std::string, std::vector<std::int32_t>> m_routes;
  std::map<std::string, RouteStops> m_route_stops;              // stops of named routes
  std::string m_route_open;                                     // the named route being read
  std::map<std::string, std::int32_t, std::less<>> m_place_of;  // stopping places by id
  std::string m_dist_name;
  Pending m_veh;
  std::string m_file;

  static Result<std::pair<double, double>> parse_speed_factor(const xml::Attrs& at, const char* v,
                                                              double dev) {
    std::string s(v);
    double mean = 0, sd = dev;
    if (s.rfind("norm", 0) == 0) {
      const auto open = s.find('('), comma = s.find(',');
      if (open == std::string::npos || comma == std::string::npos)
        return fail(at.error("vType.speedFactor", "malformed distribution", s, "norm(mean,dev)"));
      mean = std::strtod(s.c_str() + open + 1, nullptr);
      sd = std::strtod(s.c_str() + comma + 1, nullptr);
    } else {
      char* end = nullptr;
      mean = std::strtod(s.c_str(), &end);
      if (end == s.c_str() || *end != '\0')
        return fail(at.error("vType.speedFactor", "not a number", s, "a number or norm(mean,dev)"));
    }
    if (mean <= 0) return fail(at.error("vType.speedFactor", "not positive", s, "> 0"));
    return std::pair{mean, sd};
  }

  Result<void> start_vtype(const xml::Attrs& at) {
    auto id = at.text("vType", "id");
    if (!id) return fail(id.error());
    VehicleType t;
    t.id = *id;
    const char* vc = at.find("vClass");
    const std::string_view vclass = vc ? vc : "passenger";
    if (vclass == "bus") {  // SUMO's bus defaults
      t.accel = 1.2f;
      t.decel = 4.0f;
      t.length = 12.0f;
      t.max_speed = 27.78f;
      t.speed_dev = 0.05f;
    }
    t.vclass = vclass == "ignoring" ? k_class_all : vclass_bit(vclass);
    struct F {
      const char* name;
      float* dst;
      double lo;
    };
    for (F f : {F{"accel", &t.accel, 1e-3}, F{"decel", &t.decel, 1e-3}, F{"length", &t.length, 0.1},
                F{"minGap", &t.min_gap, 0.0}, F{"maxSpeed", &t.max_speed, 0.1},
                F{"tau", &t.tau, 0.0}, F{"speedDev", &t.speed_dev, 0.0}}) {
      auto v = at.number_or("vType", f.name, *f.dst);
      if (!v) return fail(v.error());
      if (*v < f.lo)
        return fail(at.error(std::string("vType.") + f.name, "out of range", std::to_string(*v),
                             ">= " + std::to_string(f.lo)));
      *f.dst = static_cast<float>(*v);
    }
    if (const char* sf = at.find("speedFactor")) {
      auto p = parse_speed_factor(at, sf, t.speed_dev);
      if (!p) return fail(p.error());
      t.speed_factor = static_cast<float>(p->first);
      t.speed_dev = static_cast<float>(p->second);
    }
    const auto idx = static_cast<std::int32_t>(m_demand.types.size());
    m_demand.types.push_back(t);
    m_type_of[t.id] = idx;
    if (!m_dist_name.empty()) {
      auto pr = at.number_or("vType", "probability", 1.0);
      if (!pr) return fail(pr.error());
      m_dists[m_dist_name].types.push_back(idx);
      m_dists[m_dist_name].probability.push_back(*pr);
    }
    return {};
  }

  Result<void> start_route(const xml::Attrs& at) {
    auto edges_txt = at.text("route", "edges");
    if (!edges_txt) return fail(edges_txt.error());
    std::vector<std::int32_t> edges;
    for (const std::string& e : split_spaces(*edges_txt)) {
      const std::int32_t k = m_net.find_edge(e);
      if (k < 0)
        return fail(
            at.error("route.edges", "unknown edge", "'" + e + "'", "an edge of the network"));
      edges.push_back(k);
    }
    if (edges.empty()) return fail(at.error("route.edges", "empty route", {}, "at least one edge"));
    if (m_veh.open) {
      m_veh.edges = std::move(edges);
      return {};
    }
    auto id = at.text("route", "id");
    if (!id) return fail(id.error());
    m_route_open = *id;
    m_routes[m_route_open] = std::move(edges);
    m_route_stops.erase(m_route_open);
    return {};
  }

  static bool is_true(const char* v) {
    return v != nullptr && (std::string_view(v) == "true" || std::string_view(v) == "1");
  }

  // A <stop> of the open vehicle or named route (SUMO's stop attributes; positions on the lane
  // as SUMO defaults them: a lane stop ends at the lane's end and starts 0.2 m before its end).
  Result<void> start_stop(const xml::Attrs& at) {
    const bool in_vehicle = m_veh.open;
    if (!in_vehicle && m_route_open.empty())
      return fail(
          at.error("stop", "outside a vehicle, flow, trip or route", "<stop>",
                   "a <stop> inside the <vehicle>, <flow>, <trip> or <route> it belongs to"));
    // Kinds of stop the model does not have: the vehicles drive through them (a warning).
    for (const char* k : {"containerStop", "chargingStation", "parkingArea", "overheadWireSegment"})
      if (at.find(k)) {
        ++ignored[fmt::format("stop {}", k)];
        return {};
      }
    const char* trig = at.find("triggered");
    const bool triggered = trig != nullptr && std::string_view(trig) != "false";
    if (is_true(at.find("parking")) || triggered || at.find("speed") || at.find("jump")) {
      ++ignored[is_true(at.find("parking")) ? std::string("stop parking=\"true\"")
                : triggered                 ? fmt::format("stop triggered=\"{}\"", trig)
                : at.find("speed")          ? std::string("stop speed (a waypoint)")
                                            : std::string("stop jump")];
      return {};
    }
    if (m_place_of.empty())
      for (std::size_t k = 0; k < m_net.place_id.size(); ++k)
        m_place_of[m_net.place_id[k]] = static_cast<std::int32_t>(k);
    VehicleStop st;
    const char* place_key = at.find("busStop") ? "busStop" : "trainStop";
    if (const char* pid = at.find(place_key)) {
      const auto it = m_place_of.find(std::string_view(pid));
      if (it == m_place_of.end())
        return fail(at.error(std::string("stop.") + place_key, "unknown stopping place",
                             "'" + std::string(pid) + "'",
                             "a <busStop> or <trainStop> of an additional file listed before "
                             "the route files"));
      st.place = it->second;
      st.lane = m_net.place_lane[static_cast<std::size_t>(st.place)];
      st.start = m_net.place_start[static_cast<std::size_t>(st.place)];
      st.end = m_net.place_end[static_cast<std::size_t>(st.place)];
    } else {
      if (const char* lid = at.find("lane")) {
        st.lane = find_lane(m_net, lid);
        if (st.lane < 0)
          return fail(at.error("stop.lane", "unknown lane", "'" + std::string(lid) + "'",
                               "a lane of the network (<edge id>_<index>)"));
      } else if (const char* eid = at.find("edge")) {
        const std::int32_t e = m_net.find_edge(eid);
        if (e < 0)
          return fail(at.error("stop.edge", "unknown edge", "'" + std::string(eid) + "'",
                               "an edge of the network"));
        st.lane = m_net.edge_lane_begin[static_cast<std::size_t>(e)];  // its rightmost lane
      } else {
        return fail(at.error("stop", "no place", {}, "busStop, trainStop, lane or edge"));
      }
      const double len = m_net.lane_length[static_cast<std::size_t>(st.lane)];
      auto end = at.number_or("stop", "endPos", len);
      if (!end) return fail(end.error());
      auto e = lane_position(at, "stop", "endPos", *end, len);
      if (!e) return fail(e.error());
      auto start = at.number_or("stop", "startPos", std::max(0.0, *e - 0.2));
      if (!start) return fail(start.error());
      auto b = lane_position(at, "stop", "startPos", *start, len);
      if (!b) return fail(b.error());
      if (*b > *e)
        return fail(at.error("stop.startPos", "after endPos", fmt::format("{} > {}", *b, *e),
                             "startPos <= endPos"));
      st.start = *b;
      st.end = *e;
    }
    st.edge = m_net.lane_edge[static_cast<std::size_t>(st.lane)];
    if (!at.find("duration") && !at.find("until"))
      return fail(at.error("stop", "neither duration nor until", {},
                           "duration=\"<s>\" and/or until=\"<s>\""));
    if (at.find("duration")) {
      auto dur = at.number_in("stop", "duration", 0.0, 0.0, 1e9);
      if (!dur) return fail(dur.error());
      st.duration = seconds_ms(*dur);
    }
    if (at.find("until")) {
      auto until = at.number_in("stop", "until", 0.0, 0.0, 1e9);
      if (!until) return fail(until.error());
      st.until = seconds_ms(*until);
    }
    auto& list = in_vehicle ? m_veh.stops : m_route_stops[m_route_open].stops;
    auto& lines = in_vehicle ? m_veh.stop_lines : m_route_stops[m_route_open].lines;
    list.push_back(st);
    lines.push_back(at.line());
    return {};
  }

  Result<void> start_vehicle(std::string_view name, const xml::Attrs& at) {
    m_veh = Pending{};
    m_veh.open = true;
    m_veh.is_flow = name == "flow";
    m_veh.line = at.line();
    const std::string el(name);
    auto id = at.text(el, "id");
    if (!id) return fail(id.error());
    if (!m_ids.emplace(*id).second)
      return fail(at.error(el + ".id", "duplicate id", std::string(*id),
                           "an id no other vehicle or flow has"));
    m_veh.id = *id;
    m_veh.type = at.find("type") ? at.find("type") : "DEFAULT_VEHTYPE";
    m_veh.route_ref = at.find("route") ? at.find("route") : "";
    if (at.find("from") || at.find("to") || name == "trip") {
      // A trip: from, optional via list, to (edges of the network).
      std::vector<std::string> ids;
      for (const char* key : {"from", "via", "to"}) {
        const char* val = at.find(key);
        if (!val) {
          if (std::string_view(key) == "via") continue;
          return fail(at.error(el + "." + key, "missing", {}, "an edge id"));
        }
        for (std::string& e : split_spaces(val)) ids.push_back(std::move(e));
      }
      for (const std::string& e : ids) {
        const std::int32_t k = m_net.find_edge(e);
        if (k < 0)
          return fail(at.error(el + ".from/via/to", "unknown edge", "'" + e + "'",
                               "an edge of the network"));
        m_veh.trip.push_back(k);
      }
    }
    if (!m_veh.is_flow) {
      auto d = at.number(el, "depart");
      if (!d) {
        if (at.find("depart") != nullptr)
          return fail(at.error("vehicle.depart", "unsupported departure", at.find("depart"),
                               "a time in s"));
        return fail(d.error());
      }
      if (!(*d >= 0 && *d < 1e9))
        return fail(at.error("vehicle.depart", "not a time of the run", at.find("depart"),
                             "seconds from 0 (the start)"));
      m_veh.depart = *d;
      return {};
    }
    auto b = at.number_or(el, "begin", 0.0);
    auto e = at.number_or(el, "end", 3600.0);
    if (!b) return fail(b.error());
    if (!e) return fail(e.error());
    if (!(*b >= 0 && *b < 1e9 && *e >= *b))
      return fail(at.error("flow.begin", "not an interval of the run",
                           fmt::format("begin {} end {}", *b, *e), "0 <= begin <= end (s)"));
    m_veh.begin = *b;
    m_veh.end = *e;
    if (at.find("period")) {
      auto p = at.number(el, "period");
      if (!p) return fail(p.error());
      m_veh.period = *p;
    } else if (at.find("vehsPerHour")) {
      auto p = at.number(el, "vehsPerHour");
      if (!p) return fail(p.error());
      m_veh.period = 3600.0 / *p;
    } else if (at.find("number")) {
      auto n = at.number(el, "number");
      if (!n) return fail(n.error());
      if (!(*n >= 0 && *n <= k_max_vehicles))
        return fail(at.error("flow.number", "out of range", fmt::format("{}", *n),
                             fmt::format("0 to {:.0f}", k_max_vehicles)));
      m_veh.number = static_cast<std::int64_t>(*n);
      m_veh.period = *n > 0 ? (m_veh.end - m_veh.begin) / *n : 0;
    } else {
      return fail(at.error("flow", "no rate", {}, "period, vehsPerHour or number"));
    }
    if (m_veh.period <= 0)
      return fail(at.error("flow.period", "not positive", std::to_string(m_veh.period), "> 0"));
    return {};
  }

  std::int32_t pick_type(const std::string& name, std::uint64_t ordinal, bool& ok) {
    ok = true;
    if (auto t = m_type_of.find(name); t != m_type_of.end()) return t->second;
    if (auto d = m_dists.find(name); d != m_dists.end() && !d->second.types.empty()) {
      const double total =
          std::accumulate(d->second.probability.begin(), d->second.probability.end(), 0.0);
      const double u = Rng(m_seed, RngStream::traffic_demand, ordinal, 0).uniform(0) * total;
      double acc = 0;
      for (std::size_t k = 0; k < d->second.types.size(); ++k) {
        acc += d->second.probability[k];
        if (u < acc) return d->second.types[k];
      }
      return d->second.types.back();
    }
    if (name == "DEFAULT_VEHTYPE") {
      m_demand.types.push_back(VehicleType{});
      m_type_of[name] = static_cast<std::int32_t>(m_demand.types.size() - 1);
      return m_type_of[name];
    }
    ok = false;
    return -1;
  }

  Result<void> finish_vehicle() {
    Pending v = std::move(m_veh);
    m_veh = Pending{};
    Diagnostic d;
    d.line = v.line;
    d.field = v.is_flow ? "flow" : "vehicle";
    const bool is_trip = v.edges.empty() && v.route_ref.empty() && !v.trip.empty();
    if (is_trip) {
      // A trip is routed through the edges of its stops (as SUMO does), after its vias.
      v.edges = v.trip;
      for (const VehicleStop& st : v.stops)
        if (v.edges.size() < 2 ||
            (st.edge != v.edges[v.edges.size() - 2] && st.edge != v.edges.back()))
          v.edges.insert(v.edges.end() - 1, st.edge);
    }
    if (!v.route_ref.empty())
      if (auto rs = m_route_stops.find(v.route_ref); rs != m_route_stops.end()) {
        v.stops.insert(v.stops.begin(), rs->second.stops.begin(), rs->second.stops.end());
        v.stop_lines.insert(v.stop_lines.begin(), rs->second.lines.begin(), rs->second.lines.end());
      }
    if (v.edges.empty()) {
      auto r = m_routes.find(v.route_ref);
      if (r == m_routes.end()) {
        d.message = "vehicle '" + v.id + "' has no route";
        d.found = v.route_ref.empty() ? "no route" : "route '" + v.route_ref + "'";
        d.expected =
            "a route attribute naming a <route> defined before, an inline <route>, or from/to";
        return fail(d);
      }
      v.edges = r->second;
    }
    // A route must be drivable: SUMO refuses one whose consecutive edges no connection joins
    // (its vehicles would be inserted and never arrive). Trips are routed when they depart.
    if (!is_trip)
      if (const std::ptrdiff_t k = first_gap(v.edges); k >= 0) {
        const auto ku = static_cast<std::size_t>(k);
        d.message =
            (v.is_flow ? "flow '" : "vehicle '") + v.id + "' has a route that cannot be driven";
        d.found = "no connection from edge '" +
                  m_net.edge_id[static_cast<std::size_t>(v.edges[ku - 1])] + "' to edge '" +
                  m_net.edge_id[static_cast<std::size_t>(v.edges[ku])] + "'";
        d.expected = "consecutive route edges joined by a <connection> of the network";
        return fail(d);
      }
    // Each stop on its route, in order (SUMO: a stop must be downstream of the one before).
    for (std::size_t k = 0, at = 0; k < v.stops.size(); ++k) {
      while (at < v.edges.size() && v.edges[at] != v.stops[k].edge) ++at;
      if (at == v.edges.size()) {
        d.line = v.stop_lines[k];
        d.field = "stop";
        d.message = (v.is_flow ? "flow '" : "vehicle '") + v.id +
                    "' has a stop off its route (or before the stop listed ahead of it)";
        d.found =
            "a stop on edge '" + m_net.edge_id[static_cast<std::size_t>(v.stops[k].edge)] + "'";
        d.expected = "a stop on an edge of the route, after the edge of the stop before it";
        return fail(d);
      }
    }
    // A flow's vehicles are counted before any is made: a huge end or rate, or a tiny period,
    // would otherwise grow the demand without bound.
    const double wanted = v.is_flow ? (v.number >= 0 ? static_cast<double>(v.number)
                                                     : (v.end - v.begin) / v.period + 1e-9)
                                    : 1.0;
    if (!(wanted >= 0 && wanted + static_cast<double>(m_demand.veh_id.size()) <= k_max_vehicles)) {
      d.message = "flow '" + v.id + "' would make more vehicles than a run can hold";
      d.found = fmt::format("{:.3g} vehicles", wanted);
      d.expected =
          fmt::format("at most {:.0f} vehicles in all (check end, period, vehsPerHour, number)",
                      k_max_vehicles);
      return fail(d);
    }
    const auto count = static_cast<std::int64_t>(wanted);
    for (std::int64_t k = 0; k < count; ++k) {
      const auto ordinal = static_cast<std::uint64_t>(m_demand.veh_id.size());
      bool ok = true;
      const std::int32_t type = pick_type(v.type, ordinal, ok);
      if (!ok) {
        d.message = "unknown vehicle type";
        d.found = v.type;
        d.expected = "a vType or vTypeDistribution defined before";
        return fail(d);
      }
      m_demand.veh_id.push_back(v.is_flow ? v.id + "." + std::to_string(k) : v.id);
      m_demand.veh_depart.push_back(
          seconds_ms(v.is_flow ? v.begin + static_cast<double>(k) * v.period : v.depart));
      m_demand.veh_type.push_back(type);
      m_demand.veh_trip.resize(m_demand.veh_id.size() - 1, 0);
      m_demand.veh_trip.push_back(is_trip ? 1 : 0);
      if (m_demand.veh_route_begin.empty()) m_demand.veh_route_begin.push_back(0);
      m_demand.route_edges.insert(m_demand.route_edges.end(), v.edges.begin(), v.edges.end());
      m_demand.veh_route_begin.push_back(static_cast<std::int32_t>(m_demand.route_edges.size()));
      for (std::size_t j = 0; j < v.stops.size(); ++j)
        if (!(m_net.lane_allow[static_cast<std::size_t>(v.stops[j].lane)] &
              m_demand.types[static_cast<std::size_t>(type)].vclass)) {
          d.line = v.stop_lines[j];
          d.field = "stop";
          d.message = "a stop on a lane the vehicle's class may not use";
          d.found = "lane '" + m_net.edge_id[static_cast<std::size_t>(v.stops[j].edge)] + "_" +
                    std::to_string(m_net.lane_index[static_cast<std::size_t>(v.stops[j].lane)]) +
                    "' for type '" + m_demand.types[static_cast<std::size_t>(type)].id + "'";
          d.expected = "a stop on a lane that allows the vehicle's class";
          return fail(d);
        }
      m_demand.push_stops(v.stops);
    }
    return {};
  }
};

}  // namespace

Result<void> read_sumo_routes(const std::string& path, const Network& net, Demand& demand,
                              std::uint64_t seed) {
  RoutesHandler h(net, demand, seed);
  if (auto r = parse_sumo_file(path, h); !r) return fail(r.error());
  h.save_distributions();
  for (const auto& [name, n] : h.ignored) demand.ignored.push_back({path, name, n});
  return {};
}

void finish_demand(Demand& d) {
  std::vector<std::int32_t> order(d.veh_id.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) {
    return d.veh_depart[static_cast<std::size_t>(a)] < d.veh_depart[static_cast<std::size_t>(b)];
  });
  Demand s = d.without_vehicles();
  for (std::int32_t v : order) {
    const auto u = static_cast<std::size_t>(v);
    s.veh_id.push_back(d.veh_id[u]);
    s.veh_depart.push_back(d.veh_depart[u]);
    s.veh_type.push_back(d.veh_type[u]);
    if (!d.veh_trip.empty()) s.veh_trip.push_back(d.veh_trip[u]);
    s.route_edges.insert(s.route_edges.end(), d.route_edges.begin() + d.veh_route_begin[u],
                         d.route_edges.begin() + d.veh_route_begin[u + 1]);
    s.veh_route_begin.push_back(static_cast<std::int32_t>(s.route_edges.size()));
    s.push_stops(d.stops_of(v));
  }
  d = std::move(s);
}

}  // namespace citytwin::traffic
