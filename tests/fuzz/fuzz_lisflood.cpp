// LISFLOOD-FP's case files (docs/lisflood.md) through their readers: the input read as a .par,
// a .stage, a .bdy, and a .bci naming itself as its .bdy (so the series its lines name are
// looked up and range-checked in the same input), as the flood section reads them.
#include <cstdint>
#include <string>

#include "flood/domain.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace citytwin::flood;
  const std::string path = citytwin::fuzz::input_file(data, size, ".txt");
  citytwin::fuzz::note(read_par(path));
  citytwin::fuzz::note(read_stage_points(path));
  auto bdy = read_bdy(path);
  citytwin::fuzz::note(bdy);
  if (bdy)
    for (const auto& [name, s] : *bdy) (void)s.series.integral(-1, s.series.t_s.back() + 1);
  auto bci = read_bci(path, path);
  citytwin::fuzz::note(bci);
  if (bci)
    for (const BoundarySpec& b : *bci)
      if (!b.bdy.empty()) (void)b.bdy.at(b.bdy.t_s.front());
  return 0;
}
