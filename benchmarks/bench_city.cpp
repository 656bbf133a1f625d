// City import: the whole Monaco import (OSM, DEM, terrain refinement) as `make demo` does it.
#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "bench.hpp"
#include "citytwin/sim.hpp"

namespace {

citytwin::bench::Result import_monaco(int threads) {
  (void)threads;  // the import is serial
  using Clock = std::chrono::steady_clock;
  auto spec = citytwin::load_scenario(citytwin::bench::source_dir() + "/scenarios/monaco.toml");
  if (!spec) throw std::runtime_error(spec.error().to_string());
  const int repeats = 5;
  double best = 1e300;
  std::int64_t objects = 0, buildings = 0, links = 0;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = Clock::now();
    auto city = citytwin::import_city(spec->city);
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (!city) throw std::runtime_error(city.error().to_string());
    best = std::min(best, s);
    const auto& st = (*city)->stats;
    objects = st.osm_nodes + st.osm_ways + st.osm_relations;
    buildings = (*city)->buildings.size();
    links = (*city)->roads.link_count();
  }
  return {static_cast<double>(objects) / best,
          "osm_objects/s",
          best,
          {{"osm_objects", static_cast<double>(objects)},
           {"buildings", static_cast<double>(buildings)},
           {"road_links", static_cast<double>(links)},
           {"repeats", repeats}},
          {{"measure", "best of repeats"}}};
}

CT_BENCH("city.import.monaco",
         "import Monaco (OSM pbf + SRTM + 11k survey points) into a CityModel", import_monaco);

}  // namespace

// The whole Monaco hour: scenarios/monaco.toml (coupled) and scenarios/monaco-uncoupled.toml
// (the same domains side by side), each as `citytwin run` steps it, without writing outputs.
// Rate: simulated seconds per wall second. The coupled run also reports the share of its wall
// time spent on the exchange (consume, publish, rules): what the coupling itself costs. The two
// runs do different work (closed roads keep trips off the network), so compare that share, not
// the two rates, for the cost of coupling.
namespace monaco_run {

citytwin::bench::Result run_hour(const char* file, int threads) {
  using Clock = std::chrono::steady_clock;
  auto spec = citytwin::load_scenario(citytwin::bench::source_dir() + "/scenarios/" + file);
  if (!spec) throw std::runtime_error(spec.error().to_string());
  auto model = citytwin::compile_model(std::move(*spec));
  if (!model) throw std::runtime_error(model.error().to_string());
  citytwin::Run run(*model, threads);
  const auto t0 = Clock::now();
  run.run_until((*model)->spec.run.duration);
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  const citytwin::StepTimes& t = run.times();
  const double sim_s = citytwin::to_seconds(run.state().t);
  return {sim_s / wall,
          "simulated_s/s",
          wall,
          {{"simulated_s", sim_s},
           {"steps", static_cast<double>(run.state().step)},
           {"buildings", static_cast<double>((*model)->city->buildings.size())},
           {"road_links", static_cast<double>((*model)->city->roads.link_count())},
           {"advance_s", t.advance_s},
           {"exchange_s", t.exchange_s()},
           {"exchange_share", t.exchange_s() / std::max(1e-12, t.total_s())},
           {"coupling_log_rows", static_cast<double>(run.state().coupling.log.size())}},
          {{"scenario", file}}};
}

CT_BENCH("city.monaco.coupled",
         "the coupled Monaco hour (scenarios/monaco.toml): simulated s per wall s, exchange share",
         [](int threads) { return run_hour("monaco.toml", threads); });
CT_BENCH("city.monaco.uncoupled",
         "the same hour uncoupled (scenarios/monaco-uncoupled.toml), for side-by-side comparison",
         [](int threads) { return run_hour("monaco-uncoupled.toml", threads); });

}  // namespace monaco_run
