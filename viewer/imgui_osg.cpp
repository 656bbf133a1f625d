#include "imgui_osg.hpp"

#include <backends/imgui_impl_opengl2.h>
#include <imgui.h>
#include <osg/GLExtensions>
#include <osg/State>

#include <chrono>
#include <deque>

namespace citytwin::view {
namespace {

// A mouse button going down or up. Applied one per drawn frame: ImGui 1.86 reads the button
// state once per frame, so a click whose press and release arrive between two frames would
// otherwise be lost.
struct ButtonEvent {
  int button;
  bool down;
  float x, y;  ///< ImGui pixels (origin top left)
};

int imgui_button(int osg_button) {
  switch (osg_button) {
    case osgGA::GUIEventAdapter::LEFT_MOUSE_BUTTON:
      return 0;
    case osgGA::GUIEventAdapter::RIGHT_MOUSE_BUTTON:
      return 1;
    case osgGA::GUIEventAdapter::MIDDLE_MOUSE_BUTTON:
      return 2;
    default:
      return -1;
  }
}

// What the event handler and the draw callback share.
struct LayerState {
  ImGuiContext* context = nullptr;
  std::function<void()> build;
  std::deque<ButtonEvent> buttons;
  float wheel = 0;
  bool gl_ready = false;
  std::chrono::steady_clock::time_point last = std::chrono::steady_clock::now();
  osg::ref_ptr<osg::Camera::DrawCallback> after;
  osg::ref_ptr<osgGA::GUIEventHandler> events;
  osg::ref_ptr<osg::Camera::DrawCallback> draw;

  void frame(osg::RenderInfo& info);
};

struct Events : osgGA::GUIEventHandler {
  LayerState& layer;
  explicit Events(LayerState& l) : layer(l) {}

  bool handle(const osgGA::GUIEventAdapter& ea, osgGA::GUIActionAdapter&) override {
    ImGui::SetCurrentContext(layer.context);
    ImGuiIO& io = ImGui::GetIO();
    const float x = ea.getX() - ea.getXmin();
    const float y = ea.getMouseYOrientation() == osgGA::GUIEventAdapter::Y_INCREASING_UPWARDS
                        ? ea.getYmax() - ea.getY()
                        : ea.getY() - ea.getYmin();
    switch (ea.getEventType()) {
      case osgGA::GUIEventAdapter::MOVE:
      case osgGA::GUIEventAdapter::DRAG:
        if (layer.buttons.empty()) io.MousePos = ImVec2(x, y);
        return io.WantCaptureMouse;
      case osgGA::GUIEventAdapter::PUSH:
      case osgGA::GUIEventAdapter::RELEASE: {
        const int b = imgui_button(ea.getButton());
        if (b < 0) return false;
        const bool down = ea.getEventType() == osgGA::GUIEventAdapter::PUSH;
        layer.buttons.push_back({b, down, x, y});
        // Over a widget (or ending a drag that began on one): ImGui's alone.
        return io.WantCaptureMouse;
      }
      case osgGA::GUIEventAdapter::SCROLL:
        layer.wheel += ea.getScrollingMotion() == osgGA::GUIEventAdapter::SCROLL_UP ? 1.f : -1.f;
        return io.WantCaptureMouse;
      default:
        return false;
    }
  }
};

struct Draw : osg::Camera::DrawCallback {
  LayerState& layer;
  explicit Draw(LayerState& l) : layer(l) {}
  void operator()(osg::RenderInfo& info) const override {
    layer.frame(info);
    if (layer.after) (*layer.after)(info);
  }
};

void LayerState::frame(osg::RenderInfo& info) {
  ImGui::SetCurrentContext(context);
  osg::State& state = *info.getState();
  // The OpenGL2 backend draws with the fixed-function pipeline from client-side arrays: leave
  // it no shader program, buffer object or vertex attribute array of the scene bound.
  state.popAllStateSets();
  state.apply();
  state.disableAllVertexArrays();
  state.unbindVertexBufferObject();
  state.unbindElementBufferObject();
  state.setActiveTextureUnit(0);
  const osg::GLExtensions* gl = state.get<osg::GLExtensions>();
  gl->glUseProgram(0);
  gl->glBindBuffer(GL_ARRAY_BUFFER_ARB, 0);
  gl->glBindBuffer(GL_ELEMENT_ARRAY_BUFFER_ARB, 0);
  if (gl->isVAOSupported) gl->glBindVertexArray(0);
  for (GLuint a = 0; a < 16; ++a) gl->glDisableVertexAttribArray(a);
  gl->glClientActiveTexture(GL_TEXTURE0);
  gl->glActiveTexture(GL_TEXTURE0);
  state.setLastAppliedProgramObject(nullptr);
  if (!gl_ready) gl_ready = ImGui_ImplOpenGL2_Init();

  ImGuiIO& io = ImGui::GetIO();
  const osg::Viewport* vp = info.getCurrentCamera()->getViewport();
  io.DisplaySize = ImVec2(static_cast<float>(vp->width()), static_cast<float>(vp->height()));
  const auto now = std::chrono::steady_clock::now();
  io.DeltaTime = std::max(1e-4f, std::chrono::duration<float>(now - last).count());
  last = now;
  if (!buttons.empty()) {
    const ButtonEvent e = buttons.front();
    buttons.pop_front();
    io.MousePos = ImVec2(e.x, e.y);
    io.MouseDown[e.button] = e.down;
  }
  io.MouseWheel = wheel;
  wheel = 0;

  ImGui_ImplOpenGL2_NewFrame();
  ImGui::NewFrame();
  build();
  ImGui::Render();
  ImGui_ImplOpenGL2_RenderDrawData(ImGui::GetDrawData());
  // What the backend changed and restored, OSG no longer knows: apply everything next frame.
  state.dirtyAllModes();
  state.dirtyAllAttributes();
  state.dirtyAllVertexArrays();
}

}  // namespace

struct ImGuiLayer::Impl : LayerState {};

ImGuiLayer::ImGuiLayer(std::function<void()> build) : m_impl(std::make_unique<Impl>()) {
  IMGUI_CHECKVERSION();
  m_impl->context = ImGui::CreateContext();
  ImGui::SetCurrentContext(m_impl->context);
  ImGui::GetIO().IniFilename = nullptr;  // no imgui.ini next to the user's files
  ImGui::StyleColorsLight();
  m_impl->build = std::move(build);
  m_impl->events = new Events(*m_impl);
  m_impl->draw = new Draw(*m_impl);
}

ImGuiLayer::~ImGuiLayer() {
  ImGui::DestroyContext(m_impl->context);
}

osgGA::GUIEventHandler* ImGuiLayer::events() const {
  return m_impl->events.get();
}
osg::Camera::DrawCallback* ImGuiLayer::draw() const {
  return m_impl->draw.get();
}
void ImGuiLayer::set_after(osg::Camera::DrawCallback* after) {
  m_impl->after = after;
}

void ImGuiLayer::release(osg::GraphicsContext* gc) {
  if (!m_impl->gl_ready || !gc || !gc->makeCurrent()) return;
  ImGui::SetCurrentContext(m_impl->context);
  ImGui_ImplOpenGL2_Shutdown();
  m_impl->gl_ready = false;
  gc->releaseContext();
}

}  // namespace citytwin::view
