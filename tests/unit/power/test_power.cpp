// Power module unit tests: reader errors, islands (split, sourceless), solver reuse, honest
// non-convergence. Fixtures: case9 (Chow's 9-bus system, tests/data/power/matpower).
#include <catch2/catch.hpp>

#include <cmath>
#include <complex>
#include <string>

#include "citytwin/power.hpp"

namespace {

using namespace citytwin::power;

const std::string k_case9 =
    std::string(CITYTWIN_SOURCE_DIR) + "/tests/data/power/matpower/cases/case9.m";

const char* k_small = R"(function mpc = small
mpc.version = '2';
mpc.baseMVA = 100;
mpc.bus = [
	1	3	0	0	0	0	1	1	0	345	1	1.1	0.9;
	2	1	50	10	0	0	1	1	0	345	1	1.1	0.9;
];
mpc.gen = [
	1	0	0	300	-300	1.0	100	1	250	10;
];
mpc.branch = [
	1	2	0.01	0.1	0	0	0	0	0	0	1;
];
mpc.gencost = [
	2	0	0	3	0.1	1	0;
];
)";

std::string replace(std::string s, const std::string& from, const std::string& to) {
  s.replace(s.find(from), from.size(), to);
  return s;
}

// Largest bus power imbalance from reported flows (pu), over energised buses.
double imbalance(const Network& net, const PowerFlowResult& r) {
  std::vector<std::complex<double>> s(static_cast<std::size_t>(net.n_bus()));
  for (int i = 0; i < net.n_bus(); ++i) {
    const double v2 = r.bus_vm[i] * r.bus_vm[i];
    s[i] = {-net.bus_pd[i] - v2 * net.bus_gs[i], -net.bus_qd[i] + v2 * net.bus_bs[i]};
  }
  for (int g = 0; g < net.n_gen(); ++g)
    if (net.gen_on[g]) s[net.gen_bus[g]] += std::complex<double>(r.gen_pg[g], r.gen_qg[g]);
  for (int k = 0; k < net.n_branch(); ++k) {
    s[net.br_from[k]] -= std::complex<double>(r.br_pf[k], r.br_qf[k]);
    s[net.br_to[k]] -= std::complex<double>(r.br_pt[k], r.br_qt[k]);
  }
  double mx = 0;
  for (int i = 0; i < net.n_bus(); ++i)
    if (r.bus_vm[i] > 0) mx = std::max(mx, std::abs(s[i]));
  return mx;
}

}  // namespace

TEST_CASE("MATPOWER reader converts to per unit and radians", "[power][reader]") {
  std::vector<std::string> ignored;
  auto net = parse_matpower(k_small, "small.m", &ignored);
  REQUIRE(net.has_value());
  CHECK(net->n_bus() == 2);
  CHECK(net->bus_pd[1] == Approx(0.5).epsilon(1e-15));  // 50 MW on 100 MVA
  CHECK(net->bus_qd[1] == Approx(0.1).epsilon(1e-15));
  CHECK(net->gen_qmax[0] == Approx(3.0).epsilon(1e-15));
  CHECK(net->br_tap[0] == 1.0);  // ratio 0 means no transformer
  CHECK(ignored == std::vector<std::string>{"mpc.gencost"});
  auto c9 = read_matpower(k_case9);
  REQUIRE(c9.has_value());
  CHECK(c9->name == "case9");
  CHECK(c9->n_branch() == 9);
}

TEST_CASE("MATPOWER reader errors name file, line, field and the expected form",
          "[power][reader]") {
  SECTION("bad number") {
    auto r = parse_matpower(replace(k_small, "50\t10", "5O\t10"), "small.m");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().first().line == 6);
    CHECK(r.error().first().field == "mpc.bus");
    CHECK(r.error().first().found == "5O");
  }
  SECTION("generator at an unknown bus") {
    auto r = parse_matpower(replace(k_small, "\t1\t0\t0\t300", "\t7\t0\t0\t300"), "small.m");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().first().line == 9);
    CHECK(r.error().first().field == "mpc.gen.bus");
  }
  SECTION("too few branch columns") {
    auto r = parse_matpower(replace(k_small, "0\t0\t0\t0\t0\t1;", "0\t1;"), "small.m");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().first().line == 12);
    CHECK(r.error().first().expected.find("at least 11 columns") == 0);
  }
  SECTION("wrong version") {
    auto r = parse_matpower(replace(k_small, "'2'", "'1'"), "small.m");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().first().line == 2);
    CHECK(r.error().first().field == "mpc.version");
  }
  SECTION("unexpected statement") {
    auto r = parse_matpower(replace(k_small, "mpc.baseMVA = 100;", "baseMVA = 100;"), "small.m");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().first().line == 3);
  }
  SECTION("missing file") {
    auto r = read_matpower("/nonexistent/case.m");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().first().file == "/nonexistent/case.m");
  }
}

TEST_CASE("two-bus flow matches the closed form", "[power][newton]") {
  // Load S = 0.5 + j0.1 pu fed from V1 = 1 through z = 0.01 + j0.1: the receiving voltage
  // satisfies V2 = V1 - z conj(S / V2); iterate that fixed point to machine precision.
  auto net = parse_matpower(k_small, "small.m");
  REQUIRE(net.has_value());
  const std::complex<double> z(0.01, 0.1), s(0.5, 0.1);
  std::complex<double> v2 = 1.0;
  for (int k = 0; k < 200; ++k) v2 = 1.0 - z * std::conj(s / v2);
  PowerFlowSolver solver(*net);
  const auto r = solver.solve(*net, {});
  REQUIRE(r.success());
  CHECK(std::abs(r.bus_vm[1] - std::abs(v2)) < 1e-9);
  CHECK(std::abs(r.bus_va[1] - std::arg(v2)) < 1e-9);
  // Slack supplies the load plus I^2 r.
  const double i2 = std::norm(s / v2);
  CHECK(std::abs(r.gen_pg[0] - (0.5 + i2 * 0.01)) < 1e-9);
}

TEST_CASE("a trip that splits the network: two islands, each with its own slack",
          "[power][islands]") {
  auto net = read_matpower(k_case9);
  REQUIRE(net.has_value());
  Network split = *net;
  split.br_on[4] = 0;  // 6-7
  split.br_on[8] = 0;  // 9-4 -> {1,3,4,5,6} and {2,7,8,9}
  PowerFlowSolver solver(*net);
  const auto r = solver.solve(split, {});
  INFO(r.diagnosis(split));
  REQUIRE(r.success());
  REQUIRE(r.islands.n_islands() == 2);
  CHECK(r.islands.n_deenergised() == 0);
  CHECK(r.islands.island_slack[0] == 0);  // bus 1, the reference bus
  CHECK(r.islands.island_slack[1] == 1);  // bus 2, the only generator of its island
  CHECK(imbalance(split, r) < 1e-8);
  CHECK(r.br_pf[4] == 0.0);
  CHECK(r.br_pf[8] == 0.0);

  // Oracle: island {2,7,8,9} solved alone as its own case gives the same voltages.
  const char* sub = R"(function mpc = sub
mpc.version = '2';
mpc.baseMVA = 100;
mpc.bus = [
	2	3	0	0	0	0	1	1	0	345	1	1.1	0.9;
	7	1	100	35	0	0	1	1	0	345	1	1.1	0.9;
	8	1	0	0	0	0	1	1	0	345	1	1.1	0.9;
	9	1	125	50	0	0	1	1	0	345	1	1.1	0.9;
];
mpc.gen = [
	2	163	6.54	300	-300	1.025	100	1	300	10;
];
mpc.branch = [
	7	8	0.0085	0.072	0.149	250	250	250	0	0	1;
	8	2	0	0.0625	0	250	250	250	0	0	1;
	8	9	0.032	0.161	0.306	250	250	250	0	0	1;
];
)";
  auto alone = parse_matpower(sub, "sub.m");
  REQUIRE(alone.has_value());
  PowerFlowSolver s2(*alone);
  const auto ra = s2.solve(*alone, {});
  REQUIRE(ra.success());
  const int map[4] = {1, 6, 7, 8};  // case9 indices of buses 2, 7, 8, 9
  for (int i = 0; i < 4; ++i) {
    CHECK(std::abs(r.bus_vm[map[i]] - ra.bus_vm[i]) < 1e-9);
    CHECK(std::abs(r.bus_va[map[i]] - ra.bus_va[i]) < 1e-9);
  }
  CHECK(std::abs(r.gen_pg[1] - ra.gen_pg[0]) < 1e-9);

  // DC flow on the split network: island B's slack takes exactly its load (lossless).
  const auto dc = solve_dc(split);
  REQUIRE(dc.success());
  CHECK(std::abs(dc.gen_pg[1] - 2.25) < 1e-12);
}

TEST_CASE("a sourceless island is de-energised and reported", "[power][islands]") {
  auto net = read_matpower(k_case9);
  REQUIRE(net.has_value());
  Network cut = *net;
  cut.br_on[7] = 0;  // 8-9
  cut.br_on[8] = 0;  // 9-4: bus 9 (125 MW load, no generator) is cut off
  PowerFlowSolver solver(*net);
  const auto r = solver.solve(cut, {});
  REQUIRE(r.success());
  CHECK(r.islands.n_islands() == 2);
  CHECK(r.islands.n_deenergised() == 1);
  CHECK(r.islands.island_energised[r.islands.bus_island[8]] == 0);
  CHECK(r.bus_vm[8] == 0.0);
  CHECK(r.bus_type[8] == 4);
  CHECK(imbalance(cut, r) < 1e-8);
  // Served load is 190 MW (bus 9's 125 MW is unserved); generation = load + branch losses.
  const double gen = r.gen_pg[0] + r.gen_pg[1] + r.gen_pg[2];
  double losses = 0;
  for (int k = 0; k < cut.n_branch(); ++k) losses += r.br_pf[k] + r.br_pt[k];
  CHECK(losses > 0);
  CHECK(std::abs(gen - 1.90 - losses) < 1e-9);
  // Restoring the branches re-energises bus 9 with the same solver (warm start from the cut).
  PowerFlowOptions warm;
  warm.warm_start = true;
  const auto back = solver.solve(*net, warm);
  REQUIRE(back.success());
  CHECK(back.islands.n_islands() == 1);
  CHECK(back.bus_vm[8] > 0.9);
}

TEST_CASE("the solver reuses its symbolic analysis across solves", "[power][newton]") {
  auto net = read_matpower(k_case9);
  REQUIRE(net.has_value());
  PowerFlowSolver solver(*net);
  const auto r1 = solver.solve(*net, {});
  Network scaled = *net;
  for (auto& p : scaled.bus_pd) p *= 1.1;
  Network tripped = *net;
  tripped.br_on[1] = 0;  // 4-5: a loop branch, no island
  const auto r2 = solver.solve(scaled, {});
  const auto r3 = solver.solve(tripped, {});
  REQUIRE((r1.success() && r2.success() && r3.success()));
  CHECK(solver.symbolic_analyses() == 1);
  CHECK(r2.gen_pg[0] > r1.gen_pg[0]);  // the slack picks up the extra load
}

TEST_CASE("non-convergence is reported with the worst bus, history and a hint", "[power][newton]") {
  auto net = read_matpower(k_case9);
  REQUIRE(net.has_value());
  Network heavy = *net;
  for (auto& p : heavy.bus_pd) p *= 8;  // far beyond the loadability limit
  for (auto& q : heavy.bus_qd) q *= 8;
  PowerFlowSolver solver(heavy);
  PowerFlowOptions opt;
  opt.max_iterations = 20;
  const auto r = solver.solve(heavy, opt);
  REQUIRE_FALSE(r.success());
  CHECK(r.worst_bus >= 0);
  CHECK(r.mismatch_history.size() >= 2);
  const std::string d = r.diagnosis(heavy);
  CHECK(d.find("largest mismatch") != std::string::npos);
  CHECK(d.find("hint:") != std::string::npos);
  CHECK(d.find("at bus " + std::to_string(heavy.bus_id[static_cast<std::size_t>(r.worst_bus)])) !=
        std::string::npos);
}
