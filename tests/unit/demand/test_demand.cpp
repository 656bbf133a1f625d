#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>

#include "citytwin/demand.hpp"

using namespace citytwin;

namespace {
// A house, an office, an untyped building and a car park, by floor area.
Buildings four_buildings() {
  Buildings b;
  for (auto [use, floor] : {std::pair{BuildingUse::residential, 400.0f},
                            {BuildingUse::office, 400.0f},
                            {BuildingUse::other, 1000.0f},
                            {BuildingUse::parking, 5000.0f}}) {
    b.osm_id.push_back(1);
    b.use.push_back(use);
    b.floor_area_m2.push_back(floor);
  }
  return b;
}
}  // namespace

TEST_CASE("residents and jobs follow floor area and use class", "[demand]") {
  const Buildings b = four_buildings();
  const Activity a = building_activity(b);
  CHECK(a.residents[0] == Approx(10.0));  // 400 m2 / 40 m2 per resident
  CHECK(a.jobs[0] == 0.0f);
  CHECK(a.jobs[1] == Approx(20.0));               // 400 m2 / 20 m2 per office job
  CHECK(a.residents[2] == Approx(700.0 / 40.0));  // 70 % of "other" is housing
  CHECK(a.jobs[2] == Approx(300.0 / 35.0));
  CHECK(a.residents[3] == 0.0f);
  CHECK(a.jobs[3] == 0.0f);
  CHECK(a.total_residents() == Approx(27.5));
}

TEST_CASE("census totals scale every building's share; floor areas replace the defaults",
          "[demand]") {
  const Buildings b = four_buildings();
  const Activity base = building_activity(b);
  DemandSpec census;
  census.residents = 1000;
  census.jobs = 333;
  const Activity a = city_activity(b, census);
  CHECK(a.total_residents() == Approx(1000).epsilon(1e-6));
  CHECK(a.total_jobs() == Approx(333).epsilon(1e-6));
  for (std::size_t i = 0; i < 4; ++i) {  // shares kept
    CHECK(a.residents[i] == Approx(base.residents[i] * 1000 / base.total_residents()));
    CHECK(a.jobs[i] == Approx(base.jobs[i] * 333 / base.total_jobs()));
  }
  // Floor areas per person and per job instead of totals: 50 m2 per resident, 25 m2 per job
  // for every class that has jobs (parking keeps none, housing keeps none).
  DemandSpec areas;
  areas.floor_area_per_resident = 50;
  areas.floor_area_per_job = 25;
  const Activity c = city_activity(b, areas);
  CHECK(c.residents[0] == Approx(8.0));
  CHECK(c.jobs[1] == Approx(16.0));
  CHECK(c.residents[2] == Approx(700.0 / 50.0));
  CHECK(c.jobs[2] == Approx(300.0 / 25.0));
  CHECK(c.jobs[0] == 0.0f);
  CHECK(c.jobs[3] == 0.0f);
  // Without [demand], the defaults: the same as building_activity.
  CHECK(city_activity(b, DemandSpec{}).residents == base.residents);
}

TEST_CASE("daily profiles interpolate, integrate and invert exactly", "[demand]") {
  const DailyProfile p = DailyProfile::weekday_traffic();
  CHECK(p.at(7.0) == 7.5);
  CHECK(p.at(7.5) == Approx(0.5 * (7.5 + 8.5)));
  CHECK(p.at(23.5) == Approx(0.5 * (1.4 + 0.8)));  // wraps to midnight
  // A periodic piecewise-linear function integrates over a day to the sum of its hour values.
  const double sum = std::accumulate(p.weight.begin(), p.weight.end(), 0.0);
  CHECK(p.integral(0, 86400) == Approx(sum).epsilon(1e-12));
  CHECK(p.integral(7 * 3600, 8 * 3600) == Approx(8.0).epsilon(1e-12));
  for (double u : {0.0, 0.1, 0.37, 0.5, 0.99}) {
    const double t = p.sample(u, 7 * 3600, 9 * 3600);
    CHECK(t >= 7 * 3600);
    CHECK(t <= 9 * 3600);
    CHECK(p.integral(7 * 3600, t) == Approx(u * p.integral(7 * 3600, 9 * 3600)).margin(1e-9));
  }
}

TEST_CASE("gravity model: Furness meets both margins; beta = 0 is the independence solution",
          "[demand]") {
  const std::vector<double> prod = {100, 50, 0, 25};
  const std::vector<double> attr = {20, 80, 60, 15};  // total 175 = productions' total
  std::vector<double> cost(16);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) cost[i * 4 + j] = std::abs(i - j) * 1.5;
  const GravityResult g = gravity_model(prod, attr, cost, 0.8);
  REQUIRE(g.converged);
  for (int i = 0; i < 4; ++i) {
    double row = 0, col = 0;
    for (int j = 0; j < 4; ++j) row += g.trips[i * 4 + j], col += g.trips[j * 4 + i];
    CHECK(row == Approx(prod[i]).margin(1e-8));
    CHECK(col == Approx(attr[i]).margin(1e-8));
  }
  // beta = 0: T_ij = P_i A_j / total, in one balancing pass.
  const GravityResult flat = gravity_model(prod, attr, cost, 0.0);
  REQUIRE(flat.converged);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j)
      CHECK(flat.trips[i * 4 + j] == Approx(prod[i] * attr[j] / 175.0).margin(1e-9));
  // Deterrence keeps trips shorter: more stay in their own zone than without it.
  CHECK(g.trips[0] > flat.trips[0]);
}

namespace {
std::shared_ptr<const CityModel> monaco() {
  static std::shared_ptr<const CityModel> city = [] {
    CitySpec spec;
    spec.osm = std::string(CITYTWIN_SOURCE_DIR) + "/assets/monaco/monaco-2025-02.osm.pbf";
    spec.bbox = std::array<double, 4>{7.405, 43.718, 7.445, 43.755};
    return *import_city(spec);
  }();
  return city;
}
}  // namespace

TEST_CASE("nearest links equal a brute-force search", "[demand][monaco]") {
  const auto city = monaco();
  const auto got = nearest_links(*city);
  const RoadNetwork& r = city->roads;
  for (std::int32_t b = 0; b < city->buildings.size(); b += 7) {
    double best = 1e300;
    std::int32_t best_link = -1;
    for (std::int32_t l = 0; l < r.link_count(); ++l) {
      if (r.link_class[l] == RoadClass::motorway || r.link_class[l] == RoadClass::trunk ||
          r.link_class[l] == RoadClass::motorway_link || r.link_class[l] == RoadClass::trunk_link)
        continue;
      for (std::int32_t p = r.link_point_offsets[l]; p + 1 < r.link_point_offsets[l + 1]; ++p) {
        const double px = city->buildings.centroid_x[b], py = city->buildings.centroid_y[b];
        const double vx = r.point_x[p + 1] - r.point_x[p], vy = r.point_y[p + 1] - r.point_y[p];
        const double len2 = vx * vx + vy * vy;
        const double t =
            len2 > 0
                ? std::clamp(((px - r.point_x[p]) * vx + (py - r.point_y[p]) * vy) / len2, 0.0, 1.0)
                : 0.0;
        const double dx = r.point_x[p] + t * vx - px, dy = r.point_y[p] + t * vy - py;
        const double d2 = dx * dx + dy * dy;
        if (d2 < best || (d2 == best && l < best_link)) best = d2, best_link = l;
      }
    }
    REQUIRE(got[b] == best_link);
  }
}

TEST_CASE("Monaco morning trips: seeded, in the window, totals kept, shorter with more deterrence",
          "[demand][monaco]") {
  const auto city = monaco();
  const Activity a = building_activity(city->buildings);
  TripParams p;
  p.trips_per_resident = 0.6;
  const auto trips = sample_trips(*city, a, p, 42);
  // Expected count: residents x 0.6 x (share of the day's profile between 7:00 and 8:00).
  const DailyProfile prof = DailyProfile::weekday_traffic();
  const double expected =
      a.total_residents() * 0.6 * prof.integral(7 * 3600, 8 * 3600) / prof.integral(0, 86400);
  CHECK(static_cast<double>(trips.size()) == Approx(expected).margin(1.0));
  CHECK(trips.size() > 1000);
  for (std::size_t k = 0; k < trips.size(); ++k) {
    REQUIRE(trips[k].depart >= 0);
    REQUIRE(trips[k].depart < 3'600'000);
    REQUIRE(trips[k].origin_link >= 0);
    REQUIRE(trips[k].dest_link >= 0);
    REQUIRE(a.residents[trips[k].origin_building] > 0);
    REQUIRE(a.jobs[trips[k].dest_building] > 0);
    if (k > 0) REQUIRE(trips[k - 1].depart <= trips[k].depart);
  }
  // Departures follow the profile: 7:00-7:30 holds (7.5+8.0)/2 / 8.0 of the hour's mass.
  const auto first_half =
      std::count_if(trips.begin(), trips.end(), [](const Trip& t) { return t.depart < 1'800'000; });
  const double share = static_cast<double>(first_half) / static_cast<double>(trips.size());
  CHECK(share == Approx(0.5 * (7.5 + 8.0) * 0.5 / 8.0).margin(0.03));  // ~4 sigma for n ~ 2000

  const auto again = sample_trips(*city, a, p, 42);
  REQUIRE(again.size() == trips.size());
  CHECK(std::equal(trips.begin(), trips.end(), again.begin(), [](const Trip& x, const Trip& y) {
    return x.origin_building == y.origin_building && x.dest_building == y.dest_building &&
           x.depart == y.depart;
  }));
  const auto other = sample_trips(*city, a, p, 43);
  CHECK(!std::equal(trips.begin(), trips.end(), other.begin(), [](const Trip& x, const Trip& y) {
    return x.origin_building == y.origin_building && x.depart == y.depart;
  }));
  auto mean_km = [&](const std::vector<Trip>& ts) {
    double s = 0;
    for (const Trip& t : ts)
      s += std::hypot(city->buildings.centroid_x[t.origin_building] -
                          city->buildings.centroid_x[t.dest_building],
                      city->buildings.centroid_y[t.origin_building] -
                          city->buildings.centroid_y[t.dest_building]);
    return s / static_cast<double>(ts.size()) * 1e-3;
  };
  TripParams steep = p;
  steep.beta_per_km = 3.0;
  CHECK(mean_km(sample_trips(*city, a, steep, 42)) < mean_km(trips));
}
