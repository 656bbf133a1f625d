// A flood time series CSV (hyetograph, hydrograph, tide/boundary level) through read_series_csv
// with each of the three kinds' settings, as compile_flood reads them.
#include <cstdint>
#include <string>

#include "flood/domain.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace citytwin::flood;
  const std::string path = citytwin::fuzz::input_file(data, size, ".csv");
  for (auto [step, range] : {std::pair{true, k_rain_range}, std::pair{false, k_discharge_range},
                             std::pair{false, k_level_range}}) {
    auto s = read_series_csv(path, step, range);
    citytwin::fuzz::note(s);
    // What the flood domain asks of a series it accepted.
    if (s && !s->t_s.empty()) {
      (void)s->at(s->t_s.front());
      (void)s->at(0.5 * (s->t_s.front() + s->t_s.back()));
      (void)s->integral(s->t_s.front() - 1, s->t_s.back() + 1);
    }
  }
  return 0;
}
