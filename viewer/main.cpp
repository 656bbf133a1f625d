// citytwin-view: the interactive viewer (live from a scenario, replay of a run file) and its
// offscreen render mode (used by `citytwin render` and the tests).
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <osgDB/WriteFile>
#include <osgGA/GUIEventHandler>
#include <osgGA/TrackballManipulator>
#include <osgViewer/Viewer>

#include <atomic>
#include <chrono>
#include <cmath>
#include <iostream>
#include <mutex>
#include <thread>

#include "city_scene.hpp"
#include "citytwin/compare.hpp"
#include "citytwin/sim.hpp"
#include "compare_view.hpp"
#include "overlay.hpp"
#include "picking.hpp"
#include "render.hpp"
#include "sources.hpp"

using namespace citytwin;
using namespace citytwin::view;

namespace {

// "90", "90s", "15min", "2h" -> seconds; NaN when malformed.
double parse_time(const std::string& s) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (...) {
    return NAN;
  }
  const std::string unit = s.substr(used);
  if (unit.empty() || unit == "s") return v;
  if (unit == "min") return v * 60;
  if (unit == "h") return v * 3600;
  return NAN;
}

bool parse_vec3(const std::string& s, osg::Vec3d& out) {
  double a, b, c;
  if (std::sscanf(s.c_str(), "%lf,%lf,%lf", &a, &b, &c) != 3) return false;
  out.set(a, b, c);
  return true;
}

// Live simulation on its own thread: steps as fast as `speed` simulated seconds per wall second
// allow and, when the viewer has taken the previous one, publishes the snapshot of the state
// after a step (snapshots are made at the drawing rate, not the stepping rate).
struct LiveRun {
  Run run;
  std::mutex mutex;
  FrameSnapshot latest;
  bool fresh = false;  ///< latest not yet taken (guarded by mutex)
  std::atomic<bool> wanted{true};
  std::atomic<bool> paused{false}, stop{false};
  std::atomic<double> speed{60};
  std::atomic<int> single_steps{0};
  std::thread thread;

  explicit LiveRun(std::shared_ptr<const Model> m) : run(std::move(m), 1) {}
  void start() {
    thread = std::thread([this] {
      auto last = std::chrono::steady_clock::now();
      double owed_s = 0;
      bool pending = true;  // a state not yet published
      while (!stop) {
        const auto now = std::chrono::steady_clock::now();
        owed_s += std::chrono::duration<double>(now - last).count() * (paused ? 0.0 : speed.load());
        last = now;
        const double dt_s = static_cast<double>(run.model().spec.run.step) / 1000.0;
        const bool done = run.done();
        const bool stepping = !done && (owed_s >= dt_s || single_steps > 0);
        if (stepping) {
          run.step();
          if (single_steps > 0) --single_steps;
          owed_s = std::max(0.0, owed_s - dt_s);
          pending = true;
        }
        if (pending && wanted.exchange(false)) {
          pending = false;
          FrameSnapshot f = snapshot(run.model(), run.state());
          f.figures.emplace_back("steps", std::to_string(run.state().step));
          std::lock_guard lock(mutex);
          latest = std::move(f);
          fresh = true;
        } else if (!stepping) {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
      }
    });
  }
  ~LiveRun() {
    stop = true;
    if (thread.joinable()) thread.join();
  }
};

// The simulated time (then `after` on the same line) and the frame's key figures, two to a
// line so that they leave the top right of the window to the legend: the HUD's text and the caption
// of rendered images.
std::string frame_caption(const FrameSnapshot& f, const std::string& after) {
  std::string s = fmt::format("t = {:.0f} s{}", static_cast<double>(f.t) / 1000.0, after);
  for (std::size_t i = 0; i < f.figures.size(); ++i)
    s +=
        fmt::format("{}{}: {}", i % 2 == 0 ? "\n" : "   ", f.figures[i].first, f.figures[i].second);
  return s;
}

// Keys, picking and the HUD (text and legend swatches).
struct Controls : osgGA::GUIEventHandler {
  CityScene& scene;
  const SpatialIndex& index;
  LiveRun* live = nullptr;
  const Source& source;
  double replay_t = 0;
  std::size_t replay_k = static_cast<std::size_t>(-1);
  FrameSnapshot current;       ///< what is drawn
  Overlay* overlay = nullptr;  ///< HUD text and legend
  int height = 0;
  Picked picked;
  float down_x = 0, down_y = 0;

  Controls(CityScene& s, const SpatialIndex& i, const Source& src)
      : scene(s), index(i), source(src) {}

  bool handle(const osgGA::GUIEventAdapter& ea, osgGA::GUIActionAdapter& aa) override {
    auto* view = dynamic_cast<osgViewer::View*>(&aa);
    if (ea.getEventType() == osgGA::GUIEventAdapter::KEYDOWN) {
      const int k = ea.getKey();
      if (k >= '1' && k < '1' + static_cast<int>(k_layer_count))
        scene.toggle(static_cast<unsigned>(k - '1'));
      if (live && k == ' ') live->paused = !live->paused;
      if (live && k == 'n') live->single_steps++;
      if (live && (k == '+' || k == '=')) live->speed = live->speed * 2;
      if (live && k == '-') live->speed = live->speed / 2;
      const double frame_dt =
          source.frame_times_s.size() > 1 ? source.frame_times_s[1] - source.frame_times_s[0] : 60;
      if (!live && k == osgGA::GUIEventAdapter::KEY_Right) replay_t += frame_dt;
      if (!live && k == osgGA::GUIEventAdapter::KEY_Left)
        replay_t = std::max(0.0, replay_t - frame_dt);
      if ((k == 'o' || k == 't') && view) {
        if (auto pose = camera_preset(scene, k == 'o' ? "overview" : "top"))
          view->getCameraManipulator()->setHomePosition(pose->eye, pose->target,
                                                        osg::Vec3d(0, 0, 1)),
              view->getCameraManipulator()->home(0);
      }
      return false;
    }
    if (ea.getEventType() == osgGA::GUIEventAdapter::PUSH) down_x = ea.getX(), down_y = ea.getY();
    if (ea.getEventType() == osgGA::GUIEventAdapter::RELEASE && view &&
        std::hypot(ea.getX() - down_x, ea.getY() - down_y) < 3)
      picked = pick(window_from_scene(*view->getCamera()), ea.getX(), ea.getY(), scene, index);
    return false;
  }

  /// Takes a new snapshot into `current` when there is one; true if it changed.
  bool next_frame() {
    if (live) {
      std::lock_guard lock(live->mutex);
      if (!live->fresh) return false;
      current = std::move(live->latest);
      live->fresh = false;
      live->wanted = true;
      return true;
    }
    // Replay: read a recorded frame only when the slider moves to another one.
    const std::size_t k = replay_index(source, replay_t);
    if (k == replay_k) return false;
    replay_k = k;
    auto f = replay_frame(source, k);
    if (!f) {
      std::cerr << "citytwin-view: " << f.error().to_string() << "\n";
      return false;
    }
    current = std::move(*f);
    return true;
  }

  void update_hud(const FrameSnapshot& f) {
    std::string s = frame_caption(f, live ? fmt::format("   speed x{:g}{}", live->speed.load(),
                                                        live->paused ? "   PAUSED" : "")
                                          : "");
    s += "\nkeys: 1-6 terrain, buildings, roads, water, vehicles, power"
         "\n      space pause, n step, +/- speed, arrows frame, o/t camera\n";
    if (picked.any) s += "picked: " + describe(scene.city(), picked, f);
    overlay->set_text(s);
    overlay->set_legend(scene.legend());
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "citytwin-view: look at a CityTwin city, live from a scenario, replaying a run file or "
      "comparing two",
      "citytwin-view"};
  std::string source_path, out, at = "0", camera = "overview", eye_s, target_s, size = "1280x720";
  int frames = 0;
  std::string variant_path;
  app.add_option("source", source_path, "SCENARIO.toml (live) or RUN.h5 (replay)")->required();
  app.add_option("variant", variant_path,
                 "a second run file of the same city: compare mode, the two runs side by side "
                 "(SOURCE the base)");
  bool difference = false;
  app.add_flag("--difference", difference,
               "compare mode: start with one city drawing variant - base (key d toggles)");
  std::string click_s;
  app.add_option("--click-at", click_s,
                 "compare mode, with --frames: click the pixel showing this point x,y,z (model "
                 "CRS) after the first frame; the pick is printed");
  app.add_option("--render", out, "render one frame offscreen to this PNG and exit");
  app.add_option(
      "--at", at,
      "simulated time of the rendered frame, or where a replay starts (90, 90s, 15min, 2h)");
  bool plain = false;
  app.add_flag("--plain", plain,
               "with --render: the city only, without the legend and the time and figures");
  app.add_option("--camera", camera, "camera preset: overview, top");
  app.add_option("--eye", eye_s, "camera position x,y,z in the model CRS (m)");
  app.add_option("--target", target_s, "point looked at x,y,z in the model CRS (m)");
  app.add_option("--size", size, "image or window size WxH");
  app.add_option("--frames", frames, "draw this many frames, then exit (scripted runs)");
  double speed = 60;
  app.add_option("--speed", speed, "live: simulated seconds per wall-clock second at start")
      ->check(CLI::Range(1e-3, 1e6));
  std::string screenshot;
  app.add_option("--screenshot", screenshot,
                 "with --frames: write the window (scene, HUD and legend) after the last frame "
                 "to this PNG");
  app.footer(R"(Offscreen rendering needs an X server; without a display use
  xvfb-run -a -s "-screen 0 1280x720x24" citytwin-view scenarios/monaco.toml --render m.png)");
  CLI11_PARSE(app, argc, argv);

  int w = 0, h = 0;
  if (std::sscanf(size.c_str(), "%dx%d", &w, &h) != 2 || w < 16 || h < 16 || w > 8192 || h > 8192) {
    std::cerr << "citytwin-view: --size: expected WxH between 16 and 8192 pixels, found '" << size
              << "'\n";
    return k_exit_bad_input;
  }
  const double t_s = parse_time(at);
  if (!std::isfinite(t_s) || t_s < 0) {
    std::cerr << "citytwin-view: --at: expected a time like 90, 90s, 15min or 2h, found '" << at
              << "'\n";
    return k_exit_bad_input;
  }
  const bool comparing = !variant_path.empty();
  if (comparing &&
      (!source_path.ends_with(".h5") || !variant_path.ends_with(".h5") || !out.empty())) {
    std::cerr << "citytwin-view: compare mode replays two run files (BASE.h5 VARIANT.h5) in a "
                 "window; for images of both use citytwin compare --render\n";
    return k_exit_bad_input;
  }
  if (!comparing && (difference || !click_s.empty())) {
    std::cerr << "citytwin-view: --difference and --click-at need two run files (compare mode)\n";
    return k_exit_bad_input;
  }
  if (comparing) {
    // The rules of `citytwin compare`: the same city, network and flood grid.
    if (auto ok = check_comparable(source_path, variant_path); !ok) {
      std::cerr << "citytwin-view: " << ok.error().to_string() << "\n";
      return k_exit_bad_input;
    }
  }
  auto source = open_source(source_path);
  if (!source) {
    std::cerr << "citytwin-view: " << source.error().to_string() << "\n";
    return k_exit_bad_input;
  }
  const CityMesh mesh = build_city_mesh(*source->city);
  const SpatialIndex index(mesh);
  CityScene scene(*source->city, mesh);

  CameraPose pose;
  if (!eye_s.empty() || !target_s.empty()) {
    osg::Vec3d e, t;
    if (!parse_vec3(eye_s, e) || !parse_vec3(target_s, t)) {
      std::cerr
          << "citytwin-view: --eye and --target: expected x,y,z in the model CRS, both given\n";
      return k_exit_bad_input;
    }
    pose = {scene.to_scene(e.x(), e.y(), e.z()), scene.to_scene(t.x(), t.y(), t.z())};
  } else if (auto p = camera_preset(scene, camera)) {
    pose = *p;
  } else {
    std::cerr << "citytwin-view: " << p.error().to_string() << "\n";
    return k_exit_bad_input;
  }

  if (comparing) {
    auto variant = open_source(variant_path);
    if (!variant) {
      std::cerr << "citytwin-view: " << variant.error().to_string() << "\n";
      return k_exit_bad_input;
    }
    CompareSettings settings{t_s, pose, w, h, frames, screenshot, difference, {}};
    if (!click_s.empty()) {
      osg::Vec3d p;
      if (!parse_vec3(click_s, p)) {
        std::cerr << "citytwin-view: --click-at: expected x,y,z in the model CRS, found '"
                  << click_s << "'\n";
        return k_exit_bad_input;
      }
      settings.click_at = scene.to_scene(p.x(), p.y(), p.z());
    }
    return run_compare(*source, *variant, scene, index, settings);
  }

  if (!out.empty()) {
    // A time past the end is a mistake, not a request for the last frame.
    const double end_s = source->model ? to_seconds(source->model->spec.run.duration)
                         : source->frame_times_s.empty() ? 0.0
                                                         : source->frame_times_s.back();
    if (t_s > end_s + 1e-9) {
      std::cerr << fmt::format(
          "citytwin-view: --at {}: after the end of the {} ({}); give a time from 0 to {}\n",
          format_duration(static_cast<SimTime>(std::llround(t_s * 1000))),
          source->model ? "scenario" : "recorded run",
          format_duration(static_cast<SimTime>(std::llround(end_s * 1000))),
          format_duration(static_cast<SimTime>(std::llround(end_s * 1000))));
      return k_exit_bad_input;
    }
    FrameSnapshot f;
    if (source->model) {
      // Run the scenario up to the requested time.
      Run run(source->model, 1);
      run.run_until(static_cast<SimTime>(std::llround(t_s * 1000)));
      f = snapshot(run.model(), run.state());
    } else {
      auto r = replay_frame(*source, replay_index(*source, t_s));
      if (!r) {
        std::cerr << "citytwin-view: " << r.error().to_string() << "\n";
        return k_exit_bad_input;
      }
      f = std::move(*r);
    }
    scene.update(f);
    const Annotation annotation{frame_caption(f, "")};
    auto image = render_offscreen(scene, pose, w, h, plain ? nullptr : &annotation);
    if (!image) {
      std::cerr << "citytwin-view: " << image.error().to_string() << "\n";
      return k_exit_internal;
    }
    if (!osgDB::writeImageFile(**image, out)) {
      std::cerr << "citytwin-view: cannot write " << out << " (is the folder there?)\n";
      return k_exit_bad_input;
    }
    std::cerr << "citytwin-view: wrote " << out << " (" << w << "x" << h << ", t = " << f.t / 1000
              << " s)\n";
    return k_exit_ok;
  }

  osgViewer::Viewer viewer;
  viewer.setThreadingModel(osgViewer::Viewer::SingleThreaded);
  viewer.setUpViewInWindow(40, 40, w, h);
  auto* root = new osg::Group;
  root->addChild(scene.root());
  auto controls = osg::ref_ptr<Controls>(new Controls(scene, index, *source));
  Overlay overlay(w, h);
  controls->overlay = &overlay;
  root->addChild(overlay.camera());
  viewer.setSceneData(root);
  auto* manip = new osgGA::TrackballManipulator;
  manip->setHomePosition(pose.eye, pose.target, osg::Vec3d(0, 0, 1));
  viewer.setCameraManipulator(manip);
  viewer.addEventHandler(controls.get());
  viewer.getCamera()->setClearColor(osg::Vec4(0.62f, 0.74f, 0.86f, 1.f));
  std::unique_ptr<LiveRun> live;
  if (source->model) {
    live = std::make_unique<LiveRun>(source->model);
    live->speed = speed;
    controls->live = live.get();
    live->start();
  } else {
    controls->replay_t = t_s;
  }
  viewer.realize();
  if (!viewer.isRealized()) {
    std::cerr << "citytwin-view: cannot open a window (no X display? see --help)\n";
    return k_exit_internal;
  }
  // --screenshot: the master camera's final draw callback reads the finished window (the HUD
  // camera renders before it) on the last scripted frame.
  struct Grab : osg::Camera::DrawCallback {
    osg::ref_ptr<osg::Image> image = new osg::Image;
    void operator()(osg::RenderInfo& info) const override {
      const osg::Viewport* vp = info.getCurrentCamera()->getViewport();
      image->readPixels(0, 0, static_cast<int>(vp->width()), static_cast<int>(vp->height()), GL_RGB,
                        GL_UNSIGNED_BYTE);
    }
  };
  osg::ref_ptr<Grab> grab = new Grab;
  int drawn = 0;
  while (!viewer.done() && (frames <= 0 || drawn < frames)) {
    if (controls->next_frame()) scene.update(controls->current);
    controls->update_hud(controls->current);
    if (!screenshot.empty() && drawn + 1 == frames)
      viewer.getCamera()->setFinalDrawCallback(grab.get());
    viewer.frame();
    ++drawn;
  }
  std::cerr << "citytwin-view: " << drawn << " frames drawn\n";
  if (!screenshot.empty()) {
    if (!grab->image->data() || !osgDB::writeImageFile(*grab->image, screenshot)) {
      std::cerr << "citytwin-view: --screenshot: no frame written to " << screenshot
                << " (give --frames N; is the folder there?)\n";
      return k_exit_bad_input;
    }
    std::cerr << "citytwin-view: wrote " << screenshot << "\n";
  }
  return k_exit_ok;
}
