// The live twin's messages (docs/live.md): the input is offered as an observation to the
// intake (validation against the datastreams of tests/fuzz/live_scenario.toml) and parsed as a
// drill command for the same scenario (every domain present, so every event type is known).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "citytwin/live.hpp"
#include "fuzz_support.hpp"

namespace {

const citytwin::ScenarioSpec& scenario() {
  static const citytwin::ScenarioSpec spec = citytwin::fuzz::value_or_abort(
      citytwin::load_scenario(CITYTWIN_SOURCE_DIR "/tests/fuzz/live_scenario.toml"));
  return spec;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  citytwin::live::ObservationIntake intake(scenario());
  (void)intake.offer(text, "", 60'000);
  (void)intake.offer(text, "gauge", 60'000);  // and again: a duplicate or as before
  return citytwin::fuzz::note(citytwin::live::parse_command(scenario(), text, 60'000));
}
