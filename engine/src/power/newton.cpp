// Newton-Raphson AC power flow in polar coordinates.
//
// Scheme: Tinney & Hart, "Power flow solution by Newton's method", IEEE Trans. PAS-86 (1967),
// in the complex-matrix form of MATPOWER's newtonpf/dSbus_dV (Zimmerman, "AC power flows,
// generalized OPF costs and their derivatives using complex matrix notation", MATPOWER TN2,
// eqs. 13-14):
//   dS/dVa = j diag(V) conj(diag(I) - Ybus diag(V)),
//   dS/dVm = diag(V) conj(Ybus diag(V/|V|)) + conj(diag(I)) diag(V/|V|),   I = Ybus V.
// Unknowns: angles at PV and PQ buses, magnitudes at PQ buses; equations: real mismatch at
// PV and PQ buses, reactive mismatch at PQ buses. Converged when max |mismatch| < tol (pu).
//
// Performance: each Ybus entry maps to at most four Jacobian entries whose positions in the
// CSC value array are computed once per bus-type set, so an iteration fills values in place
// and refactorises with KLU (Davis & Palamadai Natarajan, ACM TOMS 37(3), 2010) reusing the
// symbolic analysis; the pivot sequence of the previous numeric factorisation is reused too
// (klu_refactor) unless the reciprocal condition estimate says it has gone bad.
//
// Generator Q limits follow MATPOWER's runpf with pf.enforce_q_lims = 1: after a converged
// solve every violating generator is fixed at its limit, its bus becomes PQ (the slack too,
// whose island then takes its first PV bus as new slack), and the flow is solved again; at
// the end fixed generators are restored and angles shifted back to the original reference.
#include "citytwin/power.hpp"

#include <klu.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <tuple>

#include "power/pf_internal.hpp"
#include "power/ybus.hpp"

namespace citytwin::power {

struct PowerFlowSolver::Impl {
  Admittance adm;
  Network work;  // working copy: Q-limit rounds change types, loads and generator status
  std::int32_t n_bus = 0, n_branch = 0;

  // Equation numbering (n_bus): row of the P equation (= column of the angle) and of the Q
  // equation (= column of the magnitude), -1 if none.
  std::vector<int> eq_p, eq_q;
  std::vector<std::int8_t> kind, pattern_kind;  // bus kind (0 none, 1 PQ, 2 PV, 3 ref)
  int n_eq = 0;

  // Jacobian in CSC (KLU's format) and, per Ybus entry, where its four derivatives go.
  std::vector<int> jp, ji;
  std::vector<double> jx;
  std::vector<int> pos_pa, pos_qa, pos_pm, pos_qm;
  std::vector<int> ybus_row;  // row of each Ybus entry

  klu_common common{};
  klu_symbolic* sym = nullptr;
  klu_numeric* num = nullptr;
  int n_symbolic = 0;

  std::vector<Complex> v, vn, ibus, sbus;
  std::vector<double> vm, va, rhs;
  bool have_solution = false;

  explicit Impl(const Network& net) {
    klu_defaults(&common);
    n_bus = net.n_bus();
    n_branch = net.n_branch();
    adm.build_pattern(net);
    const int nnz = static_cast<int>(adm.ybus.nonZeros());
    ybus_row.resize(static_cast<std::size_t>(nnz));
    for (int r = 0; r < n_bus; ++r)
      for (int e = adm.ybus.outerIndexPtr()[r]; e < adm.ybus.outerIndexPtr()[r + 1]; ++e)
        ybus_row[e] = r;
    const auto nb = static_cast<std::size_t>(n_bus);
    v.resize(nb);
    vn.resize(nb);
    ibus.resize(nb);
    sbus.resize(nb);
    vm.resize(nb);
    va.resize(nb);
    eq_p.resize(nb);
    eq_q.resize(nb);
    kind.resize(nb);
  }
  ~Impl() {
    free_factors();
    free_fd(bp);
    free_fd(bpp);
  }

  void free_factors() {
    if (num) klu_free_numeric(&num, &common);
    if (sym) klu_free_symbolic(&sym, &common);
  }

  void build_pattern();
  int factor_and_solve(bool first);
  void compute_injections();
  double mismatch(std::int32_t* worst);
  void fill_jacobian();
  PfStatus newton(const PowerFlowOptions& opt, PowerFlowResult& out);

  // Fast-decoupled (XB) matrices B' (P-V angle, n_p x n_p) and B'' (Q-V magnitude), CSC, with
  // the position of each Ybus entry in their value arrays; each has its own KLU factors.
  struct Factor {
    std::vector<int> p, i;
    std::vector<double> x;
    std::vector<int> pos;  // per Ybus entry, -1 if not in this matrix
    klu_symbolic* sym = nullptr;
    klu_numeric* num = nullptr;
  };
  Factor bp, bpp;
  std::vector<std::int8_t> fd_kind;
  std::vector<double> fp, fq;
  int n_p = 0;
  void build_fd_pattern();
  void fill_fd(const Network& w);
  bool factor_fd(Factor& f);
  double fd_mismatch(std::int32_t* worst);
  PfStatus fast_decoupled(const Network& w, const PowerFlowOptions& opt, PowerFlowResult& out);
  void free_fd(Factor& f) {
    if (f.num) klu_free_numeric(&f.num, &common);
    if (f.sym) klu_free_symbolic(&f.sym, &common);
  }
};

// Jacobian pattern for the current bus kinds: per Ybus entry (i, k), the entries
// (P_i, Va_k), (Q_i, Va_k), (P_i, Vm_k), (Q_i, Vm_k) that exist, laid out column by column.
void PowerFlowSolver::Impl::build_pattern() {
  n_eq = 0;
  for (int i = 0; i < n_bus; ++i) eq_p[i] = (kind[i] == 1 || kind[i] == 2) ? n_eq++ : -1;
  n_p = n_eq;
  for (int i = 0; i < n_bus; ++i) eq_q[i] = kind[i] == 1 ? n_eq++ : -1;
  const int nnz = static_cast<int>(adm.ybus.nonZeros());
  const int* col = adm.ybus.innerIndexPtr();
  // (column, row, slot) with slot = 4 * ybus entry + corner.
  std::vector<std::tuple<int, int, int>> ent;
  ent.reserve(static_cast<std::size_t>(4 * nnz));
  for (int e = 0; e < nnz; ++e) {
    const int i = ybus_row[e], k = col[e];
    const int rows[2] = {eq_p[i], eq_q[i]};
    const int cols[2] = {eq_p[k], eq_q[k]};
    for (int c = 0; c < 2; ++c)
      for (int r = 0; r < 2; ++r)
        if (rows[r] >= 0 && cols[c] >= 0) ent.emplace_back(cols[c], rows[r], 4 * e + 2 * c + r);
  }
  std::sort(ent.begin(), ent.end());
  jp.assign(static_cast<std::size_t>(n_eq) + 1, 0);
  ji.resize(ent.size());
  jx.assign(ent.size(), 0.0);
  pos_pa.assign(static_cast<std::size_t>(nnz), -1);
  pos_qa.assign(static_cast<std::size_t>(nnz), -1);
  pos_pm.assign(static_cast<std::size_t>(nnz), -1);
  pos_qm.assign(static_cast<std::size_t>(nnz), -1);
  for (std::size_t p = 0; p < ent.size(); ++p) {
    const auto [c, r, slot] = ent[p];
    ++jp[c + 1];
    ji[p] = r;
    const int e = slot / 4;
    std::vector<int>* dst[4] = {&pos_pa, &pos_qa, &pos_pm, &pos_qm};
    (*dst[slot % 4])[e] = static_cast<int>(p);
  }
  for (int c = 0; c < n_eq; ++c) jp[c + 1] += jp[c];
  rhs.resize(static_cast<std::size_t>(n_eq));

  free_factors();
  sym = klu_analyze(n_eq, jp.data(), ji.data(), &common);
  ++n_symbolic;
  pattern_kind = kind;
  fd_kind.clear();  // the numbering changed
}

// B' over angle unknowns and B'' over magnitude unknowns, patterns from Ybus.
void PowerFlowSolver::Impl::build_fd_pattern() {
  n_eq = 0;
  for (int i = 0; i < n_bus; ++i) eq_p[i] = (kind[i] == 1 || kind[i] == 2) ? n_eq++ : -1;
  n_p = n_eq;
  for (int i = 0; i < n_bus; ++i) eq_q[i] = kind[i] == 1 ? n_eq++ : -1;
  pattern_kind.clear();  // the Jacobian numbering is no longer valid
  const int nnz = static_cast<int>(adm.ybus.nonZeros());
  const int* col = adm.ybus.innerIndexPtr();
  // Ybus is structurally symmetric, so its row-major pattern read column-wise is B's CSC.
  auto build = [&](Factor& f, const std::vector<int>& idx, int offset, int n) {
    free_fd(f);
    f.p.assign(static_cast<std::size_t>(n) + 1, 0);
    f.i.clear();
    f.pos.assign(static_cast<std::size_t>(nnz), -1);
    std::vector<std::pair<int, int>> ent;  // (column, entry)
    for (int e = 0; e < nnz; ++e) {
      const int r = idx[ybus_row[e]], c = idx[col[e]];
      if (r >= 0 && c >= 0) ent.emplace_back(c - offset, e);
    }
    std::stable_sort(ent.begin(), ent.end(), [](auto& a, auto& b) { return a.first < b.first; });
    for (std::size_t q = 0; q < ent.size(); ++q) {
      ++f.p[ent[q].first + 1];
      f.i.push_back(idx[ybus_row[ent[q].second]] - offset);
      f.pos[ent[q].second] = static_cast<int>(q);
    }
    for (int c = 0; c < n; ++c) f.p[c + 1] += f.p[c];
    f.x.assign(ent.size(), 0.0);
    if (n > 0) f.sym = klu_analyze(n, f.p.data(), f.i.data(), &common);
    ++n_symbolic;
  };
  build(bp, eq_p, 0, n_p);
  build(bpp, eq_q, n_p, n_eq - n_p);
  fp.resize(static_cast<std::size_t>(n_p));
  fq.resize(static_cast<std::size_t>(n_eq - n_p));
  fd_kind = kind;
}

// MATPOWER makeB, XB variant: B' without resistance, charging, shunts and taps; B'' without
// phase shifts. B = -Im(Y) of the modified admittances.
void PowerFlowSolver::Impl::fill_fd(const Network& w) {
  std::fill(bp.x.begin(), bp.x.end(), 0.0);
  std::fill(bpp.x.begin(), bpp.x.end(), 0.0);
  auto add = [](Factor& f, int e, double val) {
    if (f.pos[e] >= 0) f.x[f.pos[e]] += val;
  };
  for (int k = 0; k < n_branch; ++k) {
    if (!w.br_on[k]) continue;
    const int ff = adm.br_pos_ff[k], ft = adm.br_pos_ft[k], tf = adm.br_pos_tf[k],
              tt = adm.br_pos_tt[k];
    // B': series 1/(jx), shift only.
    const Complex ys1 = 1.0 / Complex(0.0, w.br_x[k]);
    const Complex sh = std::polar(1.0, w.br_shift[k]);
    add(bp, ff, -ys1.imag());
    add(bp, tt, -ys1.imag());
    add(bp, ft, -(-ys1 / std::conj(sh)).imag());
    add(bp, tf, -(-ys1 / sh).imag());
    // B'': full series impedance, charging and ratio, no shift.
    const Complex ys = 1.0 / Complex(w.br_r[k], w.br_x[k]);
    const double tap = w.br_tap[k];
    const Complex ytt = ys + Complex(0.0, w.br_b[k] / 2);
    add(bpp, ff, -(ytt / (tap * tap)).imag());
    add(bpp, tt, -ytt.imag());
    add(bpp, ft, -(-ys / tap).imag());
    add(bpp, tf, -(-ys / tap).imag());
  }
  for (int i = 0; i < n_bus; ++i) add(bpp, adm.bus_pos_diag[i], -w.bus_bs[i]);
}

bool PowerFlowSolver::Impl::factor_fd(Factor& f) {
  if (f.p.size() <= 1) return true;
  if (!f.sym) return false;
  if (f.num) klu_free_numeric(&f.num, &common);
  f.num = klu_factor(f.p.data(), f.i.data(), f.x.data(), f.sym, &common);
  return f.num != nullptr;
}

// Mismatch divided by |V| into fp (angle rows) and fq (magnitude rows); returns the largest
// undivided |mismatch| (the same measure as Newton's).
double PowerFlowSolver::Impl::fd_mismatch(std::int32_t* worst) {
  double mx = 0;
  *worst = -1;
  for (int i = 0; i < n_bus; ++i) {
    if (eq_p[i] < 0) continue;
    const Complex mis = v[i] * std::conj(ibus[i]) - sbus[i];
    fp[eq_p[i]] = mis.real() / vm[i];
    double a = std::abs(mis.real());
    if (eq_q[i] >= 0) {
      fq[eq_q[i] - n_p] = mis.imag() / vm[i];
      a = std::max(a, std::abs(mis.imag()));
    }
    if (!(a <= mx)) {
      mx = std::isnan(a) ? std::numeric_limits<double>::infinity() : a;
      *worst = i;
    }
  }
  return mx;
}

// Fast-decoupled power flow (Stott & Alsac, IEEE Trans. PAS-93, 1974; the XB scheme of van
// Amerongen, IEEE TPWRS 4(1), 1989; MATPOWER fdpf): half iterations on angles with B' and on
// magnitudes with B'', both factorised once per solve.
PfStatus PowerFlowSolver::Impl::fast_decoupled(const Network& w, const PowerFlowOptions& opt,
                                               PowerFlowResult& out) {
  if (kind != fd_kind) build_fd_pattern();
  fill_fd(w);
  if (!factor_fd(bp) || !factor_fd(bpp)) return PfStatus::singular;
  for (int i = 0; i < n_bus; ++i) v[i] = std::polar(vm[i], va[i]);
  compute_injections();
  std::int32_t worst = -1;
  double norm = fd_mismatch(&worst);
  out.mismatch_history.push_back(norm);
  const int n_q = n_eq - n_p;
  for (int it = 0;; ++it) {
    out.max_mismatch = norm;
    out.worst_bus = worst;
    if (norm < opt.tolerance) return PfStatus::converged;
    if (!std::isfinite(norm)) return PfStatus::diverged;
    if (it >= opt.max_fd_iterations) return PfStatus::max_iterations;
    ++out.iterations;
    if (n_p > 0 && klu_solve(bp.sym, bp.num, n_p, 1, fp.data(), &common) != 1)
      return PfStatus::singular;
    for (int i = 0; i < n_bus; ++i)
      if (eq_p[i] >= 0) {
        va[i] -= fp[eq_p[i]];
        v[i] = std::polar(vm[i], va[i]);
      }
    compute_injections();
    norm = fd_mismatch(&worst);
    if (norm < opt.tolerance) continue;
    if (n_q > 0 && klu_solve(bpp.sym, bpp.num, n_q, 1, fq.data(), &common) != 1)
      return PfStatus::singular;
    for (int i = 0; i < n_bus; ++i)
      if (eq_q[i] >= 0) {
        vm[i] -= fq[eq_q[i] - n_p];
        v[i] = std::polar(vm[i], va[i]);
      }
    compute_injections();
    norm = fd_mismatch(&worst);
    out.mismatch_history.push_back(norm);
  }
}

// I = Ybus V and the unit phasors V/|V|.
void PowerFlowSolver::Impl::compute_injections() {
  const int* outer = adm.ybus.outerIndexPtr();
  const int* col = adm.ybus.innerIndexPtr();
  const Complex* y = adm.ybus.valuePtr();
  for (int i = 0; i < n_bus; ++i) {
    Complex s = 0.0;
    for (int e = outer[i]; e < outer[i + 1]; ++e) s += y[e] * v[col[e]];
    ibus[i] = s;
    vn[i] = std::polar(1.0, va[i]);
  }
}

// Writes F into rhs (P rows then Q rows) and returns max |F|; `worst` gets its bus.
double PowerFlowSolver::Impl::mismatch(std::int32_t* worst) {
  double mx = 0;
  *worst = -1;
  for (int i = 0; i < n_bus; ++i) {
    if (eq_p[i] < 0) continue;
    const Complex mis = v[i] * std::conj(ibus[i]) - sbus[i];
    rhs[eq_p[i]] = mis.real();
    double a = std::abs(mis.real());
    if (eq_q[i] >= 0) {
      rhs[eq_q[i]] = mis.imag();
      a = std::max(a, std::abs(mis.imag()));
    }
    if (!(a <= mx)) {  // also catches NaN
      mx = std::isnan(a) ? std::numeric_limits<double>::infinity() : a;
      *worst = i;
    }
  }
  return mx;
}

// Jacobian values in place (dS/dVa, dS/dVm of the file comment).
void PowerFlowSolver::Impl::fill_jacobian() {
  const int* col = adm.ybus.innerIndexPtr();
  const Complex* y = adm.ybus.valuePtr();
  const int* outer = adm.ybus.outerIndexPtr();
  const Complex j(0.0, 1.0);
  for (int i = 0; i < n_bus; ++i) {
    if (eq_p[i] < 0) continue;
    for (int e = outer[i]; e < outer[i + 1]; ++e) {
      const int k = col[e];
      const Complex yv = y[e] * v[k];
      Complex dva = j * v[i] * std::conj(-yv);
      Complex dvm = v[i] * std::conj(y[e] * vn[k]);
      if (k == i) {
        dva += j * v[i] * std::conj(ibus[i]);
        dvm += std::conj(ibus[i]) * vn[i];
      }
      if (pos_pa[e] >= 0) jx[pos_pa[e]] = dva.real();
      if (pos_qa[e] >= 0) jx[pos_qa[e]] = dva.imag();
      if (pos_pm[e] >= 0) jx[pos_pm[e]] = dvm.real();
      if (pos_qm[e] >= 0) jx[pos_qm[e]] = dvm.imag();
    }
  }
}

// Factorises J (reusing the symbolic analysis, and the previous pivots when they are still
// good) and solves J x = rhs in place. Returns 0 on success.
int PowerFlowSolver::Impl::factor_and_solve(bool first) {
  if (!sym) return 1;
  bool ok = false;
  if (num) {
    ok = klu_refactor(jp.data(), ji.data(), jx.data(), sym, num, &common) == 1;
    // klu_rcond is cheap (min/max |diag U|); a tiny value means the old pivots no longer fit.
    if (ok && first) ok = klu_rcond(sym, num, &common) == 1 && common.rcond > 1e-12;
  }
  if (!ok) {
    if (num) klu_free_numeric(&num, &common);
    num = klu_factor(jp.data(), ji.data(), jx.data(), sym, &common);
    if (!num) return 1;
  }
  return klu_solve(sym, num, n_eq, 1, rhs.data(), &common) == 1 ? 0 : 1;
}

PfStatus PowerFlowSolver::Impl::newton(const PowerFlowOptions& opt, PowerFlowResult& out) {
  if (kind != pattern_kind) build_pattern();
  for (int i = 0; i < n_bus; ++i) v[i] = std::polar(vm[i], va[i]);
  compute_injections();
  std::int32_t worst = -1;
  double norm = mismatch(&worst);
  out.mismatch_history.push_back(norm);
  for (int it = 0;; ++it) {
    out.max_mismatch = norm;
    out.worst_bus = worst;
    if (norm < opt.tolerance) return PfStatus::converged;
    if (!std::isfinite(norm)) return PfStatus::diverged;
    if (it >= opt.max_iterations) return PfStatus::max_iterations;
    fill_jacobian();
    if (factor_and_solve(it == 0) != 0) return PfStatus::singular;
    ++out.iterations;
    // x -= J^-1 F, then renormalise through the complex voltage as MATPOWER does.
    for (int i = 0; i < n_bus; ++i) {
      if (eq_p[i] >= 0) va[i] -= rhs[eq_p[i]];
      if (eq_q[i] >= 0) vm[i] -= rhs[eq_q[i]];
      if (eq_p[i] < 0) continue;
      v[i] = std::polar(vm[i], va[i]);
      vm[i] = std::abs(v[i]);
      va[i] = std::arg(v[i]);
    }
    compute_injections();
    norm = mismatch(&worst);
    out.mismatch_history.push_back(norm);
  }
}

PowerFlowSolver::PowerFlowSolver(const Network& net) : m_impl(std::make_unique<Impl>(net)) {}
PowerFlowSolver::~PowerFlowSolver() = default;
int PowerFlowSolver::symbolic_analyses() const {
  return m_impl->n_symbolic;
}

void PowerFlowSolver::set_start(const std::vector<double>& vm, const std::vector<double>& va) {
  CT_ASSERT(vm.size() == m_impl->vm.size() && va.size() == m_impl->va.size(),
            "PowerFlowSolver::set_start: one value per bus expected");
  m_impl->vm = vm;
  m_impl->va = va;
  m_impl->have_solution = true;
}

PowerFlowResult PowerFlowSolver::solve(const Network& net, const PowerFlowOptions& opt) {
  PowerFlowResult r;
  solve(net, opt, r);
  return r;
}

void PowerFlowSolver::solve(const Network& net, const PowerFlowOptions& opt, PowerFlowResult& out) {
  Impl& s = *m_impl;
  CT_ASSERT(net.n_bus() == s.n_bus && net.n_branch() == s.n_branch,
            "PowerFlowSolver::solve: network layout differs from the one the solver was built for");
  const auto t0 = std::chrono::steady_clock::now();
  s.work = net;
  Network& w = s.work;
  s.adm.fill(w);
  out.iterations = 0;
  out.q_rounds = 0;
  out.mismatch_history.clear();
  out.islands = find_islands(w);

  // Start values.
  const bool warm = opt.warm_start && s.have_solution;
  for (int i = 0; i < s.n_bus; ++i) {
    if (warm) continue;
    s.vm[i] = opt.flat_start ? 1.0 : w.bus_vm[i];
    s.va[i] = opt.flat_start ? 0.0 : w.bus_va[i];
  }

  // Original slack buses and angles, to shift angles back if Q limits move the slack.
  std::vector<std::int32_t> slack0 = out.islands.island_slack;
  std::vector<double> va_slack0(slack0.size(), 0.0);
  for (std::size_t k = 0; k < slack0.size(); ++k)
    if (slack0[k] >= 0) va_slack0[k] = opt.flat_start ? 0.0 : w.bus_va[slack0[k]];

  std::vector<std::int32_t> limited;  // generators fixed at a Q limit
  std::vector<double> fixed_qg(static_cast<std::size_t>(w.n_gen()), 0.0);
  const double violation = 5e-6 / w.base_mva;  // MATPOWER opf.violation (5e-6 MVAr)
  PfStatus status = PfStatus::converged;
  for (;;) {
    classify_buses(w, out.islands, s.kind);
    set_voltage_setpoints(w, s.kind, s.vm, s.va);
    make_sbus(w, s.sbus);
    status =
        opt.method == PfMethod::fast_decoupled ? s.fast_decoupled(w, opt, out) : s.newton(opt, out);
    if (status != PfStatus::converged) break;
    for (int i = 0; i < s.n_bus; ++i) s.v[i] = std::polar(s.vm[i], s.va[i]);
    update_generators(w, s.adm, s.kind, s.v, s.ibus, out.islands);
    if (!opt.enforce_q_limits) break;
    const int n_new =
        switch_q_limited(w, s.kind, out.islands, violation, limited, fixed_qg, status);
    if (status != PfStatus::converged || n_new == 0) break;
    if (++out.q_rounds > opt.max_q_switch_rounds) {
      status = PfStatus::q_limits_rounds;
      break;
    }
    out.islands = find_islands(w);
  }
  out.status = status;

  // Restore generators held at limits, and angles relative to the original slack.
  for (std::int32_t g : limited) {
    const std::int32_t b = w.gen_bus[g];
    w.gen_qg[g] = fixed_qg[g];
    w.bus_pd[b] += w.gen_pg[g];
    w.bus_qd[b] += fixed_qg[g];
  }
  if (!limited.empty()) {
    for (std::size_t k = 0; k < slack0.size(); ++k) {
      const std::int32_t sb = slack0[k];
      if (sb < 0) continue;
      const double shift = va_slack0[k] - s.va[sb];
      const std::int32_t id = out.islands.bus_island[sb];
      for (int i = 0; i < s.n_bus; ++i)
        if (out.islands.bus_island[i] == id) s.va[i] += shift;
    }
  }
  finish_result(w, s.adm, s.kind, s.vm, s.va, out);
  s.have_solution = status == PfStatus::converged;
  out.solve_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace citytwin::power
