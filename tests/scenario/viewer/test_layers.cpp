// The viewer's dynamic layers with real domain state: a short Monaco flash flood with a
// substation outage, run live and recorded; its replay gives the live snapshot, and the rendered
// frames show water where depth > 0 projects and the outage's buildings in the no-power colour.
// Traffic layers (roads, vehicles) are drawn from synthetic snapshots.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "city_scene.hpp"
#include "citytwin/io.hpp"
#include "citytwin/sim.hpp"
#include "overlay.hpp"
#include "render.hpp"
#include "support/synthetic_city.hpp"

using namespace citytwin;
using namespace citytwin::view;

namespace {

const std::string k_root = CITYTWIN_SOURCE_DIR;

std::array<int, 3> pixel(const osg::Image& im, int x, int y) {
  const unsigned char* p = im.data(x, y);
  return {p[0], p[1], p[2]};
}
// A surface facing up: colour * (0.45 + 0.55 * sun_z), as test_render.cpp derives.
std::array<int, 3> lit_up(std::array<unsigned char, 3> c) {
  const double f = 0.45 + 0.55 * 0.82 / std::sqrt(0.35 * 0.35 + 0.45 * 0.45 + 0.82 * 0.82);
  return {static_cast<int>(std::lround(c[0] * f)), static_cast<int>(std::lround(c[1] * f)),
          static_cast<int>(std::lround(c[2] * f))};
}
bool near(std::array<int, 3> a, std::array<int, 3> b, int tol) {
  return std::abs(a[0] - b[0]) <= tol && std::abs(a[1] - b[1]) <= tol &&
         std::abs(a[2] - b[2]) <= tol;
}
// The legend swatch of a layer's entry, by its text.
std::array<unsigned char, 3> swatch(const CityScene& s, const std::string& text) {
  for (const LegendEntry& e : s.legend())
    if (e.text == text) return e.rgb;
  FAIL("no legend entry '" << text << "'");
  return {};
}
// Water over terrain, roads or a floor: blue dominates (the water shader's light to dark blue
// at alpha >= 0.55 over green/tan/grey). Nothing else drawn with buildings off is this blue.
bool watery(std::array<int, 3> p) {
  return p[2] > p[0] + 50 && p[2] > p[1] + 10;
}

template <class T>
bool same(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

// Monaco: 5 minutes of the flash flood (80 mm/h, 5 m grid) and the city grid, substation 0
// out from 30 s; frames every minute. Built once for the test cases below.
struct MonacoRun {
  std::shared_ptr<const Model> model;
  std::string h5;
  std::vector<FrameSnapshot> live;  // at every recorded frame time
};

const MonacoRun& monaco_run() {
  static const MonacoRun run = [] {
    const auto dir = std::filesystem::temp_directory_path() / "citytwin_viewer_layers";
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "monaco_flood_power.toml").string();
    std::ofstream(path) << "[scenario]\nduration = \"5min\"\nstep = \"5s\"\n"
                        << "start = \"2026-06-15T07:00:00+02:00\"\n[city]\nosm = \"" << k_root
                        << "/assets/monaco/monaco-2025-02.osm.pbf\"\ndem = \"" << k_root
                        << "/assets/monaco/monaco_srtm3_crop.tif\"\n"
                        << "bbox = [7.405, 43.718, 7.445, 43.755]\nterrain_resolution = \"20m\"\n"
                        << "fill_depressions = true\n[output]\nevery = \"1min\"\n"
                        << R"([flood]
resolution = "5m"
manning = 0.02
buildings = "walls"
sea_level = 0.0
[flood.boundary]
west = "free"
east = "free"
south = "free"
north = "free"
[flood.rain]
intensity = "80mm/h"
[power]
grid = "city"
interval = "5min"
[[event]]
at = "30s"
type = "power.substation_out"
substation = 0
)";
    auto spec = load_scenario(path);
    if (!spec) FAIL(spec.error().to_string());
    auto model = compile_model(std::move(*spec));
    if (!model) FAIL(model.error().to_string());
    MonacoRun r;
    r.model = *model;
    r.h5 = (dir / "run.h5").string();
    auto rec = RunRecorder::create(**model, r.h5);
    REQUIRE(rec);
    SimState s = make_state(**model);
    TaskPool pool(2);
    (*rec)->observe(s);
    r.live.push_back(snapshot(**model, s));
    while (s.t < (*model)->spec.run.duration) {
      step(**model, s, pool);
      (*rec)->observe(s);
      if (s.t % 60'000 == 0) r.live.push_back(snapshot(**model, s));
    }
    (*rec)->finish(s);
    return r;
  }();
  return run;
}

}  // namespace

TEST_CASE("Replay of a run file gives the live snapshot of the same time, value for value",
          "[viewer][replay]") {
  const MonacoRun& run = monaco_run();
  auto reader = RunReader::open(run.h5);
  REQUIRE(reader);
  auto frames = RunFrames::open(**reader, run.h5);
  REQUIRE(frames);
  REQUIRE(frames->time_s.size() == run.live.size());  // 0, 1, ..., 5 min
  REQUIRE(run.live.size() == 6);
  for (std::size_t k = 0; k < run.live.size(); ++k) {
    const FrameSnapshot& live = run.live[k];
    auto rep = frames->read(**reader, k);
    REQUIRE(rep);
    INFO("frame " << k << " at t = " << live.t << " ms");
    CHECK(rep->t == live.t);
    // Exact equality (bit for bit, NaN where dry alike): both sides come from the same float
    // values through the same mapping.
    CHECK(rep->water.nx == live.water.nx);
    CHECK(rep->water.ny == live.water.ny);
    CHECK(rep->water.x0 == live.water.x0);
    CHECK(rep->water.dx == live.water.dx);
    CHECK(same(rep->water.depth_m, live.water.depth_m));
    CHECK(same(rep->water.surface_m, live.water.surface_m));
    CHECK(same(rep->building_depth_m, live.building_depth_m));
    CHECK(same(rep->line_loading, live.line_loading));
    CHECK(same(rep->line_on, live.line_on));
    CHECK(same(rep->substation_on, live.substation_on));
    CHECK(same(rep->building_powered, live.building_powered));
    CHECK(same(rep->link_flood_factor, live.link_flood_factor));
    CHECK(same(rep->signal_powered, live.signal_powered));
    CHECK(same(rep->signal_x, live.signal_x));
    CHECK(same(rep->element_in_service, live.element_in_service));
    CHECK(rep->figures == live.figures);
    REQUIRE(rep->power_layout);
    CHECK(same(rep->power_layout->bus_x, live.power_layout->bus_x));
    CHECK(same(rep->power_layout->branch_from, live.power_layout->branch_from));
    CHECK(same(rep->power_layout->substation_mv_bus, live.power_layout->substation_mv_bus));
  }
  // The state is real: water after 5 minutes of rain, substation 0 out with its buildings.
  const FrameSnapshot& last = run.live.back();
  CHECK(*std::max_element(last.water.depth_m.begin(), last.water.depth_m.end()) > 0.1f);
  REQUIRE(last.substation_on.size() == 2);
  CHECK(last.substation_on[0] == 0);
  CHECK(last.substation_on[1] == 1);
  CHECK(run.live.front().substation_on[0] == 1);
  const auto dark = std::count(last.building_powered.begin(), last.building_powered.end(), 0);
  CHECK(dark > 100);
  // The HUD figure is the recorded count.
  auto cust = (*reader)->read<std::int64_t>("/power/customers_unserved");
  REQUIRE(cust);
  CHECK(cust->data.back() == dark);
}

TEST_CASE("Monaco flood frame: water-coloured pixels where depth > 0 projects, none where dry",
          "[viewer][flood]") {
  const MonacoRun& run = monaco_run();
  const CityModel& city = *run.model->city;
  const FrameSnapshot& f = run.live.back();
  const CityMesh mesh = build_city_mesh(city);
  const SpatialIndex index(mesh);
  CityScene scene(city, mesh);
  scene.update(f);
  // Buildings off: flooded roofs are blue too, and their footprints are walls (dry).
  scene.toggle(k_buildings);
  constexpr int w = 1280, h = 720;
  auto pose = camera_preset(scene, "top");
  REQUIRE(pose);
  auto im = render_offscreen(scene, *pose, w, h);
  if (!im) FAIL(im.error().to_string());
  const WaterRaster& r = f.water;
  const auto& o = mesh.origin;
  const osg::Vec3d eye(pose->eye.x() + o[0], pose->eye.y() + o[1], pose->eye.z());
  // Cells whose 3x3 neighbourhood is all wet (>= 3 cm) or whose 5x5 neighbourhood is all below
  // the 1 cm the water layer draws from (a pixel is about one 5 m cell here), seen from the eye
  // without a wall in between (Bullet ray).
  auto all = [&](int i, int j, int rad, auto pred) {
    for (int dj = -rad; dj <= rad; ++dj)
      for (int di = -rad; di <= rad; ++di) {
        const int ii = i + di, jj = j + dj;
        if (ii < 0 || jj < 0 || ii >= r.nx || jj >= r.ny) return false;
        if (!pred(r.depth_m[static_cast<std::size_t>(jj) * r.nx + ii])) return false;
      }
    return true;
  };
  int wet = 0, wet_blue = 0, dry = 0, dry_blue = 0;
  for (int j = 1; j + 1 < r.ny; ++j)
    for (int i = 1; i + 1 < r.nx; ++i) {
      const bool is_wet = all(i, j, 1, [](float d) { return d >= 0.03f; });
      // Dry cells: every other row and column is plenty.
      const bool is_dry =
          !is_wet && i % 2 == 0 && j % 2 == 0 && all(i, j, 2, [](float d) { return d < 0.01f; });
      if (!is_wet && !is_dry) continue;
      const double x = r.x0 + (i + 0.5) * r.dx, y = r.y0 + (j + 0.5) * r.dx;
      const auto hit = index.ray({eye.x(), eye.y(), eye.z()}, {x, y, -1000.0});
      if (!hit || hit->entity.kind == EntityKind::building) continue;
      const float s = r.surface_m[static_cast<std::size_t>(j) * r.nx + i];
      const osg::Vec3d px =
          project(*pose, w, h, scene.to_scene(x, y, is_wet ? s + 0.5 : hit->point[2]));
      const int pxi = static_cast<int>(px.x()), pyi = static_cast<int>(px.y());
      if (pxi < 0 || pyi < 0 || pxi >= w || pyi >= h) continue;
      const bool blue = watery(pixel(**im, pxi, pyi));
      if (is_wet) ++wet, wet_blue += blue;
      if (is_dry) ++dry, dry_blue += blue;
    }
  INFO("wet cells " << wet << " (" << wet_blue << " blue), dry cells " << dry << " (" << dry_blue
                    << " blue)");
  REQUIRE(wet >= 20);
  REQUIRE(dry >= 1000);
  CHECK(wet_blue >= 0.95 * wet);  // tolerance: 5 % (a pixel off a cell centre, terrain mesh
  CHECK(dry_blue <= 0.01 * dry);  // triangulated from 20 m cells vs the 5 m flood bed)
  // The replayed frame renders to the same image, byte for byte.
  auto reader = RunReader::open(run.h5);
  REQUIRE(reader);
  auto frames = RunFrames::open(**reader, run.h5);
  REQUIRE(frames);
  auto rep = frames->read(**reader, run.live.size() - 1);
  REQUIRE(rep);
  scene.update(*rep);
  auto im2 = render_offscreen(scene, *pose, w, h);
  if (!im2) FAIL(im2.error().to_string());
  CHECK(std::memcmp((*im)->data(), (*im2)->data(), (*im)->getTotalSizeInBytes()) == 0);
}

TEST_CASE("Power frame: substation 0 out, its buildings in the no-power colour",
          "[viewer][power]") {
  const MonacoRun& run = monaco_run();
  const CityModel& city = *run.model->city;
  const FrameSnapshot& f = run.live.back();
  const CityMesh mesh = build_city_mesh(city);
  const SpatialIndex index(mesh);
  CityScene scene(city, mesh);
  scene.update(f);
  const Buildings& b = city.buildings;
  // The tallest dark building and the tallest powered one, both dry: their roofs seen from
  // 150 m straight above fill the centre pixel.
  std::int32_t dark = -1, lit = -1;
  for (std::int32_t i = 0; i < b.size(); ++i) {
    if (f.building_depth_m[i] > 0.05f) continue;
    std::int32_t& best = f.building_powered[i] ? lit : dark;
    if (best < 0 || b.height_m[i] > b.height_m[best]) best = i;
  }
  REQUIRE(dark >= 0);
  REQUIRE(lit >= 0);
  auto view = OffscreenView::create(scene, 64, 64);
  if (!view) FAIL(view.error().to_string());
  for (auto [building, name] :
       {std::pair{dark, "building: without power"}, std::pair{lit, "building: dry, powered"}}) {
    const double x = b.centroid_x[building], y = b.centroid_y[building];
    const auto roof = index.roof(x, y);
    REQUIRE(roof);
    REQUIRE(roof->entity.index == building);  // the roof over the centroid is its own
    const CameraPose top{scene.to_scene(x, y - 0.01, roof->point[2] + 150),
                         scene.to_scene(x, y, roof->point[2])};
    const osg::Image& im = (*view)->frame(top);
    REQUIRE(im.data());
    INFO(name << " building " << building);
    CHECK(near(pixel(im, 32, 32), lit_up(swatch(scene, name)), 3));
  }
  // The out substation's box is red, the other one green (seen from above its top).
  const PowerLayout& l = *f.power_layout;
  for (int s = 0; s < 2; ++s) {
    const std::int32_t bus = l.substation_hv_bus[s];
    const double x = l.bus_x[bus], y = l.bus_y[bus];
    const double top_z = city.terrain.sample(x, y) + 30;
    const auto roof = index.roof(x, y);
    REQUIRE((!roof || roof->point[2] < top_z));  // not inside a taller building
    const CameraPose pose{scene.to_scene(x, y - 0.01, top_z + 60), scene.to_scene(x, y, top_z)};
    const osg::Image& im = (*view)->frame(pose);
    REQUIRE(im.data());
    INFO("substation " << s);
    CHECK(near(pixel(im, 32, 32),
               lit_up(swatch(scene, s == 0 ? "substation: out" : "substation: energised")), 3));
  }
}

TEST_CASE("Roads and vehicles draw what a snapshot carries (synthetic traffic)",
          "[viewer][traffic]") {
  // One road link from (20, 300) to (380, 300): its ribbon lies right of its direction, y < 300.
  const CityModel city = testing::small_city();
  const CityMesh mesh = build_city_mesh(city);
  CityScene scene(city, mesh);
  FrameSnapshot f;
  f.link_speed_ratio.assign(static_cast<std::size_t>(city.roads.link_count()), 0.f);
  f.link_closed.assign(static_cast<std::size_t>(city.roads.link_count()), 0);
  // One vehicle at (100, 298.5), heading north-east; none on the road at x = 300.
  f.vehicle_x = {100.f};
  f.vehicle_y = {298.5f};
  f.vehicle_z = {static_cast<float>(testing::plane_z(100, 298.5) + 0.3)};
  f.vehicle_heading = {0.7f};
  f.vehicle_speed_mps = {10.f};
  scene.update(f);
  auto view = OffscreenView::create(scene, 64, 64);
  if (!view) FAIL(view.error().to_string());
  auto at = [&](double x, double y) {
    const double z = testing::plane_z(x, y);
    const CameraPose pose{scene.to_scene(x, y - 0.01, z + 40), scene.to_scene(x, y, z)};
    const osg::Image& im = (*view)->frame(pose);
    REQUIRE(im.data());
    return pixel(im, 32, 32);
  };
  // The vehicle's roof (yellow) at its position; the stopped road (red) away from it.
  CHECK(near(at(100, 298.5), lit_up(swatch(scene, "vehicle")), 4));
  // A vehicle without elevation stands on the terrain (the traffic domain may leave z out).
  f.vehicle_z = {NAN};
  scene.update(f);
  CHECK(near(at(100, 298.5), lit_up(swatch(scene, "vehicle")), 4));
  const auto road = at(300, 298.5);
  INFO("road pixel " << road[0] << "," << road[1] << "," << road[2]);
  CHECK(near(road, lit_up(swatch(scene, "road: stopped (speed / free speed 0)")), 4));
  // Free flow: the same pixel turns green; no vehicles: the vehicle's pixel becomes road.
  f.link_speed_ratio.assign(f.link_speed_ratio.size(), 1.f);
  f.vehicle_x.clear(), f.vehicle_y.clear(), f.vehicle_z.clear(), f.vehicle_heading.clear();
  scene.update(f);
  CHECK(near(at(300, 298.5), lit_up(swatch(scene, "road: free flow")), 4));
  CHECK(near(at(100, 298.5), lit_up(swatch(scene, "road: free flow")), 4));
  // A closed link is black whatever its speed ratio.
  f.link_closed.assign(f.link_closed.size(), 1);
  scene.update(f);
  CHECK(near(at(300, 298.5), lit_up(swatch(scene, "road: closed")), 4));
}

TEST_CASE("An annotated render carries the legend swatches and the caption; a plain one does not",
          "[viewer]") {
  const CityModel city = testing::small_city();
  const CityMesh mesh = build_city_mesh(city);
  CityScene scene(city, mesh);
  scene.update(FrameSnapshot{});
  const int w = 400, h = 480;  // tall enough for every entry of the legend
  const auto pose = camera_preset(scene, "overview");
  REQUIRE(pose);
  const Annotation annotation{"t = 0 s"};
  auto annotated = render_offscreen(scene, *pose, w, h, &annotation);
  auto plain = render_offscreen(scene, *pose, w, h);
  if (!annotated) FAIL(annotated.error().to_string());
  REQUIRE(plain);
  const std::vector<LegendEntry> legend = scene.legend();
  REQUIRE(legend.size() >= 10);
  int differs_plain = 0;
  for (std::size_t k = 0; k < legend.size(); ++k) {
    const osg::Vec2 c = Overlay::swatch_centre(k, legend.size());
    const int x = static_cast<int>(c.x()), y = static_cast<int>(c.y());
    REQUIRE(y < h);
    const auto& rgb = legend[k].rgb;
    INFO("entry " << k << " '" << legend[k].text << "'");
    // Swatches are unlit and opaque: exactly their colour (1 for rounding).
    CHECK(near(pixel(**annotated, x, y), {rgb[0], rgb[1], rgb[2]}, 1));
    differs_plain += !near(pixel(**plain, x, y), {rgb[0], rgb[1], rgb[2]}, 1);
  }
  CHECK(differs_plain >= static_cast<int>(legend.size()) - 2);  // the city alone, by chance
  // The caption: dark text over the top-left band of the annotated image, where the plain one
  // shows the sky and the terrain (glyph strokes are thin and anti-aliased: a pixel counts when
  // it is darker by 150 in the sum of its channels).
  int text_pixels = 0;
  for (int y = h - 30; y < h; ++y)
    for (int x = 0; x < 80; ++x) {
      const auto a = pixel(**annotated, x, y), p = pixel(**plain, x, y);
      text_pixels += (p[0] + p[1] + p[2]) - (a[0] + a[1] + a[2]) > 150;
    }
  CHECK(text_pixels > 20);
}
