#include "power/ybus.hpp"

#include <algorithm>
#include <cmath>

namespace citytwin::power {

// O(nnz) construction without searches: a counting sort of the entries by row (the diagonal,
// then both ends of every branch), a second counting sort by column that visits rows in
// increasing order -- so every row comes out sorted -- and a compaction that merges parallel
// branches. Each entry remembers where it landed, which gives the branch and diagonal slots.
void Admittance::build_pattern(const Network& net) {
  const int nb = net.n_bus();
  const int nl = net.n_branch();
  std::vector<int> start(static_cast<std::size_t>(nb) + 1, 0);
  for (int i = 0; i < nb; ++i) start[i + 1] = 1;  // the diagonal
  for (int k = 0; k < nl; ++k) {
    ++start[net.br_from[k] + 1];
    ++start[net.br_to[k] + 1];
  }
  for (int i = 0; i < nb; ++i) start[i + 1] += start[i];
  const int total = start[nb];
  // Pass 1, by row, unsorted: entry p = (row, cols[p]); the diagonal first in each row, then
  // branch k's (f, t) and (t, f).
  std::vector<int> cols(static_cast<std::size_t>(total));
  std::vector<int> fill(start.begin(), start.end() - 1);
  std::vector<int> at_ft(static_cast<std::size_t>(nl)), at_tf(static_cast<std::size_t>(nl));
  for (int i = 0; i < nb; ++i) cols[fill[i]++] = i;
  for (int k = 0; k < nl; ++k) {
    const int f = net.br_from[k], t = net.br_to[k];
    at_ft[k] = fill[f];
    cols[fill[f]++] = t;
    at_tf[k] = fill[t];
    cols[fill[t]++] = f;
  }
  // Pass 2: entry p = (i, j) appends i to row j; rows i come in increasing order, so row j is
  // sorted. moved[p] = the slot of the transposed entry (j, i).
  std::vector<int> sorted(static_cast<std::size_t>(total)), moved(static_cast<std::size_t>(total));
  std::copy(start.begin(), start.end() - 1, fill.begin());
  for (int i = 0; i < nb; ++i)
    for (int p = start[i]; p < start[i + 1]; ++p) {
      const int q = fill[cols[p]]++;
      sorted[q] = i;
      moved[p] = q;
    }
  // Pass 3: compaction (parallel branches share a slot).
  ybus.resize(nb, nb);
  ybus.resizeNonZeros(total);
  int* outer = ybus.outerIndexPtr();
  int* inner = ybus.innerIndexPtr();
  std::vector<int> slot(static_cast<std::size_t>(total));
  int nnz = 0;
  for (int j = 0; j < nb; ++j) {
    outer[j] = nnz;
    for (int q = start[j]; q < start[j + 1]; ++q) {
      if (q == start[j] || sorted[q] != sorted[q - 1]) inner[nnz++] = sorted[q];
      slot[q] = nnz - 1;
    }
  }
  outer[nb] = nnz;
  ybus.resizeNonZeros(nnz);
  std::fill(ybus.valuePtr(), ybus.valuePtr() + nnz, Complex(0.0));

  bus_pos_diag.resize(static_cast<std::size_t>(nb));
  for (int i = 0; i < nb; ++i) bus_pos_diag[i] = slot[moved[start[i]]];
  br_pos_ff.resize(static_cast<std::size_t>(nl));
  br_pos_ft.resize(static_cast<std::size_t>(nl));
  br_pos_tf.resize(static_cast<std::size_t>(nl));
  br_pos_tt.resize(static_cast<std::size_t>(nl));
  for (int k = 0; k < nl; ++k) {
    br_pos_ff[k] = bus_pos_diag[net.br_from[k]];
    br_pos_tf[k] = slot[moved[at_ft[k]]];  // (f, t) moved to (t, f)
    br_pos_ft[k] = slot[moved[at_tf[k]]];
    br_pos_tt[k] = bus_pos_diag[net.br_to[k]];
  }
  // Transpose positions: the rows of column c are visited in increasing order as r grows.
  transpose.resize(static_cast<std::size_t>(nnz));
  std::copy(outer, outer + nb, fill.begin());
  for (int r = 0; r < nb; ++r)
    for (int e = outer[r]; e < outer[r + 1]; ++e) transpose[e] = fill[inner[e]]++;
  br_yff.assign(static_cast<std::size_t>(nl), 0.0);
  br_yft.assign(static_cast<std::size_t>(nl), 0.0);
  br_ytf.assign(static_cast<std::size_t>(nl), 0.0);
  br_ytt.assign(static_cast<std::size_t>(nl), 0.0);
}

void Admittance::fill(const Network& net) {
  Complex* y = ybus.valuePtr();
  std::fill(y, y + ybus.nonZeros(), Complex(0.0));
  // Branch pi model with an ideal phase-shifting transformer at the from end:
  // Ytt = ys + j b/2, Yff = Ytt / |tap|^2, Yft = -ys / conj(tap), Ytf = -ys / tap.
  for (int k = 0; k < net.n_branch(); ++k) {
    if (!net.br_on[k]) {
      br_yff[k] = br_yft[k] = br_ytf[k] = br_ytt[k] = 0.0;
      continue;
    }
    // Real arithmetic (no complex division): ys = (r - jx) / (r^2 + x^2), 1/tap and
    // 1/conj(tap) from |tap| and the shift.
    const double r = net.br_r[k], xk = net.br_x[k], z2 = r * r + xk * xk;
    const Complex ys(r / z2, -xk / z2);
    const double sh = net.br_shift[k];
    const double m = net.br_tap[k], c = sh == 0.0 ? 1.0 : std::cos(sh),
                 sn = sh == 0.0 ? 0.0 : std::sin(sh);
    const Complex inv_tap(c / m, -sn / m);  // 1 / tap
    const Complex ytt = ys + Complex(0.0, net.br_b[k] / 2);
    br_ytt[k] = ytt;
    br_yff[k] = ytt / (m * m);
    br_yft[k] = -ys * std::conj(inv_tap);
    br_ytf[k] = -ys * inv_tap;
    y[br_pos_ff[k]] += br_yff[k];
    y[br_pos_ft[k]] += br_yft[k];
    y[br_pos_tf[k]] += br_ytf[k];
    y[br_pos_tt[k]] += br_ytt[k];
  }
  for (int i = 0; i < net.n_bus(); ++i) y[bus_pos_diag[i]] += Complex(net.bus_gs[i], net.bus_bs[i]);
}

}  // namespace citytwin::power
