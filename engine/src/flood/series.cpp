// Time series for forcing: step (rain intensity) and linear (hydrographs, levels).
#include <algorithm>

#include "citytwin/flood.hpp"

namespace citytwin::flood {

double Series::at(double t) const {
  if (t_s.empty()) return 0;
  const auto it = std::upper_bound(t_s.begin(), t_s.end(), t);
  if (step) {
    if (it == t_s.begin() || it == t_s.end()) return 0;
    return value[static_cast<std::size_t>(it - t_s.begin()) - 1];
  }
  if (it == t_s.begin()) return value.front();
  if (it == t_s.end()) return value.back();
  const std::size_t k = static_cast<std::size_t>(it - t_s.begin());
  const double w = (t - t_s[k - 1]) / (t_s[k] - t_s[k - 1]);
  return value[k - 1] + w * (value[k] - value[k - 1]);
}

double Series::integral(double t0, double t1) const {
  if (t_s.empty() || t1 <= t0) return 0;
  // Exact integral over the pieces [t_k, t_k+1] that overlap [t0, t1], plus the constant tails.
  double sum = 0;
  const std::size_t n = t_s.size();
  if (!step) {
    sum += value.front() * std::max(0.0, std::min(t1, t_s.front()) - t0);
    sum += value.back() * std::max(0.0, t1 - std::max(t0, t_s.back()));
  }
  for (std::size_t k = 0; k + 1 < n; ++k) {
    const double a = std::max(t0, t_s[k]), b = std::min(t1, t_s[k + 1]);
    if (b <= a) continue;
    sum += step ? value[k] * (b - a) : 0.5 * (at(a) + at(b)) * (b - a);
  }
  return sum;
}

}  // namespace citytwin::flood
