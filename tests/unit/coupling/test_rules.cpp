// The coupling rules as pure functions of (model, state, exchange), on hand-made layouts:
// closed-form values of the depth-disruption curve, hysteresis, lognormal fragility against its
// CDF, battery timing, pumps, EV charging sessions.
#include <catch2/catch.hpp>

#include <cmath>

#include "citytwin/coupling.hpp"

using namespace citytwin;

namespace {

// A layout of n links (all 50 km/h), n elements of one kind, one signal on bus 0, one pump on
// bus 0, n buildings; and the model compiled from it.
struct Setup {
  std::shared_ptr<ExchangeLayout> layout = std::make_shared<ExchangeLayout>();
  CityModel city;
  std::unique_ptr<const CouplingModel> model;
  CityExchange x;

  Setup(int n, ElementKind kind, CouplingSpec spec) {
    ExchangeLayout& l = *layout;
    l.n_links = n;
    l.n_buildings = n;
    l.flood = l.power = l.traffic = l.traffic_on_city_links = true;
    l.signal_node = {0};
    l.signal_x = {0}, l.signal_y = {0};
    l.bus_x = {0, 100}, l.bus_y = {0, 0}, l.bus_lv = {1, 1};
    for (int e = 0; e < n; ++e) {
      l.element_kind.push_back(kind);
      l.element_x.push_back(0), l.element_y.push_back(0), l.element_bus.push_back(0);
    }
    l.building_bus.assign(static_cast<std::size_t>(n), 0);
    l.pump_x = {10}, l.pump_y = {0}, l.pump_where = {"test:1"};
    RoadNetwork& r = city.roads;
    r.node_osm_id = {77};
    r.node_x = {0}, r.node_y = {0};
    for (int k = 0; k < n; ++k) {
      r.link_speed_mps.push_back(50.0f / 3.6f);
      r.link_osm_way.push_back(k);
      r.link_name.emplace_back();
      r.link_from.push_back(0), r.link_to.push_back(0);
    }
    spec.enabled = true;
    spec.pumps = {{"p", {10, 0}, 2.0, "test:1"}};
    auto m = compile_coupling(spec, layout, city);
    REQUIRE(m);
    model = std::move(*m);
    x.reset(l);
  }
};

CouplingSpec all_on() {
  CouplingSpec s;
  s.flood_roads.on = s.flood_power.on = s.signals.on = s.pumps_on = true;
  return s;
}

}  // namespace

TEST_CASE("Pregnolato et al. (2017) as a cap on a 50 km/h limit, in 5 % steps", "[coupling]") {
  Setup s(1, ElementKind::transformer, all_on());
  const CouplingModel& m = *s.model;
  CHECK(m.speed_factor(0, 0.0) == 1.0f);  // v(0) = 86.9 km/h > 50
  // v(100 mm) = 9 - 55.29 + 86.9448 = 40.65 km/h: 0.813 of 50, rounded down to 0.80.
  CHECK(m.speed_factor(0, 0.1) == Approx(0.80f));
  // v(200 mm) = 36 - 110.58 + 86.9448 = 12.36 km/h: 0.247 -> 0.20.
  CHECK(m.speed_factor(0, 0.2) == Approx(0.20f));
  // v(280 mm) = 70.56 - 154.81 + 86.94 = 2.69 km/h: 0.054 -> at least 0.05 on an open link.
  CHECK(m.speed_factor(0, 0.28) == Approx(0.05f));
  CHECK(m.speed_factor(0, 0.3) == 0.0f);  // closed
}

TEST_CASE("a table curve, and closures with hysteresis", "[coupling]") {
  CouplingSpec spec = all_on();
  spec.flood_roads.curve = {{0.0, 1.0}, {0.1, 0.6}, {0.3, 0.0}};
  spec.flood_roads.close_depth_m = 0.3;
  spec.flood_roads.reopen_depth_m = 0.2;
  Setup s(1, ElementKind::transformer, spec);
  CHECK(s.model->speed_factor(0, 0.05) == Approx(0.80f));  // 1 - 0.4 * 0.5
  CHECK(s.model->speed_factor(0, 0.2) == Approx(0.30f));   // 0.6 - 0.6 * 0.5
  CouplingState st = make_coupling_state(*s.model, 1);
  const float depths[] = {0.1f, 0.3f, 0.25f, 0.2f, 0.19f, 0.0f};
  const std::uint8_t closed[] = {0, 1, 1, 1, 0, 0};
  for (int k = 0; k < 6; ++k) {
    s.x.link_depth_m[0] = depths[k];
    apply_coupling(*s.model, st, (k + 1) * 1000, 1000, s.x);
    INFO("depth " << depths[k]);
    CHECK(s.x.link_closed[0] == closed[k]);
  }
  CHECK(st.links_closed_total == 1);
  CHECK(st.link_hours_closed == Approx(3.0 / 3600.0));
}

TEST_CASE("lognormal fragility: the failed share follows the CDF, and the seed fixes who fails",
          "[coupling]") {
  CouplingSpec spec = all_on();
  spec.flood_power.fragility = true;
  spec.flood_power.transformer_median_m = 0.3;
  spec.flood_power.transformer_sigma = 0.4;
  const int n = 4000;
  Setup s(n, ElementKind::transformer, spec);
  auto failed_at = [&](double depth, std::uint64_t seed) {
    CouplingState st = make_coupling_state(*s.model, seed);
    for (float& d : s.x.element_depth_m) d = static_cast<float>(depth);
    apply_coupling(*s.model, st, 1000, 1000, s.x);
    return st.element_failed;
  };
  for (double depth : {0.2, 0.3, 0.45}) {
    const auto f = failed_at(depth, 42);
    double share = 0;
    for (std::uint8_t e : f) share += e;
    share /= n;
    const double p = 0.5 * std::erfc(-std::log(depth / 0.3) / 0.4 / std::sqrt(2.0));
    INFO("depth " << depth << ": share " << share << ", CDF " << p);
    CHECK(std::abs(share - p) < 4 * std::sqrt(p * (1 - p) / n) + 1e-9);  // 4 binomial sigmas
  }
  CHECK(failed_at(0.35, 42) == failed_at(0.35, 42));
  CHECK(failed_at(0.35, 42) != failed_at(0.35, 43));
}

TEST_CASE("thresholds, repair after the water recedes, battery, pump", "[coupling]") {
  CouplingSpec spec = all_on();
  spec.flood_power.repair = 10'000;
  spec.signals.battery = 5'000;
  Setup s(1, ElementKind::substation, spec);
  CouplingState st = make_coupling_state(*s.model, 1);
  struct Step {
    float depth;
    std::int64_t dark_since;
    std::uint8_t in_service, signal, pump;
  };
  // t = 1 s ... : the substation fails at 1 m; its bus is dark from 2 s; the battery lasts 5 s.
  const Step steps[] = {{0.5f, -1, 1, 1, 1},   {1.0f, -1, 0, 1, 1},   {1.2f, 2000, 0, 1, 0},
                        {0.9f, 2000, 0, 1, 0}, {0.9f, 2000, 0, 1, 0}, {0.9f, 2000, 0, 1, 0},
                        {0.9f, 2000, 0, 0, 0}, {1.1f, 2000, 0, 0, 0}};
  for (int k = 0; k < 8; ++k) {
    s.x.element_depth_m[0] = steps[k].depth;
    s.x.bus_dark_since[0] = steps[k].dark_since;
    apply_coupling(*s.model, st, (k + 1) * 1000, 1000, s.x);
    INFO("t = " << k + 1 << " s");
    CHECK(s.x.element_in_service[0] == steps[k].in_service);
    CHECK(s.x.signal_powered[0] == steps[k].signal);
    CHECK((s.x.pump_rate_m3s[0] > 0) == (steps[k].pump == 1));
  }
  // Dry from 9 s: back in service at 19 s, not before.
  s.x.element_depth_m[0] = 0.5f;
  for (int k = 9; k <= 19; ++k) {
    apply_coupling(*s.model, st, k * 1000, 1000, s.x);
    CHECK(s.x.element_in_service[0] == (k >= 19 ? 1 : 0));
  }
  CHECK(s.x.pump_rate_m3s[0] == 0.0f);  // its bus is still dark in this exchange
  s.x.bus_dark_since[0] = -1;
  apply_coupling(*s.model, st, 20'000, 1000, s.x);
  CHECK(s.x.pump_rate_m3s[0] == 2.0f);
  CHECK(s.x.signal_powered[0] == 1);
  CHECK(st.elements_failed_total == 1);
}

TEST_CASE("EV charging: a share of arrivals charge for the duration", "[coupling]") {
  CouplingSpec spec = all_on();
  spec.ev.on = true;
  spec.ev.share = 0.25;
  spec.ev.power_w = 7000;
  spec.ev.duration = 60'000;
  Setup s(2, ElementKind::transformer, spec);
  CouplingState st = make_coupling_state(*s.model, 9);
  s.x.building_arrivals = {4000, 0};
  apply_coupling(*s.model, st, 1000, 1000, s.x);
  const double n = static_cast<double>(st.ev_sessions_started);
  CHECK(std::abs(n - 1000) < 4 * std::sqrt(4000 * 0.25 * 0.75));
  CHECK(s.x.building_extra_w[0] == Approx(n * 7000));
  CHECK(s.x.building_extra_w[1] == 0.0f);
  s.x.building_arrivals = {0, 0};
  apply_coupling(*s.model, st, 60'000, 1000, s.x);  // still charging until 61 s
  CHECK(s.x.building_extra_w[0] == Approx(n * 7000));
  apply_coupling(*s.model, st, 61'000, 1000, s.x);
  CHECK(s.x.building_extra_w[0] == 0.0f);
}

TEST_CASE("flooded buildings lose supply while they are deep (flood_power.building_depth)",
          "[coupling]") {
  CouplingSpec spec = all_on();
  spec.flood_power.building_depth_m = 0.5;
  Setup s(3, ElementKind::transformer, spec);
  CouplingState st = make_coupling_state(*s.model, 1);
  s.x.building_depth_m = {0.1f, 0.5f, 0.9f};
  apply_coupling(*s.model, st, 1000, 1000, s.x);
  CHECK(s.x.building_connected == std::vector<std::uint8_t>{1, 0, 0});
  s.x.building_depth_m = {0.1f, 0.49f, 0.9f};
  apply_coupling(*s.model, st, 2000, 1000, s.x);
  CHECK(s.x.building_connected == std::vector<std::uint8_t>{1, 1, 0});
  std::int64_t rows = 0;
  for (const CouplingLogRow& r : st.log) rows += r.rule == CouplingRule::flood_buildings;
  CHECK(rows == 3);  // two disconnections, one reconnection
}
