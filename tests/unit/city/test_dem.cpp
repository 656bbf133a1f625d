#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "city/dem.hpp"
#include "citytwin/city.hpp"

using namespace citytwin;

namespace {
const std::string k_data = std::string(CITYTWIN_SOURCE_DIR) + "/tests/data/city/";
const std::string k_monaco_dem =
    std::string(CITYTWIN_SOURCE_DIR) + "/assets/monaco/monaco_srtm3_crop.tif";
}  // namespace

TEST_CASE("ESRI ASCII grid: rows flipped south-first, exact at cell centres, nodata handled",
          "[city][dem]") {
  auto r = read_raster(k_data + "tiny.asc");
  REQUIRE(r.has_value());
  CHECK(r->wkt.empty());
  const Terrain t = terrain_from_raster(*r);
  CHECK(t.nx == 4);
  CHECK(t.ny == 3);
  CHECK(t.x0 == 1000.0);
  CHECK(t.y0 == 2000.0);
  CHECK(t.dx == 10.0);
  CHECK(t.nodata_cells == 1);
  CHECK(t.at(0, 0) == 9.0f);  // south-west: the last row of the file
  CHECK(t.at(3, 2) == 4.0f);  // north-east: the first row of the file
  CHECK(std::isnan(t.at(2, 1)));
  // Cell centres give the cell values exactly.
  CHECK(t.sample(1005, 2005) == 9.0);
  CHECK(t.sample(1035, 2025) == 4.0);
  // Halfway between two centres: the mean. (1005..1015, y = 2005): 9 and 10.
  CHECK(t.sample(1010, 2005) == Approx(9.5).epsilon(1e-12));
  // Bilinear in the middle of four centres: (9 + 10 + 5 + 6) / 4.
  CHECK(t.sample(1010, 2010) == Approx(7.5).epsilon(1e-12));
  // Next to nodata, the weights renormalise over the corners that hold data:
  // corners (1,1)=6, (2,1)=nodata, (1,0)=10, (2,0)=11 at the centre of the four -> (6+10+11)/3.
  CHECK(t.sample(1020, 2010) == Approx(9.0).epsilon(1e-12));
  // Within half a cell of the edge: the edge value; beyond it: NaN.
  CHECK(t.sample(1001, 2001) == 9.0);
  CHECK(std::isnan(t.sample(999, 2005)));
  CHECK(std::isnan(t.sample(1005, 2031)));
  CHECK(t.min() == 1.0);
  CHECK(t.max() == 12.0);
}

TEST_CASE("GeoTIFF sampling equals GDAL's gdallocationinfo at known cells", "[city][dem]") {
  auto r = read_raster(k_monaco_dem);
  REQUIRE(r.has_value());
  CHECK(r->geographic);
  CHECK(r->nx == 84);
  CHECK(r->ny == 66);
  // Reference values: `gdallocationinfo -valonly monaco_srtm3_crop.tif COL ROW`.
  struct Cell {
    int col, row;
    double value;
  };
  for (const Cell c : {Cell{10, 20, 451}, Cell{11, 20, 423}, Cell{40, 30, 45}, Cell{40, 31, 50},
                       Cell{0, 0, 490}, Cell{83, 65, 0}}) {
    const double lon = r->geo[0] + (c.col + 0.5) * r->geo[1];
    const double lat = r->geo[3] + (c.row + 0.5) * r->geo[5];
    // Cell centres computed from the geotransform are exact to ~1e-12 cells.
    CHECK(r->sample(lon, lat) == Approx(c.value).margin(1e-6));
  }
  // Halfway between (10,20) and (11,20): the mean of 451 and 423.
  const double lon = r->geo[0] + 11.0 * r->geo[1], lat = r->geo[3] + 20.5 * r->geo[5];
  CHECK(r->sample(lon, lat) == Approx(437.0).epsilon(1e-9));
}

TEST_CASE("a file that is not a raster is a located error", "[city][dem]") {
  auto r = read_raster(k_data + "README.md");
  REQUIRE(!r);
  CHECK(r.error().first().file == k_data + "README.md");
  CHECK(r.error().first().message.find("GeoTIFF or ESRI ASCII") != std::string::npos);
}

TEST_CASE("a city from a DEM alone loads in the DEM's own grid", "[city][dem]") {
  CitySpec spec;
  spec.dem = {k_data + "tiny.asc"};
  auto city = import_city(spec);
  REQUIRE(city.has_value());
  const CityModel& c = **city;
  CHECK(c.crs.name == "LOCAL");
  CHECK(c.terrain.nx == 4);
  CHECK(c.buildings.size() == 0);
  CHECK(c.roads.link_count() == 0);
  CHECK(c.extent == std::array<double, 4>{1000, 2000, 1040, 2030});
  // With a CRS named, the raster is taken to be in it and kept on its grid.
  spec.crs = "EPSG:32632";
  auto named = import_city(spec);
  REQUIRE(named.has_value());
  CHECK((*named)->crs.name == "EPSG:32632");
  CHECK((*named)->terrain.at(0, 0) == 9.0f);
}

TEST_CASE("depression filling raises pits to their spill level and nothing else", "[city][dem]") {
  // A 5x5 bowl: rim at 10 m with one notch at 6 m on the east side, centre pit at 2 m.
  const std::string dir = std::filesystem::temp_directory_path().string();
  const std::string path = dir + "/citytwin_pit.asc";
  {
    std::ofstream f(path);
    f << "ncols 5\nnrows 5\nxllcorner 0\nyllcorner 0\ncellsize 1\nNODATA_value -9999\n"
      << "10 10 10 10 10\n10 8 8 8 10\n10 8 2 8 6\n10 8 8 8 10\n10 10 10 10 10\n";
  }
  CitySpec spec;
  spec.dem = {path};
  spec.fill_depressions = true;
  auto city = import_city(spec);
  REQUIRE(city.has_value());
  const Terrain& t = (*city)->terrain;
  // Everything inside the rim drains through the 6 m notch... but the inner ring at 8 m is
  // already above it, so only the 2 m pit is raised, to 8 m (its lowest way out).
  CHECK(t.at(2, 2) == 8.0f);
  CHECK(t.at(4, 2) == 6.0f);
  CHECK(t.at(1, 1) == 8.0f);
  CHECK(t.at(0, 0) == 10.0f);
  CHECK((*city)->stats.depression_cells_filled == 1);
  std::filesystem::remove(path);
}
