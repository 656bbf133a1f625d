// compile_traffic: the traffic domain from the [traffic] section, once per run. The network and
// demand from SUMO files (load_sumo) or from the city (build_city: the lane network compiled
// from its OSM roads and home-to-work trips from its buildings); the events checked against the
// network and demand scaling applied; the detectors placed. Then the TrafficDomain
// (traffic_domain_impl.hpp) that runs it, and the domain's entry for the run loop.
#include "traffic/traffic_domain_impl.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "traffic/osm_network.hpp"
#include "traffic/vclass.hpp"
#include "traffic/xml_reader.hpp"

namespace citytwin::traffic {

namespace {

using u = std::size_t;

// The share of the city's sampled trips that may be dropped (no route, or origin and
// destination on one link) before compiling warns (docs/scenario-traffic.md).
constexpr double k_max_dropped_share = 0.10;

bool inside_polygon(const std::vector<Point2>& poly, double x, double y) {
  bool in = false;  // even-odd rule
  for (std::size_t i = 0, j = poly.size() - 1; i < poly.size(); j = i++)
    if ((poly[i].y > y) != (poly[j].y > y) &&
        x < (poly[j].x - poly[i].x) * (y - poly[i].y) / (poly[j].y - poly[i].y) + poly[i].x)
      in = !in;
  return in;
}

// Reads the SUMO inputs of the spec into c.
Result<void> load_sumo(const TrafficSpec& spec, Compiled& c) {
  auto net = read_sumo_net(spec.net_file);
  if (!net) return fail(net.error());
  c.net = std::move(*net);
  std::vector<std::string> detector_files;
  for (const std::string& f : spec.additional_files) {
    auto detectors = read_sumo_additional(f, c.net, c.demand, spec.params.seed);
    if (!detectors) return fail(detectors.error());
    if (*detectors) detector_files.push_back(f);
  }
  for (const std::string& f : spec.route_files)
    if (auto r = read_sumo_routes(f, c.net, c.demand, spec.params.seed); !r) return fail(r.error());
  for (const std::string& f : detector_files) {
    auto dets = read_sumo_detectors(f, c.net);
    if (!dets) return fail(dets.error());
    c.detectors.insert(c.detectors.end(), dets->begin(), dets->end());
  }
  // What the route files hold and the model does not, said once per file and kind.
  for (const Demand::Skipped& k : c.demand.ignored)
    c.warnings.push_back(Diagnostic::at(
        k.file, 0, k.element,
        fmt::format(
            "{} <{}> element(s) skipped: {}", k.count, k.element,
            k.element.starts_with("stop")
                ? "vehicles drive through these stops (a kind of stop the model does not have)"
            : k.element == "param" ? "generic parameters change nothing here"
                                   : "not part of the traffic model"),
        "<" + k.element + ">", ""));
  // Signal programs of a type not modelled run as fixed-time: said once per type.
  std::map<std::string, std::vector<std::size_t>> fixed;
  for (std::size_t t = 0; t < c.net.tl_id.size(); ++t)
    if (c.net.tl_type[t] != "static" && c.net.tl_type[t] != "actuated")
      fixed[c.net.tl_type[t]].push_back(t);
  for (const auto& [type, ids] : fixed)
    c.warnings.push_back(Diagnostic::at(
        c.net.tl_file[ids.front()].empty() ? spec.net_file : c.net.tl_file[ids.front()], 0,
        "tlLogic.type",
        fmt::format("{} signal program(s) of type \"{}\" (first: '{}') run their phases' "
                    "durations as fixed times",
                    ids.size(), type, c.net.tl_id[ids.front()]),
        "\"" + type + "\"", "\"static\" or \"actuated\" (docs/traffic.md \"Signals\")"));
  auto geom = read_sumo_lane_shapes(spec.net_file, c.net);
  if (!geom) return fail(geom.error());
  c.geom = std::move(*geom);
  c.source = std::filesystem::path(spec.net_file).filename().string();
  return {};
}

// The city's network and home-to-work demand. Trips are routed once on free-flow times to
// give the signal plans their flows (Webster), then handed to the simulation as trips routed
// when they depart (on the travel times of that moment).
Result<void> build_city(const TrafficSpec& spec, const ScenarioSpec& scenario,
                        const CityModel& city, Compiled& c) {
  if (city.roads.link_count() == 0)
    return fail(Error::msg("traffic.network = \"city\" needs roads: set city.osm", scenario.path));
  CityNetwork cn = build_city_network(city.roads);
  const Activity activity = city_activity(city.buildings, scenario.demand);
  // Trips start and end on the main strongly connected part of the network, so that every
  // trip has a route (links cut off by the city's bounding box are left out).
  TripParams tp = spec.demand;
  tp.usable_links = main_component(cn.net);
  if (const double n = expected_trips(activity, tp); !(n <= k_max_vehicles))
    return fail(Diagnostic::at(
        scenario.path, 0, "traffic.demand",
        fmt::format("the city's demand over the window would be {:.3g} trips", n),
        fmt::format("{:.0f} residents x trips_per_resident {} over {}", activity.total_residents(),
                    tp.trips_per_resident, format_duration(tp.window_end - tp.window_begin)),
        fmt::format("at most {:.0f} trips: a shorter scenario.duration or traffic.demand window",
                    k_max_vehicles)));
  const std::vector<Trip> trips = sample_trips(city, activity, tp, scenario.run.seed);
  std::vector<double> flow(static_cast<std::size_t>(cn.net.n_edges()), 0.0);
  RouterScratch scratch;
  std::vector<std::int32_t> path;
  const double hours = to_seconds(spec.demand.window_end - spec.demand.window_begin) / 3600.0;
  Demand& d = c.demand;
  d.types.emplace_back();
  d.veh_route_begin.push_back(0);
  std::int64_t same_link = 0, unreachable = 0;
  for (std::size_t k = 0; k < trips.size(); ++k) {
    const Trip& t = trips[k];
    if (t.origin_link < 0 || t.dest_link < 0 || t.origin_link == t.dest_link) {
      ++same_link;
      continue;
    }
    if (!shortest_path(cn.net, {}, {}, t.origin_link, t.dest_link, k_class_passenger, path,
                       scratch)) {
      ++unreachable;
      continue;
    }
    for (std::int32_t e : path) flow[static_cast<std::size_t>(e)] += 1.0 / hours;
    d.veh_id.push_back(fmt::format("c{}", k));
    d.veh_depart.push_back(t.depart);
    d.veh_type.push_back(0);
    d.route_edges.push_back(t.origin_link);
    d.route_edges.push_back(t.dest_link);
    d.veh_route_begin.push_back(static_cast<std::int32_t>(d.route_edges.size()));
    d.veh_trip.push_back(1);
    c.dest_by_id[d.veh_id.back()] = t.dest_building;
  }
  cn = build_city_network(city.roads, flow);
  c.net = std::move(cn.net);
  c.geom = std::move(cn.geom);
  c.city = true;
  c.source = "city (OSM roads)";
  // Trips that cannot be made are dropped and counted; beyond k_max_dropped_share of them the
  // network, the bbox or the demand is wrong, and the user hears it (docs/scenario-traffic.md).
  const auto n_main = std::count(tp.usable_links.begin(), tp.usable_links.end(), 1);
  const auto dropped = same_link + unreachable;
  if (!trips.empty() &&
      static_cast<double>(dropped) > k_max_dropped_share * static_cast<double>(trips.size()))
    c.warnings.push_back(Diagnostic::at(
        scenario.path, 0, "traffic.demand",
        fmt::format("{} of the city's {} trips were dropped ({} start and end on one link, {} "
                    "have no route)",
                    dropped, trips.size(), same_link, unreachable),
        fmt::format("the road network's largest strongly connected part holds {} of {} links",
                    n_main, city.roads.link_count()),
        "a city.bbox that does not cut the main roads, or a larger extract"));
  double residents = activity.total_residents(), jobs = activity.total_jobs();
  c.notes.emplace_back("city demand",
                       fmt::format("{:.0f} residents, {:.0f} jobs -> {} trips ({} within one link, "
                                   "{} unreachable, dropped)",
                                   residents, jobs, trips.size(), same_link, unreachable));
  return {};
}

}  // namespace

// Tarjan's algorithm (Tarjan 1972, "Depth-first search and linear graph algorithms", SIAM J.
// Comput. 1(2)), iterative so that long chains of links cannot overflow the call stack.
std::vector<std::uint8_t> main_component(const Network& net) {
  const auto ne = static_cast<u>(net.n_edges());
  std::vector<std::int32_t> offsets(ne + 1, 0), targets(static_cast<u>(net.n_conns()));
  auto edge_of = [&](std::int32_t lane) { return net.lane_edge[static_cast<u>(lane)]; };
  for (std::int32_t c = 0; c < net.n_conns(); ++c)
    ++offsets[static_cast<u>(edge_of(net.conn_from_lane[static_cast<u>(c)])) + 1];
  for (u e = 0; e < ne; ++e) offsets[e + 1] += offsets[e];
  std::vector<std::int32_t> fill(offsets.begin(), offsets.end() - 1);
  for (std::int32_t c = 0; c < net.n_conns(); ++c)
    targets[static_cast<u>(
        fill[static_cast<u>(edge_of(net.conn_from_lane[static_cast<u>(c)]))]++)] =
        edge_of(net.conn_to_lane[static_cast<u>(c)]);

  constexpr std::int32_t k_unvisited = -1;
  std::vector<std::int32_t> index(ne, k_unvisited), low(ne, 0), component(ne, -1);
  std::vector<std::uint8_t> on_stack(ne, 0);
  std::vector<std::int32_t> stack;                            // Tarjan's stack of edges
  std::vector<std::pair<std::int32_t, std::int32_t>> frames;  // (edge, next target offset)
  std::int32_t next_index = 0;
  std::vector<std::int32_t> component_size;  // per component found, in order
  for (u root = 0; root < ne; ++root) {
    if (index[root] != k_unvisited) continue;
    auto visit = [&](std::int32_t v) {
      index[static_cast<u>(v)] = low[static_cast<u>(v)] = next_index++;
      stack.push_back(v);
      on_stack[static_cast<u>(v)] = 1;
      frames.emplace_back(v, offsets[static_cast<u>(v)]);
    };
    visit(static_cast<std::int32_t>(root));
    while (!frames.empty()) {
      auto& [v, k] = frames.back();
      const auto vu = static_cast<u>(v);
      if (k < offsets[vu + 1]) {
        const std::int32_t w = targets[static_cast<u>(k++)];
        if (index[static_cast<u>(w)] == k_unvisited)
          visit(w);  // invalidates v and k; the loop re-reads the frame
        else if (on_stack[static_cast<u>(w)])
          low[vu] = std::min(low[vu], index[static_cast<u>(w)]);
        continue;
      }
      if (low[vu] == index[vu]) {  // v roots a component: pop it
        std::int32_t size = 0, w = -1;
        do {
          w = stack.back();
          stack.pop_back();
          on_stack[static_cast<u>(w)] = 0;
          component[static_cast<u>(w)] = static_cast<std::int32_t>(component_size.size());
          ++size;
        } while (w != v);
        component_size.push_back(size);
      }
      const std::int32_t done = v;
      frames.pop_back();
      if (!frames.empty()) {
        const auto parent = static_cast<u>(frames.back().first);
        low[parent] = std::min(low[parent], low[static_cast<u>(done)]);
      }
    }
  }
  std::vector<std::uint8_t> in(ne, 0);
  if (component_size.empty()) return in;
  const auto largest = static_cast<std::int32_t>(
      std::max_element(component_size.begin(), component_size.end()) - component_size.begin());
  for (u e = 0; e < ne; ++e) in[e] = component[e] == largest;
  return in;
}

// The edges an edge event names (by id, polygon or bbox), resolved on the compiled network.
Result<std::vector<std::int32_t>> resolve_edges(const Compiled& c, const EventSpec& e,
                                                const EdgeEvent& ee) {
  std::vector<std::int32_t> edges;
  for (const std::string& id : ee.ids) {
    const std::int32_t k = c.net.find_edge(id);
    if (k < 0)
      return fail(Diagnostic::at(
          e.where, 0, "edges", "no such edge", id,
          c.city ? "a road link index (/city/roads)" : "an edge id of the SUMO network"));
    edges.push_back(k);
  }
  if (!ee.polygon.empty() || !ee.bbox.empty()) {
    for (std::int32_t k = 0; k < c.net.n_edges(); ++k) {
      const std::int32_t lane = c.net.edge_lane_begin[static_cast<std::size_t>(k)];
      bool in = false;
      for (std::int32_t p = c.geom.lane_point_begin[static_cast<std::size_t>(lane)];
           !in && p < c.geom.lane_point_begin[static_cast<std::size_t>(lane) + 1]; ++p) {
        const double x = c.geom.x[static_cast<std::size_t>(p)],
                     y = c.geom.y[static_cast<std::size_t>(p)];
        in = ee.bbox.empty()
                 ? inside_polygon(ee.polygon, x, y)
                 : x >= ee.bbox[0] && y >= ee.bbox[1] && x <= ee.bbox[2] && y <= ee.bbox[3];
      }
      if (in) edges.push_back(k);
    }
    if (edges.empty())
      return fail(Diagnostic::at(e.where, 0, ee.bbox.empty() ? "area" : "bbox",
                                 "no edge in the area", "",
                                 "an area (model CRS) holding some edge's shape point"));
  }
  return edges;
}

Result<std::int32_t> resolve_signal(const Compiled& c, const EventSpec& e, const SignalEvent& se) {
  const auto it = std::find(c.net.tl_id.begin(), c.net.tl_id.end(), se.id);
  if (it == c.net.tl_id.end())
    return fail(Diagnostic::at(
        e.where, 0, "signal", "no such signal", se.id,
        c.city ? "\"n<OSM node id>\" of a signal node" : "a tlLogic id of the network"));
  return static_cast<std::int32_t>(it - c.net.tl_id.begin());
}

namespace {

// Checks that the scenario's events name edges and signals of the network; applies demand
// scaling (a transform of the demand before the run).
Result<void> check_events(const TrafficSpec& spec, const ScenarioSpec& scenario, Compiled& c) {
  for (const EventSpec& e : scenario.events) {
    if (scenario.domain_names[static_cast<std::size_t>(e.domain)] != "traffic") continue;
    if (const auto* ee = dynamic_cast<const EdgeEvent*>(e.payload.get())) {
      if (auto r = resolve_edges(c, e, *ee); !r) return fail(r.error());
    } else if (const auto* se = dynamic_cast<const SignalEvent*>(e.payload.get())) {
      if (auto r = resolve_signal(c, e, *se); !r) return fail(r.error());
    } else if (const auto* de = dynamic_cast<const DemandScaleEvent*>(e.payload.get())) {
      scale_demand(c.demand, de->factor, e.at, de->until >= 0 ? de->until : scenario.run.duration,
                   spec.params.seed);
    }
  }
  return {};
}

// Places the scenario's detectors on the compiled network (after the additional files' ones).
Result<void> resolve_detectors(const TrafficSpec& spec, Compiled& c) {
  const Network& n = c.net;
  for (const DetectorDecl& dd : spec.detectors) {
    auto error = [&](std::string field, std::string message, std::string found,
                     std::string expected) {
      return fail(Diagnostic::at(dd.where, 0, std::move(field), std::move(message),
                                 std::move(found), std::move(expected)));
    };
    if (dd.at) {
      // The nearest point on any road lane's shape (the lane's polyline scaled to its
      // simulated length, as the viewer draws it).
      const double px = dd.at->x, py = dd.at->y;
      double best = 1e300, best_pos = 0;
      std::int32_t best_lane = -1;
      for (std::int32_t l = 0; l < n.n_road_lanes; ++l) {
        const auto b = static_cast<std::size_t>(c.geom.lane_point_begin[static_cast<u>(l)]),
                   e = static_cast<std::size_t>(c.geom.lane_point_begin[static_cast<u>(l) + 1]);
        if (e < b + 2) continue;
        const double scale =
            n.lane_length[static_cast<u>(l)] / std::max(1e-9, static_cast<double>(c.geom.s[e - 1]));
        for (std::size_t q = b; q + 1 < e; ++q) {
          const double ax = c.geom.x[q], ay = c.geom.y[q], dx = c.geom.x[q + 1] - ax,
                       dy = c.geom.y[q + 1] - ay, len2 = dx * dx + dy * dy;
          const double f =
              len2 > 0 ? std::clamp(((px - ax) * dx + (py - ay) * dy) / len2, 0.0, 1.0) : 0.0;
          const double ex = ax + f * dx - px, ey = ay + f * dy - py, d2 = ex * ex + ey * ey;
          if (d2 < best) {
            best = d2;
            best_lane = l;
            best_pos = scale * (c.geom.s[q] + f * (c.geom.s[q + 1] - c.geom.s[q]));
          }
        }
      }
      if (best_lane < 0 || std::sqrt(best) > 50.0)
        return error("at", "no road lane within 50 m of the point",
                     fmt::format("[{:.1f}, {:.1f}]", px, py), "a point on a road (model CRS)");
      c.detectors.push_back({dd.name, best_lane, static_cast<float>(best_pos)});
      continue;
    }
    const std::int32_t edge = n.find_edge(dd.edge);
    if (edge < 0)
      return error("edge", "no such edge", dd.edge,
                   c.city ? "a road link index (/city/roads)" : "an edge id of the SUMO network");
    const std::int32_t lb = n.edge_lane_begin[static_cast<u>(edge)],
                       le = n.edge_lane_begin[static_cast<u>(edge) + 1];
    if (dd.lane >= le - lb)
      return error("lane", "the edge has fewer lanes", std::to_string(dd.lane),
                   fmt::format("0 to {} (0 = rightmost)", le - lb - 1));
    for (std::int32_t l = lb; l < le; ++l) {
      if (dd.lane >= 0 && l != lb + dd.lane) continue;
      const double len = n.lane_length[static_cast<u>(l)];
      const double pos = !dd.pos ? 0.5 * len : *dd.pos < 0 ? len + *dd.pos : *dd.pos;
      if (pos < 0 || pos > len)
        return error("pos", "outside the lane", fmt::format("{} m", dd.pos.value_or(0)),
                     fmt::format("-{0:.1f} m to {0:.1f} m (negative: from the end)", len));
      std::string id = dd.name;
      if (dd.lane < 0 && le - lb > 1) id += fmt::format("_{}", l - lb);
      c.detectors.push_back({std::move(id), l, static_cast<float>(pos)});
    }
  }
  return {};
}

Result<std::unique_ptr<Domain>> compile_traffic(const DomainSpec& dspec,
                                                const ScenarioSpec& scenario,
                                                const CityModel& city) {
  const auto& spec = static_cast<const TrafficSpec&>(dspec);
  Compiled c;
  if (auto r = spec.city ? build_city(spec, scenario, city, c) : load_sumo(spec, c); !r)
    return fail(r.error());
  finish_demand(c.demand);
  if (auto r = check_events(spec, scenario, c); !r) return fail(r.error());
  if (auto r = resolve_detectors(spec, c); !r) return fail(r.error());
  if (auto r = resolve_sensors(scenario, spec.params.seed, c); !r) return fail(r.error());
  // Destination buildings of the city's trips, in the final vehicle order ("<id>#k" copies of a
  // scaled demand and "<id>#<datastream>.<k>" calibrator reserves share their original's).
  if (!c.dest_by_id.empty())
    for (const std::string& id : c.demand.veh_id) {
      const auto it = c.dest_by_id.find(id.substr(0, id.find('#')));
      c.veh_dest_building.push_back(it != c.dest_by_id.end() ? it->second : -1);
    }
  if (c.demand.veh_id.empty())
    c.warnings.push_back(Diagnostic::at(
        scenario.path, 0, "traffic", "the traffic domain has no vehicle to simulate",
        spec.city ? "no trip of the city's demand has a route" : "no vehicle, trip or flow",
        spec.city ? "roads that connect the city's buildings (see the warnings above)"
                  : "route files with vehicles departing within scenario.duration"));
  c.tripinfo = spec.tripinfo;
  return std::unique_ptr<Domain>(std::make_unique<TrafficDomain>(spec.params, std::move(c), city));
}

}  // namespace

const DomainEntry& domain_entry() {
  static const DomainEntry entry{
      {"traffic", parse_traffic, parse_traffic_event,
       "close, reopen, speed_limit, signal_dark, signal_restore, scale_demand"},
      compile_traffic,
      open_traffic_replay};
  return entry;
}

}  // namespace citytwin::traffic
