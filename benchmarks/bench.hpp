// citytwin-bench: every benchmark registers itself here and prints one JSON line per result.
// Each benchmark measures a rate in its domain's unit (cell updates/s, vehicle updates/s,
// power flows/s, frames/s) on a stated problem size.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace citytwin::bench {

/// One result line. `size` holds the problem size and any extra figures (name -> value).
struct Result {
  double rate = 0;                                         ///< work units per second
  std::string unit;                                        ///< e.g. "cell_updates/s"
  double wall_s = 0;                                       ///< wall time of the measured part
  std::vector<std::pair<std::string, double>> size;        ///< e.g. {"cells", 1e6}
  std::vector<std::pair<std::string, std::string>> notes;  ///< e.g. {"precision", "float32"}
};

struct Case {
  std::string name;         ///< "flood.inertial.wet1000"
  std::string description;  ///< one line for --list
  std::function<Result(int threads)> run;
};

/// Registers a benchmark; used through CT_BENCH at namespace scope.
int add(Case c);
const std::vector<Case>& all();

/// Directory of the source tree (assets, tests/data) for benchmarks that load real inputs.
std::string source_dir();

}  // namespace citytwin::bench

#define CT_BENCH_CONCAT2(a, b) a##b
#define CT_BENCH_CONCAT(a, b) CT_BENCH_CONCAT2(a, b)
/// CT_BENCH("name", "description", [](int threads) -> citytwin::bench::Result { ... });
#define CT_BENCH(name, description, fn)                              \
  static const int CT_BENCH_CONCAT(ct_bench_registered_, __LINE__) = \
      ::citytwin::bench::add({name, description, fn})
