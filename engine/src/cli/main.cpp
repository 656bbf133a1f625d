// citytwin: the command-line interface (docs/cli.md).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <malloc.h>

#include <exception>
#include <iostream>

#include "cli/commands.hpp"

int main(int argc, char** argv) {
  using namespace citytwin::cli;
  // Keep large freed buffers in the heap instead of unmapping them: an output frame's buffers
  // (megabytes for a city's flood grid) were mapped and unmapped every frame, and on a virtual
  // machine the page faults of touching them again cost 20-40 ms per frame, over the 17 ms a
  // --realtime 60 step has (live: realtime). Up to 256 MiB of free heap stays with the process.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  CLI::App app{"CityTwin: a digital-twin city simulation engine (traffic, flood, power grid)",
               "citytwin"};
  app.set_version_flag("--version", std::string("citytwin ") + CITYTWIN_VERSION);
  app.require_subcommand(1);
  app.footer(R"(Examples:
  citytwin run scenarios/monaco.toml                 run the Monaco demo, outputs in out/monaco/
  citytwin run scenarios/monaco.toml --until 10min --threads 2 --out /tmp/m
  citytwin run scenarios/monaco.toml --checkpoint-every 10min
  citytwin resume out/monaco --until 1h             continue from out/monaco/checkpoint.h5
  citytwin fork out/monaco --until +30min --vary flood.rain.intensity=0mm/h,60mm/h
  citytwin batch scenarios/batch/monaco-rain-sweep.toml   members in out/batch/<name>/
  citytwin info scenarios/monaco.toml --json         what the city import found
  citytwin validate my_variant.toml                  check a scenario without running it
  citytwin kpi out/monaco                           the run's KPIs (docs/kpi.md)
  citytwin compare out/monaco out/monaco-levee      KPI deltas, maps, out/compare/report.html
  citytwin powerflow case118.m --qlim --out /tmp/pf  one AC power flow, results as CSV

Exit codes: 0 success, 2 bad input (the message names file:line:column), 1 internal error.)");
  std::vector<std::pair<CLI::App*, Runner>> commands;
  auto add = [&](Runner (*adder)(CLI::App&)) {
    const std::size_t before = app.get_subcommands({}).size();
    Runner r = adder(app);
    commands.emplace_back(app.get_subcommands({}).at(before), std::move(r));
  };
  add(add_run_command);
  add(add_resume_command);
  add(add_fork_command);
  add(add_batch_command);
  add(add_info_command);
  add(add_validate_command);
  add(add_powerflow_command);
  add(add_render_command);
  add(add_kpi_command);
  add(add_compare_command);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? k_exit_ok : k_exit_bad_input;
  }
  // Logs and progress go to stderr; results (tables, JSON) to stdout.
  spdlog::set_default_logger(spdlog::stderr_color_mt("citytwin"));
  spdlog::set_pattern("%^[%l]%$ %v");
  try {
    for (auto& [sub, run] : commands)
      if (sub->parsed()) return run();
  } catch (const std::exception& e) {
    std::cerr << "citytwin: internal error: " << e.what() << "\n";
    return k_exit_internal;
  }
  return k_exit_internal;
}
