// FrameSnapshot: plain data describing what the viewer draws at one instant. The engine (live
// run) or a run file (replay) fills it; the viewer only reads it (STYLE.md 9: the viewer reads
// data). No OSG, no pointers into engine state: a snapshot is a copy and may cross threads.
//
// Every array is optional: empty means "this domain is not simulated", and the viewer then
// leaves that layer static. Index spaces are the CityModel's (buildings, road links, power).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "citytwin/time.hpp"

namespace citytwin {

/// Water depth on a regular raster (the flood grid), row 0 the southernmost row.
struct WaterRaster {
  int nx = 0, ny = 0;
  double x0 = 0, y0 = 0;         ///< model-CRS south-west corner of cell (0, 0)
  double dx = 0, dy = 0;         ///< cell size (m)
  std::vector<float> surface_m;  ///< (ny * nx) water surface elevation (m), NaN where dry
  std::vector<float> depth_m;    ///< (ny * nx) depth (m), 0 where dry

  bool empty() const { return nx == 0 || ny == 0; }
};

/// Everything dynamic the viewer shows at time `t`.
struct FrameSnapshot {
  SimTime t = 0;  ///< simulated time (ms since the scenario start)

  WaterRaster water;

  // Vehicles (traffic), model CRS.
  std::vector<float> vehicle_x, vehicle_y, vehicle_z;  ///< (n_vehicles) position (m)
  std::vector<float> vehicle_heading;                  ///< (n_vehicles) radians from east, CCW
  std::vector<float> vehicle_speed_mps;                ///< (n_vehicles)

  std::vector<float> link_speed_ratio;    ///< (n_links) mean speed / free speed, NaN no traffic
  std::vector<std::uint8_t> link_closed;  ///< (n_links) 1 when closed (flooded, event)

  // Power grid.
  std::vector<float> line_loading;          ///< (n_power_lines) |S| / rating, NaN unknown
  std::vector<std::uint8_t> substation_on;  ///< (n_substations) 1 energised

  // Buildings.
  std::vector<float> building_depth_m;         ///< (n_buildings) flood depth at the building
  std::vector<std::uint8_t> building_powered;  ///< (n_buildings) 1 served, 0 without power

  /// Key figures for the HUD ("flooded buildings", "12"), in display order.
  std::vector<std::pair<std::string, std::string>> figures;
};

}  // namespace citytwin
