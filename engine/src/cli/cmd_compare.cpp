// citytwin compare BASE VARIANT --out DIR [--render]: a variant against its baseline
// (docs/compare.md).
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>

#include "citytwin/compare.hpp"
#include "cli/commands.hpp"

extern char** environ;

namespace citytwin::cli {

namespace {

struct CompareCliOptions {
  std::string base, variant, out = "out/compare";
  bool render = false;
};

// `citytwin render RUN --at T --out PNG` of this same executable; false when it failed (no
// display, no viewer).
bool render(const std::string& run, double t, const std::string& png) {
  std::error_code ec;
  const std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (ec) return false;
  std::vector<std::string> args{self,    "render", run, "--at", fmt::format("{:.0f}s", t),
                                "--out", png};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv.data(), environ) != 0) return false;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int run_ensemble(const CompareCliOptions& o) {
  auto e = compare_ensemble(o.base, o.out);
  if (!e) {
    std::cerr << "citytwin compare: " << e.error().to_string() << "\n";
    return k_exit_bad_input;
  }
  fmt::print("ensemble of {} runs under {}\n", e->members.size(), o.base);
  fmt::print("  {:<40} {:>12} {:>12} {:>12}\n", "indicator", "min", "mean", "max");
  const auto defs = kpi_definitions();
  for (std::size_t i = 0; i < defs.size(); ++i) {
    double lo = INFINITY, hi = -INFINITY, sum = 0, n = 0;
    for (const KpiValues& m : e->members)
      if (!std::isnan(m.value[i]))
        lo = std::min(lo, m.value[i]), hi = std::max(hi, m.value[i]), sum += m.value[i], ++n;
    if (n == 0 || lo == hi) continue;  // the rows that vary; ensemble_stats.csv has every one
    fmt::print("  {:<40} {:>12} {:>12} {:>12} {}\n", defs[i].label, format_kpi(lo),
               format_kpi(sum / n), format_kpi(hi), defs[i].unit == "1" ? "" : defs[i].unit);
  }
  fmt::print("{} files in {}\n", e->files.size(), o.out);
  return k_exit_ok;
}

int run_compare(const CompareCliOptions& o) {
  if (o.variant.empty()) return run_ensemble(o);
  const auto t0 = std::chrono::steady_clock::now();
  CompareOptions opt{run_file_path(o.base), run_file_path(o.variant), o.out};
  auto c = compare_runs(opt);
  if (!c) {
    std::cerr << "citytwin compare: " << c.error().to_string() << "\n";
    return k_exit_bad_input;
  }
  if (o.render) {
    // Both runs drawn by the viewer at the largest difference and at the end.
    for (const auto& [what, t] :
         {std::pair{"peak", c->peak_time_s}, std::pair{"end", c->end_time_s}})
      for (const auto& [name, run] :
           {std::pair{"base", opt.base}, std::pair{"variant", opt.variant}}) {
        const std::string png = fmt::format("{}/render_{}_{}.png", o.out, name, what);
        if (!render(run, t, png)) {
          std::cerr << "citytwin compare: warning: could not render " << run
                    << " (the viewer needs an X display: run under xvfb-run); the report "
                       "goes without the 3D pictures\n";
          continue;
        }
        c->files.push_back(png);
        c->pictures.emplace_back(
            fmt::format("{} run at {:.0f} min ({})", name, t / 60.0,
                        std::string_view(what) == "peak" ? "the largest difference" : "the end"),
            png);
      }
  }
  auto report = write_report(*c, opt);
  if (!report) {
    std::cerr << "citytwin compare: " << report.error().to_string() << "\n";
    return k_exit_bad_input;
  }
  c->files.push_back(*report);
  const auto defs = kpi_definitions();
  fmt::print("{} against {}: largest difference at {:.1f} min\n", c->variant.scenario_name,
             c->base.scenario_name, c->peak_time_s / 60.0);
  fmt::print("  {:<40} {:>12} {:>12} {:>12}\n", "indicator", "base", "variant", "change");
  for (std::size_t i = 0; i < defs.size(); ++i) {
    const double b = c->base.value[i], v = c->variant.value[i];
    if (std::isnan(b) && std::isnan(v)) continue;
    if (b == v) continue;  // the table on screen shows what changed; kpi.csv has every row
    fmt::print("  {:<40} {:>12} {:>12} {:>12} {}\n", defs[i].label, format_kpi(b), format_kpi(v),
               format_kpi(v - b), defs[i].unit == "1" ? "" : defs[i].unit);
  }
  fmt::print("{} files in {} ({:.1f} s); open {}\n", c->files.size(), o.out,
             std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), *report);
  return k_exit_ok;
}

}  // namespace

Runner add_compare_command(CLI::App& app) {
  auto o = std::make_shared<CompareCliOptions>();
  CLI::App* c = app.add_subcommand(
      "compare",
      "A variant run against its baseline (KPI deltas, difference maps, report.html), or an "
      "ensemble: every run under one folder (KPI distributions, exceedance maps)");
  c->add_option("base", o->base,
                "the baseline's run file or output folder; alone: a folder of runs (an ensemble)")
      ->required();
  c->add_option("variant", o->variant, "the variant's run file or output folder");
  c->add_option("--out", o->out, "output folder (default out/compare)");
  c->add_flag("--render", o->render,
              "also render both runs in 3D at the largest difference and at the end (needs an X "
              "display, e.g. xvfb-run)");
  return [o] { return run_compare(*o); };
}

}  // namespace citytwin::cli
