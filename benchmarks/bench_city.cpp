// City import: the whole Monaco import (OSM, DEM, terrain refinement) as `make demo` does it.
#include <chrono>

#include "bench.hpp"
#include "citytwin/sim.hpp"

namespace {

citytwin::bench::Result import_monaco(int threads) {
  (void)threads;  // the import is serial
  using Clock = std::chrono::steady_clock;
  auto spec = citytwin::load_scenario(citytwin::bench::source_dir() + "/scenarios/monaco.toml");
  if (!spec) throw std::runtime_error(spec.error().to_string());
  const int repeats = 5;
  double best = 1e300;
  std::int64_t objects = 0, buildings = 0, links = 0;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = Clock::now();
    auto city = citytwin::import_city(spec->city);
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (!city) throw std::runtime_error(city.error().to_string());
    best = std::min(best, s);
    const auto& st = (*city)->stats;
    objects = st.osm_nodes + st.osm_ways + st.osm_relations;
    buildings = (*city)->buildings.size();
    links = (*city)->roads.link_count();
  }
  return {static_cast<double>(objects) / best,
          "osm_objects/s",
          best,
          {{"osm_objects", static_cast<double>(objects)},
           {"buildings", static_cast<double>(buildings)},
           {"road_links", static_cast<double>(links)},
           {"repeats", repeats}},
          {{"measure", "best of repeats"}}};
}

CT_BENCH("city.import.monaco",
         "import Monaco (OSM pbf + SRTM + 11k survey points) into a CityModel", import_monaco);

}  // namespace
