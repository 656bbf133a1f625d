// What the flood domain writes (FloodDomain, flood_domain.hpp): the grid and its bed once
// (write_static); depth, velocity and the volume balance every frame (write_frame); at the end
// the maxima, arrival times, hazard, per-building and per-link depths, flood_gauges.csv,
// flood_balance.csv, flood_max_depth.tif/.asc and the summary rows (write_final); and the
// viewer's water raster (fill_frame).
#include "flood/flood_domain.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "citytwin/frame.hpp"
#include "citytwin/io.hpp"
#include "citytwin/raster.hpp"

namespace citytwin::flood {

template <class F>
std::vector<float> FloodDomain::interior(F value) const {
  const Grid& g = m_model.grid;
  std::vector<float> v(static_cast<std::size_t>(g.nx) * static_cast<std::size_t>(g.ny));
  for (int j = 0; j < g.ny; ++j)
    for (int i = 0; i < g.nx; ++i) v[static_cast<std::size_t>(j) * g.nx + i] = value(g.idx(i, j));
  return v;
}

// An interior (ny * nx) field on the padded layout (0 on ghosts), for the probes.
std::vector<float> FloodDomain::padded(const std::vector<float>& v) const {
  const Grid& g = m_model.grid;
  std::vector<float> out(g.z.size(), 0.0f);
  for (int j = 0; j < g.ny; ++j)
    for (int i = 0; i < g.nx; ++i) out[g.idx(i, j)] = v[static_cast<std::size_t>(j) * g.nx + i];
  return out;
}

void FloodDomain::write_static(RunWriter& out) const {
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

void FloodDomain::write_frame(const DomainState& state, RunWriter& out) const {
  const auto& s = static_cast<const FloodDomainState&>(state);
  const Grid& g = m_model.grid;
  const std::size_t dims[2] = {static_cast<std::size_t>(g.ny), static_cast<std::size_t>(g.nx)};
  const auto depth = interior([&](std::size_t k) { return static_cast<float>(s.fs.h[k]); });
  out.append<float>("/flood/depth", depth, dims, {"m", "water depth per frame, (frame, row, col)"});
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
  out.append<double>("/flood/volume/outflow", b.outflow, {"m3", "net outflow through open sides"});
  out.append<double>("/flood/volume/losses", b.losses,
                     {"m3", "infiltration and drainage since the start"});
  out.append<double>("/flood/volume/drained", b.drained,
                     {"m3", "drainage since the start (part of losses)"});
  out.append<double>("/flood/volume/assimilated", b.assimilated,
                     {"m3", "added by nudging toward gauges since the start (docs/live.md)"});
  out.append<double>("/flood/volume/error", b.error(),
                     {"m3", "stored - initial - rain - inflow - assimilated + outflow + losses"});
}

void FloodDomain::write_final(const DomainState& state, RunWriter& out,
                              std::vector<SummaryRow>& summary) const {
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
  // A file that cannot be written is said in the summary, never skipped in silence.
  for (const auto& [name, ok] :
       {std::pair{"flood_gauges.csv", write_gauges_csv((dir / "flood_gauges.csv").string(), s)},
        std::pair{"flood_balance.csv", write_balance_csv((dir / "flood_balance.csv").string(), s)}})
    if (!ok) summary.push_back({"flood", name, "not written: " + (dir / name).string()});
  RasterGrid rg{g.nx, g.ny, g.x0, g.y0, g.dx, m_city.crs.wkt, -9999};
  std::vector<float> md = s.max_depth;
  for (int j = 0; j < g.ny; ++j)
    for (int i = 0; i < g.nx; ++i)
      if (!g.active[g.idx(i, j)]) md[static_cast<std::size_t>(j) * g.nx + i] = std::nanf("");
  const auto tif = write_geotiff((dir / "flood_max_depth.tif").string(), rg, md);
  const auto asc = write_esri_ascii((dir / "flood_max_depth.asc").string(), rg, md);
  if (!m_spec.lisflood_resroot.empty()) {
    const std::string root = (dir / m_spec.lisflood_resroot).string();
    if (!write_mass(root + ".mass", s))
      summary.push_back({"flood", "mass", "not written: " + root + ".mass"});
    if (!m_gauge_names.empty() && !write_stage(root + ".stage", s))
      summary.push_back({"flood", "stage", "not written: " + root + ".stage"});
    if (!write_esri_ascii(root + ".max", rg, md))
      summary.push_back({"flood", "max", "not written: " + root + ".max"});
  }

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
  summary.push_back({"flood", "maximum depth (over the run)", num(dmax) + " m"});
  summary.push_back({"flood", "area flooded > 0.1 m (over the run)",
                     num(static_cast<double>(flooded) * g.cell_area() / 1e4) + " ha"});
  summary.push_back({"flood", "rain / inflow / outflow / losses",
                     num(b.rain) + " / " + num(b.inflow) + " / " + num(b.outflow) + " / " +
                         num(b.losses) + " m3"});
  summary.push_back({"flood", "relative volume error", num(b.relative_error())});
  summary.push_back({"flood", "nodata / building cells",
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
  out.attr("/flood", "stalls", s.fs.stalls);
  if (s.fs.stalls > 0)
    summary.push_back({"flood", "stalled intervals",
                       std::to_string(s.fs.stalls) +
                           " macro steps cut short: the time step fell below 0.1 ms (flows of "
                           "kilometres per second); check the inflows and flood.cfl"});
  if (!tif) summary.push_back({"flood", "GeoTIFF", tif.error().to_string()});
  if (!asc) summary.push_back({"flood", "ESRI ASCII", asc.error().to_string()});
}

// The viewer's water raster and building depths: the same values as /flood/bed and the
// frame's /flood/depth, through the mapping replay uses too.
void FloodDomain::fill_frame(const DomainState& state, FrameSnapshot& f) const {
  const auto& s = static_cast<const FloodDomainState&>(state);
  const Grid& g = m_model.grid;
  const std::vector<float> bed = interior(
      [&](std::size_t k) { return g.active[k] ? static_cast<float>(g.z[k]) : std::nanf(""); });
  fill_flood_frame(g.nx, g.ny, g.x0, g.y0, g.dx, bed,
                   interior([&](std::size_t k) { return static_cast<float>(s.fs.h[k]); }), f);
}

bool FloodDomain::write_gauges_csv(const std::string& path, const FloodDomainState& s) const {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return false;
  std::fprintf(f, "time_s,gauge,depth_m,level_m,speed_mps\n");
  for (const GaugeRow& r : s.gauge_log)
    std::fprintf(f, "%.3f,%s,%.5f,%.5f,%.5f\n", r.t,
                 m_gauge_names[static_cast<std::size_t>(r.gauge)].c_str(),
                 static_cast<double>(r.depth), static_cast<double>(r.level),
                 static_cast<double>(r.speed));
  return std::fclose(f) == 0;
}

// The volume balance after every macro step (m3, cumulative since the start).
bool FloodDomain::write_balance_csv(const std::string& path, const FloodDomainState& s) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return false;
  std::fprintf(f,
               "time_s,stored_m3,rain_m3,inflow_m3,outflow_m3,losses_m3,assimilated_m3,error_m3\n");
  for (const auto& [t, b] : s.balance_log)
    std::fprintf(f, "%.3f,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.3g\n", t, b.stored, b.rain, b.inflow,
                 b.outflow, b.losses, b.assimilated, b.error());
  return std::fclose(f) == 0;
}

// LISFLOOD-FP's mass balance file (docs/lisflood.md): one row per macro step (massint) with the
// columns CityTwin has: time, stored volume, inflow and outflow rates over the interval (m3/s),
// the cumulative volume error (m3) and the net rain rate minus losses (m3/s).
bool FloodDomain::write_mass(const std::string& path, const FloodDomainState& s) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return false;
  std::fprintf(f, "Time Vol Qin Qout Verror Rain-Inf\n");
  double t0 = 0;
  Balance prev;
  for (const auto& [t, b] : s.balance_log) {
    const double dt = std::max(t - t0, 1e-9);
    std::fprintf(f, "%.3f %.6e %.6e %.6e %.6e %.6e\n", t, b.stored, (b.inflow - prev.inflow) / dt,
                 (b.outflow - prev.outflow) / dt, b.error(),
                 ((b.rain - prev.rain) - (b.losses - prev.losses)) / dt);
    t0 = t, prev = b;
  }
  return std::fclose(f) == 0;
}

// LISFLOOD-FP's stage file: the gauges (number, x, y, bed elevation), then one row per macro
// step with the time and the depth at every gauge.
bool FloodDomain::write_stage(const std::string& path, const FloodDomainState& s) const {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return false;
  const Grid& g = m_model.grid;
  std::fprintf(f, "Stage output, depth (m).\n\nStage information (stage,x,y,elev):\n");
  for (std::size_t k = 0; k < m_gauge_cells.size(); ++k) {
    const int c = m_gauge_cells[k], i = c % g.nx, j = c / g.nx;
    std::fprintf(f, "%zu %.3f %.3f %.4f\n", k + 1, g.x0 + (i + 0.5) * g.dx, g.y0 + (j + 0.5) * g.dx,
                 static_cast<double>(g.z[g.idx(i, j)]));
  }
  std::fprintf(f, "\nOutput, depths:\nTime; stages 1 to %zu\n", m_gauge_cells.size());
  const std::size_t n = m_gauge_cells.size();
  for (std::size_t r = 0; r + n <= s.gauge_log.size(); r += n) {
    std::fprintf(f, "%.3f", s.gauge_log[r].t);
    for (std::size_t k = 0; k < n; ++k)
      std::fprintf(f, " %.5f", static_cast<double>(s.gauge_log[r + k].depth));
    std::fprintf(f, "\n");
  }
  return std::fclose(f) == 0;
}

void fill_flood_frame(int nx, int ny, double x0, double y0, double dx, std::span<const float> bed,
                      std::vector<float> depth, FrameSnapshot& f) {
  WaterRaster& w = f.water;
  w.nx = nx, w.ny = ny, w.x0 = x0, w.y0 = y0, w.dx = w.dy = dx;
  w.surface_m.resize(depth.size());
  std::int64_t wet_cells = 0;
  float dmax = 0;
  for (std::size_t c = 0; c < depth.size(); ++c) {
    const float d = std::isfinite(bed[c]) ? depth[c] : 0.f;
    depth[c] = d;
    w.surface_m[c] = d > 0 ? bed[c] + d : std::nanf("");
    wet_cells += d > 0.1f;
    dmax = std::max(dmax, d);
  }
  w.depth_m = std::move(depth);
  f.figures.emplace_back("area flooded > 0.1 m now",
                         fmt::format("{:.3g} ha", static_cast<double>(wet_cells) * dx * dx / 1e4));
  f.figures.emplace_back("deepest water now", fmt::format("{:.2f} m", dmax));
}

namespace {

// /flood/bed and the grid's attributes once; frame k's /flood/depth row.
class FloodReplay : public DomainReplay {
 public:
  FloodReplay(int nx, int ny, double x0, double y0, double dx, std::vector<float> bed)
      : m_nx(nx), m_ny(ny), m_x0(x0), m_y0(y0), m_dx(dx), m_bed(std::move(bed)) {}

  Result<void> read(const RunReader& r, std::size_t k, FrameSnapshot& f) const override {
    auto d = r.read_row<float>("/flood/depth", k);
    if (!d) return fail(d.error());
    fill_flood_frame(m_nx, m_ny, m_x0, m_y0, m_dx, m_bed, std::move(d->data), f);
    return {};
  }

 private:
  int m_nx, m_ny;
  double m_x0, m_y0, m_dx;
  std::vector<float> m_bed;
};

}  // namespace

Result<std::unique_ptr<const DomainReplay>> open_flood_replay(const RunReader& r,
                                                              const std::string& file) {
  if (!r.exists("/flood/depth")) return std::unique_ptr<const DomainReplay>();
  double v[5];
  const char* names[5] = {"nx", "ny", "x0", "y0", "dx"};
  for (int k = 0; k < 5; ++k) {
    auto a = r.attr_double("/flood", names[k]);
    if (!a) return fail(a.error());
    v[k] = *a;
  }
  const int nx = static_cast<int>(v[0]), ny = static_cast<int>(v[1]);
  auto bed = r.read<float>("/flood/bed");
  if (!bed) return fail(bed.error());
  if (bed->data.size() != static_cast<std::size_t>(nx) * static_cast<std::size_t>(ny))
    return fail(
        Error::msg("/flood/bed: expected ny x nx values as the /flood attributes say", file));
  return std::unique_ptr<const DomainReplay>(
      std::make_unique<FloodReplay>(nx, ny, v[2], v[3], v[4], std::move(bed->data)));
}

}  // namespace citytwin::flood
