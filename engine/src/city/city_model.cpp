// import_city: OSM and DEM in, one immutable CityModel out, in one metric CRS.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "city/crs_transform.hpp"
#include "city/dem.hpp"
#include "city/osm_import.hpp"

#include <fmt/format.h>

#include "citytwin/city.hpp"
#include "citytwin/priority_flood.hpp"

namespace citytwin {

double Terrain::sample(double x, double y) const {
  if (empty()) return std::nan("");
  return bilinear(z.data(), nx, ny, (x - x0) / dx - 0.5, (y - y0) / dy - 0.5);
}

double Terrain::min() const {
  double m = std::nan("");
  for (float v : z)
    if (!std::isnan(v) && !(m <= v)) m = v;
  return m;
}

double Terrain::max() const {
  double m = std::nan("");
  for (float v : z)
    if (!std::isnan(v) && !(m >= v)) m = v;
  return m;
}

double RoadNetwork::lane_km() const {
  double s = 0;
  for (std::int32_t l = 0; l < link_count(); ++l)
    s += static_cast<double>(link_length_m[l]) * link_lanes[l];
  return s * 1e-3;
}

std::int32_t RoadNetwork::signal_count() const {
  return static_cast<std::int32_t>(std::count(node_signal.begin(), node_signal.end(), 1));
}

const char* to_string(BuildingUse use) {
  static constexpr const char* names[] = {"residential", "commercial", "office", "industrial",
                                          "public",      "education",  "health", "religious",
                                          "parking",     "other"};
  return names[static_cast<int>(use)];
}

const char* to_string(FacilityKind kind) {
  static constexpr const char* names[] = {"hospital", "fire_station", "police", "school"};
  return names[static_cast<int>(kind)];
}

const char* to_string(RoadClass c) {
  static constexpr const char* names[] = {
      "motorway",     "trunk",        "primary",        "secondary",     "tertiary",
      "unclassified", "residential",  "service",        "living_street", "motorway_link",
      "trunk_link",   "primary_link", "secondary_link", "tertiary_link"};
  return names[static_cast<int>(c)];
}

namespace {

class StageTimer {
 public:
  StageTimer(ImportStats& stats, std::string name) : m_stats(stats), m_name(std::move(name)) {}
  ~StageTimer() {
    m_stats.stages.push_back(
        {m_name, std::chrono::duration<double>(std::chrono::steady_clock::now() - m_t0).count()});
  }

 private:
  ImportStats& m_stats;
  std::string m_name;
  std::chrono::steady_clock::time_point m_t0 = std::chrono::steady_clock::now();
};

// Terrain refinement by surveyed points: the residual (point elevation - terrain) of every
// point is spread to the cells within one cell size by inverse-distance-squared weighting
// (Shepard 1968); cells with no point nearby keep the DEM's value.
std::int64_t refine_terrain(Terrain& t, const std::vector<ElevationPoint>& points) {
  const double radius = std::max(t.dx, t.dy);
  std::vector<std::vector<std::int32_t>> bucket(t.z.size());
  std::vector<double> residual(points.size(), std::nan(""));
  std::int64_t used = 0;
  for (std::size_t k = 0; k < points.size(); ++k) {
    const int i = static_cast<int>(std::floor((points[k].x - t.x0) / t.dx));
    const int j = static_cast<int>(std::floor((points[k].y - t.y0) / t.dy));
    if (i < 0 || j < 0 || i >= t.nx || j >= t.ny) continue;
    const double base = t.sample(points[k].x, points[k].y);
    if (std::isnan(base)) continue;
    residual[k] = points[k].z - base;
    bucket[static_cast<std::size_t>(j) * t.nx + i].push_back(static_cast<std::int32_t>(k));
    ++used;
  }
  std::vector<float> refined = t.z;
  for (int j = 0; j < t.ny; ++j)
    for (int i = 0; i < t.nx; ++i) {
      const std::size_t c = static_cast<std::size_t>(j) * t.nx + i;
      if (std::isnan(t.z[c])) continue;
      const double cx = t.x0 + (i + 0.5) * t.dx, cy = t.y0 + (j + 0.5) * t.dy;
      double wsum = 0, sum = 0;
      for (int dj = -1; dj <= 1; ++dj)
        for (int di = -1; di <= 1; ++di) {
          const int ii = i + di, jj = j + dj;
          if (ii < 0 || jj < 0 || ii >= t.nx || jj >= t.ny) continue;
          for (std::int32_t k : bucket[static_cast<std::size_t>(jj) * t.nx + ii]) {
            const double d2 =
                (points[k].x - cx) * (points[k].x - cx) + (points[k].y - cy) * (points[k].y - cy);
            if (d2 > radius * radius) continue;
            const double w = 1.0 / std::max(d2, 1.0);
            wsum += w;
            sum += w * residual[k];
          }
        }
      if (wsum > 0) refined[c] = static_cast<float>(t.z[c] + sum / wsum);
    }
  t.z = std::move(refined);
  return used;
}

// Depression filling of the DEM by priority-flood (citytwin/priority_flood.hpp): cells are
// visited from the grid's edge (and nodata) inwards in order of elevation, and each is raised
// to the lowest level at which it can drain outwards. Returns the number of cells raised.
std::int64_t fill_depressions(Terrain& t) {
  std::vector<std::int64_t> outlets;
  auto seed = [&](int i, int j) { outlets.push_back(static_cast<std::int64_t>(j) * t.nx + i); };
  for (int i = 0; i < t.nx; ++i) seed(i, 0), seed(i, t.ny - 1);
  for (int j = 0; j < t.ny; ++j) seed(0, j), seed(t.nx - 1, j);
  // Cells next to nodata drain into it, like edge cells.
  for (int j = 0; j < t.ny; ++j)
    for (int i = 0; i < t.nx; ++i)
      if (std::isnan(t.at(i, j)))
        for (int d = 0; d < 4; ++d) {
          const int ii = i + (d == 0) - (d == 1), jj = j + (d == 2) - (d == 3);
          if (ii >= 0 && jj >= 0 && ii < t.nx && jj < t.ny) seed(ii, jj);
        }
  std::vector<std::uint8_t> reached;
  return priority_flood(
      t.nx, t.ny, outlets,
      [&](int i, int j) -> float& { return t.z[static_cast<std::size_t>(j) * t.nx + i]; },
      [&](int i, int j) { return !std::isnan(t.at(i, j)); }, reached);
}

void sample_elevations(CityModel& city) {
  const Terrain& t = city.terrain;
  for (std::int32_t b = 0; b < city.buildings.size(); ++b)
    city.buildings.ground_m[b] =
        static_cast<float>(t.sample(city.buildings.centroid_x[b], city.buildings.centroid_y[b]));
  RoadNetwork& r = city.roads;
  for (std::int32_t n = 0; n < r.node_count(); ++n)
    r.node_z[n] = static_cast<float>(t.sample(r.node_x[n], r.node_y[n]));
  for (std::size_t p = 0; p < r.point_x.size(); ++p)
    r.point_z[p] = static_cast<float>(t.sample(r.point_x[p], r.point_y[p]));
}

// The box of the city's own data (roads, buildings, substations) in the model CRS; empty
// (xmin > xmax) when there is none.
std::array<double, 4> data_box(const CityModel& c) {
  std::array<double, 4> box{1e300, 1e300, -1e300, -1e300};
  auto grow = [&](const std::vector<double>& xs, const std::vector<double>& ys) {
    for (std::size_t k = 0; k < xs.size(); ++k)
      box = {std::min(box[0], xs[k]), std::min(box[1], ys[k]), std::max(box[2], xs[k]),
             std::max(box[3], ys[k])};
  };
  grow(c.roads.point_x, c.roads.point_y);
  grow(c.buildings.x, c.buildings.y);
  grow(c.power.substation_x, c.power.substation_y);
  return box;
}

// The extent of everything imported: the city's data, else the terrain's.
std::array<double, 4> compute_extent(const CityModel& c) {
  std::array<double, 4> e = data_box(c);
  if (e[0] > e[2] && !c.terrain.empty())
    e = {c.terrain.x0, c.terrain.y0, c.terrain.x0 + c.terrain.nx * c.terrain.dx,
         c.terrain.y0 + c.terrain.ny * c.terrain.dy};
  return e;
}

// The terrain under the city: the DEM (one file or a mosaic of tiles) read over the model's
// extent only -- city.bbox's footprint, else the OSM data's box plus city.margin, else the
// whole raster -- and resampled onto the model grid (or kept on its own grid when it already
// is in the model CRS and no resolution is asked).
Result<Terrain> city_terrain(const CitySpec& spec, const RasterSource& source,
                             const std::string& model_crs, bool dem_is_model_grid,
                             const std::optional<Projection>& proj, const CityModel& city) {
  const Raster& h = source.header();
  const std::string& dem_file = spec.dem.front();
  std::optional<std::array<double, 4>> extent;
  const std::array<double, 4> data = data_box(city);
  if (spec.bbox && proj) {
    std::array<double, 4> e{1e300, 1e300, -1e300, -1e300};
    for (double lon : {(*spec.bbox)[0], (*spec.bbox)[2]})
      for (double lat : {(*spec.bbox)[1], (*spec.bbox)[3]}) {
        double x = lon, y = lat;
        if (!proj->forward(x, y)) continue;
        e = {std::min(e[0], x), std::min(e[1], y), std::max(e[2], x), std::max(e[3], y)};
      }
    extent = e;
  } else if (data[0] <= data[2]) {
    extent = std::array<double, 4>{data[0] - spec.margin_m, data[1] - spec.margin_m,
                                   data[2] + spec.margin_m, data[3] + spec.margin_m};
  }
  // The DEM's footprint and the window to read, both through the one transform.
  std::optional<CrsTransform> tr;
  if (!dem_is_model_grid) {
    if (h.wkt.empty())
      return fail(
          Diagnostic::at(dem_file, 0, "city.dem",
                         "the raster names no CRS, so it cannot be reprojected into " + model_crs,
                         "", "a raster with a CRS (.prj), or city.crs set to its own"));
    auto t = CrsTransform::create(h.wkt, model_crs);
    if (!t) return fail(t.error());
    tr.emplace(std::move(*t));
  }
  const std::array<double, 4> footprint =
      tr ? transform_box(raster_box(h), *tr, false) : raster_box(h);
  // The terrain must lie under the city: a DEM of another place is a wrong file, with or
  // without a bbox (once accepted silently, as a flood grid with no buildings).
  if (data[0] <= data[2] && (data[2] < footprint[0] || data[0] > footprint[2] ||
                             data[3] < footprint[1] || data[1] > footprint[3]))
    return fail(Diagnostic::at(dem_file, 0, "city.dem",
                               "the elevation raster does not overlap the city's OSM data",
                               fmt::format("terrain x {:.0f}..{:.0f}, y {:.0f}..{:.0f}",
                                           footprint[0], footprint[2], footprint[1], footprint[3]),
                               fmt::format("a DEM covering x {:.0f}..{:.0f}, y {:.0f}..{:.0f} ({})",
                                           data[0], data[2], data[1], data[3], city.crs.name)));
  std::optional<std::array<double, 4>> window;
  if (extent) window = tr ? transform_box(*extent, *tr, true) : *extent;
  // Two cells of margin: bilinear sampling at the extent's edge reads beyond it.
  auto raster = source.read(window, 2);
  if (!raster) return fail(raster.error());
  if (dem_is_model_grid && spec.terrain_resolution_m <= 0) return terrain_from_raster(*raster);
  auto t = resample_terrain(*raster, tr ? &*tr : nullptr, extent, spec.terrain_resolution_m);
  if (!t) {
    Error e = t.error();
    for (Diagnostic& d : e.items)
      if (d.file.empty()) d.file = dem_file;
    return fail(e);
  }
  return t;
}

}  // namespace

Result<std::shared_ptr<const CityModel>> import_city(const CitySpec& spec) {
  if (spec.osm.empty() && spec.dem.empty())
    return fail(Error::msg("the scenario names no city: set city.osm, city.dem or both"));
  auto city = std::make_shared<CityModel>();
  ImportStats& stats = city->stats;

  OsmCity osm;
  if (!spec.osm.empty()) {
    auto r = read_osm(spec.osm, {spec.bbox}, stats);
    if (!r) return fail(r.error());
    osm = std::move(*r);
    // A planner's new buildings come after OSM's, so the city's own keep their indices.
    if (!spec.add_buildings.empty())
      if (auto a = read_geojson_buildings(spec.add_buildings, osm.buildings); !a)
        return fail(a.error());
  }
  std::optional<RasterSource> dem_source;
  if (!spec.dem.empty()) {
    auto r = RasterSource::open(spec.dem, spec.allow_network);
    if (!r) return fail(r.error());
    dem_source.emplace(std::move(*r));
  }
  const Raster dem = dem_source ? dem_source->header() : Raster{};

  // The model CRS: the scenario's, else the UTM zone of the city, else the DEM's own.
  std::string model_crs = spec.crs;
  bool dem_is_model_grid = false;
  if (model_crs.empty()) {
    if (!spec.osm.empty()) {
      const auto center = osm_center(osm);
      if (!center)
        return fail(Error::msg("the OpenStreetMap file holds no drivable roads or buildings" +
                                   std::string(spec.bbox ? " inside city.bbox" : ""),
                               spec.osm));
      model_crs = utm_crs_for((*center)[0], (*center)[1]);
    } else if (!dem.geographic) {
      model_crs = dem.wkt;  // may be empty: a raster without CRS is its own local metric grid
      dem_is_model_grid = true;
    } else {
      double lon = dem.geo[0] + 0.5 * dem.nx * dem.geo[1],
             lat = dem.geo[3] + 0.5 * dem.ny * dem.geo[5];
      model_crs = utm_crs_for(lon, lat);
    }
  } else if (!spec.dem.empty() && !dem.wkt.empty()) {
    dem_is_model_grid = same_crs(dem.wkt, model_crs);
  } else if (!spec.dem.empty() && dem.wkt.empty()) {
    dem_is_model_grid = true;  // a raster without CRS is taken to be in the scenario's CRS
  }

  std::optional<Projection> proj;
  if (!model_crs.empty()) {
    auto p = Projection::create(model_crs);
    if (!p) return fail(p.error());
    proj = std::move(*p);
    city->crs = proj->crs();
  } else {
    city->crs = {"LOCAL", ""};
  }
  if (!spec.osm.empty()) {
    StageTimer timer(stats, "build roads and buildings");
    auto r = build_city(osm, *proj, spec.default_building_height_m, spec.level_height_m, *city);
    if (!r) return fail(r.error());
    // Broken outlines are expected now and then in OSM; more than 1 % of the buildings is a
    // damaged or wrongly cut extract.
    const double dropped = static_cast<double>(stats.buildings_without_geometry);
    if (dropped > 0.01 * (dropped + city->buildings.size()))
      stats.warnings.push_back(Diagnostic::at(
          spec.osm, 0, "city.osm",
          fmt::format("{:.0f} of {:.0f} buildings have no usable outline and were dropped", dropped,
                      dropped + city->buildings.size()),
          "unclosed ways or broken multipolygons",
          "an extract cut with complete ways (osmium extract --strategy complete_ways)"));
  }
  if (dem_source) {
    StageTimer timer(stats, "terrain");
    auto t = city_terrain(spec, *dem_source, model_crs, dem_is_model_grid, proj, *city);
    if (!t) return fail(t.error());
    city->terrain = std::move(*t);
  }
  if (!spec.elevation_points.empty() && !city->terrain.empty() && proj) {
    StageTimer timer(stats, "refine terrain");
    auto points = read_elevation_points(spec.elevation_points, *proj);
    if (!points) return fail(points.error());
    stats.elevation_points_used = refine_terrain(city->terrain, *points);
  }
  if (spec.fill_depressions && !city->terrain.empty()) {
    StageTimer timer(stats, "fill depressions");
    stats.depression_cells_filled = fill_depressions(city->terrain);
  }
  if (!city->terrain.empty()) sample_elevations(*city);
  city->extent = compute_extent(*city);
  return std::shared_ptr<const CityModel>(std::move(city));
}

}  // namespace citytwin
