// Runs a scenario through the engine's run loop (as `citytwin run` does) for the traffic
// domain tests.
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "citytwin/io.hpp"
#include "citytwin/sim.hpp"

namespace traffic_test {

using namespace citytwin;

inline const std::string k_root = CITYTWIN_SOURCE_DIR;

/// Writes `body` to a scenario file in a fresh temporary folder and returns its path.
inline std::string write_scenario(const std::string& name, const std::string& body) {
  const auto dir = std::filesystem::temp_directory_path() / "citytwin_traffic_domain" / name;
  std::filesystem::create_directories(dir);
  const auto path = dir / (name + ".toml");
  std::ofstream(path) << body;
  return path.string();
}

struct Finished {
  std::shared_ptr<const Model> model;
  std::unique_ptr<RunReader> file;
  std::string dir;
  std::uint64_t hash = 0;
  std::vector<SummaryRow> summary;
};

/// Loads, compiles and runs a scenario; the run file goes next to it.
inline Finished run(const std::string& scenario_path, int threads = 2) {
  auto spec = load_scenario(scenario_path);
  if (!spec) FAIL(spec.error().to_string());
  const std::string dir = std::filesystem::path(scenario_path).parent_path().string() + "/out" +
                          std::to_string(threads);
  std::filesystem::create_directories(dir);
  spec->output.dir = dir;
  auto model = compile_model(std::move(*spec));
  if (!model) FAIL(model.error().to_string());
  const std::string h5 = dir + "/run.h5";
  Finished r;
  {
    auto rec = RunRecorder::create(**model, h5);
    REQUIRE(rec);
    citytwin::Run sim(*model, threads);
    (*rec)->observe(sim.state());
    sim.observe([&](const SimState& s) { (*rec)->observe(s); });
    sim.run_until((*model)->spec.run.duration);
    r.summary = (*rec)->finish(sim.state());
    r.hash = hash_state(**model, sim.state());
  }
  r.model = *model;
  r.dir = dir;
  r.file = std::move(*RunReader::open(h5));
  return r;
}

}  // namespace traffic_test
