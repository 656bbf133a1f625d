// The traffic domain: the lane-level simulation (traffic.hpp) driven by the run loop.
//
// The network and demand come from SUMO files (a .sumocfg, or net/route/additional files named
// in the scenario). Each macro step runs whole traffic steps of `traffic.dt` until the traffic
// clock reaches the end of the macro step. Per-edge statistics close every `stats_interval` of
// simulated time; the network summary is written at every output frame; the per-trip CSV and
// the end-of-run figures are written at the end (docs/scenario-traffic.md, hdf5-layout.md).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

#include <fmt/format.h>

#include "citytwin/frame.hpp"
#include "citytwin/io.hpp"
#include "traffic/traffic_domain.hpp"
#include "traffic/xml_reader.hpp"

namespace citytwin::traffic {

namespace {

using u = std::size_t;

struct TrafficSpec : DomainSpec {
  std::string net_file;
  std::vector<std::string> route_files, additional_files;
  std::string origin;  // "file:line" of the section, for compile-time messages
  Params params;
};

struct TrafficDomainState : DomainState {
  TrafficState ts;
  std::vector<EdgeInterval> intervals;  // closed statistics intervals
  SimTime interval_begin = 0;

  void hash(StateHasher& h) const override {
    h.add(state_hash(ts));
    h.add(static_cast<std::int64_t>(intervals.size()));
    for (const EdgeInterval& e : intervals) h.add(e.entered);
  }
};

// What a SUMO additional file holds: signal programs, or vehicle types (route-file elements).
struct AdditionalKinds : xml::Handler {
  bool tls = false, routes = false;
  Result<void> start(std::string_view name, const xml::Attrs&, int depth) override {
    if (depth != 2) return {};
    if (name == "tlLogic") tls = true;
    if (name == "vType" || name == "vTypeDistribution" || name == "route" || name == "vehicle" ||
        name == "flow")
      routes = true;
    return {};
  }
};

class TrafficDomain : public Domain {
 public:
  TrafficDomain(Params params, Network net, Demand demand, LaneGeometry geom, const CityModel& city,
                std::string source)
      : m_params(params),
        m_net(std::move(net)),
        m_demand(std::move(demand)),
        m_geom(std::move(geom)),
        m_city(city),
        m_source(std::move(source)) {}

  std::string_view name() const override { return "traffic"; }

  std::unique_ptr<DomainState> make_state() const override {
    auto s = std::make_unique<TrafficDomainState>();
    s->ts = traffic::make_state(m_net, m_demand, m_params);
    return s;
  }

  void apply_event(const EventSpec&, DomainState&) const override {}

  void advance(DomainState& state, const StepContext& ctx) const override {
    auto& s = static_cast<TrafficDomainState&>(state);
    const SimTime end = ctx.t + ctx.dt;
    while (s.ts.time < end) {
      traffic::step(m_net, m_demand, m_params, s.ts, *ctx.pool);
      if (s.ts.time - s.interval_begin >= m_params.stats_interval) {
        s.intervals.push_back(
            take_edge_interval(s.ts, to_seconds(s.interval_begin), to_seconds(s.ts.time)));
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
    const std::filesystem::path dir = std::filesystem::path(out.path()).parent_path();
    const std::string trips = (dir / "traffic_trips.csv").string();
    const auto wrote = write_trips_csv(trips, m_demand, s.ts);

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
    add("trips file", wrote ? trips : "not written: " + wrote.error().to_string());
  }

  void fill_frame(const DomainState& state, FrameSnapshot& frame) const override {
    const auto& s = static_cast<const TrafficDomainState&>(state);
    const std::size_t n = static_cast<std::size_t>(s.ts.n_running);
    frame.vehicle_x.resize(n);
    frame.vehicle_y.resize(n);
    frame.vehicle_z.resize(n);
    frame.vehicle_heading.resize(n);
    frame.vehicle_speed_mps.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      const auto v = static_cast<u>(s.ts.running[i]);
      const std::int32_t lane = s.ts.veh_lane[v];
      double x = 0, y = 0;
      float heading = 0;
      if (!m_geom.empty())
        m_geom.at(lane, s.ts.veh_pos[v], m_net.lane_length[static_cast<u>(lane)], x, y, heading);
      const double z = m_city.terrain.empty() ? 0.0 : m_city.ground(x, y);
      frame.vehicle_x[i] = static_cast<float>(x);
      frame.vehicle_y[i] = static_cast<float>(y);
      frame.vehicle_z[i] = std::isfinite(z) ? static_cast<float>(z) : 0.0f;
      frame.vehicle_heading[i] = heading;
      frame.vehicle_speed_mps[i] = s.ts.veh_speed[v];
    }
    const traffic::SummaryRow r = summary(s.ts, m_params);
    frame.figures.emplace_back("vehicles running", std::to_string(r.running));
    frame.figures.emplace_back("vehicles arrived", std::to_string(r.arrived));
    frame.figures.emplace_back("mean speed", fmt::format("{:.1f} km/h", r.mean_speed * 3.6));
  }

  const Network& network() const { return m_net; }

 private:
  Params m_params;
  Network m_net;
  Demand m_demand;
  LaneGeometry m_geom;
  const CityModel& m_city;  // owned by the Model, which outlives its domains
  std::string m_source;
};

std::shared_ptr<const DomainSpec> parse_traffic(SectionReader& s, const ScenarioSpec& core) {
  auto spec = std::make_shared<TrafficSpec>();
  spec->origin = s.where();
  const bool has_cfg = s.has("sumocfg"), has_net = s.has("net");
  if (has_cfg && has_net)
    s.error("sumocfg", "give either traffic.sumocfg or traffic.net, not both");
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
  } else {
    s.error("", "missing key \"net\" or \"sumocfg\"", "",
            "net = \"<file>.net.xml\" with routes = [...], or sumocfg = \"<file>.sumocfg\"");
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
  p.seed =
      static_cast<std::uint64_t>(s.integer_or("seed", static_cast<std::int64_t>(core.run.seed), 0));
  return spec;
}

std::shared_ptr<const EventPayload> parse_traffic_event(std::string_view, SectionReader&) {
  return nullptr;
}

Result<std::unique_ptr<const Domain>> compile_traffic(const DomainSpec& dspec, const ScenarioSpec&,
                                                      const CityModel& city) {
  const auto& spec = static_cast<const TrafficSpec&>(dspec);
  auto net = read_sumo_net(spec.net_file);
  if (!net) return fail(net.error());
  Demand demand;
  for (const std::string& f : spec.additional_files) {
    AdditionalKinds kinds;
    if (auto r = xml::parse_file(f, kinds); !r) return fail(r.error());
    if (kinds.tls && kinds.routes)
      return fail(Error::msg(
          "an additional file mixing <tlLogic> with vehicle types or routes; split it", f));
    if (kinds.tls) {
      if (auto r = read_sumo_tls(f, *net); !r) return fail(r.error());
    } else if (kinds.routes) {
      if (auto r = read_sumo_routes(f, *net, demand, spec.params.seed); !r) return fail(r.error());
    }
  }
  for (const std::string& f : spec.route_files)
    if (auto r = read_sumo_routes(f, *net, demand, spec.params.seed); !r) return fail(r.error());
  finish_demand(demand);
  auto geom = read_sumo_lane_shapes(spec.net_file, *net);
  if (!geom) return fail(geom.error());
  return std::unique_ptr<const Domain>(std::make_unique<TrafficDomain>(
      spec.params, std::move(*net), std::move(demand), std::move(*geom), city,
      std::filesystem::path(spec.net_file).filename().string()));
}

}  // namespace

const DomainEntry& traffic_domain_entry() {
  static const DomainEntry entry{{"traffic", parse_traffic, parse_traffic_event}, compile_traffic};
  return entry;
}

}  // namespace citytwin::traffic
