// The fast Newton machinery against references: the 2x2-block LU against the matrix it
// factorises; the block-LU Newton path against KLU with partial pivoting; N-1 with one reused
// solver (identity rows for de-energised buses and new island slacks) against a fresh solver
// per contingency. Fixtures: case118 and case300 (tests/data/power/matpower).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "citytwin/power.hpp"
#include "power/block_lu.hpp"

namespace {

using namespace citytwin::power;

Network load(const std::string& name) {
  auto net = read_matpower(std::string(CITYTWIN_SOURCE_DIR) + "/tests/data/power/matpower/cases/" +
                           name + ".m");
  REQUIRE(net.has_value());
  return *net;
}

// A w x w grid graph of 2x2 blocks with random entries, diagonally dominant blocks, CSR with
// sorted columns.
struct GridSystem {
  int n = 0;
  std::vector<int> ptr, idx;
  std::vector<double> val;  // 4 per entry, row-major
};

GridSystem grid(int w, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  GridSystem g;
  g.n = w * w;
  g.ptr.push_back(0);
  for (int r = 0; r < w; ++r)
    for (int c = 0; c < w; ++c) {
      std::vector<int> cols = {r * w + c};
      if (r > 0) cols.push_back((r - 1) * w + c);
      if (r + 1 < w) cols.push_back((r + 1) * w + c);
      if (c > 0) cols.push_back(r * w + c - 1);
      if (c + 1 < w) cols.push_back(r * w + c + 1);
      std::sort(cols.begin(), cols.end());
      for (int k : cols) {
        g.idx.push_back(k);
        for (int q = 0; q < 4; ++q) g.val.push_back(u(rng));
        if (k == r * w + c) {  // dominant diagonal block
          g.val[g.val.size() - 4] += 10;
          g.val[g.val.size() - 1] += 10;
        }
      }
      g.ptr.push_back(static_cast<int>(g.idx.size()));
    }
  return g;
}

}  // namespace

TEST_CASE("block LU solves a sparse 2x2-block system to rounding", "[power][linear]") {
  std::mt19937 rng(7);
  const GridSystem g = grid(12, rng);
  std::vector<int> perm(static_cast<std::size_t>(g.n));
  for (int k = 0; k < g.n; ++k) perm[k] = k;
  std::shuffle(perm.begin(), perm.end(), rng);  // any order is valid; fill depends on it
  BlockLU lu;
  lu.analyze(g.n, g.ptr.data(), g.idx.data(), perm.data());
  // b = A x for a known x.
  std::vector<double> x(static_cast<std::size_t>(2 * g.n)), b(x.size(), 0.0);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (double& xi : x) xi = u(rng);
  for (int r = 0; r < g.n; ++r)
    for (int e = g.ptr[r]; e < g.ptr[r + 1]; ++e) {
      const double* a = &g.val[4 * e];
      const int c = g.idx[e];
      b[2 * r] += a[0] * x[2 * c] + a[1] * x[2 * c + 1];
      b[2 * r + 1] += a[2] * x[2 * c] + a[3] * x[2 * c + 1];
    }
  for (int e = 0; e < g.ptr[g.n]; ++e)
    std::copy_n(&g.val[4 * e], 4, lu.values() + 4 * lu.position(e));
  lu.clear_fill();
  REQUIRE(lu.factor(1e-12));
  lu.solve(b.data());
  double err = 0;
  for (std::size_t i = 0; i < x.size(); ++i) err = std::max(err, std::abs(b[i] - x[i]));
  CHECK(err < 1e-13);

  // A singular pivot block is refused, not used.
  for (int e = 0; e < g.ptr[g.n]; ++e)
    std::copy_n(&g.val[4 * e], 4, lu.values() + 4 * lu.position(e));
  const int first = perm[0];
  for (int e = g.ptr[first]; e < g.ptr[first + 1]; ++e)
    if (g.idx[e] == first) std::fill_n(lu.values() + 4 * lu.position(e), 4, 0.0);
  lu.clear_fill();
  CHECK_FALSE(lu.factor(1e-12));
}

TEST_CASE("block-LU Newton matches KLU with partial pivoting", "[power][linear]") {
  for (const char* name : {"case118", "case300"}) {
    const Network net = load(name);
    PowerFlowSolver a(net), b(net);
    PowerFlowOptions opt;
    const PowerFlowResult ra = a.solve(net, opt);
    opt.linear_solver = PfLinearSolver::klu;
    const PowerFlowResult rb = b.solve(net, opt);
    REQUIRE((ra.success() && rb.success()));
    CHECK(ra.iterations == rb.iterations);
    for (int i = 0; i < net.n_bus(); ++i) {
      CHECK(std::abs(ra.bus_vm[i] - rb.bus_vm[i]) < 1e-12);
      CHECK(std::abs(ra.bus_va[i] - rb.bus_va[i]) < 1e-12);
    }
  }
}

TEST_CASE("N-1 with one reused solver matches a fresh KLU solve per outage", "[power][linear]") {
  // Every branch of case118: radial branches island a generator bus (it becomes its island's
  // slack: an identity P row) or strand a load bus (de-energised: identity rows).
  const Network net = load("case118");
  PowerFlowSolver base_solver(net);
  const PowerFlowResult base = base_solver.solve(net, {});
  REQUIRE(base.success());
  Network work = net;
  PowerFlowSolver reused(net);
  PowerFlowOptions warm;
  warm.warm_start = true;
  PowerFlowOptions fresh = warm;
  fresh.linear_solver = PfLinearSolver::klu;
  PowerFlowResult r;
  int n_split = 0, n_dead = 0;
  double worst = 0;
  for (int k = 0; k < net.n_branch(); ++k) {
    work.br_on[k] = 0;
    reused.set_start(base.bus_vm, base.bus_va);
    reused.solve(work, warm, r);
    PowerFlowSolver own(work);
    own.set_start(base.bus_vm, base.bus_va);
    const PowerFlowResult ref = own.solve(work, fresh);
    work.br_on[k] = 1;
    REQUIRE(r.status == ref.status);
    REQUIRE(r.islands.n_islands() == ref.islands.n_islands());
    REQUIRE(r.islands.n_deenergised() == ref.islands.n_deenergised());
    n_split += r.islands.n_islands() > 1 ? 1 : 0;
    n_dead += r.islands.n_deenergised();
    for (int i = 0; i < net.n_bus(); ++i) {
      worst = std::max(worst, std::abs(r.bus_vm[i] - ref.bus_vm[i]));
      worst = std::max(worst, std::abs(r.bus_va[i] - ref.bus_va[i]));
    }
  }
  CHECK(n_split > 0);  // the case exercises islanding outages
  CHECK(n_dead > 0);
  CHECK(worst < 1e-9);
  CHECK(reused.symbolic_analyses() == 1);  // contingencies changed values only
}
