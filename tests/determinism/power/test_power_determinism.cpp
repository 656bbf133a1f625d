// N-1 contingency results are bit-identical for 1 and 2 threads: each contingency starts from
// the base-case solution (never from whatever a worker solved last) and writes its own slot;
// the solver's block LU has no pivot search and its pattern comes from the network it was
// built for, so nothing a worker solved before changes the arithmetic of the next outage.
// A single solve with a pool (PowerFlowOptions::pool: symbolic analysis beside the admittances,
// row-parallel Jacobian and injections) is bit-identical to the same solve without one.
#include <catch2/catch.hpp>

#include <cstring>
#include <memory>
#include <string>

#include "citytwin/parallel.hpp"
#include "citytwin/power.hpp"

namespace {

using namespace citytwin;

std::vector<double> run_n1(const power::Network& net, int threads) {
  TaskPool pool(threads);
  power::PowerFlowSolver base_solver(net);
  const power::PowerFlowResult base = base_solver.solve(net, {});
  struct Scratch {
    power::Network net;
    std::unique_ptr<power::PowerFlowSolver> solver;
    power::PowerFlowResult res;
  };
  std::vector<Scratch> scratch(static_cast<std::size_t>(pool.threads()));
  for (auto& s : scratch) {
    s.net = net;
    s.solver = std::make_unique<power::PowerFlowSolver>(net);
  }
  power::PowerFlowOptions opt;
  opt.warm_start = true;
  const int n = net.n_branch();
  const std::size_t nb = static_cast<std::size_t>(net.n_bus());
  std::vector<double> out(static_cast<std::size_t>(n) * 2 * nb);
  pool.for_blocks(n, 3, [&](std::int64_t b, std::int64_t e, int w) {
    auto& s = scratch[static_cast<std::size_t>(w)];
    for (std::int64_t k = b; k < e; ++k) {
      s.net.br_on[k] = 0;
      s.solver->set_start(base.bus_vm, base.bus_va);
      s.solver->solve(s.net, opt, s.res);
      s.net.br_on[k] = 1;
      std::copy(s.res.bus_vm.begin(), s.res.bus_vm.end(),
                out.begin() + static_cast<std::ptrdiff_t>(2 * nb * k));
      std::copy(s.res.bus_va.begin(), s.res.bus_va.end(),
                out.begin() + static_cast<std::ptrdiff_t>(2 * nb * k + nb));
    }
  });
  return out;
}

}  // namespace

TEST_CASE("N-1 on case30 is bit-identical for 1 and 2 threads", "[power][determinism]") {
  auto net = power::read_matpower(std::string(CITYTWIN_SOURCE_DIR) +
                                  "/tests/data/power/matpower/cases/case30.m");
  REQUIRE(net.has_value());
  const auto a = run_n1(*net, 1);
  const auto b = run_n1(*net, 2);
  REQUIRE(a.size() == b.size());
  CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

TEST_CASE("N-1 on case118, with islanding outages, is bit-identical for 1 and 2 threads",
          "[power][determinism]") {
  auto net = power::read_matpower(std::string(CITYTWIN_SOURCE_DIR) +
                                  "/tests/data/power/matpower/cases/case118.m");
  REQUIRE(net.has_value());
  const auto a = run_n1(*net, 1);
  const auto b = run_n1(*net, 2);
  REQUIRE(a.size() == b.size());
  CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

TEST_CASE("case9241pegase solved with a 2-thread pool is bit-identical to the serial solve",
          "[power][determinism]") {
  auto net = power::read_matpower(std::string(CITYTWIN_SOURCE_DIR) +
                                  "/tests/data/power/matpower/cases/case9241pegase.m.gz");
  REQUIRE(net.has_value());
  // Cold, then warm after a branch outage and a load step: every path of a solve.
  const auto sequence = [&](TaskPool* pool) {
    power::PowerFlowOptions opt;
    opt.pool = pool;
    power::Network w = *net;
    power::PowerFlowSolver solver(w);
    std::vector<power::PowerFlowResult> out;
    out.push_back(solver.solve(w, opt));
    w.br_on[100] = 0;
    for (auto& p : w.bus_pd) p *= 1.02;
    opt.warm_start = true;
    out.push_back(solver.solve(w, opt));
    return out;
  };
  TaskPool pool(2);
  const auto a = sequence(nullptr);
  const auto b = sequence(&pool);
  REQUIRE(a.size() == b.size());
  for (std::size_t k = 0; k < a.size(); ++k) {
    REQUIRE(a[k].success());
    REQUIRE(b[k].success());
    CHECK(a[k].iterations == b[k].iterations);
    REQUIRE(a[k].bus_vm.size() == b[k].bus_vm.size());
    CHECK(std::memcmp(a[k].bus_vm.data(), b[k].bus_vm.data(),
                      a[k].bus_vm.size() * sizeof(double)) == 0);
    CHECK(std::memcmp(a[k].bus_va.data(), b[k].bus_va.data(),
                      a[k].bus_va.size() * sizeof(double)) == 0);
    CHECK(std::memcmp(a[k].br_pf.data(), b[k].br_pf.data(), a[k].br_pf.size() * sizeof(double)) ==
          0);
  }
}
