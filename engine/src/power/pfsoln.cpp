// Bus classification, injections and the post-solve bookkeeping of MATPOWER (bustypes,
// makeSbus, pfsoln and runpf's Q-limit loop), per island.
#include <algorithm>
#include <cmath>
#include <limits>

#include "power/pf_internal.hpp"

namespace citytwin::power {

void classify_buses(const Network& w, const Islands& isl, std::vector<std::int8_t>& kind) {
  const int nb = w.n_bus();
  kind.assign(static_cast<std::size_t>(nb), 1);
  std::vector<std::uint8_t> has_gen(static_cast<std::size_t>(nb), 0);
  for (int g = 0; g < w.n_gen(); ++g)
    if (w.gen_on[g]) has_gen[w.gen_bus[g]] = 1;
  for (int i = 0; i < nb; ++i) {
    const int id = isl.bus_island[i];
    if (id < 0 || !isl.island_energised[id]) {
      kind[i] = 0;
    } else if (isl.island_slack[id] == i) {
      kind[i] = 3;
    } else if (has_gen[i] && (w.bus_type[i] == BusType::pv || w.bus_type[i] == BusType::ref)) {
      kind[i] = 2;
    }
  }
}

void set_voltage_setpoints(const Network& w, const std::vector<std::int8_t>& kind,
                           std::vector<double>& vm, std::vector<double>& va) {
  for (int g = 0; g < w.n_gen(); ++g) {
    const int b = w.gen_bus[g];
    if (w.gen_on[g] && kind[b] >= 2) vm[b] = w.gen_vg[g];
  }
  for (int i = 0; i < w.n_bus(); ++i)
    if (!(vm[i] > 0) && kind[i] != 0) {  // a bus re-energised after a warm start from zero
      vm[i] = 1.0;
      va[i] = 0.0;
    }
}

void make_sbus(const Network& w, std::vector<Complex>& sbus) {
  for (int i = 0; i < w.n_bus(); ++i) sbus[i] = Complex(-w.bus_pd[i], -w.bus_qd[i]);
  for (int g = 0; g < w.n_gen(); ++g)
    if (w.gen_on[g]) sbus[w.gen_bus[g]] += Complex(w.gen_pg[g], w.gen_qg[g]);
}

void update_generators(Network& w, const Admittance& adm, const std::vector<std::int8_t>& kind,
                       const std::vector<Complex>& v, std::vector<Complex>& ibus,
                       const Islands& isl) {
  const int nb = w.n_bus();
  const int* outer = adm.ybus.outerIndexPtr();
  const int* col = adm.ybus.innerIndexPtr();
  const Complex* y = adm.ybus.valuePtr();
  for (int i = 0; i < nb; ++i) {
    Complex s = 0.0;
    for (int e = outer[i]; e < outer[i + 1]; ++e) s += y[e] * v[col[e]];
    ibus[i] = s;
  }
  auto live = [&](int g) { return w.gen_on[g] && kind[w.gen_bus[g]] != 0; };

  // Qg: injected Q plus local load, shared equally first, then in proportion to Q ranges
  // with a finite proxy M for infinite limits (MATPOWER pfsoln).
  std::vector<double> ngg(static_cast<std::size_t>(nb), 0.0),
      m_bus(static_cast<std::size_t>(nb), 0.0);
  int n_on = 0;
  for (int g = 0; g < w.n_gen(); ++g)
    if (live(g)) {
      ngg[w.gen_bus[g]] += 1;
      ++n_on;
    }
  for (int g = 0; g < w.n_gen(); ++g) {
    if (!live(g)) continue;
    const int b = w.gen_bus[g];
    w.gen_qg[g] = ((v[b] * std::conj(ibus[b])).imag() + w.bus_qd[b]) / ngg[b];
  }
  if (n_on > 1) {
    for (int g = 0; g < w.n_gen(); ++g) {
      if (!live(g)) continue;
      double m = std::abs(w.gen_qg[g]);
      if (std::isfinite(w.gen_qmax[g])) m += std::abs(w.gen_qmax[g]);
      if (std::isfinite(w.gen_qmin[g])) m += std::abs(w.gen_qmin[g]);
      m_bus[w.gen_bus[g]] += m;
    }
    auto lim = [&](double q, int b) { return std::isinf(q) ? (q > 0 ? m_bus[b] : -m_bus[b]) : q; };
    std::vector<double> qtot(static_cast<std::size_t>(nb), 0.0), qmin_t(qtot), qmax_t(qtot);
    for (int g = 0; g < w.n_gen(); ++g) {
      if (!live(g)) continue;
      const int b = w.gen_bus[g];
      qtot[b] += w.gen_qg[g];
      qmin_t[b] += lim(w.gen_qmin[g], b);
      qmax_t[b] += lim(w.gen_qmax[g], b);
    }
    const double eps = std::numeric_limits<double>::epsilon();
    for (int g = 0; g < w.n_gen(); ++g) {
      if (!live(g)) continue;
      const int b = w.gen_bus[g];
      const double qmin = lim(w.gen_qmin[g], b), qmax = lim(w.gen_qmax[g], b);
      if (std::abs(qmax_t[b] - qmin_t[b]) < 10 * eps)
        w.gen_qg[g] = qmin + (qtot[b] - qmin_t[b]) / ngg[b];
      else
        w.gen_qg[g] = qmin + (qtot[b] - qmin_t[b]) / (qmax_t[b] - qmin_t[b] + eps) * (qmax - qmin);
    }
  }

  // Pg of the first generator at each slack bus: injection plus load minus the others there.
  for (std::int32_t s : isl.island_slack) {
    if (s < 0) continue;
    int first = -1;
    double others = 0;
    for (int g = 0; g < w.n_gen(); ++g) {
      if (!w.gen_on[g] || w.gen_bus[g] != s) continue;
      if (first < 0)
        first = g;
      else
        others += w.gen_pg[g];
    }
    if (first >= 0) w.gen_pg[first] = (v[s] * std::conj(ibus[s])).real() + w.bus_pd[s] - others;
  }
}

int switch_q_limited(Network& w, const std::vector<std::int8_t>& kind, const Islands& isl,
                     double violation, std::vector<std::int32_t>& limited,
                     std::vector<double>& fixed_qg, PfStatus& status) {
  std::vector<std::int32_t> mx, mn, remaining;
  for (int g = 0; g < w.n_gen(); ++g) {
    if (!w.gen_on[g] || kind[w.gen_bus[g]] == 0) continue;
    const BusType t = w.bus_type[w.gen_bus[g]];
    if (t == BusType::pv || t == BusType::ref) remaining.push_back(g);
    if (w.gen_qg[g] > w.gen_qmax[g] + violation) mx.push_back(g);
    if (w.gen_qg[g] < w.gen_qmin[g] - violation) mn.push_back(g);
  }
  if (mx.empty() && mn.empty()) return 0;
  std::vector<std::int32_t> all = mx;
  all.insert(all.end(), mn.begin(), mn.end());
  std::vector<std::int32_t> infeas = all;
  std::sort(infeas.begin(), infeas.end());
  if (infeas == remaining && (mx.empty() || mn.empty())) {
    status = PfStatus::q_limits_infeasible;
    return 0;
  }
  for (std::int32_t g : mx) fixed_qg[g] = w.gen_qmax[g];
  for (std::int32_t g : mn) fixed_qg[g] = w.gen_qmin[g];
  // Each violator becomes a fixed injection, folded into its bus load.
  for (std::int32_t g : all) {
    const int b = w.gen_bus[g];
    w.gen_qg[g] = fixed_qg[g];
    w.gen_on[g] = 0;
    w.bus_pd[b] -= w.gen_pg[g];
    w.bus_qd[b] -= fixed_qg[g];
  }
  for (std::int32_t g : all) w.bus_type[w.gen_bus[g]] = BusType::pq;
  limited.insert(limited.end(), all.begin(), all.end());

  // An island whose slack became PQ takes its first PV bus with a generator as new slack.
  std::vector<std::uint8_t> has_gen(static_cast<std::size_t>(w.n_bus()), 0);
  for (int g = 0; g < w.n_gen(); ++g)
    if (w.gen_on[g]) has_gen[w.gen_bus[g]] = 1;
  for (int id = 0; id < isl.n_islands(); ++id) {
    const std::int32_t s = isl.island_slack[id];
    if (s < 0 || w.bus_type[s] != BusType::pq) continue;
    for (int i = 0; i < w.n_bus(); ++i)
      if (isl.bus_island[i] == id && w.bus_type[i] == BusType::pv && has_gen[i]) {
        w.bus_type[i] = BusType::ref;
        break;
      }
  }
  return static_cast<int>(all.size());
}

void finish_result(const Network& w, const Admittance& adm, const std::vector<std::int8_t>& kind,
                   const std::vector<double>& vm, const std::vector<double>& va,
                   PowerFlowResult& out) {
  const int nb = w.n_bus(), nl = w.n_branch(), ng = w.n_gen();
  out.bus_vm.resize(static_cast<std::size_t>(nb));
  out.bus_va.resize(static_cast<std::size_t>(nb));
  out.bus_type.resize(static_cast<std::size_t>(nb));
  for (int i = 0; i < nb; ++i) {
    const bool on = kind[i] != 0;
    out.bus_vm[i] = on ? vm[i] : 0.0;
    out.bus_va[i] = on ? va[i] : 0.0;
    out.bus_type[i] = on ? static_cast<std::int8_t>(w.bus_type[i]) : std::int8_t{4};
  }
  out.gen_pg.resize(static_cast<std::size_t>(ng));
  out.gen_qg.resize(static_cast<std::size_t>(ng));
  for (int g = 0; g < ng; ++g) {
    const bool on = kind[w.gen_bus[g]] != 0;
    out.gen_pg[g] = on ? w.gen_pg[g] : 0.0;
    out.gen_qg[g] = on ? w.gen_qg[g] : 0.0;
  }
  out.br_pf.resize(static_cast<std::size_t>(nl));
  out.br_qf.resize(static_cast<std::size_t>(nl));
  out.br_pt.resize(static_cast<std::size_t>(nl));
  out.br_qt.resize(static_cast<std::size_t>(nl));
  std::vector<Complex> vb(static_cast<std::size_t>(nb));  // one sincos per bus
  for (int i = 0; i < nb; ++i) vb[i] = std::polar(out.bus_vm[i], out.bus_va[i]);
  for (int k = 0; k < nl; ++k) {
    const int f = w.br_from[k], t = w.br_to[k];
    const Complex vf = vb[f], vt = vb[t];
    const Complex sf = vf * std::conj(adm.br_yff[k] * vf + adm.br_yft[k] * vt);
    const Complex st = vt * std::conj(adm.br_ytf[k] * vf + adm.br_ytt[k] * vt);
    out.br_pf[k] = sf.real();
    out.br_qf[k] = sf.imag();
    out.br_pt[k] = st.real();
    out.br_qt[k] = st.imag();
  }
}

}  // namespace citytwin::power
