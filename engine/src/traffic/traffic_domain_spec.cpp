// The [traffic] section, typed (docs/scenario-traffic.md): parse_traffic reads the network
// source (SUMO files or the city), the simulation parameters, the detectors and the city demand
// into a TrafficSpec; parse_traffic_event reads the edge, signal and demand events.
#include "traffic/traffic_domain_impl.hpp"

namespace citytwin::traffic {

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
  p.time_to_impatience = to_seconds(s.duration_or("time_to_impatience", seconds_ms(180.0)));
  if (p.time_to_impatience < 0)
    s.error("time_to_impatience", "must not be negative", "",
            "e.g. \"180s\" (SUMO's), \"0s\" = off");
  p.lc_threshold = s.number_or("lc_threshold", p.lc_threshold, 0.0, 10.0);
  p.lc_politeness = s.number_or("lc_politeness", p.lc_politeness, 0.0, 1.0);
  p.lc_safe_decel = s.number_or("lc_safe_decel", p.lc_safe_decel, 0.1, 20.0);
  p.strategic_lookahead =
      s.quantity_or("strategic_lookahead", Quantity::length, p.strategic_lookahead, 0.0);
  p.teleport_after = s.duration_or("teleport_after", p.teleport_after);
  spec->tripinfo = s.boolean_or("tripinfo", false);
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

}  // namespace citytwin::traffic
