// DC power flow (Stott, Jardim & Alsac, "DC power flow revisited", IEEE TPWRS 24(3), 2009;
// MATPOWER makeBdc/dcpf): lossless branches, |V| = 1, sin(d) ~ d, so B' Va = P - Pshift - Gs.
// Each island is referenced to its own slack; B' restricted to the non-slack buses of
// energised islands is factorised with KLU.
#include <klu.h>

#include <Eigen/SparseCore>

#include <chrono>

#include "power/pf_internal.hpp"

namespace citytwin::power {

PowerFlowResult solve_dc(const Network& net) {
  const auto t0 = std::chrono::steady_clock::now();
  PowerFlowResult out;
  out.islands = find_islands(net);
  std::vector<std::int8_t> kind;
  classify_buses(net, out.islands, kind);
  const int nb = net.n_bus(), nl = net.n_branch();

  // Branch susceptances b = 1 / (x tap) and phase-shift injections.
  std::vector<double> b(static_cast<std::size_t>(nl)), pfinj(static_cast<std::size_t>(nl));
  std::vector<double> pbus(static_cast<std::size_t>(nb));
  std::vector<Complex> sbus(static_cast<std::size_t>(nb));
  make_sbus(net, sbus);
  for (int i = 0; i < nb; ++i) pbus[i] = sbus[i].real() - net.bus_gs[i];
  for (int k = 0; k < nl; ++k) {
    b[k] = net.br_on[k] ? 1.0 / (net.br_x[k] * net.br_tap[k]) : 0.0;
    pfinj[k] = -b[k] * net.br_shift[k];
    pbus[net.br_from[k]] -= pfinj[k];
    pbus[net.br_to[k]] += pfinj[k];
  }

  // Unknown angles: every non-slack bus of an energised island.
  std::vector<int> col(static_cast<std::size_t>(nb), -1);
  int n = 0;
  for (int i = 0; i < nb; ++i)
    if (kind[i] == 1 || kind[i] == 2) col[i] = n++;
  std::vector<double> va(static_cast<std::size_t>(nb), 0.0);
  for (int i = 0; i < nb; ++i)
    if (kind[i] == 3) va[i] = net.bus_va[i];
  std::vector<double> rhs(static_cast<std::size_t>(n));
  for (int i = 0; i < nb; ++i)
    if (col[i] >= 0) rhs[col[i]] = pbus[i];
  std::vector<Eigen::Triplet<double, int>> trip;
  trip.reserve(static_cast<std::size_t>(4 * nl));
  auto add = [&](int r, int c, double val) {
    if (col[r] < 0) return;
    if (col[c] >= 0)
      trip.emplace_back(col[r], col[c], val);
    else if (kind[c] == 3)
      rhs[col[r]] -= val * va[c];  // known slack angle moves to the right-hand side
  };
  for (int k = 0; k < nl; ++k) {
    if (b[k] == 0.0) continue;
    const int f = net.br_from[k], t = net.br_to[k];
    add(f, f, b[k]);
    add(f, t, -b[k]);
    add(t, f, -b[k]);
    add(t, t, b[k]);
  }
  out.status = PfStatus::converged;
  if (n > 0) {
    Eigen::SparseMatrix<double, Eigen::ColMajor, int> bp(n, n);
    bp.setFromTriplets(trip.begin(), trip.end());
    bp.makeCompressed();
    klu_common common;
    klu_defaults(&common);
    klu_symbolic* sym = klu_analyze(n, bp.outerIndexPtr(), bp.innerIndexPtr(), &common);
    klu_numeric* num =
        sym ? klu_factor(bp.outerIndexPtr(), bp.innerIndexPtr(), bp.valuePtr(), sym, &common)
            : nullptr;
    if (!num || klu_solve(sym, num, n, 1, rhs.data(), &common) != 1)
      out.status = PfStatus::singular;
    if (num) klu_free_numeric(&num, &common);
    if (sym) klu_free_symbolic(&sym, &common);
    for (int i = 0; i < nb; ++i)
      if (col[i] >= 0) va[i] = rhs[col[i]];
  }

  // Results: |V| = 1 on live buses, flows b (Va_f - Va_t) + Pshift, slack generator balance.
  out.bus_vm.assign(static_cast<std::size_t>(nb), 0.0);
  out.bus_va.assign(static_cast<std::size_t>(nb), 0.0);
  out.bus_type.resize(static_cast<std::size_t>(nb));
  for (int i = 0; i < nb; ++i) {
    out.bus_vm[i] = kind[i] ? 1.0 : 0.0;
    out.bus_va[i] = kind[i] ? va[i] : 0.0;
    out.bus_type[i] = kind[i] ? static_cast<std::int8_t>(net.bus_type[i]) : std::int8_t{4};
  }
  out.br_pf.assign(static_cast<std::size_t>(nl), 0.0);
  out.br_qf.assign(static_cast<std::size_t>(nl), 0.0);
  out.br_qt.assign(static_cast<std::size_t>(nl), 0.0);
  out.br_pt.assign(static_cast<std::size_t>(nl), 0.0);
  std::vector<double> inj(static_cast<std::size_t>(nb), 0.0);  // B' Va + Pshift per bus
  for (int k = 0; k < nl; ++k) {
    const int f = net.br_from[k], t = net.br_to[k];
    if (b[k] == 0.0 || !kind[f]) continue;
    out.br_pf[k] = b[k] * (out.bus_va[f] - out.bus_va[t]) + pfinj[k];
    out.br_pt[k] = -out.br_pf[k];
    inj[f] += b[k] * (out.bus_va[f] - out.bus_va[t]);
    inj[t] += b[k] * (out.bus_va[t] - out.bus_va[f]);
  }
  out.gen_pg = net.gen_pg;
  out.gen_qg = net.gen_qg;
  for (std::int32_t s : out.islands.island_slack) {
    if (s < 0) continue;
    for (int g = 0; g < net.n_gen(); ++g)
      if (net.gen_on[g] && net.gen_bus[g] == s) {
        out.gen_pg[g] += inj[s] - pbus[s];
        break;
      }
  }
  for (int g = 0; g < net.n_gen(); ++g)
    if (!kind[net.gen_bus[g]]) out.gen_pg[g] = out.gen_qg[g] = 0.0;
  out.solve_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace citytwin::power
