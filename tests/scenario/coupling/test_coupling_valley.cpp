// The whole coupling chain on a synthetic valley city (tests/support/valley_city.hpp): a point
// inflow fills the valley; the southern street closes in the macro step its depth (from the
// flood's own depth raster) first reaches 0.3 m and traffic goes round by the northern one; the
// substation on the valley floor trips in the step its water passes 1 m, every building loses
// power from that moment, the signal runs on its battery for exactly `battery` and then goes
// dark (an all-way stop); the pump stops with its bus. Drainage empties the valley, the street
// reopens below 0.2 m, the substation comes back `repair_time` after it is dry, and with it the
// buildings, the signal and the pump.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "citytwin/frame.hpp"
#include "citytwin/io.hpp"
#include "citytwin/sim.hpp"
#include "support/valley_city.hpp"

using namespace citytwin;

namespace {

const std::string k_dir = (std::filesystem::temp_directory_path() / "citytwin_coupling").string();

std::string valley_scenario(const std::string& extra = {}) {
  std::filesystem::create_directories(k_dir);
  // 4 m3/s for 20 minutes, then nothing: the pond rises for 20 minutes and drains after.
  std::ofstream(k_dir + "/creek.csv") << "time_s,discharge_m3s\n0,4\n1200,4\n1260,0\n";
  return R"([scenario]
name = "valley"
duration = "2h"
step = "1s"
start = "2026-06-15T07:00:00+02:00"
seed = 7
[output]
every = "1min"
dir = ")" +
         k_dir + R"("
[flood]
solver = "inertial"
buildings = "walls"
[[flood.inflow]]
name = "creek"
at = [202.5, 200.0]
hydrograph = "creek.csv"
[flood.drainage]
capacity = "600mm/h"
cells = "all"
[traffic]
network = "city"
reroute_period = "1min"
stats_interval = "1min"
[traffic.demand]
trips_per_resident = 10.0
window_end = "20min"
zone = "50m"
[power]
grid = "city"
interval = "5min"
[coupling]
[coupling.flood_roads]
# Full speed until the street closes (so the trips use it until then, and re-route at once).
curve = [[0.0, 1.0], [0.29, 1.0], [0.3, 0.0]]
[coupling.flood_power]
repair_time = "10min"
[coupling.signals]
battery = "5min"
[[coupling.pump]]
name = "sump"
at = [200.0, 20.0]
capacity = "0.2m3/s"
)" + extra;
}

std::shared_ptr<const Model> valley_model(const std::string& text) {
  auto spec = parse_scenario(text, k_dir + "/valley.toml", builtin_domain_infos());
  if (!spec) FAIL(spec.error().to_string());
  auto model =
      compile_model(std::move(*spec), std::make_shared<const CityModel>(testing::valley_city()),
                    builtin_domains());
  if (!model) FAIL(model.error().to_string());
  return *model;
}

// What the test watches after every step.
struct Sample {
  SimTime t;
  float raster_link_depth;  // max of the flood raster over the southern street's cells
  float element_depth;
  std::uint8_t link_closed, element_in_service, signal_powered, pump_on;
  std::int64_t powered_buildings;
  std::int64_t bus_dark_since;  // the signal's bus
};

}  // namespace

TEST_CASE(
    "valley: flood closes the street, trips the substation, darkens the signal, and all "
    "of it comes back",
    "[coupling]") {
  auto model = valley_model(valley_scenario());
  const ExchangeLayout& l = *model->layout;
  const CouplingModel& cm = *model->coupling;
  REQUIRE(l.n_signals() == 1);
  REQUIRE(l.n_elements() >= 2);
  REQUIRE(l.element_kind[0] == ElementKind::substation);
  REQUIRE(cm.signal_bus[0] >= 0);
  const std::int32_t link = 2;  // sw -> s_valley, the southern street's western half
  REQUIRE(model->city->roads.link_from[link] == testing::sw);
  REQUIRE(model->city->roads.link_to[link] == testing::s_valley);

  const std::string h5 = k_dir + "/valley.h5";
  auto rec = RunRecorder::create(*model, h5);
  REQUIRE(rec);
  Run run(model, 2);
  std::vector<Sample> samples;
  (*rec)->observe(run.state());
  run.observe([&](const SimState& s) {
    (*rec)->observe(s);
    const FrameSnapshot f = snapshot(*model, s);
    const WaterRaster& w = f.water;
    float d = 0;  // the link's cells: row 20 (y 100-105), columns 12 (x 60-65) to 40 (x 200-205)
    for (int i = 12; i <= 40; ++i)
      d = std::max(d, w.depth_m[static_cast<std::size_t>(20 * w.nx + i)]);
    std::int64_t powered = 0;
    for (std::uint8_t p : s.x().building_powered) powered += p;
    samples.push_back({s.t, d, s.x().element_depth_m[0], s.x().link_closed[link],
                       s.x().element_in_service[0], s.x().signal_powered[0],
                       static_cast<std::uint8_t>(s.x().pump_rate_m3s[0] > 0), powered,
                       s.x().bus_dark_since[static_cast<std::size_t>(cm.signal_bus[0])]});
  });
  run.run_until(model->spec.run.duration);
  const std::vector<SummaryRow> summary = (*rec)->finish(run.state());
  rec->reset();
  const std::int64_t n_buildings = l.n_buildings;

  // The link closes in the step whose depth (the flood raster) first reaches 0.3 m, and not
  // before; it reopens in the first step below 0.2 m after that.
  auto first = [&](auto pred, std::size_t from = 0) {
    for (std::size_t k = from; k < samples.size(); ++k)
      if (pred(samples[k])) return k;
    return samples.size();
  };
  const std::size_t wet = first([](const Sample& s) { return s.raster_link_depth >= 0.3f; });
  REQUIRE(wet < samples.size());
  CHECK(first([](const Sample& s) { return s.link_closed == 1; }) == wet);
  const std::size_t dry = first([](const Sample& s) { return s.raster_link_depth < 0.2f; }, wet);
  REQUIRE(dry < samples.size());  // the valley drains within the run
  for (std::size_t k = wet; k < dry; ++k) REQUIRE(samples[k].link_closed == 1);
  CHECK(samples[dry].link_closed == 0);
  const SimTime t_closed = samples[wet].t, t_reopened = samples[dry].t;

  // The substation trips in the step its water first reaches 1 m; the outage starts then.
  const std::size_t trip = first([](const Sample& s) { return s.element_depth >= 1.0f; });
  REQUIRE(trip < samples.size());
  CHECK(first([](const Sample& s) { return s.element_in_service == 0; }) == trip);
  const SimTime t_trip = samples[trip].t;
  const std::size_t dark_bus = first([](const Sample& s) { return s.bus_dark_since >= 0; });
  REQUIRE(dark_bus < samples.size());
  CHECK(samples[dark_bus].bus_dark_since == t_trip);
  // Every building is without power from the power flow of that moment (published one step on).
  CHECK(samples[trip].powered_buildings == n_buildings);
  CHECK(samples[trip + 1].powered_buildings == 0);
  // The pump stops with its bus.
  CHECK(samples[trip + 1].pump_on == 0);
  CHECK(samples[trip - 1].pump_on == 1);

  // The signal goes dark exactly `battery` (5 min) after the outage started.
  const SimTime battery = 5 * 60'000;
  const std::size_t signal_dark = first([](const Sample& s) { return s.signal_powered == 0; });
  REQUIRE(signal_dark < samples.size());
  CHECK(samples[signal_dark].t == t_trip + battery);

  // Back: the substation 10 min after its water fell below 1 m, then power, signal and pump.
  const std::size_t recede = first([](const Sample& s) { return s.element_depth < 1.0f; }, trip);
  REQUIRE(recede < samples.size());
  const std::size_t back = first([](const Sample& s) { return s.element_in_service == 1; }, trip);
  REQUIRE(back < samples.size());
  CHECK(samples[back].t == samples[recede].t + 10 * 60'000);
  for (std::size_t k = recede; k < back; ++k) REQUIRE(samples[k].element_depth < 1.0f);
  CHECK(samples[back + 1].powered_buildings == n_buildings);
  CHECK(samples[back + 1].signal_powered == 1);
  CHECK(samples[back + 1].pump_on == 1);
  CHECK(samples.back().signal_powered == 1);

  // The log holds each of these changes at these times, and nothing else for these targets.
  const auto& log = run.state().coupling.log;
  auto logged = [&](CouplingRule r, std::int32_t target, float state) {
    std::vector<SimTime> t;
    for (const CouplingLogRow& row : log)
      if (row.rule == r && row.target == target && row.new_state == state) t.push_back(row.t);
    return t;
  };
  CHECK(logged(CouplingRule::flood_roads, link, 0.0f) == std::vector<SimTime>{t_closed});
  CHECK(logged(CouplingRule::flood_power, 0, 0.0f) == std::vector<SimTime>{t_trip});
  CHECK(logged(CouplingRule::flood_power, 0, 1.0f) == std::vector<SimTime>{samples[back].t});
  CHECK(logged(CouplingRule::power_signals, 0, 0.0f) == std::vector<SimTime>{t_trip + battery});
  CHECK(logged(CouplingRule::power_pumps, 0, 0.0f).size() == 1);

  // Traffic: no vehicle enters the closed street while it is closed; the trips go round by the
  // northern street, through the signal; the closures re-routed vehicles.
  auto reader = RunReader::open(h5);
  REQUIRE(reader);
  const auto begin = (*reader)->read<double>("/traffic/edges/begin_s");
  const auto end = (*reader)->read<double>("/traffic/edges/end_s");
  const auto entered = (*reader)->read<std::int32_t>("/traffic/edges/entered");
  REQUIRE(begin);
  REQUIRE(entered);
  const std::size_t ne = entered->dims[1];
  std::int64_t north_during = 0, closed_during = 0, south_before = 0;
  const std::int32_t north = 12;  // n_valley -> ne, eastbound on the northern street
  REQUIRE(model->city->roads.link_from[north] == testing::n_valley);
  for (std::size_t k = 0; k < begin->data.size(); ++k) {
    const double b = begin->data[k], e = end->data[k];
    const auto at = [&](std::int32_t lk) {
      return entered->data[k * ne + static_cast<std::size_t>(lk)];
    };
    if (b >= to_seconds(t_closed) && e <= to_seconds(t_reopened)) {
      closed_during += at(link) + at(link + 1) + at(link + 2) + at(link + 3);
      north_during += at(north);
    }
    if (e <= to_seconds(t_closed)) south_before += at(link) + at(link + 2);
  }
  INFO("entered before the closure on the southern street " << south_before << ", northern during "
                                                            << north_during);
  CHECK(south_before > 0);
  CHECK(closed_during == 0);
  CHECK(north_during > 0);
  auto reroutes = (*reader)->attr_double("/traffic", "flood_reroutes");
  REQUIRE(reroutes);
  CHECK(*reroutes > 0);
  // The traffic domain ran the signal dark (an all-way stop) exactly while it had no power.
  const auto signal = (*reader)->read<std::uint8_t>("/traffic/signal_dark");
  const auto time = (*reader)->read<double>("/time");
  REQUIRE(signal);
  REQUIRE(signal->dims[1] == 1);
  for (std::size_t k = 0; k < time->data.size(); ++k) {
    const auto t = static_cast<SimTime>(std::llround(time->data[k] * 1000));
    const bool should = t > t_trip + battery && t <= samples[back].t;
    INFO("frame at " << time->data[k] << " s");
    CHECK(signal->data[k] == (should ? 1 : 0));
  }
  // The run's summary says it.
  auto row = [&](const std::string& key) {
    for (const SummaryRow& r : summary)
      if (r.domain == "coupling" && r.key == key) return r.value;
    return std::string("(missing)");
  };
  CHECK(row("elements failed (now) / repaired") == "1 (0) / 1");
  CHECK(std::filesystem::exists(k_dir + "/coupling_log.csv"));
}

namespace {

// The first error of loading and compiling a scenario text over the valley city.
Diagnostic valley_error(const std::string& text) {
  auto spec = parse_scenario(text, k_dir + "/bad.toml", builtin_domain_infos());
  if (!spec) return spec.error().first();
  auto model =
      compile_model(std::move(*spec), std::make_shared<const CityModel>(testing::valley_city()),
                    builtin_domains());
  if (!model) return model.error().first();
  FAIL("the scenario was accepted");
  return {};
}

}  // namespace

TEST_CASE("valley: bad coupling configurations are located errors", "[coupling]") {
  const std::string base = valley_scenario();
  // The scenario with one line replaced.
  auto with = [&](const std::string& line, const std::string& replacement) {
    std::string t = base;
    const auto at = t.find(line);
    REQUIRE(at != std::string::npos);
    return t.replace(at, line.size(), replacement);
  };
  const std::string curve = "curve = [[0.0, 1.0], [0.29, 1.0], [0.3, 0.0]]";
  SECTION("a curve whose factor rises") {
    const Diagnostic d =
        valley_error(with(curve, "curve = [[0.0, 1.0], [0.1, 0.5], [0.2, 0.7], [0.3, 0.0]]"));
    CHECK(d.field == "coupling.flood_roads.curve");
    CHECK(d.message == "not a monotone depth-disruption curve");
    CHECK(d.line > 0);
  }
  SECTION("a curve that never closes the road") {
    const Diagnostic d = valley_error(with(curve, "curve = [[0.0, 1.0], [0.3, 0.5]]"));
    CHECK(d.field == "coupling.flood_roads.curve");
  }
  SECTION("a pump off the grid") {
    const Diagnostic d = valley_error(
        base + "[[coupling.pump]]\nname = \"far\"\nat = [5000.0, 20.0]\ncapacity = \"1m3/s\"\n");
    CHECK(d.field == "at");
    CHECK(d.file.find("bad.toml:") != std::string::npos);
    CHECK(d.message == "the pump stands outside the flood grid's open cells");
  }
  SECTION("a rule switched on without its domains") {
    std::string no_traffic = with("battery = \"5min\"", "battery = \"5min\"\nenabled = true");
    const auto a = no_traffic.find("[traffic]"), b = no_traffic.find("[power]");
    no_traffic.erase(a, b - a);
    no_traffic.erase(
        no_traffic.find("[coupling.flood_roads]"),
        no_traffic.find("[coupling.flood_power]") - no_traffic.find("[coupling.flood_roads]"));
    const Diagnostic d = valley_error(no_traffic);
    CHECK(d.field == "coupling.signals.enabled");
    CHECK(d.message == "this rule joins [power] and [traffic]; the scenario lacks one");
  }
  SECTION("the repair time is a duration") {
    const Diagnostic d = valley_error(with("repair_time = \"10min\"", "repair_time = \"-1h\""));
    CHECK(d.field == "coupling.flood_power.repair_time");
  }
}

TEST_CASE("valley: events injected during a run act as the scenario's; a bad one is counted",
          "[coupling][events]") {
  auto model = valley_model(valley_scenario());
  Run run(model, 2);
  run.run_until(60'000);
  // Close the northern street (links 10-13) at 2 min, by link index as the city network names
  // its edges, and try an edge that does not exist.
  auto events = parse_events(*model, R"([[event]]
at = "2min"
type = "traffic.close"
edges = ["10", "11", "12", "13"]
[[event]]
at = "2min"
type = "traffic.close"
edges = ["99999"]
)",
                             "operator");
  REQUIRE(events);
  REQUIRE(events->size() == 2);
  for (EventSpec& e : *events) run.inject(std::move(e));
  run.run_until(3 * 60'000);
  REQUIRE(run.state().rejected_events.size() == 1);
  CHECK(run.state().rejected_events[0].find("no such edge") != std::string::npos);
  CHECK(run.state().rejected_events[0].find("operator:5") != std::string::npos);
  const FrameSnapshot f = snapshot(*model, run.state());
  for (std::int32_t l = 10; l <= 13; ++l) CHECK(f.link_closed[static_cast<std::size_t>(l)] == 1);
  CHECK(f.link_closed[2] == 0);
  // A bad event text is a located error before the run takes it.
  auto bad =
      parse_events(*model, "[[event]]\nat = \"2min\"\ntype = \"traffic.closed\"\n", "operator");
  REQUIRE(!bad);
  CHECK(bad.error().first().message == "unknown event type");
  CHECK(bad.error().first().expected ==
        "one of the traffic domain's actions: close, reopen, speed_limit, signal_dark, "
        "signal_restore, scale_demand");
}

TEST_CASE("valley: EV charging at the offices adds exactly its load to the grid",
          "[coupling][ev]") {
  // The documented defaults: a fifth of the arriving cars charge at 7.4 kW for an hour. A power
  // flow every second, so that both runs' last flows see the same time of day.
  auto every_second = [](std::string t) {
    const std::string five = "interval = \"5min\"";
    return t.replace(t.find(five), five.size(), "interval = \"1s\"");
  };
  auto base = valley_model(every_second(valley_scenario()));
  auto with_ev =
      valley_model(every_second(valley_scenario("[coupling.ev_charging]\nenabled = true\n")));
  const SimTime until = 15 * 60'000;  // before the substation fails
  auto run_to_file = [&](std::shared_ptr<const Model> m, const std::string& h5, float& extra) {
    auto rec = RunRecorder::create(*m, h5);
    REQUIRE(rec);
    Run r(m, 2);
    (*rec)->observe(r.state());
    r.observe([&](const SimState& s) {
      (*rec)->observe(s);
      if (s.t < until) {  // the load the last step's power flow used
        extra = 0;
        for (float w : s.x().building_extra_w) extra += w;
      }
    });
    r.run_until(until);
    (*rec)->finish(r.state());
    return r.state().coupling.ev_sessions_started;
  };
  float extra_base = 0, extra_ev = 0;
  run_to_file(base, k_dir + "/ev_base.h5", extra_base);
  const std::int64_t sessions = run_to_file(with_ev, k_dir + "/ev.h5", extra_ev);
  CHECK(extra_base == 0.0f);
  CHECK(sessions > 3);
  auto last_served = [](const std::string& h5) {
    auto r = RunReader::open(h5);
    REQUIRE(r);
    return (*r)->read<double>("/power/served_mw")->data.back();
  };
  const double a = last_served(k_dir + "/ev_base.h5"), b = last_served(k_dir + "/ev.h5");
  INFO(sessions << " sessions; served " << a << " MW without EVs, " << b << " MW with "
                << extra_ev / 1e3 << " kW charging");
  CHECK(extra_ev > 0);
  CHECK(b - a == Approx(extra_ev * 1e-6).epsilon(1e-6));
}

TEST_CASE("flood -> roads on a SUMO network is a clear error naming what is missing",
          "[coupling]") {
  const std::string root = CITYTWIN_SOURCE_DIR;
  const std::string text = "[scenario]\nduration = \"10min\"\n[city]\ndem = \"" + root +
                           "/tests/data/city/tiny.asc\"\n[flood]\n[traffic]\nnet = \"" + root +
                           "/tests/data/traffic/grid20/grid20.net.xml.gz\"\n[coupling]\n";
  auto spec = parse_scenario(text, k_dir + "/sumo.toml", builtin_domain_infos());
  REQUIRE(spec);
  auto model = compile_model(std::move(*spec));
  REQUIRE(!model);
  const Diagnostic& d = model.error().first();
  CHECK(d.file == k_dir + "/sumo.toml:8");  // the [coupling] line
  CHECK(d.field == "flood_roads");
  CHECK(d.expected.find("traffic.network = \"city\"") != std::string::npos);
}
