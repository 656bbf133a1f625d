#include "power/ybus.hpp"

#include <algorithm>
#include <cmath>

namespace citytwin::power {

// O(nnz) construction: a counting sort of the branch ends by bus gives each row's columns,
// a small insertion sort per row orders them (rows are short: a bus has a handful of
// neighbours) and drops parallel branches, and each (branch, corner) finds its slot by a scan
// of its row.
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
  std::vector<int> cols(static_cast<std::size_t>(start[nb]));
  std::vector<int> fill(start.begin(), start.end() - 1);
  for (int i = 0; i < nb; ++i) cols[fill[i]++] = i;
  for (int k = 0; k < nl; ++k) {
    const int f = net.br_from[k], t = net.br_to[k];
    cols[fill[f]++] = t;
    cols[fill[t]++] = f;
  }
  // Sort and deduplicate each row in place, compacting into the final CSR arrays.
  ybus.resize(nb, nb);
  ybus.resizeNonZeros(start[nb]);
  int* outer = ybus.outerIndexPtr();
  int* inner = ybus.innerIndexPtr();
  int nnz = 0;
  for (int i = 0; i < nb; ++i) {
    int* row = cols.data() + start[i];
    const int len = start[i + 1] - start[i];
    for (int a = 1; a < len; ++a)
      for (int b = a; b > 0 && row[b - 1] > row[b]; --b) std::swap(row[b - 1], row[b]);
    outer[i] = nnz;
    for (int a = 0; a < len; ++a)
      if (a == 0 || row[a] != row[a - 1]) inner[nnz++] = row[a];
  }
  outer[nb] = nnz;
  ybus.resizeNonZeros(nnz);
  std::fill(ybus.valuePtr(), ybus.valuePtr() + nnz, Complex(0.0));

  auto pos = [&](int r, int c) {
    int e = outer[r];
    while (inner[e] != c) ++e;
    return e;
  };
  bus_pos_diag.resize(static_cast<std::size_t>(nb));
  for (int i = 0; i < nb; ++i) bus_pos_diag[i] = pos(i, i);
  br_pos_ff.resize(static_cast<std::size_t>(nl));
  br_pos_ft.resize(static_cast<std::size_t>(nl));
  br_pos_tf.resize(static_cast<std::size_t>(nl));
  br_pos_tt.resize(static_cast<std::size_t>(nl));
  for (int k = 0; k < nl; ++k) {
    const int f = net.br_from[k], t = net.br_to[k];
    br_pos_ff[k] = bus_pos_diag[f];
    br_pos_ft[k] = pos(f, t);
    br_pos_tf[k] = pos(t, f);
    br_pos_tt[k] = bus_pos_diag[t];
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
    const double m = net.br_tap[k], c = std::cos(net.br_shift[k]), sn = std::sin(net.br_shift[k]);
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
