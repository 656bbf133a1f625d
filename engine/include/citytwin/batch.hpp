// Batches (docs/batch.md): one base scenario and what varies (explicit variants, parameter
// sweeps, Monte Carlo members), run as members that share the imported city and, where their
// scenarios are equal, one compiled Model. Members run concurrently on the task pool, each with
// its own state and run file; a member that fails is recorded and the batch goes on.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "citytwin/error.hpp"
#include "citytwin/sim.hpp"

namespace citytwin {

/// A scenario key a sweep or Monte Carlo varies, and how.
struct BatchParameter {
  std::string key;             ///< dotted scenario key, e.g. "flood.rain.intensity"
  std::string unit;            ///< values are written "<value><unit>" ("mm/h"); "" plain
  std::vector<double> values;  ///< sweep: the values (a list, or a range expanded)
  double lo = 0, hi = 0;       ///< Latin hypercube: the range
  std::string distribution;    ///< Monte Carlo: uniform, normal, lognormal, triangular
  double a = 0, b = 0, c = 0;  ///< its parameters (min/max, mean/sd, mu/sigma, min/mode/max)
  std::string where;           ///< "file:line" for messages
};

/// A batch file, typed and checked (errors name file:line and key).
struct BatchSpec {
  std::string path;      ///< the batch file
  std::string name;      ///< batch.name (default: file stem)
  std::string scenario;  ///< batch.scenario: the base (absolute path)
  std::string until;     ///< batch.until: every member's end ("" = the scenario's)
  std::string out;       ///< batch.out (default out/batch/<name>)
  int threads = 0;       ///< batch.threads: all members together (0 = all cores)
  std::uint64_t seed = 1;
  bool base_member = true;  ///< the base itself is member "base"
  struct Variant {
    std::string name, scenario, where;
  };
  std::vector<Variant> variants;
  std::string design = "factorial";  ///< sweep: factorial or latin-hypercube
  std::int64_t samples = 0;          ///< latin-hypercube samples
  std::vector<BatchParameter> sweep;
  std::int64_t mc_members = 0;
  std::vector<BatchParameter> mc;
};

Result<BatchSpec> load_batch(const std::string& path);

/// One member: the scenario it runs (the base or a variant file), the keys it sets on top,
/// and its seed (0: the scenario's own).
struct BatchMember {
  std::string id;    ///< "base", a variant's name, "sweep-001", "mc-001"
  std::string kind;  ///< base, variant, sweep, monte-carlo
  std::string scenario;
  struct Setting {
    std::string key;
    double value = 0;
    std::string unit;  ///< "" plain number, else written as the string "<value><unit>"
  };
  std::vector<Setting> set;
  std::uint64_t seed = 0;
};

/// Every member of the batch, in a fixed order (base, variants, sweep points, Monte Carlo
/// members); sampled values are pure functions of the batch seed and the member's index.
std::vector<BatchMember> expand_batch(const BatchSpec& spec);

/// Keys no member may set (sweeps, Monte Carlo, fork --vary): one city serves every member,
/// and the clock, seeds and output folders are the batch's (or the fork's).
bool fixed_member_key(const std::string& key);

/// The TOML of a member's scenario: `extends` its scenario, then its keys (dotted keys at the
/// root), so the scenario loader checks them like any variant's.
std::string member_scenario_text(const BatchMember& m);

/// What one member gave.
struct MemberResult {
  std::string status;  ///< done, failed
  std::string error;   ///< why it failed
  std::uint64_t seed = 0;
  std::uint64_t state_hash = 0;
  std::int64_t steps = 0;
  double simulated_s = 0, wall_s = 0;
  double state_bytes = 0;    ///< its state's estimated memory (the model and city are shared)
  double shared_bytes = 0;   ///< the city and its model's estimated memory, shared by members
  std::vector<double> kpis;  ///< parallel to kpi_definitions() (docs/kpi.md); NaN: n/a
};

/// Hands out member indices to whoever runs next (one process: a counter; across processes:
/// the MPI counter in the command). Thread-safe.
class MemberQueue {
 public:
  virtual ~MemberQueue() = default;
  virtual std::optional<std::size_t> next() = 0;
};

struct BatchRunOptions {
  int threads = 0;  ///< all members together (0: all cores)
  /// Called (under a lock, one at a time) when a member starts and ends.
  std::function<void(std::size_t)> started;
  std::function<void(std::size_t, const MemberResult&)> finished;
};

/// Runs the members the queue hands out, concurrently (min(threads, members) at a time, each
/// with threads / that many workers, so the pool is never oversubscribed), until the queue is
/// empty. Members share the city and, where their scenarios resolve to the same text, the
/// compiled Model. Every HDF5 call goes through one lock (HDF5 1.10 is not thread-safe). Each
/// member writes <out>/members/<id>/{scenario.toml, run.h5, ...}.
void run_batch(const BatchSpec& spec, const std::vector<BatchMember>& members, MemberQueue& queue,
               const BatchRunOptions& options);

/// batch.csv: one row per member that ran (sorted by member order): id, kind, seed, the varied
/// keys, status, error, steps, simulated_s, wall_s, state_hash, state_bytes, then every KPI of
/// docs/kpi.md by id (empty where the member cannot give it). `previous` holds rows of an earlier
/// run (--resume) kept as they were.
struct BatchTable {
  std::vector<std::string> columns;
  std::map<std::string, std::map<std::string, std::string>> rows;  ///< by member id
};
BatchTable batch_row(const BatchSpec& spec, const BatchMember& m, const MemberResult& r);
void merge_rows(BatchTable& into, const BatchTable& from);
/// The table as CSV text, rows in member order; and back (errors name `name` and the line).
std::string batch_csv(const BatchTable& t, const std::vector<BatchMember>& order);
Result<BatchTable> parse_batch_csv(const std::string& text, const std::string& name);
Result<void> write_batch_csv(const std::string& path, const BatchTable& t,
                             const std::vector<BatchMember>& order);
/// Reads a batch.csv written before (for --resume); absent file: an empty table.
Result<BatchTable> read_batch_csv(const std::string& path);

}  // namespace citytwin
