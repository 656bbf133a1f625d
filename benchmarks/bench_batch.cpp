// Batches: eight Monte Carlo members of the coupled Monaco scenario (15 simulated minutes each,
// seeds only, so they share one compiled model), run as `citytwin batch` runs them, run files
// included. Rate: members per hour. Member-level scaling is near perfect when members/hour on
// 2 threads is about twice the 1-thread figure (docs/batch.md "Throughput").
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>

#include "bench.hpp"
#include "citytwin/batch.hpp"

namespace {

// Peak resident memory of this process so far (VmHWM), bytes.
double peak_rss() {
  std::ifstream f("/proc/self/status");
  std::string key;
  while (f >> key) {
    if (key == "VmHWM:") {
      double kb = 0;
      f >> kb;
      return kb * 1024;
    }
    f.ignore(1 << 12, '\n');
  }
  return 0;
}

class Counter : public citytwin::MemberQueue {
 public:
  explicit Counter(std::size_t n) : m_n(n) {}
  std::optional<std::size_t> next() override {
    const std::size_t k = m_next.fetch_add(1);
    return k < m_n ? std::optional<std::size_t>(k) : std::nullopt;
  }

 private:
  std::size_t m_n;
  std::atomic<std::size_t> m_next{0};
};

citytwin::bench::Result batch_monaco(int threads) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "citytwin-bench-batch";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string file = (dir / "batch.toml").string();
  std::ofstream(file) << "[batch]\nscenario = \"" << citytwin::bench::source_dir()
                      << "/scenarios/monaco.toml\"\nuntil = \"15min\"\nbase_member = false\n"
                      << "out = \"" << (dir / "out").string() << "\"\n"
                      << "[batch.monte_carlo]\nmembers = 8\n";
  auto spec = citytwin::load_batch(file);
  if (!spec) throw std::runtime_error(spec.error().to_string());
  const auto members = citytwin::expand_batch(*spec);
  Counter queue(members.size());
  citytwin::BatchRunOptions o;
  o.threads = threads;
  std::size_t done = 0;
  double state_bytes = 0, shared_bytes = 0;
  o.finished = [&](std::size_t, const citytwin::MemberResult& r) {
    if (r.status != "done") throw std::runtime_error("member failed: " + r.error);
    ++done;
    state_bytes = r.state_bytes;
    shared_bytes = r.shared_bytes;
  };
  const double rss0 = peak_rss();
  const auto t0 = std::chrono::steady_clock::now();
  citytwin::run_batch(*spec, members, queue, o);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double rss = peak_rss();
  fs::remove_all(dir);
  return {3600.0 * static_cast<double>(done) / wall,
          "members/h",
          wall,
          {{"members", static_cast<double>(done)},
           {"simulated_s_per_member", 900},
           {"state_bytes_per_member", state_bytes},
           {"shared_model_city_bytes", shared_bytes},
           {"peak_rss_bytes", rss},
           {"peak_rss_growth_bytes", rss - rss0}},
          {{"scenario", "monaco.toml (coupled), seeds only"}}};
}

CT_BENCH("batch.monaco.8",
         "8 Monaco members of 15 min (Monte Carlo seeds, one shared model): members per hour",
         batch_monaco);

}  // namespace
