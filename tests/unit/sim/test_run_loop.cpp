#include <catch2/catch.hpp>

#include <filesystem>

#include "citytwin/io.hpp"
#include "support/diffusion_domain.hpp"

using namespace citytwin;
using namespace citytwin::testing;

TEST_CASE("events apply at the first step boundary at or after their time, in declaration order",
          "[sim][events]") {
  auto model = diffusion_model(R"(
[scenario]
duration = "10s"
step = "2s"
[diffuse]
noise = 0.0
[[event]]
at = "3s"
type = "diffuse.pulse"
cell = 1
amount = 1.0
[[event]]
at = "4s"
type = "diffuse.pulse"
cell = 2
amount = 2.0
[[event]]
at = "4s"
type = "diffuse.pulse"
cell = 3
amount = 3.0
[[event]]
at = "0s"
type = "diffuse.pulse"
cell = 0
amount = 5.0
)");
  REQUIRE(model.has_value());
  const Model& m = **model;
  SimState s = make_state(m);
  TaskPool pool(2);
  auto& d = static_cast<const DiffusionState&>(*s.domains[0]);
  step(m, s, pool);  // [0, 2): the t = 0 event
  REQUIRE(d.event_log == std::vector<double>{0, 0, 5});
  step(m, s, pool);  // [2, 4): nothing due at t = 2 (the 3 s event waits for t = 4)
  REQUIRE(d.event_log.size() == 3);
  step(m, s, pool);  // [4, 6): 3 s, then both 4 s events in declaration order
  REQUIRE(d.event_log == std::vector<double>{0, 0, 5, 3, 1, 1, 4, 2, 2, 4, 3, 3});
  while (s.t < m.spec.run.duration) step(m, s, pool);
  CHECK(s.t == 10'000);
  CHECK(s.step == 5);
}

TEST_CASE("mass is conserved by the test domain's diffusion (reflecting walls, no noise)",
          "[sim]") {
  auto model = diffusion_model("[scenario]\nduration = \"30s\"\n[diffuse]\nnoise = 0.0\n");
  REQUIRE(model.has_value());
  SimState s = make_state(**model);
  TaskPool pool(2);
  // tiny.asc: the 11 data cells sum to 71 (nodata counts as 0).
  while (s.t < (*model)->spec.run.duration) step(**model, s, pool);
  CHECK(static_cast<const DiffusionState&>(*s.domains[0]).mass == Approx(71.0).epsilon(1e-12));
}

TEST_CASE("the recorder writes /meta, /city, /time frames and the final frame", "[sim][io]") {
  const auto dir = std::filesystem::temp_directory_path() / "citytwin_recorder_test";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "run.h5").string();
  auto model = diffusion_model(
      "[scenario]\nname = \"rec\"\nduration = \"125s\"\nstep = \"5s\"\nseed = 9\n[output]\nevery = "
      "\"60s\"\n[diffuse]\n");
  REQUIRE(model.has_value());
  const Model& m = **model;
  {
    auto rec = RunRecorder::create(m, path);
    REQUIRE(rec.has_value());
    SimState s = make_state(m);
    TaskPool pool(1);
    (*rec)->observe(s);
    while (s.t < m.spec.run.duration) {
      step(m, s, pool);
      (*rec)->observe(s);
    }
    const auto summary = (*rec)->finish(s);
    REQUIRE(summary.size() == 1);
    CHECK(summary[0].domain == "diffuse");
  }
  auto r = RunReader::open(path);
  REQUIRE(r.has_value());
  // Frames at 0, 60, 120 s and the final state at 125 s.
  CHECK((*r)->read<double>("/time")->data == std::vector<double>{0, 60, 120, 125});
  CHECK((*r)->read<double>("/diffuse/mass")->dims == std::vector<std::size_t>{4});
  CHECK(*(*r)->attr_double("/meta", "seed") == 9.0);
  CHECK(*(*r)->attr_string("/meta", "scenario_name") == "rec");
  CHECK(*(*r)->attr_string("/meta", "start") == "2026-01-01T00:00:00Z");
  CHECK((*r)->read_strings("/meta/scenario")->at(0).find("duration = '125s'") != std::string::npos);
  CHECK((*r)->read<float>("/city/terrain/z")->dims == std::vector<std::size_t>{3, 4});
  CHECK(*(*r)->attr_double("/diffuse", "kappa") == 0.2);
  std::filesystem::remove_all(dir);
}
