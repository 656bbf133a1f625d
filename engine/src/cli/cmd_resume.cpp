// citytwin resume DIR: continues a run from its checkpoint.h5, appending to its run.h5 as if
// it had never stopped (docs/batch.md "Checkpoints").
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>

#include "citytwin/io.hpp"
#include "citytwin/sim.hpp"
#include "cli/commands.hpp"
#include "cli/run_loop.hpp"

namespace citytwin::cli {

namespace {

struct ResumeArgs {
  std::string path;
  std::string until;
  std::string checkpoint_every;
  int threads = -1;
  RealtimeArg realtime;
  bool quiet = false;
};

int resume(const ResumeArgs& args) {
  namespace fs = std::filesystem;
  const auto t_start = std::chrono::steady_clock::now();
  std::error_code ec;
  const fs::path cp =
      fs::is_directory(args.path, ec) ? fs::path(args.path) / "checkpoint.h5" : fs::path(args.path);
  const std::string h5 = (cp.parent_path() / "run.h5").string();
  auto c = read_checkpoint(cp.string());
  if (!c) {
    std::cerr << c.error().to_string() << "\n";
    return k_exit_bad_input;
  }
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
  // The run ends where it was started to end, unless --until moves it.
  const std::string until =
      args.until.empty() ? fmt::format("{}ms", static_cast<std::int64_t>(c->duration)) : args.until;
  auto spec = load_run_spec(c->scenario_path, until);
  if (!spec) {
    std::cerr << spec.error().to_string() << "\n";
    return k_exit_bad_input;
  }
  if (spec->resolved_text != c->scenario_text) {
    std::cerr << Error::msg(
                     "the scenario changed since the checkpoint was taken (its resolved "
                     "text differs); run it again instead of resuming",
                     c->scenario_path)
                     .to_string()
              << "\n";
    return k_exit_bad_input;
  }
  spec->output.dir = cp.parent_path().string();
  const int threads = args.threads >= 0 ? args.threads : spec->run.threads;
  auto model = compile_model(std::move(*spec));
  if (!model) {
    std::cerr << model.error().to_string() << "\n";
    return k_exit_bad_input;
  }
  const Model& m = **model;
  auto state = restore_state(m, *c, cp.string());
  if (!state) {
    std::cerr << state.error().to_string() << "\n";
    return k_exit_bad_input;
  }
  if (state->t >= m.spec.run.duration) {
    std::cerr << fmt::format(
        "{}: the checkpoint is at {}; --until must be later than that (it "
        "is {})\n",
        cp.string(), format_duration(state->t), format_duration(m.spec.run.duration));
    return k_exit_bad_input;
  }
  if (!args.quiet)
    spdlog::info("resuming {} at {} from {}", m.spec.run.name, format_duration(state->t),
                 cp.string());
  std::unique_ptr<RunRecorder> recorder;
  try {
    auto r = RunRecorder::resume(m, h5, c->recorder);
    if (!r) {
      std::cerr << r.error().to_string() << "\n";
      return k_exit_bad_input;
    }
    recorder = std::move(*r);
  } catch (const OutputError& e) {
    output_failed(h5, e, -1);
  }
  Run run(*model, threads, std::move(*state));
  DriveOptions o;
  o.h5 = h5;
  o.checkpoint_every = *checkpoint_every;
  o.started_duration = m.spec.run.duration;
  o.resumed = true;
  o.quiet = args.quiet;
  o.realtime = *realtime;
  o.load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  return drive_run(run, std::move(recorder), o);
}

}  // namespace

Runner add_resume_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "resume", "Continue a run from its checkpoint (a folder with checkpoint.h5 and run.h5)");
  auto args = std::make_shared<ResumeArgs>();
  cmd->add_option("path", args->path, "The run's output folder, or its checkpoint.h5")->required();
  cmd->add_option("--until", args->until,
                  "Stop at this simulated time (default: where the run was to end)");
  cmd->add_option("--checkpoint-every", args->checkpoint_every,
                  "Keep writing checkpoint.h5 every this much simulated time");
  cmd->add_option("--threads", args->threads, "Worker threads (0: all cores)")
      ->check(CLI::Range(0, 1024));
  add_realtime_option(*cmd, args->realtime);
  cmd->add_flag("--quiet", args->quiet, "No progress output");
  return [args]() { return resume(*args); };
}

}  // namespace citytwin::cli
