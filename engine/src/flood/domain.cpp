// The flood domain: parses [flood], compiles the grid from the city (resampling, buildings,
// forcing), advances the solver over each macro step, tracks maxima and gauges, writes outputs
// (HDF5 datasets, flood_gauges.csv, flood_max_depth.tif/.asc).
#include "flood/domain.hpp"
#include "flood/probes.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <queue>
#include <sstream>

#include <fmt/format.h>

#include "city/dem.hpp"
#include "citytwin/frame.hpp"
#include "citytwin/io.hpp"
#include "citytwin/raster.hpp"
#include "flood/kernels.hpp"

namespace citytwin::flood {

namespace {

const char* const k_side_names[4] = {"west", "east", "south", "north"};
constexpr std::size_t k_max_rain_gauges = 16;


}  // namespace

Result<Series> read_series_csv(const std::string& path, bool step) {
  std::ifstream in(path);
  if (!in) return fail(Diagnostic::at(path, 0, "", "cannot open the time series"));
  Series s;
  s.step = step;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty() || line[0] == '#') continue;
    std::replace(line.begin(), line.end(), ',', ' ');
    std::istringstream ls(line);
    double t = 0, v = 0;
    if (!(ls >> t >> v)) {
      if (s.t_s.empty() && n == 1) continue;  // header
      return fail(Diagnostic::at(path, n, "", "bad row", line, "time_s, value"));
    }
    if (!s.t_s.empty() && t <= s.t_s.back())
      return fail(Diagnostic::at(path, n, "", "times must increase", std::to_string(t),
                       "> " + std::to_string(s.t_s.back())));
    s.t_s.push_back(t);
    s.value.push_back(v);
  }
  if (s.t_s.empty()) return fail(Diagnostic::at(path, 0, "", "no rows", "", "time_s, value rows"));
  return s;
}

std::vector<std::int32_t> cells_in_polygon(const Grid& g, const double* x, const double* y, int n) {
  std::vector<std::int32_t> cells;
  if (n < 3) return cells;
  const double xmin = *std::min_element(x, x + n), xmax = *std::max_element(x, x + n);
  const double ymin = *std::min_element(y, y + n), ymax = *std::max_element(y, y + n);
  const int i0 = std::max(0, static_cast<int>(std::floor((xmin - g.x0) / g.dx)));
  const int i1 = std::min(g.nx - 1, static_cast<int>(std::floor((xmax - g.x0) / g.dx)));
  const int j0 = std::max(0, static_cast<int>(std::floor((ymin - g.y0) / g.dx)));
  const int j1 = std::min(g.ny - 1, static_cast<int>(std::floor((ymax - g.y0) / g.dx)));
  for (int j = j0; j <= j1; ++j) {
    const double py = g.y0 + (j + 0.5) * g.dx;
    for (int i = i0; i <= i1; ++i) {
      const double px = g.x0 + (i + 0.5) * g.dx;
      bool inside = false;
      for (int a = 0, b = n - 1; a < n; b = a++)
        if ((y[a] > py) != (y[b] > py) && px < x[b] + (x[a] - x[b]) * (py - y[b]) / (y[a] - y[b]))
          inside = !inside;
      if (inside) cells.push_back(j * g.nx + i);
    }
  }
  return cells;
}

std::shared_ptr<const DomainSpec> parse_flood(SectionReader& s, const ScenarioSpec& core) {
  auto spec = std::make_shared<FloodSpec>();
  spec->solver = s.choice_or("solver", {"inertial", "godunov"}, "inertial") == "godunov"
                     ? Solver::godunov
                     : Solver::inertial;
  if (s.has("resolution")) {
    const auto text = s.string("resolution");
    if (text && *text != "dem")
      spec->resolution_m = s.quantity_or("resolution", Quantity::length, 0, 0.1);
  }
  spec->manning = s.number_or("manning", spec->manning, 1e-4, 1.0);
  spec->cfl = s.number_or("cfl", spec->cfl, -1, 1.0);
  spec->theta = s.number_or("theta", spec->theta, 0.0, 1.0);
  spec->froude_limit = s.number_or("froude_limit", spec->froude_limit, 0.0, 100.0);
  spec->dt_max = s.number_or("dt_max", spec->dt_max, 1e-3, 600);
  spec->tile = static_cast<int>(s.integer_or("tile", spec->tile, 8, 4096));
  spec->wet_depth = s.quantity_or("wet_depth", Quantity::length, spec->wet_depth, 0);
  spec->open_roads = s.boolean_or("open_roads", spec->open_roads);
  spec->fill_depressions = s.boolean_or("fill_depressions", spec->fill_depressions);
  const std::string b = s.choice_or("buildings", {"walls", "raise", "none"}, "walls");
  spec->buildings = b == "walls"   ? BuildingMode::walls
                    : b == "raise" ? BuildingMode::raise
                                   : BuildingMode::none;
  if (s.has("rain")) {
    SectionReader r = s.table("rain");
    if (r.has("hyetograph")) spec->hyetograph = r.existing_file("hyetograph").value_or("");
    spec->rain_intensity_mps = r.quantity_or("intensity", Quantity::intensity, 0, 0);
    spec->rain_start_s = to_seconds(r.duration_or("start", 0));
    spec->rain_end_s = to_seconds(r.duration_or("end", core.run.duration));
    if (spec->hyetograph.empty() && !(spec->rain_intensity_mps > 0))
      r.error("intensity", "rain needs an intensity or a hyetograph", "", "e.g. \"80mm/h\"");
  }
  for (SectionReader& in : s.tables("inflow")) {
    NamedPoints p;
    p.name = in.string_or("name", "inflow");
    p.at = in.points("at").value_or(std::vector<Point2>{});
    if (p.at.empty()) in.error("at", "an inflow needs a point [x, y] or a line of points");
    if (in.has("hydrograph"))
      p.hydrograph = in.existing_file("hydrograph").value_or("");
    else
      p.discharge = in.quantity_or("discharge", Quantity::discharge, 0, 0);
    p.where = in.where();
    spec->inflows.push_back(std::move(p));
  }
  for (SectionReader& gs : s.tables("gauge")) {
    NamedPoints p;
    p.name = gs.string_or("name", "gauge" + std::to_string(spec->gauges.size() + 1));
    const auto at = gs.point("at");
    if (!at)
      gs.error("at", "a gauge needs a point [x, y]");
    else
      p.at.push_back(*at);
    p.where = gs.where();
    spec->gauges.push_back(std::move(p));
  }
  if (s.has("boundary")) {
    SectionReader bs = s.table("boundary");
    for (int k = 0; k < 4; ++k) {
      const std::string side = k_side_names[k];
      const std::string kind = bs.choice_or(side, {"closed", "free", "level"}, "closed");
      SideSpec& ss = spec->sides[static_cast<std::size_t>(k)];
      ss.kind = kind == "free"    ? BoundaryKind::free
                : kind == "level" ? BoundaryKind::level
                                  : BoundaryKind::closed;
      if (bs.has(side + "_series")) ss.series = bs.existing_file(side + "_series").value_or("");
      ss.level = bs.number_or(side + "_level", 0.0);
      if (ss.kind == BoundaryKind::level && ss.series.empty() && !bs.has(side + "_level"))
        bs.error(side,
                 "a level boundary needs " + side + "_level (m) or " + side + "_series (CSV)");
    }
  }
  if (s.has("infiltration")) {
    // Intensities come back in m/s; the model keeps mm/h.
    SectionReader in = s.table("infiltration");
    if (in.has("rate")) {
      spec->infil_f0_mm_h = spec->infil_fc_mm_h =
          in.quantity_or("rate", Quantity::intensity, 0, 0) * 3.6e6;
    } else {
      spec->infil_f0_mm_h = in.quantity_or("initial", Quantity::intensity, 0, 0) * 3.6e6;
      spec->infil_fc_mm_h = in.quantity_or("final", Quantity::intensity, 0, 0) * 3.6e6;
      spec->infil_k_per_h = in.number_or("decay_per_h", 2.0, 0.0);
      if (spec->infil_fc_mm_h > spec->infil_f0_mm_h)
        in.error("final", "Horton's final rate cannot exceed the initial rate");
    }
  }
  for (SectionReader& gs : s.tables("rain_gauge")) {
    RainGaugeSpec r;
    r.name = gs.string_or("name", "rain" + std::to_string(spec->rain_gauges.size() + 1));
    const auto at = gs.point("at");
    if (!at)
      gs.error("at", "a rain gauge needs a point [x, y]");
    else
      r.at = *at;
    if (gs.has("hyetograph")) r.hyetograph = gs.existing_file("hyetograph").value_or("");
    r.intensity_mps = gs.quantity_or("intensity", Quantity::intensity, 0, 0);
    r.start_s = to_seconds(gs.duration_or("start", 0));
    r.end_s = to_seconds(gs.duration_or("end", core.run.duration));
    if (r.hyetograph.empty() && !(r.intensity_mps > 0))
      gs.error("intensity", "a rain gauge needs an intensity or a hyetograph", "",
               "e.g. \"30mm/h\" or hyetograph = \"gauge.csv\"");
    r.where = gs.where();
    spec->rain_gauges.push_back(std::move(r));
    if (spec->rain_gauges.size() > k_max_rain_gauges)
      gs.error("", "too many rain gauges", std::to_string(spec->rain_gauges.size()),
               "at most " + std::to_string(k_max_rain_gauges));
  }
  spec->idw_power = s.number_or("idw_power", spec->idw_power, 0.5, 8.0);
  if (s.has("drainage")) {
    SectionReader d = s.table("drainage");
    spec->drain_mm_h = d.quantity_or("capacity", Quantity::intensity, 0, 0) * 3.6e6;
    if (!d.has("capacity")) d.error("", "missing key \"capacity\"", "", "capacity = \"20mm/h\"");
    spec->drain_all = d.choice_or("cells", {"urban", "all"}, "urban") == "all";
  }
  if (s.has("manning_road")) spec->manning_road = s.number_or("manning_road", 0.0, 1e-4, 1.0);
  if (s.has("manning_building"))
    spec->manning_building = s.number_or("manning_building", 0.0, 1e-4, 1.0);
  if (s.has("manning_raster"))
    spec->manning_raster = s.existing_file("manning_raster").value_or("");
  if (s.has("sea_level")) {
    spec->sea = true;
    spec->sea_level = s.number_or("sea_level", 0.0);
  }
  for (SectionReader& ls : s.tables("lake")) {
    Lake l;
    l.level = ls.number_or("level", 0.0);
    l.polygon = ls.points("polygon").value_or(std::vector<Point2>{});
    if (l.polygon.size() < 3) ls.error("polygon", "a lake needs a polygon of at least 3 points");
    spec->lakes.push_back(std::move(l));
  }
  return spec;
}

std::shared_ptr<const EventPayload> parse_flood_event(std::string_view action, SectionReader& ev) {
  if (action != "breach") return nullptr;
  auto e = std::make_shared<BreachEvent>();
  e->line = ev.points("line").value_or(std::vector<Point2>{});
  if (e->line.empty())
    ev.error("line", "a breach needs a line [[x, y], ...] (or one point [x, y])", "",
             "line = [[x1, y1], [x2, y2]]");
  if (!ev.has("level"))
    ev.error("", "missing key \"level\"", "", "level = 2.5 (m, the bed after the breach)");
  e->level = ev.number_or("level", 0.0);
  e->duration_s = to_seconds(ev.duration_or("duration", 0));
  e->width_m = ev.quantity_or("width", Quantity::length, 0, 0);
  return e;
}

std::vector<std::int32_t> cells_near_line(const Grid& g, const std::vector<Point2>& line,
                                          double half_width) {
  std::vector<std::int32_t> cells;
  if (line.empty()) return cells;
  double x0 = line[0].x, x1 = x0, y0 = line[0].y, y1 = y0;
  for (const Point2& p : line)
    x0 = std::min(x0, p.x), x1 = std::max(x1, p.x), y0 = std::min(y0, p.y), y1 = std::max(y1, p.y);
  const int i0 = std::max(0, static_cast<int>(std::floor((x0 - half_width - g.x0) / g.dx)));
  const int i1 = std::min(g.nx - 1, static_cast<int>(std::floor((x1 + half_width - g.x0) / g.dx)));
  const int j0 = std::max(0, static_cast<int>(std::floor((y0 - half_width - g.y0) / g.dx)));
  const int j1 = std::min(g.ny - 1, static_cast<int>(std::floor((y1 + half_width - g.y0) / g.dx)));
  for (int j = j0; j <= j1; ++j)
    for (int i = i0; i <= i1; ++i) {
      const double px = g.x0 + (i + 0.5) * g.dx, py = g.y0 + (j + 0.5) * g.dx;
      double d2 = 1e300;
      for (std::size_t k = 0; k < line.size(); ++k) {
        const Point2 a = line[k], b = k + 1 < line.size() ? line[k + 1] : line[k];
        const double vx = b.x - a.x, vy = b.y - a.y, l2 = vx * vx + vy * vy;
        const double t =
            l2 > 0 ? std::clamp(((px - a.x) * vx + (py - a.y) * vy) / l2, 0.0, 1.0) : 0.0;
        const double dx = px - a.x - t * vx, dy = py - a.y - t * vy;
        d2 = std::min(d2, dx * dx + dy * dy);
      }
      if (d2 <= half_width * half_width) cells.push_back(j * g.nx + i);
    }
  return cells;
}

std::vector<std::int32_t> line_cells(const Grid& g, const double* x, const double* y,
                                     std::size_t n) {
  std::vector<std::int32_t> cells;
  int pi = -1, pj = -1;
  for (std::size_t p = 0; p < n; ++p) {
    const double ax = x[p], ay = y[p], bx = p + 1 < n ? x[p + 1] : ax,
                 by = p + 1 < n ? y[p + 1] : ay;
    const int steps = std::max(1, static_cast<int>(std::hypot(bx - ax, by - ay) / (0.25 * g.dx)));
    for (int s = 0; s <= steps; ++s) {
      int i = 0, j = 0;
      if (!g.locate(ax + (bx - ax) * s / steps, ay + (by - ay) * s / steps, i, j)) {
        pi = -1;
        continue;
      }
      // A diagonal move takes the cell beside it too: water passes through faces only.
      if (pi >= 0 && i != pi && j != pj) cells.push_back(pj * g.nx + i);
      cells.push_back(j * g.nx + i);
      pi = i, pj = j;
    }
  }
  std::sort(cells.begin(), cells.end());
  cells.erase(std::unique(cells.begin(), cells.end()), cells.end());
  return cells;
}

void idw_weights(const Grid& g, int i, int j, const std::vector<Point2>& gauges, double p,
                 double* w) {
  const double x = g.x0 + (i + 0.5) * g.dx, y = g.y0 + (j + 0.5) * g.dx;
  double sum = 0;
  for (std::size_t k = 0; k < gauges.size(); ++k) {
    const double d = std::hypot(x - gauges[k].x, y - gauges[k].y);
    if (d < 1e-9) {  // on a gauge: that gauge alone
      for (std::size_t m = 0; m < gauges.size(); ++m) w[m] = m == k ? 1.0 : 0.0;
      return;
    }
    w[k] = std::pow(d, -p);
    sum += w[k];
  }
  for (std::size_t k = 0; k < gauges.size(); ++k) w[k] /= sum;
}

namespace {

// Water at a point entity (a kiosk, a substation, a pump) is read from the nearest open cell
// within this distance.
constexpr double k_probe_radius_m = 15.0;

// The active cells a breach lowers: those its line crosses and, with a width, those whose
// centres lie within width / 2 of it (unpadded indices, sorted, unique).
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

struct GaugeRow {
  double t;
  std::int32_t gauge;
  float depth, level, speed;
};

// Cells the compiler changed, reported in the summary and /flood attributes.
struct CellCounts {
  std::int64_t building = 0;     ///< footprint cells (walls or raised)
  std::int64_t road_opened = 0;  ///< footprint cells a road crosses, left open
  std::int64_t offshore = 0;     ///< sea cells far from land, outside the model
  std::int64_t raised = 0;       ///< cells raised by flood.fill_depressions
  std::int64_t enclosed = 0;     ///< pockets closed by footprints, made inactive
};

struct FloodDomainState : DomainState {
  FloodState fs;
  std::vector<float> max_depth, max_speed, arrival_s, max_hazard;  // (ny * nx)
  std::vector<GaugeRow> gauge_log;                                 // reserved for the whole run
  std::vector<std::pair<double, Balance>> balance_log;             // per macro step, reserved
  /// A copy of the model whose bed breach events lower (made at the first breach).
  std::unique_ptr<FloodModel> own;
  struct Breach {
    std::vector<std::size_t> cells;  // padded indices
    std::vector<real> z0;            // bed before the breach
    double level = 0, t0 = 0, duration = 0;
  };
  std::vector<Breach> breaches;
  std::vector<float> pump_rate;  // (n_pumps) m3/s the drainage array holds now
  void hash(StateHasher& h) const override {
    h.add(fs.t);
    if (own) h.add(own->grid.z);
    h.add(fs.h);
    h.add(fs.qx);
    h.add(fs.qy);
    h.add(max_depth);
    h.add(arrival_s);
    h.add(fs.drain_mps);
    h.add(pump_rate);
  }
};

/// UK FD2320 (Defra/EA 2006) hazard rating HR = d (v + 0.5) + DF, with the urban debris factor
/// DF = 0 for d <= 0.25 m and 1 above.
inline float hazard(float d, float v) {
  return d * (v + 0.5f) + (d > 0.25f ? 1.0f : 0.0f);
}

class FloodDomain : public Domain {
 public:
  FloodDomain(FloodModel m, const FloodSpec& spec, const CityModel& city, std::vector<Lake> lakes,
              std::vector<std::int32_t> gauge_cells, std::vector<std::string> gauge_names,
              std::size_t gauge_rows, CellCounts counts)
      : m_model(std::move(m)),
        m_spec(spec),
        m_city(city),
        m_lakes(std::move(lakes)),
        m_gauge_cells(std::move(gauge_cells)),
        m_gauge_names(std::move(gauge_names)),
        m_gauge_rows(gauge_rows),
        m_counts(counts),
        m_building_probes(building_probes(m_model.grid, city.buildings)),
        m_link_probes(link_probes(m_model.grid, city.roads)) {}

  std::string_view name() const override { return "flood"; }

  std::unique_ptr<DomainState> make_state(std::uint64_t /*seed*/) const override {
    auto s = std::make_unique<FloodDomainState>();
    s->fs = flood::make_state(m_model);
    const Grid& g = m_model.grid;
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
    s->gauge_log.reserve(m_gauge_rows * m_gauge_cells.size());
    s->balance_log.reserve(m_gauge_rows);
    s->pump_rate.assign(m_pump_cells.size(), 0.0f);
    TaskPool serial(1);
    start(m_model, s->fs, serial);
    return s;
  }

  // flood.breach: the cells along the line (active ones) start lowering towards the level now.
  Result<void> apply_event(const EventSpec& e, DomainState& state) const override {
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
      br.z0.push_back(s.own ? s.own->grid.z[k] : g0.z[k]);
    }
    if (br.cells.empty())
      return fail(Diagnostic::at(e.where, 0, "line", "the breach line crosses no active cell of the flood grid",
                       "", "points over the DEM, outside buildings"));
    if (!s.own) s.own = std::make_unique<FloodModel>(m_model);
    br.level = b->level;
    br.t0 = s.fs.t;
    br.duration = b->duration_s;
    s.breaches.push_back(std::move(br));
    lower_beds(s, s.fs.t);
    return {};
  }

  void declare(ExchangeLayout& l) const override { l.flood = true; }

  // The grid cells of the exchange's point entities: the water at a substation or kiosk is the
  // water in the nearest open cell within k_probe_radius_m (equipment stands at the street, and
  // buildings are walls); a pump drains its nearest open cell.
  Result<void> bind(const ExchangeLayout& l) override {
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
        return fail(Diagnostic::at(l.pump_where[u], 0, "at",
                         "the pump stands outside the flood grid's open cells",
                         fmt::format("[{:.1f}, {:.1f}]", l.pump_x[u], l.pump_y[u]),
                         fmt::format("a point within {} m of an open cell of the grid "
                                     "x {:.1f}..{:.1f}, y {:.1f}..{:.1f} (model CRS)",
                                     k_probe_radius_m, g.x0, g.x0 + g.nx * g.dx, g.y0,
                                     g.y0 + g.ny * g.dx)));
      m_pump_cells.push_back(static_cast<std::size_t>(c));
    }
    return {};
  }

  // Pumps: a pump's rate is drainage capacity on its cell (m/s = m3/s / cell area), on top of
  // the scenario's drainage there; only a change of rate touches the array.
  void consume(const CityExchange& x, DomainState& state, const StepContext&) const override {
    auto& s = static_cast<FloodDomainState&>(state);
    bool changed = false;
    for (std::size_t p = 0; p < m_pump_cells.size(); ++p) changed |= x.pump_rate_m3s[p] != s.pump_rate[p];
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

  void publish(const DomainState& state, CityExchange& x) const override {
    const auto& s = static_cast<const FloodDomainState&>(state);
    const auto& h = s.fs.h;
    for (std::int32_t l = 0; l < m_link_probes.size(); ++l)
      x.link_depth_m[static_cast<std::size_t>(l)] = m_link_probes.max(h, l);
    for (std::int32_t b = 0; b < m_building_probes.size(); ++b)
      x.building_depth_m[static_cast<std::size_t>(b)] = m_building_probes.max(h, b);
    for (std::size_t e = 0; e < m_element_cells.size(); ++e)
      x.element_depth_m[e] =
          m_element_cells[e] >= 0 ? static_cast<float>(h[static_cast<std::size_t>(m_element_cells[e])]) : 0.0f;
    for (std::size_t p = 0; p < m_pump_cells.size(); ++p)
      x.pump_depth_m[p] = static_cast<float>(h[m_pump_cells[p]]);
  }

  // Beds of breaches at time t: z0 lowered linearly to the level over the duration (never
  // raised). The water on a cell keeps its depth, so no volume is created or lost.
  static void lower_beds(FloodDomainState& s, double t) {
    for (const auto& br : s.breaches) {
      const double f = br.duration > 0 ? std::clamp((t - br.t0) / br.duration, 0.0, 1.0) : 1.0;
      for (std::size_t k = 0; k < br.cells.size(); ++k) {
        const double z0 = br.z0[k];
        if (z0 > br.level) s.own->grid.z[br.cells[k]] = static_cast<real>(z0 - (z0 - br.level) * f);
      }
    }
  }

  void advance(DomainState& state, const StepContext& ctx) const override {
    auto& s = static_cast<FloodDomainState&>(state);
    const double t_end = to_seconds(ctx.t + ctx.dt);
    // A gradual breach reaches its macro step's end depth at the start of the step.
    if (!s.breaches.empty()) lower_beds(s, t_end);
    const FloodModel& model = s.own ? *s.own : m_model;
    flood::advance(model, s.fs, t_end, *ctx.pool);
    track_maxima(s, t_end, *ctx.pool);
    if (s.balance_log.size() < s.balance_log.capacity())
      s.balance_log.emplace_back(t_end, s.fs.balance);
    if (s.gauge_log.size() + m_gauge_cells.size() <= s.gauge_log.capacity())
      for (std::size_t k = 0; k < m_gauge_cells.size(); ++k) {
        const Grid& g = model.grid;
        const std::int32_t c = m_gauge_cells[k];
        const int i = c % g.nx, j = c / g.nx;
        double u = 0, v = 0;
        velocity(model, s.fs, i, j, u, v);
        const double h = s.fs.h[g.idx(i, j)];
        s.gauge_log.push_back({t_end, static_cast<std::int32_t>(k), static_cast<float>(h),
                               static_cast<float>(h + g.z[g.idx(i, j)]),
                               static_cast<float>(std::hypot(u, v))});
      }
  }

  void write_static(RunWriter& out) const override {
    const Grid& g = m_model.grid;
    out.attr("/flood", "solver", to_string(m_model.params.solver));
    out.attr("/flood", "nx", static_cast<std::int64_t>(g.nx));
    out.attr("/flood", "ny", static_cast<std::int64_t>(g.ny));
    out.attr("/flood", "dx", g.dx);
    out.attr("/flood", "x0", g.x0);
    out.attr("/flood", "y0", g.y0);
    out.attr("/flood", "active_cells", g.active_cells);
    out.attr("/flood", "nodata_cells", g.inactive_cells);
    out.attr("/flood", "building_cells", m_counts.building);
    out.attr("/flood", "road_cells_opened", m_counts.road_opened);
    out.attr("/flood", "offshore_cells", m_counts.offshore);
    out.attr("/flood", "filled_cells", m_counts.raised);
    out.attr("/flood", "enclosed_cells", m_counts.enclosed);
    std::vector<float> bed = interior(
        [&](std::size_t k) { return g.active[k] ? static_cast<float>(g.z[k]) : std::nanf(""); });
    const std::size_t dims[2] = {static_cast<std::size_t>(g.ny), static_cast<std::size_t>(g.nx)};
    out.write<float>("/flood/bed", bed, dims,
                     {"m", "bed elevation, row 0 south; NaN: wall or nodata"});
    out.write_strings("/flood/gauge_names", m_gauge_names, {"", "gauge names, in gauge order"});
  }

  void write_frame(const DomainState& state, RunWriter& out) const override {
    const auto& s = static_cast<const FloodDomainState&>(state);
    const Grid& g = m_model.grid;
    const std::size_t dims[2] = {static_cast<std::size_t>(g.ny), static_cast<std::size_t>(g.nx)};
    const auto depth = interior([&](std::size_t k) { return static_cast<float>(s.fs.h[k]); });
    out.append<float>("/flood/depth", depth, dims,
                      {"m", "water depth per frame, (frame, row, col)"});
    std::vector<float> u(depth.size()), v(depth.size());
    for (int j = 0; j < g.ny; ++j)
      for (int i = 0; i < g.nx; ++i) {
        double a = 0, b = 0;
        velocity(m_model, s.fs, i, j, a, b);
        u[static_cast<std::size_t>(j) * g.nx + i] = static_cast<float>(a);
        v[static_cast<std::size_t>(j) * g.nx + i] = static_cast<float>(b);
      }
    out.append<float>("/flood/u", u, dims, {"m/s", "eastward velocity per frame"});
    out.append<float>("/flood/v", v, dims, {"m/s", "northward velocity per frame"});
    const Balance& b = s.fs.balance;
    out.append<double>("/flood/volume/stored", b.stored, {"m3", "water stored"});
    out.append<double>("/flood/volume/rain", b.rain, {"m3", "rain added since the start"});
    out.append<double>("/flood/volume/inflow", b.inflow, {"m3", "inflow since the start"});
    out.append<double>("/flood/volume/outflow", b.outflow,
                       {"m3", "net outflow through open sides"});
    out.append<double>("/flood/volume/losses", b.losses,
                       {"m3", "infiltration and drainage since the start"});
    out.append<double>("/flood/volume/drained", b.drained,
                       {"m3", "drainage since the start (part of losses)"});
    out.append<double>("/flood/volume/error", b.error(),
                       {"m3", "stored - initial - rain - inflow + outflow + losses"});
  }

  void write_final(const DomainState& state, RunWriter& out,
                   std::vector<SummaryRow>& summary) const override {
    const auto& s = static_cast<const FloodDomainState&>(state);
    const Grid& g = m_model.grid;
    const std::size_t dims[2] = {static_cast<std::size_t>(g.ny), static_cast<std::size_t>(g.nx)};
    out.write<float>("/flood/max_depth", std::span<const float>(s.max_depth), dims,
                     {"m", "maximum depth over the run"});
    out.write<float>("/flood/max_speed", std::span<const float>(s.max_speed), dims,
                     {"m/s", "maximum speed over the run"});
    out.write<float>("/flood/arrival_time", std::span<const float>(s.arrival_s), dims,
                     {"s", "first time the depth exceeded flood.wet_depth; NaN: never"});
    out.write<float>("/flood/hazard", std::span<const float>(s.max_hazard), dims,
                     {"1", "maximum FD2320 hazard rating d (v + 0.5) + DF"});
    std::vector<std::uint8_t> cls(s.max_hazard.size());
    for (std::size_t k = 0; k < cls.size(); ++k) {
      const float hr = s.max_hazard[k];
      cls[k] = hr < 0.75f ? 0 : hr < 1.25f ? 1 : hr < 2.0f ? 2 : 3;
    }
    out.write<std::uint8_t>(
        "/flood/hazard_class", std::span<const std::uint8_t>(cls), dims,
        {"1", "FD2320 class: 0 low, 1 danger for some, 2 danger for most, 3 danger for all"});
    // Per building and road link: the largest max depth over their probe cells (the cells the
    // exchange reads their depth from).
    const std::vector<float> md_padded = padded(s.max_depth);
    std::vector<float> bdepth(static_cast<std::size_t>(m_building_probes.size()));
    for (std::int32_t b = 0; b < m_building_probes.size(); ++b)
      bdepth[static_cast<std::size_t>(b)] = m_building_probes.max(md_padded, b);
    out.write<float>("/flood/building_max_depth", bdepth,
                     {"m", "max depth around each building footprint"});
    std::vector<float> ldepth(static_cast<std::size_t>(m_link_probes.size()));
    for (std::int32_t l = 0; l < m_link_probes.size(); ++l)
      ldepth[static_cast<std::size_t>(l)] = m_link_probes.max(md_padded, l);
    out.write<float>("/flood/link_max_depth", ldepth,
                     {"m", "max depth over the cells each road link crosses"});

    // Files users open directly, next to the HDF5 file.
    const std::filesystem::path dir = std::filesystem::path(out.path()).parent_path();
    write_gauges_csv((dir / "flood_gauges.csv").string(), s);
    write_balance_csv((dir / "flood_balance.csv").string(), s);
    RasterGrid rg{g.nx, g.ny, g.x0, g.y0, g.dx, m_city.crs.wkt, -9999};
    std::vector<float> md = s.max_depth;
    for (int j = 0; j < g.ny; ++j)
      for (int i = 0; i < g.nx; ++i)
        if (!g.active[g.idx(i, j)]) md[static_cast<std::size_t>(j) * g.nx + i] = std::nanf("");
    const auto tif = write_geotiff((dir / "flood_max_depth.tif").string(), rg, md);
    const auto asc = write_esri_ascii((dir / "flood_max_depth.asc").string(), rg, md);

    const Balance& b = s.fs.balance;
    float dmax = 0;
    std::int64_t flooded = 0;
    for (float d : s.max_depth) dmax = std::max(dmax, d), flooded += d > 0.1f;
    auto num = [](double v) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.4g", v);
      return std::string(buf);
    };
    summary.push_back({"flood", "solver", to_string(m_model.params.solver)});
    summary.push_back(
        {"flood", "grid",
         std::to_string(g.nx) + " x " + std::to_string(g.ny) + " cells of " + num(g.dx) + " m"});
    summary.push_back({"flood", "steps", std::to_string(s.fs.steps)});
    summary.push_back({"flood", "max depth", num(dmax) + " m"});
    summary.push_back({"flood", "area deeper than 0.1 m",
                       num(static_cast<double>(flooded) * g.cell_area() / 1e4) + " ha"});
    summary.push_back({"flood", "rain / inflow / outflow / losses",
                       num(b.rain) + " / " + num(b.inflow) + " / " + num(b.outflow) + " / " +
                           num(b.losses) + " m3"});
    summary.push_back({"flood", "relative volume error", num(b.relative_error())});
    summary.push_back(
        {"flood", "nodata / building cells",
         std::to_string(g.inactive_cells) + " / " + std::to_string(m_counts.building)});
    if (m_counts.road_opened > 0 || m_counts.offshore > 0)
      summary.push_back(
          {"flood", "road cells opened / offshore cells",
           std::to_string(m_counts.road_opened) + " / " + std::to_string(m_counts.offshore)});
    if (m_counts.raised > 0 || m_counts.enclosed > 0)
      summary.push_back(
          {"flood", "cells filled / enclosed",
           std::to_string(m_counts.raised) + " / " + std::to_string(m_counts.enclosed)});
    // Clamps of rounding size (float depths a few ulp below zero) are not worth a line.
    if (b.clamped > 1e-7 * std::max({b.initial, b.rain + b.inflow, 1e-30}))
      summary.push_back({"flood", "water created by clamping",
                         num(b.clamped) + " m3 in " + std::to_string(s.fs.clamp_events) +
                             " steps; lower flood.cfl to reduce it"});
    if (!tif) summary.push_back({"flood", "GeoTIFF", tif.error().to_string()});
    if (!asc) summary.push_back({"flood", "ESRI ASCII", asc.error().to_string()});
  }

  // The viewer's water raster and building depths: the same values as /flood/bed and the
  // frame's /flood/depth, through the mapping replay uses too.
  void fill_frame(const DomainState& state, FrameSnapshot& f) const override {
    const auto& s = static_cast<const FloodDomainState&>(state);
    const Grid& g = m_model.grid;
    const std::vector<float> bed = interior(
        [&](std::size_t k) { return g.active[k] ? static_cast<float>(g.z[k]) : std::nanf(""); });
    fill_flood_frame(g.nx, g.ny, g.x0, g.y0, g.dx, bed,
                     interior([&](std::size_t k) { return static_cast<float>(s.fs.h[k]); }), f);
  }

 private:
  template <class F>
  std::vector<float> interior(F value) const {
    const Grid& g = m_model.grid;
    std::vector<float> v(static_cast<std::size_t>(g.nx) * static_cast<std::size_t>(g.ny));
    for (int j = 0; j < g.ny; ++j)
      for (int i = 0; i < g.nx; ++i) v[static_cast<std::size_t>(j) * g.nx + i] = value(g.idx(i, j));
    return v;
  }

  // Maxima, arrival and hazard over the tiles the last step computed (the others are dry), in
  // parallel: each cell is written by the one block holding its tile.
  void track_maxima(FloodDomainState& s, double t, TaskPool& pool) const {
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
  void track_row(FloodDomainState& s, int j, int i0, int i1, double t, float wet, float /*h_dry*/,
                 bool centred, std::size_t sx) const {
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

  // An interior (ny * nx) field on the padded layout (0 on ghosts), for the probes.
  std::vector<float> padded(const std::vector<float>& v) const {
    const Grid& g = m_model.grid;
    std::vector<float> out(g.z.size(), 0.0f);
    for (int j = 0; j < g.ny; ++j)
      for (int i = 0; i < g.nx; ++i) out[g.idx(i, j)] = v[static_cast<std::size_t>(j) * g.nx + i];
    return out;
  }

  void write_gauges_csv(const std::string& path, const FloodDomainState& s) const {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (!f) return;
    std::fprintf(f, "time_s,gauge,depth_m,level_m,speed_mps\n");
    for (const GaugeRow& r : s.gauge_log)
      std::fprintf(f, "%.3f,%s,%.5f,%.5f,%.5f\n", r.t,
                   m_gauge_names[static_cast<std::size_t>(r.gauge)].c_str(),
                   static_cast<double>(r.depth), static_cast<double>(r.level),
                   static_cast<double>(r.speed));
    std::fclose(f);
  }

  // The volume balance after every macro step (m3, cumulative since the start).
  static void write_balance_csv(const std::string& path, const FloodDomainState& s) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (!f) return;
    std::fprintf(f, "time_s,stored_m3,rain_m3,inflow_m3,outflow_m3,losses_m3,error_m3\n");
    for (const auto& [t, b] : s.balance_log)
      std::fprintf(f, "%.3f,%.6g,%.6g,%.6g,%.6g,%.6g,%.3g\n", t, b.stored, b.rain, b.inflow,
                   b.outflow, b.losses, b.error());
    std::fclose(f);
  }

  FloodModel m_model;
  FloodSpec m_spec;
  const CityModel& m_city;
  std::vector<Lake> m_lakes;
  std::vector<std::int32_t> m_gauge_cells;
  std::vector<std::string> m_gauge_names;
  std::size_t m_gauge_rows;
  CellCounts m_counts;
  Probes m_building_probes, m_link_probes;
  std::vector<std::int64_t> m_element_cells;  // (n_elements) padded index, -1 none (bind)
  std::vector<std::size_t> m_pump_cells;      // (n_pumps) padded index (bind)
};

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

// Depressions the buildings leave in the flood grid, filled by priority-flood (Barnes, Lehman
// & Mulla 2014, Computers & Geosciences 62, Algorithm 1) with wall cells as barriers: starting
// from the outlets (active cells on open sides, and sea cells), cells are visited in order of
// elevation and each is raised to the lowest level from which water can run to an outlet.
// Cells no outlet reaches are pockets closed by footprints (courtyards): they become inactive
// like the buildings around them. Returns {cells raised, cells closed}; nothing happens when
// the grid has no outlet.
std::pair<std::int64_t, std::int64_t> fill_grid_depressions(FloodModel& m) {
  Grid& g = m.grid;
  using Item = std::pair<real, std::int32_t>;
  std::priority_queue<Item, std::vector<Item>, std::greater<>> open;
  std::vector<std::uint8_t> seen(static_cast<std::size_t>(g.nx) * static_cast<std::size_t>(g.ny),
                                 0);
  auto seed = [&](int i, int j) {
    const std::int32_t c = j * g.nx + i;
    const std::size_t k = g.idx(i, j);
    if (seen[static_cast<std::size_t>(c)] || !g.active[k]) return;
    seen[static_cast<std::size_t>(c)] = 1;
    open.emplace(g.z[k], c);
  };
  for (std::int32_t c : m.sea_cells) seed(c % g.nx, c / g.nx);
  for (int j = 0; j < g.ny; ++j) {
    if (m.sides[west].kind != BoundaryKind::closed) seed(0, j);
    if (m.sides[east].kind != BoundaryKind::closed) seed(g.nx - 1, j);
  }
  for (int i = 0; i < g.nx; ++i) {
    if (m.sides[south].kind != BoundaryKind::closed) seed(i, 0);
    if (m.sides[north].kind != BoundaryKind::closed) seed(i, g.ny - 1);
  }
  if (open.empty()) return {0, 0};
  std::int64_t raised = 0, closed = 0;
  while (!open.empty()) {
    const auto [level, c] = open.top();
    open.pop();
    const int i = c % g.nx, j = c / g.nx;
    for (int d = 0; d < 4; ++d) {
      const int a = i + (d == 0) - (d == 1), b = j + (d == 2) - (d == 3);
      if (a < 0 || b < 0 || a >= g.nx || b >= g.ny) continue;
      const std::int32_t n = b * g.nx + a;
      const std::size_t k = g.idx(a, b);
      if (seen[static_cast<std::size_t>(n)] || !g.active[k]) continue;
      seen[static_cast<std::size_t>(n)] = 1;
      if (g.z[k] < level) g.z[k] = level, ++raised;
      open.emplace(g.z[k], n);
    }
  }
  for (int j = 0; j < g.ny; ++j)
    for (int i = 0; i < g.nx; ++i) {
      const std::size_t k = g.idx(i, j);
      if (g.active[k] && !seen[static_cast<std::size_t>(j) * g.nx + i])
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

}  // namespace

Result<std::unique_ptr<Domain>> compile_flood(const DomainSpec& dspec,
                                              const ScenarioSpec& scenario,
                                              const CityModel& city) {
  const auto& spec = static_cast<const FloodSpec&>(dspec);
  if (city.terrain.empty())
    return fail(Diagnostic::at(scenario.path, 0, "city.dem", "the flood domain needs a DEM", "",
                     "city.dem = \"...tif|asc\""));
  const bool resample_grid =
      spec.resolution_m > 0 && std::abs(spec.resolution_m - city.terrain.dx) > 1e-9;
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
    auto r = read_raster(spec.manning_raster);
    if (!r) return fail(r.error());
    // Nearest raster cell at each cell centre, in the model CRS; nodata or n <= 0 keep the
    // class or default value.
    const auto& gt = r->geo;
    for (int j = 0; j < g.ny; ++j)
      for (int i = 0; i < g.nx; ++i) {
        const double x = g.x0 + (i + 0.5) * g.dx, y = g.y0 + (j + 0.5) * g.dx;
        const int a = static_cast<int>(std::floor((x - gt[0]) / gt[1]));
        const int b = static_cast<int>(std::floor((y - gt[3]) / gt[5]));
        if (a < 0 || b < 0 || a >= r->nx || b >= r->ny) continue;
        const float n = r->z[static_cast<std::size_t>(b) * static_cast<std::size_t>(r->nx) +
                             static_cast<std::size_t>(a)];
        if (n > 0) g.gn2[g.idx(i, j)] = gn2(n);
      }
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
    auto r = read_series_csv(spec.hyetograph, true);
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
        auto h = read_series_csv(r.hyetograph, true);
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
      // Points, or every cell along the segments of a line (sampled at a quarter cell).
      const Point2 a = p.at[k], b = k + 1 < p.at.size() ? p.at[k + 1] : p.at[k];
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
      auto r = read_series_csv(p.hydrograph, false);
      if (!r) return fail(r.error());
      in.discharge = std::move(*r);
    } else {
      in.discharge = Series{{0.0}, {p.discharge}, false};
    }
    m.inflows.push_back(std::move(in));
  }
  for (int k = 0; k < 4; ++k) {
    const SideSpec& ss = spec.sides[static_cast<std::size_t>(k)];
    Boundary& b = m.sides[static_cast<std::size_t>(k)];
    b.kind = ss.kind;
    if (ss.kind == BoundaryKind::level) {
      if (!ss.series.empty()) {
        auto r = read_series_csv(ss.series, false);
        if (!r) return fail(r.error());
        b.level = std::move(*r);
      } else {
        b.level = Series{{0.0}, {ss.level}, false};
      }
    }
  }
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
      return fail(
          Diagnostic::at(p.where, 0, "flood.gauge.at", "gauge '" + p.name + "' lies outside the grid"));
    gauge_cells.push_back(j * g.nx + i);
    gauge_names.push_back(p.name);
  }
  const std::size_t rows =
      static_cast<std::size_t>(scenario.run.duration / std::max<SimTime>(1, scenario.run.step)) + 2;
  return std::unique_ptr<Domain>(std::make_unique<FloodDomain>(
      std::move(m), spec, city, spec.lakes, std::move(gauge_cells), std::move(gauge_names), rows,
      CellCounts{building_cells, road_cells_opened, offshore_cells, filled.first, filled.second}));
}

const DomainEntry& domain_entry() {
  static const DomainEntry entry{{"flood", parse_flood, parse_flood_event}, compile_flood};
  return entry;
}

}  // namespace citytwin::flood
