// The viewer's dynamic layers with real domain state: a short Monaco flash flood with a
// substation outage, run live and recorded; its replay gives the live snapshot, and the rendered
// frames show water where depth > 0 projects and the outage's buildings in the no-power colour.
// Traffic layers (roads, vehicles) are drawn from synthetic snapshots.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

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
    CHECK(same(rep->line_energised, live.line_energised));
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
  // The outage leaves lines in service but without voltage: de-energised, unlike at the start.
  const auto dead = [](const FrameSnapshot& f) {
    return std::count(f.line_energised.begin(), f.line_energised.end(), 0);
  };
  REQUIRE(last.line_energised.size() == last.line_on.size());
  CHECK(dead(run.live.front()) ==
        std::count(run.live.front().line_on.begin(), run.live.front().line_on.end(), 0));
  CHECK(dead(last) > std::count(last.line_on.begin(), last.line_on.end(), 0));
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
      if (is_wet && s - r.depth_m[static_cast<std::size_t>(j) * r.nx + i] <= k_sea_level_m)
        continue;  // the sea: drawn by the terrain in the sea colour, not as flood water
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
  for (auto [building, name] : {std::pair{dark, "no power"}, std::pair{lit, "dry, powered"}}) {
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
               lit_up(swatch(scene, s == 0 ? "substation out" : "substation on")), 3));
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
  CHECK(near(road, lit_up(swatch(scene, "stopped")), 4));
  // Free flow: the same pixel turns green; no vehicles: the vehicle's pixel becomes road.
  f.link_speed_ratio.assign(f.link_speed_ratio.size(), 1.f);
  f.vehicle_x.clear(), f.vehicle_y.clear(), f.vehicle_z.clear(), f.vehicle_heading.clear();
  scene.update(f);
  CHECK(near(at(300, 298.5), lit_up(swatch(scene, "free flow")), 4));
  CHECK(near(at(100, 298.5), lit_up(swatch(scene, "free flow")), 4));
  // A closed link is black whatever its speed ratio.
  f.link_closed.assign(f.link_closed.size(), 1);
  scene.update(f);
  CHECK(near(at(300, 298.5), lit_up(swatch(scene, "closed")), 4));
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
  const LegendLayout layout = legend_layout(legend, w, h);
  int differs_plain = 0;
  for (std::size_t k = 0; k < legend.size(); ++k) {
    const osg::Vec2 c = layout.swatch_centre(k);
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

namespace {
int distance(std::array<unsigned char, 3> a, std::array<unsigned char, 3> b) {
  return std::abs(a[0] - b[0]) + std::abs(a[1] - b[1]) + std::abs(a[2] - b[2]);
}
}  // namespace

TEST_CASE("Power lines: a hue of their own by loading; de-energised lines dark grey and dashed",
          "[viewer][power]") {
  // One line along y = 350 from (20, 350) to (380, 350), north of everything else in the city.
  const CityModel city = testing::small_city();
  const CityMesh mesh = build_city_mesh(city);
  CityScene scene(city, mesh);
  auto layout = std::make_shared<PowerLayout>();
  layout->bus_x = {20, 380};
  layout->bus_y = {350, 350};
  layout->branch_from = {0};
  layout->branch_to = {1};
  FrameSnapshot f;
  f.power_layout = layout;
  f.line_loading = {0.f};
  f.line_on = {1};
  f.line_energised = {1};
  scene.update(f);
  auto view = OffscreenView::create(scene, 64, 64);
  if (!view) FAIL(view.error().to_string());
  // Looking straight down at the line at `along` metres from its first bus; lines are unlit.
  auto at = [&](double along) {
    const double x = 20 + along, z = testing::plane_z(x, 350) + 4;
    const osg::Image& im = (*view)->frame(
        CameraPose{scene.to_scene(x, 350 - 0.01, z + 40), scene.to_scene(x, 350, z)});
    REQUIRE(im.data());
    return pixel(im, 32, 32);
  };
  auto rgb = [](std::array<unsigned char, 3> c) { return std::array<int, 3>{c[0], c[1], c[2]}; };
  // Tolerance 2: 8-bit rounding of an unlit colour.
  CHECK(near(at(31), rgb(swatch(scene, "line idle")), 2));
  // Roads at free flow were the same green as idle lines: now far apart (sum of channels).
  CHECK(distance(swatch(scene, "line idle"), swatch(scene, "free flow")) > 200);
  CHECK(distance(swatch(scene, "line overloaded"), swatch(scene, "stopped")) > 150);
  f.line_loading = {1.2f};
  scene.update(f);
  CHECK(near(at(31), rgb(swatch(scene, "line overloaded")), 2));
  // A blackout: in service, no voltage. Dashes of 14 m every 24 m: drawn at 31 m, a gap at 43 m.
  f.line_loading = {0.f};
  f.line_energised = {0};
  scene.update(f);
  const auto dead = rgb(swatch(scene, "line de-energised"));
  CHECK(near(at(31), dead, 2));
  CHECK(!near(at(43), dead, 30));
  CHECK(distance(swatch(scene, "line de-energised"), swatch(scene, "line idle")) > 200);
  // Out of service, in a snapshot without the energised flag: de-energised too.
  f.line_energised.clear();
  f.line_on = {0};
  f.line_loading = {NAN};
  scene.update(f);
  CHECK(near(at(31), dead, 2));
}

TEST_CASE("A building flooded and without power: flood-coloured walls, roof hatched dark",
          "[viewer][buildings]") {
  // Building 0: the 20 m square [100, 120]^2, 30 m tall.
  const CityModel city = testing::small_city();
  const CityMesh mesh = build_city_mesh(city);
  CityScene scene(city, mesh);
  FrameSnapshot f;
  f.building_depth_m.assign(static_cast<std::size_t>(city.buildings.size()), 0.f);
  f.building_powered.assign(static_cast<std::size_t>(city.buildings.size()), 1);
  f.building_depth_m[0] = 0.3f;
  f.building_powered[0] = 0;
  scene.update(f);
  const double ground = testing::plane_z(110, 110), roof = ground + 30;
  auto view = OffscreenView::create(scene, 64, 64);
  if (!view) FAIL(view.error().to_string());
  std::optional<LegendEntry> both;
  for (const LegendEntry& e : scene.legend())
    if (e.text == "flooded, no power") both = e;
  REQUIRE(both);
  CHECK(both->style == LegendEntry::hatched);
  const auto dark = lit_up(both->rgb), flood = lit_up(both->rgb2);
  CHECK(lit_up(swatch(scene, "flooded 0.3 m")) == flood);
  CHECK(lit_up(swatch(scene, "no power")) == dark);
  // The roof from 150 m above: stripes of both colours over the 12 x 12 pixels at the centre.
  auto roof_counts = [&] {
    const osg::Image& im = (*view)->frame(
        CameraPose{scene.to_scene(110, 110 - 0.01, roof + 150), scene.to_scene(110, 110, roof)});
    REQUIRE(im.data());
    std::array<int, 2> n{0, 0};
    for (int y = 26; y < 38; ++y)
      for (int x = 26; x < 38; ++x) {
        n[0] += near(pixel(im, x, y), dark, 3);
        n[1] += near(pixel(im, x, y), flood, 3);
      }
    return n;
  };
  const auto hatched = roof_counts();
  INFO("roof pixels: " << hatched[0] << " dark, " << hatched[1] << " flood-coloured of 144");
  CHECK(hatched[0] >= 50);  // stripes 4 px of 8: half each, less the rounding at their edges
  CHECK(hatched[1] >= 50);
  // The south wall, seen from the south at mid-height: the flood colour, lit from the south.
  const osg::Image& im = (*view)->frame(
      CameraPose{scene.to_scene(110, 60, ground + 15), scene.to_scene(110, 110, ground + 15)});
  REQUIRE(im.data());
  const double f_wall = 0.45 + 0.55 * 0.45 / std::sqrt(0.35 * 0.35 + 0.45 * 0.45 + 0.82 * 0.82);
  const auto c = both->rgb2;
  const std::array<int, 3> wall{static_cast<int>(std::lround(c[0] * f_wall)),
                                static_cast<int>(std::lround(c[1] * f_wall)),
                                static_cast<int>(std::lround(c[2] * f_wall))};
  const auto wp = pixel(im, 32, 32);
  INFO("wall pixel " << wp[0] << "," << wp[1] << "," << wp[2]);
  CHECK(near(wp, wall, 3));
  // Flooded with power: no dark stripes.
  f.building_powered[0] = 1;
  scene.update(f);
  const auto plain = roof_counts();
  CHECK(plain[0] == 0);
  CHECK(plain[1] >= 140);
}

TEST_CASE("The overview's legend is compact, in the sky's corner; HUD text has a backing panel",
          "[viewer]") {
  const MonacoRun& run = monaco_run();
  const CityModel& city = *run.model->city;
  const CityMesh mesh = build_city_mesh(city);
  CityScene scene(city, mesh);
  scene.update(run.live.back());
  constexpr int w = 1280, h = 720;
  const auto pose = camera_preset(scene, "overview");
  REQUIRE(pose);
  const std::vector<LegendEntry> legend = scene.legend();
  REQUIRE(legend.size() >= 20);  // buildings, roads, power, water, signals, terrain
  const LegendLayout layout = legend_layout(legend, w, h);
  const osg::Vec4 p = layout.panel;
  const double area = (p[2] - p[0]) * (p[3] - p[1]);
  INFO("legend panel " << p[0] << "," << p[1] << " - " << p[2] << "," << p[3]);
  // It covered a quarter of the overview (330 x 420 px at the bottom left, 15 % of the image
  // and more of the city): now at most 8 %, within the top 110 px, at the right edge.
  CHECK(area <= 0.08 * w * h);
  CHECK(p[1] >= h - 110);
  CHECK(p[2] >= w - 10);
  for (std::size_t k = 0; k < legend.size(); ++k) {
    const osg::Vec2 c = layout.swatch_centre(k);
    CHECK((c.x() > p[0] && c.x() < p[2] && c.y() > p[1] && c.y() < p[3]));
  }
  const std::string caption = "t = 300 s\nflooded buildings: 12   max depth: 0.4 m";
  const Annotation annotation{caption};
  auto annotated = render_offscreen(scene, *pose, w, h, &annotation);
  auto plain = render_offscreen(scene, *pose, w, h);
  if (!annotated) FAIL(annotated.error().to_string());
  REQUIRE(plain);
  // Under the legend the plain overview shows mostly sky: it hides little of the city.
  int covered = 0, not_sky = 0;
  for (int y = static_cast<int>(p[1]); y < static_cast<int>(p[3]); ++y)
    for (int x = static_cast<int>(p[0]); x < static_cast<int>(p[2]); ++x, ++covered)
      not_sky += !near(pixel(**plain, x, y), {158, 189, 219}, 2);
  INFO(not_sky << " of " << covered << " pixels under the legend are not sky");
  CHECK(not_sky <= 0.35 * covered);
  // The caption's panel: white at alpha 0.72 over the scene wherever there is no glyph, i.e.
  // most of its pixels are 0.72 * 255 + 0.28 * (the plain image's), 3 for rounding.
  Overlay overlay(w, h);
  overlay.set_text(caption);
  const osg::Vec4 t = overlay.text_panel();
  REQUIRE(t[2] - t[0] > 200);
  REQUIRE(t[3] - t[1] > 2 * 13);
  int inside = 0, backed = 0;
  for (int y = static_cast<int>(t[1]) + 1; y < static_cast<int>(t[3]) - 1; ++y)
    for (int x = static_cast<int>(t[0]) + 1; x < static_cast<int>(t[2]) - 1; ++x, ++inside) {
      const auto a = pixel(**annotated, x, y), q = pixel(**plain, x, y);
      const std::array<int, 3> blend{static_cast<int>(std::lround(0.72 * 255 + 0.28 * q[0])),
                                     static_cast<int>(std::lround(0.72 * 255 + 0.28 * q[1])),
                                     static_cast<int>(std::lround(0.72 * 255 + 0.28 * q[2]))};
      backed += near(a, blend, 3);
    }
  INFO(backed << " of " << inside << " caption panel pixels are the panel over the scene");
  CHECK(backed >= 0.6 * inside);
}
