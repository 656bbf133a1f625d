// Resource estimates against what a run really takes: the heap one state allocates, the size
// of the run file written.
#include <catch2/catch.hpp>

#include <malloc.h>

#include <filesystem>

#include "citytwin/io.hpp"
#include "citytwin/sim.hpp"

using namespace citytwin;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool k_heap_measurable = false;  // ASan's allocator does not report to mallinfo2
#else
constexpr bool k_heap_measurable = true;
#endif

double heap_in_use() {
  return static_cast<double>(mallinfo2().uordblks);
}

// Each domain's state on its own (the flood's grid would hide the others in a sum) against
// the heap its make_state takes.
void check_states(const Model& model) {
  for (const auto& d : model.domains) {
    const double before = heap_in_use();
    auto state = d->make_state(1);
    const double taken = heap_in_use() - before;
    const double estimated = d->footprint(model.spec.run).state_bytes;
    INFO(d->name() << " state: estimated " << estimated << " B, allocated " << taken << " B");
    // Per-element sizes are rounded: within a factor 1.5 either way.
    CHECK(estimated > taken / 1.5);
    CHECK(estimated < taken * 1.5);
  }
}

}  // namespace

TEST_CASE("Bologna acosta: the traffic state estimate matches the heap it takes",
          "[resources][acosta]") {
  auto spec = load_scenario(std::string(CITYTWIN_SOURCE_DIR) + "/scenarios/bologna-acosta.toml");
  REQUIRE(spec);
  auto model = compile_model(std::move(*spec));
  REQUIRE(model);
  if (k_heap_measurable) check_states(**model);
}

TEST_CASE(
    "Monaco coupled: the state estimate matches the heap one state takes; the run file "
    "stays under its estimate",
    "[resources][monaco]") {
  auto spec = load_scenario(std::string(CITYTWIN_SOURCE_DIR) + "/scenarios/monaco.toml");
  REQUIRE(spec);
  const auto dir = std::filesystem::temp_directory_path() / "citytwin_resources";
  std::filesystem::create_directories(dir);
  spec->output.dir = dir.string();
  spec->run.duration = 120'000;  // two minutes: three frames
  auto model = compile_model(std::move(*spec));
  REQUIRE(model);
  const RunEstimate e = estimate_run(**model);
  CHECK(e.frames == 4);  // 0, 1 min, 2 min, and the final frame's slot

  if (k_heap_measurable) check_states(**model);
  {
    Run run(*model, 2);
    auto rec = RunRecorder::create(**model, (dir / "run.h5").string());
    REQUIRE(rec);
    (*rec)->observe(run.state());
    run.observe([&](const SimState& s) { (*rec)->observe(s); });
    run.run_until((*model)->spec.run.duration);
    (*rec)->finish(run.state());
  }
  const auto size = static_cast<double>(std::filesystem::file_size(dir / "run.h5"));
  INFO("run file: estimated up to " << e.file_bytes << " B, written " << size << " B");
  CHECK(size < e.file_bytes);  // an upper bound: the estimate is before compression
  CHECK(size > e.file_bytes / 50);
  std::filesystem::remove_all(dir);
}
