// The maps of citytwin compare: depth difference and extent change rasters (GeoTIFF), links
// and buildings that changed (GeoJSON, RFC 7946: WGS84 longitude/latitude; CSV), and PNG maps
// for the report (docs/compare.md).
#include "analysis/compare_maps.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>

#include "citytwin/city.hpp"
#include "citytwin/io.hpp"
#include "citytwin/raster.hpp"

namespace citytwin {

namespace {

constexpr double k_wet_m = 0.1;      // flooded: deeper than this (the flood extent)
constexpr double k_flooded_m = 0.3;  // a flooded building (docs/kpi.md)
constexpr double k_same_m = 0.005;   // depth differences below this are no change

template <class T>
std::vector<T> values_or_empty(const RunReader& run, std::string_view path) {
  auto v = run.read_values<T>(path);
  return v ? std::move(*v) : std::vector<T>{};
}

std::int64_t ms(double t) {
  return std::llround(t * 1000.0);
}

void save(const std::string& path, const std::string& text, Comparison& c) {
  std::ofstream f(path);
  f << text;
  f.close();
  if (!f) throw OutputError("cannot write " + path);
  c.files.push_back(path);
}

using Rgb = std::array<std::uint8_t, 3>;

Rgb mix(Rgb a, Rgb b, double t) {
  t = std::clamp(t, 0.0, 1.0);
  Rgb o{};
  for (int k = 0; k < 3; ++k)
    o[static_cast<std::size_t>(k)] = static_cast<std::uint8_t>(
        std::lround(a[static_cast<std::size_t>(k)] +
                    t * (b[static_cast<std::size_t>(k)] - a[static_cast<std::size_t>(k)])));
  return o;
}

// Colour scales (ColorBrewer "Blues" and "RdBu", Harrower & Brewer, Cartographic J. 40, 2003).
constexpr Rgb k_no_cell{70, 70, 70}, k_sea{222, 229, 236}, k_shallow{198, 219, 239},
    k_deep{8, 48, 107};
constexpr Rgb k_less{33, 102, 172}, k_same{247, 247, 247}, k_more{178, 24, 43};

// The bed in greys under the maps (low dark, high light), scaled to the active cells' range.
class Relief {
 public:
  explicit Relief(const std::vector<float>& bed) : m_bed(bed) {
    for (float z : bed)
      if (!std::isnan(z)) m_lo = std::min(m_lo, z), m_hi = std::max(m_hi, z);
  }
  Rgb operator()(std::size_t k) const {
    const double t = m_hi > m_lo ? (m_bed[k] - m_lo) / (m_hi - m_lo) : 0.5;
    return mix(Rgb{135, 135, 135}, Rgb{215, 215, 215}, std::sqrt(t));
  }

 private:
  const std::vector<float>& m_bed;
  float m_lo = INFINITY, m_hi = -INFINITY;
};

struct Canvas {
  int w = 0, h = 0;
  std::vector<std::uint8_t> rgb;
  Canvas(int width, int height, Rgb fill)
      : w(width), h(height), rgb(static_cast<std::size_t>(w) * h * 3) {
    for (std::size_t p = 0; p < rgb.size(); p += 3)
      std::copy(fill.begin(), fill.end(), rgb.begin() + static_cast<std::ptrdiff_t>(p));
  }
  void set(int x, int y, Rgb c) {
    if (x < 0 || y < 0 || x >= w || y >= h) return;
    std::copy(c.begin(), c.end(), rgb.begin() + (static_cast<std::ptrdiff_t>(y) * w + x) * 3);
  }
  // A line `width` pixels wide (square brush), by DDA.
  void line(double x0, double y0, double x1, double y1, Rgb c, int width) {
    const int n = static_cast<int>(std::ceil(std::max(std::abs(x1 - x0), std::abs(y1 - y0)))) + 1;
    for (int k = 0; k <= n; ++k) {
      const double t = static_cast<double>(k) / n;
      const int x = static_cast<int>(std::lround(x0 + t * (x1 - x0)));
      const int y = static_cast<int>(std::lround(y0 + t * (y1 - y0)));
      for (int dy = -(width - 1) / 2; dy <= width / 2; ++dy)
        for (int dx = -(width - 1) / 2; dx <= width / 2; ++dx) set(x + dx, y + dy, c);
    }
  }
};

struct Grid {
  int nx = 0, ny = 0;
  double dx = 0, x0 = 0, y0 = 0;
};

// Flood cells whose terrain (/city/terrain, nearest cell) is at or below 0 m: the sea.
std::vector<std::uint8_t> sea_cells(const RunReader& r, const Grid& g) {
  std::vector<std::uint8_t> sea(static_cast<std::size_t>(g.nx) * static_cast<std::size_t>(g.ny), 0);
  auto z = r.read<float>("/city/terrain/z");
  const auto tx0 = r.attr_double("/city/terrain", "x0"), ty0 = r.attr_double("/city/terrain", "y0");
  const auto tdx = r.attr_double("/city/terrain", "dx"), tdy = r.attr_double("/city/terrain", "dy");
  if (!z || z->dims.size() != 2 || !tx0 || !ty0 || !tdx || !tdy) return sea;
  const auto tny = static_cast<long>(z->dims[0]), tnx = static_cast<long>(z->dims[1]);
  for (int j = 0; j < g.ny; ++j)
    for (int i = 0; i < g.nx; ++i) {
      const long ti = std::lround(std::floor((g.x0 + (i + 0.5) * g.dx - *tx0) / *tdx));
      const long tj = std::lround(std::floor((g.y0 + (j + 0.5) * g.dx - *ty0) / *tdy));
      if (ti < 0 || tj < 0 || ti >= tnx || tj >= tny) continue;
      sea[static_cast<std::size_t>(j) * static_cast<std::size_t>(g.nx) +
          static_cast<std::size_t>(i)] = z->data[static_cast<std::size_t>(tj * tnx + ti)] <= 0.0f;
    }
  return sea;
}

Result<Grid> flood_grid(const RunReader& r) {
  Grid g;
  double v[5];
  const char* names[5] = {"nx", "ny", "dx", "x0", "y0"};
  for (int k = 0; k < 5; ++k) {
    auto a = r.attr_double("/flood", names[k]);
    if (!a) return fail(a.error());
    v[k] = *a;
  }
  g.nx = static_cast<int>(v[0]), g.ny = static_cast<int>(v[1]);
  g.dx = v[2], g.x0 = v[3], g.y0 = v[4];
  return g;
}

// A raster map: one pixel per `step` cells (north up), coloured by `colour(cell)`.
template <class F>
Result<void> raster_png(const std::string& path, const Grid& g, F&& colour) {
  const int step = std::max(1, static_cast<int>(std::ceil(std::max(g.nx, g.ny) / 1600.0)));
  const int w = (g.nx + step - 1) / step, h = (g.ny + step - 1) / step;
  Canvas c(w, h, k_no_cell);
  for (int py = 0; py < h; ++py)
    for (int px = 0; px < w; ++px) {
      const int j = g.ny - 1 - std::min(g.ny - 1, py * step), i = std::min(g.nx - 1, px * step);
      c.set(px, py,
            colour(static_cast<std::size_t>(j) * static_cast<std::size_t>(g.nx) +
                   static_cast<std::size_t>(i)));
    }
  return write_png(path, c.w, c.h, c.rgb);
}

Result<void> flood_maps(const RunReader& b, const RunReader& v, const std::string& dir,
                        Comparison& c) {
  auto grid = flood_grid(b);
  if (!grid) return fail(grid.error());
  const Grid& g = *grid;
  const auto mb = values_or_empty<float>(b, "/flood/max_depth");
  const auto mv = values_or_empty<float>(v, "/flood/max_depth");
  const auto bed = values_or_empty<float>(b, "/flood/bed");
  const std::size_t n = static_cast<std::size_t>(g.nx) * static_cast<std::size_t>(g.ny);
  if (mb.size() != n || mv.size() != n || bed.size() != n)
    return fail(Error::msg("/flood/max_depth or /flood/bed does not match the flood grid"));
  auto wkt = b.attr_string("/meta", "crs_wkt");
  const RasterGrid rg{g.nx, g.ny, g.x0, g.y0, g.dx, wkt ? *wkt : std::string(), -9999};
  std::vector<float> diff(n, std::nanf("")), extent(n, std::nanf(""));
  for (std::size_t k = 0; k < n; ++k) {
    if (std::isnan(bed[k])) continue;  // inactive: wall, nodata, sea outside the model
    if (std::max(mb[k], mv[k]) > k_wet_m) diff[k] = mv[k] - mb[k];
    const bool fb = mb[k] > k_wet_m, fv = mv[k] > k_wet_m;
    if (fb || fv) extent[k] = fb && fv ? 0.0f : fv ? 1.0f : -1.0f;
  }
  for (const auto& [name, values] : {std::pair{"max_depth_difference.tif", &diff},
                                     std::pair{"flood_extent_change.tif", &extent}}) {
    const std::string path = dir + "/" + name;
    if (auto ok = write_geotiff(path, rg, *values); !ok) return fail(ok.error());
    c.files.push_back(path);
  }
  // Relief under the water: the bed in greys (low dark, high light). Inactive cells are walls
  // (dark) or, where the terrain is at or below sea level, the sea (pale blue-grey).
  const std::vector<std::uint8_t> sea = sea_cells(b, g);
  const Relief relief(bed);
  auto inactive = [&](std::size_t k) { return sea[k] ? k_sea : k_no_cell; };
  auto depth_colour = [&](const std::vector<float>& d) {
    return [&](std::size_t k) {
      if (std::isnan(bed[k])) return inactive(k);
      if (!(d[k] > k_wet_m)) return relief(k);
      return mix(k_shallow, k_deep, std::min(1.0, d[k] / 2.0));
    };
  };
  struct Png {
    const char* file;
    const char* caption;
  };
  const Png pngs[3] = {
      {"max_depth_base.png", "maximum depth, base (blue: 0.1 m to 2 m and deeper)"},
      {"max_depth_variant.png", "maximum depth, variant (the same scale)"},
      {"max_depth_difference.png",
       "maximum depth, variant minus base (red deeper, blue shallower; full colour at 0.5 m; "
       "white: flooded in both, within 5 mm; grey: dry in both, below 0.1 m)"}};
  for (int m = 0; m < 3; ++m) {
    const std::string path = dir + "/" + pngs[m].file;
    Result<void> ok;
    if (m < 2) {
      ok = raster_png(path, g, depth_colour(m == 0 ? mb : mv));
    } else {
      ok = raster_png(path, g, [&](std::size_t k) {
        if (std::isnan(bed[k])) return inactive(k);
        if (std::isnan(diff[k])) return relief(k);
        const double d = diff[k];
        if (std::abs(d) < k_same_m) return k_same;
        const double t = 0.25 + 0.75 * std::sqrt(std::min(1.0, std::abs(d) / 0.5));
        return d > 0 ? mix(k_same, k_more, t) : mix(k_same, k_less, t);
      });
    }
    if (!ok) return fail(ok.error());
    c.files.push_back(path);
    c.pictures.emplace_back(pngs[m].caption, path);
  }
  return {};
}

// Per road link over the whole run: vehicles that entered, mean time per vehicle on the link
// (vehicle-seconds / entries; NaN without traffic) and hours closed (frame resolution).
struct LinkTotals {
  std::vector<double> volume, time_s, closed_h;
};

LinkTotals link_totals(const RunReader& r, std::size_t links) {
  LinkTotals t;
  const auto edge_link = values_or_empty<std::int32_t>(r, "/traffic/edge_link");
  auto entered = r.read<double>("/traffic/edges/entered");
  auto vs = r.read<double>("/traffic/edges/veh_seconds");
  if (edge_link.empty() || !entered || !vs || entered->dims.size() != 2) return t;
  t.volume.assign(links, 0.0);
  std::vector<double> seconds(links, 0.0);
  const std::size_t ne = entered->dims[1];
  for (std::size_t k = 0; k < entered->dims[0]; ++k)
    for (std::size_t e = 0; e < ne && e < edge_link.size(); ++e) {
      const auto l = static_cast<std::size_t>(edge_link[e]);
      if (l >= links) continue;
      t.volume[l] += entered->data[k * ne + e];
      seconds[l] += vs->data[k * ne + e];
    }
  t.time_s.resize(links);
  for (std::size_t l = 0; l < links; ++l)
    t.time_s[l] = t.volume[l] > 0 ? seconds[l] / t.volume[l] : std::nan("");
  t.closed_h.assign(links, 0.0);
  auto closed = r.read<std::uint8_t>("/traffic/link_closed");
  const auto time = values_or_empty<double>(r, "/time");
  if (closed && closed->dims.size() == 2 && closed->dims[1] == ne)
    for (std::size_t k = 0; k + 1 < closed->dims[0] && k + 1 < time.size(); ++k)
      for (std::size_t e = 0; e < ne && e < edge_link.size(); ++e)
        if (closed->data[k * ne + e] && static_cast<std::size_t>(edge_link[e]) < links)
          t.closed_h[static_cast<std::size_t>(edge_link[e])] += (time[k + 1] - time[k]) / 3600.0;
  return t;
}

nlohmann::json number(double v) {
  return std::isnan(v) ? nlohmann::json() : nlohmann::json(v);
}

Result<void> link_maps(const RunReader& b, const RunReader& v, const Projection& proj,
                       const std::string& dir, Comparison& c) {
  const auto from = values_or_empty<std::int32_t>(b, "/city/roads/link_from");
  const auto offsets = values_or_empty<std::int32_t>(b, "/city/roads/link_point_offsets");
  const auto px = values_or_empty<double>(b, "/city/roads/point_x");
  const auto py = values_or_empty<double>(b, "/city/roads/point_y");
  auto names = b.read_strings("/city/roads/link_name");
  const std::size_t links = from.size();
  const LinkTotals tb = link_totals(b, links), tv = link_totals(v, links);
  if (tb.volume.empty() || tv.volume.empty() || offsets.size() != links + 1) return {};
  std::string csv =
      "link,name,base_volume,variant_volume,volume_change,base_time_s,variant_time_s,"
      "time_change_s,base_closed_h,variant_closed_h\n";
  nlohmann::json features = nlohmann::json::array();
  for (std::size_t l = 0; l < links; ++l) {
    const double dt = tv.time_s[l] - tb.time_s[l];
    const std::string name = names && l < names->size() ? (*names)[l] : "";
    std::string quoted = name;
    for (std::size_t q = quoted.find('"'); q != std::string::npos; q = quoted.find('"', q + 2))
      quoted.insert(q, 1, '"');
    auto cell = [](double x) { return std::isnan(x) ? std::string() : fmt::format("{:.6g}", x); };
    csv += fmt::format("{},\"{}\",{},{},{},{},{},{},{},{}\n", l, quoted, cell(tb.volume[l]),
                       cell(tv.volume[l]), cell(tv.volume[l] - tb.volume[l]), cell(tb.time_s[l]),
                       cell(tv.time_s[l]), cell(dt), cell(tb.closed_h[l]), cell(tv.closed_h[l]));
    const bool changed = tv.volume[l] != tb.volume[l] || tv.closed_h[l] != tb.closed_h[l] ||
                         (!std::isnan(dt) && std::abs(dt) > 1e-6);
    if (!changed) continue;
    nlohmann::json coords = nlohmann::json::array();
    for (auto p = static_cast<std::size_t>(offsets[l]);
         p < static_cast<std::size_t>(offsets[l + 1]); ++p) {
      double x = px[p], y = py[p];
      if (proj.inverse(x, y))
        coords.push_back({std::round(x * 1e7) / 1e7, std::round(y * 1e7) / 1e7});
    }
    features.push_back({{"type", "Feature"},
                        {"geometry", {{"type", "LineString"}, {"coordinates", coords}}},
                        {"properties",
                         {{"link", l},
                          {"name", name},
                          {"base_volume", tb.volume[l]},
                          {"variant_volume", tv.volume[l]},
                          {"base_time_s", number(tb.time_s[l])},
                          {"variant_time_s", number(tv.time_s[l])},
                          {"time_change_s", number(dt)},
                          {"base_closed_h", tb.closed_h[l]},
                          {"variant_closed_h", tv.closed_h[l]}}}});
  }
  save(dir + "/links.csv", csv, c);
  save(dir + "/links.geojson",
       nlohmann::json{{"type", "FeatureCollection"}, {"features", features}}.dump() + "\n", c);

  // The links map: every link in grey, those whose time rose red and fell blue (full colour at
  // +-100 %), links closed longer in the variant black.
  const auto extent = values_or_empty<double>(b, "/city/extent");
  if (extent.size() != 4 || !(extent[2] > extent[0]) || !(extent[3] > extent[1])) return {};
  const double scale = 1600.0 / std::max(extent[2] - extent[0], extent[3] - extent[1]);
  Canvas map(static_cast<int>(std::ceil((extent[2] - extent[0]) * scale)),
             static_cast<int>(std::ceil((extent[3] - extent[1]) * scale)), Rgb{250, 250, 250});
  auto draw = [&](std::size_t l, Rgb col, int width) {
    for (auto p = static_cast<std::size_t>(offsets[l]);
         p + 1 < static_cast<std::size_t>(offsets[l + 1]); ++p)
      map.line((px[p] - extent[0]) * scale, (extent[3] - py[p]) * scale,
               (px[p + 1] - extent[0]) * scale, (extent[3] - py[p + 1]) * scale, col, width);
  };
  for (std::size_t l = 0; l < links; ++l) draw(l, Rgb{200, 200, 200}, 1);
  for (std::size_t l = 0; l < links; ++l) {
    if (tv.closed_h[l] > tb.closed_h[l]) {
      draw(l, Rgb{20, 20, 20}, 3);
      continue;
    }
    const double r = tv.time_s[l] / tb.time_s[l] - 1.0;
    if (std::isnan(r) || std::abs(r) < 0.05) continue;
    draw(l,
         r > 0 ? mix(k_same, k_more, 0.3 + 0.7 * std::min(1.0, r))
               : mix(k_same, k_less, 0.3 + 0.7 * std::min(1.0, -r)),
         3);
  }
  const std::string path = dir + "/links_change.png";
  if (auto ok = write_png(path, map.w, map.h, map.rgb); !ok) return fail(ok.error());
  c.files.push_back(path);
  c.pictures.emplace_back(
      "time per vehicle on each road link, variant against base (red slower, blue faster, "
      "full colour at +-100 %; black: closed longer in the variant)",
      path);
  return {};
}

// Buildings whose flooded (> 0.3 m) or unpowered state differs between the runs.
Result<void> building_map(const RunReader& b, const RunReader& v, const Projection& proj,
                          const std::string& dir, Comparison& c) {
  const auto osm = values_or_empty<std::int64_t>(b, "/city/buildings/osm_id");
  const std::size_t n = osm.size();
  auto depth = [&](const RunReader& r) {
    auto d = values_or_empty<float>(r, "/flood/building_max_depth");
    d.resize(n, std::nanf(""));
    return d;
  };
  auto lost_power = [&](const RunReader& r) {
    std::vector<int> out(n, -1);  // -1 unknown (no city grid)
    auto p = r.read<std::uint8_t>("/power/building_powered");
    // The base's buildings: a variant's added ones come after them.
    if (!p || p->dims.size() != 2 || p->dims[1] < n) return out;
    std::fill(out.begin(), out.end(), 0);
    const std::size_t stride = p->dims[1];
    for (std::size_t k = 0; k < p->dims[0]; ++k)
      for (std::size_t i = 0; i < n; ++i) out[i] |= p->data[k * stride + i] == 0;
    return out;
  };
  const auto db = depth(b), dv = depth(v);
  const auto pb = lost_power(b), pv = lost_power(v);
  const auto ring_off = values_or_empty<std::int32_t>(b, "/city/buildings/ring_offsets");
  const auto pt_off = values_or_empty<std::int32_t>(b, "/city/buildings/point_offsets");
  const auto x = values_or_empty<double>(b, "/city/buildings/x");
  const auto y = values_or_empty<double>(b, "/city/buildings/y");
  if (ring_off.size() != n + 1) return {};
  nlohmann::json features = nlohmann::json::array();
  for (std::size_t i = 0; i < n; ++i) {
    const bool fb = db[i] > k_flooded_m, fv = dv[i] > k_flooded_m;
    const bool power_changed = pb[i] >= 0 && pv[i] >= 0 && pb[i] != pv[i];
    if (fb == fv && !power_changed) continue;
    std::string change;
    if (fb != fv) change = fv ? "newly flooded" : "no longer flooded";
    if (power_changed)
      change += std::string(change.empty() ? "" : ", ") +
                (pv[i] ? "newly unpowered" : "no longer unpowered");
    nlohmann::json rings = nlohmann::json::array();
    for (auto r = static_cast<std::size_t>(ring_off[i]);
         r < static_cast<std::size_t>(ring_off[i + 1]); ++r) {
      nlohmann::json ring = nlohmann::json::array();
      for (auto p = static_cast<std::size_t>(pt_off[r]);
           p <= static_cast<std::size_t>(pt_off[r + 1]); ++p) {
        // Closed as GeoJSON wants: the ring's first vertex again at the end.
        const std::size_t q =
            p == static_cast<std::size_t>(pt_off[r + 1]) ? static_cast<std::size_t>(pt_off[r]) : p;
        double lon = x[q], lat = y[q];
        if (proj.inverse(lon, lat))
          ring.push_back({std::round(lon * 1e7) / 1e7, std::round(lat * 1e7) / 1e7});
      }
      rings.push_back(std::move(ring));
    }
    auto flag = [](int f) { return f < 0 ? nlohmann::json() : nlohmann::json(f == 1); };
    features.push_back({{"type", "Feature"},
                        {"geometry", {{"type", "Polygon"}, {"coordinates", rings}}},
                        {"properties",
                         {{"building", i},
                          {"osm_id", osm[i]},
                          {"change", change},
                          {"base_max_depth_m", number(db[i])},
                          {"variant_max_depth_m", number(dv[i])},
                          {"base_unpowered", flag(pb[i])},
                          {"variant_unpowered", flag(pv[i])}}}});
  }
  save(dir + "/buildings.geojson",
       nlohmann::json{{"type", "FeatureCollection"}, {"features", features}}.dump() + "\n", c);
  return {};
}

}  // namespace

FloodFrames flood_frames(const RunReader& b, const RunReader& v, const std::vector<double>& tb,
                         const std::vector<double>& tv) {
  FloodFrames f;
  const bool hb = b.exists("/flood/depth"), hv = v.exists("/flood/depth");
  if (!hb && !hv) return f;
  const double cell_b = hb ? std::pow(b.attr_double("/flood", "dx").value_or(0), 2) : 0;
  const double cell_v = hv ? std::pow(v.attr_double("/flood", "dx").value_or(0), 2) : 0;
  auto area = [](const std::vector<float>& d, double cell) {
    double n = 0;
    for (float x : d) n += x > k_wet_m;
    return n * cell / 1e4;
  };
  std::map<std::int64_t, std::size_t> vrow;
  for (std::size_t k = 0; k < tv.size(); ++k) vrow[ms(tv[k])] = k;
  f.variant_area_ha.assign(hv ? tv.size() : 0, std::nan(""));
  std::vector<bool> v_done(tv.size(), false);
  if (hb) {
    f.base_area_ha.assign(tb.size(), std::nan(""));
    for (std::size_t k = 0; k < tb.size(); ++k) {
      auto rb = b.read_row<float>("/flood/depth", k);
      if (!rb) continue;
      f.base_area_ha[k] = area(rb->data, cell_b);
      const auto it = vrow.find(ms(tb[k]));
      if (!hv || it == vrow.end()) continue;
      auto rv = v.read_row<float>("/flood/depth", it->second);
      if (!rv) continue;
      f.variant_area_ha[it->second] = area(rv->data, cell_v);
      v_done[it->second] = true;
      if (rv->data.size() != rb->data.size()) continue;
      double l1 = 0;
      for (std::size_t c = 0; c < rb->data.size(); ++c) l1 += std::abs(rv->data[c] - rb->data[c]);
      f.l1_by_time[ms(tb[k])] = l1 * cell_b;
    }
  }
  for (std::size_t k = 0; hv && k < tv.size(); ++k) {
    if (v_done[k]) continue;
    auto rv = v.read_row<float>("/flood/depth", k);
    if (rv) f.variant_area_ha[k] = area(rv->data, cell_v);
  }
  return f;
}

Result<void> write_maps(const RunReader& b, const RunReader& v, const std::string& dir,
                        Comparison& c) {
  if (b.exists("/flood/max_depth") && v.exists("/flood/max_depth"))
    if (auto ok = flood_maps(b, v, dir, c); !ok) return ok;
  auto crs = b.attr_string("/meta", "crs_name");
  if (!crs) return fail(crs.error());
  auto proj = Projection::create(*crs);
  if (!proj) return fail(proj.error());
  if (auto ok = link_maps(b, v, *proj, dir, c); !ok) return ok;
  return building_map(b, v, *proj, dir, c);
}

Result<void> write_exceedance(const RunReader& first,
                              const std::vector<std::vector<float>>& max_depth,
                              const std::string& dir, std::vector<std::string>& files) {
  auto grid = flood_grid(first);
  if (!grid) return fail(grid.error());
  const Grid& g = *grid;
  const auto bed = values_or_empty<float>(first, "/flood/bed");
  const std::size_t n = static_cast<std::size_t>(g.nx) * static_cast<std::size_t>(g.ny);
  if (bed.size() != n) return fail(Error::msg("/flood/bed does not match the flood grid"));
  for (const auto& m : max_depth)
    if (m.size() != n) return fail(Error::msg("a member's /flood/max_depth is not on the grid"));
  auto wkt = first.attr_string("/meta", "crs_wkt");
  const RasterGrid rg{g.nx, g.ny, g.x0, g.y0, g.dx, wkt ? *wkt : std::string(), -9999};
  const double members = static_cast<double>(max_depth.size());
  std::vector<float> p03;
  for (const auto& [depth, name] :
       {std::pair{0.1f, "0_1m"}, std::pair{0.3f, "0_3m"}, std::pair{1.0f, "1m"}}) {
    std::vector<float> p(n, std::nanf(""));
    for (std::size_t k = 0; k < n; ++k) {
      if (std::isnan(bed[k])) continue;
      double hits = 0;
      for (const auto& m : max_depth) hits += m[k] > depth;
      p[k] = static_cast<float>(hits / members);
    }
    const std::string path = fmt::format("{}/exceedance_{}.tif", dir, name);
    if (auto ok = write_geotiff(path, rg, p); !ok) return fail(ok.error());
    files.push_back(path);
    if (depth == 0.3f) p03 = std::move(p);
  }
  // The 0.3 m map over the relief: pale yellow (few members) to dark red (every member).
  const std::vector<std::uint8_t> sea = sea_cells(first, g);
  const Relief relief(bed);
  const std::string png = dir + "/exceedance_0_3m.png";
  auto ok = raster_png(png, g, [&](std::size_t k) {
    if (std::isnan(bed[k])) return sea[k] ? k_sea : k_no_cell;
    if (!(p03[k] > 0)) return relief(k);
    return mix(Rgb{255, 237, 160}, Rgb{189, 0, 38}, p03[k]);
  });
  if (!ok) return fail(ok.error());
  files.push_back(png);
  return {};
}

}  // namespace citytwin
