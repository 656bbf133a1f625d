// Private to engine/src/traffic: the lane geometry the viewer frames use.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "citytwin/sim.hpp"
#include "citytwin/traffic.hpp"

namespace citytwin::traffic {

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
