// Private to engine/src/city: reading elevation rasters (GDAL) and making the model's Terrain.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "citytwin/city.hpp"

namespace citytwin {

/// A raster as stored in its file: row 0 is the first (northern) row, cell values as float,
/// NaN for nodata. Coordinates in the raster's own CRS.
struct Raster {
  int nx = 0, ny = 0;
  std::array<double, 6> geo{};  ///< GDAL geotransform (x0, dx, 0, y0, 0, dy<0); no rotation
  std::vector<float> z;         ///< (ny * nx)
  std::string wkt;              ///< raster CRS, empty when the file names none
  bool geographic = false;      ///< CRS in degrees

  /// Bilinear between cell centres, renormalised over the corners that hold data; NaN outside.
  double sample(double x, double y) const;
};

/// Reads band 1 of a GeoTIFF, ESRI ASCII grid or any raster GDAL reads.
Result<Raster> read_raster(const std::string& path);

/// The raster as Terrain when it already is in the model CRS (rows flipped to south-first).
Terrain terrain_from_raster(const Raster& r);

/// Resamples the raster onto a regular grid of the model CRS covering `extent` (model
/// coordinates; the raster's own footprint when empty) with cells of `resolution` metres
/// (0: about the raster's own cell size).
Result<Terrain> resample_terrain(const Raster& r, const std::string& model_crs,
                                 std::optional<std::array<double, 4>> extent, double resolution);

/// Bilinear interpolation on a regular grid of nx * ny values at fractional cell indices
/// (cell centres at integers), renormalised over corners holding data; NaN outside or no data.
double bilinear(const float* z, int nx, int ny, double fx, double fy);

}  // namespace citytwin
