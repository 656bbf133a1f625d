// Private: the traffic domain's entry for the engine's domain list (engine/src/sim/domains.cpp),
// the lane geometry the viewer frames use, and the SUMO configuration reader `citytwin run`
// uses for `.sumocfg` files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "citytwin/sim.hpp"
#include "citytwin/traffic.hpp"

namespace citytwin::traffic {

/// The `[traffic]` section, its events and outputs (docs/scenario-traffic.md).
const DomainEntry& traffic_domain_entry();

/// A SUMO configuration file's inputs (paths resolved against the file's folder).
struct SumoConfig {
  std::string net;
  std::vector<std::string> routes, additional;
  double begin_s = 0, end_s = -1;  ///< end < 0: not given
  double step_s = 1.0;
};

/// Reads `<net-file>`, `<route-files>`, `<additional-files>`, `<begin>`, `<end>` and
/// `<step-length>` from a .sumocfg; other options are ignored.
Result<SumoConfig> read_sumocfg(const std::string& path);

/// Polylines of every lane (road lanes and junction passages), in the network's CRS.
struct LaneGeometry {
  std::vector<std::int32_t> lane_point_begin;  ///< (n_lanes + 1) CSR into x, y, s
  std::vector<double> x, y;                    ///< vertices
  std::vector<float> s;                        ///< distance of each vertex from the lane start

  bool empty() const { return lane_point_begin.empty(); }
  /// Position and heading (radians from east, CCW) at `pos` metres along a lane whose
  /// simulated length is `length` (the polyline is scaled to it).
  void at(std::int32_t lane, float pos, float length, double& x_out, double& y_out,
          float& heading) const;
};

/// Lane shapes from a SUMO .net.xml (`shape` of every road lane); junction passages are
/// straight segments from the end of their from-lane to the start of their to-lane.
Result<LaneGeometry> read_sumo_lane_shapes(const std::string& path, const Network& net);
/// Passage shapes (straight from the from-lane's end to the to-lane's start) for lanes
/// [n_road_lanes, n_lanes) after the road lanes' shapes are in `g`.
void add_passage_shapes(const Network& net, LaneGeometry& g);

}  // namespace citytwin::traffic
