// citytwin validate SCENARIO: every check a run makes before it starts, without running.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>

#include "citytwin/resources.hpp"
#include "citytwin/sim.hpp"
#include "cli/commands.hpp"

namespace citytwin::cli {

Runner add_validate_command(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("validate", "Check a scenario and its input files without running it");
  auto path = std::make_shared<std::string>();
  auto max_memory = std::make_shared<std::string>();
  cmd->add_option("scenario", *path, "Scenario file (.toml)")->required();
  cmd->add_option("--max-memory", *max_memory,
                  "Memory a run may use, e.g. 8GiB (default: what the machine has available)");
  return [path, max_memory]() {
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
    std::cout << fmt::format("{}: valid ({} domain{}{}, {} event{}, {} buildings, {} road links)\n",
                             *path, n_domains, n_domains == 1 ? "" : "s",
                             (*model)->coupling->any() ? ", coupled" : "", n_events,
                             n_events == 1 ? "" : "s", (*model)->city->buildings.size(),
                             (*model)->city->roads.link_count());
    return k_exit_ok;
  };
}

}  // namespace citytwin::cli
