// Result CSV files in the column layout of MATPOWER reference results, and the explanation
// of a failed power flow.
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numbers>

#include "citytwin/power.hpp"

namespace citytwin::power {
namespace {

std::string num(double v) {
  if (std::isinf(v)) return v > 0 ? "Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  return fmt::format("{:.12g}", v == 0.0 ? 0.0 : v);  // no "-0"
}

struct File {
  std::FILE* f = nullptr;
  ~File() {
    if (f) std::fclose(f);
  }
};

}  // namespace

std::string PowerFlowResult::diagnosis(const Network& net) const {
  if (success()) return {};
  std::string what;
  std::string hint;
  switch (status) {
    case PfStatus::max_iterations:
      what = fmt::format("Newton power flow did not converge in {} iterations", iterations);
      hint =
          "increase power.max_iterations (or --max-iterations), or check loads and "
          "impedances near the worst bus; a flat start (power.flat_start) can help";
      break;
    case PfStatus::diverged:
      what = "Newton power flow diverged (non-finite mismatch)";
      hint =
          "the operating point is probably beyond the loadability limit: scale loads down "
          "(power.load_scale) or check impedances near the worst bus";
      break;
    case PfStatus::singular:
      what = "the power-flow Jacobian is singular";
      hint = "check for islands without a voltage reference or branches with zero impedance";
      break;
    case PfStatus::q_limits_infeasible:
      what = "generator Q limits cannot be met: every remaining PV generator violates them";
      hint =
          "disable Q-limit enforcement (--qlim off / power.enforce_q_limits = false) or "
          "review the reactive limits";
      break;
    case PfStatus::q_limits_rounds:
      what = fmt::format("Q-limit switching did not settle in {} rounds", q_rounds);
      hint = "increase power.max_q_switch_rounds or disable Q-limit enforcement";
      break;
    case PfStatus::converged:
      break;
  }
  std::string hist;
  for (std::size_t k = 0; k < mismatch_history.size(); ++k)
    hist += fmt::format("{}{:.3e}", k ? ", " : "", mismatch_history[k]);
  const std::string bus =
      worst_bus >= 0 ? fmt::format("bus {}", net.bus_id[static_cast<std::size_t>(worst_bus)])
                     : "no bus";
  return fmt::format(
      "{}; largest mismatch {:.3e} pu at {}; mismatch by iteration (pu): [{}]; hint: {}", what,
      max_mismatch, bus, hist, hint);
}

Result<void> write_results_csv(const Network& net, const PowerFlowResult& r,
                               const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const double base = net.base_mva;
  const double deg = 180.0 / std::numbers::pi;
  auto open = [&](const char* name, File& out) -> Result<void> {
    const std::string p = dir + "/" + name;
    out.f = std::fopen(p.c_str(), "w");
    if (!out.f) return fail(Error::msg("cannot write the result file", p));
    return {};
  };
  {
    File f;
    if (auto e = open("bus.csv", f); !e) return e;
    std::fputs("bus_id,type,Vm_pu,Va_deg,Pd_MW,Qd_MVAr,baseKV\n", f.f);
    for (int i = 0; i < net.n_bus(); ++i)
      std::fputs(fmt::format("{},{},{},{},{},{},{}\n", net.bus_id[i], r.bus_type[i],
                             num(r.bus_vm[i]), num(r.bus_va[i] * deg), num(net.bus_pd[i] * base),
                             num(net.bus_qd[i] * base), num(net.bus_base_kv[i]))
                     .c_str(),
                 f.f);
  }
  {
    File f;
    if (auto e = open("branch.csv", f); !e) return e;
    std::fputs("idx,from_bus,to_bus,status,Pf_MW,Qf_MVAr,Pt_MW,Qt_MVAr\n", f.f);
    for (int k = 0; k < net.n_branch(); ++k)
      std::fputs(fmt::format("{},{},{},{},{},{},{},{}\n", k + 1, net.bus_id[net.br_from[k]],
                             net.bus_id[net.br_to[k]], int(net.br_on[k]), num(r.br_pf[k] * base),
                             num(r.br_qf[k] * base), num(r.br_pt[k] * base), num(r.br_qt[k] * base))
                     .c_str(),
                 f.f);
  }
  {
    File f;
    if (auto e = open("gen.csv", f); !e) return e;
    std::fputs("idx,bus,status,Pg_MW,Qg_MVAr,Qmax_MVAr,Qmin_MVAr,Vg_pu\n", f.f);
    for (int g = 0; g < net.n_gen(); ++g)
      std::fputs(
          fmt::format("{},{},{},{},{},{},{},{}\n", g + 1, net.bus_id[net.gen_bus[g]],
                      int(net.gen_on[g]), num(r.gen_pg[g] * base), num(r.gen_qg[g] * base),
                      num(net.gen_qmax[g] * base), num(net.gen_qmin[g] * base), num(net.gen_vg[g]))
              .c_str(),
          f.f);
  }
  return {};
}

}  // namespace citytwin::power
