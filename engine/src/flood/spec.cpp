// The [flood] section, typed (docs/scenario-flood.md): parse_flood reads it into a FloodSpec,
// parse_flood_event reads flood.breach events, and read_series_csv reads the time series files
// the section names (hyetographs, hydrographs, boundary levels) when the model is compiled.
#include "flood/domain.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace citytwin::flood {

namespace {

const char* const k_side_names[4] = {"west", "east", "south", "north"};
constexpr std::size_t k_max_rain_gauges = 16;

// One [[flood.boundary_condition]]: a side (optionally a range along it) or a point, and its
// type with the value or series it needs.
void parse_condition(SectionReader& bc, FloodSpec& spec) {
  BoundarySpec b;
  const std::string type = bc.choice_or("type", {"free", "level", "discharge", "closed"}, "free");
  b.type = type == "free"     ? BoundarySpec::Type::free
           : type == "level"  ? BoundarySpec::Type::level
           : type == "closed" ? BoundarySpec::Type::closed
                              : BoundarySpec::Type::discharge;
  if (bc.has("at")) {
    const auto at = bc.point("at");
    if (at) b.at = *at;
    if (bc.has("side")) bc.error("side", "a condition is on a side or at a point, not both");
    if (b.type == BoundarySpec::Type::free || b.type == BoundarySpec::Type::closed)
      bc.error("type", "a point takes a level or a discharge", type, "\"level\" or \"discharge\"");
  } else {
    const std::string side = bc.choice_or("side", {"west", "east", "south", "north"}, "west");
    if (!bc.has("side"))
      bc.error("", "a boundary condition needs a side or a point", "",
               "side = \"west\" (with from, to) or at = [x, y]");
    b.side = static_cast<int>(std::find(std::begin(k_side_names), std::end(k_side_names), side) -
                              std::begin(k_side_names));
    b.from = bc.number_or("from", b.from);
    b.to = bc.number_or("to", b.to);
    if (b.from > b.to) bc.error("to", "the range along the side is reversed", "", ">= from");
  }
  if (b.type == BoundarySpec::Type::free) b.slope = bc.number_or("slope", -1.0, 0.0, 1.0);
  if (b.type == BoundarySpec::Type::level || b.type == BoundarySpec::Type::discharge) {
    const char* key = b.type == BoundarySpec::Type::level ? "level" : "q";
    if (bc.has("series"))
      b.series = bc.existing_file("series").value_or("");
    else if (!bc.has(key))
      bc.error("", std::string("missing key \"") + key + "\"", "",
               b.type == BoundarySpec::Type::level
                   ? "level = 1.5 (m) or series = \"level.csv\""
                   : "q = 0.5 (m2/s per unit width) or series = \"q.csv\"");
    const SeriesRange& r =
        b.type == BoundarySpec::Type::level ? k_level_range : k_unit_discharge_range;
    b.value = bc.number_or(key, 0.0, r.lo, r.hi);
  }
  b.where = bc.where();
  spec.boundaries.push_back(std::move(b));
}

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
  // A LISFLOOD-FP case first: the section's own keys below override what its .par sets.
  LisfloodFiles files;
  if (s.has("lisflood_par"))
    if (auto path = s.existing_file("lisflood_par")) {
      auto par = read_par(*path);
      if (par)
        files = apply_lisflood_par(*par, *spec, s);
      else
        for (Diagnostic& d : par.error().items) s.report(std::move(d));
    }
  spec->solver =
      s.choice_or("solver", {"inertial", "godunov"}, to_string(spec->solver)) == "godunov"
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
  // (A .par's own cfl and theta were checked with it.)
  if (const double limit = std::sqrt(spec->theta / 2);
      (s.has("cfl") || s.has("theta")) && spec->solver == Solver::inertial && spec->cfl > limit)
    s.error(s.has("cfl") ? "cfl" : "theta", "above the 2-D stability limit of the inertial scheme",
            fmt::format("cfl {} with theta {}", spec->cfl, spec->theta),
            fmt::format("cfl <= sqrt(theta / 2) = {:.3f} (docs/flood.md)", limit));
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
    // An intensity written as 0 is a storm that stopped (a fork's or a sweep's member): only a
    // table with neither key is refused.
    if (spec->hyetograph.empty() && !r.has("intensity"))
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
      BoundarySpec side_bc;
      side_bc.type = kind == "free" ? BoundarySpec::Type::free : BoundarySpec::Type::level;
      side_bc.side = k;
      if (bs.has(side + "_series"))
        side_bc.series = bs.existing_file(side + "_series").value_or("");
      side_bc.value = bs.number_or(side + "_level", 0.0);
      if (kind == "level" && side_bc.series.empty() && !bs.has(side + "_level"))
        bs.error(side,
                 "a level boundary needs " + side + "_level (m) or " + side + "_series (CSV)");
      side_bc.where = bs.where(side);
      if (kind != "closed") spec->boundaries.push_back(std::move(side_bc));
    }
  }
  // LISFLOOD-FP's boundary and stage files, named by the section or by its .par.
  if (s.has("bci")) files.bci = s.existing_file("bci").value_or("");
  if (s.has("bdy")) files.bdy = s.existing_file("bdy").value_or("");
  if (s.has("stages")) files.stage = s.existing_file("stages").value_or("");
  if (s.has("bdy") && files.bci.empty() && !s.has("bci"))
    s.error("bdy", "a .bdy file holds the series a .bci file names", "", "bci = \"case.bci\"");
  const auto add = [&s](auto read, auto& to) {
    if (read)
      to.insert(to.end(), read->begin(), read->end());
    else
      for (Diagnostic& d : read.error().items) s.report(std::move(d));
  };
  if (!files.bci.empty()) add(read_bci(files.bci, files.bdy), spec->boundaries);
  for (SectionReader& bc : s.tables("boundary_condition")) parse_condition(bc, *spec);
  if (!files.stage.empty()) add(read_stage_points(files.stage), spec->gauges);
  if (s.has("initial_depth")) spec->initial_depth = s.existing_file("initial_depth").value_or("");
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
  for (SectionReader& ws : s.tables("wall")) {
    Wall w;
    w.where = ws.where("line");
    w.line = ws.points("line").value_or(std::vector<Point2>{});
    if (w.line.size() < 2)
      ws.error("line", "a wall needs a line of at least 2 points", "",
               "line = [[x1, y1], [x2, y2], ...] (model CRS)");
    if (ws.has("crest") == ws.has("height"))
      ws.error("",
               "give one of \"crest\" (m, the crest's elevation) or \"height\" (above the ground)",
               "", "crest = 4.5 or height = \"1.5m\"");
    w.crest = ws.number_or("crest", 0.0, -500.0, 9000.0);
    w.height = ws.quantity_or("height", Quantity::length, 0, 0);
    w.width_m = ws.quantity_or("width", Quantity::length, 0, 0);
    spec->walls.push_back(std::move(w));
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
