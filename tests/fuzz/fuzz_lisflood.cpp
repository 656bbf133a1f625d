// LISFLOOD-FP's case files (docs/lisflood.md) through their readers: the input read as a .par,
// a .bci (naming itself as the .bdy), a .stage and a .bdy whose series the .bci names (and two
// common names), as the flood section and compile_flood read them.
#include <cstdint>
#include <string>

#include "flood/domain.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace citytwin::flood;
  const std::string path = citytwin::fuzz::input_file(data, size, ".txt");
  citytwin::fuzz::note(read_par(path));
  citytwin::fuzz::note(read_stage_points(path));
  auto bci = read_bci(path, path);
  citytwin::fuzz::note(bci);
  std::vector<std::string> names = {"inflow", "test1"};
  if (bci)
    for (const BoundarySpec& b : *bci)
      if (!b.series_name.empty()) names.push_back(b.series_name);
  for (const std::string& name : names)
    for (const SeriesRange& r : {k_level_range, k_unit_discharge_range}) {
      auto s = read_bdy_series(path, name, r, "fuzz");
      citytwin::fuzz::note(s);
      if (s && !s->t_s.empty()) (void)s->integral(s->t_s.front() - 1, s->t_s.back() + 1);
    }
  return 0;
}
