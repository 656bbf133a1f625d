// Events in scenario syntax ([[event]] tables: what an operator or a drill file injects during a
// run) through parse_events, for a scenario with all three domains (flood, traffic, power)
// loaded once from tests/fuzz/events_scenario.toml.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "citytwin/sim.hpp"
#include "fuzz_support.hpp"

namespace {

const citytwin::ScenarioSpec& scenario() {
  static const citytwin::ScenarioSpec spec = citytwin::fuzz::value_or_abort(
      citytwin::load_scenario(CITYTWIN_SOURCE_DIR "/tests/fuzz/events_scenario.toml"));
  return spec;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<citytwin::DomainInfo> domains = citytwin::builtin_domain_infos();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto events = citytwin::parse_events(text, "fuzz", scenario(), domains);
  return citytwin::fuzz::note(events);
}
