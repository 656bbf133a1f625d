// MATPOWER case text (.m) through the reader `power.case = "x.m"` uses (parse_matpower is what
// read_matpower calls after reading the file).
#include <cstdint>
#include <string>
#include <vector>

#include "citytwin/power.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> ignored;
  auto net = citytwin::power::parse_matpower(text, "fuzz.m", &ignored);
  return citytwin::fuzz::note(net);
}
