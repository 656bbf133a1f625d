// citytwin run SCENARIO: load, import, compile, step to the end, write out/<name>/run.h5.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>

#include "citytwin/io.hpp"
#include "citytwin/resources.hpp"
#include "citytwin/sim.hpp"
#include "citytwin/traffic.hpp"
#include "cli/commands.hpp"

namespace citytwin::cli {

namespace {

struct RunArgs {
  std::string scenario;
  std::string out;
  int threads = -1;
  std::string until;
  std::string max_memory;
  bool quiet = false;
  bool overwrite = false;
  bool strict = false;
};

using Clock = std::chrono::steady_clock;

// Progress on a terminal: one line redrawn in place; otherwise a log line every 10 %.
class Progress {
 public:
  Progress(SimTime end, bool quiet)
      : m_end(end), m_quiet(quiet), m_tty(isatty(STDERR_FILENO) != 0) {}

  void update(SimTime t, double wall_s) {
    if (m_quiet || m_end <= 0) return;
    const double frac = static_cast<double>(t) / static_cast<double>(m_end);
    if (m_tty) {
      const auto now = Clock::now();
      if (t < m_end && now - m_last_draw < std::chrono::milliseconds(100)) return;
      m_last_draw = now;
      const int width = 30, filled = static_cast<int>(frac * width);
      const double speed = wall_s > 0 ? to_seconds(t) / wall_s : 0;
      const double eta = frac > 0 ? wall_s * (1 - frac) / frac : 0;
      std::cerr << fmt::format(
          "\r[{:<{}}] {:>5.1f}%  sim {} / {}  {:.0f}x real time  ETA {:.0f}s   ",
          std::string(static_cast<std::size_t>(filled), '#'), width, 100 * frac, format_duration(t),
          format_duration(m_end), speed, eta);
      if (t >= m_end) std::cerr << "\n";
    } else if (frac >= m_next_log || t >= m_end) {
      spdlog::info("{:3.0f}%  simulated {} of {} in {:.1f} s", 100 * frac, format_duration(t),
                   format_duration(m_end), wall_s);
      while (m_next_log <= frac) m_next_log += 0.1;
    }
  }

 private:
  SimTime m_end;
  bool m_quiet, m_tty;
  double m_next_log = 0.1;
  Clock::time_point m_last_draw{};
};

// A SUMO configuration run as it is: a traffic-only scenario naming it (docs/cli.md). The run
// lasts until the configuration's <end> (or --until when it has none).
Result<ScenarioSpec> load_sumocfg(const RunArgs& args) {
  auto cfg = traffic::read_sumocfg(args.scenario);
  if (!cfg) return fail(cfg.error());
  std::string duration;
  if (cfg->end_s > 0)
    duration = fmt::format("{}ms", static_cast<std::int64_t>(std::llround(cfg->end_s * 1000)));
  else if (!args.until.empty())
    duration = args.until;
  else
    return fail(
        Error::msg("the configuration has no <end value=\"...\"/>: pass --until", args.scenario));
  const std::filesystem::path p(args.scenario);
  const std::string text =
      fmt::format("[scenario]\nname = \"{}\"\nduration = \"{}\"\n[traffic]\nsumocfg = \"{}\"\n",
                  p.stem().string(), duration, p.filename().string());
  return parse_scenario(text, args.scenario, builtin_domain_infos());
}

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
  auto spec =
      args.scenario.ends_with(".sumocfg") ? load_sumocfg(args) : load_scenario(args.scenario);
  if (!spec) {
    std::cerr << spec.error().to_string() << "\n";
    return k_exit_bad_input;
  }
  if (!args.until.empty()) {
    auto until = parse_duration(args.until);
    if (!until || *until > spec->run.duration || *until <= 0) {
      std::cerr << fmt::format(
          "--until: \"{}\" is not a duration within the scenario's {} (e.g. 10min)\n", args.until,
          format_duration(spec->run.duration));
      return k_exit_bad_input;
    }
    spec->run.duration = *until;
    std::erase_if(spec->events, [&](const EventSpec& e) { return e.at > *until; });
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

  std::error_code ec;
  std::filesystem::create_directories(m.spec.output.dir, ec);
  const std::string h5 = (std::filesystem::path(m.spec.output.dir) / "run.h5").string();
  if (auto ok = check_output(h5, m.spec.path, args.overwrite); !ok) {
    std::cerr << ok.error().to_string() << "\n";
    return k_exit_bad_input;
  }
  // A run file that cannot be written any more (a full disk, an I/O error) stops the run with
  // what happened and what is still readable; exit 1 (docs/cli.md).
  std::unique_ptr<RunRecorder> recorder;
  auto output_failed = [&](const OutputError& e) {
    const SimTime flushed = recorder ? recorder->flushed() : -1;
    std::cerr << fmt::format(
        "citytwin: the run stopped: cannot write {}: {}\n{}\n", h5, e.what(),
        flushed >= 0
            ? fmt::format("the file holds the frames up to {} (its last flush) and is marked "
                          "unfinished (/meta complete = 0)",
                          format_duration(flushed))
            : std::string("the file holds no frame"));
    // Ends here, without the usual exit: HDF5 1.10's library shutdown crashes (SIGSEGV in
    // H5F__close_cb) on a file whose close failed. Nothing is left to write.
    std::cout.flush();
    std::cerr.flush();
    std::_Exit(k_exit_internal);
  };
  try {
    auto created = RunRecorder::create(m, h5);
    if (!created) {
      // An output that cannot be written (docs/cli.md): exit 1, with what and where.
      std::cerr << "cannot write the run file: " << created.error().to_string() << "\n";
      return k_exit_internal;
    }
    recorder = std::move(*created);
  } catch (const OutputError& e) {
    output_failed(e);
  }
  Run run(*model, threads);
  if (!args.quiet)
    spdlog::info("city: {} buildings, {} road links, terrain {}x{}; {} domain(s){}; {} thread(s)",
                 m.city->buildings.size(), m.city->roads.link_count(), m.city->terrain.nx,
                 m.city->terrain.ny, m.domains.size(), m.coupling->any() ? ", coupled" : "",
                 run.pool().threads());

  Progress progress(m.spec.run.duration, args.quiet);
  RunRecorder& rec = *recorder;
  const auto t_loop = Clock::now();
  std::vector<SummaryRow> rows;
  try {
    rec.observe(run.state());
    run.observe([&](const SimState& s) {
      rec.observe(s);
      progress.update(s.t, std::chrono::duration<double>(Clock::now() - t_loop).count());
    });
    run.run_until(m.spec.run.duration);
    rows = rec.finish(run.state());
  } catch (const OutputError& e) {
    output_failed(e);
  }
  const SimState& state = run.state();
  const double loop_s = std::chrono::duration<double>(Clock::now() - t_loop).count();
  recorder.reset();  // closes the file

  const double sim_s = to_seconds(state.t);
  std::vector<SummaryRow> head = {
      {"run", "scenario", m.spec.run.name},
      {"run", "simulated", format_duration(state.t)},
      {"run", "steps", std::to_string(state.step)},
      {"run", "threads", std::to_string(run.pool().threads())},
      {"run", "load + import", fmt::format("{:.2f} s", load_s)},
      {"run", "simulation wall time", fmt::format("{:.2f} s", loop_s)},
      {"run", "speed", loop_s > 0 ? fmt::format("{:.0f}x real time", sim_s / loop_s) : "-"},
      {"run", "state hash", hash_hex(hash_state(m, state))},
      {"run", "output", h5},
  };
  rows.insert(rows.begin(), head.begin(), head.end());
  std::size_t w_domain = 6, w_key = 3;
  for (const SummaryRow& r : rows)
    w_domain = std::max(w_domain, r.domain.size()), w_key = std::max(w_key, r.key.size());
  std::cout << fmt::format("{:<{}}  {:<{}}  {}\n", "domain", w_domain, "key", w_key, "value");
  for (const SummaryRow& r : rows)
    std::cout << fmt::format("{:<{}}  {:<{}}  {}\n", r.domain, w_domain, r.key, w_key, r.value);
  return k_exit_ok;
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
  cmd->add_option("--max-memory", args->max_memory,
                  "Memory the run may use, e.g. 8GiB (default: what the machine has available)");
  cmd->add_flag("--quiet", args->quiet, "No progress output");
  cmd->add_flag("--strict", args->strict,
                "Treat warnings (dropped input, a domain with nothing to simulate) as errors");
  cmd->add_flag("--overwrite", args->overwrite,
                "Replace a run file of another scenario in the output folder");
  return [args]() { return run(*args); };
}

}  // namespace citytwin::cli
