// The OSM harnesses' common body: an OpenStreetMap file through the city import's reader and
// builder (read_osm, the model CRS from the city's centre, build_city), as import_city runs them.
#pragma once

#include <cstdint>
#include <string>

#include "city/osm_import.hpp"
#include "citytwin/city.hpp"
#include "fuzz_support.hpp"

namespace citytwin::fuzz {

inline int import_osm(const std::uint8_t* data, std::size_t size, const char* suffix) {
  const std::string path = input_file(data, size, suffix);
  ImportStats stats;
  auto osm = read_osm(path, {}, stats);
  if (!osm) return note(osm);
  const auto center = osm_center(*osm);
  if (!center) return 0;
  auto proj = Projection::create(utm_crs_for((*center)[0], (*center)[1]));
  if (!proj) return note(proj);
  CityModel city;
  return note(build_city(*osm, *proj, 10.0, 3.0, city));
}

}  // namespace citytwin::fuzz
