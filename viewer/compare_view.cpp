#include "compare_view.hpp"

#include <fmt/format.h>
#include <imgui.h>
#include <osgDB/WriteFile>
#include <osgViewer/Viewer>

#include <algorithm>
#include <cmath>
#include <iostream>

#include "imgui_osg.hpp"
#include "overlay.hpp"
#include "picking.hpp"

namespace citytwin::view {
namespace {

// One run on the shared clock: its recorded frame at or before the clock.
struct RunView {
  const Source& source;
  const char* name;
  std::size_t k = static_cast<std::size_t>(-1);
  FrameSnapshot frame;

  /// Reads the frame for `t_s` when it is another one; true if it changed.
  bool seek(double t_s) {
    const std::size_t next = replay_index(source, t_s);
    if (next == k) return false;
    auto f = replay_frame(source, next);
    if (!f) {
      std::cerr << "citytwin-view: " << name << ": " << f.error().to_string() << "\n";
      return false;
    }
    k = next, frame = std::move(*f);
    return true;
  }
};

// Everything the comparison shows and changes: the clock, the mode, the pick; keys and clicks.
struct Compare : osgGA::GUIEventHandler {
  RunView base, variant;
  CityScene& base_scene;
  CityScene variant_scene;  ///< also the one city of the difference layer
  const SpatialIndex& index;
  std::vector<double> times_s;  ///< output times of either run, ascending
  float clock_s = 0;
  bool difference = false;
  bool dirty = true;  ///< the scenes need the current frames again (mode changed)
  Picked picked;
  std::string described;  ///< the pick's last description (printed when it changes)
  float down_x = 0, down_y = 0;
  osg::ref_ptr<osg::Camera> left, right;  ///< slave cameras: base, variant (or the difference)
  osgViewer::Viewer* viewer = nullptr;

  Compare(const Source& b, const Source& v, CityScene& bs, const SpatialIndex& i)
      : base{b, "base", static_cast<std::size_t>(-1), {}},
        variant{v, "variant", static_cast<std::size_t>(-1), {}},
        base_scene(bs),
        variant_scene(bs.city(), bs.mesh()),
        index(i) {
    times_s = b.frame_times_s;
    times_s.insert(times_s.end(), v.frame_times_s.begin(), v.frame_times_s.end());
    std::sort(times_s.begin(), times_s.end());
    times_s.erase(std::unique(times_s.begin(), times_s.end()), times_s.end());
  }

  double end_s() const { return times_s.empty() ? 0.0 : times_s.back(); }

  // The previous or next output time of either run.
  void step(int dir) {
    if (times_s.empty()) return;
    auto it = std::upper_bound(times_s.begin(), times_s.end(), clock_s + 1e-6);
    if (dir < 0) {
      it = std::lower_bound(times_s.begin(), times_s.end(), clock_s - 1e-6);
      clock_s = static_cast<float>(it == times_s.begin() ? times_s.front() : *std::prev(it));
    } else {
      clock_s = static_cast<float>(it == times_s.end() ? times_s.back() : *it);
    }
  }

  void set_difference(bool on) {
    difference = on;
    dirty = true;
    // Split: base on the left half, variant on the right, each with the aspect of its half.
    // Difference: the variant's camera alone over the whole window.
    const double w = viewer->getCamera()->getViewport()->width();
    const double h = viewer->getCamera()->getViewport()->height();
    left->setCullMask(on ? 0u : ~0u);
    left->setClearMask(on ? 0 : GL_COLOR_BUFFER_BIT | GL_DEPTH_BUFFER_BIT);
    left->setViewport(0, 0, w / 2, h);
    right->setViewport(on ? 0 : w / 2, 0, on ? w : w - w / 2, h);
    const osg::Matrixd half = osg::Matrixd::scale(2, 1, 1);
    viewer->findSlaveForCamera(left.get())->_projectionOffset = half;
    viewer->findSlaveForCamera(right.get())->_projectionOffset =
        on ? osg::Matrixd::identity() : half;
  }

  /// Brings both runs to the clock and the scenes to the mode.
  void update() {
    const bool moved_b = base.seek(clock_s), moved_v = variant.seek(clock_s);
    if (!(moved_b || moved_v || dirty)) return;
    dirty = false;
    if (difference) {
      variant_scene.show_difference(base.frame, variant.frame);
    } else {
      base_scene.update(base.frame);
      variant_scene.update(variant.frame);
    }
  }

  std::string pick_text() const {
    return picked.any ? describe_both(base_scene.city(), picked, base.frame, variant.frame) : "";
  }

  /// Prints the pick's description whenever it changes (a new pick, another frame).
  void report_pick() {
    std::string d = pick_text();
    if (d.empty() || d == described) return;
    described = d;
    std::cout << fmt::format("picked at t = {:.0f} s: {}", clock_s, d) << std::endl;
  }

  // The slave camera under window pixel (x, y): picking casts its ray.
  osg::Camera* camera_at(float x, float y) const {
    for (osg::Camera* c : {right.get(), left.get()}) {
      const osg::Viewport* vp = c->getViewport();
      if (c->getCullMask() != 0 && x >= vp->x() && x < vp->x() + vp->width() && y >= vp->y() &&
          y < vp->y() + vp->height())
        return c;
    }
    return nullptr;
  }

  bool handle(const osgGA::GUIEventAdapter& ea, osgGA::GUIActionAdapter& aa) override {
    if (ea.getHandled()) return false;  // a widget's
    auto* view = dynamic_cast<osgViewer::View*>(&aa);
    if (ea.getEventType() == osgGA::GUIEventAdapter::KEYDOWN) {
      const int k = ea.getKey();
      if (k >= '1' && k < '1' + static_cast<int>(k_layer_count)) {
        base_scene.toggle(static_cast<unsigned>(k - '1'));
        variant_scene.toggle(static_cast<unsigned>(k - '1'));
      }
      if (k == 'd') set_difference(!difference);
      if (k == osgGA::GUIEventAdapter::KEY_Right) step(1);
      if (k == osgGA::GUIEventAdapter::KEY_Left) step(-1);
      if ((k == 'o' || k == 't') && view)
        if (auto pose = camera_preset(base_scene, k == 'o' ? "overview" : "top")) {
          view->getCameraManipulator()->setHomePosition(pose->eye, pose->target,
                                                        osg::Vec3d(0, 0, 1));
          view->getCameraManipulator()->home(0);
        }
      return false;
    }
    if (ea.getEventType() == osgGA::GUIEventAdapter::PUSH) down_x = ea.getX(), down_y = ea.getY();
    if (ea.getEventType() == osgGA::GUIEventAdapter::RELEASE &&
        std::hypot(ea.getX() - down_x, ea.getY() - down_y) < 3)
      if (osg::Camera* c = camera_at(ea.getX(), ea.getY()))
        picked = pick(window_from_scene(*c), ea.getX(), ea.getY(), base_scene, index);
    return false;
  }

  // The widgets: the time slider (snapping to neither run: each shows its frame at or before
  // the clock), frame steps, the difference toggle and the pick in both runs.
  void widgets() {
    const ImGuiIO& io = ImGui::GetIO();
    ImGui::SetNextWindowPos(ImVec2(8, io.DisplaySize.y - 8), ImGuiCond_Always, ImVec2(0, 1));
    ImGui::SetNextWindowSize(ImVec2(std::min(560.f, io.DisplaySize.x - 16), 0), ImGuiCond_Always);
    ImGui::SetNextWindowBgAlpha(0.8f);
    ImGui::Begin("clock", nullptr,
                 ImGuiWindowFlags_NoTitleBar | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoMove |
                     ImGuiWindowFlags_NoCollapse);
    if (ImGui::ArrowButton("##back", ImGuiDir_Left)) step(-1);
    ImGui::SameLine();
    if (ImGui::ArrowButton("##forward", ImGuiDir_Right)) step(1);
    ImGui::SameLine();
    ImGui::SetNextItemWidth(-150);
    ImGui::SliderFloat("##time", &clock_s, 0.f, static_cast<float>(end_s()), "t = %.0f s");
    ImGui::SameLine();
    if (bool d = difference; ImGui::Checkbox("difference (d)", &d)) set_difference(d);
    ImGui::TextUnformatted(difference ? "one city: variant - base (red: worse in the variant)"
                                      : "left: base   right: variant");
    ImGui::TextDisabled("keys: 1-7 layers, d difference, arrows frame, o/t camera");
    for (const RunView* r : {&base, &variant})
      ImGui::Text("%-7s frame %zu/%zu at %.0f s: %s", r->name, r->k + 1,
                  r->source.frame_times_s.size(), static_cast<double>(r->frame.t) / 1000.0,
                  r->source.path.c_str());
    if (ImGui::CollapsingHeader("key figures") &&
        ImGui::BeginTable("figures", 3, ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingFixedFit)) {
      for (const char* h : {"", "base", "variant"}) ImGui::TableSetupColumn(h);
      ImGui::TableHeadersRow();
      for (const auto& [name, value] : base.frame.figures) {
        auto it = std::find_if(variant.frame.figures.begin(), variant.frame.figures.end(),
                               [&](const auto& f) { return f.first == name; });
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(name.c_str());
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(value.c_str());
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(it == variant.frame.figures.end() ? "-" : it->second.c_str());
      }
      ImGui::EndTable();
    }
    if (picked.any) ImGui::TextUnformatted(("picked: " + pick_text()).c_str());
    ImGui::End();
  }
};

osg::Camera* half_camera(osg::GraphicsContext* gc, osg::Node* scene, int order) {
  auto* c = new osg::Camera;
  c->setGraphicsContext(gc);
  c->setRenderOrder(osg::Camera::PRE_RENDER, order);
  c->setClearColor(osg::Vec4(0.62f, 0.74f, 0.86f, 1.f));
  c->setAllowEventFocus(false);  // clicks stay in window pixels; picking finds the half
  c->addChild(scene);
  return c;
}

}  // namespace

int run_compare(const Source& base, const Source& variant, CityScene& base_scene,
                const SpatialIndex& index, const CompareSettings& settings) {
  osgViewer::Viewer viewer;
  viewer.setThreadingModel(osgViewer::Viewer::SingleThreaded);
  viewer.setUpViewInWindow(40, 40, settings.w, settings.h);
  osg::ref_ptr<Compare> compare = new Compare(base, variant, base_scene, index);
  compare->viewer = &viewer;
  compare->clock_s = static_cast<float>(std::min(settings.t_s, compare->end_s()));

  // The master camera draws the legend, then the widgets, after both halves.
  osg::Camera* master = viewer.getCamera();
  osgViewer::Viewer::Windows windows;
  viewer.getWindows(windows);
  if (windows.empty()) {
    std::cerr << "citytwin-view: cannot open a window (no X display? see --help)\n";
    return k_exit_internal;
  }
  osg::GraphicsContext* gc = master->getGraphicsContext();
  master->setRenderOrder(osg::Camera::POST_RENDER);
  master->setClearMask(0);
  compare->left = half_camera(gc, base_scene.root(), 0);
  compare->right = half_camera(gc, compare->variant_scene.root(), 1);
  viewer.addSlave(compare->left.get(), osg::Matrixd(), osg::Matrixd(), false);
  viewer.addSlave(compare->right.get(), osg::Matrixd(), osg::Matrixd(), false);
  compare->set_difference(settings.difference);
  Overlay overlay(settings.w, settings.h);
  viewer.setSceneData(overlay.camera());

  ImGuiLayer imgui([&] { compare->widgets(); });
  osg::ref_ptr<WindowGrab> grab = new WindowGrab;
  imgui.set_after(grab.get());
  master->setFinalDrawCallback(imgui.draw());
  viewer.addEventHandler(imgui.events());
  viewer.addEventHandler(compare.get());
  auto* manip = new Trackball;
  manip->setHomePosition(settings.pose.eye, settings.pose.target, osg::Vec3d(0, 0, 1));
  viewer.setCameraManipulator(manip);
  viewer.realize();
  if (!viewer.isRealized()) {
    std::cerr << "citytwin-view: cannot open a window (no X display? see --help)\n";
    return k_exit_internal;
  }

  int drawn = 0;
  while (!viewer.done() && (settings.frames <= 0 || drawn < settings.frames)) {
    compare->update();
    compare->report_pick();
    overlay.set_legend(compare->difference ? compare->variant_scene.legend() : base_scene.legend());
    grab->armed = !settings.screenshot.empty() && drawn + 1 == settings.frames;
    viewer.frame();
    ++drawn;
    // --click-at: once the first frame has placed the cameras, a click (press and release)
    // at the point's pixel, through the window's own event queue as a mouse click would come.
    if (drawn == 1 && settings.click_at) {
      osg::Camera* c = compare->difference ? compare->right.get() : compare->left.get();
      click_window(*windows.front(), *c, *settings.click_at, settings.h);
    }
  }
  imgui.release(gc);
  std::cerr << "citytwin-view: " << drawn << " frames drawn\n";
  if (!settings.screenshot.empty()) {
    if (!grab->image->data() || !osgDB::writeImageFile(*grab->image, settings.screenshot)) {
      std::cerr << "citytwin-view: --screenshot: no frame written to " << settings.screenshot
                << " (give --frames N; is the folder there?)\n";
      return k_exit_bad_input;
    }
    std::cerr << "citytwin-view: wrote " << settings.screenshot << "\n";
  }
  return k_exit_ok;
}

}  // namespace citytwin::view
