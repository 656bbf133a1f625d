// citytwin batch BATCH.toml: a batch's members on this machine's task pool, or across the ranks
// of `mpirun` (docs/batch.md).
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "citytwin/batch.hpp"
#include "citytwin/resources.hpp"
#include "cli/batch_mpi.hpp"
#include "cli/commands.hpp"

namespace citytwin::cli {

namespace {

struct BatchArgs {
  std::string path;
  std::string out;
  std::string until;
  int threads = -1;
  bool resume = false;
  bool quiet = false;
};

// The members still to run, handed out in order.
class LocalQueue : public MemberQueue {
 public:
  explicit LocalQueue(std::vector<std::size_t> pending) : m_pending(std::move(pending)) {}
  std::optional<std::size_t> next() override {
    const std::size_t k = m_next.fetch_add(1);
    if (k >= m_pending.size()) return std::nullopt;
    return m_pending[k];
  }

 private:
  std::vector<std::size_t> m_pending;
  std::atomic<std::size_t> m_next{0};
};

// A sweep or Monte Carlo key that no scenario takes would fail every member: checked once, on
// the first member of each kind, before anything runs (in a file of this process's own: ranks
// of an MPI batch check at once).
Result<void> check_members(const BatchSpec& spec, const std::vector<BatchMember>& members,
                           int rank) {
  namespace fs = std::filesystem;
  for (const char* kind : {"sweep", "monte-carlo"}) {
    const auto it = std::find_if(members.begin(), members.end(),
                                 [&](const BatchMember& m) { return m.kind == kind; });
    if (it == members.end()) continue;
    const std::string file =
        (fs::path(spec.out) / fmt::format(".check-{}-{}.toml", kind, rank)).string();
    std::ofstream(file) << member_scenario_text(*it);
    auto s = load_scenario(file);
    std::error_code ec;
    fs::remove(file, ec);
    if (!s)
      return fail(Error::msg(fmt::format("the {} parameters do not make a valid scenario (member "
                                         "{}): {}",
                                         kind, it->id, s.error().to_string()),
                             spec.path));
  }
  return {};
}

int batch(const BatchArgs& args) {
  namespace fs = std::filesystem;
  const auto mpi = MpiBatch::start();  // null unless mpirun started this process
  const int rank = mpi ? mpi->rank() : 0;
  auto spec = load_batch(args.path);
  if (!spec) {
    if (rank == 0) std::cerr << spec.error().to_string() << "\n";
    return k_exit_bad_input;
  }
  if (!args.out.empty()) spec->out = args.out;
  if (args.threads >= 0) spec->threads = args.threads;
  if (mpi && spec->threads == 0)  // the machine's cores shared by its ranks
    spec->threads = std::max(1, TaskPool(0).threads() / mpi->local_size());
  if (!args.until.empty()) {
    auto t = parse_duration(args.until);
    if (!t || *t <= 0) {
      if (rank == 0)
        std::cerr << fmt::format("--until: \"{}\" is not a positive duration (e.g. 10min)\n",
                                 args.until);
      return k_exit_bad_input;
    }
    spec->until = fmt::format("{}ms", *t);
  }
  const std::vector<BatchMember> members = expand_batch(*spec);
  std::error_code ec;
  fs::create_directories(spec->out, ec);
  if (auto ok = check_members(*spec, members, rank); !ok) {
    if (rank == 0) std::cerr << ok.error().to_string() << "\n";
    return k_exit_bad_input;
  }
  const std::string csv = (fs::path(spec->out) / "batch.csv").string();
  BatchTable table;  // the rows kept from before (--resume), then this run's
  if (args.resume) {
    auto previous = read_batch_csv(csv);
    if (!previous) {
      if (rank == 0) std::cerr << previous.error().to_string() << "\n";
      return k_exit_bad_input;
    }
    for (const auto& [id, row] : previous->rows)
      if (row.contains("status") && row.at("status") == "done") {
        BatchTable one;
        one.columns = previous->columns;
        one.rows[id] = row;
        merge_rows(table, one);
      }
  }
  std::vector<std::size_t> pending;
  for (std::size_t k = 0; k < members.size(); ++k)
    if (!table.rows.contains(members[k].id)) pending.push_back(k);
  if (mpi) mpi->barrier();  // every rank read batch.csv before rank 0 rewrites it

  const std::string who = mpi ? fmt::format("[rank {}/{}] ", rank, mpi->size()) : "";
  TaskPool probe(spec->threads);
  if (!args.quiet)
    spdlog::info(
        "{}batch {}: {} member(s), {} to run ({} already done), {} thread(s){}; outputs "
        "in {}",
        who, spec->name, members.size(), pending.size(), members.size() - pending.size(),
        probe.threads(), mpi ? fmt::format(" per rank, {} ranks", mpi->size()) : "", spec->out);
  const auto t0 = std::chrono::steady_clock::now();
  std::int64_t done = 0, failed = 0, running = 0;
  double state_bytes = 0, shared_bytes = 0;
  bool csv_failed = false;
  BatchTable mine;  // this process's rows
  BatchRunOptions o;
  o.threads = spec->threads;
  o.started = [&](std::size_t) { ++running; };
  o.finished = [&](std::size_t k, const MemberResult& r) {
    --running;
    ++(r.status == "done" ? done : failed);
    state_bytes = std::max(state_bytes, r.state_bytes);
    shared_bytes = std::max(shared_bytes, r.shared_bytes);
    merge_rows(mine, batch_row(*spec, members[k], r));
    if (!mpi) {  // one process: the table on disk grows member by member
      BatchTable all = table;
      merge_rows(all, mine);
      if (auto w = write_batch_csv(csv, all, members); !w && !csv_failed) {
        std::cerr << w.error().to_string() << "\n";
        csv_failed = true;
      }
    }
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::int64_t finished = done + failed;
    const double eta = wall / static_cast<double>(finished) *
                       static_cast<double>(static_cast<std::int64_t>(pending.size()) - finished);
    if (!args.quiet)
      spdlog::info(
          "{}batch: {} {} in {:.1f} s{} | {} done, {} running, {} failed{}", who, members[k].id,
          r.status, r.wall_s,
          r.status == "done" ? "" : ": " + r.error.substr(0, r.error.find('\n')), done, running,
          failed, mpi ? " on this rank" : fmt::format(" of {}; ETA {:.0f} s", pending.size(), eta));
  };
  std::unique_ptr<MemberQueue> queue =
      mpi ? mpi->queue(pending) : std::make_unique<LocalQueue>(pending);
  run_batch(*spec, members, *queue, o);
  queue.reset();  // collective under MPI: every rank is done taking members
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (mpi) {
    // Rank 0 gathers every rank's rows into batch.csv.
    const std::vector<std::string> parts = mpi->gather(batch_csv(mine, members));
    const bool all_ok = mpi->all(failed == 0);
    if (rank != 0) return all_ok ? k_exit_ok : k_exit_internal;
    done = failed = 0;
    for (std::size_t r = 0; r < parts.size(); ++r) {
      auto t = parse_batch_csv(parts[r], fmt::format("rank {}'s rows", r));
      if (!t) {
        std::cerr << t.error().to_string() << "\n";
        return k_exit_internal;
      }
      for (const auto& [id, row] : t->rows) ++(row.at("status") == "done" ? done : failed);
      merge_rows(mine, *t);
    }
    merge_rows(table, mine);
    if (auto w = write_batch_csv(csv, table, members); !w) {
      std::cerr << w.error().to_string() << "\n";
      csv_failed = true;
    }
  }
  std::cout << fmt::format(
      "batch {}: {} member(s) run{}, {} done, {} failed, in {:.1f} s ({:.0f} "
      "members/hour)\n",
      spec->name, pending.size(), mpi ? fmt::format(" on {} ranks", mpi->size()) : "", done, failed,
      wall, wall > 0 ? 3600.0 * static_cast<double>(done + failed) / wall : 0.0);
  if (done > 0 && !mpi)
    std::cout << fmt::format("memory: city and model {} shared; {} per member state (estimated)\n",
                             format_bytes(shared_bytes), format_bytes(state_bytes));
  std::cout << fmt::format("table: {}\n", csv);
  if (csv_failed) return k_exit_internal;
  return failed > 0 ? k_exit_internal : k_exit_ok;
}

}  // namespace

Runner add_batch_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("batch", "Run a batch of members: variants, sweeps, Monte Carlo");
  auto args = std::make_shared<BatchArgs>();
  cmd->add_option("batch", args->path, "Batch file (.toml with a [batch] table)")->required();
  cmd->add_option("--out", args->out, "Output folder (overrides batch.out)");
  cmd->add_option("--until", args->until,
                  "Every member stops at this simulated time (overrides "
                  "batch.until)");
  cmd->add_option("--threads", args->threads,
                  "Worker threads for all members together (0: all cores)")
      ->check(CLI::Range(0, 1024));
  cmd->add_flag("--resume", args->resume, "Skip the members batch.csv lists as done");
  cmd->add_flag("--quiet", args->quiet, "No progress output");
  return [args]() { return batch(*args); };
}

}  // namespace citytwin::cli
