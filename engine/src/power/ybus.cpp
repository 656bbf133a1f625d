#include "power/ybus.hpp"

#include <numeric>

namespace citytwin::power {

void Admittance::build_pattern(const Network& net) {
  const int nb = net.n_bus();
  const int nl = net.n_branch();
  // Triplets carry their own slot number as value, so after compression we can read where
  // each (branch, corner) landed; duplicates (parallel branches) share a slot.
  std::vector<Eigen::Triplet<double, int>> trip;
  trip.reserve(static_cast<std::size_t>(nb + 4 * nl));
  for (int i = 0; i < nb; ++i) trip.emplace_back(i, i, 0.0);
  for (int k = 0; k < nl; ++k) {
    const int f = net.br_from[k], t = net.br_to[k];
    trip.emplace_back(f, t, 0.0);
    trip.emplace_back(t, f, 0.0);
  }
  Eigen::SparseMatrix<double, Eigen::RowMajor, int> pat(nb, nb);
  pat.setFromTriplets(trip.begin(), trip.end());
  pat.makeCompressed();
  ybus = pat.cast<Complex>();
  ybus.makeCompressed();

  auto pos = [&](int r, int c) {
    const int* outer = ybus.outerIndexPtr();
    const int* inner = ybus.innerIndexPtr();
    const int* it = std::lower_bound(inner + outer[r], inner + outer[r + 1], c);
    return static_cast<int>(it - inner);
  };
  bus_pos_diag.resize(static_cast<std::size_t>(nb));
  for (int i = 0; i < nb; ++i) bus_pos_diag[i] = pos(i, i);
  br_pos_ff.resize(static_cast<std::size_t>(nl));
  br_pos_ft.resize(static_cast<std::size_t>(nl));
  br_pos_tf.resize(static_cast<std::size_t>(nl));
  br_pos_tt.resize(static_cast<std::size_t>(nl));
  for (int k = 0; k < nl; ++k) {
    const int f = net.br_from[k], t = net.br_to[k];
    br_pos_ff[k] = pos(f, f);
    br_pos_ft[k] = pos(f, t);
    br_pos_tf[k] = pos(t, f);
    br_pos_tt[k] = pos(t, t);
  }
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
    const Complex ys = 1.0 / Complex(net.br_r[k], net.br_x[k]);
    const Complex tap = std::polar(net.br_tap[k], net.br_shift[k]);
    const Complex ytt = ys + Complex(0.0, net.br_b[k] / 2);
    br_ytt[k] = ytt;
    br_yff[k] = ytt / (tap * std::conj(tap));
    br_yft[k] = -ys / std::conj(tap);
    br_ytf[k] = -ys / tap;
    y[br_pos_ff[k]] += br_yff[k];
    y[br_pos_ft[k]] += br_yft[k];
    y[br_pos_tf[k]] += br_ytf[k];
    y[br_pos_tt[k]] += br_ytt[k];
  }
  for (int i = 0; i < net.n_bus(); ++i) y[bus_pos_diag[i]] += Complex(net.bus_gs[i], net.bus_bs[i]);
}

}  // namespace citytwin::power
