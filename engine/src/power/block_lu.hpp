// Sparse LU of a matrix of 2x2 blocks with a structurally symmetric block pattern, a given
// elimination order and no pivoting beyond the 2x2 diagonal blocks; the symbolic phase
// precomputes where every update lands, so a numeric factorisation is a stream of 2x2 block
// multiply-subtracts without searches (private to the power module).
#pragma once

#include <vector>

namespace citytwin {
class TaskPool;
}

namespace citytwin::power {

class BlockLU {
 public:
  /// Pattern of n block rows in CSR (`ptr`, `idx`; structurally symmetric, diagonal present),
  /// eliminated in the order `perm` (perm[k] = the block row eliminated k-th). With a pool,
  /// the block positions and update targets are computed on its workers (same result).
  void analyze(int n, const int* ptr, const int* idx, const int* perm, TaskPool* pool = nullptr);

  int n() const { return m_n; }
  /// The elimination order (perm[k] = block row eliminated k-th); its blocks are stored in
  /// this order, so walking rows in it keeps memory access local.
  const std::vector<int>& perm() const { return m_perm; }
  /// Block position (into values(), 4 doubles per block, row-major) of the CSR entry e.
  int position(int e) const { return m_pos[e]; }
  /// Number of blocks (A entries and fill-in); values() has 4 * (blocks() + 1) doubles: the
  /// last block is a spare that factor() ignores (a sink for writes that have no place).
  int blocks() const { return m_n + 2 * m_nnz_l; }
  int spare() const { return blocks(); }
  double* values() { return m_val.data(); }

  /// Zeroes the fill-in blocks (call after writing the A entries, before factor()).
  void clear_fill();
  /// Factorises in place. False if a pivot block is singular or nearly so (|det| below
  /// `pivot_tol` times the square of its largest entry); the values are then unusable.
  bool factor(double pivot_tol);
  /// Solves A x = b in place; b holds 2 values per block row in the original order.
  void solve(double* b) const;

 private:
  int m_n = 0, m_nnz_l = 0;
  std::vector<int> m_perm;    // k -> original block row
  std::vector<int> m_lp;      // column k's below-diagonal entries: m_lp[k] .. m_lp[k+1]
  std::vector<int> m_li;      // their rows (elimination index), increasing
  std::vector<int> m_pos;     // CSR entry -> block
  std::vector<int> m_fill;    // fill-in blocks
  std::vector<int> m_tgt;     // per k, per (row, column) of struct(L_k)^2 in order: target block
  std::vector<int> m_dpos;    // k -> its diagonal block (D^-1 after factor())
  std::vector<int> m_ustart;  // k -> first block of row k's U part (then contiguous)
  std::vector<int> m_lrow;    // L entry t (column order) -> its block (row-major)
  std::vector<int> m_lstart;  // k -> first block of row k's L part (up to m_dpos[k])
  std::vector<int> m_lcol;    // L block -> its column
  std::vector<double> m_val;  // blocks row by row: L (multipliers after factor()), D, U
  mutable std::vector<double> m_work;
  std::vector<int> m_mark;  // analyze() scratch
};

}  // namespace citytwin::power
