#include "city/dem.hpp"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_vsi.h>
#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include <gdal_utils.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string_view>

#include <fmt/format.h>

#include "city/crs_transform.hpp"
#include "citytwin/resources.hpp"

namespace citytwin {

namespace {
constexpr float k_nan = std::numeric_limits<float>::quiet_NaN();
}

double bilinear(const float* z, int nx, int ny, double fx, double fy) {
  // fx, fy: position in cell units where cell centres sit at integers.
  if (fx < -0.5 || fy < -0.5 || fx > nx - 0.5 || fy > ny - 0.5) return std::nan("");
  fx = std::clamp(fx, 0.0, static_cast<double>(nx - 1));
  fy = std::clamp(fy, 0.0, static_cast<double>(ny - 1));
  const int i0 = std::min(static_cast<int>(fx), nx - 1),
            j0 = std::min(static_cast<int>(fy), ny - 1);
  const int i1 = std::min(i0 + 1, nx - 1), j1 = std::min(j0 + 1, ny - 1);
  const double tx = fx - i0, ty = fy - j0;
  const double w[4] = {(1 - tx) * (1 - ty), tx * (1 - ty), (1 - tx) * ty, tx * ty};
  const float v[4] = {
      z[static_cast<std::size_t>(j0) * nx + i0], z[static_cast<std::size_t>(j0) * nx + i1],
      z[static_cast<std::size_t>(j1) * nx + i0], z[static_cast<std::size_t>(j1) * nx + i1]};
  double sum = 0, wsum = 0;
  for (int k = 0; k < 4; ++k) {
    if (std::isnan(v[k]) || w[k] == 0) continue;
    sum += w[k] * v[k];
    wsum += w[k];
  }
  return wsum > 0 ? sum / wsum : std::nan("");
}

double Raster::sample(double x, double y) const {
  // Fractional cell indices with cell centres at integers; rows count from the first (north)
  // row, which bilinear() does not mind: it only needs rows and columns on a regular grid.
  const double fx = (x - geo[0]) / geo[1] - 0.5;
  const double fy = (y - geo[3]) / geo[5] - 0.5;
  return bilinear(z.data(), nx, ny, fx, fy);
}

namespace {

// Network file systems GDAL would reach through (and URLs curl would fetch).
constexpr std::string_view k_network_markers[] = {
    "/vsicurl",  "/vsis3",   "/vsigs",      "/vsiaz",    "/vsiadls", "/vsioss",
    "/vsiswift", "/vsihdfs", "/vsiwebhdfs", "/vsistdin", "://"};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// An input may only make GDAL read local files: the path itself, and every file a VRT names
// (recursively; a VRT is plain XML, so any network path in it is found as text).
Result<void> check_local(const std::string& path, int depth) {
  const std::string p = lower(path);
  for (std::string_view m : k_network_markers)
    if (p.find(m) != std::string::npos)
      return fail(Diagnostic::at(path, 0, "", "a raster on the network is not read", path,
                                 "a local file (download it first, or city.allow_network = true)"));
  if (!p.ends_with(".vrt") || depth > 8) return {};
  std::ifstream f(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const std::string t = lower(text);
  for (std::string_view m : k_network_markers)
    if (const auto at = t.find(m); at != std::string::npos)
      return fail(Diagnostic::at(
          path, static_cast<int>(std::count(text.begin(), text.begin() + at, '\n')) + 1, "",
          "the VRT names a file on the network; only local files are read",
          text.substr(at > 40 ? at - 40 : 0, 80), "local sources (or city.allow_network = true)"));
  // Local sources that are VRTs themselves.
  const std::string open = "<sourcefilename", close = "</sourcefilename>";
  for (auto at = t.find(open); at != std::string::npos; at = t.find(open, at + 1)) {
    const auto gt = t.find('>', at), end = t.find(close, at);
    if (gt == std::string::npos || end == std::string::npos || end < gt) break;
    std::string src = text.substr(gt + 1, end - gt - 1);
    const bool relative = t.substr(at, gt - at).find("relativetovrt=\"1\"") != std::string::npos;
    if (relative) src = (std::filesystem::path(path).parent_path() / src).string();
    if (auto r = check_local(src, depth + 1); !r) return r;
  }
  return {};
}

// An ESRI ASCII grid writes every cell as text (at least a digit and a separator), so a header
// claiming more cells than the file has bytes for is a truncated file or a wrong header --
// found before the claimed size is allocated (a 69-byte file claimed 1e9 cells).
Result<void> check_ascii_size(GDALDataset& ds, const std::string& path) {
  const GDALDriver* driver = ds.GetDriver();
  if (!driver || std::string_view(driver->GetDescription()) != "AAIGrid") return {};
  VSIStatBufL st{};
  if (VSIStatL(path.c_str(), &st) != 0) return {};
  const double cells = static_cast<double>(ds.GetRasterXSize()) * ds.GetRasterYSize();
  const double room = static_cast<double>(st.st_size) / 2 + 1;
  if (cells > room)
    return fail(Diagnostic::at(
        path, 0, "",
        fmt::format("the grid's header claims {} x {} cells, but the file can hold at most {:.0f} "
                    "values",
                    ds.GetRasterXSize(), ds.GetRasterYSize(), room),
        fmt::format("{} bytes", static_cast<long long>(st.st_size)),
        "ncols x nrows values after the header (a truncated file, or a wrong header)"));
  return {};
}

}  // namespace

struct RasterSource::Impl {
  std::unique_ptr<GDALDataset> ds;
  std::string mosaic;  // /vsimem/ path of the VRT mosaic, empty for one file
  std::string name;    // for messages: the file, or the first tile
  ~Impl() {
    ds.reset();
    if (!mosaic.empty()) VSIUnlink(mosaic.c_str());
  }
};

RasterSource::RasterSource() = default;
RasterSource::~RasterSource() = default;
RasterSource::RasterSource(RasterSource&&) noexcept = default;

Result<RasterSource> RasterSource::open(const std::vector<std::string>& paths, bool allow_network) {
  CT_ASSERT(!paths.empty(), "a raster source names at least one file");
  GDALAllRegister();
  for (const std::string& p : paths)
    if (auto r = check_local(p, 0); !r && !allow_network) return fail(r.error());
  RasterSource src;
  src.m_impl = std::make_unique<Impl>();
  Impl& m = *src.m_impl;
  m.name = paths.front();
  CPLPushErrorHandler(CPLQuietErrorHandler);
  CPLErrorReset();
  auto open_one = [](const std::string& p) {
    return std::unique_ptr<GDALDataset>(
        GDALDataset::Open(p.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  };
  // Every tile must open on its own before the mosaic (so a bad tile is named), and all must
  // share one CRS (the VRT would place them as if they did).
  std::string first_wkt;
  for (std::size_t k = 0; k < paths.size() && paths.size() > 1; ++k) {
    auto ds = open_one(paths[k]);
    if (!ds) break;
    if (auto r = check_ascii_size(*ds, paths[k]); !r) {
      CPLPopErrorHandler();
      return fail(r.error());
    }
    const OGRSpatialReference* srs = ds->GetSpatialRef();
    std::string wkt;
    if (srs) {
      char* w = nullptr;
      srs->exportToWkt(&w);
      wkt = w ? w : "";
      CPLFree(w);
    }
    if (k == 0) first_wkt = wkt;
    if (wkt != first_wkt && !(srs && !first_wkt.empty() && same_crs(wkt, first_wkt))) {
      CPLPopErrorHandler();
      return fail(Diagnostic::at(paths[k], 0, "city.dem", "the terrain tiles are in different CRSs",
                                 describe_crs(wkt).name,
                                 "tiles in one CRS, " + describe_crs(first_wkt).name + " like " +
                                     paths.front() + " (reproject with gdalwarp)"));
    }
  }
  std::string failed = paths.front();
  if (paths.size() == 1) {
    m.ds = open_one(paths.front());
    if (m.ds)
      if (auto r = check_ascii_size(*m.ds, paths.front()); !r) {
        CPLPopErrorHandler();
        return fail(r.error());
      }
  } else {
    static std::atomic<int> counter{0};
    m.mosaic =
        fmt::format("/vsimem/citytwin_mosaic_{}_{}.vrt", static_cast<const void*>(&m), counter++);
    std::vector<const char*> names;
    for (const std::string& p : paths) names.push_back(p.c_str());
    int usage_error = 0;
    GDALDatasetH vrt = GDALBuildVRT(m.mosaic.c_str(), static_cast<int>(names.size()), nullptr,
                                    names.data(), nullptr, &usage_error);
    m.ds.reset(GDALDataset::FromHandle(vrt));
    for (std::size_t k = 0; !m.ds && k < paths.size(); ++k)
      if (!open_one(paths[k])) failed = paths[k];
  }
  CPLPopErrorHandler();
  if (!m.ds) {
    const std::string why = CPLGetLastErrorMsg();
    return fail(Error::msg("cannot read elevation raster" +
                               (why.empty() ? std::string() : ": " + why) +
                               " (expected a GeoTIFF or ESRI ASCII grid)",
                           failed));
  }
  Raster& h = src.m_header;
  h.nx = m.ds->GetRasterXSize();
  h.ny = m.ds->GetRasterYSize();
  if (m.ds->GetGeoTransform(h.geo.data()) != CE_None)
    return fail(Error::msg("the raster has no georeferencing (geotransform)", m.name));
  if (h.geo[2] != 0 || h.geo[4] != 0)
    return fail(
        Error::msg("rotated rasters are not supported; warp it north-up first (gdalwarp)", m.name));
  CPLPushErrorHandler(CPLQuietErrorHandler);  // GDAL's notes on odd georeferencing keys
  if (const OGRSpatialReference* srs = m.ds->GetSpatialRef()) {
    char* wkt = nullptr;
    const char* opts[] = {"FORMAT=WKT2_2019", nullptr};
    srs->exportToWkt(&wkt, opts);
    if (wkt) h.wkt = wkt;
    CPLFree(wkt);
    h.geographic = srs->IsGeographic();
  }
  CPLPopErrorHandler();
  return src;
}

Result<Raster> RasterSource::read(std::optional<std::array<double, 4>> box, int pad) const {
  const Impl& m = *m_impl;
  const Raster& h = m_header;
  int i0 = 0, j0 = 0, i1 = h.nx, j1 = h.ny;  // columns [i0, i1), rows [j0, j1)
  if (box) {
    // Cells whose area meets the box, plus `pad` around (north-up: geo[5] < 0).
    const double fx0 = ((*box)[0] - h.geo[0]) / h.geo[1], fx1 = ((*box)[2] - h.geo[0]) / h.geo[1];
    const double fy0 = ((*box)[3] - h.geo[3]) / h.geo[5], fy1 = ((*box)[1] - h.geo[3]) / h.geo[5];
    auto clampi = [](double v, int hi) {  // NaN (a degenerate box) clamps to 0
      return v >= 0 ? static_cast<int>(std::min(v, static_cast<double>(hi))) : 0;
    };
    i0 = clampi(std::floor(std::min(fx0, fx1)) - pad, h.nx);
    i1 = clampi(std::ceil(std::max(fx0, fx1)) + pad, h.nx);
    j0 = clampi(std::floor(std::min(fy0, fy1)) - pad, h.ny);
    j1 = clampi(std::ceil(std::max(fy0, fy1)) + pad, h.ny);
    if (i0 >= i1 || j0 >= j1)
      return fail(Error::msg("the elevation raster does not overlap the city", m.name));
  }
  // A raster's header can claim any size: refuse what the machine cannot hold before reading.
  const double bytes = static_cast<double>(i1 - i0) * (j1 - j0) * sizeof(float);
  if (bytes > static_cast<double>(memory_budget()))
    return fail(Diagnostic::at(m.name, 0, "",
                               fmt::format("reading {} x {} cells needs {}; this machine has {} "
                                           "available",
                                           i1 - i0, j1 - j0, format_bytes(bytes),
                                           format_bytes(static_cast<double>(memory_budget()))),
                               "", "a raster cropped to the city (gdal_translate -projwin)"));
  Raster r = h;
  r.nx = i1 - i0;
  r.ny = j1 - j0;
  r.geo[0] = h.geo[0] + i0 * h.geo[1];
  r.geo[3] = h.geo[3] + j0 * h.geo[5];
  GDALRasterBand* band = m.ds->GetRasterBand(1);
  if (!band) return fail(Error::msg("the raster has no band", m.name));
  int has_nodata = 0;
  const double nodata = band->GetNoDataValue(&has_nodata);
  // In row strips of about 4 M cells: a file whose header claims more cells than it holds (a
  // 1 kB GeoTIFF once claimed 3.4 GB) fails at its first strip, before the whole buffer is
  // allocated; once one strip decodes, the rest is reserved at once.
  const std::size_t row = static_cast<std::size_t>(r.nx);
  const int strip = static_cast<int>(
      std::clamp<std::size_t>((std::size_t{1} << 22) / row, 1, static_cast<std::size_t>(r.ny)));
  for (int j = 0; j < r.ny; j += strip) {
    const int rows = std::min(strip, r.ny - j);
    const std::size_t at = r.z.size();
    r.z.resize(at + row * static_cast<std::size_t>(rows));
    CPLPushErrorHandler(CPLQuietErrorHandler);
    const CPLErr err = band->RasterIO(GF_Read, i0, j0 + j, r.nx, rows, r.z.data() + at, r.nx, rows,
                                      GDT_Float32, 0, 0);
    CPLPopErrorHandler();
    if (err != CE_None)
      return fail(Error::msg(
          fmt::format("cannot read raster band 1 at row {}: {}", j0 + j, CPLGetLastErrorMsg()),
          m.name));
    if (j == 0) r.z.reserve(row * static_cast<std::size_t>(r.ny));
  }
  for (float& v : r.z)
    if ((has_nodata &&
         (v == static_cast<float>(nodata) || (std::isnan(nodata) && std::isnan(v)))) ||
        !std::isfinite(v))
      v = k_nan;
  return r;
}

Result<Raster> read_raster(const std::string& path) {
  auto src = RasterSource::open({path});
  if (!src) return fail(src.error());
  return src->read();
}

Terrain terrain_from_raster(const Raster& r) {
  Terrain t;
  t.nx = r.nx;
  t.ny = r.ny;
  t.dx = r.geo[1];
  t.dy = -r.geo[5];
  t.x0 = r.geo[0];
  t.y0 = r.geo[3] + r.geo[5] * r.ny;
  t.z.resize(r.z.size());
  for (int j = 0; j < r.ny; ++j)
    for (int i = 0; i < r.nx; ++i) {
      const float v = r.z[static_cast<std::size_t>(r.ny - 1 - j) * r.nx + i];
      t.z[static_cast<std::size_t>(j) * r.nx + i] = v;
      t.nodata_cells += std::isnan(v);
    }
  return t;
}

std::array<double, 4> raster_box(const Raster& r) {
  const double xa = r.geo[0], xb = r.geo[0] + r.nx * r.geo[1];
  const double ya = r.geo[3], yb = r.geo[3] + r.ny * r.geo[5];
  return {std::min(xa, xb), std::min(ya, yb), std::max(xa, xb), std::max(ya, yb)};
}

std::array<double, 4> transform_box(const std::array<double, 4>& b, const CrsTransform& tr,
                                    bool inverse) {
  // Points along the border (a projected box's edges are curves in the other CRS).
  std::array<double, 4> out{1e300, 1e300, -1e300, -1e300};
  const int samples = 32;
  for (int k = 0; k <= samples; ++k) {
    const double s = static_cast<double>(k) / samples;
    const double xs[4] = {b[0] + s * (b[2] - b[0]), b[0] + s * (b[2] - b[0]), b[0], b[2]};
    const double ys[4] = {b[1], b[3], b[1] + s * (b[3] - b[1]), b[1] + s * (b[3] - b[1])};
    for (int e = 0; e < 4; ++e) {
      double x = xs[e], y = ys[e];
      if (!(inverse ? tr.inverse(x, y) : tr.forward(x, y))) continue;
      out = {std::min(out[0], x), std::min(out[1], y), std::max(out[2], x), std::max(out[3], y)};
    }
  }
  return out;
}

Result<Terrain> resample_terrain(const Raster& r, const CrsTransform* to_model,
                                 std::optional<std::array<double, 4>> extent, double resolution) {
  auto forward = [&](double& x, double& y) { return !to_model || to_model->forward(x, y); };
  auto inverse = [&](double& x, double& y) { return !to_model || to_model->inverse(x, y); };
  std::array<double, 4> box =
      to_model ? transform_box(raster_box(r), *to_model, false) : raster_box(r);
  if (box[0] > box[2]) return fail(Error::msg("the raster does not project into the model CRS"));
  if (extent) {
    box = {std::max(box[0], (*extent)[0]), std::max(box[1], (*extent)[1]),
           std::min(box[2], (*extent)[2]), std::min(box[3], (*extent)[3])};
    if (box[0] >= box[2] || box[1] >= box[3])
      return fail(Error::msg("the elevation raster does not overlap the city"));
  }
  if (resolution <= 0) {
    // About the raster's own cell size at its centre, rounded to a metre.
    double cx = r.geo[0] + 0.5 * r.nx * r.geo[1], cy = r.geo[3] + 0.5 * r.ny * r.geo[5];
    double ax = cx + r.geo[1], ay = cy;
    double bx = cx, by = cy + r.geo[5];
    forward(cx, cy);
    forward(ax, ay);
    forward(bx, by);
    resolution = std::max(
        1.0, std::round(std::min(std::hypot(ax - cx, ay - cy), std::hypot(bx - cx, by - cy))));
  }
  // Sized before anything is allocated: a grid too big for an index or for the machine is a
  // request to refuse, with what to change.
  const double nx = std::max(1.0, std::ceil((box[2] - box[0]) / resolution)),
               ny = std::max(1.0, std::ceil((box[3] - box[1]) / resolution));
  const double bytes = nx * ny * sizeof(float);
  if (nx * ny > static_cast<double>(std::numeric_limits<std::int32_t>::max()) ||
      bytes > static_cast<double>(memory_budget()))
    return fail(Diagnostic::at(
        "", 0, "city.terrain_resolution",
        fmt::format("a terrain grid of {:.0f} x {:.0f} cells at {} m needs {} for its "
                    "elevations alone; this machine has {} available",
                    nx, ny, resolution, format_bytes(bytes),
                    format_bytes(static_cast<double>(memory_budget()))),
        "", "a coarser city.terrain_resolution, or a smaller city.bbox"));
  Terrain t;
  t.dx = t.dy = resolution;
  t.x0 = box[0];
  t.y0 = box[1];
  t.nx = static_cast<int>(nx);
  t.ny = static_cast<int>(ny);
  t.z.assign(static_cast<std::size_t>(t.nx) * t.ny, k_nan);
  for (int j = 0; j < t.ny; ++j)
    for (int i = 0; i < t.nx; ++i) {
      double x = t.x0 + (i + 0.5) * t.dx, y = t.y0 + (j + 0.5) * t.dy;
      const double v = inverse(x, y) ? r.sample(x, y) : std::nan("");
      t.z[static_cast<std::size_t>(j) * t.nx + i] = static_cast<float>(v);
      t.nodata_cells += std::isnan(v);
    }
  return t;
}

}  // namespace citytwin
