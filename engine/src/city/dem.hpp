// Private to engine/src/city: making the model's Terrain from an elevation raster (Raster and
// read_raster are public, in citytwin/city.hpp).
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "citytwin/city.hpp"

namespace citytwin {

/// An elevation source opened but not yet read: one raster, or several tiles mosaicked by
/// GDAL (an in-memory VRT; tiles must share one CRS). Only local files are opened: a path or a
/// VRT source on a network file system (/vsicurl/, /vsis3/, URLs) is an error, so an input
/// file can never make the engine reach out to the network -- unless `allow_network`
/// (city.allow_network) says the user wants it.
class RasterSource {
 public:
  static Result<RasterSource> open(const std::vector<std::string>& paths,
                                   bool allow_network = false);
  ~RasterSource();
  RasterSource(RasterSource&&) noexcept;
  RasterSource& operator=(RasterSource&&) = delete;

  /// Size, geotransform and CRS of the whole source (no cells).
  const Raster& header() const { return m_header; }
  /// The cells meeting `box` ([xmin, ymin, xmax, ymax] in the raster's CRS) and `pad` more
  /// on every side, or every cell without a box. Only that window is read from disk.
  Result<Raster> read(std::optional<std::array<double, 4>> box = {}, int pad = 0) const;

 private:
  RasterSource();
  struct Impl;
  std::unique_ptr<Impl> m_impl;
  Raster m_header;
};

/// The raster as Terrain when it already is in the model CRS (rows flipped to south-first).
Terrain terrain_from_raster(const Raster& r);

class CrsTransform;

/// Resamples the raster onto a regular grid of the model CRS (`to_model` from the raster's;
/// null: the raster is in the model CRS) covering `extent` (model coordinates; the raster's own
/// footprint when empty) with cells of `resolution` metres (0: about the raster's own cell
/// size). A grid too big for the machine is refused before it is allocated.
Result<Terrain> resample_terrain(const Raster& r, const CrsTransform* to_model,
                                 std::optional<std::array<double, 4>> extent, double resolution);

/// [xmin, ymin, xmax, ymax] of the raster's cells in its own CRS.
std::array<double, 4> raster_box(const Raster& r);
/// A box carried through a transform (forward, or inverse), as the box of points along its
/// border.
std::array<double, 4> transform_box(const std::array<double, 4>& box, const CrsTransform& tr,
                                    bool inverse);

/// Bilinear interpolation on a regular grid of nx * ny values at fractional cell indices
/// (cell centres at integers), renormalised over corners holding data; NaN outside or no data.
double bilinear(const float* z, int nx, int ny, double fx, double fy);

}  // namespace citytwin
