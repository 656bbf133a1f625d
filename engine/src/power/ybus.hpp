// Bus admittance matrix (MATPOWER makeYbus; MATPOWER manual section 3.2, eq. 3.2-3.11) with a
// fixed sparsity pattern: every branch, in service or not, has its four entries in the
// pattern, so a trip or a restore changes values only and every structure built on the
// pattern (the Jacobian pattern, KLU's symbolic analysis) stays valid.
#pragma once

#include <Eigen/SparseCore>

#include <complex>
#include <vector>

#include "citytwin/power.hpp"

namespace citytwin::power {

using Complex = std::complex<double>;

struct Admittance {
  /// Ybus, row-major compressed; the diagonal of every bus is in the pattern.
  Eigen::SparseMatrix<Complex, Eigen::RowMajor, int> ybus;
  // Per branch (n_branch): positions of (f,f), (f,t), (t,f), (t,t) in ybus.valuePtr().
  std::vector<int> br_pos_ff, br_pos_ft, br_pos_tf, br_pos_tt;
  std::vector<int> bus_pos_diag;  // (n_bus)
  /// Position of entry (c, r) for the entry (r, c) at each position (the pattern is
  /// structurally symmetric), so columns can be walked through rows.
  std::vector<int> transpose;
  // Per branch two-port admittances (zero when out of service): If = yff Vf + yft Vt, ...
  std::vector<Complex> br_yff, br_yft, br_ytf, br_ytt;

  /// Builds the pattern for `net` (once per network layout).
  void build_pattern(const Network& net);
  /// Fills values from statuses, impedances, taps and shunts (no allocation).
  void fill(const Network& net);
};

}  // namespace citytwin::power
