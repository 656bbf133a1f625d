// OpenStreetMap PBF (.osm.pbf) through the city import (see osm_harness.hpp).
#include "osm_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return citytwin::fuzz::import_osm(data, size, ".osm.pbf");
}
