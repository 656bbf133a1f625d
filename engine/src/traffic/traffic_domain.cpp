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
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "citytwin/demand.hpp"
#include "citytwin/frame.hpp"
#include "citytwin/io.hpp"
#include "traffic/osm_network.hpp"
#include "traffic/traffic_domain.hpp"
#include "traffic/vclass.hpp"
#include "traffic/xml_reader.hpp"

namespace citytwin::traffic {

namespace {

using u = std::size_t;

// A detector declared in the scenario ([[traffic.detector]]): on an edge (one lane or all) at
// a position, or at the road lane nearest to a point.
struct DetectorDecl {
  std::string name, edge;
  std::optional<Point2> at;
  std::int64_t lane = -1;     // lane index within the edge (0 = rightmost); -1 = every lane
  std::optional<double> pos;  // m from the lane start, negative from its end; none = middle
  std::string where;
};

struct TrafficSpec : DomainSpec {
  bool city = false;  // network = "city"
  TripParams demand;  // [traffic.demand], network = "city"
  std::string net_file;
  std::vector<std::string> route_files, additional_files;
  std::vector<DetectorDecl> detectors;
  Params params;
};

struct TrafficDomainState : DomainState {
  TrafficState ts;
  std::vector<EdgeInterval> intervals;       // closed statistics intervals
  std::vector<DetectorInterval> detections;  // the same intervals for the detectors
  SimTime interval_begin = 0;
  SimTime step_begin = 0;  // start of the last macro step (arrivals since then are published)
  // The coupling inputs applied so far (consume applies only changes).
  std::vector<std::uint8_t> applied_closed, applied_dark;  // (n_links), (n_signals)
  std::vector<float> applied_factor;                       // (n_links)
  std::int64_t flood_reroutes = 0;  // vehicles queued for re-routing by flood closures

  void hash(StateHasher& h) const override {
    h.add(state_hash(ts));
    h.add(applied_closed);
    h.add(applied_dark);
    h.add(applied_factor);
    h.add(flood_reroutes);
    h.add(static_cast<std::int64_t>(intervals.size()));
    for (const EdgeInterval& e : intervals) h.add(e.entered);
    for (const DetectorInterval& e : detections) h.add(e.count);
  }
};

// Edge events: the edges are named by id, or chosen by an area (polygon or bbox, model CRS);
// compile_traffic resolves them to indices.
struct EdgeEvent : EventPayload {
  enum class Kind : std::uint8_t { close, reopen, speed } kind = Kind::close;
  std::vector<std::string> ids;
  std::vector<Point2> polygon;
  std::vector<double> bbox;  // xmin, ymin, xmax, ymax, or empty
  double speed_mps = 0;
};
struct SignalEvent : EventPayload {
  std::string id;
  bool dark = true;
};
struct DemandScaleEvent : EventPayload {
  double factor = 1.0;
  SimTime until = -1;  // < 0: the end of the run
};

bool inside_polygon(const std::vector<Point2>& poly, double x, double y) {
  bool in = false;  // even-odd rule
  for (std::size_t i = 0, j = poly.size() - 1; i < poly.size(); j = i++)
    if ((poly[i].y > y) != (poly[j].y > y) &&
        x < (poly[j].x - poly[i].x) * (y - poly[i].y) / (poly[j].y - poly[i].y) + poly[i].x)
      in = !in;
  return in;
}

// What a SUMO additional file holds: signal programs, or vehicle types (route-file elements).
struct AdditionalKinds : xml::Handler {
  bool tls = false, routes = false, detectors = false;
  Result<void> start(std::string_view name, const xml::Attrs&, int depth) override {
    if (depth != 2) return {};
    if (name == "tlLogic") tls = true;
    if (name == "inductionLoop" || name == "e1Detector") detectors = true;
    if (name == "vType" || name == "vTypeDistribution" || name == "route" || name == "vehicle" ||
        name == "flow")
      routes = true;
    return {};
  }
};

// Everything compile_traffic builds.
struct Compiled {
  Network net;
  Demand demand;
  LaneGeometry geom;
  std::string source;
  bool city = false;  // edges are the city's road links
  std::vector<std::int32_t> veh_dest_building;  // (n_vehicles) city demand, -1 unknown
  std::map<std::string, std::int32_t> dest_by_id;  // city trips: vehicle id -> destination
  std::vector<DetectorSpec> detectors;
  std::vector<std::pair<std::string, std::string>> notes;  // extra summary rows
};

Result<std::vector<std::int32_t>> resolve_edges(const Compiled& c, const EventSpec& e,
                                                const EdgeEvent& ee);
Result<std::int32_t> resolve_signal(const Compiled& c, const EventSpec& e, const SignalEvent& se);

class TrafficDomain : public Domain {
 public:
  TrafficDomain(Params params, Compiled c, const CityModel& city)
      : m_params(params),
        m_c(std::move(c)),
        m_net(m_c.net),
        m_demand(m_c.demand),
        m_geom(m_c.geom),
        m_city(city),
        m_source(m_c.source) {}

  std::string_view name() const override { return "traffic"; }

  std::unique_ptr<DomainState> make_state(std::uint64_t seed) const override {
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
    return s;
  }

  Result<void> apply_event(const EventSpec& e, DomainState& state) const override {
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

  void declare(ExchangeLayout& l) const override {
    l.traffic = true;
    l.traffic_on_city_links = m_c.city;
  }

  // City signals (the exchange's index space) -> this network's signals: a city network names
  // its signal at road node n "n<OSM id>"; a signal node without one (no conflicting movement)
  // maps to -1.
  Result<void> bind(const ExchangeLayout& l) override {
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
  void consume(const CityExchange& x, DomainState& state, const StepContext&) const override {
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
  void publish(const DomainState& state, CityExchange& x) const override {
    const auto& s = static_cast<const TrafficDomainState&>(state);
    std::fill(x.building_arrivals.begin(), x.building_arrivals.end(), 0);
    if (m_c.veh_dest_building.empty()) return;
    for (std::size_t v = 0; v < m_c.veh_dest_building.size(); ++v) {
      const std::int32_t b = m_c.veh_dest_building[v];
      if (b >= 0 && s.ts.veh_status[v] == VehStatus::arrived && s.ts.veh_arrive_time[v] > s.step_begin &&
          s.ts.veh_arrive_time[v] <= s.ts.time)
        ++x.building_arrivals[static_cast<std::size_t>(b)];
    }
  }

  void advance(DomainState& state, const StepContext& ctx) const override {
    auto& s = static_cast<TrafficDomainState&>(state);
    const SimTime end = ctx.t + ctx.dt;
    s.step_begin = s.ts.time;
    while (s.ts.time < end) {
      traffic::step(m_net, m_demand, m_params, s.ts, *ctx.pool);
      if (s.ts.time - s.interval_begin >= m_params.stats_interval) {
        const double b = to_seconds(s.interval_begin), e = to_seconds(s.ts.time);
        s.intervals.push_back(take_edge_interval(s.ts, b, e));
        if (!s.ts.detectors.empty()) s.detections.push_back(take_detector_interval(s.ts, b, e));
        s.interval_begin = s.ts.time;
      }
    }
  }

  void write_static(RunWriter& out) const override {
    out.write_strings("/traffic/edge_id", m_net.edge_id, {"", "SUMO edge id (or city link)"});
    out.write(std::string("/traffic/edge_length"), m_net.edge_length,
              {"m", "length of the edge's rightmost lane"});
    std::vector<std::int32_t> lanes(static_cast<u>(m_net.n_edges()));
    std::vector<float> speed(lanes.size());
    for (std::int32_t e = 0; e < m_net.n_edges(); ++e) {
      lanes[static_cast<u>(e)] =
          m_net.edge_lane_begin[static_cast<u>(e) + 1] - m_net.edge_lane_begin[static_cast<u>(e)];
      speed[static_cast<u>(e)] = m_net.lane_speed[static_cast<u>(m_net.edge_lane_begin[e])];
    }
    out.write(std::string("/traffic/edge_lanes"), lanes, {"1", "lanes of each edge"});
    out.write(std::string("/traffic/edge_speed_limit"), speed,
              {"m/s", "speed limit of the rightmost lane"});
    if (m_c.city) {
      std::vector<std::int32_t> link(static_cast<u>(m_net.n_edges()));
      for (std::int32_t e = 0; e < m_net.n_edges(); ++e) link[static_cast<u>(e)] = e;
      out.write(std::string("/traffic/edge_link"), link,
                {"", "the city road link of each edge (/city/roads)"});
      out.write_strings("/traffic/signal_id", m_net.tl_id, {"", "n<OSM node id> of each signal"});
      std::vector<double> cycle;
      for (SimTime c : m_net.tl_cycle) cycle.push_back(to_seconds(c));
      out.write(std::string("/traffic/signal_cycle_s"), cycle,
                {"s", "cycle of each generated signal plan (Webster)"});
    }
    if (!m_c.detectors.empty()) {
      std::vector<std::string> ids;
      std::vector<std::int32_t> lane;
      std::vector<float> pos;
      for (const DetectorSpec& d : m_c.detectors)
        ids.push_back(d.id), lane.push_back(d.lane), pos.push_back(d.pos);
      out.write_strings("/traffic/detectors/id", ids, {"", "detector id"});
      out.write(std::string("/traffic/detectors/lane"), lane, {"", "road lane index"});
      out.write(std::string("/traffic/detectors/pos"), pos, {"m", "position from the lane start"});
    }
    out.attr("/traffic", "source", m_source);
    out.attr("/traffic", "vehicles", static_cast<std::int64_t>(m_demand.n_vehicles()));
    out.attr("/traffic", "dt_s", to_seconds(m_params.dt));
  }

  void write_frame(const DomainState& state, RunWriter& out) const override {
    const auto& s = static_cast<const TrafficDomainState&>(state);
    const traffic::SummaryRow r = summary(s.ts, m_params);
    out.append<std::int64_t>("/traffic/running", r.running, {"1", "vehicles on the network"});
    out.append<std::int64_t>("/traffic/inserted", r.inserted, {"1", "vehicles inserted so far"});
    out.append<std::int64_t>("/traffic/arrived", r.arrived, {"1", "vehicles arrived so far"});
    out.append<std::int64_t>("/traffic/halting", r.halting,
                             {"1", "running vehicles slower than halting_speed"});
    out.append<std::int64_t>("/traffic/pending", r.pending,
                             {"1", "vehicles not yet inserted (incl. insertion backlog)"});
    out.append<std::int64_t>("/traffic/removed", r.removed,
                             {"1", "vehicles removed after a failed teleport, so far"});
    out.append<std::int64_t>("/traffic/teleports", s.ts.teleports,
                             {"1", "teleports (gridlock recovery) so far"});
    out.append<double>("/traffic/mean_speed", r.mean_speed,
                       {"m/s", "mean speed of the running vehicles (0 when none)"});
    double ratio = 0;
    for (std::int32_t i = 0; i < s.ts.n_running; ++i) {
      const auto v = static_cast<u>(s.ts.running[static_cast<u>(i)]);
      ratio +=
          s.ts.veh_speed[v] / std::max(0.1f, s.ts.lane_speed[static_cast<u>(s.ts.veh_lane[v])]);
    }
    out.append<double>("/traffic/mean_speed_ratio",
                       s.ts.n_running > 0 ? ratio / s.ts.n_running : 1.0,
                       {"1", "mean over running vehicles of speed / speed limit (1 when none)"});
    out.append<std::int64_t>("/traffic/unroutable", s.ts.unroutable,
                             {"1", "vehicles never inserted: no route at departure, so far"});
    out.append<std::int64_t>("/traffic/rerouted", s.ts.rerouted,
                             {"1", "route replacements (closures, slow links), so far"});
    out.append<std::int64_t>(
        "/traffic/stranded", s.ts.stranded,
        {"1", "vehicles removed because their destination became unreachable"});
    // What the viewer draws (replay): the running vehicles appended to flat arrays, located by
    // per-frame offset and count; per-link state on city networks.
    const FrameValues v = frame_values(s);
    const auto first = static_cast<std::int64_t>(
        out.extend("/traffic/vehicles/x", v.x, {"m", "vehicle position x (model CRS)"}));
    out.extend("/traffic/vehicles/y", v.y, {"m", "vehicle position y (model CRS)"});
    out.extend("/traffic/vehicles/z", v.z, {"m", "ground elevation under the vehicle"});
    out.extend("/traffic/vehicles/heading", v.heading, {"rad", "heading from east, CCW"});
    out.extend("/traffic/vehicles/speed", v.speed, {"m/s", "vehicle speed"});
    out.append<std::int64_t>("/traffic/vehicles/offset", first,
                             {"", "index of the frame's first vehicle in /traffic/vehicles/*"});
    out.append<std::int64_t>("/traffic/vehicles/count", static_cast<std::int64_t>(v.x.size()),
                             {"1", "vehicles of the frame (the running ones)"});
    if (!m_net.tl_id.empty()) {
      const std::size_t nt = m_net.tl_id.size();
      std::vector<std::uint8_t> dark(nt);
      for (std::size_t t = 0; t < nt; ++t) dark[t] = s.ts.tl_dark[t] ? 1 : 0;
      out.append<std::uint8_t>("/traffic/signal_dark", dark, std::span<const std::size_t>(&nt, 1),
                               {"1", "per signal: 1 dark (all-way stop, by an event or no power)"});
    }
    if (m_c.city) {
      const std::size_t ne = v.link_ratio.size();
      out.append<float>("/traffic/link_speed_ratio", v.link_ratio,
                        std::span<const std::size_t>(&ne, 1),
                        {"1", "per road link: mean speed / speed limit of its vehicles, NaN none"});
      out.append<std::uint8_t>("/traffic/link_closed", v.link_closed,
                               std::span<const std::size_t>(&ne, 1),
                               {"1", "per road link: 1 when closed"});
    }
  }

  void write_final(const DomainState& state, RunWriter& out,
                   std::vector<citytwin::SummaryRow>& summary_rows) const override {
    const auto& s = static_cast<const TrafficDomainState&>(state);
    // The closed intervals and the open one up to the end of the run.
    TrafficState tail = s.ts;
    std::vector<EdgeInterval> intervals = s.intervals;
    if (s.ts.time > s.interval_begin)
      intervals.push_back(
          take_edge_interval(tail, to_seconds(s.interval_begin), to_seconds(s.ts.time)));
    const std::size_t ne = static_cast<std::size_t>(m_net.n_edges());
    for (const EdgeInterval& iv : intervals) {
      out.append<double>("/traffic/edges/begin_s", iv.begin_s, {"s", "interval start"});
      out.append<double>("/traffic/edges/end_s", iv.end_s, {"s", "interval end"});
      out.append<std::int32_t>("/traffic/edges/entered", iv.entered,
                               std::span<const std::size_t>(&ne, 1),
                               {"1", "vehicles that entered (or were inserted on) each edge"});
      out.append<float>("/traffic/edges/mean_speed", iv.mean_speed,
                        std::span<const std::size_t>(&ne, 1),
                        {"m/s", "space-mean speed on each edge, NaN without traffic"});
      std::vector<float> vs(iv.veh_seconds.begin(), iv.veh_seconds.end());
      out.append<float>("/traffic/edges/veh_seconds", vs, std::span<const std::size_t>(&ne, 1),
                        {"s", "vehicle-seconds spent on each edge"});
    }
    std::vector<DetectorInterval> detections = s.detections;
    if (!tail.detectors.empty() && s.ts.time > s.interval_begin)
      detections.push_back(
          take_detector_interval(tail, to_seconds(s.interval_begin), to_seconds(s.ts.time)));
    const std::size_t nd = m_c.detectors.size();
    for (const DetectorInterval& iv : detections) {
      out.append<double>("/traffic/detectors/begin_s", iv.begin_s, {"s", "interval start"});
      out.append<double>("/traffic/detectors/end_s", iv.end_s, {"s", "interval end"});
      out.append<std::int32_t>("/traffic/detectors/count", iv.count,
                               std::span<const std::size_t>(&nd, 1),
                               {"1", "vehicles whose front passed the detector"});
      out.append<float>("/traffic/detectors/occupancy", iv.occupancy,
                        std::span<const std::size_t>(&nd, 1),
                        {"1", "fraction of the interval the detector was covered"});
      out.append<float>("/traffic/detectors/mean_speed", iv.mean_speed,
                        std::span<const std::size_t>(&nd, 1),
                        {"m/s", "mean speed of the passing vehicles, NaN if none"});
    }
    const std::filesystem::path dir = std::filesystem::path(out.path()).parent_path();
    if (nd > 0) {
      const auto det_csv =
          write_detectors_csv((dir / "traffic_detectors.csv").string(), m_c.detectors, detections);
      if (!det_csv)
        summary_rows.push_back({"traffic", "detectors file", det_csv.error().to_string()});
    }
    const std::string trips = (dir / "traffic_trips.csv").string();
    const auto wrote = write_trips_csv(trips, m_demand, s.ts);
    // Every teleport: when, who, where it was stuck and where it went (SUMO prints these as
    // warnings; here they are data).
    std::string teleports_file;
    if (!s.ts.teleport_log.empty()) {
      const TeleportTable t = teleport_table(m_net, m_demand, s.ts);
      out.write(std::string("/traffic/teleport_log/time_s"), t.time_s,
                {"s", "time of the teleport"});
      out.write_strings("/traffic/teleport_log/vehicle", t.vehicle, {"", "vehicle id"});
      out.write_strings("/traffic/teleport_log/stuck_on", t.stuck_on,
                        {"", "lane the vehicle was stuck on (<edge>_<lane> or <from> -> <to>)"});
      out.write_strings("/traffic/teleport_log/moved_to", t.moved_to,
                        {"", "road lane it was put on; empty when it was removed"});
      const std::string path = (dir / "traffic_teleports.csv").string();
      const auto ok = write_teleports_csv(path, t);
      teleports_file = ok ? path : "not written: " + ok.error().to_string();
    }

    double dur = 0, loss = 0;
    for (std::int32_t v = 0; v < m_demand.n_vehicles(); ++v)
      if (s.ts.veh_status[static_cast<u>(v)] == VehStatus::arrived) {
        dur += to_seconds(s.ts.veh_arrive_time[static_cast<u>(v)] -
                          s.ts.veh_insert_time[static_cast<u>(v)]);
        loss += s.ts.veh_time_loss[static_cast<u>(v)];
      }
    const double n_arr = static_cast<double>(std::max<std::int64_t>(1, s.ts.arrived));
    const traffic::SummaryRow r = summary(s.ts, m_params);
    out.attr("/traffic", "arrived", s.ts.arrived);
    out.attr("/traffic", "removed", s.ts.removed);
    out.attr("/traffic", "teleports", s.ts.teleports);
    out.attr("/traffic", "vehicle_steps", s.ts.vehicle_steps);
    auto add = [&](std::string key, std::string value) {
      summary_rows.push_back({"traffic", std::move(key), std::move(value)});
    };
    add("network",
        fmt::format("{} edges, {} lanes, {} junction passages, {} signals", ne, m_net.n_road_lanes,
                    m_net.n_lanes() - m_net.n_road_lanes, m_net.tl_id.size()));
    add("vehicles (inserted / arrived)",
        fmt::format("{} ({} / {})", m_demand.n_vehicles(), s.ts.inserted, s.ts.arrived));
    add("running now / not yet inserted", fmt::format("{} / {}", r.running, r.pending));
    add("mean trip duration", fmt::format("{:.1f} s", dur / n_arr));
    add("mean time loss", fmt::format("{:.1f} s", loss / n_arr));
    add("teleports (removed)", fmt::format("{} ({})", s.ts.teleports, s.ts.removed));
    add("rerouted / stranded / unroutable",
        fmt::format("{} / {} / {}", s.ts.rerouted, s.ts.stranded, s.ts.unroutable));
    std::int64_t dark = 0;
    for (std::uint8_t d : s.applied_dark) dark += d;
    if (!s.applied_closed.empty()) out.attr("/traffic", "flood_reroutes", s.flood_reroutes);
    if (s.flood_reroutes > 0 || dark > 0)
      add("re-route requests by flood closures / signals dark now",
          fmt::format("{} / {}", s.flood_reroutes, dark));
    for (const auto& [k, v] : m_c.notes) add(k, v);
    add("trips file", wrote ? trips : "not written: " + wrote.error().to_string());
    if (!teleports_file.empty()) add("teleports file", teleports_file);
  }

  void fill_frame(const DomainState& state, FrameSnapshot& frame) const override {
    const FrameValues v = frame_values(static_cast<const TrafficDomainState&>(state));
    fill_traffic_frame(v.data(), frame);
  }

  const Network& network() const { return m_net; }

 private:
  // What the viewer draws of the state: fill_frame shows it live and write_frame records it, and
  // both (and the replay) go through fill_traffic_frame.
  struct FrameValues {
    std::vector<float> x, y, z, heading, speed;  // running vehicles, in s.ts.running order
    std::vector<float> link_ratio;               // city networks: per edge (= road link)
    std::vector<std::uint8_t> link_closed;
    traffic::SummaryRow summary;

    TrafficFrameData data() const {
      TrafficFrameData d;
      d.vehicle_x = x, d.vehicle_y = y, d.vehicle_z = z;
      d.vehicle_heading = heading, d.vehicle_speed = speed;
      d.link_speed_ratio = link_ratio, d.link_closed = link_closed;
      d.running = summary.running, d.arrived = summary.arrived;
      d.mean_speed_mps = summary.mean_speed;
      return d;
    }
  };

  FrameValues frame_values(const TrafficDomainState& s) const {
    FrameValues f;
    const std::size_t n = static_cast<std::size_t>(s.ts.n_running);
    f.x.resize(n);
    f.y.resize(n);
    f.z.resize(n);
    f.heading.resize(n);
    f.speed.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      const auto v = static_cast<u>(s.ts.running[i]);
      const std::int32_t lane = s.ts.veh_lane[v];
      double x = 0, y = 0;
      float heading = 0;
      if (!m_geom.empty())
        m_geom.at(lane, s.ts.veh_pos[v], m_net.lane_length[static_cast<u>(lane)], x, y, heading);
      const double z = m_city.terrain.empty() ? 0.0 : m_city.ground(x, y);
      f.x[i] = static_cast<float>(x);
      f.y[i] = static_cast<float>(y);
      f.z[i] = std::isfinite(z) ? static_cast<float>(z) : 0.0f;
      f.heading[i] = heading;
      f.speed[i] = s.ts.veh_speed[v];
    }
    if (m_c.city) {
      // Per city link: mean speed of the vehicles on it / its current speed limit.
      const auto ne = static_cast<u>(m_net.n_edges());
      std::vector<float> sum(ne, 0.0f);
      std::vector<std::int32_t> count(ne, 0);
      for (std::size_t i = 0; i < n; ++i) {
        const auto v = static_cast<u>(s.ts.running[i]);
        const std::int32_t lane = s.ts.veh_lane[v];
        const std::int32_t e = m_net.lane_edge[static_cast<u>(lane)];
        if (e < 0) continue;
        sum[static_cast<u>(e)] +=
            s.ts.veh_speed[v] / std::max(0.1f, s.ts.lane_speed[static_cast<u>(lane)]);
        ++count[static_cast<u>(e)];
      }
      f.link_ratio.assign(ne, std::numeric_limits<float>::quiet_NaN());
      for (std::size_t e = 0; e < ne; ++e)
        if (count[e] > 0) f.link_ratio[e] = std::min(1.0f, sum[e] / static_cast<float>(count[e]));
      f.link_closed.assign(ne, 0);
      for (std::size_t e = 0; e < ne; ++e) f.link_closed[e] = s.ts.edge_closed[e] ? 1 : 0;
    }
    f.summary = summary(s.ts, m_params);
    return f;
  }

  Params m_params;
  Compiled m_c;
  const Network& m_net;
  const Demand& m_demand;
  const LaneGeometry& m_geom;
  const CityModel& m_city;  // owned by the Model, which outlives its domains
  const std::string& m_source;
  std::vector<std::int32_t> m_signal_tl;  // (n_signals) the exchange's signals -> tls (bind)
};

std::shared_ptr<const DomainSpec> parse_traffic(SectionReader& s, const ScenarioSpec& core) {
  auto spec = std::make_shared<TrafficSpec>();
  spec->city = s.choice_or("network", {"sumo", "city"}, "sumo") == "city";
  const bool has_cfg = s.has("sumocfg"), has_net = s.has("net");
  if (has_cfg && has_net)
    s.error("sumocfg", "give either traffic.sumocfg or traffic.net, not both");
  if (spec->city && (has_cfg || has_net || s.has("routes")))
    s.error(has_cfg   ? "sumocfg"
            : has_net ? "net"
                      : "routes",
            "network = \"city\" builds its own network and demand", "",
            "no net/sumocfg/routes with network = \"city\"");
  if (has_cfg) {
    if (auto path = s.existing_file("sumocfg")) {
      auto cfg = read_sumocfg(*path);
      if (!cfg) {
        s.error("sumocfg", cfg.error().to_string(), *path, "a SUMO configuration with a net-file");
      } else {
        spec->net_file = cfg->net;
        spec->route_files = cfg->routes;
        spec->additional_files = cfg->additional;
      }
    }
  } else if (has_net) {
    spec->net_file = s.existing_file("net").value_or("");
  } else if (!spec->city) {
    s.error("", "missing key \"net\", \"sumocfg\" or network = \"city\"", "",
            "net = \"<file>.net.xml\" with routes = [...], sumocfg = \"<file>.sumocfg\", or "
            "network = \"city\"");
  }
  for (auto& f : s.existing_files("routes").value_or(std::vector<std::string>{}))
    spec->route_files.push_back(std::move(f));
  for (auto& f : s.existing_files("additional").value_or(std::vector<std::string>{}))
    spec->additional_files.push_back(std::move(f));

  Params& p = spec->params;
  p.dt = s.duration_or("dt", p.dt);
  if (p.dt <= 0 || core.run.step % std::max<SimTime>(p.dt, 1) != 0)
    s.error("dt", "must be positive and divide scenario.step", format_duration(p.dt),
            "e.g. \"1s\" (or \"500ms\")");
  p.delta = s.number_or("delta", p.delta, 1.0, 10.0);
  p.critical_gap = to_seconds(s.duration_or("critical_gap", 1000));
  p.lc_threshold = s.number_or("lc_threshold", p.lc_threshold, 0.0, 10.0);
  p.lc_politeness = s.number_or("lc_politeness", p.lc_politeness, 0.0, 1.0);
  p.lc_safe_decel = s.number_or("lc_safe_decel", p.lc_safe_decel, 0.1, 20.0);
  p.strategic_lookahead =
      s.quantity_or("strategic_lookahead", Quantity::length, p.strategic_lookahead, 0.0);
  p.teleport_after = s.duration_or("teleport_after", p.teleport_after);
  p.stats_interval = s.duration_or("stats_interval", p.stats_interval);
  if (p.stats_interval <= 0) s.error("stats_interval", "must be positive", "", "e.g. \"5min\"");
  p.halting_speed = s.quantity_or("halting_speed", Quantity::speed, p.halting_speed, 0.0);
  p.reroute_period = s.duration_or("reroute_period", p.reroute_period);
  p.reroute_factor = s.number_or("reroute_factor", p.reroute_factor, 1.0, 100.0);
  p.tt_smoothing = s.number_or("tt_smoothing", p.tt_smoothing, 0.0, 1.0);
  p.reroute_min_gain = s.number_or("reroute_min_gain", p.reroute_min_gain, 0.0, 1.0);
  p.seed =
      static_cast<std::uint64_t>(s.integer_or("seed", static_cast<std::int64_t>(core.run.seed), 0));

  for (SectionReader& ds : s.tables("detector")) {
    DetectorDecl dd;
    dd.name = ds.string_or("name", "detector" + std::to_string(spec->detectors.size() + 1));
    dd.edge = ds.string_or("edge", "");
    if (ds.has("at")) dd.at = ds.point("at");
    if (dd.edge.empty() == !dd.at.has_value())
      ds.error("", "place the detector one way", "",
               "edge = \"<edge id>\" (with optional lane and pos) or at = [x, y] (model CRS)");
    dd.lane = ds.integer_or("lane", -1, -1, 255);
    if (dd.at && ds.has("pos"))
      ds.error("pos", "at = [x, y] already gives the position", "", "edge = ... with pos");
    if (ds.has("pos")) dd.pos = ds.quantity("pos", Quantity::length);
    dd.where = ds.where();
    spec->detectors.push_back(std::move(dd));
  }

  // City demand.
  SectionReader d = s.table("demand");
  TripParams& t = spec->demand;
  t.trips_per_resident = d.number_or("trips_per_resident", t.trips_per_resident, 0.0, 10.0);
  t.zone_m = d.quantity_or("zone", Quantity::length, t.zone_m, 50.0);
  t.beta_per_km = d.number_or("beta", t.beta_per_km, 0.0, 20.0);
  t.detour_factor = d.number_or("detour_factor", t.detour_factor, 1.0, 5.0);
  t.window_begin = d.duration_or("window_begin", 0);
  t.window_end = d.duration_or("window_end", core.run.duration);
  if (t.window_end <= t.window_begin)
    d.error("window_end", "must be after window_begin", format_duration(t.window_end));
  t.start_second_of_day = static_cast<std::int64_t>(core.run.local_second_of_day(0));
  if (!spec->city && s.has("demand"))
    s.error("demand", "[traffic.demand] needs network = \"city\"", "",
            "network = \"city\", or the demand from route files");
  return spec;
}

std::shared_ptr<const EventPayload> parse_traffic_event(std::string_view action,
                                                        SectionReader& ev) {
  if (action == "close" || action == "reopen" || action == "speed_limit") {
    auto e = std::make_shared<EdgeEvent>();
    e->kind = action == "close"    ? EdgeEvent::Kind::close
              : action == "reopen" ? EdgeEvent::Kind::reopen
                                   : EdgeEvent::Kind::speed;
    e->ids = ev.strings("edges").value_or(std::vector<std::string>{});
    e->polygon = ev.points("area").value_or(std::vector<Point2>{});
    e->bbox = ev.numbers("bbox", 4).value_or(std::vector<double>{});
    const int given = !e->ids.empty() + !e->polygon.empty() + !e->bbox.empty();
    if (given != 1)
      ev.error("", "name the edges one way", "",
               "edges = [\"id\", ...], area = [[x, y], ...] (a polygon, model CRS) or "
               "bbox = [xmin, ymin, xmax, ymax]");
    if (!e->polygon.empty() && e->polygon.size() < 3)
      ev.error("area", "a polygon needs at least 3 points");
    if (e->kind == EdgeEvent::Kind::speed) {
      if (!ev.has("speed")) ev.error("", "missing key \"speed\"", "", "speed = \"30km/h\"");
      e->speed_mps = ev.quantity_or("speed", Quantity::speed, 0.0, 0.0);
    }
    return e;
  }
  if (action == "signal_dark" || action == "signal_restore") {
    auto e = std::make_shared<SignalEvent>();
    e->dark = action == "signal_dark";
    e->id = ev.string_or("signal", "");
    if (e->id.empty()) ev.error("", "missing key \"signal\"", "", "signal = \"<tlLogic id>\"");
    return e;
  }
  if (action == "scale_demand") {
    auto e = std::make_shared<DemandScaleEvent>();
    e->factor = ev.number_or("factor", 1.0, 0.0, 100.0);
    e->until = ev.duration_or("until", -1);
    return e;
  }
  return nullptr;
}

// Reads the SUMO inputs of the spec into c.
Result<void> load_sumo(const TrafficSpec& spec, Compiled& c) {
  auto net = read_sumo_net(spec.net_file);
  if (!net) return fail(net.error());
  c.net = std::move(*net);
  std::vector<std::string> detector_files;
  for (const std::string& f : spec.additional_files) {
    AdditionalKinds kinds;
    if (auto r = xml::parse_file(f, kinds); !r) return fail(r.error());
    if (kinds.tls && kinds.routes)
      return fail(Error::msg(
          "an additional file mixing <tlLogic> with vehicle types or routes; split it", f));
    if (kinds.tls) {
      if (auto r = read_sumo_tls(f, c.net); !r) return fail(r.error());
    } else if (kinds.routes) {
      if (auto r = read_sumo_routes(f, c.net, c.demand, spec.params.seed); !r)
        return fail(r.error());
    }
    if (kinds.detectors) detector_files.push_back(f);
  }
  for (const std::string& f : spec.route_files)
    if (auto r = read_sumo_routes(f, c.net, c.demand, spec.params.seed); !r) return fail(r.error());
  for (const std::string& f : detector_files) {
    auto dets = read_sumo_detectors(f, c.net);
    if (!dets) return fail(dets.error());
    c.detectors.insert(c.detectors.end(), dets->begin(), dets->end());
  }
  auto geom = read_sumo_lane_shapes(spec.net_file, c.net);
  if (!geom) return fail(geom.error());
  c.geom = std::move(*geom);
  c.source = std::filesystem::path(spec.net_file).filename().string();
  return {};
}

// The strongly connected part of the edge graph that holds the most edges among a few seeds
// of the highest road class (forward and backward reachability from the seed intersected).
std::vector<std::uint8_t> main_component(const Network& net, const RoadNetwork& roads) {
  const auto ne = static_cast<u>(net.n_edges());
  std::vector<std::vector<std::int32_t>> succ(ne), pred(ne);
  for (std::int32_t c = 0; c < net.n_conns(); ++c) {
    const std::int32_t a = net.lane_edge[static_cast<u>(net.conn_from_lane[static_cast<u>(c)])],
                       b = net.lane_edge[static_cast<u>(net.conn_to_lane[static_cast<u>(c)])];
    succ[static_cast<u>(a)].push_back(b);
    pred[static_cast<u>(b)].push_back(a);
  }
  auto reach = [&](std::int32_t seed, const std::vector<std::vector<std::int32_t>>& adj) {
    std::vector<std::uint8_t> seen(ne, 0);
    std::vector<std::int32_t> stack{seed};
    seen[static_cast<u>(seed)] = 1;
    while (!stack.empty()) {
      const std::int32_t e = stack.back();
      stack.pop_back();
      for (std::int32_t f : adj[static_cast<u>(e)])
        if (!seen[static_cast<u>(f)]) seen[static_cast<u>(f)] = 1, stack.push_back(f);
    }
    return seen;
  };
  std::vector<std::int32_t> seeds(ne);
  for (u e = 0; e < ne; ++e) seeds[e] = static_cast<std::int32_t>(e);
  std::stable_sort(seeds.begin(), seeds.end(), [&](std::int32_t a, std::int32_t b) {
    return roads.link_class[static_cast<u>(a)] < roads.link_class[static_cast<u>(b)];
  });
  std::vector<std::uint8_t> best;
  std::size_t best_n = 0;
  for (u k = 0; k < std::min<u>(8, ne); ++k) {
    std::vector<std::uint8_t> f = reach(seeds[k], succ);
    const std::vector<std::uint8_t> b = reach(seeds[k], pred);
    std::size_t n = 0;
    for (u e = 0; e < ne; ++e) n += (f[e] &= b[e]);
    if (n > best_n) best_n = n, best = std::move(f);
  }
  return best;
}

// The city's network and home-to-work demand. Trips are routed once on free-flow times to
// give the signal plans their flows (Webster), then handed to the simulation as trips routed
// when they depart (on the travel times of that moment).
Result<void> build_city(const TrafficSpec& spec, const ScenarioSpec& scenario,
                        const CityModel& city, Compiled& c) {
  if (city.roads.link_count() == 0)
    return fail(Error::msg("traffic.network = \"city\" needs roads: set city.osm", scenario.path));
  CityNetwork cn = build_city_network(city.roads);
  const Activity activity = building_activity(city.buildings);
  // Trips start and end on the main strongly connected part of the network, so that every
  // trip has a route (links cut off by the city's bounding box are left out).
  TripParams tp = spec.demand;
  tp.usable_links = main_component(cn.net, city.roads);
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
    d.veh_id.push_back("c" + std::to_string(k));
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
  double residents = activity.total_residents(), jobs = activity.total_jobs();
  c.notes.emplace_back("city demand",
                       fmt::format("{:.0f} residents, {:.0f} jobs -> {} trips ({} within one link, "
                                   "{} unreachable, dropped)",
                                   residents, jobs, trips.size(), same_link, unreachable));
  return {};
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
      return fail(Diagnostic::at(e.where, 0, ee.bbox.empty() ? "area" : "bbox", "no edge in the area", "",
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
      if (dd.lane < 0 && le - lb > 1) id += "_" + std::to_string(l - lb);
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
  // Destination buildings of the city's trips, in the final vehicle order ("<id>#k" copies of a
  // scaled demand share their original's).
  if (!c.dest_by_id.empty())
    for (const std::string& id : c.demand.veh_id) {
      const auto it = c.dest_by_id.find(id.substr(0, id.find('#')));
      c.veh_dest_building.push_back(it != c.dest_by_id.end() ? it->second : -1);
    }
  if (auto r = resolve_detectors(spec, c); !r) return fail(r.error());
  return std::unique_ptr<Domain>(std::make_unique<TrafficDomain>(spec.params, std::move(c), city));
}

}  // namespace

const DomainEntry& traffic_domain_entry() {
  static const DomainEntry entry{{"traffic", parse_traffic, parse_traffic_event}, compile_traffic};
  return entry;
}

}  // namespace citytwin::traffic
