// citytwin-view: the interactive viewer (live from a scenario, replay of a run file) and its
// offscreen render mode (used by `citytwin render` and the tests).
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <osgDB/WriteFile>
#include <osgGA/GUIEventHandler>
#include <osgViewer/Viewer>

#include <cmath>
#include <cstdlib>
#include <iostream>

#include "city_scene.hpp"
#include "citytwin/compare.hpp"
#include "citytwin/sim.hpp"
#include "compare_view.hpp"
#include "drill_panel.hpp"
#include "imgui_osg.hpp"
#include "live_run.hpp"
#include "overlay.hpp"
#include "picking.hpp"
#include "render.hpp"
#include "sensors_layer.hpp"
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
  // A live drill: its sensors, what is picked for its commands, its view of the frame.
  SensorsLayer* sensors = nullptr;
  DrillPick drill_pick;
  int hovered = -1;  ///< the sensor under the mouse
  DrillFrame drill;
  std::string described, described_sensor;  ///< the picks' last descriptions (printed)

  Controls(CityScene& s, const SpatialIndex& i, const Source& src)
      : scene(s), index(i), source(src) {}

  bool handle(const osgGA::GUIEventAdapter& ea, osgGA::GUIActionAdapter& aa) override {
    if (ea.getHandled()) return false;  // a widget's
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
    if (sensors && view && (ea.getEventType() == osgGA::GUIEventAdapter::MOVE))
      hovered = sensors->sensor_at(window_from_scene(*view->getCamera()), ea.getX(), ea.getY());
    if (ea.getEventType() == osgGA::GUIEventAdapter::RELEASE && view &&
        std::hypot(ea.getX() - down_x, ea.getY() - down_y) < 3)
      click(window_from_scene(*view->getCamera()), ea.getX(), ea.getY());
    return false;
  }

  // A drill's sensor or substation marker near the click, else what the ray hits.
  void click(const osg::Matrixd& w, float x, float y) {
    if (sensors) {
      if (const int d = sensors->sensor_at(w, x, y); d >= 0) {
        drill_pick.sensor = d;
        return;
      }
      if (const int s = sensors->substation_at(w, x, y); s >= 0) {
        drill_pick.substation = s;
        picked = {};
        return;
      }
    }
    picked = pick(w, x, y, scene, index);
    if (sensors && picked.hit && picked.kind == EntityKind::road) drill_pick.link = picked.index;
  }

  std::string pick_text(const FrameSnapshot& f) const {
    if (picked.any) return describe(scene.city(), picked, f);
    if (const int s = drill_pick.substation; s >= 0)
      return fmt::format("substation {}: {}", s,
                         s < static_cast<int>(f.substation_on.size()) && !f.substation_on[s]
                             ? "OUT of service"
                             : "in service");
    return "";
  }

  /// Prints the picks' descriptions whenever they change (a new pick, another frame).
  void report_picks() {
    const std::string d = pick_text(current);
    if (!d.empty() && d != described)
      std::cout << fmt::format("picked at t = {:.0f} s: {}", to_seconds(current.t), d) << std::endl;
    described = d;
    const std::string s = drill_pick.sensor >= 0 ? sensors->describe(drill_pick.sensor, drill) : "";
    if (!s.empty() && s != described_sensor) std::cout << "picked " << s << std::endl;
    described_sensor = s;
  }

  /// Takes a new snapshot into `current` when there is one; true if it changed.
  bool next_frame() {
    if (live) {
      std::lock_guard lock(live->mutex);
      if (!live->fresh) return false;
      current = std::move(live->latest);
      drill = std::move(live->drill);
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
    if (const std::string p = pick_text(f); !p.empty()) s += fmt::format("picked: {}", p);
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
  std::vector<std::string> click_s;
  app.add_option("--click-at", click_s,
                 "with --frames, compare mode or live: click the pixel showing this point x,y,z "
                 "(model CRS) after the first frame (live: repeat it for one click a frame); "
                 "the pick is printed");
  std::vector<std::string> press_s;
  app.add_option("--press", press_s,
                 "live drill, with --frames: press the Drill panel's button BUTTON at frame N "
                 "(BUTTON@N; pause, resume, speed, scale-load, close-link, substation-out)");
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
  if (!comparing && difference) {
    std::cerr << "citytwin-view: --difference needs two run files (compare mode)\n";
    return k_exit_bad_input;
  }
  if (comparing && click_s.size() > 1) {
    std::cerr << "citytwin-view: compare mode takes one --click-at\n";
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
  std::vector<osg::Vec3d> clicks;  // scene points
  for (const std::string& c : click_s) {
    osg::Vec3d p;
    if (!parse_vec3(c, p)) {
      std::cerr << "citytwin-view: --click-at: expected x,y,z in the model CRS, found '" << c
                << "'\n";
      return k_exit_bad_input;
    }
    clicks.push_back(scene.to_scene(p.x(), p.y(), p.z()));
  }
  std::vector<std::pair<DrillPanel::Button, int>> presses;
  for (const std::string& b : press_s) {
    const auto at_sign = b.rfind('@');
    const auto button = DrillPanel::button(b.substr(0, std::min(at_sign, b.size())));
    const int frame = at_sign == std::string::npos ? -1 : std::atoi(b.c_str() + at_sign + 1);
    if (!button || frame < 1) {
      std::cerr << "citytwin-view: --press: expected BUTTON@FRAME (e.g. close-link@40), found '"
                << b << "'\n";
      return k_exit_bad_input;
    }
    presses.emplace_back(*button, frame);
  }

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
    if (!clicks.empty()) settings.click_at = clicks.front();
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

  // A live twin's drill: its session (the broker, as `citytwin run` connects), its sensors'
  // markers and the Drill panel.
  std::unique_ptr<live::LiveSession> session;
  if (source->model) {
    auto s = open_drill(*source->model);
    if (!s) {
      std::cerr << "citytwin-view: " << s.error().to_string() << "\n";
      return k_exit_bad_input;
    }
    session = std::move(*s);
  }
  std::unique_ptr<SensorsLayer> sensors;
  std::unique_ptr<DrillPanel> panel;
  if (session) {
    const LiveSpec& live_spec = source->model->spec.live;
    sensors = std::make_unique<SensorsLayer>(scene, live_spec.datastreams);
    panel = std::make_unique<DrillPanel>(live_spec, *sensors);
  } else if (!presses.empty()) {
    std::cerr << "citytwin-view: --press needs a live drill (a scenario with [live] or "
                 "[[sensors.datastream]])\n";
    return k_exit_bad_input;
  }

  osgViewer::Viewer viewer;
  viewer.setThreadingModel(osgViewer::Viewer::SingleThreaded);
  viewer.setUpViewInWindow(40, 40, w, h);
  auto* root = new osg::Group;
  root->addChild(scene.root());
  if (sensors) root->addChild(sensors->root());
  auto controls = osg::ref_ptr<Controls>(new Controls(scene, index, *source));
  controls->sensors = sensors.get();
  Overlay overlay(w, h);
  controls->overlay = &overlay;
  root->addChild(overlay.camera());
  viewer.setSceneData(root);
  // --screenshot: reads the finished window (the HUD camera renders before the master camera's
  // final draw callback; the Drill panel's widgets in it) on the last scripted frame.
  osg::ref_ptr<WindowGrab> grab = new WindowGrab;
  std::unique_ptr<ImGuiLayer> imgui;
  if (panel) {
    imgui = std::make_unique<ImGuiLayer>(
        [&] { panel->widgets(controls->drill, controls->drill_pick, controls->hovered); });
    imgui->set_after(grab.get());
    viewer.getCamera()->setFinalDrawCallback(imgui->draw());
    viewer.addEventHandler(imgui->events());
  } else {
    viewer.getCamera()->setFinalDrawCallback(grab.get());
  }
  auto* manip = new Trackball;
  manip->setHomePosition(pose.eye, pose.target, osg::Vec3d(0, 0, 1));
  viewer.setCameraManipulator(manip);
  viewer.addEventHandler(controls.get());
  viewer.getCamera()->setClearColor(osg::Vec4(0.62f, 0.74f, 0.86f, 1.f));
  std::unique_ptr<LiveRun> live;
  if (source->model) {
    live = std::make_unique<LiveRun>(source->model, std::move(session));
    live->speed = speed;
    controls->live = live.get();
    live->start();
  } else {
    controls->replay_t = t_s;
  }
  viewer.realize();
  osgViewer::Viewer::Windows windows;
  viewer.getWindows(windows);
  if (!viewer.isRealized() || windows.empty()) {
    std::cerr << "citytwin-view: cannot open a window (no X display? see --help)\n";
    return k_exit_internal;
  }
  int drawn = 0;
  while (!viewer.done() && (frames <= 0 || drawn < frames)) {
    if (controls->next_frame()) {
      scene.update(controls->current);
      if (sensors) sensors->set_power_layout(controls->current.power_layout);
    }
    controls->update_hud(controls->current);
    if (panel) {
      panel->poll();
      for (const auto& [button, at_frame] : presses)
        if (at_frame == drawn + 1 && !panel->press(button, controls->drill_pick))
          std::cerr << "citytwin-view: --press at frame " << at_frame
                    << ": the button does nothing (no operator connection, or nothing picked)\n";
    }
    if (source->model) controls->report_picks();
    grab->armed = !screenshot.empty() && drawn + 1 == frames;
    viewer.frame();
    ++drawn;
    // --click-at: once a frame has placed the camera, one click per frame.
    if (drawn <= static_cast<int>(clicks.size()))
      click_window(*windows.front(), *viewer.getCamera(), clicks[drawn - 1], h);
  }
  if (imgui) imgui->release(viewer.getCamera()->getGraphicsContext());
  live.reset();  // stops the stepping thread before the session's broker link closes
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
