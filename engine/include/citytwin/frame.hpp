// FrameSnapshot: plain data describing what the viewer draws at one instant. The engine (live
// run) or a run file (replay) fills it; the viewer only reads it (STYLE.md 9: the viewer reads
// data). No OSG, no pointers into engine state: a snapshot is a copy and may cross threads.
//
// Every array is optional: empty means "this domain is not simulated", and the viewer then
// leaves that layer static. Index spaces: buildings and road links are the CityModel's; power
// lines and substations are the power domain's branches and substations (/power in a run
// file), whose drawing geometry travels with the snapshot as a shared, immutable layout.
//
// The fill_* functions below are the one mapping from domain data to a snapshot: a domain's
// fill_frame (live) and read_frame (replay of a run file) both call them, so the live state and
// its recording give the same snapshot.
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

struct ExchangeLayout;
struct CityExchange;
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
  std::vector<std::uint8_t> substation_on;          ///< (n_substations) 1 energised

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

/// Flood: the water raster from the bed (NaN on walls and nodata) and depth of the flood grid
/// (row 0 south, `dx` square cells); surface = bed + depth where depth > 0, NaN elsewhere; the
/// HUD figures flooded area and max depth.
void fill_flood_frame(int nx, int ny, double x0, double y0, double dx, std::span<const float> bed,
                      std::vector<float> depth, FrameSnapshot& f);

/// The exchange's part: building depth (flood) and the HUD's flooded buildings, the links'
/// flood speed factor, signals and their power, elements in service.
void fill_exchange_frame(const ExchangeLayout& layout, const CityExchange& x, FrameSnapshot& f);

/// The recorded values of one power frame (/power per-frame datasets).
struct PowerFrameData {
  std::span<const float> bus_vm, branch_loading;   ///< (n_bus), (n_branch)
  std::span<const std::uint8_t> branch_on;         ///< (n_branch)
  std::span<const std::uint8_t> building_powered;  ///< (n_buildings) or empty
  double served_mw = 0, unserved_mw = 0;
  std::int64_t customers_unserved = 0;
};

/// Power: line loading (NaN when out of service) and state, substations energised (their MV
/// bus has voltage), buildings powered, HUD figures served MW and buildings without power.
void fill_power_frame(std::shared_ptr<const PowerLayout> layout, const PowerFrameData& d,
                      FrameSnapshot& f);

/// The recorded values of one traffic frame (/traffic/vehicles/* and /traffic/link_* rows).
struct TrafficFrameData {
  std::span<const float> vehicle_x, vehicle_y, vehicle_z;  ///< (n_vehicles) model CRS (m)
  std::span<const float> vehicle_heading, vehicle_speed;   ///< (n_vehicles) rad, m/s
  std::span<const float> link_speed_ratio;    ///< (n_links), empty when edges are not links
  std::span<const std::uint8_t> link_closed;  ///< (n_links), empty when edges are not links
  std::int64_t running = 0, arrived = 0;
  double mean_speed_mps = 0;
};

/// Traffic: the running vehicles, the road links' speed ratio and closures, HUD figures
/// vehicles running, vehicles arrived, mean speed.
void fill_traffic_frame(const TrafficFrameData& d, FrameSnapshot& f);

/// Replay: what a run file records, read once (static data of every domain in it).
struct RunFrames {
  std::vector<double> time_s;  ///< /time
  // Flood
  int flood_nx = 0, flood_ny = 0;
  double flood_x0 = 0, flood_y0 = 0, flood_dx = 0;
  std::vector<float> flood_bed;
  // Power
  std::shared_ptr<const PowerLayout> power_layout;
  // Traffic: frame k's vehicles are rows [offset[k], offset[k] + count[k]) of /traffic/vehicles/*
  bool traffic = false, traffic_links = false;
  std::vector<std::int64_t> vehicle_offset, vehicle_count;
  // The exchange (/exchange rows, /coupling static data).
  std::shared_ptr<const ExchangeLayout> layout;

  static Result<RunFrames> open(const RunReader& r, const std::string& file);
  /// Frame k (0 <= k < time_s.size()) as the live domains fill it.
  Result<FrameSnapshot> read(const RunReader& r, std::size_t k) const;
};

}  // namespace citytwin
