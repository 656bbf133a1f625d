// The run loop (DESIGN.md "The time loop"): a compiled Model (the city and each domain's
// compiled model, immutable) drives a SimState (everything that changes). One Model can drive
// many SimStates at once (ensembles, what-if forks).
//
// Within a macro step [t, t + step):
//   1. apply the events due at t, in (time, declaration order);
//   2. every domain advances over [t, t + step) with its own inner steps; domains run as
//      concurrent tasks because none reads another's state during the step;
//   3. the clock moves to t + step;
//   4. observers (outputs) run when an output time is reached.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "citytwin/city.hpp"
#include "citytwin/error.hpp"
#include "citytwin/hash.hpp"
#include "citytwin/parallel.hpp"
#include "citytwin/spec.hpp"
#include "citytwin/time.hpp"

namespace citytwin {

class RunWriter;
struct FrameSnapshot;

/// What a domain's advance() may use besides its model and state.
struct StepContext {
  SimTime t = 0;           ///< start of the macro step (ms)
  SimTime dt = 0;          ///< length of the macro step (ms)
  std::int64_t step = 0;   ///< macro step index (0-based), for counter-based RNG keys
  std::uint64_t seed = 0;  ///< scenario seed
  TaskPool* pool = nullptr;
};

/// One line of the end-of-run summary ("flood", "max depth", "2.31 m").
struct SummaryRow {
  std::string domain, key, value;
};

/// A domain's per-run state. Everything that changes lives here, so hashing and snapshots are
/// complete by construction.
class DomainState {
 public:
  virtual ~DomainState() = default;
  /// Mixes every array of the state into the hasher (determinism tests, checkpoints).
  virtual void hash(StateHasher& h) const = 0;
};

/// A domain's compiled, immutable model and its step function. Thread safety: all methods are
/// const and may be called for different states from different threads.
class Domain {
 public:
  virtual ~Domain() = default;
  virtual std::string_view name() const = 0;
  virtual std::unique_ptr<DomainState> make_state() const = 0;
  /// Applies one of this domain's events (parsed by its DomainInfo::parse_event).
  virtual void apply_event(const EventSpec& event, DomainState& state) const = 0;
  /// Advances the state over [ctx.t, ctx.t + ctx.dt).
  virtual void advance(DomainState& state, const StepContext& ctx) const = 0;
  /// Writes static datasets once, before the first frame (under /<name>).
  virtual void write_static(RunWriter& out) const = 0;
  /// Appends one output frame (under /<name>); called at every output time.
  virtual void write_frame(const DomainState& state, RunWriter& out) const = 0;
  /// Writes end-of-run results and appends summary rows (counters of numerical trouble too).
  virtual void write_final(const DomainState& state, RunWriter& out,
                           std::vector<SummaryRow>& summary) const = 0;
  /// Copies what the viewer draws of this domain into `frame` (live runs). Domains with
  /// nothing to draw keep the default.
  virtual void fill_frame(const DomainState& /*state*/, FrameSnapshot& /*frame*/) const {}
};

/// Compiles a domain's model from its spec and the city.
using DomainCompiler = Result<std::unique_ptr<const Domain>> (*)(const DomainSpec& spec,
                                                                 const ScenarioSpec& scenario,
                                                                 const CityModel& city);

/// A domain as the engine knows it: how to parse it and how to compile it.
struct DomainEntry {
  DomainInfo info;
  DomainCompiler compile;
};

/// Every built-in domain, in the fixed order domains advance and write.
std::span<const DomainEntry> builtin_domains();

/// Loads and validates a scenario with the built-in domains.
Result<ScenarioSpec> load_scenario(const std::string& path);

/// The compiled, immutable model of a scenario.
struct Model {
  ScenarioSpec spec;
  std::shared_ptr<const CityModel> city;
  std::vector<std::unique_ptr<const Domain>> domains;  ///< parallel to spec.domains
};

/// Imports the city and compiles every domain. `domains` defaults to the built-in list.
Result<std::shared_ptr<const Model>> compile_model(ScenarioSpec spec);
Result<std::shared_ptr<const Model>> compile_model(ScenarioSpec spec,
                                                   std::shared_ptr<const CityModel> city,
                                                   std::span<const DomainEntry> domains);

/// Everything that changes during one run of a Model.
struct SimState {
  SimTime t = 0;                                      ///< current time (ms since start)
  std::int64_t step = 0;                              ///< macro steps taken
  std::size_t next_event = 0;                         ///< index into the model's sorted event list
  std::vector<std::unique_ptr<DomainState>> domains;  ///< parallel to Model::domains
};

SimState make_state(const Model& model);

/// Advances by one macro step (events due at state.t, then every domain).
void step(const Model& model, SimState& state, TaskPool& pool);

/// Hash of the clock and every domain's state.
std::uint64_t hash_state(const Model& model, const SimState& state);

/// The viewer's snapshot of a state: the time and every domain's fill_frame.
FrameSnapshot snapshot(const Model& model, const SimState& state);

/// Writes a run's HDF5 file: /meta and /city at open, /time and domain frames at every output
/// interval, results at the end; flushes every output.flush_every of simulated time.
class RunRecorder {
 public:
  static Result<std::unique_ptr<RunRecorder>> create(const Model& model, const std::string& path);
  ~RunRecorder();
  /// Writes a frame if state.t has reached the next output time; flushes when due.
  void observe(const SimState& state);
  /// Writes the final frame and results; returns the summary rows.
  std::vector<SummaryRow> finish(const SimState& state);

 private:
  RunRecorder(const Model& model, std::unique_ptr<RunWriter> out);
  const Model& m_model;
  std::unique_ptr<RunWriter> m_out;
  SimTime m_next_frame = 0;
  SimTime m_last_frame = -1;
  SimTime m_next_flush = 0;
};

}  // namespace citytwin
