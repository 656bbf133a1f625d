// Raster export for results users open directly (QGIS, GDAL tools): GeoTIFF and ESRI ASCII.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "citytwin/error.hpp"

namespace citytwin {

/// A north-up raster in the model CRS. Row 0 is the SOUTHERNMOST row (like Terrain); writers
/// flip it to the file's north-first order.
struct RasterGrid {
  int nx = 0, ny = 0;
  double x0 = 0, y0 = 0;  ///< south-west corner of cell (0, 0)
  double dx = 0;          ///< square cell size (m)
  std::string crs_wkt;    ///< may be empty (no CRS written)
  double nodata = -9999;
};

/// Writes a float32 GeoTIFF (deflate-compressed) with the grid's georeferencing and CRS.
Result<void> write_geotiff(const std::string& path, const RasterGrid& grid,
                           const std::vector<float>& values);
/// Writes an ESRI ASCII grid (.asc) and, when the CRS is known, a .prj next to it.
Result<void> write_esri_ascii(const std::string& path, const RasterGrid& grid,
                              const std::vector<float>& values);

/// Writes an 8-bit RGB PNG (width x height pixels, rgb row-major from the TOP row, 3 bytes each):
/// maps for reports.
Result<void> write_png(const std::string& path, int width, int height,
                       const std::vector<std::uint8_t>& rgb);

}  // namespace citytwin
