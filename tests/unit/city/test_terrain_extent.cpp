// The model's extent is the city's: terrain cropped to the OSM data, tiles mosaicked, only
// local files read.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <cpl_conv.h>
#include <cpl_http.h>
#include <fcntl.h>
#include <gdal_priv.h>
#include <gdal_utils.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include "citytwin/city.hpp"

using namespace citytwin;
namespace fs = std::filesystem;

namespace {

const std::string k_assets = std::string(CITYTWIN_SOURCE_DIR) + "/assets/monaco/";
const std::string k_osm = k_assets + "monaco-2025-02.osm.pbf";
const std::string k_crop = k_assets + "monaco_srtm3_crop.tif";
const std::string k_tile = k_assets + "N43E007.hgt.zip";

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("citytwin_extent_" + std::to_string(::getpid()));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

// gdal_translate SRC DST with the given options (e.g. -srcwin), through the GDAL API.
void translate(const std::string& src, const std::string& dst, std::vector<std::string> args) {
  GDALAllRegister();
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  GDALTranslateOptions* opts = GDALTranslateOptionsNew(argv.data(), nullptr);
  GDALDatasetH in = GDALOpen(src.c_str(), GA_ReadOnly);
  REQUIRE(in != nullptr);
  GDALDatasetH out = GDALTranslate(dst.c_str(), in, opts, nullptr);
  REQUIRE(out != nullptr);
  GDALClose(out);
  GDALClose(in);
  GDALTranslateOptionsFree(opts);
}

std::shared_ptr<const CityModel> import(CitySpec spec) {
  auto city = import_city(spec);
  if (!city) FAIL(city.error().to_string());
  return *city;
}

}  // namespace

TEST_CASE("without a bbox, a 1-degree terrain tile is cropped to the OSM data plus the margin",
          "[city][dem][extent]") {
  CitySpec spec;
  spec.osm = k_osm;
  spec.dem = {k_tile};
  spec.terrain_resolution_m = 30;
  const auto city = import(spec);
  const Terrain& t = city->terrain;
  // The box of the city's own data (road points, building points, substations).
  double x0 = 1e300, y0 = 1e300, x1 = -1e300, y1 = -1e300;
  auto grow = [&](const std::vector<double>& xs, const std::vector<double>& ys) {
    for (std::size_t k = 0; k < xs.size(); ++k)
      x0 = std::min(x0, xs[k]), y0 = std::min(y0, ys[k]), x1 = std::max(x1, xs[k]),
      y1 = std::max(y1, ys[k]);
  };
  grow(city->roads.point_x, city->roads.point_y);
  grow(city->buildings.x, city->buildings.y);
  grow(city->power.substation_x, city->power.substation_y);
  const double m = spec.margin_m;
  CHECK(t.x0 == Approx(x0 - m).margin(1e-6));
  CHECK(t.y0 == Approx(y0 - m).margin(1e-6));
  CHECK(t.nx == static_cast<int>(std::ceil((x1 - x0 + 2 * m) / 30)));
  CHECK(t.ny == static_cast<int>(std::ceil((y1 - y0 + 2 * m) / 30)));
  // Monaco is about 5 km x 4 km: a few tens of thousands of 30 m cells, where the whole tile
  // (about 81 km x 111 km) would be ten million.
  CHECK(t.z.size() < 60'000);
  CHECK(t.nodata_cells == 0);

  // The same extent and resolution from the 84 x 66 crop cut from this tile gives the same
  // elevations wherever the crop reaches (both are bilinear on the same SRTM cells).
  CitySpec crop = spec;
  crop.dem = {k_crop};
  const auto c2 = import(crop);
  const Terrain& u = c2->terrain;
  REQUIRE(u.nx == t.nx);
  REQUIRE(u.ny == t.ny);
  std::int64_t compared = 0;
  double worst = 0;
  for (std::size_t k = 0; k < t.z.size(); ++k)
    if (!std::isnan(u.z[k]))
      ++compared, worst = std::max(worst, std::fabs(double(u.z[k]) - t.z[k]));
  CHECK(compared > static_cast<std::int64_t>(t.z.size()) / 2);
  CHECK(worst <= 1e-3);
}

TEST_CASE("a DEM given as a list of tiles imports like the single raster they were cut from",
          "[city][dem][extent]") {
  TempDir dir;
  // The 84 x 66 crop cut into a west (42 columns) and an east tile.
  const std::string west = (dir.path / "west.tif").string(),
                    east = (dir.path / "east.tif").string();
  translate(k_crop, west, {"-srcwin", "0", "0", "42", "66"});
  translate(k_crop, east, {"-srcwin", "42", "0", "42", "66"});
  CitySpec spec;
  spec.osm = k_osm;
  spec.bbox = std::array<double, 4>{7.405, 43.718, 7.445, 43.755};
  spec.terrain_resolution_m = 20;
  spec.dem = {k_crop};
  const auto whole = import(spec);
  spec.dem = {west, east};
  const auto tiled = import(spec);
  const Terrain &a = whole->terrain, &b = tiled->terrain;
  REQUIRE(a.nx == b.nx);
  REQUIRE(a.ny == b.ny);
  CHECK(a.x0 == b.x0);
  CHECK(a.y0 == b.y0);
  std::int64_t differ = 0;
  for (std::size_t k = 0; k < a.z.size(); ++k)
    differ += !(a.z[k] == b.z[k] || (std::isnan(a.z[k]) && std::isnan(b.z[k])));
  CHECK(differ == 0);
  // Also in the other order: the mosaic places tiles by their georeferencing.
  spec.dem = {east, west};
  CHECK(import(spec)->terrain.z == b.z);

  // Tiles in different CRSs cannot be mosaicked: an error naming the odd tile.
  const std::string relabelled = (dir.path / "utm.tif").string();
  translate(east, relabelled, {"-a_srs", "EPSG:32632"});
  spec.dem = {west, relabelled};
  auto bad = import_city(spec);
  REQUIRE(!bad);
  CHECK(bad.error().first().file == relabelled);
  CHECK(bad.error().first().message.find("different CRS") != std::string::npos);
}

TEST_CASE("a raster on the network is refused without a request being made",
          "[city][dem][network]") {
  // A listening socket on loopback that the VRT points at: nothing may connect to it.
  const int server = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(server >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  REQUIRE(::bind(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(server, 4) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(server, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  const int port = ntohs(addr.sin_port);

  TempDir dir;
  const std::string vrt = (dir.path / "remote.vrt").string();
  {
    std::ofstream f(vrt);
    f << "<VRTDataset rasterXSize=\"84\" rasterYSize=\"66\">\n"
      << "  <GeoTransform>7.4, 0.000833, 0, 43.76, 0, -0.000833</GeoTransform>\n"
      << "  <VRTRasterBand dataType=\"Float32\" band=\"1\">\n"
      << "    <SimpleSource>\n"
      << "      <SourceFilename relativeToVRT=\"0\">/vsicurl/http://127.0.0.1:" << port
      << "/dem.tif</SourceFilename>\n"
      << "      <SourceBand>1</SourceBand>\n"
      << "    </SimpleSource>\n"
      << "  </VRTRasterBand>\n"
      << "</VRTDataset>\n";
  }
  // A local VRT whose source is that VRT: the check follows local VRTs.
  const std::string outer = (dir.path / "outer.vrt").string();
  {
    std::ofstream f(outer);
    f << "<VRTDataset rasterXSize=\"84\" rasterYSize=\"66\">\n"
      << "  <VRTRasterBand dataType=\"Float32\" band=\"1\">\n"
      << "    <SimpleSource><SourceFilename relativeToVRT=\"1\">remote.vrt</SourceFilename>"
      << "<SourceBand>1</SourceBand></SimpleSource>\n"
      << "  </VRTRasterBand>\n"
      << "</VRTDataset>\n";
  }
  for (const std::string& path : {vrt, outer}) {
    CitySpec spec;
    spec.dem = {path};
    auto r = import_city(spec);
    REQUIRE(!r);
    CHECK(r.error().first().message.find("network") != std::string::npos);
    // Named where it is: the inner VRT's line 5.
    CHECK(r.error().first().file == vrt);
    CHECK(r.error().first().line == 5);
  }
  auto direct = read_raster("/vsicurl/http://127.0.0.1:" + std::to_string(port) + "/dem.tif");
  REQUIRE(!direct);
  CHECK(direct.error().first().message.find("network") != std::string::npos);

  // No connection was attempted.
  ::fcntl(server, F_SETFL, O_NONBLOCK);
  CHECK(::accept(server, nullptr, nullptr) < 0);

  // city.allow_network opts in: GDAL then does reach the server (which hangs up at once, so
  // the read fails, but the request was made).
  if (CPLHTTPEnabled()) {
    std::atomic<bool> contacted{false}, done{false};
    std::thread peer([&] {  // hangs up on every request until the import gives up
      while (!done) {
        pollfd p{server, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        const int c = ::accept(server, nullptr, nullptr);
        if (c >= 0) contacted = true, ::close(c);
      }
    });
    CPLSetConfigOption("GDAL_HTTP_TIMEOUT", "5");
    CitySpec spec;
    spec.dem = {vrt};
    spec.allow_network = true;
    auto r = import_city(spec);
    done = true;
    peer.join();
    CPLSetConfigOption("GDAL_HTTP_TIMEOUT", nullptr);
    CHECK(contacted);
    CHECK(!r);  // nothing came back
  }
  ::close(server);
}
