// Dear ImGui (Debian's libimgui-dev, its OpenGL2 backend) inside an OSG window: an event
// handler feeds the mouse to ImGui and keeps what ImGui uses from the camera manipulator and
// the picking, and the master camera's final draw callback builds and draws the widgets over
// the finished frame (after the scene and the HUD camera).
#pragma once

#include <osg/Camera>
#include <osg/GraphicsContext>
#include <osg/Image>
#include <osgGA/GUIEventHandler>
#include <osgGA/TrackballManipulator>

#include <functional>
#include <memory>

namespace citytwin::view {

class ImGuiLayer {
 public:
  /// `build` makes the widgets (ImGui::Begin ... End) once per drawn frame.
  explicit ImGuiLayer(std::function<void()> build);
  ~ImGuiLayer();
  ImGuiLayer(const ImGuiLayer&) = delete;
  ImGuiLayer& operator=(const ImGuiLayer&) = delete;

  /// Add to the viewer before other handlers: mouse events ImGui takes are marked handled.
  osgGA::GUIEventHandler* events() const;
  /// Install as the master camera's final draw callback; `after` (optional) runs after the
  /// widgets are drawn (e.g. a screenshot of the whole window).
  osg::Camera::DrawCallback* draw() const;
  void set_after(osg::Camera::DrawCallback* after);
  /// Frees ImGui's GL objects: call with the window still open, before the viewer closes.
  void release(osg::GraphicsContext* gc);

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

/// The trackball, but not for the mouse events a widget took (a slider's drag).
struct Trackball : osgGA::TrackballManipulator {
  bool handle(const osgGA::GUIEventAdapter& ea, osgGA::GUIActionAdapter& aa) override {
    return !ea.getHandled() && osgGA::TrackballManipulator::handle(ea, aa);
  }
};

/// Reads the finished window (scene, HUD, widgets) when armed: a final draw callback, or
/// ImGuiLayer's `after` (--screenshot).
struct WindowGrab : osg::Camera::DrawCallback {
  osg::ref_ptr<osg::Image> image = new osg::Image;
  bool armed = false;
  void operator()(osg::RenderInfo& info) const override {
    if (!armed) return;
    const osg::Viewport* vp = info.getCurrentCamera()->getViewport();
    image->readPixels(0, 0, static_cast<int>(vp->width()), static_cast<int>(vp->height()), GL_RGB,
                      GL_UNSIGNED_BYTE);
  }
};

}  // namespace citytwin::view
