// Viewer frame time offscreen (pbuffer; run under Xvfb: xvfb-run -a -s "-screen 0 1280x720x24"
// citytwin-bench viewer.frame.monaco), all layers on, dynamic colours changing every frame:
// building flood depth and power, road speed ratios, a water raster, moving vehicles, power line
// loading and substation state over the city grid synthesised from the buildings.
#include <chrono>
#include <cmath>
#include <ctime>
#include <stdexcept>

#include "bench.hpp"
#include "city_scene.hpp"
#include "citytwin/city_grid.hpp"
#include "citytwin/sim.hpp"
#include "render.hpp"
#include "support/synthetic_city.hpp"

namespace {

using namespace citytwin;

// The city grid's drawing layout (as the power domain gives it).
std::shared_ptr<const PowerLayout> power_layout(const CityModel& c) {
  const power::CityGrid g = power::synthesise_city_grid(c);
  auto l = std::make_shared<PowerLayout>();
  l->bus_x = g.bus_x, l->bus_y = g.bus_y;
  l->branch_from = g.br_from, l->branch_to = g.br_to;
  for (auto k : g.br_kind) l->branch_kind.push_back(static_cast<std::uint8_t>(k));
  l->substation_hv_bus = g.substation_hv_bus;
  l->link_substations();
  return l;
}

// A snapshot whose every layer changes with the frame number k.
void animate(const CityModel& c, int k, FrameSnapshot& f) {
  const std::int32_t nb = c.buildings.size(), nl = c.roads.link_count();
  f.building_depth_m.resize(nb);
  f.building_powered.resize(nb);
  for (std::int32_t b = 0; b < nb; ++b) {
    f.building_depth_m[b] = static_cast<float>((b + k) % 7) * 0.3f;
    f.building_powered[b] = (b + k) % 5 != 0;
  }
  f.link_speed_ratio.resize(nl);
  f.link_closed.assign(nl, 0);
  for (std::int32_t l = 0; l < nl; ++l)
    f.link_speed_ratio[l] = static_cast<float>((l * 7 + k) % 11) / 10.f;
  WaterRaster& w = f.water;
  const Terrain& t = c.terrain;
  w.nx = t.nx, w.ny = t.ny, w.x0 = t.x0, w.y0 = t.y0, w.dx = t.dx, w.dy = t.dy;
  w.depth_m.resize(t.z.size());
  w.surface_m.resize(t.z.size());
  for (std::size_t i = 0; i < t.z.size(); ++i) {
    const float d =
        std::max(0.f, std::sin(0.01f * static_cast<float>(i) + 0.2f * static_cast<float>(k)));
    w.depth_m[i] = d;
    w.surface_m[i] = d > 0 ? t.z[i] + d : NAN;
  }
  // Vehicles on the road network's points, advancing one point per frame.
  const std::size_t np = c.roads.point_x.size(), nv = std::min<std::size_t>(np, 5000);
  f.vehicle_x.resize(nv), f.vehicle_y.resize(nv), f.vehicle_z.resize(nv),
      f.vehicle_heading.resize(nv);
  for (std::size_t v = 0; v < nv; ++v) {
    const std::size_t p = (v * (np / nv) + static_cast<std::size_t>(k)) % np;
    f.vehicle_x[v] = static_cast<float>(c.roads.point_x[p]);
    f.vehicle_y[v] = static_cast<float>(c.roads.point_y[p]);
    const double z = c.terrain.sample(c.roads.point_x[p], c.roads.point_y[p]);
    f.vehicle_z[v] = static_cast<float>(std::isfinite(z) ? z : 0.0);
    f.vehicle_heading[v] = 0.1f * static_cast<float>(v + k);
  }
  const std::size_t nk = f.power_layout->branch_from.size();
  f.line_loading.resize(nk);
  f.line_on.resize(nk);
  for (std::size_t i = 0; i < nk; ++i) {
    f.line_loading[i] = static_cast<float>((i * 3 + static_cast<std::size_t>(k)) % 13) / 10.f;
    f.line_on[i] = (i + static_cast<std::size_t>(k)) % 17 != 0;
  }
  f.substation_on.resize(f.power_layout->substation_hv_bus.size());
  for (std::size_t s = 0; s < f.substation_on.size(); ++s)
    f.substation_on[s] = (s + static_cast<std::size_t>(k)) % 3 != 0;
}

bench::Result frames(const CityModel& city, int n_frames) {
  using Clock = std::chrono::steady_clock;
  const CityMesh mesh = build_city_mesh(city);
  view::CityScene scene(city, mesh);
  auto pose = view::camera_preset(scene, "overview");
  if (!pose) throw std::runtime_error(pose.error().to_string());
  auto offscreen = view::OffscreenView::create(scene, 1280, 720);
  if (!offscreen) throw std::runtime_error(offscreen.error().to_string());
  FrameSnapshot f;
  f.power_layout = power_layout(city);
  // Two warm-up frames (shader compilation, buffer upload).
  for (int k = 0; k < 2; ++k)
    animate(city, k, f), scene.update(f), (*offscreen)->frame(*pose, false);
  // Process CPU time too (all threads, llvmpipe's included): steadier than wall time when the
  // machine is shared.
  const std::clock_t c0 = std::clock();
  const auto t0 = Clock::now();
  for (int k = 0; k < n_frames; ++k) {
    animate(city, k + 2, f);
    scene.update(f);
    (*offscreen)->frame(*pose, false);
  }
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu_s = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  double tris[3] = {0, 0, 0};
  for (const MeshPart& p : mesh.parts) tris[static_cast<int>(p.kind)] += p.triangle_count();
  return {n_frames / s,
          "frames/s",
          s,
          {{"buildings", static_cast<double>(city.buildings.size())},
           {"triangles", static_cast<double>(mesh.triangle_count())},
           {"terrain_triangles", tris[0]},
           {"building_triangles", tris[1]},
           {"road_triangles", tris[2]},
           {"vehicles", static_cast<double>(f.vehicle_x.size())},
           {"water_cells", static_cast<double>(f.water.depth_m.size())},
           {"power_lines", static_cast<double>(f.line_loading.size())},
           {"frames", n_frames},
           {"mean_frame_ms", 1000 * s / n_frames},
           {"cpu_ms_per_frame", 1000 * cpu_s / n_frames}},
          {{"size", "1280x720"},
           {"renderer", "offscreen pbuffer, all layers, snapshot animated per frame"}}};
}

CT_BENCH("viewer.frame.monaco",
         "Monaco overview, 1280x720 offscreen, every layer animated per frame", [](int) {
           auto spec = load_scenario(bench::source_dir() + "/scenarios/monaco.toml");
           if (!spec) throw std::runtime_error(spec.error().to_string());
           auto city = import_city(spec->city);
           if (!city) throw std::runtime_error(city.error().to_string());
           return frames(**city, 30);
         });

CT_BENCH("viewer.frame.city50k",
         "synthetic 50,000-building grid city, 1280x720 offscreen, animated",
         [](int) { return frames(testing::grid_city(50000), 10); });

}  // namespace
