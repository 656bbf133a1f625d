// The flood domain as the run loop sees it: the [flood] section typed and its parsers
// (spec.cpp), the grid cells under the city's shapes (geometry.cpp) and compile_flood
// (compile.cpp). The domain it compiles is flood_domain.hpp.
#pragma once

#include <map>
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

/// One boundary condition: of [flood.boundary] (a whole side), [[flood.boundary_condition]] or
/// a line of a LISFLOOD-FP .bci file. Later conditions replace earlier ones on shared cells.
struct BoundarySpec {
  enum class Type : std::uint8_t { closed, free, level, discharge };
  Type type = Type::free;
  int side = -1;  ///< Side, or -1: the cell holding `at`
  /// Cells of the side whose centres lie in [from, to], along it (y on west and east, x on
  /// south and north).
  double from = -1e300, to = 1e300;
  Point2 at{};
  double slope = -1;  ///< free: the water-surface slope (< 0: the bed slope continued)
  /// level: the level (m); discharge: per unit width (m2/s; at a point, times the cell size)
  double value = 0;
  std::string series;  ///< time series CSV (time_s, value)
  Series bdy;          ///< the series a .bci line names, read from its .bdy with the .bci
  std::string where;   ///< "file:line" of the condition
};

struct Lake {
  double level = 0;
  std::vector<Point2> polygon;
};

/// A flood wall or levee of [[flood.wall]]: the cells along its line raised to a crest.
struct Wall {
  std::vector<Point2> line;
  double crest = 0;    ///< m, absolute crest elevation (when `height` is 0)
  double height = 0;   ///< m above each cell's bed (0: use `crest`)
  double width_m = 0;  ///< also every cell whose centre is within width/2 of the line
  std::string where;
};

/// A rain gauge of [[flood.rain_gauge]].
struct RainGaugeSpec {
  std::string name;
  Point2 at{};
  std::string hyetograph;  ///< CSV time_s, intensity_mm_h
  double intensity_mps = 0, start_s = 0, end_s = 0;
  std::string where;
};

/// A `flood.breach` event: the bed along a polyline lowered to `level`, linearly over
/// `duration_s` (0: at once).
struct BreachEvent : EventPayload {
  std::vector<Point2> line;
  double level = 0;
  double duration_s = 0;
  double width_m = 0;  ///< cells whose centres lie within width/2 of the line (0: those it crosses)
};

/// The [flood] section, typed (docs/scenario-flood.md).
struct FloodSpec : DomainSpec {
  Solver solver = Solver::inertial;
  double resolution_m = 0;  ///< 0: the DEM's own grid
  std::string where;        ///< "file:line" of [flood], for errors found when compiling
  double manning = 0.03;
  double cfl = -1, theta = 0.7, dt_max = 10, froude_limit = 1.0;
  int tile = 64;
  BuildingMode buildings = BuildingMode::walls;
  bool open_roads = true;         ///< footprint cells crossed by a road stay open
  bool fill_depressions = false;  ///< priority-flood fill of the grid after the buildings
  double rain_intensity_mps = 0;
  double rain_start_s = 0, rain_end_s = 0;
  std::string hyetograph;  ///< CSV time_s, intensity_mm_h
  double wet_depth = 0.01;
  std::vector<NamedPoints> inflows, gauges;
  std::vector<BoundarySpec> boundaries;
  std::string initial_depth;  ///< raster of initial depths (m), e.g. LISFLOOD-FP's startfile
  /// LISFLOOD-FP's output name (resroot): <resroot>.mass, .stage and .max are written too.
  std::string lisflood_resroot;
  std::vector<Diagnostic> warnings;  ///< found reading the section (LISFLOOD-FP keys ignored)
  std::vector<Lake> lakes;
  std::vector<Wall> walls;
  double infil_f0_mm_h = 0, infil_fc_mm_h = 0, infil_k_per_h = 0;
  std::vector<RainGaugeSpec> rain_gauges;
  double idw_power = 2;
  double drain_mm_h = 0;   ///< [flood.drainage] capacity
  bool drain_all = false;  ///< drainage on every active cell (else urban cells)
  double manning_road = 0, manning_building = 0;  ///< 0: the default n
  std::string manning_raster;
  bool sea = false;  ///< flood.sea_level given: cells with bed <= it are sea
  double sea_level = 0;
};

/// Reads "time_s, value" rows (a header line is allowed); errors name file and line.
/// Values are checked against [lo, hi] (`what` names the quantity and unit in the error).
struct SeriesRange {
  double lo, hi;
  const char* what;
};
/// Plausible ranges of the series the flood reads: a file holding values outside them is a
/// typo or a wrong unit, never a flood (and a huge inflow would stall the solver).
inline constexpr SeriesRange k_rain_range{0, 2000, "rain intensity in mm/h, 0 to 2000"};
inline constexpr SeriesRange k_discharge_range{
    0, 1e6, "discharge in m3/s, 0 to 1e6 (water leaves through free or level boundaries)"};
inline constexpr SeriesRange k_level_range{-1e4, 1e4, "water level in m, -10000 to 10000"};
Result<Series> read_series_csv(const std::string& path, bool step, const SeriesRange& range);
inline constexpr SeriesRange k_unit_discharge_range{
    0, 1e4,
    "discharge per unit width in m2/s, 0 to 1e4 (water leaves through free or level "
    "boundaries)"};

// LISFLOOD-FP's input files (lisflood.cpp; docs/lisflood.md).
/// The case files a .par names (paths resolved from its folder; empty when absent).
struct LisfloodFiles {
  std::string bci, bdy, stage;
};
/// The flood keys of a .par file into spec; keys that CityTwin does not use become warnings.
/// Errors go to s. Returns the .bci, .bdy and .stage files, which parse_flood reads (its own
/// keys may replace them).
LisfloodFiles apply_lisflood_par(const ParFile& par, FloodSpec& spec, SectionReader& s);
/// The lines of a .bci file as boundary conditions, the series they name read once from the
/// .bdy file `bdy` and range-checked; errors name the file and line.
Result<std::vector<BoundarySpec>> read_bci(const std::string& path, const std::string& bdy);
/// The gauge points of a .stage file, named stage1, stage2, ...
Result<std::vector<NamedPoints>> read_stage_points(const std::string& path);
/// A .bdy series: value, time rows (seconds, minutes or hours; linear), with each row's line.
struct BdySeries {
  Series series;
  std::vector<int> row_lines;
};
/// Every series of a .bdy file, by name; values are range-checked by read_bci, which knows
/// whether a series is a level or a discharge.
Result<std::map<std::string, BdySeries>> read_bdy(const std::string& path);

/// Adds a boundary condition to the model (boundaries.cpp): opens side cells, holds a point's
/// level, or adds a discharge as an inflow; call prepare_boundaries after the last.
Result<void> compile_boundary(const BoundarySpec& b, FloodModel& m);

/// Cells whose centres lie inside the polygon (even-odd rule), as unpadded indices.
std::vector<std::int32_t> cells_in_polygon(const Grid& g, const double* x, const double* y, int n);

std::shared_ptr<const DomainSpec> parse_flood(SectionReader& s, const ScenarioSpec& core);
std::shared_ptr<const EventPayload> parse_flood_event(std::string_view action, SectionReader& ev);
/// Cells whose centres lie within `half_width` of a polyline (unpadded indices, sorted, unique).
std::vector<std::int32_t> cells_near_line(const Grid& g, const std::vector<Point2>& line,
                                          double half_width);
/// The part of segment a-b inside the grid's extent (Liang-Barsky clipping, a and b moved);
/// false when it misses the grid or is not finite. Sampling only the clipped part keeps the work
/// bounded by the grid's size whatever the coordinates a file gives.
bool clip_to_grid(const Grid& g, Point2& a, Point2& b);
/// Cells a polyline crosses (unpadded indices, sorted, unique), 4-connected.
std::vector<std::int32_t> line_cells(const Grid& g, const double* x, const double* y,
                                     std::size_t n);
/// Inverse-distance weights w_k(c) = d_k^-p / sum_m d_m^-p of gauges at (gx, gy) for the centre
/// of cell (i, j); a gauge at the centre takes the whole weight.
void idw_weights(const Grid& g, int i, int j, const std::vector<Point2>& gauges, double p,
                 double* w);
Result<std::unique_ptr<Domain>> compile_flood(const DomainSpec& spec, const ScenarioSpec& scenario,
                                              const CityModel& city);

}  // namespace citytwin::flood
