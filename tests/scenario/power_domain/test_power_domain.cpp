// The power domain over time: cascades, substation outages, load scaling, determinism.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "citytwin/demand.hpp"
#include "citytwin/io.hpp"
#include "citytwin/power.hpp"
#include "citytwin/sim.hpp"

using namespace citytwin;

namespace {

std::string write_scenario(const std::string& name, const std::string& body) {
  const auto dir = std::filesystem::temp_directory_path() / "citytwin_power_domain";
  std::filesystem::create_directories(dir);
  const auto path = dir / name;
  std::ofstream(path) << body;
  return path.string();
}

struct Finished {
  std::shared_ptr<const Model> model;
  std::unique_ptr<RunReader> file;
  std::uint64_t hash = 0;
};

Finished run(const std::string& scenario_path, int threads = 2) {
  auto spec = load_scenario(scenario_path);
  if (!spec) FAIL(spec.error().to_string());
  auto model = compile_model(std::move(*spec));
  if (!model) FAIL(model.error().to_string());
  const std::string h5 = scenario_path + "." + std::to_string(threads) + ".h5";
  {
    auto rec = RunRecorder::create(**model, h5);
    REQUIRE(rec);
    SimState s = make_state(**model);
    TaskPool pool(threads);
    (*rec)->observe(s);
    while (s.t < (*model)->spec.run.duration) {
      step(**model, s, pool);
      (*rec)->observe(s);
    }
    (*rec)->finish(s);
    Finished r;
    r.hash = hash_state(**model, s);
    r.model = *model;
    r.file = std::move(*RunReader::open(h5));
    return r;
  }
}

const std::string k_root = CITYTWIN_SOURCE_DIR;

// Monaco's city and synthesised grid without the other domains of scenarios/monaco.toml.
std::string monaco_power(const std::string& duration) {
  return R"([scenario]
duration = ")" +
         duration + R"("
start = "2026-06-15T07:00:00+02:00"
[city]
osm = ")" +
         k_root + R"(/assets/monaco/monaco-2025-02.osm.pbf"
bbox = [7.405, 43.718, 7.445, 43.755]
[power]
grid = "city"
interval = "5min"
)";
}

}  // namespace

TEST_CASE("a hand-checkable cascade: one parallel line trips, the other follows after 11.25 s",
          "[power][cascade]") {
  const std::string path = write_scenario("cascade.toml", R"([scenario]
duration = "15min"
[city]
dem = ")" + k_root + R"(/tests/data/city/tiny.asc"
[power]
case = ")" + k_root + R"(/tests/data/power/cases/cascade3.m"
profile = "flat"
interval = "1min"
[power.protection]
overload_delay = "15s"
instant_trip = 2.0
[output]
every = "1min"
[[event]]
at = "10min"
type = "power.trip_branch"
branch = 0
)");
  Finished r = run(path);
  auto time = r.file->read<double>("/power/cascade/time_s")->data;
  auto branch = r.file->read<std::int32_t>("/power/cascade/branch")->data;
  auto reason = r.file->read<std::uint8_t>("/power/cascade/reason")->data;
  auto loading = r.file->read<float>("/power/cascade/loading")->data;
  REQUIRE(time.size() == 2);
  // The event at 600 s (reason 0 = event_trip) while the line carried 50 MW of 60 MVA.
  CHECK(time[0] == 600.0);
  CHECK(branch[0] == 0);
  CHECK(reason[0] == 0);
  CHECK(loading[0] == Approx(50.0 / 60.0).epsilon(0.01));
  // The twin line then carries ~100 MW of 60 MVA; 15 s x 0.5 / 0.667 = 11.25 s later the
  // integrator reaches 1; the check lands on the next 1 s macro step, 612 s (reason 2 = timed).
  CHECK(time[1] == 612.0);
  CHECK(branch[1] == 1);
  CHECK(reason[1] == 2);
  CHECK(loading[1] == Approx(100.0 / 60.0).epsilon(0.01));
  // Afterwards bus 2 is dark: 100 of 120 MW unserved; bus 3 keeps its 20 MW.
  auto unserved = r.file->read<double>("/power/unserved_mw")->data;
  auto served = r.file->read<double>("/power/served_mw")->data;
  CHECK(unserved.front() == Approx(0.0).margin(1e-9));
  CHECK(served.front() == Approx(120.0).epsilon(1e-9));
  CHECK(unserved.back() == Approx(100.0).epsilon(1e-9));
  auto vm = r.file->read<float>("/power/bus_vm");
  CHECK(vm->data[vm->data.size() - 3 + 1] == 0.0f);  // bus 2 de-energised in the last frame
  CHECK(vm->data[vm->data.size() - 3 + 2] > 0.99f);
  // Unserved energy: 100 MW from 612 s to 900 s = 8.0 MWh.
  CHECK(*r.file->attr_double("/power", "unserved_mwh") == Approx(8.0).epsilon(1e-9));
  CHECK(*r.file->attr_double("/power", "failed_power_flows") == 0.0);
}

TEST_CASE("Monaco: a substation out darkens exactly the buildings it feeds, and comes back",
          "[power][monaco]") {
  const std::string path = write_scenario("monaco_sub.toml", monaco_power("30min") + R"(
[[event]]
at = "10min"
type = "power.substation_out"
substation = 0
[[event]]
at = "20min"
type = "power.substation_in"
substation = 0
)");
  Finished r = run(path);
  auto building_bus = r.file->read<std::int32_t>("/power/building_bus")->data;
  auto hv = r.file->read<std::int32_t>("/power/substation_hv_bus")->data;
  auto powered = r.file->read<std::uint8_t>("/power/building_powered");
  auto customers = r.file->read<std::int64_t>("/power/customers_unserved")->data;
  auto t = r.file->read<double>("/time")->data;
  const std::size_t nb = building_bus.size();
  REQUIRE(powered->dims[1] == nb);
  // Buildings of substation 0: those whose LV bus is fed from it. Find them from the frame
  // during the outage and check the count matches and that all come back.
  const std::size_t during =
      static_cast<std::size_t>(std::find(t.begin(), t.end(), 900.0) - t.begin());
  const std::size_t after = t.size() - 1;
  std::int64_t dark = 0;
  for (std::size_t i = 0; i < nb; ++i) dark += powered->data[during * nb + i] == 0;
  CHECK(customers[during] == dark);
  CHECK(dark > 100);
  CHECK(dark < static_cast<std::int64_t>(nb));  // the other substation keeps its buildings
  CHECK(customers[0] == 0);
  CHECK(customers[after] == 0);
  CHECK(hv.size() == 2);
  // While dark, the bus voltages of that substation's side are 0 and the rest stay in band.
  auto vm = r.file->read<float>("/power/bus_vm");
  const std::size_t n_bus = vm->dims[1];
  int zero = 0;
  for (std::size_t b = 0; b < n_bus; ++b) {
    const float v = vm->data[during * n_bus + b];
    zero += v == 0.0f;
    if (v > 0) REQUIRE(v > 0.9f);
  }
  CHECK(zero > 0);
}

TEST_CASE("power runs are bit-identical for 1 and 2 threads", "[power][determinism]") {
  const std::string path = write_scenario("monaco_det.toml", monaco_power("20min") + R"(
[[event]]
at = "5min"
type = "power.scale_load"
factor = 1.3
)");
  CHECK(run(path, 1).hash == run(path, 2).hash);
}

TEST_CASE("bad power events are located errors before the run", "[power]") {
  // 2^31 and 2^32 + 1 once passed a 32-bit check (a crash, and an event on branch 1).
  for (const std::string branch : {"7", "2147483648", "4294967297"}) {
    const std::string path = write_scenario("bad_branch.toml", R"([scenario]
duration = "5min"
[city]
dem = ")" + k_root + R"(/tests/data/city/tiny.asc"
[power]
case = ")" + k_root + R"(/tests/data/power/cases/cascade3.m"
[[event]]
at = "1min"
type = "power.trip_branch"
branch = )" + branch + "\n");
    auto spec = load_scenario(path);
    REQUIRE(spec);
    auto model = compile_model(std::move(*spec));
    REQUIRE(!model);
    CHECK(model.error().first().file == path + ":7");
    CHECK(model.error().first().message == "no such branch");
    CHECK(model.error().first().found == branch);
    CHECK(model.error().first().expected == "an index from 0 to 2");
  }
}

TEST_CASE(
    "a pandapower network runs as it is: mv_oberrhein over an hour, served load follows the "
    "profiles",
    "[power][pandapower]") {
  const std::string path = write_scenario("oberrhein.toml", R"([scenario]
duration = "1h"
start = "2026-06-15T18:00:00+02:00"
[city]
dem = ")" + k_root + R"(/tests/data/city/tiny.asc"
[power]
case = ")" + k_root + R"(/tests/data/power/pandapower/mv_oberrhein.json"
interval = "15min"
[output]
every = "15min"
)");
  Finished r = run(path);
  auto served = r.file->read<double>("/power/served_mw")->data;
  auto unserved = r.file->read<double>("/power/unserved_mw")->data;
  REQUIRE(served.size() == 5);
  // The network's net load (147 loads of 61.9 MW less its static generators, as the reader
  // folds them in), scaled by the mean of the two daily profiles at each frame's local time.
  auto net = power::read_pandapower(k_root + "/tests/data/power/pandapower/mv_oberrhein.json");
  REQUIRE(net);
  double net_mw = 0;
  for (double p : net->bus_pd) net_mw += p * net->base_mva;
  const DailyProfile res = DailyProfile::residential_load(), com = DailyProfile::commercial_load();
  for (std::size_t k = 0; k < served.size(); ++k) {
    const double hour = 18.0 + 0.25 * static_cast<double>(k);
    CHECK(unserved[k] == Approx(0.0).margin(1e-9));
    CHECK(served[k] == Approx(net_mw * 0.5 * (res.at(hour) + com.at(hour))).epsilon(1e-9));
  }
  CHECK(*r.file->attr_double("/power", "failed_power_flows") == 0.0);
  CHECK(r.file->read<std::int32_t>("/power/cascade/branch")->data.empty());
}
