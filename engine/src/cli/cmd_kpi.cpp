// citytwin kpi RUN [--json] [--list]: the KPIs of a finished run (docs/kpi.md).
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>

#include "citytwin/kpi.hpp"
#include "cli/commands.hpp"

namespace citytwin::cli {

std::string run_file_path(const std::string& run) {
  return std::filesystem::is_directory(run) ? (std::filesystem::path(run) / "run.h5").string()
                                            : run;
}

std::string format_kpi(double v) {
  if (std::isnan(v)) return "n/a";
  if (v == std::floor(v) && std::abs(v) < 1e15) return fmt::format("{:.0f}", v);
  return fmt::format("{:.4g}", v);
}

namespace {

struct KpiOptions {
  std::string run;
  bool json = false, list = false;
};

int print_definitions(bool json) {
  nlohmann::ordered_json j = nlohmann::ordered_json::array();
  for (const KpiDef& d : kpi_definitions()) {
    if (!json) {
      fmt::print("{:<36} {:<6} {}\n", d.id, d.unit, d.definition);
      continue;
    }
    j.push_back({{"id", d.id},
                 {"domain", d.domain},
                 {"label", d.label},
                 {"unit", d.unit},
                 {"better", static_cast<int>(d.better)},
                 {"definition", d.definition},
                 {"source", d.source}});
  }
  if (json) std::cout << j.dump(2) << "\n";
  return k_exit_ok;
}

int run_kpi(const KpiOptions& o) {
  if (o.list) return print_definitions(o.json);
  if (o.run.empty()) {
    std::cerr << "citytwin kpi: give a run file or its output folder (or --list)\n";
    return k_exit_bad_input;
  }
  const std::string path = run_file_path(o.run);
  auto k = compute_kpis(path);
  if (!k) {
    std::cerr << "citytwin kpi: " << k.error().to_string() << "\n";
    return k_exit_bad_input;
  }
  const auto defs = kpi_definitions();
  if (o.json) {
    nlohmann::ordered_json j;
    j["run"] = path;
    j["scenario"] = k->scenario_name;
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    for (std::size_t i = 0; i < defs.size(); ++i) {
      nlohmann::ordered_json r = {
          {"id", defs[i].id}, {"label", defs[i].label}, {"unit", defs[i].unit}};
      r["value"] =
          std::isnan(k->value[i]) ? nlohmann::ordered_json() : nlohmann::ordered_json(k->value[i]);
      if (!k->missing[i].empty()) r["missing"] = k->missing[i];
      rows.push_back(std::move(r));
    }
    j["kpis"] = std::move(rows);
    std::cout << j.dump(2) << "\n";
    return k_exit_ok;
  }
  fmt::print("{} ({})\n", k->scenario_name, path);
  std::string_view domain;
  for (std::size_t i = 0; i < defs.size(); ++i) {
    if (std::isnan(k->value[i])) continue;
    if (defs[i].domain != domain) fmt::print("\n{}\n", domain = defs[i].domain);
    fmt::print("  {:<40} {:>12} {}\n", defs[i].label, format_kpi(k->value[i]),
               defs[i].unit == "1" ? "" : defs[i].unit);
  }
  return k_exit_ok;
}

}  // namespace

Runner add_kpi_command(CLI::App& app) {
  auto o = std::make_shared<KpiOptions>();
  CLI::App* c = app.add_subcommand(
      "kpi", "The key performance indicators of a finished run (docs/kpi.md defines them)");
  c->add_option("run", o->run, "run file (run.h5) or the output folder holding it");
  c->add_flag("--json", o->json, "print JSON (null where the run cannot give a KPI, with why)");
  c->add_flag("--list", o->list, "list every KPI with its unit and definition");
  return [o] { return run_kpi(*o); };
}

}  // namespace citytwin::cli
