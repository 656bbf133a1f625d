// Residents and jobs from floor area, and daily profiles.
#include <cmath>
#include <numeric>

#include "citytwin/demand.hpp"

namespace citytwin {

Activity building_activity(const Buildings& b, const ActivityParams& p) {
  Activity a;
  a.residents.assign(static_cast<std::size_t>(b.size()), 0.0f);
  a.jobs.assign(static_cast<std::size_t>(b.size()), 0.0f);
  for (std::int32_t i = 0; i < b.size(); ++i) {
    const double floor = b.floor_area_m2[i];
    const auto use = static_cast<std::size_t>(b.use[i]);
    double residential_share = 0;
    if (b.use[i] == BuildingUse::residential) residential_share = 1;
    if (b.use[i] == BuildingUse::other) residential_share = p.other_residential_share;
    a.residents[i] = static_cast<float>(residential_share * floor / p.m2_per_resident);
    const double per_job = p.m2_per_job[use];
    if (per_job > 0) a.jobs[i] = static_cast<float>((1 - residential_share) * floor / per_job);
  }
  return a;
}

Activity city_activity(const Buildings& b, const DemandSpec& demand) {
  ActivityParams p;
  if (demand.floor_area_per_resident > 0) p.m2_per_resident = demand.floor_area_per_resident;
  if (demand.floor_area_per_job > 0)
    for (double& m2 : p.m2_per_job)
      if (m2 > 0) m2 = demand.floor_area_per_job;  // classes without jobs keep none
  Activity a = building_activity(b, p);
  auto scale = [](std::vector<float>& v, double total, double target) {
    if (target <= 0 || total <= 0) return;
    for (float& x : v) x = static_cast<float>(x * (target / total));
  };
  scale(a.residents, a.total_residents(), demand.residents);
  scale(a.jobs, a.total_jobs(), demand.jobs);
  return a;
}

double Activity::total_residents() const {
  return std::accumulate(residents.begin(), residents.end(), 0.0);
}
double Activity::total_jobs() const {
  return std::accumulate(jobs.begin(), jobs.end(), 0.0);
}

DailyProfile DailyProfile::weekday_traffic() {
  // Share of daily car traffic per hour (%), the typical weekday double peak of urban counts.
  return {{0.8, 0.5, 0.4, 0.4, 0.6, 1.5, 4.0, 7.5, 8.5, 6.0, 5.0, 5.2,
           5.6, 5.5, 5.4, 6.0, 7.2, 8.6, 7.8, 5.5, 3.8, 2.8, 2.0, 1.4}};
}

DailyProfile DailyProfile::residential_load() {
  // Fraction of peak household demand: night base, morning shoulder, evening peak at 19-20 h.
  return {{0.50, 0.45, 0.42, 0.40, 0.40, 0.45, 0.60, 0.80, 0.75, 0.62, 0.56, 0.55,
           0.60, 0.60, 0.55, 0.55, 0.62, 0.76, 0.93, 1.00, 0.96, 0.86, 0.72, 0.58}};
}

DailyProfile DailyProfile::commercial_load() {
  // Fraction of peak demand of offices and shops: working hours 9-18 h.
  return {{0.35, 0.33, 0.32, 0.32, 0.33, 0.36, 0.45, 0.65, 0.85, 0.97, 1.00, 1.00,
           0.98, 0.98, 1.00, 0.99, 0.96, 0.90, 0.75, 0.60, 0.50, 0.43, 0.39, 0.37}};
}

double DailyProfile::at(double hour) const {
  hour = std::fmod(hour, 24.0);
  if (hour < 0) hour += 24.0;
  const int i = static_cast<int>(hour);
  const double t = hour - i;
  return (1 - t) * weight[static_cast<std::size_t>(i)] +
         t * weight[static_cast<std::size_t>((i + 1) % 24)];
}

namespace {
// Calls f(a, b, wa, wb) for the linear pieces of the profile covering [begin_s, end_s).
template <class F>
void for_pieces(const DailyProfile& p, double begin_s, double end_s, F&& f) {
  double a = begin_s;
  while (a < end_s) {
    const double b = std::min(end_s, (std::floor(a / 3600.0) + 1) * 3600.0);
    f(a, b, p.at(a / 3600.0), p.at(b / 3600.0));  // linear between hour marks, so exact
    a = b;
  }
}
}  // namespace

double DailyProfile::integral(double begin_s, double end_s) const {
  double s = 0;
  for_pieces(*this, begin_s, end_s,
             [&](double a, double b, double wa, double wb) { s += 0.5 * (wa + wb) * (b - a); });
  return s / 3600.0;
}

double DailyProfile::sample(double u, double begin_s, double end_s) const {
  double target = u * integral(begin_s, end_s) * 3600.0;
  double result = end_s;
  bool done = false;
  for_pieces(*this, begin_s, end_s, [&](double a, double b, double wa, double wb) {
    if (done) return;
    const double mass = 0.5 * (wa + wb) * (b - a);
    if (target > mass || mass <= 0) {
      target -= mass;
      return;
    }
    // Within the linear piece w(d) = wa + k d: solve wa d + k d^2 / 2 = target for d.
    const double k = (wb - wa) / (b - a);
    const double d = std::abs(k) < 1e-15
                         ? target / wa
                         : (-wa + std::sqrt(std::max(0.0, wa * wa + 2 * k * target))) / k;
    result = std::min(b, a + d);
    done = true;
  });
  return result;
}

}  // namespace citytwin
