// A city's electricity distribution grid, synthesised from its buildings and streets when no
// grid data exists (the usual case: OSM maps few substations and no cables).
//
// Construction (deterministic; every choice is documented in docs/power-city-grid.md):
//  1. peak demand per building = floor area x W/m2 of its use class;
//  2. MV/LV transformers: a quadtree over building centroids, split until a leaf's peak fits
//     one standard transformer at 80 % loading (or the leaf is 25 m small); one LV bus per
//     leaf at its load-weighted centroid, every building a load on its leaf's LV bus;
//  3. HV/MV substations: the mapped OSM power=substation inside the city, else k-means over
//     the LV load (one substation per ~30 MW);
//  4. MV feeders along the streets: a shortest-path forest on the road graph from all
//     substations at once; each transformer hangs off the street node nearest to it, fed by its
//     nearest substation along the streets, so feeders are radial and short; one MV bus per
//     street node used;
//  5. sizing: every cable and substation transformer gets as many parallel units as its peak
//     downstream load needs at 80 % loading (several feeders share a street near a substation).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "citytwin/city.hpp"

namespace citytwin::power {

enum class GridBusKind : std::uint8_t { hv, mv, lv };
enum class GridBranchKind : std::uint8_t {
  mv_cable,
  hv_mv_transformer,
  mv_lv_transformer,
  direct_cable
};

/// Electrical parameters used by the synthesis (typical European values).
struct CityGridParams {
  double hv_kv = 63, mv_kv = 20, lv_kv = 0.4;
  double power_factor = 0.95;
  /// Peak demand density by BuildingUse (W per m2 of floor area): residential, commercial,
  /// office, industrial, public, education, health, religious, parking, other.
  std::vector<double> peak_w_per_m2 = {20, 60, 50, 40, 40, 30, 70, 15, 3, 25};
  /// Standard MV/LV transformer sizes (kVA), short-circuit voltage 6 %, copper losses 1 %.
  std::vector<double> transformer_kva = {250, 400, 630, 1000};
  double max_transformer_loading = 0.8;
  double min_leaf_m = 25;
  double substation_mw = 30;   ///< target peak per synthesised substation
  double substation_mva = 40;  ///< HV/MV transformer rating, uk 12 %, ur 0.5 %
  /// MV cable (20 kV XLPE, 240 mm2 Al): ohm/km, ohm/km, uF/km, ampacity A.
  double cable_r = 0.125, cable_x = 0.112, cable_c_uf = 0.36, cable_ampacity = 420;
  /// A planner's changes to the HV/MV substations (what-if variants): indices into the mapped
  /// (or, without any, synthesised) substations to leave out, and places of new ones, appended.
  std::vector<std::int32_t> removed_substations;
  std::vector<std::array<double, 2>> added_substations;
};

/// The synthesised grid in physical units, with coordinates for drawing.
struct CityGrid {
  std::vector<GridBusKind> bus_kind;         ///< (n_bus)
  std::vector<double> bus_kv;                ///< (n_bus) nominal voltage
  std::vector<double> bus_x, bus_y;          ///< (n_bus) model CRS
  std::vector<std::int32_t> bus_road_node;   ///< (n_bus) road node of MV buses, -1 otherwise
  std::vector<double> bus_peak_w;            ///< (n_bus) peak active demand of the loads here
  std::vector<std::int32_t> bus_substation;  ///< (n_bus) substation that feeds it, -1 none

  std::vector<GridBranchKind> br_kind;       ///< (n_branch)
  std::vector<std::int32_t> br_from, br_to;  ///< (n_branch) bus indices (from = upstream)
  std::vector<double> br_length_m;           ///< (n_branch) cable length (0 for transformers)
  std::vector<double> br_rating_mva;         ///< (n_branch)
  std::vector<double> br_r_ohm, br_x_ohm;    ///< (n_branch) series impedance referred to br_kv
  std::vector<double> br_b_us;               ///< (n_branch) total shunt susceptance, microsiemens
  std::vector<double> br_kv;                 ///< (n_branch) voltage the impedance is referred to
  std::vector<std::int32_t> br_road_link;    ///< (n_branch) road link a cable follows, -1 none
  std::vector<std::int32_t> br_parallel;     ///< (n_branch) parallel units (cables or transformers)
  std::vector<double> br_peak_mva;           ///< (n_branch) peak apparent power it carries

  std::vector<std::int32_t> substation_hv_bus, substation_mv_bus;  ///< (n_sub)
  std::vector<std::int64_t> substation_osm_id;  ///< (n_sub) 0 for synthesised ones
  std::vector<std::int32_t> building_bus;       ///< (n_buildings) LV bus of each building
  std::vector<double> building_peak_w;          ///< (n_buildings)
  std::int32_t unreachable_transformers = 0;    ///< fed by a direct cable: no street path

  std::int32_t n_bus() const { return static_cast<std::int32_t>(bus_kind.size()); }
  std::int32_t n_branch() const { return static_cast<std::int32_t>(br_kind.size()); }
};

/// Synthesises the grid. Needs buildings; without roads every transformer gets a direct cable.
CityGrid synthesise_city_grid(const CityModel& city, const CityGridParams& params = {});

}  // namespace citytwin::power
