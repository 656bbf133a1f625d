#include <catch2/catch.hpp>

#include <cmath>

#include "citytwin/city.hpp"

using namespace citytwin;

TEST_CASE("UTM zone selection", "[city][projection]") {
  CHECK(utm_crs_for(7.42, 43.73) == "EPSG:32632");    // Monaco
  CHECK(utm_crs_for(-74.0, 40.73) == "EPSG:32618");   // New York
  CHECK(utm_crs_for(11.34, 44.49) == "EPSG:32632");   // Bologna
  CHECK(utm_crs_for(151.2, -33.87) == "EPSG:32756");  // Sydney, southern hemisphere
  CHECK(utm_crs_for(180.0, 0.0) == "EPSG:32660");
}

TEST_CASE("projection matches PROJ's cs2cs and round-trips below 1 cm", "[city][projection]") {
  auto p = Projection::create("EPSG:32632");
  REQUIRE(p.has_value());
  CHECK(p->crs().name == "EPSG:32632");
  CHECK(p->crs().wkt.find("UTM zone 32N") != std::string::npos);
  // Reference: `echo "43.73 7.42" | cs2cs -f %.4f EPSG:4326 EPSG:32632` (PROJ 9.1.1).
  double x = 7.42, y = 43.73;
  REQUIRE(p->forward(x, y));
  CHECK(x == Approx(372751.1228).margin(1e-3));
  CHECK(y == Approx(4843098.2362).margin(1e-3));
  // Round trip over Monaco: 1 cm is 9e-8 degrees of latitude.
  double worst_m = 0;
  for (double lon = 7.40; lon <= 7.45; lon += 0.005)
    for (double lat = 43.71; lat <= 43.76; lat += 0.005) {
      double a = lon, b = lat;
      REQUIRE(p->forward(a, b));
      const double fx = a, fy = b;
      REQUIRE(p->inverse(a, b));
      REQUIRE(p->forward(a, b));
      worst_m = std::max(worst_m, std::hypot(a - fx, b - fy));
      double lon2 = fx, lat2 = fy;
      REQUIRE(p->inverse(lon2, lat2));
      CHECK(std::abs(lon2 - lon) * 111e3 * std::cos(lat * M_PI / 180) < 0.01);
      CHECK(std::abs(lat2 - lat) * 111e3 < 0.01);
    }
  CHECK(worst_m < 0.01);
}

TEST_CASE("a bad CRS is an error, not a crash", "[city][projection]") {
  auto p = Projection::create("EPSG:999999");
  REQUIRE(!p);
  CHECK(p.error().first().message.find("EPSG:999999") != std::string::npos);
}
