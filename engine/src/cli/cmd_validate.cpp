// citytwin validate SCENARIO: every check a run makes before it starts, without running.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>

#include "citytwin/resources.hpp"
#include "citytwin/sim.hpp"
#include "cli/commands.hpp"

namespace citytwin::cli {

bool report_warnings(const Model& model, bool strict) {
  for (const Diagnostic& d : model.warnings)
    std::cerr << (strict ? "error (--strict): " : "warning: ") << d.to_string() << "\n";
  return !(strict && !model.warnings.empty());
}

std::string describe_resources(const Model& model, const RunEstimate& e,
                               std::vector<Diagnostic>& warnings) {
  const std::string& dir = model.spec.output.dir;
  if (const auto free = static_cast<double>(free_disk(dir)); free > 0 && e.file_bytes > free)
    warnings.push_back(Diagnostic::at(
        model.spec.path, 0, "output.dir",
        fmt::format("the run file may grow to {} ({} frames, before compression); {} has {} "
                    "free",
                    format_bytes(e.file_bytes), e.frames, dir, format_bytes(free)),
        "", "more free space, a longer output.every, or another --out"));
  return fmt::format(
      "memory about {} (city {}, models {}, one state {}); run file up to {} over {} frames",
      format_bytes(e.memory()), format_bytes(e.city_bytes), format_bytes(e.model_bytes),
      format_bytes(e.state_bytes), format_bytes(e.file_bytes), e.frames);
}

Runner add_validate_command(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("validate", "Check a scenario and its input files without running it");
  auto path = std::make_shared<std::string>();
  auto max_memory = std::make_shared<std::string>();
  auto strict = std::make_shared<bool>(false);
  cmd->add_option("scenario", *path, "Scenario file (.toml) or LISFLOOD-FP case (.par)")
      ->required();
  cmd->add_option("--max-memory", *max_memory,
                  "Memory a run may use, e.g. 8GiB (default: what the machine has available)");
  cmd->add_flag("--strict", *strict,
                "Treat warnings (dropped input, a domain with nothing to simulate) as errors");
  return [path, max_memory, strict]() {
    auto spec = load_scenario(*path);
    if (!spec) {
      std::cerr << spec.error().to_string() << "\n";
      return k_exit_bad_input;
    }
    if (!max_memory->empty()) {
      auto bytes = parse_bytes(*max_memory);
      if (!bytes) {
        std::cerr << fmt::format("--max-memory: \"{}\" is not {}\n", *max_memory, bytes.error());
        return k_exit_bad_input;
      }
      spec->run.max_memory = *bytes;
    }
    const std::size_t n_domains = spec->domains.size(), n_events = spec->events.size();
    auto model = compile_model(std::move(*spec));
    if (!model) {
      std::cerr << model.error().to_string() << "\n";
      return k_exit_bad_input;
    }
    std::vector<Diagnostic> disk;
    const std::string resources = describe_resources(**model, estimate_run(**model), disk);
    if (!report_warnings(**model, *strict)) return k_exit_bad_input;
    for (const Diagnostic& d : disk) std::cerr << "warning: " << d.to_string() << "\n";
    std::cout << fmt::format(
        "{}: valid ({} domain{}{}, {} event{}, {} buildings, {} road links{})\n", *path, n_domains,
        n_domains == 1 ? "" : "s", (*model)->coupling->any() ? ", coupled" : "", n_events,
        n_events == 1 ? "" : "s", (*model)->city->buildings.size(),
        (*model)->city->roads.link_count(),
        (*model)->warnings.empty() ? ""
                                   : fmt::format(", {} warning{}", (*model)->warnings.size(),
                                                 (*model)->warnings.size() == 1 ? "" : "s"));
    std::cout << "  " << resources << "\n";
    return k_exit_ok;
  };
}

}  // namespace citytwin::cli
