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
// Performance (what makes a solve fast):
// - The Jacobian is stored as 2x2 blocks on the Ybus pattern: every bus with equations has a
//   (P, Q) x (Va, Vm) block per Ybus neighbour, so the pattern comes from Ybus in O(nnz) and
//   each Ybus entry writes its four derivatives into its block in place.
// - Equations a bus does not have in a solve (Q at a PV bus, both at a de-energised bus or at
//   a PV bus that became an island's slack) are identity rows with zeroed columns, so the
//   pattern, the ordering and the symbolic factorisation survive contingencies, Q-limit
//   switching and time steps: one symbolic analysis per solver, grown only when a bus needs
//   equations it never had.
// - Ordering: AMD (Amestoy, Davis & Duff, SIAM J. Matrix Anal. Appl. 17(4), 1996) on the bus
//   graph. Factorisation: block LU with 2x2 pivots (power/block_lu.hpp), every update target
//   precomputed, deterministic (no pivot search, nothing depends on earlier solves). When a
//   pivot block is near singular, or a solve fails, the solve is redone with KLU (Davis &
//   Palamadai Natarajan, ACM TOMS 37(3), 2010) and partial pivoting on the same matrix.
//
// Generator Q limits follow MATPOWER's runpf with pf.enforce_q_lims = 1: after a converged
// solve every violating generator is fixed at its limit, its bus becomes PQ (the slack too,
// whose island then takes its first PV bus as new slack), and the flow is solved again; at
// the end fixed generators are restored and angles shifted back to the original reference.
#include "citytwin/power.hpp"

#include <amd.h>
#include <klu.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>

#include "citytwin/parallel.hpp"
#include "power/block_lu.hpp"
#include "power/newton_impl.hpp"
#include "power/pf_internal.hpp"
#include "power/ybus.hpp"

namespace citytwin::power {

namespace {

// Equation bits of a bus kind (0 none, 1 PQ, 2 PV, 3 ref): bit 0 P, bit 1 Q.
constexpr std::uint8_t k_eq_p = 1, k_eq_q = 2;
std::uint8_t equations_of(std::int8_t kind) {
  return kind == 1 ? k_eq_p | k_eq_q : kind == 2 ? k_eq_p : 0;
}

// Block pivots whose |det| falls below this fraction of their largest entry squared send the
// solve to KLU with partial pivoting.
constexpr double k_pivot_tol = 1e-10;

}  // namespace

// Block pattern of the buses in the pattern (Ybus restricted to them, O(nnz)), the AMD
// ordering of that graph and the block LU's symbolic factorisation.
void PowerFlowSolver::Impl::build_pattern() {
  n_blocks = 0;
  block_bus.clear();
  for (int i = 0; i < n_bus; ++i) {
    block[i] = in_pattern[i] ? n_blocks++ : -1;
    if (in_pattern[i]) block_bus.push_back(i);
  }
  const int nnz = static_cast<int>(adm.ybus.nonZeros());
  const int* outer = adm.ybus.outerIndexPtr();
  const int* col = adm.ybus.innerIndexPtr();
  bp_ptr.assign(static_cast<std::size_t>(n_blocks) + 1, 0);
  bp_idx.clear();
  std::vector<int> csr_of(static_cast<std::size_t>(nnz), -1);  // Ybus entry -> block entry
  for (int b = 0; b < n_blocks; ++b) {
    const int i = block_bus[b];
    for (int e = outer[i]; e < outer[i + 1]; ++e)
      if (block[col[e]] >= 0) {
        csr_of[e] = static_cast<int>(bp_idx.size());
        bp_idx.push_back(block[col[e]]);
      }
    bp_ptr[b + 1] = static_cast<int>(bp_idx.size());
  }
  std::vector<int> perm(static_cast<std::size_t>(n_blocks));
  double control[AMD_CONTROL], info[AMD_INFO];
  amd_defaults(control);
  if (n_blocks > 0 &&
      amd_order(n_blocks, bp_ptr.data(), bp_idx.data(), perm.data(), control, info) < 0)
    std::iota(perm.begin(), perm.end(), 0);
  lu.analyze(n_blocks, bp_ptr.data(), bp_idx.data(), perm.data(), pool);
  bpos.resize(static_cast<std::size_t>(nnz));
  for (int e = 0; e < nnz; ++e) bpos[e] = csr_of[e] >= 0 ? lu.position(csr_of[e]) : lu.spare();
  st_ptr.assign(1, 0);
  st_bus.clear();
  st_diag.clear();
  st_col.clear();
  st_block.clear();
  st_entry.clear();
  for (int b : lu.perm()) {
    const int i = block_bus[b];
    st_bus.push_back(i);
    st_diag.push_back(bpos[adm.bus_pos_diag[i]]);
    for (int e = outer[i]; e < outer[i + 1]; ++e) {
      if (csr_of[e] < 0) continue;  // no unknowns at the column bus: no derivative to write
      st_col.push_back(col[e]);
      st_block.push_back(bpos[e]);
      st_entry.push_back(e);
    }
    st_ptr.push_back(static_cast<int>(st_col.size()));
  }
  st_y.resize(st_col.size());
  rhs.resize(static_cast<std::size_t>(2 * n_blocks));
  free_klu();
  jp.clear();
  ++n_symbolic;
}

// CSC of the block matrix for KLU: column 2c (Va) and 2c+1 (Vm) of block column c hold, per
// neighbour r of c in increasing order, rows 2r (P) and 2r+1 (Q).
void PowerFlowSolver::Impl::build_klu() {
  const int n = 2 * n_blocks;
  jp.assign(static_cast<std::size_t>(n) + 1, 0);
  ji.clear();
  for (int c = 0; c < n_blocks; ++c)
    for (int s = 0; s < 2; ++s) {
      for (int q = bp_ptr[c]; q < bp_ptr[c + 1]; ++q) {
        ji.push_back(2 * bp_idx[q]);
        ji.push_back(2 * bp_idx[q] + 1);
      }
      jp[2 * c + s + 1] = static_cast<int>(ji.size());
    }
  jx.assign(ji.size(), 0.0);
  // Block entry q = (r, c): its neighbour rank t in column c's list, by a transpose walk.
  jmap.assign(4 * bp_idx.size(), 0);
  std::vector<int> cursor(bp_ptr.begin(), bp_ptr.end() - 1);
  for (int r = 0; r < n_blocks; ++r)
    for (int q = bp_ptr[r]; q < bp_ptr[r + 1]; ++q) {
      const int c = bp_idx[q];
      const int t = cursor[c]++ - bp_ptr[c];
      jmap[4 * q + 0] = jp[2 * c] + 2 * t;          // (P_r, Va_c)
      jmap[4 * q + 1] = jp[2 * c + 1] + 2 * t;      // (P_r, Vm_c)
      jmap[4 * q + 2] = jp[2 * c] + 2 * t + 1;      // (Q_r, Va_c)
      jmap[4 * q + 3] = jp[2 * c + 1] + 2 * t + 1;  // (Q_r, Vm_c)
    }
  sym = klu_analyze(n, jp.data(), ji.data(), &common);
  ++n_symbolic;
}

// V = Vm e^{j Va} (one sincos per bus) and q_scale.
void PowerFlowSolver::Impl::set_voltages() {
  for_rows(n_bus, [&](int i0, int i1) {
    for (int i = i0; i < i1; ++i) {
      v[i] = Complex(vm[i] * std::cos(va[i]), vm[i] * std::sin(va[i]));
      q_scale[i] = vm[i] > 0 ? mask_q[i] / vm[i] : 0.0;
    }
  });
}

// I = Ybus V.
void PowerFlowSolver::Impl::compute_injections() {
  const int* outer = adm.ybus.outerIndexPtr();
  const int* col = adm.ybus.innerIndexPtr();
  const Complex* y = adm.ybus.valuePtr();
  for_rows(n_bus, [&](int i0, int i1) {
    for (int i = i0; i < i1; ++i) {
      Complex s = 0.0;
      for (int e = outer[i]; e < outer[i + 1]; ++e) s += y[e] * v[col[e]];
      ibus[i] = s;
    }
  });
}

// Writes F into rhs (zero on inactive equations) and returns max |F|; `worst` gets its bus.
double PowerFlowSolver::Impl::mismatch(std::int32_t* worst) {
  double mx = 0;
  *worst = -1;
  for (int b = 0; b < n_blocks; ++b) {
    const int i = block_bus[b];
    const Complex mis = v[i] * std::conj(ibus[i]) - sbus[i];
    const double f_p = mask_p[i] * mis.real(), f_q = mask_q[i] * mis.imag();
    rhs[2 * b] = f_p;
    rhs[2 * b + 1] = f_q;
    const double m = std::max(std::abs(f_p), std::abs(f_q));
    if (!(m <= mx)) {  // also catches NaN
      mx = std::isnan(m) ? std::numeric_limits<double>::infinity() : m;
      *worst = i;
    }
  }
  return mx;
}

// Jacobian blocks in place (dS/dVa, dS/dVm of the file comment), [dP/dVa dP/dVm; dQ/dVa
// dQ/dVm]. Per entry (i, k) with a = V_i conj(Y_ik V_k): dS_i/dVa_k = -j a and dS_i/dVm_k =
// a / |V_k| off the diagonal; the diagonal adds j V_i conj(I_i) and V_i conj(I_i) / |V_i|.
// Inactive equations: their row and column are zero and their diagonal entry 1 (identity).
void PowerFlowSolver::Impl::fill_jacobian() {
  double* x = lu.values();
  const int n_rows = static_cast<int>(st_bus.size());
  for_rows(n_rows, [&](int r0, int r1) {  // a row writes only its own blocks
    for (int r = r0; r < r1; ++r) {
      const int i = st_bus[r];
      const Complex vi = v[i];
      const double rp = mask_p[i], rq = mask_q[i];  // inactive rows are zero
      for (int s = st_ptr[r]; s < st_ptr[r + 1]; ++s) {
        const int k = st_col[s];
        const Complex a = vi * std::conj(st_y[s] * v[k]);
        const double sq = q_scale[k];  // 1/|V_k|, 0 if Vm_k is not an unknown
        double* d = x + 4 * st_block[s];
        d[0] = rp * a.imag();
        d[1] = rp * a.real() * sq;
        d[2] = -rq * a.real();
        d[3] = rq * a.imag() * sq;
      }
      const Complex si = vi * std::conj(ibus[i]);
      double* d = x + 4 * st_diag[r];
      d[0] += 1.0 - rp - rp * si.imag();
      d[1] += rp * si.real() * q_scale[i];
      d[2] += rq * si.real();
      d[3] += 1.0 - rq + rq * si.imag() * q_scale[i];
    }
  });
  // Angle columns of buses without a P equation (de-energised, new island slacks; rare):
  // zero them off the diagonal.
  const int* outer = adm.ybus.outerIndexPtr();
  const int* col = adm.ybus.innerIndexPtr();
  const int* tr = adm.transpose.data();
  for (int i : no_angle)
    for (int e = outer[i]; e < outer[i + 1]; ++e)
      if (col[e] != i) {
        double* c = x + 4 * bpos[tr[e]];  // block (k, i)
        c[0] = 0.0;
        c[2] = 0.0;
      }
  lu.clear_fill();
}

// Factorises J and solves J x = rhs in place (block LU, or KLU once the solve has fallen back
// to it). Returns 0 on success.
int PowerFlowSolver::Impl::factor_and_solve() {
  if (!use_klu) {
    if (lu.factor(k_pivot_tol)) {
      lu.solve(rhs.data());
      return 0;
    }
    use_klu = true;  // a near-singular pivot block: pivot properly for the rest of the solve
    fill_jacobian();
  }
  if (jp.empty()) build_klu();
  if (!sym) return 1;
  const double* x = lu.values();
  for (std::size_t q = 0; q < bp_idx.size(); ++q) {
    const double* d = x + 4 * lu.position(static_cast<int>(q));
    for (int c = 0; c < 4; ++c) jx[jmap[4 * q + c]] = d[c];
  }
  // Same pattern every iteration: keep KLU's pivot order (klu_refactor) while the estimated
  // reciprocal condition stays sane; otherwise factor again with partial pivoting.
  bool ok = num && klu_refactor(jp.data(), ji.data(), jx.data(), sym, num, &common) == 1 &&
            klu_rcond(sym, num, &common) == 1 && common.rcond > 1e-12;
  if (!ok) {
    if (num) klu_free_numeric(&num, &common);
    num = klu_factor(jp.data(), ji.data(), jx.data(), sym, &common);
    if (!num) return 1;
  }
  return klu_solve(sym, num, 2 * n_blocks, 1, rhs.data(), &common) == 1 ? 0 : 1;
}

PfStatus PowerFlowSolver::Impl::newton_iterations(const PowerFlowOptions& opt,
                                                  PowerFlowResult& out) {
  set_voltages();
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
    if (factor_and_solve() != 0) return PfStatus::singular;
    ++out.iterations;
    // x -= J^-1 F on the active unknowns (inactive ones have a zero update).
    for (int b = 0; b < n_blocks; ++b) {
      const int i = block_bus[b];
      va[i] -= rhs[2 * b];
      vm[i] -= rhs[2 * b + 1];
    }
    set_voltages();
    compute_injections();
    norm = mismatch(&worst);
    out.mismatch_history.push_back(norm);
  }
}

// Newton on the current bus kinds. Grows the pattern (a new symbolic analysis) only when a
// bus needs equations it does not have. A solve that fails with the block LU is repeated from
// the same start with KLU's partial pivoting, so the absence of pivoting never decides a
// failure.
PfStatus PowerFlowSolver::Impl::newton(const PowerFlowOptions& opt, PowerFlowResult& out) {
  bool grow = false;
  for (int i = 0; i < n_bus; ++i) {
    active[i] = equations_of(kind[i]);
    mask_p[i] = active[i] & k_eq_p ? 1.0 : 0.0;
    mask_q[i] = active[i] & k_eq_q ? 1.0 : 0.0;
    if (active[i] && !in_pattern[i]) {
      in_pattern[i] = 1;
      grow = true;
    }
  }
  if (grow || n_symbolic == 0) build_pattern();
  const Complex* y = adm.ybus.valuePtr();
  for (std::size_t q = 0; q < st_entry.size(); ++q) st_y[q] = y[st_entry[q]];
  no_angle.clear();
  for (int b = 0; b < n_blocks; ++b)
    if (!(active[block_bus[b]] & k_eq_p)) no_angle.push_back(block_bus[b]);
  vm_start = vm;
  va_start = va;
  const int iterations0 = out.iterations;
  const std::size_t history0 = out.mismatch_history.size();
  const bool klu_only = opt.linear_solver == PfLinearSolver::klu;
  use_klu = klu_only;
  PfStatus st = newton_iterations(opt, out);
  if (st != PfStatus::converged && !klu_only) {
    vm = vm_start;
    va = va_start;
    out.iterations = iterations0;
    out.mismatch_history.resize(history0);
    use_klu = true;
    st = newton_iterations(opt, out);
  }
  return st;
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
  s.pool = opt.pool;
  Network& w = s.work;
  const auto prepare = [&] {
    w = net;
    s.adm.fill(w);
    out.islands = find_islands(w);
  };
  if (s.n_symbolic == 0 && opt.method == PfMethod::newton && s.pool && s.pool->threads() > 1) {
    // Cold start: the ordering and the symbolic factorisation need only the Ybus pattern, so
    // they run beside the admittance values and the island search.
    s.pool->run_all(2, [&](std::int64_t task) {
      if (task == 0)
        s.build_pattern();
      else
        prepare();
    });
  } else {
    prepare();
  }
  out.iterations = 0;
  out.q_rounds = 0;
  out.mismatch_history.clear();

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
    s.set_voltages();
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
