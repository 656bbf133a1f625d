// Flood propagation over a regular grid: the model (bed, Manning's n, forcing; immutable), the
// state (depths and discharges; changes every step) and the time loop.
//
// Two solvers share the grid, the forcing, the tiles and the volume balance:
//  - inertial: the local inertial formulation of Bates et al. (2010) with the theta-weighted
//    face discharge of de Almeida et al. (2012) and semi-implicit Manning friction; discharges
//    live on cell faces. Fast; valid for gradually varied (subcritical) flow.
//  - godunov: a second-order finite-volume scheme for the full shallow-water equations (MUSCL
//    reconstruction, HLLC fluxes, hydrostatic reconstruction of Audusse et al. 2004, Heun's
//    two-stage Runge-Kutta); discharges live at cell centres. For dam breaks and breaches.
//
// Arrays are structure-of-arrays over a padded grid: `halo` ghost cells on each side, so every
// kernel reads its neighbours without branches. Ghost and inactive (nodata) cells are walls:
// their bed is `k_wall_z` high and they hold no water, so no face flux ever enters them.
// Precision: float32 by default, double when built with CITYTWIN_DOUBLE=1; the volume balance
// is always accumulated in double.
//
// Thread safety: a FloodModel is read-only and may drive many FloodStates at once; a FloodState
// is advanced by one caller at a time (which parallelises internally over tiles).
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "citytwin/city.hpp"
#include "citytwin/error.hpp"
#include "citytwin/parallel.hpp"

namespace citytwin {
struct DomainEntry;
}

namespace citytwin::flood {

#if defined(CITYTWIN_DOUBLE) && CITYTWIN_DOUBLE
using real = double;
#else
using real = float;
#endif

/// Bed elevation of wall cells (ghosts, nodata): far above any water level.
inline constexpr real k_wall_z = real(1.0e5);
/// Gravitational acceleration (m/s2).
inline constexpr double k_g = 9.81;
/// The smallest time step advance() takes (s): below it the flow is beyond anything physical
/// (over 10 km/s on a 1 m grid) and advance() stops that interval, counting a stall.
inline constexpr double k_dt_min = 1e-4;

enum class Solver : std::uint8_t { inertial, godunov };
const char* to_string(Solver s);

/// The computational grid, built once from the terrain. Cell (i, j), 0 <= i < nx, 0 <= j < ny,
/// row 0 south, is stored at idx(i, j) of every padded array.
struct Grid {
  static constexpr int halo = 2;
  int nx = 0, ny = 0;     ///< interior cells
  int sx = 0, sy = 0;     ///< padded sizes: nx + 2 halo, ny + 2 halo
  double x0 = 0, y0 = 0;  ///< south-west corner of cell (0, 0), model CRS
  double dx = 0;          ///< square cell size (m)
  int tile = 64;          ///< tile edge (cells)
  int tiles_x = 0, tiles_y = 0;
  std::vector<real> z;               ///< (sy * sx) bed elevation (m); k_wall_z on walls
  std::vector<real> gn2;             ///< (sy * sx) g * n^2 (Manning's n squared times g)
  std::vector<std::uint8_t> active;  ///< (sy * sx) 1 inside the DEM, 0 on ghosts and nodata
  std::int64_t active_cells = 0;
  std::int64_t inactive_cells = 0;  ///< nodata cells inside the DEM rectangle

  std::size_t idx(int i, int j) const {
    return static_cast<std::size_t>(j + halo) * static_cast<std::size_t>(sx) +
           static_cast<std::size_t>(i + halo);
  }
  int tile_count() const { return tiles_x * tiles_y; }
  double cell_area() const { return dx * dx; }
  /// Cell holding a model-CRS point, or false when outside the grid.
  bool locate(double x, double y, int& i, int& j) const;
};

struct GridOptions {
  double manning = 0.03;  ///< default Manning's n (s/m^(1/3))
  int tile = 64;          ///< tile edge in cells
};

/// Builds the grid at the terrain's own resolution (dx must equal dy). NaN -> inactive cell.
Result<Grid> make_grid(const Terrain& terrain, const GridOptions& options = {});

/// A time series: piecewise constant (rain: value[k] holds on [t[k], t[k+1]), 0 after the last
/// time and before the first) or piecewise linear (hydrographs, levels; held constant outside).
struct Series {
  std::vector<double> t_s;
  std::vector<double> value;
  bool step = false;  ///< true: piecewise constant
  bool empty() const { return t_s.empty(); }
  double at(double t) const;
  /// Integral of the series over [t0, t1].
  double integral(double t0, double t1) const;
};

enum class BoundaryKind : std::uint8_t { closed, free, level, discharge };

/// An open boundary condition (LISFLOOD-FP's FREE, HFIX and HVAR; its QFIX and QVAR are
/// inflows). On a side, the ghost cells beyond each boundary cell it holds are set every step:
/// `free`: water leaves at normal depth. The ghosts keep the boundary cell's depth over a bed
/// `slope * dx` lower per cell, so the face between them carries the uniform flow of a water
/// surface falling at `slope` (LISFLOOD-FP's FREE with a slope); slope < 0: the bed slope of
/// the last two cells continued (never rising outwards). `level`: the ghosts' water level
/// follows `level` (constant when it has one point) over the boundary cell's bed. At a point
/// (FloodModel::held_cells) a level holds the cell's own water level. `discharge` (inertial
/// solver): the face between ghost and boundary cell carries `level`'s value as an inward
/// discharge per unit width (m2/s), as LISFLOOD-FP imposes QFIX / QVAR on an edge: the water
/// enters with its momentum (the next face's theta weighting sees it). Godunov and point
/// discharges are inflows instead (sources without momentum).
struct Boundary {
  BoundaryKind kind = BoundaryKind::closed;
  Series level;  ///< level (m), or discharge per unit width (m2/s)
  double slope = -1;
  double bed_min = 1e300;  ///< lowest bed of its side cells (prepare_boundaries; the CFL bound)
};
enum Side : int { west = 0, east = 1, south = 2, north = 3 };

/// A cell whose water level a point boundary holds (LISFLOOD-FP's P HFIX / HVAR): set to the
/// level at the start of every step, the water added or taken counted as outflow.
struct HeldCell {
  std::int32_t cell;      ///< unpadded index j * nx + i
  std::int32_t boundary;  ///< index into FloodModel::boundaries (kind level)
};

/// A discharge hydrograph (m3/s) spread evenly over a set of cells.
struct Inflow {
  std::string name;
  std::vector<std::int32_t> cells;  ///< unpadded indices j * nx + i
  Series discharge;
};

struct Params {
  Solver solver = Solver::inertial;
  double cfl = -1;       ///< Courant number; < 0: courant()
  double theta = 0.7;    ///< de Almeida et al. (2012) weighting, 1 = Bates et al. (2010)
  double h_flow = 1e-3;  ///< inertial: minimum flow depth at a face (m)
  /// inertial: face discharges limited to this Froude number (<= 0: no limit)
  double froude_limit = 1.0;
  double h_dry = 1e-6;  ///< godunov: below this depth a cell's velocity is zero (m)
  double dt_max = 10;   ///< upper bound of the time step (s)
  /// Infiltration after Horton (1940): f(t) = fc + (f0 - fc) exp(-k t), t since the start, on
  /// every active cell (never more than the water present). f0 == fc: a constant rate.
  double infil_f0_mm_h = 0, infil_fc_mm_h = 0, infil_k_per_h = 0;
  /// The Courant number in force: `cfl` when given, else 0.45 (godunov) or, inertial, 0.9 of the
  /// 2-D stability limit of the theta scheme, sqrt(theta / 2) (0.53 at theta = 0.7; the
  /// checkerboard mode's amplification, docs/flood.md).
  double courant() const;
  /// The inertial scheme's 2-D stability limit of the Courant number, sqrt(theta / 2).
  double stability_limit() const;
};

/// A rain gauge: its hyetograph and its inverse-distance weight on every cell.
struct RainGauge {
  std::string name;
  Series mm_h;               ///< intensity (mm/h), piecewise constant
  std::vector<real> weight;  ///< (sy * sx) w_k(c) = d_k^-p / sum_m d_m^-p; 0 off the grid
  double weight_sum = 0;     ///< sum of the weights over active cells (double)
};

/// The immutable flood model: grid, parameters, forcing.
struct FloodModel {
  Grid grid;
  Params params;
  Series rain_mm_h;  ///< uniform rain intensity (mm/h), piecewise constant
  /// Rain gauges (with inverse-distance weighting), added to the uniform rain.
  std::vector<RainGauge> rain_gauges;
  /// The scenario's drainage capacity per cell (m/s, padded), empty when none: a cell loses
  /// min(h, capacity dt) per step (with infiltration), counted as losses. A state starts with
  /// it in FloodState::drain_mps, which pumps change during the run.
  std::vector<real> drain_mps;
  std::vector<Inflow> inflows;
  /// Open boundary conditions; per side (indexed by Side), the one of each boundary cell, as an
  /// index into `boundaries` (-1 closed), along the side: row j on west and east, column i on
  /// south and north. A side closed throughout has an empty vector. Use open_side().
  std::vector<Boundary> boundaries;
  std::array<std::vector<std::int32_t>, 4> side_bc;
  std::vector<HeldCell> held_cells;
  bool side_open(int side) const { return !side_bc[static_cast<std::size_t>(side)].empty(); }
  /// The condition of boundary cell k of a side, null when closed.
  const Boundary* boundary(int side, int k) const {
    const auto& v = side_bc[static_cast<std::size_t>(side)];
    return v.empty() || v[static_cast<std::size_t>(k)] < 0
               ? nullptr
               : &boundaries[static_cast<std::size_t>(v[static_cast<std::size_t>(k)])];
  }
  /// Sea cells (unpadded indices): held at `sea_level` at the start of every step, the water
  /// above it leaving the model as outflow (a coast inside the grid).
  std::vector<std::int32_t> sea_cells;
  double sea_level = 0;
};

/// Volume balance (m3), accumulated in double every step.
struct Balance {
  double initial = 0;  ///< stored at the start
  double stored = 0;   ///< stored now
  double rain = 0, inflow = 0;
  double outflow = 0;      ///< net out through the boundaries
  double losses = 0;       ///< infiltration and drainage
  double drained = 0;      ///< the drainage part of losses
  double clamped = 0;      ///< water created by clamping negative depths (numerical trouble)
  double assimilated = 0;  ///< added (removed when negative) by nudging toward gauges
  double error() const { return stored - initial - rain - inflow - assimilated + outflow + losses; }
  /// Error relative to the largest volume that took part.
  double relative_error() const;
};

/// Everything that changes during a run. Depth at cell centres; discharges per unit width
/// (m2/s): on faces for the inertial solver (qx at idx(i, j) is the west face of cell (i, j)),
/// at cell centres (hu, hv) for godunov.
struct FloodState {
  double t = 0;        ///< simulated time (s)
  double dt_next = 0;  ///< time step the CFL condition allows next (s)
  std::int64_t steps = 0;
  std::int64_t cell_updates = 0;  ///< sum over steps of cells in active tiles
  std::vector<real> h, qx, qy;    ///< (sy * sx)
  Balance balance;
  /// Multiplies the scenario's rain (uniform and gauges): rain-gauge readings assimilated
  /// (docs/live.md), 1 without any.
  double rain_factor = 1;
  /// Drainage capacity in force (m/s, padded; empty when none): the model's, plus the pumps
  /// that run (a control array: the coupling switches pumps on and off).
  std::vector<real> drain_mps;
  /// The bed in force (m, padded; empty: the model's grid.z): the model's with the cells breach
  /// events lowered (a control array, made at the first breach). The solver reads bed_of().
  std::vector<real> bed;

  // Solver scratch, sized by make_state (never resized by a step).
  std::vector<real> b0, b1, b2;  ///< second buffers (inertial: qx', qy'; godunov: U1)
  std::vector<real> fx[4],
      fy[4];  ///< only [0] allocated: inertial tile-edge faces; godunov side mass fluxes
  std::vector<real> recon;  ///< godunov: per-tile row scratch (velocities, slopes, face fluxes)
  std::vector<std::int32_t> active_tiles;  ///< tiles the next step computes
  std::vector<std::uint8_t> tile_on;       ///< (tiles) 1 if in active_tiles
  std::vector<std::uint8_t> tile_wet;      ///< (tiles) any depth > 0 after the last step
  std::vector<std::uint8_t> tile_live;     ///< (tiles) 1 if the tile has an active cell
  std::vector<double> tile_stored, tile_clamped, tile_speed, tile_loss,
      tile_drained;               ///< (tiles) partials
  std::vector<real> tile_hmax;    ///< (tiles)
  std::int64_t clamp_events = 0;  ///< steps with negative depths clamped
  /// Intervals advance() gave up because the time step fell below k_dt_min (numerical trouble).
  std::int64_t stalls = 0;
};

/// The bed a state flows over: its breached bed, or the model's.
inline const std::vector<real>& bed_of(const FloodModel& model, const FloodState& state) {
  return state.bed.empty() ? model.grid.z : state.bed;
}

/// Opens boundary cells [first, last] of a side (along it: row j on west and east, column i on
/// south and north; clamped to the side) with condition b, replacing what they held. Call
/// prepare_boundaries once every side is set.
void open_side(FloodModel& model, Side side, Boundary b, int first = 0,
               int last = std::numeric_limits<int>::max());
/// Sets the ghost beds of the open sides (free: lowered by the slope; level: the boundary
/// cell's bed). Call after open_side and after anything that changes the boundary cells' bed.
void prepare_boundaries(FloodModel& model);

/// Allocates the state, dry; then set_depth/set_level and `start`.
FloodState make_state(const FloodModel& model);
/// Water level `level` (m) over every active cell below it (a lake, a flat sea).
void set_level(const FloodModel& model, FloodState& state, double level);
/// Sets the depth of cell (i, j).
inline void set_depth(const FloodModel& model, FloodState& state, int i, int j, real h) {
  state.h[model.grid.idx(i, j)] = h;
}
/// Call after setting initial water: balance, active tiles and the first time step.
void start(const FloodModel& model, FloodState& state, TaskPool& pool);

/// One time step of at most `dt_limit` seconds; returns the step taken.
double step(const FloodModel& model, FloodState& state, double dt_limit, TaskPool& pool);
/// Steps until state.t == t_end (the last step is shortened to land on it).
void advance(const FloodModel& model, FloodState& state, double t_end, TaskPool& pool);

/// Nudges the depth around a gauge at (x, y) toward `target_depth` (Newtonian relaxation,
/// Hoke & Anthes 1976, with Cressman weights, Cressman 1959): every active cell within `radius`
/// gets h += gain * w(r) * (target_depth - h_gauge), w = (R^2 - r^2) / (R^2 + r^2), depths
/// kept >= 0; its tile is marked wet and the next time step limited by the new depth. Returns
/// the volume added (m3; negative when removed), also counted in balance.assimilated; 0 when
/// the gauge is off the grid.
double nudge_depth(const FloodModel& model, FloodState& state, double x, double y, double radius,
                   double target_depth, double gain);

/// Velocity (m/s) at the centre of cell (i, j), for either solver.
void velocity(const FloodModel& model, const FloodState& state, int i, int j, double& u, double& v);
/// Sum of depth * cell area over active cells (double).
double stored_volume(const FloodModel& model, const FloodState& state);
/// 64-bit hash of the state's depths, discharges and time (determinism tests).
std::uint64_t state_hash(const FloodModel& model, const FloodState& state);

/// A LISFLOOD-FP parameter file (.par): one `key [value]` per line, `#` starts a comment.
struct ParFile {
  struct Entry {
    std::string key, value;
    int line = 0;
  };
  std::string path;
  std::vector<Entry> entries;
  /// The last entry of a key (null when absent).
  const Entry* find(std::string_view key) const;
};
Result<ParFile> read_par(const std::string& path);
/// The scenario that runs a LISFLOOD-FP case as it is (`citytwin run case.par`, docs/lisflood.md):
/// TOML text whose [scenario], [output] and [city] come from the .par and whose [flood] names it.
Result<std::string> lisflood_scenario(const std::string& par_path);

/// The flood domain for the run loop: the [flood] section and its compiler (sim/domains.cpp).
const DomainEntry& domain_entry();

}  // namespace citytwin::flood
