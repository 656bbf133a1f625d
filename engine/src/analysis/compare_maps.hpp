// Private to engine/src/analysis: the per-frame flood series and the difference maps of
// citytwin compare (docs/compare.md).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "citytwin/compare.hpp"

namespace citytwin {

class RunReader;

/// Flooded area (depth > 0.1 m) of every output frame of each run, and at the times both runs
/// have, the L1 difference of their depth grids (m3: sum of |d_variant - d_base| x cell area).
struct FloodFrames {
  std::vector<double> base_area_ha, variant_area_ha;  ///< by frame of each run; empty: no flood
  std::map<std::int64_t, double> l1_by_time;          ///< ms -> m3
};
FloodFrames flood_frames(const RunReader& base, const RunReader& variant,
                         const std::vector<double>& base_t, const std::vector<double>& variant_t);

/// The difference maps: max_depth_difference.tif, flood_extent_change.tif, links.csv,
/// links.geojson, buildings.geojson and the PNG maps, each where both runs have the data.
/// Adds the files to c.files and the PNGs to c.pictures.
Result<void> write_maps(const RunReader& base, const RunReader& variant, const std::string& dir,
                        Comparison& c);

/// The probability of exceedance maps of an ensemble: per flood cell, the fraction of members
/// whose maximum depth exceeded 0.1, 0.3 and 1 m (exceedance_<d>m.tif; nodata on inactive
/// cells) and exceedance_0_3m.png. `first` is any member (the grid and the bed).
Result<void> write_exceedance(const RunReader& first,
                              const std::vector<std::vector<float>>& max_depth,
                              const std::string& dir, std::vector<std::string>& files);

/// The runs are of one city, CRS, road network and flood grid (compare.cpp); an error naming
/// the first difference.
Result<void> comparable(const RunReader& base, const RunReader& variant);

}  // namespace citytwin
