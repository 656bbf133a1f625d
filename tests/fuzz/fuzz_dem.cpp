// An elevation raster (ESRI ASCII grid or GeoTIFF, told apart by GDAL from the bytes) through
// read_raster, from a GDAL in-memory file (/vsimem/). Only GDAL's GTiff and AAIGrid drivers stay
// registered: the other formats GDAL reads are GDAL's own fuzzers' work (OSS-Fuzz), and this
// harness is about what CityTwin does with the raster GDAL hands it.
#include <cpl_conv.h>
#include <cpl_vsi.h>
#include <gdal.h>
#include <gdal_priv.h>

#include <cstdint>
#include <string>

#include "citytwin/city.hpp"
#include "fuzz_support.hpp"

namespace {

void keep_only_dem_drivers() {
  GDALAllRegister();
  std::string skip;
  for (int k = 0; k < GDALGetDriverCount(); ++k) {
    const std::string name = GDALGetDriverShortName(GDALGetDriver(k));
    if (name == "GTiff" || name == "AAIGrid") continue;
    skip += name;
    skip += ' ';
  }
  CPLSetConfigOption("GDAL_SKIP", skip.c_str());
  GetGDALDriverManager()->AutoSkipDrivers();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool once = (keep_only_dem_drivers(), true);
  (void)once;
  const char* path = "/vsimem/citytwin_fuzz_dem";
  // GDAL only reads the buffer (bTakeOwnership = FALSE: it stays ours).
  VSILFILE* f =
      VSIFileFromMemBuffer(path, const_cast<GByte*>(data), static_cast<vsi_l_offset>(size), FALSE);
  VSIFCloseL(f);
  auto raster = citytwin::read_raster(path);
  VSIUnlink(path);
  return citytwin::fuzz::note(raster);
}
