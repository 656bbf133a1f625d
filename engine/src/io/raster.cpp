// GeoTIFF through GDAL, ESRI ASCII as plain text. Values are (ny * nx), row 0 south; NaN is
// written as the nodata value.
#include "citytwin/raster.hpp"

#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>

namespace citytwin {

namespace {

Result<void> check(const std::string& path, const RasterGrid& g, const std::vector<float>& v) {
  if (g.nx <= 0 || g.ny <= 0 || v.size() != static_cast<std::size_t>(g.nx) * g.ny)
    return fail(Error::msg("raster of " + std::to_string(g.nx) + " x " + std::to_string(g.ny) +
                               " cells got " + std::to_string(v.size()) + " values",
                           path));
  return {};
}

}  // namespace

Result<void> write_geotiff(const std::string& path, const RasterGrid& g,
                           const std::vector<float>& values) {
  if (auto ok = check(path, g, values); !ok) return ok;
  GDALAllRegister();
  GDALDriver* drv = GetGDALDriverManager()->GetDriverByName("GTiff");
  if (!drv) return fail(Error::msg("GDAL has no GTiff driver", path));
  char** opts = nullptr;
  opts = CSLSetNameValue(opts, "COMPRESS", "DEFLATE");
  GDALDataset* ds = drv->Create(path.c_str(), g.nx, g.ny, 1, GDT_Float32, opts);
  CSLDestroy(opts);
  if (!ds)
    return fail(Error::msg("cannot create GeoTIFF: " + std::string(CPLGetLastErrorMsg()), path));
  double gt[6] = {g.x0, g.dx, 0, g.y0 + g.ny * g.dx, 0, -g.dx};
  ds->SetGeoTransform(gt);
  if (!g.crs_wkt.empty()) {
    OGRSpatialReference srs;
    if (srs.importFromWkt(g.crs_wkt.c_str()) == OGRERR_NONE) ds->SetSpatialRef(&srs);
  }
  GDALRasterBand* band = ds->GetRasterBand(1);
  band->SetNoDataValue(g.nodata);
  std::vector<float> row(static_cast<std::size_t>(g.nx));
  CPLErr err = CE_None;
  for (int r = 0; r < g.ny && err == CE_None; ++r) {
    const int j = g.ny - 1 - r;  // file rows run north to south
    for (int i = 0; i < g.nx; ++i) {
      const float v = values[static_cast<std::size_t>(j) * g.nx + i];
      row[static_cast<std::size_t>(i)] = std::isnan(v) ? static_cast<float>(g.nodata) : v;
    }
    err = band->RasterIO(GF_Write, 0, r, g.nx, 1, row.data(), g.nx, 1, GDT_Float32, 0, 0);
  }
  GDALClose(ds);
  if (err != CE_None)
    return fail(Error::msg("GeoTIFF write failed: " + std::string(CPLGetLastErrorMsg()), path));
  return {};
}

Result<void> write_esri_ascii(const std::string& path, const RasterGrid& g,
                              const std::vector<float>& values) {
  if (auto ok = check(path, g, values); !ok) return ok;
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return fail(Error::msg("cannot write ESRI ASCII grid", path));
  std::fprintf(
      f, "ncols %d\nnrows %d\nxllcorner %.6f\nyllcorner %.6f\ncellsize %.6f\nNODATA_value %g\n",
      g.nx, g.ny, g.x0, g.y0, g.dx, g.nodata);
  for (int j = g.ny - 1; j >= 0; --j) {
    for (int i = 0; i < g.nx; ++i) {
      const float v = values[static_cast<std::size_t>(j) * g.nx + i];
      std::fprintf(f, i ? " %.4f" : "%.4f", std::isnan(v) ? g.nodata : static_cast<double>(v));
    }
    std::fputc('\n', f);
  }
  const bool ok = std::fclose(f) == 0;
  if (!ok) return fail(Error::msg("ESRI ASCII write failed", path));
  if (!g.crs_wkt.empty()) {
    OGRSpatialReference srs;
    if (srs.importFromWkt(g.crs_wkt.c_str()) == OGRERR_NONE) {
      srs.morphToESRI();
      char* wkt = nullptr;
      srs.exportToWkt(&wkt);
      const std::string prj = path.substr(0, path.rfind('.')) + ".prj";
      std::ofstream(prj) << (wkt ? wkt : "");
      CPLFree(wkt);
    }
  }
  return {};
}

Result<void> write_png(const std::string& path, int width, int height,
                       const std::vector<std::uint8_t>& rgb) {
  if (width <= 0 || height <= 0 || rgb.size() != static_cast<std::size_t>(width) * height * 3)
    return fail(Error::msg("image of " + std::to_string(width) + " x " + std::to_string(height) +
                               " pixels got " + std::to_string(rgb.size()) + " bytes",
                           path));
  GDALAllRegister();
  GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
  GDALDriver* png = GetGDALDriverManager()->GetDriverByName("PNG");
  if (!mem || !png) return fail(Error::msg("GDAL has no MEM or PNG driver", path));
  GDALDataset* ds = mem->Create("", width, height, 3, GDT_Byte, nullptr);
  if (!ds) return fail(Error::msg("cannot create an image in memory", path));
  // Pixel-interleaved input: pixel stride 3, line stride 3 * width, band stride 1.
  auto* data = const_cast<std::uint8_t*>(rgb.data());
  int bands[3] = {1, 2, 3};
  CPLErr err = ds->RasterIO(GF_Write, 0, 0, width, height, data, width, height, GDT_Byte, 3, bands,
                            3, 3 * static_cast<GSpacing>(width), 1, nullptr);
  GDALDataset* out = err == CE_None
                         ? png->CreateCopy(path.c_str(), ds, FALSE, nullptr, nullptr, nullptr)
                         : nullptr;
  GDALClose(ds);
  if (!out) return fail(Error::msg("cannot write PNG: " + std::string(CPLGetLastErrorMsg()), path));
  GDALClose(out);
  return {};
}

}  // namespace citytwin
