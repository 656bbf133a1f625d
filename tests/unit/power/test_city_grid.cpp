#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>

#include "citytwin/city_grid.hpp"

using namespace citytwin;
using namespace citytwin::power;

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

// Invariants every synthesised grid must satisfy.
void check_grid(const CityModel& city, const CityGrid& g, const CityGridParams& p) {
  // Every building is a load on an LV bus; no demand is lost on the way.
  REQUIRE(g.building_bus.size() == static_cast<std::size_t>(city.buildings.size()));
  double buildings_w = 0, buses_w = 0;
  for (std::int32_t i = 0; i < city.buildings.size(); ++i) {
    REQUIRE(g.bus_kind[g.building_bus[i]] == GridBusKind::lv);
    buildings_w += g.building_peak_w[i];
    REQUIRE(g.building_peak_w[i] ==
            Approx(city.buildings.floor_area_m2[i] *
                   p.peak_w_per_m2[static_cast<std::size_t>(city.buildings.use[i])]));
  }
  for (std::int32_t b = 0; b < g.n_bus(); ++b) buses_w += g.bus_peak_w[b];
  CHECK(buses_w == Approx(buildings_w).epsilon(1e-12));
  // Radial: every bus but the HV (source) buses has exactly one feeding branch.
  std::vector<int> in(static_cast<std::size_t>(g.n_bus()), 0);
  for (std::int32_t k = 0; k < g.n_branch(); ++k) ++in[g.br_to[k]];
  for (std::int32_t b = 0; b < g.n_bus(); ++b)
    REQUIRE(in[b] == (g.bus_kind[b] == GridBusKind::hv ? 0 : 1));
  CHECK(g.n_branch() == g.n_bus() - static_cast<std::int32_t>(g.substation_hv_bus.size()));
  const RoadNetwork& r = city.roads;
  double cable_m = 0;
  for (std::int32_t k = 0; k < g.n_branch(); ++k) {
    if (g.br_kind[k] == GridBranchKind::mv_cable) {
      // Cables follow streets: the link joins the two buses' street nodes, with its length.
      const std::int32_t l = g.br_road_link[k];
      const std::int32_t a = g.bus_road_node[g.br_from[k]], c = g.bus_road_node[g.br_to[k]];
      REQUIRE(((r.link_from[l] == a && r.link_to[l] == c) ||
               (r.link_from[l] == c && r.link_to[l] == a)));
      REQUIRE(g.br_length_m[k] == r.link_length_m[l]);
      REQUIRE(g.br_r_ohm[k] == Approx(p.cable_r * g.br_length_m[k] * 1e-3 / g.br_parallel[k]));
      cable_m += g.br_length_m[k];
    }
    if (g.br_kind[k] == GridBranchKind::mv_lv_transformer) {
      // Sized for the peak at <= 80 % loading.
      REQUIRE(g.br_rating_mva[k] * 1e3 * p.max_transformer_loading >=
              g.bus_peak_w[g.br_to[k]] / p.power_factor * 1e-3 - 1e-6);
      // |Z| = uk kV^2 / S with uk = 6 %.
      REQUIRE(std::hypot(g.br_r_ohm[k], g.br_x_ohm[k]) ==
              Approx(0.06 * 400.0 / g.br_rating_mva[k]));
    }
  }
  // Every cable and transformer carries its peak at <= 80 % of its (parallel) rating.
  for (std::int32_t k = 0; k < g.n_branch(); ++k)
    REQUIRE(g.br_peak_mva[k] <= p.max_transformer_loading * g.br_rating_mva[k] * (1 + 1e-9));
  // A tree over the streets uses each street at most once (two-way streets are two links).
  double street_m = 0;
  for (std::int32_t l = 0; l < r.link_count(); ++l)
    street_m += r.link_length_m[l] * (r.link_oneway[l] ? 1.0 : 0.5);
  CHECK(cable_m <= street_m);
}
}  // namespace

TEST_CASE("Monaco's grid: mapped substations, radial street feeders, every building served",
          "[power][city_grid]") {
  const auto city = monaco();
  const CityGridParams p;
  const CityGrid g = synthesise_city_grid(*city, p);
  check_grid(*city, g, p);
  // OSM maps two substations in the crop box.
  CHECK(g.substation_hv_bus.size() == 2);
  CHECK(g.substation_osm_id[0] != 0);
  CHECK(g.unreachable_transformers == 0);
  const auto n_lv = std::count(g.bus_kind.begin(), g.bus_kind.end(), GridBusKind::lv);
  // Peak ~ 4e6 m2 x ~25 W/m2 ~ 100 MW -> at least 100 MW / (0.8 x 1 MVA) transformers.
  const double peak_mw =
      std::accumulate(g.building_peak_w.begin(), g.building_peak_w.end(), 0.0) * 1e-6;
  CHECK(peak_mw > 50);
  CHECK(n_lv >= static_cast<long>(peak_mw / 0.95 / 0.8));
}

TEST_CASE("without mapped substations, k-means places one per ~30 MW", "[power][city_grid]") {
  CityModel copy = *monaco();
  copy.power = PowerFeatures{};
  const CityGridParams p;
  const CityGrid g = synthesise_city_grid(copy, p);
  check_grid(copy, g, p);
  const double peak_mw =
      std::accumulate(g.building_peak_w.begin(), g.building_peak_w.end(), 0.0) * 1e-6;
  CHECK(static_cast<double>(g.substation_hv_bus.size()) == std::ceil(peak_mw / 30.0));
  CHECK(g.substation_osm_id[0] == 0);
  // Deterministic.
  const CityGrid again = synthesise_city_grid(copy, p);
  CHECK(again.bus_x == g.bus_x);
  CHECK(again.br_from == g.br_from);
}

TEST_CASE("a planner's substations: added ones feed their part of the city, replaced ones go",
          "[power][city_grid]") {
  const auto city = monaco();
  CityGridParams p;
  const CityGrid base = synthesise_city_grid(*city, p);
  // A new substation in the east (Monte Carlo), far from the two mapped ones in the west.
  const std::array<double, 2> east{373700.0, 4844700.0};
  p.added_substations = {east};
  const CityGrid added = synthesise_city_grid(*city, p);
  check_grid(*city, added, p);
  REQUIRE(added.substation_hv_bus.size() == 3);
  CHECK(added.substation_osm_id[2] == 0);
  const std::int32_t hv = added.substation_hv_bus[2];
  CHECK(added.bus_x[hv] == east[0]);
  CHECK(added.bus_y[hv] == east[1]);
  // It feeds buildings, and the MV cable length falls: feeders no longer run from the west.
  auto cable_km = [](const CityGrid& g) {
    double m = 0;
    for (std::int32_t k = 0; k < g.n_branch(); ++k)
      if (g.br_kind[k] == GridBranchKind::mv_cable) m += g.br_length_m[k];
    return m / 1000.0;
  };
  const auto fed = std::count_if(added.building_bus.begin(), added.building_bus.end(),
                                 [&](std::int32_t b) { return added.bus_substation[b] == 2; });
  CHECK(fed > 100);
  CHECK(cable_km(added) < cable_km(base));
  // Relocated: the first mapped substation replaced by the new one.
  p.removed_substations = {0};
  const CityGrid moved = synthesise_city_grid(*city, p);
  check_grid(*city, moved, p);
  REQUIRE(moved.substation_hv_bus.size() == 2);
  CHECK(moved.substation_osm_id[0] == base.substation_osm_id[1]);
  CHECK(moved.bus_x[moved.substation_hv_bus[1]] == east[0]);
}

TEST_CASE("a city that fits one transformer: every building on its one LV bus",
          "[power][city_grid]") {
  // The whole city is one quadtree leaf (once, the buildings' bus list came out empty).
  CityModel copy = *monaco();
  Buildings& b = copy.buildings;
  const std::int32_t keep = 3;
  auto cut = [&](auto& v, std::size_t n) { v.resize(n); };
  const auto rings = static_cast<std::size_t>(b.ring_offsets[keep]);
  const auto points = static_cast<std::size_t>(b.point_offsets[rings]);
  cut(b.osm_id, keep), cut(b.from_relation, keep), cut(b.height_m, keep), cut(b.ground_m, keep),
      cut(b.levels, keep);
  cut(b.footprint_m2, keep), cut(b.floor_area_m2, keep), cut(b.centroid_x, keep);
  cut(b.centroid_y, keep), cut(b.use, keep), cut(b.height_source, keep);
  cut(b.ring_offsets, keep + 1), cut(b.point_offsets, rings + 1), cut(b.ring_outer, rings);
  cut(b.x, points), cut(b.y, points);
  const CityGridParams p;
  const CityGrid g = synthesise_city_grid(copy, p);
  check_grid(copy, g, p);
  CHECK(g.building_bus[0] == g.building_bus[1]);
  CHECK(g.building_bus[1] == g.building_bus[2]);
}
