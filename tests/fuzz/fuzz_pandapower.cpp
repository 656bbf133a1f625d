// A pandapower JSON network through read_network (what `power.case = "x.json"` uses); the reader
// takes a path, so the input is written to a file of this process first.
#include <cstdint>
#include <string>
#include <vector>

#include "citytwin/power.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = citytwin::fuzz::input_file(data, size, ".json");
  std::vector<std::string> notes;
  auto net = citytwin::power::read_network(path, &notes);
  return citytwin::fuzz::note(net);
}
