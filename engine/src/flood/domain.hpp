// The flood domain as the run loop sees it: the [flood] section, its compiled model, outputs.
#pragma once

#include <string>
#include <vector>

#include "citytwin/flood.hpp"
#include "citytwin/sim.hpp"

namespace citytwin::flood {

enum class BuildingMode : std::uint8_t { walls, raise, none };

struct NamedPoints {
  std::string name;
  std::vector<Point2> at;
  std::string hydrograph;  ///< CSV path (inflows)
  double discharge = 0;    ///< constant m3/s when no hydrograph
  std::string where;
};

struct SideSpec {
  BoundaryKind kind = BoundaryKind::closed;
  double level = 0;    ///< fixed level (m)
  std::string series;  ///< CSV time_s, level_m (level boundaries)
};

struct Lake {
  double level = 0;
  std::vector<Point2> polygon;
};

/// The [flood] section, typed (docs/scenario-flood.md).
struct FloodSpec : DomainSpec {
  Solver solver = Solver::inertial;
  double resolution_m = 0;  ///< 0: the DEM's own grid
  double manning = 0.03;
  double cfl = -1, theta = 0.7, dt_max = 10;
  int tile = 64;
  BuildingMode buildings = BuildingMode::walls;
  double rain_intensity_mps = 0;
  double rain_start_s = 0, rain_end_s = 0;
  std::string hyetograph;  ///< CSV time_s, intensity_mm_h
  double wet_depth = 0.01;
  std::vector<NamedPoints> inflows, gauges;
  std::array<SideSpec, 4> sides;
  std::vector<Lake> lakes;
  double infil_f0_mm_h = 0, infil_fc_mm_h = 0, infil_k_per_h = 0;
  bool sea = false;  ///< flood.sea_level given: cells with bed <= it are sea
  double sea_level = 0;
};

/// Reads "time_s, value" rows (a header line is allowed); errors name file and line.
Result<Series> read_series_csv(const std::string& path, bool step);

/// Cells whose centres lie inside the polygon (even-odd rule), as unpadded indices.
std::vector<std::int32_t> cells_in_polygon(const Grid& g, const double* x, const double* y, int n);

std::shared_ptr<const DomainSpec> parse_flood(SectionReader& s, const ScenarioSpec& core);
Result<std::unique_ptr<const Domain>> compile_flood(const DomainSpec& spec,
                                                    const ScenarioSpec& scenario,
                                                    const CityModel& city);

}  // namespace citytwin::flood
