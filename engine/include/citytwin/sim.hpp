// The run loop (DESIGN.md "The time loop"): a compiled Model (the city, each domain's compiled
// model and the coupling rules; immutable) drives a SimState (everything that changes, the
// exchange and the coupling state included). One Model can drive many SimStates at once
// (ensembles, what-if forks); the seed belongs to the state.
//
// One macro step [t, t + step), step():
//   1. the inbox: events due at t (the scenario's, then injected ones), in (time, source order),
//      resolved to entity indices by the domain when they are applied;
//   2. consume: each domain reads the exchange published at the end of the previous step and
//      applies what changed through its own switches;
//   3. advance: every domain over [t, t + step) as concurrent tasks (none reads another's state);
//   4. publish: each domain writes its exports into the exchange's other buffer;
//   5. the coupling rules turn exports into the next step's inputs; the buffers swap;
//   6. the clock moves to t + step; a paced Run waits for the wall clock (Run::pace); observers
//      (recorder, viewer, progress) then read the state.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "citytwin/city.hpp"
#include "citytwin/coupling.hpp"
#include "citytwin/error.hpp"
#include "citytwin/exchange.hpp"
#include "citytwin/hash.hpp"
#include "citytwin/io.hpp"
#include "citytwin/parallel.hpp"
#include "citytwin/spec.hpp"
#include "citytwin/state_io.hpp"
#include "citytwin/time.hpp"

namespace citytwin {

class DomainReplay;
struct FrameSnapshot;

/// What a domain's advance() may use besides its model and state.
struct StepContext {
  SimTime t = 0;           ///< start of the macro step (ms)
  SimTime dt = 0;          ///< length of the macro step (ms)
  std::int64_t step = 0;   ///< macro step index (0-based), for counter-based RNG keys
  std::uint64_t seed = 0;  ///< the state's seed
  TaskPool* pool = nullptr;
};

/// One line of the end-of-run summary ("flood", "max depth", "2.31 m").
struct SummaryRow {
  std::string domain, key, value;
};

/// What a domain costs (bytes): its compiled model, one state, and what it adds to the run
/// file once (static and final datasets) and per output frame, uncompressed. Estimates from the
/// model's sizes, made before any state is allocated (docs/cli.md "Resources").
struct Footprint {
  double model_bytes = 0;
  double state_bytes = 0;
  double static_bytes = 0;
  double frame_bytes = 0;
};

/// A domain's per-run state. Everything that changes lives here. Its persistent fields are
/// listed once (state_io.hpp) and that one list is the hash, the checkpoint and the clone;
/// scratch a step rebuilds before it reads it is left out.
class DomainState {
 public:
  virtual ~DomainState() = default;
  /// Writes every persistent field (a checkpoint, or the hash through a hashing StateOut).
  virtual void save(StateOut& out) const = 0;
  /// Reads them back into a state make_state() made for the same model (in.failed() on a
  /// damaged or foreign buffer; the state is then unusable).
  virtual void load(StateIn& in) = 0;
  /// Mixes every persistent field into the hasher (determinism tests, checkpoints).
  void hash(StateHasher& h) const {
    StateOut out(h);
    save(out);
  }
};

/// A domain's compiled, immutable model and its step function. Thread safety: all const
/// methods may be called for different states from different threads.
class Domain {
 public:
  virtual ~Domain() = default;
  virtual std::string_view name() const = 0;
  virtual std::unique_ptr<DomainState> make_state(std::uint64_t seed) const = 0;
  /// A running state takes a new seed (a fork's member): the draws still to come use `seed`,
  /// those already made stay (traffic: vehicles not yet inserted draw their drivers again).
  /// Domains that draw nothing after make_state() keep the default.
  virtual void reseed(DomainState& /*state*/, std::uint64_t /*seed*/) const {}
  /// Applies one of this domain's events (parsed by its DomainInfo::parse_event), resolving
  /// what it names (edges by id or area, a signal by id, cells along a line) now, so an event
  /// made during a run is as good as one from the scenario. An event that names nothing of
  /// this model is an error and changes nothing.
  virtual Result<void> apply_event(const EventSpec& event, DomainState& state) const = 0;
  /// Advances the state over [ctx.t, ctx.t + ctx.dt).
  virtual void advance(DomainState& state, const StepContext& ctx) const = 0;
  /// After DomainState::load: rebuilds what the state derives from its fields and the model
  /// (flood: the breached bed; power: the solver's warm start).
  virtual void restored(DomainState& /*state*/) const {}

  /// The observation operator (docs/live.md "Assimilation"): what a sensor of `ds` would read
  /// in this state, in SI units of its kind (status: 1 in service, 0 out); nullopt when this
  /// domain does not simulate what it observes. An entity that names nothing of this domain's
  /// kind is an error.
  virtual Result<std::optional<double>> observe(const DomainState& /*state*/,
                                                const DatastreamSpec& /*ds*/) const {
    return std::optional<double>();
  }
  /// Moves the state toward an observation (SI units) by this domain's documented method,
  /// `gain` (0, 1] the share of the misfit corrected. False when it has no method for `ds`.
  virtual bool assimilate(DomainState& /*state*/, const DatastreamSpec& /*ds*/, double /*observed*/,
                          double /*gain*/) const {
    return false;
  }

  /// Adds what this domain owns to the exchange's index spaces (the power grid's buses and
  /// elements) and says that it takes part. Called once, in domain order, after compiling.
  virtual void declare(ExchangeLayout& /*layout*/) const {}
  /// Compiles this domain's maps onto the exchange's index spaces (the flood cells under each
  /// link, building, element and pump). Called once, after every domain declared.
  virtual Result<void> bind(const ExchangeLayout& /*layout*/) { return {}; }
  /// Before advance: applies the inputs of `x` that changed since the last call.
  virtual void consume(const CityExchange& /*x*/, DomainState& /*state*/,
                       const StepContext& /*ctx*/) const {}
  /// After advance: writes this domain's exports into `x` (every export array it owns).
  virtual void publish(const DomainState& /*state*/, CityExchange& /*x*/) const {}

  /// What this domain needs in memory and in the run file over `run` (an estimate; see
  /// Footprint).
  virtual Footprint footprint(const RunSpec& run) const = 0;
  /// What compiling found that the user should hear before running: input dropped beyond a
  /// documented share, nothing to simulate. `validate` and `run` print them; `--strict` makes
  /// them errors.
  virtual std::vector<Diagnostic> warnings() const { return {}; }

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
using DomainCompiler = Result<std::unique_ptr<Domain>> (*)(const DomainSpec& spec,
                                                           const ScenarioSpec& scenario,
                                                           const CityModel& city);

/// Opens a domain's part of a run file for replay; null when the file has none of it.
using ReplayOpener = Result<std::unique_ptr<const DomainReplay>> (*)(const RunReader& r,
                                                                     const std::string& file);

/// A domain as the engine knows it: how to parse it, how to compile it, how to replay it.
struct DomainEntry {
  DomainInfo info;
  DomainCompiler compile;
  ReplayOpener open_replay = nullptr;
};

/// Every built-in domain, in the fixed order domains advance and write.
std::span<const DomainEntry> builtin_domains();
/// Their scenario-loading parts (for parse_scenario and parse_events).
std::vector<DomainInfo> builtin_domain_infos();

/// Loads and validates a scenario with the built-in domains: a TOML file, or a LISFLOOD-FP
/// parameter file (.par) run as it is.
Result<ScenarioSpec> load_scenario(const std::string& path);

/// The compiled, immutable model of a scenario.
struct Model {
  ScenarioSpec spec;
  std::shared_ptr<const CityModel> city;
  std::vector<std::unique_ptr<const Domain>> domains;  ///< parallel to spec.domains
  std::shared_ptr<const ExchangeLayout> layout;        ///< the exchange's index spaces
  std::unique_ptr<const CouplingModel> coupling;       ///< the rules (all off without [coupling])
  /// The city import's and every domain's warnings (Domain::warnings), in that order.
  std::vector<Diagnostic> warnings;
};

/// Imports the city and compiles every domain. `domains` defaults to the built-in list. Every
/// domain is compiled even when one fails, so the error lists every domain's problems at once.
Result<std::shared_ptr<const Model>> compile_model(ScenarioSpec spec);
Result<std::shared_ptr<const Model>> compile_model(ScenarioSpec spec,
                                                   std::shared_ptr<const CityModel> city,
                                                   std::span<const DomainEntry> domains);

/// Everything that changes during one run of a Model.
struct SimState {
  SimTime t = 0;                                      ///< current time (ms since start)
  std::int64_t step = 0;                              ///< macro steps taken
  std::uint64_t seed = 0;                             ///< keys every random draw of the run
  std::size_t next_event = 0;                         ///< index into the model's sorted event list
  std::vector<EventSpec> inbox;                       ///< injected events not yet applied, by time
  std::vector<std::unique_ptr<DomainState>> domains;  ///< parallel to Model::domains
  CityExchange exchange[2];                           ///< [current], the other is written next
  int current = 0;
  CouplingState coupling;
  /// Injected events that named nothing of the model: counted, with their messages.
  std::vector<std::string> rejected_events;

  const CityExchange& x() const { return exchange[current]; }
};

/// A run's resources, estimated before its state exists: memory for the city, every domain's
/// model and one state; the run file's size (uncompressed, so an upper bound) over the run's
/// frames.
struct RunEstimate {
  double city_bytes = 0, model_bytes = 0, state_bytes = 0;
  std::int64_t frames = 0;
  double frame_bytes = 0;  ///< one frame's rows (uncompressed)
  double file_bytes = 0;
  /// Frames a run file's writer may hold queued (RunRecorder): a run steps on while the
  /// previous frame is compressed, and waits rather than queue more.
  static constexpr double k_queued_frames = 2;
  double memory() const {
    return city_bytes + model_bytes + state_bytes + k_queued_frames * frame_bytes;
  }
};
RunEstimate estimate_run(const Model& model);

/// A state at t = 0 with the scenario's seed, or with `seed` (ensemble members).
SimState make_state(const Model& model);
SimState make_state(const Model& model, std::uint64_t seed);

/// Gives a running state a new seed (a fork's member, docs/batch.md "Fork"): the state's, every
/// domain's (Domain::reseed) and the coupling's. Draws already made stay: vehicles on the road
/// keep their drivers, equipment its fragility draw (made at t = 0); vehicles still to depart and
/// EV charging decisions to come draw with `seed`. Reseeding with the state's own seed changes
/// nothing.
void reseed_state(const Model& model, SimState& state, std::uint64_t seed);

/// The whole of a state as named byte blocks ("sim", each domain by name, "exchange.0",
/// "exchange.1", "coupling"): what a checkpoint stores and what a clone copies. The blocks hold
/// the fields the state lists (state_io.hpp), so an image, the hash and a clone agree.
struct StateImage {
  std::vector<std::string> names;
  std::vector<std::vector<std::byte>> parts;  ///< parallel to names
  std::size_t bytes() const;
};
/// Injected events waiting in the inbox are stored as their scenario text (EventSpec::source;
/// an event without one, made other than by parse_events, is refused with an error).
Result<StateImage> save_state(const Model& model, const SimState& state);
/// A state of `model` from an image save_state made for the same scenario. Errors name
/// `where`, the block and the field (a damaged file, another version's layout). Arrays take the
/// image's lengths: an image of a model with other sizes (another flood grid, other vehicles)
/// loads and hashes alike, so a caller that changes the scenario compares layouts first (a
/// fresh state of each model, as citytwin fork does).
Result<SimState> load_state(const Model& model, const StateImage& image, const std::string& where);
/// The clock of an image (its "sim" part), read without a model: where a checkpoint stands
/// before the scenario that continues it is compiled (a fork sizes its run from it).
Result<SimTime> image_time(const StateImage& image, const std::string& where);
/// An independent copy of `state` (batch members, forks) through its image: a clone is what
/// a resume from a checkpoint taken now would give. The copy shares nothing with `state`.
Result<SimState> clone_state(const Model& model, const SimState& state);

/// Events in scenario syntax (`[[event]]` tables) for a run of `model`, parsed by the built-in
/// domains; errors name `where`, the line and the key.
Result<std::vector<EventSpec>> parse_events(const Model& model, std::string_view text,
                                            const std::string& where);

/// Queues an event (a coupling rule's, a test's, an operator's) for the step that starts at or
/// after event.at; events at the same time apply after the scenario's, in injection order.
void inject(SimState& state, EventSpec event);

/// What a sensor of `ds` would read in `state` (Domain::observe of the domain that simulates
/// it, SI units); nullopt when no domain does; an error when its entity names nothing.
Result<std::optional<double>> observe(const Model& model, const SimState& state,
                                      const DatastreamSpec& ds);
/// Moves `state` toward an observation (SI units) through the domain that simulates `ds`
/// (Domain::assimilate); false when none has a method for it.
bool assimilate(const Model& model, SimState& state, const DatastreamSpec& ds, double observed,
                double gain);

/// Wall time spent in the phases of step() (benchmarks: what the coupling costs).
struct StepTimes {
  double events_s = 0, consume_s = 0, advance_s = 0, publish_s = 0, rules_s = 0;
  double exchange_s() const { return consume_s + publish_s + rules_s; }
  double total_s() const { return events_s + exchange_s() + advance_s; }
};

/// Advances by one macro step (the order in the header comment); adds the phases' wall times
/// to `times` when given.
void step(const Model& model, SimState& state, TaskPool& pool, StepTimes* times = nullptr);

/// Hash of the clock, every domain's state, the exchange and the coupling state.
std::uint64_t hash_state(const Model& model, const SimState& state);

/// The viewer's snapshot of a state: the time, every domain's fill_frame and the exchange.
FrameSnapshot snapshot(const Model& model, const SimState& state);

/// Replay: what a run file records, opened once (each built-in domain's reader and the
/// exchange's), then any frame as the live run's snapshot() gave it.
struct RunFrames {
  std::vector<double> time_s;                              ///< /time
  std::vector<std::unique_ptr<const DomainReplay>> parts;  ///< domains in step order, exchange

  static Result<RunFrames> open(const RunReader& r, const std::string& file);
  /// Frame k (0 <= k < time_s.size()).
  Result<FrameSnapshot> read(const RunReader& r, std::size_t k) const;
};

/// Real-time pacing (docs/cli.md "--realtime"): simulated time advances no faster than
/// `factor` times the wall clock, the state's time when pacing started mapped to the wall clock
/// then. The lag is how far simulated time is behind that schedule when a step has ended (s of
/// simulated time; 0 on time). Wall time never enters the state: pacing changes no result.
struct Pacing {
  double factor = 0;  ///< simulated seconds per wall second; 0: not paced
  double lag_s = std::numeric_limits<double>::quiet_NaN();  ///< after the last step; NaN: unpaced
  double max_lag_s = 0;                                     ///< over the paced steps
  std::int64_t late_steps = 0;  ///< paced steps that ended more than one macro step behind
};

/// One run of a Model: its state, its workers and the macro-step loop that the CLI, the
/// viewer, benchmarks and tests all drive.
class Run {
 public:
  Run(std::shared_ptr<const Model> model, int threads);
  Run(std::shared_ptr<const Model> model, int threads, std::uint64_t seed);
  /// Continues `state` (restored from a checkpoint, or a clone).
  Run(std::shared_ptr<const Model> model, int threads, SimState state);
  const Model& model() const { return *m_model; }
  const SimState& state() const { return m_state; }
  TaskPool& pool() { return m_pool; }
  bool done() const { return m_state.t >= m_model->spec.run.duration; }
  void inject(EventSpec event) { citytwin::inject(m_state, std::move(event)); }
  /// Between steps: an observation assimilated into the state (citytwin::assimilate).
  bool assimilate(const DatastreamSpec& ds, double observed, double gain) {
    return citytwin::assimilate(*m_model, m_state, ds, observed, gain);
  }
  /// One macro step, then (when paced) a sleep until its end is due on the wall clock, then
  /// the observer (if any) sees the state.
  void step();
  /// Paces the steps to come at `factor` (> 0) simulated seconds per wall second, from the
  /// state's time now (Pacing); the lag starts at 0.
  void pace(double factor);
  const Pacing& pacing() const { return m_pacing; }
  /// Steps until the end of the run (or `until`, when earlier).
  void run_until(SimTime until);
  /// Called after every step (the recorder, a progress line).
  void observe(std::function<void(const SimState&)> observer) { m_observer = std::move(observer); }
  /// Wall time of the steps so far, by phase.
  const StepTimes& times() const { return m_times; }

 private:
  std::shared_ptr<const Model> m_model;
  TaskPool m_pool;
  SimState m_state;
  std::function<void(const SimState&)> m_observer;
  StepTimes m_times;
  Pacing m_pacing;
  SimTime m_pace_t0 = 0;  // the state's time when pacing started
  std::chrono::steady_clock::time_point m_pace_wall0;

  void keep_pace();
};

/// Where a run file stood when a checkpoint was taken: every dataset and its rows, and the
/// recorder's next output and flush times. A resume cuts the file back to it.
struct RecorderMark {
  SimTime next_frame = 0, last_frame = -1, next_flush = 0;
  std::vector<DatasetExtent> datasets;
};

/// A checkpoint (docs/batch.md "Checkpoints"): the whole state, where the run file stood and
/// what the run was started with. Stored as checkpoint.h5 beside the run file.
struct Checkpoint {
  /// Bumped whenever the layout changes, the run file's included (2: SWMR, /run/lag_s; 3: what
  /// assimilation keeps: substation load factors, the rain factor, the assimilated volume;
  /// 4: the detectors' totals, the traffic sensors' ring and the calibrators; 5: the events
  /// waiting in the inbox; 6: traffic's scheduled stops and its foes' braking arrival times).
  static constexpr std::int64_t k_format = 6;
  std::string scenario_path;  ///< as the run named it
  std::string scenario_text;  ///< resolved text: a resume refuses a changed scenario
  SimTime duration = 0;       ///< the end the run was started with (its --until)
  std::uint64_t state_hash = 0;
  StateImage image;
  RecorderMark recorder;
};

/// Writes `c` to `path` atomically: into path + ".tmp", synced, then renamed over `path`, so a
/// run killed at any moment leaves the previous checkpoint or the new one, never half of one.
Result<void> write_checkpoint(const std::string& path, const Checkpoint& c);
/// Reads a checkpoint; errors name the file and what is wrong (not a checkpoint, another
/// format version, a missing part).
Result<Checkpoint> read_checkpoint(const std::string& path);
/// The state a checkpoint holds, checked against its stored hash.
Result<SimState> restore_state(const Model& model, const Checkpoint& c, const std::string& where);

/// Writes a run's HDF5 file: /meta and /city at open, /time and domain frames at every output
/// interval, results at the end; flushes every output.flush_every of simulated time. From the
/// first frame to the end, readers may follow the file (RunWriter::start_swmr); the results
/// are written after that (docs/hdf5-layout.md "Following a run").
class RunRecorder {
 public:
  static Result<std::unique_ptr<RunRecorder>> create(const Model& model, const std::string& path);
  ~RunRecorder();
  /// Writes a frame if state.t has reached the next output time; flushes when due. `lag_s` is
  /// the paced run's lag (Pacing::lag_s; NaN: not paced), recorded with the frame.
  void observe(const SimState& state, double lag_s = std::numeric_limits<double>::quiet_NaN());
  /// Whether observe(state) would write or flush anything (a batch takes its HDF5 lock only
  /// then).
  bool due(const SimState& state) const {
    return state.t >= m_next_frame || state.t >= m_next_flush;
  }
  /// Writes the final frame and results (the domains', the coupling's, then `more`'s: a live
  /// session's counters), marks the file complete (/meta complete = 1) and returns the summary
  /// rows (`lag_s` as for observe()).
  std::vector<SummaryRow> finish(
      const SimState& state, double lag_s = std::numeric_limits<double>::quiet_NaN(),
      const std::function<void(RunWriter&, std::vector<SummaryRow>&)>& more = {});
  /// The file being written, for observers that add their own series (a live run's journal;
  /// created before the first frame, appended after it).
  RunWriter& writer() { return *m_out; }
  /// The simulated time of the last completed flush: frames up to it are on disk (-1: none
  /// yet). Periodic flushes are queued behind the frames (RunWriter::queue_flush).
  SimTime flushed() const;
  /// Flushes the file and says where it stands (a checkpoint's part).
  RecorderMark mark();
  /// Continues the run file at `path` from a checkpoint's mark (RunWriter::resume), marked
  /// unfinished again until finish().
  static Result<std::unique_ptr<RunRecorder>> resume(const Model& model, const std::string& path,
                                                     const RecorderMark& mark);

 private:
  RunRecorder(const Model& model, std::unique_ptr<RunWriter> out);
  const Model& m_model;
  std::unique_ptr<RunWriter> m_out;
  SimTime m_next_frame = 0;
  SimTime m_last_frame = -1;
  SimTime m_next_flush = 0;
  SimTime m_flushed = -1;                                   // the last flush known complete
  std::deque<std::pair<std::uint64_t, SimTime>> m_flushes;  // queued ones: (ticket, time)
};

}  // namespace citytwin
