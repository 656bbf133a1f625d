// Private to power/: the power-flow solver's state (PowerFlowSolver::Impl), shared by its
// Newton-Raphson solve (newton.cpp) and its fast-decoupled solve (fast_decoupled.cpp).
#pragma once

#include <klu.h>

#include <cstdint>
#include <vector>

#include "citytwin/power.hpp"
#include "power/block_lu.hpp"
#include "power/pf_internal.hpp"
#include "power/ybus.hpp"

namespace citytwin::power {

// Row loops go parallel (when the solve has a pool) from this many rows, in fixed blocks.
constexpr int k_parallel_rows = 4096, k_row_grain = 1024;

struct PowerFlowSolver::Impl {
  Admittance adm;
  Network work;  // working copy: Q-limit rounds change types, loads and generator status
  std::int32_t n_bus = 0, n_branch = 0;
  std::vector<int> ybus_row;      // row of each Ybus entry
  std::vector<std::int8_t> kind;  // bus kind of the current solve (0 none, 1 PQ, 2 PV, 3 ref)

  // Jacobian pattern: buses with a block row (`block` = its index, -1 none), the equations
  // active in this solve (k_eq_p | k_eq_q bits) and their masks (1 active, 0 identity row).
  std::vector<std::uint8_t> in_pattern, active;
  std::vector<int> block, block_bus;
  std::vector<int> no_angle;    // buses of the pattern whose angle is not an unknown
  std::vector<double> q_scale;  // per bus: 1/|V| if its magnitude is an unknown, else 0
  std::vector<double> mask_p, mask_q;
  int n_blocks = 0;
  std::vector<int> bp_ptr, bp_idx;  // block pattern, CSR over block rows
  std::vector<int> bpos;            // per Ybus entry: its block in `lu` (the spare if none)
  // The Ybus rows of the pattern buses in elimination order, as one stream (row r: entries
  // st_ptr[r] .. st_ptr[r+1] of bus st_bus[r]): column bus, target block and admittance
  // (gathered once per solve), so filling the Jacobian walks memory in order.
  std::vector<int> st_ptr, st_bus, st_diag, st_col, st_block, st_entry;
  std::vector<Complex> st_y;
  BlockLU lu;
  int n_symbolic = 0;

  // KLU fallback on the same matrix (2 equations per block row), built on first use.
  std::vector<int> jp, ji, jmap;  // CSC; jmap: per block entry, its 4 positions in jx
  std::vector<double> jx;
  klu_common common{};
  klu_symbolic* sym = nullptr;
  klu_numeric* num = nullptr;
  bool use_klu = false;

  std::vector<Complex> v, ibus, sbus;
  std::vector<double> vm, va, rhs;
  std::vector<double> vm_start, va_start;  // start of the current Newton run (for a retry)
  bool have_solution = false;
  TaskPool* pool = nullptr;  // of the current solve (PowerFlowOptions::pool)

  // body(begin, end) over [0, n): on the pool in fixed blocks for large n (each block writes
  // only its own rows, so the result does not depend on the thread count), else inline.
  template <class F>
  void for_rows(int n, F&& body) {
    for_blocks_or_inline(n >= k_parallel_rows ? pool : nullptr, n, k_row_grain,
                         [&](std::int64_t b, std::int64_t e, int) {
                           body(static_cast<int>(b), static_cast<int>(e));
                         });
  }

  explicit Impl(const Network& net) {
    klu_defaults(&common);
    common.btf = 0;  // a power-flow Jacobian is irreducible: BTF finds one block
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
    ibus.resize(nb);
    sbus.resize(nb);
    vm.resize(nb);
    va.resize(nb);
    q_scale.resize(nb);
    kind.resize(nb);
    active.resize(nb);
    block.resize(nb);
    mask_p.resize(nb);
    mask_q.resize(nb);
    // The pattern of the network as given, from bus types and generators alone (no island
    // search): every bus but an isolated one and a slack with a generator. Islands only
    // remove equations from this set.
    in_pattern.assign(nb, 0);
    std::vector<std::uint8_t> has_gen(nb, 0);
    for (int g = 0; g < net.n_gen(); ++g)
      if (net.gen_on[g]) has_gen[net.gen_bus[g]] = 1;
    for (int i = 0; i < n_bus; ++i)
      in_pattern[i] =
          net.bus_type[i] != BusType::isolated && !(has_gen[i] && net.bus_type[i] == BusType::ref);
  }
  ~Impl() {
    free_klu();
    free_fd(bp);
    free_fd(bpp);
  }

  void free_klu() {
    if (num) klu_free_numeric(&num, &common);
    if (sym) klu_free_symbolic(&sym, &common);
  }

  void build_pattern();
  void build_klu();
  void set_voltages();
  void compute_injections();
  double mismatch(std::int32_t* worst);
  void fill_jacobian();
  int factor_and_solve();
  PfStatus newton_iterations(const PowerFlowOptions& opt, PowerFlowResult& out);
  PfStatus newton(const PowerFlowOptions& opt, PowerFlowResult& out);

  // Fast-decoupled (XB) matrices B' (P-V angle, n_p x n_p) and B'' (Q-V magnitude), CSC, with
  // the position of each Ybus entry in their value arrays; each has its own KLU factors and
  // its own equation numbering.
  struct Factor {
    std::vector<int> p, i;
    std::vector<double> x;
    std::vector<int> pos;  // per Ybus entry, -1 if not in this matrix
    klu_symbolic* sym = nullptr;
    klu_numeric* num = nullptr;
  };
  Factor bp, bpp;
  std::vector<std::int8_t> fd_kind;
  std::vector<int> fd_p_eq, fd_q_eq;
  std::vector<double> fp, fq;
  int n_p = 0, n_fd = 0;
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

}  // namespace citytwin::power
