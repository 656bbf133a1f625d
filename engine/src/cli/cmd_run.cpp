// citytwin run SCENARIO: load, import, compile, step to the end, write out/<name>/run.h5 (and
// checkpoint.h5 with --checkpoint-every).
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>

#include "citytwin/io.hpp"
#include "citytwin/live.hpp"
#include "citytwin/resources.hpp"
#include "citytwin/sim.hpp"
#include "cli/commands.hpp"
#include "cli/run_loop.hpp"

namespace citytwin::cli {

namespace {

struct RunArgs {
  std::string scenario;
  std::string out;
  int threads = -1;
  std::string until;
  std::string checkpoint_every;
  std::string max_memory;
  std::string replay;
  std::uint64_t seed = 0;
  RealtimeArg realtime;
  bool quiet = false;
  bool overwrite = false;
  bool strict = false;
};

using Clock = std::chrono::steady_clock;

// The output file: never through a symbolic link (its target would be truncated), and never
// over another scenario's run without --overwrite (re-running the same scenario replaces its
// file, as `make demo` does).
Result<void> check_output(const std::string& h5, const std::string& scenario, bool overwrite) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(h5, ec);
  if (ec || !fs::exists(st)) return {};
  if (fs::is_symlink(st))
    return fail(Diagnostic::at(h5, 0, "output.dir", "the run file is a symbolic link; not followed",
                               "", "an output folder without a run.h5 link (or another --out)"));
  if (overwrite) return {};
  auto existing = RunReader::open(h5);
  std::string previous = "(not a CityTwin run file)";
  if (existing)
    if (auto p = (*existing)->attr_string("/meta", "scenario_path")) previous = *p;
  if (fs::weakly_canonical(previous, ec) == fs::weakly_canonical(scenario, ec)) return {};
  return fail(Diagnostic::at(h5, 0, "output.dir", "holds the run of another scenario", previous,
                             "--overwrite to replace it, or another --out / output.dir"));
}

int run(const RunArgs& args) {
  auto t_start = Clock::now();
  const auto checkpoint_every = checkpoint_interval(args.checkpoint_every);
  if (!checkpoint_every) {
    std::cerr << checkpoint_every.error().to_string() << "\n";
    return k_exit_bad_input;
  }
  const auto realtime = realtime_factor(args.realtime);
  if (!realtime) {
    std::cerr << realtime.error().to_string() << "\n";
    return k_exit_bad_input;
  }
  auto spec = load_run_spec(args.scenario, args.until);
  if (!spec) {
    std::cerr << spec.error().to_string() << "\n";
    return k_exit_bad_input;
  }
  if (!args.out.empty()) spec->output.dir = args.out;
  if (!args.max_memory.empty()) {
    auto bytes = parse_bytes(args.max_memory);
    if (!bytes) {
      std::cerr << fmt::format("--max-memory: \"{}\" is not {}\n", args.max_memory, bytes.error());
      return k_exit_bad_input;
    }
    spec->run.max_memory = *bytes;
  }
  const int threads = args.threads >= 0 ? args.threads : spec->run.threads;
  if (!args.quiet) spdlog::info("loading {}", args.scenario);
  auto model = compile_model(std::move(*spec));
  if (!model) {
    std::cerr << model.error().to_string() << "\n";
    return k_exit_bad_input;
  }
  const Model& m = **model;
  if (!report_warnings(m, args.strict)) return k_exit_bad_input;
  std::vector<Diagnostic> disk;
  const std::string resources = describe_resources(m, estimate_run(m), disk);
  for (const Diagnostic& d : disk) std::cerr << "warning: " << d.to_string() << "\n";
  if (!args.quiet) spdlog::info("{}", resources);
  const double load_s = std::chrono::duration<double>(Clock::now() - t_start).count();

  // The live session connects before the run file is created: a broker that refuses the twin's
  // credentials stops it here, not minutes into a drill.
  auto session = live::LiveSession::open(m, {args.replay, true});
  if (!session) {
    std::cerr << session.error().to_string() << "\n";
    return k_exit_bad_input;
  }
  std::error_code ec;
  std::filesystem::create_directories(m.spec.output.dir, ec);
  const std::string h5 = (std::filesystem::path(m.spec.output.dir) / "run.h5").string();
  if (auto ok = check_output(h5, m.spec.path, args.overwrite); !ok) {
    std::cerr << ok.error().to_string() << "\n";
    return k_exit_bad_input;
  }
  // A checkpoint of an earlier run in this folder would not match the new run file.
  std::filesystem::remove(std::filesystem::path(m.spec.output.dir) / "checkpoint.h5", ec);
  std::unique_ptr<RunRecorder> recorder;
  try {
    auto created = RunRecorder::create(m, h5);
    if (!created) {
      // An output that cannot be written (docs/cli.md): exit 1, with what and where.
      std::cerr << "cannot write the run file: " << created.error().to_string() << "\n";
      return k_exit_internal;
    }
    recorder = std::move(*created);
  } catch (const OutputError& e) {
    output_failed(h5, e, -1);
  }
  Run run(*model, threads, args.seed != 0 ? args.seed : m.spec.run.seed);
  if (!args.quiet)
    spdlog::info("city: {} buildings, {} road links, terrain {}x{}; {} domain(s){}; {} thread(s)",
                 m.city->buildings.size(), m.city->roads.link_count(), m.city->terrain.nx,
                 m.city->terrain.ny, m.domains.size(), m.coupling->any() ? ", coupled" : "",
                 run.pool().threads());
  DriveOptions o;
  o.h5 = h5;
  o.checkpoint_every = *checkpoint_every;
  o.started_duration = m.spec.run.duration;
  o.quiet = args.quiet;
  o.realtime = *realtime;
  o.load_s = load_s;
  if ((*session)->active()) o.live = session->get();
  return drive_run(run, std::move(recorder), o);
}

}  // namespace

Runner add_run_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "Run a scenario and write <output.dir>/run.h5");
  auto args = std::make_shared<RunArgs>();
  cmd->add_option("scenario", args->scenario,
                  "Scenario file (.toml), SUMO configuration (.sumocfg) or LISFLOOD-FP case (.par)")
      ->required();
  cmd->add_option("--out", args->out, "Output folder (overrides output.dir)");
  cmd->add_option("--threads", args->threads,
                  "Worker threads (0: all cores; default scenario.threads)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--until", args->until, "Stop at this simulated time, e.g. 10min");
  cmd->add_option("--checkpoint-every", args->checkpoint_every,
                  "Write <output.dir>/checkpoint.h5 every this much simulated time, e.g. 10min "
                  "(citytwin resume continues from it)");
  cmd->add_option("--seed", args->seed,
                  "The state's seed (driver and fragility draws; a batch member's), instead of "
                  "scenario.seed, which also keys the compiled demand");
  cmd->add_option("--max-memory", args->max_memory,
                  "Memory the run may use, e.g. 8GiB (default: what the machine has available)");
  cmd->add_option("--replay", args->replay,
                  "Observations to replay (JSON lines, paced by phenomenonTime), or a drill's "
                  "run file (.h5) whose journal of observations and commands is replayed")
      ->check(CLI::ExistingFile);
  add_realtime_option(*cmd, args->realtime);
  cmd->add_flag("--quiet", args->quiet, "No progress output");
  cmd->add_flag("--strict", args->strict,
                "Treat warnings (dropped input, a domain with nothing to simulate) as errors");
  cmd->add_flag("--overwrite", args->overwrite,
                "Replace a run file of another scenario in the output folder");
  return [args]() { return run(*args); };
}

}  // namespace citytwin::cli
