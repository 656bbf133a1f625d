// Block LU without pivoting across blocks: right-looking Gaussian elimination (Golub & Van Loan,
// Matrix Computations, 4th ed., alg. 3.2.1 in block form) on 2x2 blocks, with the fill pattern
// from the elimination tree (George & Liu, Computer Solution of Large Sparse Positive Definite
// Systems, 1981, ch. 5: struct(L_j) = struct(A_j) + the structures of j's children, minus j).
// Power-flow Jacobians ordered by minimum degree are factorised without pivoting by most
// production power-flow codes since Tinney & Walker (Proc. IEEE 55(11), 1967); the caller
// falls back to a pivoting LU when a pivot block is near singular.
#include "power/block_lu.hpp"

#include <algorithm>

#if defined(__AVX2__)
#include <immintrin.h>
#endif
#include <cmath>

#include "citytwin/parallel.hpp"

namespace citytwin::power {

void BlockLU::analyze(int n, const int* ptr, const int* idx, const int* perm, TaskPool* pool) {
  m_n = n;
  m_perm.assign(perm, perm + n);
  std::vector<int> inv(static_cast<std::size_t>(n));
  for (int k = 0; k < n; ++k) inv[perm[k]] = k;

  // Symbolic factorisation over the elimination tree.
  std::vector<int>& mark = m_mark;               // a member: GCC 12 -O3 reports a bogus
  mark.assign(static_cast<std::size_t>(n), -1);  // -Wfree-nonheap-object on a local here
  std::vector<int> child_head(static_cast<std::size_t>(n), -1),
      child_next(static_cast<std::size_t>(n), -1);
  m_lp.assign(static_cast<std::size_t>(n) + 1, 0);
  m_li.clear();
  std::vector<int> list;
  for (int k = 0; k < n; ++k) {
    list.clear();
    mark[k] = k;
    const int r = perm[k];
    for (int e = ptr[r]; e < ptr[r + 1]; ++e) {
      const int i = inv[idx[e]];
      if (i > k && mark[i] != k) {
        mark[i] = k;
        list.push_back(i);
      }
    }
    for (int c = child_head[k]; c >= 0; c = child_next[c])
      for (int t = m_lp[c]; t < m_lp[c + 1]; ++t) {
        const int i = m_li[t];
        if (i > k && mark[i] != k) {
          mark[i] = k;
          list.push_back(i);
        }
      }
    std::sort(list.begin(), list.end());
    m_li.insert(m_li.end(), list.begin(), list.end());
    m_lp[k + 1] = static_cast<int>(m_li.size());
    if (!list.empty()) {
      child_next[k] = child_head[list.front()];
      child_head[list.front()] = k;
    }
  }
  m_nnz_l = static_cast<int>(m_li.size());

  // Row-major block layout (elimination indices): row i holds its L blocks (i, j < i) by
  // increasing j, then D(i), then its U blocks (i, j > i) by increasing j. A step's updates of
  // one row then land in one increasing run of memory.
  std::vector<int> n_lrow(static_cast<std::size_t>(n), 0);
  for (int i : m_li) ++n_lrow[i];
  m_dpos.resize(static_cast<std::size_t>(n));
  m_ustart.resize(static_cast<std::size_t>(n));
  m_lstart.resize(static_cast<std::size_t>(n));
  int at = 0;
  for (int i = 0; i < n; ++i) {
    m_lstart[i] = at;
    m_dpos[i] = at + n_lrow[i];
    m_ustart[i] = m_dpos[i] + 1;
    at = m_ustart[i] + (m_lp[i + 1] - m_lp[i]);
  }
  std::vector<int> lcur(m_lstart.begin(), m_lstart.end());
  m_lrow.resize(static_cast<std::size_t>(m_nnz_l));
  m_lcol.assign(static_cast<std::size_t>(blocks()), 0);
  for (int j = 0; j < n; ++j)  // columns in order: each row's L blocks come out sorted by j
    for (int t = m_lp[j]; t < m_lp[j + 1]; ++t) {
      m_lrow[t] = lcur[m_li[t]]++;
      m_lcol[m_lrow[t]] = j;
    }

  // Block of (row i, column j): D, L (i > j; entry t of column j) or U (i < j; entry t of
  // row i, which has the same pattern as column i).
  auto block = [&](int i, int j) {
    if (i == j) return m_dpos[i];
    const int c = std::min(i, j), r = std::max(i, j);
    const int t = static_cast<int>(
        std::lower_bound(m_li.begin() + m_lp[c], m_li.begin() + m_lp[c + 1], r) - m_li.begin());
    return i > j ? m_lrow[t] : m_ustart[i] + (t - m_lp[i]);
  };
  m_pos.resize(static_cast<std::size_t>(ptr[n]));
  std::vector<char> is_a(static_cast<std::size_t>(blocks()), 0);
  for_blocks_or_inline(pool, n, 2048, [&](std::int64_t r0, std::int64_t r1, int) {
    for (auto r = static_cast<int>(r0); r < r1; ++r)  // every entry has a block of its own
      for (int e = ptr[r]; e < ptr[r + 1]; ++e) {
        m_pos[e] = block(inv[r], inv[idx[e]]);
        is_a[m_pos[e]] = 1;
      }
  });
  m_fill.clear();
  for (int b = 0; b < blocks(); ++b)
    if (!is_a[b]) m_fill.push_back(b);

  // Update targets: step k subtracts L(i,k) U(k,j) from block (i,j) for i, j in struct(L_k).
  // For i > j that is L entry (i, j), found in column j's sorted rows by a forward scan (the
  // rows i come in increasing order and all of them are there: j is an ancestor of k in the
  // elimination tree); U entry (j, i) has the same index.
  std::vector<int> base(static_cast<std::size_t>(n) + 1, 0);  // step k's first target
  for (int k = 0; k < n; ++k) {
    const int len = m_lp[k + 1] - m_lp[k];
    base[k + 1] = base[k] + len * len;
  }
  m_tgt.resize(static_cast<std::size_t>(base[n]));
  for_blocks_or_inline(pool, n, 256, [&](std::int64_t k0, std::int64_t k1, int) {
    for (auto k = static_cast<int>(k0); k < k1; ++k) {  // late steps are the long ones
      const int t0 = m_lp[k], len = m_lp[k + 1] - t0;
      int* tgt = m_tgt.data() + base[k];
      for (int b = 0; b < len; ++b) {  // column j = m_li[t0 + b]
        const int j = m_li[t0 + b];
        tgt[b * len + b] = m_dpos[j];  // diagonal block
        const int* first = m_li.data() + m_lp[j];
        for (int a = b + 1; a < len; ++a) {       // row i = m_li[t0 + a] > j
          while (*first < m_li[t0 + a]) ++first;  // present: struct(L_k) above j is in struct(L_j)
          const int t = static_cast<int>(first - m_li.data());
          tgt[a * len + b] = m_lrow[t];                    // L(i, j)
          tgt[b * len + a] = m_ustart[j] + (t - m_lp[j]);  // U(j, i)
        }
      }
    }
  });
  m_val.assign(static_cast<std::size_t>(4 * (blocks() + 1)), 0.0);
  m_work.resize(static_cast<std::size_t>(2 * n));
}

void BlockLU::clear_fill() {
  for (int b : m_fill) std::fill_n(m_val.data() + 4 * b, 4, 0.0);
}

bool BlockLU::factor(double pivot_tol) {
  double* v = m_val.data();
  const int* tgt = m_tgt.data();
  for (int k = 0; k < m_n; ++k) {
    double* d = v + 4 * m_dpos[k];
    const double a = d[0], b = d[1], c = d[2], e = d[3];
    const double det = a * e - b * c;
    const double big =
        std::max(std::max(std::abs(a), std::abs(b)), std::max(std::abs(c), std::abs(e)));
    if (!(std::abs(det) > pivot_tol * big * big)) return false;  // also NaN
    const double id = 1.0 / det;
    d[0] = e * id;
    d[1] = -b * id;
    d[2] = -c * id;
    d[3] = a * id;
    const int t0 = m_lp[k], t1 = m_lp[k + 1];
    // Multipliers L(i,k) = A(i,k) D^-1.
    for (int t = t0; t < t1; ++t) {
      double* l = v + 4 * m_lrow[t];
      const double l0 = l[0], l1 = l[1], l2 = l[2], l3 = l[3];
      l[0] = l0 * d[0] + l1 * d[2];
      l[1] = l0 * d[1] + l1 * d[3];
      l[2] = l2 * d[0] + l3 * d[2];
      l[3] = l2 * d[1] + l3 * d[3];
    }
    // Schur complement update: X(i,j) -= L(i,k) U(k,j) for i, j in struct(L_k). With AVX2 a
    // block is one register: X -= [l0 l0 l2 l2] * [u0 u1 u0 u1] + [l1 l1 l3 l3] * [u2 u3 u2 u3].
    const int us = m_ustart[k] - t0;  // U(k, j) of entry q of row k is block us + q
    for (int p = t0; p < t1; ++p) {
      const double* l = v + 4 * m_lrow[p];
#if defined(__AVX2__)
      const __m256d la = _mm256_setr_pd(l[0], l[0], l[2], l[2]);
      const __m256d lb = _mm256_setr_pd(l[1], l[1], l[3], l[3]);
      for (int q = t0; q < t1; ++q) {
        const __m256d u = _mm256_loadu_pd(v + 4 * (us + q));
        double* x = v + 4 * *tgt++;
        __m256d xv = _mm256_loadu_pd(x);
        // Separate multiplies and adds, in the scalar code's order: bit-identical to it (the
        // project builds with -ffp-contract=off so that results do not depend on FMA).
        const __m256d t = _mm256_add_pd(_mm256_mul_pd(la, _mm256_permute4x64_pd(u, 0x44)),
                                        _mm256_mul_pd(lb, _mm256_permute4x64_pd(u, 0xEE)));
        _mm256_storeu_pd(x, _mm256_sub_pd(xv, t));
      }
#else
      const double l0 = l[0], l1 = l[1], l2 = l[2], l3 = l[3];
      for (int q = t0; q < t1; ++q) {
        const double* u = v + 4 * (us + q);
        double* x = v + 4 * *tgt++;
        x[0] -= l0 * u[0] + l1 * u[2];
        x[1] -= l0 * u[1] + l1 * u[3];
        x[2] -= l2 * u[0] + l3 * u[2];
        x[3] -= l2 * u[1] + l3 * u[3];
      }
#endif
    }
  }
  return true;
}

void BlockLU::solve(double* b) const {
  const double* v = m_val.data();
  double* y = m_work.data();
  for (int k = 0; k < m_n; ++k) {
    y[2 * k] = b[2 * m_perm[k]];
    y[2 * k + 1] = b[2 * m_perm[k] + 1];
  }
  for (int i = 0; i < m_n; ++i) {  // L y = b, unit block diagonal, row by row
    double s0 = y[2 * i], s1 = y[2 * i + 1];
    for (int q = m_lstart[i]; q < m_dpos[i]; ++q) {
      const double* l = v + 4 * q;
      const double* yj = y + 2 * m_lcol[q];
      s0 -= l[0] * yj[0] + l[1] * yj[1];
      s1 -= l[2] * yj[0] + l[3] * yj[1];
    }
    y[2 * i] = s0;
    y[2 * i + 1] = s1;
  }
  for (int k = m_n - 1; k >= 0; --k) {  // U x = y, x_k = D^-1 (y_k - sum U(k,j) x_j)
    double s0 = y[2 * k], s1 = y[2 * k + 1];
    const double* u = v + 4 * m_ustart[k];
    for (int t = m_lp[k]; t < m_lp[k + 1]; ++t, u += 4) {
      const double* xj = y + 2 * m_li[t];
      s0 -= u[0] * xj[0] + u[1] * xj[1];
      s1 -= u[2] * xj[0] + u[3] * xj[1];
    }
    const double* d = v + 4 * m_dpos[k];
    y[2 * k] = d[0] * s0 + d[1] * s1;
    y[2 * k + 1] = d[2] * s0 + d[3] * s1;
  }
  for (int k = 0; k < m_n; ++k) {
    b[2 * m_perm[k]] = y[2 * k];
    b[2 * m_perm[k] + 1] = y[2 * k + 1];
  }
}

}  // namespace citytwin::power
