// Offscreen rendering under Xvfb: pixels checked where known geometry projects.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <string>

#include "city_scene.hpp"
#include "render.hpp"
#include "support/synthetic_city.hpp"

using namespace citytwin;
using namespace citytwin::view;

namespace {
constexpr int k_w = 320, k_h = 240;
constexpr std::array<int, 3> k_sky{158, 189, 219};  // clear colour (0.62, 0.74, 0.86) * 255

std::array<int, 3> pixel(const osg::Image& im, int x, int y) {
  const unsigned char* p = im.data(x, y);
  return {p[0], p[1], p[2]};
}
// A roof seen from straight above: colour * (0.45 + 0.55 * sun_z) with sun_z = 0.82 / |sun|
// (sun = (0.35, -0.45, 0.82), |sun| = 0.9988) -> factor 0.9016; 8-bit rounding twice: +-3.
std::array<int, 3> lit_roof(std::array<float, 3> c) {
  const double f = 0.45 + 0.55 * 0.82 / std::sqrt(0.35 * 0.35 + 0.45 * 0.45 + 0.82 * 0.82);
  return {static_cast<int>(std::lround(std::round(c[0] * 255) * f)),
          static_cast<int>(std::lround(std::round(c[1] * 255) * f)),
          static_cast<int>(std::lround(std::round(c[2] * 255) * f))};
}
bool near(std::array<int, 3> a, std::array<int, 3> b, int tol) {
  return std::abs(a[0] - b[0]) <= tol && std::abs(a[1] - b[1]) <= tol &&
         std::abs(a[2] - b[2]) <= tol;
}
std::shared_ptr<const CityModel> monaco() {
  const std::string assets = std::string(CITYTWIN_SOURCE_DIR) + "/assets/monaco/";
  CitySpec spec;
  spec.osm = assets + "monaco-2025-02.osm.pbf";
  spec.dem = {assets + "monaco_srtm3_crop.tif"};
  spec.bbox = std::array<double, 4>{7.405, 43.718, 7.445, 43.755};
  auto city = import_city(spec);
  REQUIRE(city.has_value());
  return *city;
}
}  // namespace

TEST_CASE("Monaco at t = 0: a non-blank image with a building where the camera looks", "[viewer]") {
  const auto city = monaco();
  const CityMesh mesh = build_city_mesh(*city);
  const SpatialIndex index(mesh);
  CityScene scene(*city, mesh);
  // The overview covers the whole frame with terrain and buildings: no sky below the horizon,
  // and many building-coloured (cream) pixels.
  auto pose = camera_preset(scene, "overview");
  REQUIRE(pose);
  auto im = render_offscreen(scene, *pose, k_w, k_h);
  REQUIRE(im);
  int sky = 0, cream = 0;
  for (int y = 0; y < k_h; ++y)
    for (int x = 0; x < k_w; ++x) {
      const auto p = pixel(**im, x, y);
      sky += near(p, k_sky, 2);
      cream += p[0] > 150 && p[0] - p[2] > 10 && p[0] - p[2] < 40 && p[1] > 140;
    }
  CHECK(sky < k_w * k_h / 2);
  CHECK(cream > k_w * k_h / 50);
  // Straight down onto the tallest building's roof: the centre pixel is the lit roof colour.
  std::int32_t tallest = 0;
  for (std::int32_t b = 0; b < city->buildings.size(); ++b)
    if (city->buildings.height_m[b] > city->buildings.height_m[tallest]) tallest = b;
  double x = 0, y = 0;
  for (const MeshPart& p : mesh.parts)
    for (int t = 0; p.kind == EntityKind::building && t < p.triangle_count(); ++t)
      if (p.tri_entity[t] == tallest && p.normal[3 * p.index[3 * t] + 2] > 0.99f) {
        for (int k = 0; k < 3; ++k)
          x += p.position[3 * p.index[3 * t + k]] / 3.0,
              y += p.position[3 * p.index[3 * t + k] + 1] / 3.0;
        t = p.triangle_count();
      }
  x += mesh.origin[0];
  y += mesh.origin[1];
  const auto roof = index.roof(x, y);
  REQUIRE(roof);
  REQUIRE(roof->entity.index == tallest);
  const CameraPose top{scene.to_scene(x, y - 0.01, roof->point[2] + 150),
                       scene.to_scene(x, y, roof->point[2])};
  im = render_offscreen(scene, top, k_w, k_h);
  REQUIRE(im);
  CHECK(near(pixel(**im, k_w / 2, k_h / 2), lit_roof({0.90f, 0.87f, 0.80f}), 3));
}

TEST_CASE("Water shows where depth > 0 projects; flooded buildings turn blue", "[viewer]") {
  const CityModel city = testing::small_city();
  const CityMesh mesh = build_city_mesh(city);
  CityScene scene(city, mesh);
  // A 10 m flood raster: 1.5 m deep west of x = 80, dry elsewhere; building 3 flooded 1 m.
  FrameSnapshot f;
  WaterRaster& w = f.water;
  w.nx = w.ny = 40;
  w.dx = w.dy = 10;
  for (int j = 0; j < 40; ++j)
    for (int i = 0; i < 40; ++i) {
      const double cx = (i + 0.5) * 10, cy = (j + 0.5) * 10;
      const bool wet = cx < 80;
      w.depth_m.push_back(wet ? 1.5f : 0.f);
      w.surface_m.push_back(wet ? static_cast<float>(testing::plane_z(cx, cy) + 1.5) : NAN);
    }
  f.building_depth_m = {0.f, 0.f, 0.f, 1.f};
  scene.update(f);
  // Top-down over the whole 400 m city: 40 degree vertical field, 320x240 pixels.
  const double zc = testing::plane_z(200, 200);
  const CameraPose pose{scene.to_scene(200, 199.99, zc + 700), scene.to_scene(200, 200, zc)};
  auto im = render_offscreen(scene, pose, k_w, k_h);
  REQUIRE(im);
  // Project model points to pixels with the same camera.
  const double half_h = 700 * std::tan(20.0 * M_PI / 180);  // metres from centre to top edge
  auto to_px = [&](double x, double y) {
    return std::array<int, 2>{static_cast<int>(k_w / 2 + (x - 200) / half_h * k_h / 2),
                              static_cast<int>(k_h / 2 + (y - 200) / half_h * k_h / 2)};
  };
  const auto wet = to_px(40, 60), dry = to_px(170, 60), flooded = to_px(255, 205);
  const auto pw = pixel(**im, wet[0], wet[1]);
  const auto pd = pixel(**im, dry[0], dry[1]);
  const auto pf = pixel(**im, flooded[0], flooded[1]);
  INFO("wet " << pw[0] << "," << pw[1] << "," << pw[2] << " dry " << pd[0] << "," << pd[1] << ","
              << pd[2]);
  // Water blends blue over the terrain's green: blue dominates where wet, green where dry.
  CHECK(pw[2] > pw[0] + 60);
  CHECK(pw[2] > pw[1]);
  CHECK(pd[1] > pd[2]);
  // Flooded building 3 (1 m of 2 m on the ramp): (0.55 - 0.225, 0.65 - 0.225, 0.95) lit.
  CHECK(near(pf, lit_roof({0.325f, 0.425f, 0.95f}), 4));
}

TEST_CASE("Monaco's sea is drawn in the sea colour, distinct from land and flood water",
          "[viewer]") {
  const auto city = monaco();
  const CityMesh mesh = build_city_mesh(*city);
  const SpatialIndex index(mesh);
  CityScene scene(*city, mesh);
  std::map<std::string, std::array<unsigned char, 3>> sw;
  for (const LegendEntry& e : scene.legend()) sw[e.text] = e.rgb;
  REQUIRE(sw.count("sea (<= 0 m)"));
  const auto sea = sw["sea (<= 0 m)"];
  // Far from the land's ramp ends and from shallow and deep flood water (sum of channels).
  auto distance = [](std::array<unsigned char, 3> a, std::array<unsigned char, 3> b) {
    return std::abs(a[0] - b[0]) + std::abs(a[1] - b[1]) + std::abs(a[2] - b[2]);
  };
  // The flood water's ends (the water shader's 1 cm and 2 m colours; no water at t = 0).
  sw["1 cm deep"] = {115, 191, 255};
  sw[">= 2 m deep"] = {5, 38, 166};
  for (const char* other : {"land, lowest", "land, highest", "1 cm deep", ">= 2 m deep"}) {
    INFO(other);
    REQUIRE(sw.count(other));
    CHECK(distance(sea, sw[other]) > 90);
  }
  // Terrain cells whose 3 x 3 neighbourhood is all at or below 0 m (the sea, SRTM 0 to -2 m)
  // are sea-coloured from straight above; cells all above 2 m are not. Flat ground seen from
  // above: colour * 0.9016 (lit_roof); 4 for rounding.
  constexpr int w = 1280, h = 720;
  auto pose = camera_preset(scene, "top");
  REQUIRE(pose);
  auto im = render_offscreen(scene, *pose, w, h);
  REQUIRE(im);
  const auto sea_px = lit_roof({sea[0] / 255.f, sea[1] / 255.f, sea[2] / 255.f});
  const Terrain& t = city->terrain;
  const auto& o = mesh.origin;
  const osg::Vec3d eye(pose->eye.x() + o[0], pose->eye.y() + o[1], pose->eye.z());
  auto all = [&](int i, int j, auto pred) {
    for (int dj = -1; dj <= 1; ++dj)
      for (int di = -1; di <= 1; ++di)
        if (!pred(t.at(i + di, j + dj))) return false;
    return true;
  };
  int sea_cells = 0, sea_ok = 0, land_cells = 0, land_sea = 0;
  for (int j = 1; j + 1 < t.ny; ++j)
    for (int i = 1; i + 1 < t.nx; ++i) {
      const bool is_sea = all(i, j, [](float z) { return z <= 0.f; });
      const bool is_land = all(i, j, [](float z) { return z > 2.f; });
      if (!is_sea && !is_land) continue;
      const double x = t.x0 + (i + 0.5) * t.dx, y = t.y0 + (j + 0.5) * t.dy;
      const auto hit = index.ray({eye.x(), eye.y(), eye.z()}, {x, y, -1000.0});
      if (!hit || hit->entity.kind != EntityKind::terrain) continue;  // roofs, roads
      const osg::Vec3d px = project(*pose, w, h, scene.to_scene(x, y, hit->point[2]));
      const int pxi = static_cast<int>(px.x()), pyi = static_cast<int>(px.y());
      if (pxi < 0 || pyi < 0 || pxi >= w || pyi >= h) continue;
      const bool sea_coloured = near(pixel(**im, pxi, pyi), sea_px, 4);
      if (is_sea) ++sea_cells, sea_ok += sea_coloured;
      if (is_land) ++land_cells, land_sea += sea_coloured;
    }
  INFO("sea cells " << sea_cells << " (" << sea_ok << " sea-coloured), land cells " << land_cells
                    << " (" << land_sea << " sea-coloured)");
  REQUIRE(sea_cells >= 200);
  REQUIRE(land_cells >= 500);
  CHECK(sea_ok >= 0.98 * sea_cells);  // a pixel off a cell centre at the coast: 2 %
  CHECK(land_sea == 0);
}
