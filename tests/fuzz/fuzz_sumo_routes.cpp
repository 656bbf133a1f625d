// A SUMO .rou.xml (vTypes, distributions, routes, vehicles, flows) through read_sumo_routes on
// the Bologna Acosta network and vehicle types of tests/data, then sorted as the traffic domain
// does.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "citytwin/traffic.hpp"
#include "fuzz_support.hpp"

namespace {

using namespace citytwin::traffic;

[[noreturn]] void die(const citytwin::Error& e) {
  std::fprintf(stderr, "%s\n", e.to_string().c_str());
  std::abort();
}

// The Bologna Acosta network with its bus stops, and the demand its vehicle types file gives
// (the scenario reads additional files before route files).
struct Acosta {
  Network net;
  Demand types;
};

const Acosta& acosta() {
  static const Acosta a = [] {
    const std::string dir = CITYTWIN_SOURCE_DIR "/tests/data/traffic/bologna-acosta/";
    Acosta out;
    auto n = read_sumo_net(dir + "acosta_buslanes.net.xml.gz");
    if (!n) die(n.error());
    out.net = std::move(*n);
    if (auto r = read_sumo_stop_places(dir + "acosta_bus_stops.add.xml", out.net); !r)
      die(r.error());
    if (auto r = read_sumo_routes(dir + "acosta_vtypes.add.xml", out.net, out.types); !r)
      die(r.error());
    return out;
  }();
  return a;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Acosta& a = acosta();
  const std::string path = citytwin::fuzz::input_file(data, size, ".rou.xml");
  Demand demand = a.types;
  auto r = read_sumo_routes(path, a.net, demand);
  if (r) finish_demand(demand);
  return citytwin::fuzz::note(r);
}
