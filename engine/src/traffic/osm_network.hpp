// Private: the lane network compiled from the city's OSM roads (docs/scenario-traffic.md
// "The city network"). The result is the same traffic::Network the SUMO reader makes; edge e is
// the city's road link e (RoadNetwork index), its id the decimal index.
#pragma once

#include <cstdint>
#include <vector>

#include "citytwin/city.hpp"
#include "citytwin/traffic.hpp"
#include "traffic/traffic_domain.hpp"

namespace citytwin::traffic {

struct CityNetworkParams {
  double lane_width_m = 3.2;
  double turn_speed_mps = 25.0 / 3.6;  ///< speed limit through a turn (|angle| > 30 degrees)
  // Signals (Webster 1958, "Traffic signal settings", Road Research Technical Paper 39).
  double saturation_flow_vph = 1800;  ///< per lane
  double lost_time_s = 4.0;           ///< per phase (start-up + clearance)
  double amber_s = 3.0;
  double min_cycle_s = 30, max_cycle_s = 120;
  double default_cycle_s = 60;   ///< without flows
  double pedestrian_red_s = 15;  ///< all-red phase at a signal on a single road (a crossing)
};

struct CityNetwork {
  Network net;
  LaneGeometry geom;
  std::vector<std::int32_t> tl_node;    ///< (n_tls) city node of each signal
  std::int32_t turn_lanes_used = 0;     ///< links whose turn:lanes tag set their connections
  std::int32_t turn_lanes_ignored = 0;  ///< tags whose lane count did not match `lanes`
};

/// Webster's fixed-time plan for critical flow ratios y_i = q_i / s_i of the phases:
/// C0 = (1.5 L + 5) / (1 - Y) with L = n * lost_time and Y = sum y_i (clamped to
/// [min_cycle, max_cycle]; Y >= 0.9 gives max_cycle), effective greens g_i = (C0 - L) y_i / Y.
struct WebsterPlan {
  double cycle_s = 0, total_lost_s = 0, y_total = 0;
  std::vector<double> green_s;  ///< effective green per phase
};
WebsterPlan webster_plan(const std::vector<double>& y, const CityNetworkParams& p);

/// Builds the network. `link_flow_vph` (n_links, optional) are expected hourly flows used for
/// the signal plans; without them every signal gets the default cycle split by approach lanes.
CityNetwork build_city_network(const RoadNetwork& roads,
                               const std::vector<double>& link_flow_vph = {},
                               const CityNetworkParams& p = {});

}  // namespace citytwin::traffic
