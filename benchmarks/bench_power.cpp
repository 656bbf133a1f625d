// Power-flow benchmarks on real transmission cases (tests/data/power/matpower).
//  power.nr.<case>: Newton-Raphson AC power flow, cold and warm in separate fields.
//    cold_*: a new solver built from the parsed network (Ybus and its pattern, Jacobian block
//      pattern, AMD ordering, symbolic factorisation) and a solve from the case's values
//      (MATPOWER runpf's start), 20 repetitions.
//    warm_*: a reused solver (patterns and symbolic factorisation kept) starting from the
//      previous solution after a 1 % load step -- the time-series situation -- 30 steps.
//    Both solve with PowerFlowOptions::pool, a TaskPool of --threads workers.
//    *_ms_min / *_ms_median: wall time per power flow; *_cpu_ms_median: the process's CPU time
//    over all threads (on a shared machine wall time includes waiting for a core). rate: warm
//    power flows per second of wall time.
//  power.dc.<case>: DC power flow including the KLU factorisation of B'.
//  power.n1.<case>: N-1 over branches, contingencies spread over the TaskPool with one solver
//    and one network copy per worker (built and primed on the base case before the clock
//    starts), each starting from the base-case solution; a Newton power flow per outage
//    (power.n1fd: fast-decoupled, Newton where it fails). cpu_s: CPU time of the process during
//    the run (all threads).
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "bench.hpp"
#include "citytwin/parallel.hpp"
#include "citytwin/power.hpp"

namespace {

using namespace citytwin;
using Clock = std::chrono::steady_clock;

power::Network load_case(const std::string& name) {
  const std::string p = bench::source_dir() + "/tests/data/power/matpower/cases/" + name + ".m.gz";
  auto net = power::read_matpower(p);
  if (!net) {
    std::fprintf(stderr, "%s\n", net.error().to_string().c_str());
    std::exit(2);
  }
  return *net;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double cpu_seconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

bench::Result bench_nr(const std::string& name, int threads) {
  const power::Network net = load_case(name);
  TaskPool pool(threads);
  power::PowerFlowOptions opt;
  opt.pool = &pool;
  std::vector<double> cold, cold_cpu, warm, warm_cpu;
  int iterations = 0;
  constexpr int k_cold = 20, k_warm = 30;
  for (int r = 0; r < k_cold; ++r) {
    const double c0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
    const auto t0 = Clock::now();
    power::PowerFlowSolver solver(net);
    const auto res = solver.solve(net, opt);
    cold.push_back(seconds_since(t0));
    cold_cpu.push_back(cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0);
    iterations = res.iterations;
    if (!res.success()) std::fprintf(stderr, "%s\n", res.diagnosis(net).c_str());
  }
  // Warm: a time-series step. The solver is reused and starts from the previous solution;
  // every load moves by 1 % between steps (alternately up and down).
  power::Network step = net;
  power::PowerFlowSolver solver(net);
  power::PowerFlowResult res;
  solver.solve(step, opt, res);
  opt.warm_start = true;
  int warm_iterations = 0;
  const auto t_all = Clock::now();
  for (int r = 0; r < k_warm; ++r) {
    const double scale = r % 2 == 0 ? 1.01 : 1.0;
    for (int i = 0; i < net.n_bus(); ++i) {
      step.bus_pd[i] = net.bus_pd[i] * scale;
      step.bus_qd[i] = net.bus_qd[i] * scale;
    }
    const double c0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
    const auto t0 = Clock::now();
    solver.solve(step, opt, res);
    warm.push_back(seconds_since(t0));
    warm_cpu.push_back(cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0);
    warm_iterations += res.iterations;
    if (!res.success()) std::fprintf(stderr, "%s\n", res.diagnosis(step).c_str());
  }
  const double wall = seconds_since(t_all);
  bench::Result out;
  out.rate = k_warm / wall;
  out.unit = "power_flows/s";
  out.wall_s = wall;
  out.size = {{"buses", net.n_bus()},
              {"branches", net.n_branch()},
              {"cold_repetitions", k_cold},
              {"cold_iterations", iterations},
              {"cold_ms_min", *std::min_element(cold.begin(), cold.end()) * 1e3},
              {"cold_ms_median", median(cold) * 1e3},
              {"cold_cpu_ms_median", median(cold_cpu) * 1e3},
              {"warm_repetitions", k_warm},
              {"warm_iterations_mean", warm_iterations / static_cast<double>(k_warm)},
              {"warm_ms_min", *std::min_element(warm.begin(), warm.end()) * 1e3},
              {"warm_ms_median", median(warm) * 1e3},
              {"warm_cpu_ms_median", median(warm_cpu) * 1e3}};
  out.notes = {{"cold", "new solver from the parsed network, start from case VM/VA and set-points"},
               {"warm", "reused solver, start from the previous solution, loads +-1 % per step"},
               {"matpower_octave_ms",
                name == "case9241pegase" ? "620 (issue #5, MATPOWER 8 runpf)" : "n/a"}};
  return out;
}

bench::Result bench_dc(const std::string& name) {
  const power::Network net = load_case(name);
  std::vector<double> t;
  const auto t_all = Clock::now();
  for (int r = 0; r < 30; ++r) {
    const auto t0 = Clock::now();
    const auto res = power::solve_dc(net);
    t.push_back(seconds_since(t0));
  }
  const double wall = seconds_since(t_all);
  bench::Result out;
  out.rate = 30 / wall;
  out.unit = "power_flows/s";
  out.wall_s = wall;
  out.size = {{"buses", net.n_bus()}, {"branches", net.n_branch()}, {"ms_median", median(t) * 1e3}};
  return out;
}

// N-1 over a fixed, evenly spaced sample of in-service branches.
bench::Result bench_n1(const std::string& name, int threads, int n_contingencies, bool fd) {
  const power::Network net = load_case(name);
  std::vector<std::int32_t> outage;
  for (std::int32_t k = 0; k < net.n_branch(); ++k)
    if (net.br_on[k]) outage.push_back(k);
  const std::size_t stride =
      std::max<std::size_t>(1, outage.size() / static_cast<std::size_t>(n_contingencies));
  std::vector<std::int32_t> sample;
  for (std::size_t i = 0;
       i < outage.size() && sample.size() < static_cast<std::size_t>(n_contingencies); i += stride)
    sample.push_back(outage[i]);

  TaskPool pool(threads);
  // Per-worker scratch: a network copy to open the branch in, a solver and a result.
  struct Scratch {
    power::Network net;
    std::unique_ptr<power::PowerFlowSolver> solver;
    power::PowerFlowResult res;
  };
  std::vector<Scratch> scratch(static_cast<std::size_t>(pool.threads()));
  // Base case once; every contingency starts from its solution (deterministic for any
  // thread count).
  power::PowerFlowSolver base_solver(net);
  const power::PowerFlowResult base = base_solver.solve(net, {});
  power::PowerFlowOptions opt;
  opt.warm_start = true;
  opt.method = fd ? power::PfMethod::fast_decoupled : power::PfMethod::newton;
  power::PowerFlowOptions newton_opt;
  newton_opt.warm_start = true;
  std::vector<std::uint8_t> fallback(sample.size(), 0);
  for (auto& s : scratch) {
    s.net = net;
    s.solver = std::make_unique<power::PowerFlowSolver>(net);
    s.solver->solve(s.net, opt, s.res);  // patterns and symbolic analysis once per worker
  }
  std::vector<std::uint8_t> converged(sample.size(), 0);
  std::vector<std::int32_t> islands(sample.size(), 0), iterations(sample.size(), 0);
  const double c0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  const auto t0 = Clock::now();
  pool.for_blocks(static_cast<std::int64_t>(sample.size()), 1,
                  [&](std::int64_t b, std::int64_t e, int w) {
                    Scratch& s = scratch[static_cast<std::size_t>(w)];
                    for (std::int64_t c = b; c < e; ++c) {
                      const std::int32_t k = sample[static_cast<std::size_t>(c)];
                      s.net.br_on[k] = 0;
                      s.solver->set_start(base.bus_vm, base.bus_va);
                      s.solver->solve(s.net, opt, s.res);
                      if (fd && !s.res.success()) {  // screening failed: Newton decides
                        fallback[static_cast<std::size_t>(c)] = 1;
                        s.solver->set_start(base.bus_vm, base.bus_va);
                        s.solver->solve(s.net, newton_opt, s.res);
                      }
                      s.net.br_on[k] = 1;
                      converged[static_cast<std::size_t>(c)] = s.res.success() ? 1 : 0;
                      islands[static_cast<std::size_t>(c)] = s.res.islands.n_islands();
                      iterations[static_cast<std::size_t>(c)] = s.res.iterations;
                    }
                  });
  const double wall = seconds_since(t0);
  const double cpu = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
  int n_conv = 0, n_split = 0;
  double n_iter = 0;
  for (std::size_t c = 0; c < sample.size(); ++c) {
    n_conv += converged[c];
    n_split += islands[c] > 1 ? 1 : 0;
    n_iter += iterations[c];
  }
  bench::Result out;
  out.rate = static_cast<double>(sample.size()) / wall;
  out.unit = "contingencies/s";
  out.wall_s = wall;
  out.size = {{"buses", net.n_bus()},
              {"contingencies", static_cast<double>(sample.size())},
              {"converged", n_conv},
              {"not_converged", static_cast<double>(sample.size()) - n_conv},
              {"islanding", n_split},
              {"iterations_mean", n_iter / static_cast<double>(sample.size())},
              {"cpu_s", cpu},
              {"ms_per_contingency_cpu", cpu / static_cast<double>(sample.size()) * 1e3},
              {"newton_fallbacks", std::count(fallback.begin(), fallback.end(), 1)}};
  out.notes = {{"start", "base-case solution"},
               {"method", fd ? "fast-decoupled XB, Newton when it fails" : "Newton-Raphson"}};
  return out;
}

CT_BENCH("power.nr.case9241pegase", "Newton AC power flow, PEGASE 9241 buses (cold and warm)",
         [](int threads) { return bench_nr("case9241pegase", threads); });
CT_BENCH("power.nr.case_ACTIVSg2000", "Newton AC power flow, ACTIVSg 2000 buses (cold and warm)",
         [](int threads) { return bench_nr("case_ACTIVSg2000", threads); });
CT_BENCH("power.dc.case9241pegase", "DC power flow, PEGASE 9241 buses",
         [](int) { return bench_dc("case9241pegase"); });
CT_BENCH("power.n1fd.case9241pegase",
         "N-1 over 400 branches of PEGASE 9241, fast-decoupled (Newton fallback)",
         [](int threads) { return bench_n1("case9241pegase", threads, 400, true); });
CT_BENCH("power.n1.case9241pegase", "N-1 over 400 branches of PEGASE 9241, Newton per outage",
         [](int threads) { return bench_n1("case9241pegase", threads, 400, false); });

}  // namespace
