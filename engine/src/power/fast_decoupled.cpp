// The fast-decoupled solve of PowerFlowSolver (PfMethod::fast_decoupled): B' and B'' from the
// admittance matrix, their KLU factorisations, the half iterations (cited at fast_decoupled
// below). The Newton solve (newton.cpp) shares the solver's state (newton_impl.hpp).
#include <klu.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "citytwin/power.hpp"
#include "power/newton_impl.hpp"

namespace citytwin::power {

// B' over angle unknowns and B'' over magnitude unknowns, patterns from Ybus.
void PowerFlowSolver::Impl::build_fd_pattern() {
  fd_p_eq.resize(static_cast<std::size_t>(n_bus));
  fd_q_eq.resize(static_cast<std::size_t>(n_bus));
  n_fd = 0;
  for (int i = 0; i < n_bus; ++i) fd_p_eq[i] = (kind[i] == 1 || kind[i] == 2) ? n_fd++ : -1;
  n_p = n_fd;
  for (int i = 0; i < n_bus; ++i) fd_q_eq[i] = kind[i] == 1 ? n_fd++ : -1;
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
  build(bp, fd_p_eq, 0, n_p);
  build(bpp, fd_q_eq, n_p, n_fd - n_p);
  fp.resize(static_cast<std::size_t>(n_p));
  fq.resize(static_cast<std::size_t>(n_fd - n_p));
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
    if (fd_p_eq[i] < 0) continue;
    const Complex mis = v[i] * std::conj(ibus[i]) - sbus[i];
    fp[fd_p_eq[i]] = mis.real() / vm[i];
    double a = std::abs(mis.real());
    if (fd_q_eq[i] >= 0) {
      fq[fd_q_eq[i] - n_p] = mis.imag() / vm[i];
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
  const int n_q = n_fd - n_p;
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
      if (fd_p_eq[i] >= 0) {
        va[i] -= fp[fd_p_eq[i]];
        v[i] = std::polar(vm[i], va[i]);
      }
    compute_injections();
    norm = fd_mismatch(&worst);
    if (norm < opt.tolerance) continue;
    if (n_q > 0 && klu_solve(bpp.sym, bpp.num, n_q, 1, fq.data(), &common) != 1)
      return PfStatus::singular;
    for (int i = 0; i < n_bus; ++i)
      if (fd_q_eq[i] >= 0) {
        vm[i] -= fq[fd_q_eq[i] - n_p];
        v[i] = std::polar(vm[i], va[i]);
      }
    compute_injections();
    norm = fd_mismatch(&worst);
    out.mismatch_history.push_back(norm);
  }
}

}  // namespace citytwin::power
