// A SUMO .net.xml through what the traffic domain reads of it: read_sumo_net (edges, lanes,
// connections, junction responses, signal programs), then the lane shapes. The readers take a
// path, so the input is written to a file of this process first.
#include <cstdint>
#include <string>

#include "citytwin/traffic.hpp"
#include "fuzz_support.hpp"
#include "traffic/traffic_domain.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace citytwin::traffic;
  const std::string path = citytwin::fuzz::input_file(data, size, ".net.xml");
  auto net = read_sumo_net(path);
  if (!net) return citytwin::fuzz::note(net);
  auto shapes = read_sumo_lane_shapes(path, *net);
  return citytwin::fuzz::note(shapes);
}
