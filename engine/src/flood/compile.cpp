// compile_flood: the flood model from the [flood] section and the city, once per run. The DEM
// resampled to the flood grid; buildings as walls or raised cells, with the streets through
// them left open; Manning's n per class or from a raster; drainage; the forcing (rain, rain
// gauges, inflows, boundary levels); the sea; the priority-flood fill of the depressions the
// buildings leave; the gauges. Then the FloodDomain (flood_domain.hpp) that runs it, and the
// domain's entry for the run loop.
#include "flood/domain.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "citytwin/priority_flood.hpp"
#include "citytwin/resources.hpp"
#include "flood/flood_domain.hpp"

namespace citytwin::flood {

namespace {

// Cells crossed by the road links (unpadded indices, sorted, unique), 4-connected.
std::vector<std::int32_t> road_cells(const Grid& g, const RoadNetwork& rn) {
  std::vector<std::int32_t> cells;
  for (std::int32_t l = 0; l < rn.link_count(); ++l) {
    const auto p0 = static_cast<std::size_t>(rn.link_point_offsets[static_cast<std::size_t>(l)]),
               p1 =
                   static_cast<std::size_t>(rn.link_point_offsets[static_cast<std::size_t>(l) + 1]);
    const auto c = line_cells(g, rn.point_x.data() + p0, rn.point_y.data() + p0, p1 - p0);
    cells.insert(cells.end(), c.begin(), c.end());
  }
  std::sort(cells.begin(), cells.end());
  cells.erase(std::unique(cells.begin(), cells.end()), cells.end());
  return cells;
}

// Depressions the buildings leave in the flood grid, filled by priority-flood
// (citytwin/priority_flood.hpp) with wall cells as barriers: starting from the outlets (active
// cells on open sides, and sea cells), cells are visited in order of elevation and each is
// raised to the lowest level from which water can run to an outlet. Cells no outlet reaches
// are pockets closed by footprints (courtyards): they become inactive like the buildings
// around them. Returns {cells raised, cells closed}; nothing happens when the grid has no
// outlet.
std::pair<std::int64_t, std::int64_t> fill_grid_depressions(FloodModel& m) {
  Grid& g = m.grid;
  const auto active = [&](int i, int j) { return g.active[g.idx(i, j)] != 0; };
  std::vector<std::int64_t> outlets(m.sea_cells.begin(), m.sea_cells.end());
  auto seed = [&](int i, int j) { outlets.push_back(static_cast<std::int64_t>(j) * g.nx + i); };
  for (int j = 0; j < g.ny; ++j) {
    if (m.boundary(west, j)) seed(0, j);
    if (m.boundary(east, j)) seed(g.nx - 1, j);
  }
  for (int i = 0; i < g.nx; ++i) {
    if (m.boundary(south, i)) seed(i, 0);
    if (m.boundary(north, i)) seed(i, g.ny - 1);
  }
  for (const HeldCell& hc : m.held_cells) outlets.push_back(hc.cell);
  if (std::none_of(outlets.begin(), outlets.end(), [&](std::int64_t c) {
        return active(static_cast<int>(c % g.nx), static_cast<int>(c / g.nx));
      }))
    return {0, 0};
  std::vector<std::uint8_t> reached;
  const std::int64_t raised = priority_flood(
      g.nx, g.ny, outlets, [&](int i, int j) -> real& { return g.z[g.idx(i, j)]; }, active,
      reached);
  std::int64_t closed = 0;
  for (int j = 0; j < g.ny; ++j)
    for (int i = 0; i < g.nx; ++i) {
      const std::size_t k = g.idx(i, j);
      if (g.active[k] && !reached[static_cast<std::size_t>(j) * g.nx + i])
        g.z[k] = k_wall_z, g.active[k] = 0, --g.active_cells, ++closed;
    }
  return {raised, closed};
}

// The DEM resampled (bilinear between cell centres) to a square grid of the given size.
Terrain resample(const Terrain& t, double res) {
  Terrain r;
  r.x0 = t.x0;
  r.y0 = t.y0;
  r.dx = r.dy = res;
  r.nx = static_cast<int>(std::floor(t.nx * t.dx / res));
  r.ny = static_cast<int>(std::floor(t.ny * t.dy / res));
  r.z.resize(static_cast<std::size_t>(r.nx) * static_cast<std::size_t>(r.ny));
  for (int j = 0; j < r.ny; ++j)
    for (int i = 0; i < r.nx; ++i) {
      const double x = r.x0 + (i + 0.5) * res, y = r.y0 + (j + 0.5) * res;
      double z = t.sample(x, y);
      if (std::isnan(z)) {  // near the edge: the cell the point falls in
        const int a = static_cast<int>((x - t.x0) / t.dx), b = static_cast<int>((y - t.y0) / t.dy);
        z = a >= 0 && b >= 0 && a < t.nx && b < t.ny ? t.at(a, b) : std::nan("");
      }
      r.z[static_cast<std::size_t>(j) * r.nx + i] = static_cast<float>(z);
    }
  return r;
}

// Calls f(i, j, value) with the raster cell under the centre of every grid cell the raster
// covers (nearest cell; the raster in the model CRS): Manning's n and initial depths.
template <class F>
Result<void> sample_raster(const Grid& g, const std::string& path, F f) {
  auto r = read_raster(path);
  if (!r) return fail(r.error());
  const auto& gt = r->geo;
  for (int j = 0; j < g.ny; ++j)
    for (int i = 0; i < g.nx; ++i) {
      const double x = g.x0 + (i + 0.5) * g.dx, y = g.y0 + (j + 0.5) * g.dx;
      // Compared as doubles: a raster's geotransform may put the cell far outside int.
      const double fa = std::floor((x - gt[0]) / gt[1]), fb = std::floor((y - gt[3]) / gt[5]);
      if (!(fa >= 0 && fb >= 0 && fa < r->nx && fb < r->ny)) continue;
      const int a = static_cast<int>(fa), b = static_cast<int>(fb);
      f(i, j,
        r->z[static_cast<std::size_t>(b) * static_cast<std::size_t>(r->nx) +
             static_cast<std::size_t>(a)]);
    }
  return {};
}

}  // namespace

Result<std::unique_ptr<Domain>> compile_flood(const DomainSpec& dspec, const ScenarioSpec& scenario,
                                              const CityModel& city) {
  const auto& spec = static_cast<const FloodSpec&>(dspec);
  if (city.terrain.empty())
    return fail(Diagnostic::at(scenario.path, 0, "city.dem", "the flood domain needs a DEM", "",
                               "city.dem = \"...tif|asc\""));
  const bool resample_grid =
      spec.resolution_m > 0 && std::abs(spec.resolution_m - city.terrain.dx) > 1e-9;
  // The grid's memory, before anything is allocated: the model and one state (grid_footprint),
  // the per-step logs a state keeps for the whole run included, and compiling's own scratch.
  {
    const Terrain& t = city.terrain;
    const double cell = resample_grid ? spec.resolution_m : std::min(t.dx, t.dy);
    const double nx = std::ceil(t.nx * t.dx / cell), ny = std::ceil(t.ny * t.dy / cell);
    const Footprint f =
        grid_footprint(nx, ny, spec.drain_mm_h > 0, spec.gauges.size(), scenario.run);
    const double log_bytes = step_log_bytes(spec.gauges.size(), scenario.run);
    // Compiling also holds, for a while, the resampled terrain, the building and road masks and
    // the depression-filling queue: about 27 bytes per cell more at its peak.
    constexpr double k_compile_scratch_per_cell = 27;
    const double bytes = f.model_bytes + f.state_bytes + nx * ny * k_compile_scratch_per_cell;
    const auto budget = static_cast<double>(memory_budget(scenario.run.max_memory));
    if (budget > 0 && bytes > budget)
      return fail(Diagnostic::at(
          spec.where, 0, log_bytes < 0.5 * budget ? "flood.resolution" : "scenario.duration",
          fmt::format("a {:.0f} x {:.0f} grid of {} m cells and its logs over {} need about {}; "
                      "{} {}",
                      nx, ny, cell, format_duration(scenario.run.duration), format_bytes(bytes),
                      format_bytes(budget),
                      scenario.run.max_memory > 0 ? "is allowed (--max-memory)" : "is available"),
          fmt::format("{} m", cell),
          log_bytes < 0.5 * budget
              ? fmt::format("resolution >= {:.2f} m, or a smaller city.bbox",
                            cell * std::sqrt((bytes - log_bytes) / (budget - log_bytes)) * 1.01)
              : fmt::format("a shorter scenario.duration or a longer scenario.step: the flood's "
                            "per-step logs alone need {}",
                            format_bytes(log_bytes))));
  }
  Terrain terrain = resample_grid ? resample(city.terrain, spec.resolution_m) : city.terrain;
  if (std::abs(terrain.dx - terrain.dy) > 1e-6 * terrain.dx && !resample_grid)
    terrain = resample(city.terrain, std::min(terrain.dx, terrain.dy));
  FloodModel m;
  GridOptions go;
  go.manning = spec.manning;
  go.tile = spec.tile;
  auto grid = make_grid(terrain, go);
  if (!grid) return fail(grid.error());
  m.grid = std::move(*grid);
  m.params.solver = spec.solver;
  m.params.cfl = spec.cfl;
  m.params.theta = spec.theta;
  m.params.froude_limit = spec.froude_limit;
  m.params.dt_max = spec.dt_max;
  m.params.infil_f0_mm_h = spec.infil_f0_mm_h;
  m.params.infil_fc_mm_h = spec.infil_fc_mm_h;
  m.params.infil_k_per_h = spec.infil_k_per_h;
  Grid& g = m.grid;

  // Buildings: walls close their footprint cells, raise lifts them by the building height.
  std::int64_t building_cells = 0;
  const std::vector<real> bare_z = g.z;  // the terrain before buildings
  std::vector<std::uint8_t> in_building(g.z.size(), 0);
  if (spec.buildings != BuildingMode::none) {
    const Buildings& b = city.buildings;
    for (std::int32_t k = 0; k < b.size(); ++k) {
      const auto r0 = b.ring_offsets[static_cast<std::size_t>(k)];
      if (!b.ring_outer[static_cast<std::size_t>(r0)]) continue;
      const auto p0 = b.point_offsets[static_cast<std::size_t>(r0)],
                 p1 = b.point_offsets[static_cast<std::size_t>(r0) + 1];
      for (std::int32_t c : cells_in_polygon(g, b.x.data() + p0, b.y.data() + p0, p1 - p0)) {
        const std::size_t i = g.idx(c % g.nx, c / g.nx);
        if (!g.active[i]) continue;
        ++building_cells;
        in_building[i] = 1;
        if (spec.buildings == BuildingMode::walls) {
          g.z[i] = k_wall_z;
          g.active[i] = 0;
          --g.active_cells;
        } else {
          g.z[i] += static_cast<real>(b.height_m[static_cast<std::size_t>(k)]);
        }
      }
    }
  }

  // Streets stay open through footprints: at a few metres per cell, footprints rasterised at
  // cell centres close narrow streets, and many of Monaco's roads pass under buildings; a closed
  // street would dam its valley into a pond tens of metres deep.
  const std::vector<std::int32_t> roads = road_cells(g, city.roads);
  std::int64_t road_cells_opened = 0;
  if (spec.open_roads)
    for (std::int32_t c : roads) {
      const std::size_t k = g.idx(c % g.nx, c / g.nx);
      if (!in_building[k]) continue;
      in_building[k] = 0;
      --building_cells;
      ++road_cells_opened;
      g.z[k] = bare_z[k];
      if (!g.active[k]) g.active[k] = 1, ++g.active_cells;
    }

  // Manning's n per class (roads, building footprints when not walls), then a raster.
  auto gn2 = [](double n) { return static_cast<real>(k_g * n * n); };
  if (spec.manning_building > 0)
    for (std::size_t k = 0; k < in_building.size(); ++k)
      if (in_building[k] && g.active[k]) g.gn2[k] = gn2(spec.manning_building);
  if (spec.manning_road > 0)
    for (std::int32_t c : roads) g.gn2[g.idx(c % g.nx, c / g.nx)] = gn2(spec.manning_road);
  if (!spec.manning_raster.empty()) {
    auto r = sample_raster(g, spec.manning_raster, [&](int i, int j, float n) {
      if (n > 0) g.gn2[g.idx(i, j)] = gn2(n);  // nodata or n <= 0 keep the class or default
    });
    if (!r) return fail(r.error());
  }
  // Drainage capacity: on every active cell, or on urban cells: cells a road crosses, building
  // footprint cells (buildings = "raise" | "none") and cells next to a footprint (8 neighbours).
  if (spec.drain_mm_h > 0) {
    const real cap = static_cast<real>(spec.drain_mm_h / 1000.0 / 3600.0);
    m.drain_mps.assign(g.z.size(), 0);
    std::vector<std::uint8_t> urban(g.z.size(), spec.drain_all ? 1 : 0);
    if (!spec.drain_all) {
      for (std::int32_t c : roads) urban[g.idx(c % g.nx, c / g.nx)] = 1;
      for (int j = 0; j < g.ny; ++j)
        for (int i = 0; i < g.nx; ++i)
          if (in_building[g.idx(i, j)])
            for (int dj = -1; dj <= 1; ++dj)
              for (int di = -1; di <= 1; ++di) urban[g.idx(i + di, j + dj)] = 1;
    }
    for (std::size_t k = 0; k < urban.size(); ++k)
      if (urban[k] && g.active[k]) m.drain_mps[k] = cap;
  }

  // Forcing.
  if (!spec.hyetograph.empty()) {
    auto r = read_series_csv(spec.hyetograph, true, k_rain_range);
    if (!r) return fail(r.error());
    m.rain_mm_h = std::move(*r);
  } else if (spec.rain_intensity_mps > 0) {
    m.rain_mm_h =
        Series{{spec.rain_start_s, spec.rain_end_s}, {spec.rain_intensity_mps * 3.6e6, 0.0}, true};
  }
  if (!spec.rain_gauges.empty()) {
    std::vector<Point2> at;
    for (const RainGaugeSpec& r : spec.rain_gauges) {
      RainGauge rg;
      rg.name = r.name;
      if (!r.hyetograph.empty()) {
        auto h = read_series_csv(r.hyetograph, true, k_rain_range);
        if (!h) return fail(h.error());
        rg.mm_h = std::move(*h);
      } else {
        rg.mm_h = Series{{r.start_s, r.end_s}, {r.intensity_mps * 3.6e6, 0.0}, true};
      }
      rg.weight.assign(g.z.size(), 0);
      m.rain_gauges.push_back(std::move(rg));
      at.push_back(r.at);
    }
    std::vector<double> w(at.size());
    for (int j = 0; j < g.ny; ++j)
      for (int i = 0; i < g.nx; ++i) {
        if (!g.active[g.idx(i, j)]) continue;
        idw_weights(g, i, j, at, spec.idw_power, w.data());
        for (std::size_t k = 0; k < at.size(); ++k) {
          const real wk = static_cast<real>(w[k]);
          m.rain_gauges[k].weight[g.idx(i, j)] = wk;
          m.rain_gauges[k].weight_sum += static_cast<double>(wk);
        }
      }
  }
  for (const NamedPoints& p : spec.inflows) {
    Inflow in;
    in.name = p.name;
    for (std::size_t k = 0; k < p.at.size(); ++k) {
      // Points, or every cell along the segments of a line (sampled at a quarter cell), the
      // part inside the grid only.
      Point2 a = p.at[k], b = k + 1 < p.at.size() ? p.at[k + 1] : p.at[k];
      if (!clip_to_grid(g, a, b)) continue;
      const int n = std::max(1, static_cast<int>(std::hypot(b.x - a.x, b.y - a.y) / (0.25 * g.dx)));
      for (int s = 0; s <= n; ++s) {
        int i = 0, j = 0;
        if (g.locate(a.x + (b.x - a.x) * s / n, a.y + (b.y - a.y) * s / n, i, j) &&
            g.active[g.idx(i, j)])
          in.cells.push_back(j * g.nx + i);
      }
    }
    std::sort(in.cells.begin(), in.cells.end());
    in.cells.erase(std::unique(in.cells.begin(), in.cells.end()), in.cells.end());
    if (in.cells.empty())
      return fail(Diagnostic::at(p.where, 0, "flood.inflow.at",
                                 "inflow '" + p.name + "' lies outside the active grid"));
    if (!p.hydrograph.empty()) {
      auto r = read_series_csv(p.hydrograph, false, k_discharge_range);
      if (!r) return fail(r.error());
      in.discharge = std::move(*r);
    } else {
      in.discharge = Series{{0.0}, {p.discharge}, false};
    }
    m.inflows.push_back(std::move(in));
  }
  for (const BoundarySpec& b : spec.boundaries)
    if (auto r = compile_boundary(b, m); !r) return fail(r.error());
  prepare_boundaries(m);
  std::int64_t offshore_cells = 0;
  if (spec.sea) {
    m.sea_level = spec.sea_level;
    auto is_sea = [&](int i, int j) {
      const std::size_t k = g.idx(i, j);
      return g.active[k] && g.z[k] <= spec.sea_level;
    };
    // Sea cells more than two cells from any land cell leave the model (inactive): water never
    // reaches them before the coastal band takes it, and they would cost every rainy step.
    std::vector<std::uint8_t> offshore(g.z.size(), 0);
    for (int j = 0; j < g.ny; ++j)
      for (int i = 0; i < g.nx; ++i) {
        if (!is_sea(i, j)) continue;
        bool near_land = false;
        for (int dj = -2; dj <= 2 && !near_land; ++dj)
          for (int di = -2; di <= 2 && !near_land; ++di) {
            const int a = i + di, b = j + dj;
            near_land = a >= 0 && b >= 0 && a < g.nx && b < g.ny &&
                        (g.active[g.idx(a, b)] || in_building[g.idx(a, b)]) && !is_sea(a, b);
          }
        if (near_land)
          m.sea_cells.push_back(j * g.nx + i);
        else
          offshore[g.idx(i, j)] = 1;
      }
    for (std::size_t k = 0; k < offshore.size(); ++k)
      if (offshore[k]) g.z[k] = k_wall_z, g.active[k] = 0, --g.active_cells, ++offshore_cells;
  }
  std::pair<std::int64_t, std::int64_t> filled{0, 0};
  if (spec.fill_depressions) {
    filled = fill_grid_depressions(m);
    prepare_boundaries(m);  // ghost beds follow the raised boundary cells
  }
  // Flood walls and levees: structures on the ground, raised after the terrain's pits were
  // filled (so that the land behind a wall is not filled up to its crest).
  for (const Wall& w : spec.walls) {
    std::vector<double> x, y;
    for (const Point2& p : w.line) x.push_back(p.x), y.push_back(p.y);
    std::vector<std::int32_t> cells = line_cells(g, x.data(), y.data(), x.size());
    if (w.width_m > 0) {
      const auto near = cells_near_line(g, w.line, 0.5 * w.width_m);
      cells.insert(cells.end(), near.begin(), near.end());
      std::sort(cells.begin(), cells.end());
      cells.erase(std::unique(cells.begin(), cells.end()), cells.end());
    }
    std::int64_t raised = 0;
    for (std::int32_t c : cells) {
      const std::size_t k = g.idx(c % g.nx, c / g.nx);
      if (!g.active[k]) continue;
      const real top = static_cast<real>(w.height > 0 ? g.z[k] + w.height : w.crest);
      raised += top > g.z[k];
      g.z[k] = std::max(g.z[k], top);
    }
    if (raised == 0)
      return fail(Diagnostic::at(w.where, 0, "line",
                                 "the wall raises no active cell of the flood grid (it misses the "
                                 "grid, or its crest is below the ground everywhere)",
                                 "", "a line over the DEM, outside buildings"));
  }
  if (!spec.walls.empty()) prepare_boundaries(m);
  // Offshore and enclosed cells left the model: no rain or drainage there.
  for (std::size_t k = 0; k < g.z.size(); ++k)
    if (!g.active[k]) {
      if (!m.drain_mps.empty()) m.drain_mps[k] = 0;
      for (RainGauge& rg : m.rain_gauges) rg.weight[k] = 0;
    }
  for (RainGauge& rg : m.rain_gauges) {
    rg.weight_sum = 0;
    for (int j = 0; j < g.ny; ++j) {
      double row = 0;
      for (int i = 0; i < g.nx; ++i) row += static_cast<double>(rg.weight[g.idx(i, j)]);
      rg.weight_sum += row;
    }
  }
  // Breach events must reach the grid.
  for (const EventSpec& e : scenario.events) {
    if (scenario.domain_names[static_cast<std::size_t>(e.domain)] != "flood") continue;
    const auto* b = dynamic_cast<const BreachEvent*>(e.payload.get());
    if (b && breach_cells(g, *b).empty())
      return fail(Diagnostic::at(e.where, 0, "line",
                                 "the breach line crosses no active cell of the flood grid", "",
                                 "points over the DEM, outside buildings"));
  }
  std::vector<std::int32_t> gauge_cells;
  std::vector<std::string> gauge_names;
  for (const NamedPoints& p : spec.gauges) {
    int i = 0, j = 0;
    if (!g.locate(p.at[0].x, p.at[0].y, i, j))
      return fail(Diagnostic::at(p.where, 0, "flood.gauge.at",
                                 "gauge '" + p.name + "' lies outside the grid"));
    gauge_cells.push_back(j * g.nx + i);
    gauge_names.push_back(p.name);
  }
  std::vector<real> initial_h;
  if (!spec.initial_depth.empty()) {
    initial_h.assign(g.z.size(), 0);
    auto r = sample_raster(g, spec.initial_depth, [&](int i, int j, float h) {
      if (h > 0 && g.active[g.idx(i, j)]) initial_h[g.idx(i, j)] = static_cast<real>(h);
    });
    if (!r) return fail(r.error());
  }
  auto domain = std::make_unique<FloodDomain>(
      std::move(m), spec, city, spec.lakes, std::move(gauge_cells), std::move(gauge_names),
      CellCounts{building_cells, road_cells_opened, offshore_cells, filled.first, filled.second});
  domain->set_initial_depth(std::move(initial_h));
  for (const Diagnostic& d : spec.warnings) domain->add_warning(d);
  // Water must come from somewhere: rain, inflows, a level boundary or the sea, lakes, or a
  // breach event. Without any, the grid stays dry and the run simulates nothing.
  const bool water_boundary =
      std::any_of(spec.boundaries.begin(), spec.boundaries.end(), [](const BoundarySpec& b) {
        return b.type == BoundarySpec::Type::level || b.type == BoundarySpec::Type::discharge;
      });
  const bool flood_events =
      std::any_of(scenario.events.begin(), scenario.events.end(), [&](const EventSpec& e) {
        return scenario.domain_names[static_cast<std::size_t>(e.domain)] == "flood";
      });
  if (!(spec.rain_intensity_mps > 0 || !spec.hyetograph.empty() || !spec.rain_gauges.empty() ||
        !spec.inflows.empty() || !spec.lakes.empty() || spec.sea || water_boundary ||
        flood_events || !spec.initial_depth.empty()))
    domain->add_warning(Diagnostic::at(
        spec.where, 0, "flood", "the flood domain has no water to simulate", "no forcing",
        "rain, [[flood.inflow]], a level boundary or sea_level, a lake, or a breach event"));
  return std::unique_ptr<Domain>(std::move(domain));
}

const DomainEntry& domain_entry() {
  static const DomainEntry entry{
      {"flood", parse_flood, parse_flood_event, "breach"}, compile_flood, open_flood_replay};
  return entry;
}

}  // namespace citytwin::flood
