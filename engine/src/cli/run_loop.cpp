// What `citytwin run` and `citytwin resume` share: loading the scenario as the run names it,
// the stepping loop with its progress line, checkpoints and output errors, and the summary.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include "citytwin/io.hpp"
#include "citytwin/live.hpp"
#include "citytwin/sim.hpp"
#include "citytwin/traffic.hpp"
#include "cli/run_loop.hpp"

namespace citytwin::cli {

namespace {

using Clock = std::chrono::steady_clock;

// Progress on a terminal: one line redrawn in place; otherwise a log line every 10 %.
class Progress {
 public:
  Progress(SimTime begin, SimTime end, bool quiet)
      : m_begin(begin), m_end(end), m_quiet(quiet), m_tty(isatty(STDERR_FILENO) != 0) {}

  void update(SimTime t, double wall_s, const Pacing& pacing) {
    if (m_quiet || m_end <= m_begin) return;
    const std::string lag =
        pacing.factor > 0 ? fmt::format("  lag {:.2f}s", pacing.lag_s) : std::string();
    const double frac = static_cast<double>(t - m_begin) / static_cast<double>(m_end - m_begin);
    if (m_tty) {
      const auto now = Clock::now();
      if (t < m_end && now - m_last_draw < std::chrono::milliseconds(100)) return;
      m_last_draw = now;
      const int width = 30, filled = static_cast<int>(frac * width);
      const double speed = wall_s > 0 ? to_seconds(t - m_begin) / wall_s : 0;
      const double eta = frac > 0 ? wall_s * (1 - frac) / frac : 0;
      std::cerr << fmt::format(
          "\r[{:<{}}] {:>5.1f}%  sim {} / {}  {:.0f}x real time{}  ETA {:.0f}s   ",
          std::string(static_cast<std::size_t>(filled), '#'), width, 100 * frac, format_duration(t),
          format_duration(m_end), speed, lag, eta);
      if (t >= m_end) std::cerr << "\n";
    } else if (frac >= m_next_log || t >= m_end) {
      spdlog::info("{:3.0f}%  simulated {} of {} in {:.1f} s{}", 100 * frac, format_duration(t),
                   format_duration(m_end), wall_s, lag);
      while (m_next_log <= frac) m_next_log += 0.1;
    }
  }

 private:
  SimTime m_begin, m_end;
  bool m_quiet, m_tty;
  double m_next_log = 0.1;
  Clock::time_point m_last_draw{};
};

// A SUMO configuration run as it is: a traffic-only scenario naming it (docs/cli.md). The run
// lasts until the configuration's <end> (or --until when it has none).
Result<ScenarioSpec> load_sumocfg(const std::string& path, const std::string& until) {
  auto cfg = traffic::read_sumocfg(path);
  if (!cfg) return fail(cfg.error());
  std::string duration;
  if (cfg->end_s > 0)
    duration = fmt::format("{}ms", static_cast<std::int64_t>(std::llround(cfg->end_s * 1000)));
  else if (!until.empty())
    duration = until;
  else
    return fail(Error::msg("the configuration has no <end value=\"...\"/>: pass --until", path));
  const std::filesystem::path p(path);
  const std::string text =
      fmt::format("[scenario]\nname = \"{}\"\nduration = \"{}\"\n[traffic]\nsumocfg = \"{}\"\n",
                  p.stem().string(), duration, p.filename().string());
  return parse_scenario(text, path, builtin_domain_infos());
}

// The step loop of a live run (the session's turns; the run paces itself): a paused drill
// keeps taking messages (every 50 ms of wall time) without stepping.
void drive_live(Run& run, live::LiveSession& live, RunRecorder& rec) {
  live::LiveSession::Control control;
  while (!run.done()) {
    if (!live.turn(run, &rec.writer(), control))
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace

[[noreturn]] void output_failed(const std::string& h5, const OutputError& e, SimTime flushed) {
  std::cerr << fmt::format(
      "citytwin: the run stopped: cannot write {}: {}\n{}\n", h5, e.what(),
      flushed >= 0 ? fmt::format("the file holds the frames up to {} (its last flush) and is "
                                 "marked unfinished (/meta complete = 0)",
                                 format_duration(flushed))
                   : std::string("the file holds no frame"));
  // Ends here, without the usual exit: HDF5 1.10's library shutdown crashes (SIGSEGV in
  // H5F__close_cb) on a file whose close failed. Nothing is left to write.
  std::cout.flush();
  std::cerr.flush();
  std::_Exit(k_exit_internal);
}

Result<SimTime> checkpoint_interval(const std::string& text) {
  if (text.empty()) return SimTime{0};
  auto d = parse_duration(text);
  if (!d || *d <= 0)
    return fail(Error::msg(
        fmt::format("--checkpoint-every: \"{}\" is not a positive duration (e.g. 10min)", text)));
  return *d;
}

void add_realtime_option(CLI::App& cmd, RealtimeArg& arg) {
  arg.option = cmd.add_option("--realtime", arg.factor,
                              "Advance simulated time no faster than FACTOR x the wall clock "
                              "(default 1: real time); the lag is reported")
                   ->expected(0, 1)
                   ->type_name("[FACTOR]");
}

Result<double> realtime_factor(const RealtimeArg& arg) {
  if (arg.option == nullptr || arg.option->count() == 0) return 0.0;
  if (arg.factor.empty()) return 1.0;
  char* end = nullptr;
  const double f = std::strtod(arg.factor.c_str(), &end);
  if (end == arg.factor.c_str() || *end != '\0' || !(f > 0) || !std::isfinite(f))
    return fail(Error::msg(fmt::format(
        "--realtime: \"{}\" is not a positive factor (simulated seconds per wall second, e.g. 60)",
        arg.factor)));
  return f;
}

Result<ScenarioSpec> load_run_spec(const std::string& scenario, const std::string& until) {
  auto spec =
      scenario.ends_with(".sumocfg") ? load_sumocfg(scenario, until) : load_scenario(scenario);
  if (!spec) return spec;
  if (!until.empty()) {
    auto t = parse_duration(until);
    if (!t || *t > spec->run.duration || *t <= 0)
      return fail(Error::msg(fmt::format("--until: \"{}\" is not a duration within the "
                                         "scenario's {} (e.g. 10min)",
                                         until, format_duration(spec->run.duration)),
                             scenario));
    spec->run.duration = *t;
    std::erase_if(spec->events, [&](const EventSpec& e) { return e.at > *t; });
  }
  return spec;
}

Result<void> checkpoint_run(const Model& m, const SimState& s, SimTime started_duration,
                            RunRecorder& rec, const std::string& path) {
  Checkpoint c;
  c.scenario_path = std::filesystem::absolute(m.spec.path).string();
  c.scenario_text = m.spec.resolved_text;
  c.duration = started_duration;
  c.state_hash = hash_state(m, s);
  auto image = save_state(m, s);
  if (!image) return fail(image.error());
  c.image = std::move(*image);
  c.recorder = rec.mark();
  return write_checkpoint(path, c);
}

int drive_run(Run& run, std::unique_ptr<RunRecorder> recorder, const DriveOptions& o) {
  const Model& m = run.model();
  const std::string checkpoint_path =
      (std::filesystem::path(o.h5).parent_path() / "checkpoint.h5").string();
  SimTime next_checkpoint = -1;
  if (o.checkpoint_every > 0)
    next_checkpoint = (run.state().t / o.checkpoint_every + 1) * o.checkpoint_every;
  Progress progress(run.state().t, m.spec.run.duration, o.quiet);
  RunRecorder& rec = *recorder;
  const auto t_loop = Clock::now();
  const SimTime t_begin = run.state().t;
  std::vector<SummaryRow> rows;
  std::string checkpoint_error;
  std::int64_t checkpoints = 0;
  bool warned_late = false;
  try {
    // The start frame is on time by definition; pacing starts once it is written (creating
    // every series and starting SWMR take longer than a paced step).
    if (o.live && !o.resumed) o.live->create_journal(run, rec.writer());
    if (!o.resumed) rec.observe(run.state(), o.realtime > 0 ? 0.0 : run.pacing().lag_s);
    if (o.realtime > 0) run.pace(o.realtime);
    run.observe([&](const SimState& s) {
      const Pacing& pacing = run.pacing();
      rec.observe(s, pacing.lag_s);
      if (pacing.late_steps > 0 && !warned_late) {
        spdlog::warn(
            "--realtime {}: at {} simulated time is {:.2f} s behind the wall clock, more "
            "than one macro step; late steps are counted in the summary",
            pacing.factor, format_duration(s.t), pacing.lag_s);
        warned_late = true;
      }
      if (next_checkpoint >= 0 && s.t >= next_checkpoint && checkpoint_error.empty()) {
        if (auto w = checkpoint_run(m, s, o.started_duration, rec, checkpoint_path); !w)
          checkpoint_error = w.error().to_string();
        else
          ++checkpoints;
        while (next_checkpoint <= s.t) next_checkpoint += o.checkpoint_every;
      }
      progress.update(s.t, std::chrono::duration<double>(Clock::now() - t_loop).count(), pacing);
    });
    std::unique_ptr<live::Forker> forker;
    if (o.live) {
      forker = process_forker(m, o.started_duration, rec);
      o.live->set_forker(forker.get());
      drive_live(run, *o.live, rec);
    } else {
      run.run_until(m.spec.run.duration);
    }
    rows = rec.finish(run.state(), run.pacing().lag_s,
                      [&](RunWriter& w, std::vector<SummaryRow>& summary) {
                        if (o.live) o.live->finish(w, summary);
                      });
    if (o.live) o.live->set_forker(nullptr);
  } catch (const OutputError& e) {
    output_failed(o.h5, e, rec.flushed());
  }
  const SimState& state = run.state();
  const double loop_s = std::chrono::duration<double>(Clock::now() - t_loop).count();
  recorder.reset();  // closes the file
  if (!checkpoint_error.empty()) {
    std::cerr << "citytwin: a checkpoint failed (the run went on): " << checkpoint_error << "\n";
    return k_exit_internal;
  }

  const double sim_s = to_seconds(state.t - t_begin);
  std::vector<SummaryRow> head = {
      {"run", "scenario", m.spec.run.name},
      {"run", "simulated", format_duration(state.t)},
  };
  if (o.resumed) head.push_back({"run", "resumed at", format_duration(t_begin)});
  std::vector<SummaryRow> more = {
      {"run", "steps", std::to_string(state.step)},
      {"run", "threads", std::to_string(run.pool().threads())},
      {"run", "load + import", fmt::format("{:.2f} s", o.load_s)},
      {"run", "simulation wall time", fmt::format("{:.2f} s", loop_s)},
      {"run", "speed", loop_s > 0 ? fmt::format("{:.0f}x real time", sim_s / loop_s) : "-"},
      {"run", "state hash", hash_hex(hash_state(m, state))},
      {"run", "output", o.h5},
  };
  head.insert(head.end(), more.begin(), more.end());
  if (const Pacing& p = run.pacing(); p.factor > 0) {
    head.push_back({"run", "realtime", fmt::format("{:g}x the wall clock", p.factor)});
    head.push_back({"run", "max lag", fmt::format("{:.3f} s", p.max_lag_s)});
    head.push_back({"run", "late steps",
                    fmt::format("{} (lag over one macro step, {} s)", p.late_steps,
                                to_seconds(m.spec.run.step))});
  }
  if (checkpoints > 0)
    head.push_back(
        {"run", "checkpoint", fmt::format("{} ({} written)", checkpoint_path, checkpoints)});
  rows.insert(rows.begin(), head.begin(), head.end());
  std::size_t w_domain = 6, w_key = 3;
  for (const SummaryRow& r : rows)
    w_domain = std::max(w_domain, r.domain.size()), w_key = std::max(w_key, r.key.size());
  std::cout << fmt::format("{:<{}}  {:<{}}  {}\n", "domain", w_domain, "key", w_key, "value");
  for (const SummaryRow& r : rows)
    std::cout << fmt::format("{:<{}}  {:<{}}  {}\n", r.domain, w_domain, r.key, w_key, r.value);
  return k_exit_ok;
}

}  // namespace citytwin::cli
