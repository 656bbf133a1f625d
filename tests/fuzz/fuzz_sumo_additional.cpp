// A SUMO additional file as the traffic domain reads one (traffic.additional): classified by its
// elements, then read as signal programs (replacing the network's), as vehicle types and routes,
// and for its detectors, on the Bologna Acosta network of tests/data.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "citytwin/traffic.hpp"
#include "fuzz_support.hpp"
#include "traffic/xml_reader.hpp"

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

// The same classification as load_sumo (traffic_domain_compile.cpp).
struct Kinds : xml::Handler {
  bool tls = false, routes = false, detectors = false;
  Result<void> start(std::string_view name, const xml::Attrs&, int depth) override {
    if (depth != 2) return {};
    if (name == "tlLogic") tls = true;
    if (name == "inductionLoop" || name == "e1Detector") detectors = true;
    if (name == "vType" || name == "vTypeDistribution" || name == "route" || name == "vehicle" ||
        name == "flow")
      routes = true;
    return {};
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = citytwin::fuzz::input_file(data, size, ".add.xml");
  Kinds kinds;
  if (auto r = xml::parse_file(path, kinds); !r) return fuzz::note(r);
  Network net = acosta();
  Demand demand;
  if (kinds.tls && !kinds.routes)
    if (auto r = read_sumo_tls(path, net); !r) return fuzz::note(r);
  if (kinds.routes && !kinds.tls) {
    auto r = read_sumo_routes(path, net, demand);
    if (!r) return fuzz::note(r);
    finish_demand(demand);
  }
  if (kinds.detectors) return fuzz::note(read_sumo_detectors(path, net));
  return 0;
}
