#include "city/dem.hpp"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "city/crs_transform.hpp"

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

Result<Raster> read_raster(const std::string& path) {
  GDALAllRegister();
  CPLPushErrorHandler(CPLQuietErrorHandler);
  CPLErrorReset();
  std::unique_ptr<GDALDataset> ds(
      GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  CPLPopErrorHandler();
  if (!ds) {
    const std::string why = CPLGetLastErrorMsg();
    return fail(Error::msg("cannot read elevation raster" +
                               (why.empty() ? std::string() : ": " + why) +
                               " (expected a GeoTIFF or ESRI ASCII grid)",
                           path));
  }
  Raster r;
  r.nx = ds->GetRasterXSize();
  r.ny = ds->GetRasterYSize();
  if (ds->GetGeoTransform(r.geo.data()) != CE_None)
    return fail(Error::msg("the raster has no georeferencing (geotransform)", path));
  if (r.geo[2] != 0 || r.geo[4] != 0)
    return fail(
        Error::msg("rotated rasters are not supported; warp it north-up first (gdalwarp)", path));
  if (const OGRSpatialReference* srs = ds->GetSpatialRef()) {
    char* wkt = nullptr;
    const char* opts[] = {"FORMAT=WKT2_2019", nullptr};
    srs->exportToWkt(&wkt, opts);
    if (wkt) r.wkt = wkt;
    CPLFree(wkt);
    r.geographic = srs->IsGeographic();
  }
  GDALRasterBand* band = ds->GetRasterBand(1);
  int has_nodata = 0;
  const double nodata = band->GetNoDataValue(&has_nodata);
  r.z.resize(static_cast<std::size_t>(r.nx) * r.ny);
  if (band->RasterIO(GF_Read, 0, 0, r.nx, r.ny, r.z.data(), r.nx, r.ny, GDT_Float32, 0, 0) !=
      CE_None)
    return fail(
        Error::msg("cannot read raster band 1: " + std::string(CPLGetLastErrorMsg()), path));
  for (float& v : r.z)
    if ((has_nodata &&
         (v == static_cast<float>(nodata) || (std::isnan(nodata) && std::isnan(v)))) ||
        !std::isfinite(v))
      v = k_nan;
  return r;
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

Result<Terrain> resample_terrain(const Raster& r, const std::string& model_crs,
                                 std::optional<std::array<double, 4>> extent, double resolution) {
  if (r.wkt.empty())
    return fail(Error::msg("the raster names no CRS, so it cannot be reprojected into " +
                           model_crs + "; give it a .prj/CRS or set city.crs to its own CRS"));
  auto tr = CrsTransform::create(r.wkt, model_crs);
  if (!tr) return fail(tr.error());
  // Footprint of the raster in model coordinates, from points along its border.
  std::array<double, 4> box{1e300, 1e300, -1e300, -1e300};
  const int samples = 32;
  for (int k = 0; k <= samples; ++k) {
    const double s = static_cast<double>(k) / samples;
    const double xs[4] = {r.geo[0] + s * r.nx * r.geo[1], r.geo[0] + s * r.nx * r.geo[1], r.geo[0],
                          r.geo[0] + r.nx * r.geo[1]};
    const double ys[4] = {r.geo[3], r.geo[3] + r.ny * r.geo[5], r.geo[3] + s * r.ny * r.geo[5],
                          r.geo[3] + s * r.ny * r.geo[5]};
    for (int e = 0; e < 4; ++e) {
      double x = xs[e], y = ys[e];
      if (!tr->forward(x, y)) continue;
      box = {std::min(box[0], x), std::min(box[1], y), std::max(box[2], x), std::max(box[3], y)};
    }
  }
  if (box[0] > box[2]) return fail(Error::msg("the raster does not project into " + model_crs));
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
    tr->forward(cx, cy);
    tr->forward(ax, ay);
    tr->forward(bx, by);
    resolution = std::max(
        1.0, std::round(std::min(std::hypot(ax - cx, ay - cy), std::hypot(bx - cx, by - cy))));
  }
  Terrain t;
  t.dx = t.dy = resolution;
  t.x0 = box[0];
  t.y0 = box[1];
  t.nx = std::max(1, static_cast<int>(std::ceil((box[2] - box[0]) / resolution)));
  t.ny = std::max(1, static_cast<int>(std::ceil((box[3] - box[1]) / resolution)));
  t.z.assign(static_cast<std::size_t>(t.nx) * t.ny, k_nan);
  for (int j = 0; j < t.ny; ++j)
    for (int i = 0; i < t.nx; ++i) {
      double x = t.x0 + (i + 0.5) * t.dx, y = t.y0 + (j + 0.5) * t.dy;
      const double v = tr->inverse(x, y) ? r.sample(x, y) : std::nan("");
      t.z[static_cast<std::size_t>(j) * t.nx + i] = static_cast<float>(v);
      t.nodata_cells += std::isnan(v);
    }
  return t;
}

}  // namespace citytwin
