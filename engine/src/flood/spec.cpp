// The [flood] section, typed (docs/scenario-flood.md): parse_flood reads it into a FloodSpec,
// parse_flood_event reads flood.breach events, and read_series_csv reads the time series files
// the section names (hyetographs, hydrographs, boundary levels) when the model is compiled.
#include "flood/domain.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

namespace citytwin::flood {

namespace {

const char* const k_side_names[4] = {"west", "east", "south", "north"};
constexpr std::size_t k_max_rain_gauges = 16;

}  // namespace

Result<Series> read_series_csv(const std::string& path, bool step, const SeriesRange& range) {
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
    if (!std::isfinite(t))
      return fail(Diagnostic::at(path, n, "time_s", "not a finite time", line, "seconds"));
    if (!(v >= range.lo && v <= range.hi))
      return fail(Diagnostic::at(path, n, "value", "out of range", line, range.what));
    if (!s.t_s.empty() && t <= s.t_s.back())
      return fail(Diagnostic::at(path, n, "", "times must increase", std::to_string(t),
                                 "> " + std::to_string(s.t_s.back())));
    s.t_s.push_back(t);
    s.value.push_back(v);
  }
  if (s.t_s.empty()) return fail(Diagnostic::at(path, 0, "", "no rows", "", "time_s, value rows"));
  return s;
}

std::shared_ptr<const DomainSpec> parse_flood(SectionReader& s, const ScenarioSpec& core) {
  auto spec = std::make_shared<FloodSpec>();
  spec->solver = s.choice_or("solver", {"inertial", "godunov"}, "inertial") == "godunov"
                     ? Solver::godunov
                     : Solver::inertial;
  spec->where = s.where(s.has("resolution") ? "resolution" : "");
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
    if (spec->rain_intensity_mps * 3.6e6 > k_rain_range.hi)
      r.error("intensity", "out of range", "", k_rain_range.what);
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
    if (p.discharge > k_discharge_range.hi)
      in.error("discharge", "out of range", "", k_discharge_range.what);
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

}  // namespace citytwin::flood
