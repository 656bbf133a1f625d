// The `citytwin` command's subcommands. Each add_*_command() registers its subcommand with
// its options and returns the function main() calls when that subcommand was chosen; the
// function returns the process exit code: 0 success, 2 bad input, 1 internal error.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "citytwin/error.hpp"

namespace CLI {
class App;
}

namespace citytwin {
struct Model;
struct RunEstimate;
}  // namespace citytwin

namespace citytwin::cli {

constexpr int k_exit_ok = 0;
constexpr int k_exit_internal = 1;
constexpr int k_exit_bad_input = 2;

using Runner = std::function<int()>;

/// Prints the model's warnings to stderr ("warning: file:line: field: ..."), as errors when
/// `strict` (`--strict`); returns false when the command must stop (strict and any warning).
bool report_warnings(const Model& model, bool strict);

/// The run's estimated resources (estimate_run), one line for `validate`, `info` and the run
/// log; and a warning when the run file could outgrow the free disk of its output folder
/// (appended to `warnings`).
std::string describe_resources(const Model& model, const RunEstimate& e,
                               std::vector<Diagnostic>& warnings);

Runner add_run_command(CLI::App& app);
Runner add_resume_command(CLI::App& app);
Runner add_fork_command(CLI::App& app);
Runner add_batch_command(CLI::App& app);
Runner add_info_command(CLI::App& app);
Runner add_validate_command(CLI::App& app);
Runner add_powerflow_command(CLI::App& app);
Runner add_render_command(CLI::App& app);
Runner add_kpi_command(CLI::App& app);
Runner add_compare_command(CLI::App& app);

/// A run file given as itself or as the output folder holding run.h5.
std::string run_file_path(const std::string& run);
/// A KPI value for a table: integers without decimals, others to 4 significant digits, "n/a".
std::string format_kpi(double v);

}  // namespace citytwin::cli
