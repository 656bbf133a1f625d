// Zones, the gravity model, nearest links and trip sampling.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "citytwin/demand.hpp"
#include "citytwin/rng.hpp"

namespace citytwin {

Zoning make_zones(const CityModel& city, double cell_m) {
  Zoning z;
  z.cell_m = cell_m;
  z.x0 = city.extent[0];
  z.y0 = city.extent[1];
  z.nx = std::max(1, static_cast<int>(std::ceil((city.extent[2] - city.extent[0]) / cell_m)));
  z.ny = std::max(1, static_cast<int>(std::ceil((city.extent[3] - city.extent[1]) / cell_m)));
  const Buildings& b = city.buildings;
  z.building_zone.resize(static_cast<std::size_t>(b.size()));
  std::vector<double> sx(static_cast<std::size_t>(z.zone_count()), 0), sy(sx), n(sx);
  for (std::int32_t i = 0; i < b.size(); ++i) {
    const int ix = std::clamp(static_cast<int>((b.centroid_x[i] - z.x0) / cell_m), 0, z.nx - 1);
    const int iy = std::clamp(static_cast<int>((b.centroid_y[i] - z.y0) / cell_m), 0, z.ny - 1);
    const int zone = iy * z.nx + ix;
    z.building_zone[i] = zone;
    sx[zone] += b.centroid_x[i], sy[zone] += b.centroid_y[i], n[zone] += 1;
  }
  z.zone_x.resize(sx.size());
  z.zone_y.resize(sx.size());
  for (int k = 0; k < z.zone_count(); ++k) {
    z.zone_x[k] = n[k] > 0 ? sx[k] / n[k] : z.x0 + (k % z.nx + 0.5) * cell_m;
    z.zone_y[k] = n[k] > 0 ? sy[k] / n[k] : z.y0 + (k / z.nx + 0.5) * cell_m;
  }
  return z;
}

GravityResult gravity_model(const std::vector<double>& productions,
                            const std::vector<double>& attractions,
                            const std::vector<double>& cost_km, double beta_per_km,
                            int max_iterations, double tolerance) {
  GravityResult r;
  const int n = static_cast<int>(productions.size());
  r.n = n;
  const double total_p = std::accumulate(productions.begin(), productions.end(), 0.0);
  const double total_a = std::accumulate(attractions.begin(), attractions.end(), 0.0);
  std::vector<double> target_a(attractions);
  for (double& a : target_a) a *= total_a > 0 ? total_p / total_a : 0.0;
  r.trips.assign(static_cast<std::size_t>(n) * n, 0.0);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      r.trips[static_cast<std::size_t>(i) * n + j] =
          productions[i] * target_a[j] *
          std::exp(-beta_per_km * cost_km[static_cast<std::size_t>(i) * n + j]);
  std::vector<double> row(static_cast<std::size_t>(n)), col(static_cast<std::size_t>(n));
  auto mismatch = [&] {
    std::fill(row.begin(), row.end(), 0.0);
    std::fill(col.begin(), col.end(), 0.0);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j)
        row[i] += r.trips[static_cast<std::size_t>(i) * n + j],
            col[j] += r.trips[static_cast<std::size_t>(i) * n + j];
    double worst = 0;
    for (int k = 0; k < n; ++k) {
      if (productions[k] > 0)
        worst = std::max(worst, std::abs(row[k] - productions[k]) / productions[k]);
      if (target_a[k] > 0) worst = std::max(worst, std::abs(col[k] - target_a[k]) / target_a[k]);
    }
    return worst;
  };
  // Furness: alternately scale rows to their productions and columns to their attractions.
  for (r.iterations = 0; r.iterations < max_iterations; ++r.iterations) {
    r.max_relative_error = mismatch();
    if (r.max_relative_error <= tolerance) break;
    for (int i = 0; i < n; ++i) {
      const double f = row[i] > 0 ? productions[i] / row[i] : 0.0;
      for (int j = 0; j < n; ++j) r.trips[static_cast<std::size_t>(i) * n + j] *= f;
    }
    std::fill(col.begin(), col.end(), 0.0);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) col[j] += r.trips[static_cast<std::size_t>(i) * n + j];
    for (int j = 0; j < n; ++j) {
      const double f = col[j] > 0 ? target_a[j] / col[j] : 0.0;
      for (int i = 0; i < n; ++i) r.trips[static_cast<std::size_t>(i) * n + j] *= f;
    }
  }
  r.max_relative_error = mismatch();
  r.converged = r.max_relative_error <= tolerance;
  return r;
}

namespace {
bool local_access(RoadClass c) {
  return c != RoadClass::motorway && c != RoadClass::motorway_link && c != RoadClass::trunk &&
         c != RoadClass::trunk_link;
}

double point_segment_distance2(double px, double py, double ax, double ay, double bx, double by) {
  const double vx = bx - ax, vy = by - ay;
  const double len2 = vx * vx + vy * vy;
  const double t = len2 > 0 ? std::clamp(((px - ax) * vx + (py - ay) * vy) / len2, 0.0, 1.0) : 0.0;
  const double dx = ax + t * vx - px, dy = ay + t * vy - py;
  return dx * dx + dy * dy;
}
}  // namespace

std::vector<std::int32_t> nearest_links(const CityModel& city,
                                        const std::vector<std::uint8_t>& usable) {
  const RoadNetwork& r = city.roads;
  const Buildings& b = city.buildings;
  std::vector<std::int32_t> out(static_cast<std::size_t>(b.size()), -1);
  if (r.link_count() == 0) return out;
  // Segments bucketed on a 100 m grid over the city extent.
  const double cell = 100.0, x0 = city.extent[0], y0 = city.extent[1];
  const int nx = std::max(1, static_cast<int>(std::ceil((city.extent[2] - x0) / cell)) + 1);
  const int ny = std::max(1, static_cast<int>(std::ceil((city.extent[3] - y0) / cell)) + 1);
  auto cell_of = [&](double x, double y) {
    return std::pair{std::clamp(static_cast<int>((x - x0) / cell), 0, nx - 1),
                     std::clamp(static_cast<int>((y - y0) / cell), 0, ny - 1)};
  };
  std::vector<std::vector<std::int32_t>> bucket(static_cast<std::size_t>(nx) *
                                                ny);  // point index p of segment (p, p+1)
  std::vector<std::int32_t> point_link(r.point_x.size());
  for (std::int32_t l = 0; l < r.link_count(); ++l) {
    if (!local_access(r.link_class[l]) || (!usable.empty() && !usable[l])) continue;
    for (std::int32_t p = r.link_point_offsets[l]; p + 1 < r.link_point_offsets[l + 1]; ++p) {
      point_link[p] = l;
      const auto [ia, ja] = cell_of(r.point_x[p], r.point_y[p]);
      const auto [ib, jb] = cell_of(r.point_x[p + 1], r.point_y[p + 1]);
      for (int j = std::min(ja, jb); j <= std::max(ja, jb); ++j)
        for (int i = std::min(ia, ib); i <= std::max(ia, ib); ++i)
          bucket[static_cast<std::size_t>(j) * nx + i].push_back(p);
    }
  }
  for (std::int32_t k = 0; k < b.size(); ++k) {
    const double px = b.centroid_x[k], py = b.centroid_y[k];
    const auto [ci, cj] = cell_of(px, py);
    double best = std::numeric_limits<double>::infinity();
    std::int32_t best_link = -1;
    // Rings of cells outwards until the ring is farther than the best hit so far.
    for (int ring = 0; ring < std::max(nx, ny); ++ring) {
      if (best_link >= 0 && (ring - 1) * cell > std::sqrt(best)) break;
      for (int j = cj - ring; j <= cj + ring; ++j)
        for (int i = ci - ring; i <= ci + ring; ++i) {
          if (i < 0 || j < 0 || i >= nx || j >= ny) continue;
          if (std::max(std::abs(i - ci), std::abs(j - cj)) != ring) continue;
          for (std::int32_t p : bucket[static_cast<std::size_t>(j) * nx + i]) {
            const double d2 = point_segment_distance2(px, py, r.point_x[p], r.point_y[p],
                                                      r.point_x[p + 1], r.point_y[p + 1]);
            // Ties go to the lower link index, so the answer does not depend on bucket order.
            if (d2 < best || (d2 == best && point_link[p] < best_link))
              best = d2, best_link = point_link[p];
          }
        }
    }
    out[k] = best_link;
  }
  return out;
}

namespace {

// Daily trips are scaled to the share of the day's profile inside the window.
double window_share(const TripParams& p) {
  const double start = static_cast<double>(p.start_second_of_day);
  return p.profile.integral(start + to_seconds(p.window_begin), start + to_seconds(p.window_end)) /
         p.profile.integral(0, 86400);
}

}  // namespace

double expected_trips(const Activity& activity, const TripParams& p) {
  return activity.total_residents() * p.trips_per_resident * window_share(p);
}

std::vector<Trip> sample_trips(const CityModel& city, const Activity& activity, const TripParams& p,
                               std::uint64_t seed) {
  const Zoning zones = make_zones(city, p.zone_m);
  const int n = zones.zone_count();
  const double start = static_cast<double>(p.start_second_of_day);
  const double begin_s = start + to_seconds(p.window_begin),
               end_s = start + to_seconds(p.window_end);
  const double share = window_share(p);
  std::vector<double> prod(static_cast<std::size_t>(n), 0), attr(static_cast<std::size_t>(n), 0);
  for (std::int32_t b = 0; b < city.buildings.size(); ++b) {
    prod[zones.building_zone[b]] += activity.residents[b] * p.trips_per_resident * share;
    attr[zones.building_zone[b]] += activity.jobs[b];
  }
  std::vector<double> cost(static_cast<std::size_t>(n) * n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      cost[static_cast<std::size_t>(i) * n + j] =
          p.detour_factor *
          std::hypot(zones.zone_x[i] - zones.zone_x[j], zones.zone_y[i] - zones.zone_y[j]) * 1e-3;
  const GravityResult g = gravity_model(prod, attr, cost, p.beta_per_km);

  // Buildings of each zone (CSR) with cumulative residents and jobs for weighted choice.
  std::vector<std::int32_t> offsets(static_cast<std::size_t>(n) + 1, 0),
      members(zones.building_zone.size());
  for (std::int32_t z : zones.building_zone) ++offsets[static_cast<std::size_t>(z) + 1];
  for (int z = 0; z < n; ++z) offsets[z + 1] += offsets[z];
  std::vector<std::int32_t> fill(offsets.begin(), offsets.end() - 1);
  for (std::int32_t b = 0; b < city.buildings.size(); ++b)
    members[fill[zones.building_zone[b]]++] = b;
  auto pick = [&](int zone, const std::vector<float>& weight, double u) {
    CT_ASSERT(offsets[zone + 1] > offsets[zone], "trips only start or end in zones with buildings");
    double total = 0;
    for (std::int32_t k = offsets[zone]; k < offsets[zone + 1]; ++k) total += weight[members[k]];
    double acc = 0;
    for (std::int32_t k = offsets[zone]; k < offsets[zone + 1]; ++k) {
      acc += weight[members[k]];
      if (acc > u * total) return members[k];
    }
    return members[offsets[zone + 1] - 1];
  };

  const std::vector<std::int32_t> link = nearest_links(city, p.usable_links);
  // Systematic sampling of whole trips from the OD matrix: totals are kept exactly (to the
  // rounding of the grand total) and only one random offset is needed.
  const double total = std::accumulate(g.trips.begin(), g.trips.end(), 0.0);
  const auto count = static_cast<std::int64_t>(std::llround(total));
  std::vector<Trip> trips;
  trips.reserve(static_cast<std::size_t>(count));
  if (count == 0) return trips;
  const double spacing = total / static_cast<double>(count);
  double next = Rng(seed, RngStream::traffic_demand, 0, 0).uniform(0) * spacing, acc = 0;
  std::int64_t k = 0;
  for (int od = 0; od < n * n; ++od) {
    acc += g.trips[od];
    while (next < acc && k < count) {
      const Rng rng(seed, RngStream::traffic_demand, static_cast<std::uint64_t>(k) + 1, 1);
      const std::int32_t ob = pick(od / n, activity.residents, rng.uniform(0));
      const std::int32_t db = pick(od % n, activity.jobs, rng.uniform(1));
      const double t = p.profile.sample(rng.uniform(2), begin_s, end_s) - start;
      trips.push_back({ob, db, link[ob], link[db],
                       std::clamp(seconds_ms(t), p.window_begin, p.window_end - 1)});
      next += spacing;
      ++k;
    }
  }
  std::stable_sort(trips.begin(), trips.end(),
                   [](const Trip& a, const Trip& b) { return a.depart < b.depart; });
  return trips;
}

}  // namespace citytwin
