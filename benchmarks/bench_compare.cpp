// What-if comparison: the full-hour Monaco storm and its drainage variant run one after the other
// (a two-member batch, run files included), then `citytwin compare`'s work on the two files.
// Rate: seconds to compare; the note compares that with the seconds one run took (issue: under
// 10 %; docs/compare.md "Speed").
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>

#include "bench.hpp"
#include "citytwin/batch.hpp"
#include "citytwin/compare.hpp"

namespace {

class Serial : public citytwin::MemberQueue {
 public:
  explicit Serial(std::size_t n) : m_n(n) {}
  std::optional<std::size_t> next() override {
    return m_next < m_n ? std::optional<std::size_t>(m_next++) : std::nullopt;
  }

 private:
  std::size_t m_n, m_next = 0;
};

citytwin::bench::Result compare_monaco(int threads) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "citytwin-bench-compare";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string src = citytwin::bench::source_dir();
  const std::string file = (dir / "batch.toml").string();
  std::ofstream(file) << "[batch]\nscenario = \"" << src << "/scenarios/monaco.toml\"\n"
                      << "out = \"" << (dir / "out").string() << "\"\n"
                      << "[[batch.variant]]\nname = \"drainage\"\nscenario = \"" << src
                      << "/scenarios/whatif/monaco-drainage.toml\"\n";
  auto spec = citytwin::load_batch(file);
  if (!spec) throw std::runtime_error(spec.error().to_string());
  const auto members = citytwin::expand_batch(*spec);
  Serial queue(members.size());
  citytwin::BatchRunOptions o;
  o.threads = threads;
  std::size_t done = 0;
  o.finished = [&](std::size_t, const citytwin::MemberResult& r) {
    if (r.status != "done") throw std::runtime_error("member failed: " + r.error);
    ++done;
  };
  auto t0 = std::chrono::steady_clock::now();
  citytwin::run_batch(*spec, members, queue, o);
  const double run_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() /
      static_cast<double>(std::max<std::size_t>(done, 1));
  t0 = std::chrono::steady_clock::now();
  citytwin::CompareOptions c{(dir / "out/members/base/run.h5").string(),
                             (dir / "out/members/drainage/run.h5").string(),
                             (dir / "compare").string()};
  auto cmp = citytwin::compare_runs(c);
  if (!cmp) throw std::runtime_error(cmp.error().to_string());
  auto report = citytwin::write_report(*cmp, c);
  if (!report) throw std::runtime_error(report.error().to_string());
  const double compare_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fs::remove_all(dir);
  return {compare_s,
          "s",
          compare_s,
          {{"run_s", run_s}, {"compare_over_run", compare_s / run_s}, {"simulated_s", 3600}},
          {{"scenario", "monaco.toml against whatif/monaco-drainage.toml, 1 h each"}}};
}

CT_BENCH("compare.monaco",
         "compare two full-hour coupled Monaco runs (KPIs, maps, report): seconds, and the share "
         "of one run's time",
         compare_monaco);

}  // namespace
