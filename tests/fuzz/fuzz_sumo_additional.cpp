// A SUMO additional file as the traffic domain reads one (traffic.additional,
// read_sumo_additional): signal programs (replacing the network's) or vehicle types and routes,
// then its detectors, on the Bologna Acosta network of tests/data.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "citytwin/traffic.hpp"
#include "fuzz_support.hpp"

namespace {

using namespace citytwin;
using namespace citytwin::traffic;

const Network& acosta() {
  static const Network net = [] {
    auto n = read_sumo_net(CITYTWIN_SOURCE_DIR
                           "/tests/data/traffic/bologna-acosta/acosta_buslanes.net.xml.gz");
    if (!n) {
      std::fprintf(stderr, "%s\n", n.error().to_string().c_str());
      std::abort();
    }
    return std::move(*n);
  }();
  return net;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = citytwin::fuzz::input_file(data, size, ".add.xml");
  Network net = acosta();
  Demand demand;
  auto detectors = read_sumo_additional(path, net, demand);
  if (!detectors) return fuzz::note(detectors);
  finish_demand(demand);
  if (*detectors) return fuzz::note(read_sumo_detectors(path, net));
  return 0;
}
