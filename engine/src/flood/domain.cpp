// The flood domain the run loop drives (FloodDomain, flood_domain.hpp): the state it makes
// (lakes and the sea filled at the start), breach events lowering the bed, the exchange hooks
// (depths at buildings, road links, equipment and pumps in; pump rates out as drainage) and the
// advance over each macro step, which tracks maxima, arrival times, hazard and the gauges.
// compile.cpp builds the domain, outputs.cpp writes what it computed.
#include "flood/flood_domain.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "flood/kernels.hpp"

namespace citytwin::flood {

namespace {

// Water at a point entity (a kiosk, a substation, a pump) is read from the nearest open cell
// within this distance.
constexpr double k_probe_radius_m = 15.0;

/// UK FD2320 (Defra/EA 2006) hazard rating HR = d (v + 0.5) + DF, with the urban debris factor
/// DF = 0 for d <= 0.25 m and 1 above.
inline float hazard(float d, float v) {
  return d * (v + 0.5f) + (d > 0.25f ? 1.0f : 0.0f);
}

}  // namespace

std::vector<std::int32_t> breach_cells(const Grid& g, const BreachEvent& b) {
  std::vector<double> x, y;
  for (const Point2& p : b.line) x.push_back(p.x), y.push_back(p.y);
  std::vector<std::int32_t> cells = line_cells(g, x.data(), y.data(), x.size());
  if (b.width_m > 0) {
    const auto near = cells_near_line(g, b.line, 0.5 * b.width_m);
    cells.insert(cells.end(), near.begin(), near.end());
    std::sort(cells.begin(), cells.end());
    cells.erase(std::unique(cells.begin(), cells.end()), cells.end());
  }
  std::erase_if(cells, [&](std::int32_t c) { return !g.active[g.idx(c % g.nx, c / g.nx)]; });
  return cells;
}

FloodDomain::FloodDomain(FloodModel m, const FloodSpec& spec, const CityModel& city,
                         std::vector<Lake> lakes, std::vector<std::int32_t> gauge_cells,
                         std::vector<std::string> gauge_names, CellCounts counts)
    : m_model(std::move(m)),
      m_spec(spec),
      m_city(city),
      m_lakes(std::move(lakes)),
      m_gauge_cells(std::move(gauge_cells)),
      m_gauge_names(std::move(gauge_names)),
      m_counts(counts),
      m_building_probes(building_probes(m_model.grid, city.buildings)),
      m_link_probes(link_probes(m_model.grid, city.roads)) {}

double step_log_bytes(std::size_t gauges, const RunSpec& run) {
  const double steps =
      static_cast<double>(run.duration) / static_cast<double>(std::max<SimTime>(1, run.step)) + 2;
  return steps *
         (sizeof(std::pair<double, Balance>) + static_cast<double>(gauges) * sizeof(GaugeRow));
}

Footprint grid_footprint(double nx, double ny, bool drainage, std::size_t gauges,
                         const RunSpec& run) {
  const double padded = (nx + 2 * Grid::halo) * (ny + 2 * Grid::halo), interior = nx * ny;
  const double drain = drainage ? padded * sizeof(real) : 0;
  Footprint f;
  // Model: bed, friction, mask, and a drainage array where there is one.
  f.model_bytes = padded * (2.0 * sizeof(real) + 1) + drain;
  // State: depth, two discharges, three solver buffers, two face buffers, the bed in force
  // (padded; the bed only once a breach lowers it: an upper bound), drainage in force; maxima,
  // arrival and hazard (interior); the per-step logs at the end of the run.
  f.state_bytes = padded * 9.0 * sizeof(real) + drain + interior * 4.0 * sizeof(float) +
                  step_log_bytes(gauges, run);
  // Run file: bed and the final maxima, arrival, hazard; per frame depth, u, v (float32).
  f.static_bytes = interior * 6.0 * sizeof(float);
  f.frame_bytes = interior * 3.0 * sizeof(float) + 64;
  return f;
}

Footprint FloodDomain::footprint(const RunSpec& run) const {
  const Grid& g = m_model.grid;
  return grid_footprint(g.nx, g.ny, !m_model.drain_mps.empty(), m_gauge_cells.size(), run);
}

std::unique_ptr<DomainState> FloodDomain::make_state(std::uint64_t /*seed*/) const {
  auto s = std::make_unique<FloodDomainState>();
  s->fs = flood::make_state(m_model);
  const Grid& g = m_model.grid;
  if (!m_initial_h.empty()) s->fs.h = m_initial_h;
  for (const Lake& l : m_lakes) {
    std::vector<double> x, y;
    for (const Point2& p : l.polygon) x.push_back(p.x), y.push_back(p.y);
    for (std::int32_t c : cells_in_polygon(g, x.data(), y.data(), static_cast<int>(x.size()))) {
      const std::size_t k = g.idx(c % g.nx, c / g.nx);
      if (g.active[k] && g.z[k] < l.level) s->fs.h[k] = static_cast<real>(l.level - g.z[k]);
    }
  }
  for (std::int32_t c : m_model.sea_cells) {
    const std::size_t k = g.idx(c % g.nx, c / g.nx);
    s->fs.h[k] = std::max(real(0), static_cast<real>(m_model.sea_level) - g.z[k]);
  }
  const std::size_t n = static_cast<std::size_t>(g.nx) * static_cast<std::size_t>(g.ny);
  s->max_depth.assign(n, 0);
  s->max_speed.assign(n, 0);
  s->max_hazard.assign(n, 0);
  s->arrival_s.assign(n, std::nanf(""));
  s->pump_rate.assign(m_pump_cells.size(), 0.0f);
  TaskPool serial(1);
  start(m_model, s->fs, serial);
  return s;
}

// flood.breach: the cells along the line (active ones) start lowering towards the level now.
Result<void> FloodDomain::apply_event(const EventSpec& e, DomainState& state) const {
  auto& s = static_cast<FloodDomainState&>(state);
  const auto* b = dynamic_cast<const BreachEvent*>(e.payload.get());
  if (!b) return fail(Error::msg("not a flood event: " + e.type, e.where));
  const Grid& g0 = m_model.grid;
  std::vector<double> x, y;
  for (const Point2& p : b->line) x.push_back(p.x), y.push_back(p.y);
  FloodDomainState::Breach br;
  for (std::int32_t c : breach_cells(g0, *b)) {
    const std::size_t k = g0.idx(c % g0.nx, c / g0.nx);
    br.cells.push_back(k);
    br.z0.push_back(bed_of(m_model, s.fs)[k]);
  }
  if (br.cells.empty())
    return fail(Diagnostic::at(e.where, 0, "line",
                               "the breach line crosses no active cell of the flood grid", "",
                               "points over the DEM, outside buildings"));
  if (s.fs.bed.empty()) s.fs.bed = g0.z;
  br.level = b->level;
  br.t0 = s.fs.t;
  br.duration = b->duration_s;
  s.breaches.push_back(std::move(br));
  lower_beds(s, s.fs.t);
  return {};
}

// The grid cells of the exchange's point entities: the water at a substation or kiosk is the
// water in the nearest open cell within k_probe_radius_m (equipment stands at the street, and
// buildings are walls); a pump drains its nearest open cell.
Result<void> FloodDomain::bind(const ExchangeLayout& l) {
  const Grid& g = m_model.grid;
  m_element_cells.clear();
  for (std::int32_t e = 0; e < l.n_elements(); ++e)
    m_element_cells.push_back(nearest_open_cell(g, l.element_x[static_cast<std::size_t>(e)],
                                                l.element_y[static_cast<std::size_t>(e)],
                                                k_probe_radius_m));
  m_pump_cells.clear();
  for (std::int32_t p = 0; p < l.n_pumps(); ++p) {
    const auto u = static_cast<std::size_t>(p);
    const std::int64_t c = nearest_open_cell(g, l.pump_x[u], l.pump_y[u], k_probe_radius_m);
    if (c < 0)
      return fail(Diagnostic::at(
          l.pump_where[u], 0, "at", "the pump stands outside the flood grid's open cells",
          fmt::format("[{:.1f}, {:.1f}]", l.pump_x[u], l.pump_y[u]),
          fmt::format("a point within {} m of an open cell of the grid "
                      "x {:.1f}..{:.1f}, y {:.1f}..{:.1f} (model CRS)",
                      k_probe_radius_m, g.x0, g.x0 + g.nx * g.dx, g.y0, g.y0 + g.ny * g.dx)));
    m_pump_cells.push_back(static_cast<std::size_t>(c));
  }
  return {};
}

// Pumps: a pump's rate is drainage capacity on its cell (m/s = m3/s / cell area), on top of
// the scenario's drainage there; only a change of rate touches the array.
void FloodDomain::consume(const CityExchange& x, DomainState& state, const StepContext&) const {
  auto& s = static_cast<FloodDomainState&>(state);
  bool changed = false;
  for (std::size_t p = 0; p < m_pump_cells.size(); ++p)
    changed |= x.pump_rate_m3s[p] != s.pump_rate[p];
  if (!changed) return;
  const Grid& g = m_model.grid;
  if (s.fs.drain_mps.empty()) s.fs.drain_mps.assign(g.z.size(), 0);
  for (std::size_t p = 0; p < m_pump_cells.size(); ++p) {
    const std::size_t k = m_pump_cells[p];
    s.fs.drain_mps[k] = m_model.drain_mps.empty() ? real(0) : m_model.drain_mps[k];
  }
  for (std::size_t p = 0; p < m_pump_cells.size(); ++p) {
    s.pump_rate[p] = x.pump_rate_m3s[p];
    s.fs.drain_mps[m_pump_cells[p]] += static_cast<real>(s.pump_rate[p] / g.cell_area());
  }
}

void FloodDomain::publish(const DomainState& state, CityExchange& x) const {
  const auto& s = static_cast<const FloodDomainState&>(state);
  const auto& h = s.fs.h;
  for (std::int32_t l = 0; l < m_link_probes.size(); ++l)
    x.link_depth_m[static_cast<std::size_t>(l)] = m_link_probes.max(h, l);
  for (std::int32_t b = 0; b < m_building_probes.size(); ++b)
    x.building_depth_m[static_cast<std::size_t>(b)] = m_building_probes.max(h, b);
  for (std::size_t e = 0; e < m_element_cells.size(); ++e)
    x.element_depth_m[e] = m_element_cells[e] >= 0
                               ? static_cast<float>(h[static_cast<std::size_t>(m_element_cells[e])])
                               : 0.0f;
  for (std::size_t p = 0; p < m_pump_cells.size(); ++p)
    x.pump_depth_m[p] = static_cast<float>(h[m_pump_cells[p]]);
}

// Beds of breaches at time t: z0 lowered linearly to the level over the duration (never
// raised). The water on a cell keeps its depth, so no volume is created or lost.
void FloodDomain::lower_beds(FloodDomainState& s, double t) {
  for (const auto& br : s.breaches) {
    const double f = br.duration > 0 ? std::clamp((t - br.t0) / br.duration, 0.0, 1.0) : 1.0;
    for (std::size_t k = 0; k < br.cells.size(); ++k) {
      const double z0 = br.z0[k];
      if (z0 > br.level) s.fs.bed[br.cells[k]] = static_cast<real>(z0 - (z0 - br.level) * f);
    }
  }
}

// The breached bed of a loaded state: the model's, lowered as at the state's time (the last
// lowering, at the start of its last step, was to that time).
void FloodDomain::restored(DomainState& state) const {
  auto& s = static_cast<FloodDomainState&>(state);
  s.fs.bed.clear();
  if (s.breaches.empty()) return;
  s.fs.bed = m_model.grid.z;
  lower_beds(s, s.fs.t);
}

Result<std::optional<double>> FloodDomain::observe(const DomainState& state,
                                                   const DatastreamSpec& ds) const {
  if (ds.kind != SensorKind::water_depth && ds.kind != SensorKind::water_level &&
      ds.kind != SensorKind::rain_intensity)
    return std::optional<double>();
  const auto& s = static_cast<const FloodDomainState&>(state);
  const FloodModel& model = m_model;
  int i = 0, j = 0;
  if (!ds.at || !model.grid.locate(ds.at->x, ds.at->y, i, j))
    return fail(Error::msg(
        fmt::format("{}: datastream \"{}\": the gauge is off the flood grid", ds.where, ds.id)));
  const std::size_t k = model.grid.idx(i, j);
  if (ds.kind == SensorKind::rain_intensity) {
    // A rain gauge reads the rain falling on its cell now (m/s): the uniform rain and the
    // scenario's gauges' shares, times the assimilated factor.
    double mm_h = model.rain_mm_h.at(s.fs.t);
    for (const RainGauge& rg : model.rain_gauges) mm_h += rg.weight[k] * rg.mm_h.at(s.fs.t);
    return std::optional<double>(s.fs.rain_factor * mm_h / 1000.0 / 3600.0);
  }
  // A gauge reads its cell: the depth, or the water surface over the (breached) bed.
  const double h = s.fs.h[k];
  return std::optional<double>(ds.kind == SensorKind::water_depth ? h : bed_of(model, s.fs)[k] + h);
}

bool FloodDomain::assimilate(DomainState& state, const DatastreamSpec& ds, double observed,
                             double gain) const {
  const auto simulated = observe(state, ds);
  if (!simulated || !*simulated) return false;
  auto& s = static_cast<FloodDomainState&>(state);
  const FloodModel& model = m_model;
  if (ds.kind == SensorKind::rain_intensity) {
    // The rain field's factor times (observed / simulated)^gain, at most halved or doubled
    // per reading: the whole scenario's rain, gauges included, follows the gauges.
    if (**simulated <= 0 || observed < 0) return false;
    s.fs.rain_factor *= std::clamp(std::pow(observed / **simulated, gain), 0.5, 2.0);
    return true;
  }
  // A level is a depth over the gauge cell's bed.
  int i = 0, j = 0;
  model.grid.locate(ds.at->x, ds.at->y, i, j);  // on the grid: observe() found it
  const double target = ds.kind == SensorKind::water_depth
                            ? observed
                            : observed - bed_of(model, s.fs)[model.grid.idx(i, j)];
  nudge_depth(model, s.fs, ds.at->x, ds.at->y, ds.radius_m, target, gain);
  return true;
}

void FloodDomain::advance(DomainState& state, const StepContext& ctx) const {
  auto& s = static_cast<FloodDomainState&>(state);
  const double t_end = to_seconds(ctx.t + ctx.dt);
  // A gradual breach reaches its macro step's end depth at the start of the step.
  if (!s.breaches.empty()) lower_beds(s, t_end);
  const FloodModel& model = m_model;
  flood::advance(model, s.fs, t_end, *ctx.pool);
  track_maxima(s, t_end, *ctx.pool);
  // The per-step logs grow with the run (never reserved from its duration: a long run must
  // not allocate up front); compile_flood sized them in its memory estimate.
  s.balance_log.emplace_back(t_end, s.fs.balance);
  for (std::size_t k = 0; k < m_gauge_cells.size(); ++k) {
    const Grid& g = model.grid;
    const std::int32_t c = m_gauge_cells[k];
    const int i = c % g.nx, j = c / g.nx;
    double u = 0, v = 0;
    velocity(model, s.fs, i, j, u, v);
    const double h = s.fs.h[g.idx(i, j)];
    s.gauge_log.push_back({t_end, static_cast<std::int32_t>(k), static_cast<float>(h),
                           static_cast<float>(h + bed_of(model, s.fs)[g.idx(i, j)]),
                           static_cast<float>(std::hypot(u, v))});
  }
}

// Maxima, arrival and hazard over the tiles the last step computed (the others are dry), in
// parallel: each cell is written by the one block holding its tile.
void FloodDomain::track_maxima(FloodDomainState& s, double t, TaskPool& pool) const {
  const Grid& g = m_model.grid;
  const float wet = static_cast<float>(m_spec.wet_depth);
  const bool centred = m_model.params.solver == Solver::godunov;
  const float h_dry = static_cast<float>(m_model.params.h_dry);
  const std::size_t sx = static_cast<std::size_t>(g.sx);
  const auto& tiles = s.fs.active_tiles;
  pool.for_blocks(static_cast<std::int64_t>(tiles.size()), 4,
                  [&](std::int64_t b, std::int64_t e, int) {
                    for (std::int64_t k = b; k < e; ++k) {
                      const auto box = detail::tile_box(g, tiles[static_cast<std::size_t>(k)]);
                      for (int j = box.j0; j < box.j1; ++j)
                        track_row(s, j, box.i0, box.i1, t, wet, h_dry, centred, sx);
                    }
                  });
}

// One row of a tile, branch-free so that it vectorises (the flood module is compiled with
// -fno-trapping-math). Dry cells change nothing: their depth and speed are 0.
void FloodDomain::track_row(FloodDomainState& s, int j, int i0, int i1, double t, float wet,
                            float /*h_dry*/, bool centred, std::size_t sx) const {
  const Grid& g = m_model.grid;
  const real* __restrict h = s.fs.h.data() + g.idx(0, j);
  const real* __restrict qx = s.fs.qx.data() + g.idx(0, j);
  const real* __restrict qy = s.fs.qy.data() + g.idx(0, j);
  const std::size_t row = static_cast<std::size_t>(j) * static_cast<std::size_t>(g.nx);
  float* __restrict md = s.max_depth.data() + row;
  float* __restrict ms = s.max_speed.data() + row;
  float* __restrict mh = s.max_hazard.data() + row;
  float* __restrict at = s.arrival_s.data() + row;
  const float tf = static_cast<float>(t);
  const float half = centred ? 0.0f : 0.5f, self = centred ? 1.0f : 0.5f;
  for (int i = i0; i < i1; ++i) {
    const float d = static_cast<float>(h[i]);
    // Cell-centred discharge: stored (godunov) or the mean of the two faces (inertial).
    const float qu = self * static_cast<float>(qx[i]) + half * static_cast<float>(qx[i + 1]);
    const float qv = self * static_cast<float>(qy[i]) + half * static_cast<float>(qy[i + sx]);
    // Speeds of films thinner than wet_depth are noise (q / h with h -> 0).
    const bool is_wet = d > wet;
    const float sp0 = std::sqrt(qu * qu + qv * qv) / std::max(d, wet);
    const float sp = is_wet ? sp0 : 0.0f;
    md[i] = std::max(md[i], d);
    ms[i] = std::max(ms[i], sp);
    mh[i] = std::max(mh[i], is_wet ? hazard(d, sp) : 0.0f);
    const float a = at[i];
    at[i] = is_wet && a != a ? tf : a;
  }
}

}  // namespace citytwin::flood
