// Private to cli/: what `citytwin run` and `citytwin resume` share (run_loop.cpp).
#pragma once

#include <memory>
#include <string>

#include "citytwin/sim.hpp"
#include "cli/commands.hpp"

namespace CLI {
class Option;
}

namespace citytwin::live {
class LiveSession;
class Forker;
}  // namespace citytwin::live

namespace citytwin::cli {

/// The scenario as a run names it: TOML, a LISFLOOD-FP .par or a SUMO .sumocfg, cut at `until`
/// (empty: the scenario's duration; events after it dropped).
Result<ScenarioSpec> load_run_spec(const std::string& scenario, const std::string& until);

/// --checkpoint-every: a positive duration, or 0 when `text` is empty (no checkpoints).
Result<SimTime> checkpoint_interval(const std::string& text);

/// --realtime [FACTOR] (run and resume): the option and the value given after it.
struct RealtimeArg {
  CLI::Option* option = nullptr;
  std::string factor;
};
void add_realtime_option(CLI::App& cmd, RealtimeArg& arg);
/// The pacing factor asked for: 0 when --realtime was not given, 1 when given alone, else the
/// positive number given.
Result<double> realtime_factor(const RealtimeArg& arg);

/// Ends the process (exit 1) after the run file could not be written, saying what it still
/// holds (frames up to `flushed`, -1: none).
[[noreturn]] void output_failed(const std::string& h5, const OutputError& e, SimTime flushed);

struct DriveOptions {
  std::string h5;                ///< the run file (checkpoint.h5 goes beside it)
  SimTime checkpoint_every = 0;  ///< simulated time between checkpoints; 0: none
  SimTime started_duration = 0;  ///< the end the run was started with (kept in checkpoints)
  bool resumed = false;          ///< continuing from a checkpoint: its frame is on file
  bool quiet = false;
  double realtime = 0;  ///< --realtime: simulated seconds per wall second; 0: as fast as it goes
  double load_s = 0;    ///< wall time of loading and compiling, for the summary
  /// The live session (broker, replay, journal) when the run has one; null otherwise.
  live::LiveSession* live = nullptr;
};

/// Writes the checkpoint of state `s` of a run of `m` started to `started_duration` whose run
/// file `rec` writes (docs/batch.md "Checkpoints"), atomically, to `path`.
Result<void> checkpoint_run(const Model& m, const SimState& s, SimTime started_duration,
                            RunRecorder& rec, const std::string& path);

/// A live drill's forks (live_fork.cpp): each a checkpoint of the running state in
/// <output.dir>/fork-<time>/ and a `citytwin fork` process from it, beside the twin.
std::unique_ptr<live::Forker> process_forker(const Model& m, SimTime started_duration,
                                             RunRecorder& rec);

/// Steps `run` to the model's end with the recorder observing (paced at o.realtime, with the
/// lag in the progress line, the run file and the summary), writes checkpoints when due,
/// finishes the run file and prints the summary. Returns the exit code; an output failure
/// ends the process (exit 1) saying what is still readable.
int drive_run(Run& run, std::unique_ptr<RunRecorder> recorder, const DriveOptions& o);

}  // namespace citytwin::cli
