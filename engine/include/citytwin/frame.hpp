// FrameSnapshot: plain data describing what the viewer draws at one instant. The engine (live
// run) or a run file (replay) fills it; the viewer only reads it (STYLE.md 9: the viewer reads
// data). No OSG, no pointers into engine state: a snapshot is a copy and may cross threads.
//
// Every array is optional: empty means "this domain is not simulated", and the viewer then
// leaves that layer static. Index spaces: buildings and road links are the CityModel's; power
// lines and substations are the power domain's branches and substations (/power in a run
// file), whose drawing geometry travels with the snapshot as a shared, immutable layout.
//
// Each domain has one mapping from its data to a snapshot, which its fill_frame (live) and its
// DomainReplay (replay of a run file) both call, so the live state and its recording give the
// same snapshot.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "citytwin/error.hpp"
#include "citytwin/time.hpp"

namespace citytwin {

class RunReader;

/// Water depth on a regular raster (the flood grid), row 0 the southernmost row.
struct WaterRaster {
  int nx = 0, ny = 0;
  double x0 = 0, y0 = 0;         ///< model-CRS south-west corner of cell (0, 0)
  double dx = 0, dy = 0;         ///< cell size (m)
  std::vector<float> surface_m;  ///< (ny * nx) water surface elevation (m), NaN where dry
  std::vector<float> depth_m;    ///< (ny * nx) depth (m), 0 where dry

  bool empty() const { return nx == 0 || ny == 0; }
};

/// Where the power grid is drawn: bus positions and branch ends (/power static data).
struct PowerLayout {
  std::vector<double> bus_x, bus_y;                  ///< (n_bus) model CRS, NaN unknown
  std::vector<std::int32_t> branch_from, branch_to;  ///< (n_branch) bus indices
  std::vector<std::uint8_t> branch_kind;  ///< (n_branch) 0 MV cable, 1 HV/MV, 2 MV/LV, 3 direct
  std::vector<std::int32_t> substation_hv_bus;  ///< (n_sub)
  std::vector<std::int32_t> substation_mv_bus;  ///< (n_sub) -1 when none

  /// Derives substation_mv_bus: the to-bus of the HV/MV transformer leaving each HV bus.
  void link_substations();
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
  std::shared_ptr<const PowerLayout> power_layout;  ///< geometry of the indices below
  std::vector<float> line_loading;                  ///< (n_power_lines) |S| / rating, NaN unknown
  std::vector<std::uint8_t> line_on;                ///< (n_power_lines) 1 in service
  /// (n_power_lines) 1 when in service with voltage at both of its buses; 0 de-energised (out
  /// of service, or cut off from every source, e.g. by a blackout).
  std::vector<std::uint8_t> line_energised;
  std::vector<std::uint8_t> substation_on;  ///< (n_substations) 1 energised

  // Buildings.
  std::vector<float> building_depth_m;         ///< (n_buildings) flood depth at the building
  std::vector<std::uint8_t> building_powered;  ///< (n_buildings) 1 served, 0 without power

  // The coupling (from the exchange): what the flood does to roads and the grid, and signals.
  std::vector<float> link_flood_factor;          ///< (n_links) speed factor, 0 closed by water
  std::vector<double> signal_x, signal_y;        ///< (n_signals) model CRS
  std::vector<std::uint8_t> signal_powered;      ///< (n_signals) 0 dark (all-way stop)
  std::vector<std::uint8_t> element_in_service;  ///< (n_elements) 0 failed (flooded)

  /// Key figures for the HUD ("flooded buildings", "12"), in display order.
  std::vector<std::pair<std::string, std::string>> figures;
};

/// One domain's part of a recorded run (replay): opened once from the run file (its static
/// data), then each frame's part of the snapshot, filled by the same mapping as the live
/// domain's fill_frame, so a replay shows what the live run showed. Each domain owns its reader
/// next to its writer (DomainEntry::open_replay); the exchange's is the coupling module's.
class DomainReplay {
 public:
  virtual ~DomainReplay() = default;
  virtual Result<void> read(const RunReader& r, std::size_t frame, FrameSnapshot& f) const = 0;
};

}  // namespace citytwin
