// Private to engine/src/city: making the model's Terrain from an elevation raster (Raster and
// read_raster are public, in citytwin/city.hpp).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "citytwin/city.hpp"

namespace citytwin {

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
