// citytwin powerflow CASE [--qlim] [--dc] [--out DIR]: one power flow on a MATPOWER case, with
// results in the column layout of MATPOWER reference CSVs.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>

#include "citytwin/parallel.hpp"
#include "citytwin/power.hpp"
#include "cli/commands.hpp"

namespace citytwin::cli {

namespace {

struct PowerflowArgs {
  std::string path;
  std::string out;
  bool qlim = false;
  bool dc = false;
  bool flat = false;
  bool fd = false;
  int max_iterations = 10;
  double tolerance = 1e-8;
  int threads = 0;
};

int run_powerflow(const PowerflowArgs& a) {
  std::vector<std::string> ignored;
  auto net = power::read_network(a.path, &ignored);
  if (!net) {
    std::cerr << net.error().to_string() << "\n";
    return k_exit_bad_input;
  }
  power::PowerFlowResult r;
  if (a.dc) {
    r = power::solve_dc(*net);
  } else {
    power::PowerFlowOptions opt;
    opt.enforce_q_limits = a.qlim;
    opt.flat_start = a.flat;
    if (a.fd) opt.method = power::PfMethod::fast_decoupled;
    opt.max_iterations = a.max_iterations;
    opt.tolerance = a.tolerance;
    TaskPool pool(a.threads);
    opt.pool = &pool;
    power::PowerFlowSolver solver(*net);
    r = solver.solve(*net, opt);
  }
  const auto& isl = r.islands;
  std::cout << fmt::format("case        {} ({} buses, {} generators, {} branches, base {} MVA)\n",
                           net->name, net->n_bus(), net->n_gen(), net->n_branch(), net->base_mva);
  if (!ignored.empty()) {
    std::string list;
    for (const auto& f : ignored) list += (list.empty() ? "" : ", ") + f;
    std::cout << fmt::format("notes       {}\n", list);
  }
  std::cout << fmt::format("method      {}{}\n",
                           a.dc ? "DC power flow" : (a.fd ? "fast-decoupled XB" : "Newton-Raphson"),
                           a.qlim ? ", Q limits enforced" : "");
  std::cout << fmt::format("islands     {} ({} de-energised)\n", isl.n_islands(),
                           isl.n_deenergised());
  if (!a.dc) {
    std::cout << fmt::format("iterations  {}{}\n", r.iterations,
                             a.qlim ? fmt::format(" in {} Q-limit rounds", r.q_rounds + 1) : "");
    const std::string where =
        r.worst_bus >= 0
            ? fmt::format(" at bus {}", net->bus_id[static_cast<std::size_t>(r.worst_bus)])
            : "";
    std::cout << fmt::format("mismatch    {:.3e} pu{}\n", r.max_mismatch, where);
  }
  std::cout << fmt::format("solve time  {:.3f} ms\n", r.solve_seconds * 1e3);
  if (!r.success()) {
    // The case has no solution from here (or the solver's limits are too tight): a property of
    // the input, with its diagnosis, not an internal error.
    std::cerr << "citytwin powerflow: " << r.diagnosis(*net) << "\n";
    return k_exit_bad_input;
  }
  if (!a.out.empty()) {
    if (auto w = power::write_results_csv(*net, r, a.out); !w) {
      std::cerr << w.error().to_string() << "\n";
      return k_exit_internal;
    }
    std::cout << fmt::format("results     {}/bus.csv, branch.csv, gen.csv\n", a.out);
  }
  return k_exit_ok;
}

}  // namespace

Runner add_powerflow_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "powerflow",
      "Solve one power flow on a MATPOWER case (.m, .m.gz) or a pandapower network (.json)");
  auto a = std::make_shared<PowerflowArgs>();
  cmd->add_option("case", a->path, "MATPOWER case (format version 2) or pandapower JSON network")
      ->required();
  cmd->add_flag("--qlim", a->qlim, "Enforce generator Q limits (MATPOWER convention)");
  cmd->add_flag("--dc", a->dc, "DC power flow instead of Newton-Raphson");
  cmd->add_flag("--fd", a->fd, "Fast-decoupled (XB) instead of Newton-Raphson");
  cmd->add_flag("--flat", a->flat, "Flat start (1 pu, 0 deg) instead of the case's voltages");
  cmd->add_option("--max-iterations", a->max_iterations, "Newton iterations per solve")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--tol", a->tolerance, "Convergence tolerance on the mismatch, pu")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--out", a->out, "Write bus.csv, branch.csv, gen.csv into this folder");
  cmd->add_option("--threads", a->threads,
                  "Worker threads of the solve (0: all cores; results do not depend on it)")
      ->check(CLI::NonNegativeNumber);
  cmd->get_option("--dc")->excludes("--qlim");
  return [a]() { return run_powerflow(*a); };
}

}  // namespace citytwin::cli
