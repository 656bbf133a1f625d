#include "render.hpp"

#include <dlfcn.h>
#include <link.h>
#include <osgViewer/Viewer>

#include <cmath>
#include <cstring>

#include "overlay.hpp"

namespace citytwin::view {
namespace {

// Reads the colour buffer after the frame is drawn.
struct ReadPixels : osg::Camera::DrawCallback {
  osg::ref_ptr<osg::Image> image;
  bool enabled = true;
  void operator()(osg::RenderInfo& info) const override {
    if (!enabled) {
      glFinish();  // the frame is complete when frame() returns, as with a read-back
      return;
    }
    const osg::Viewport* vp = info.getCurrentCamera()->getViewport();
    image->readPixels(0, 0, static_cast<int>(vp->width()), static_cast<int>(vp->height()), GL_RGB,
                      GL_UNSIGNED_BYTE);
  }
};

// Keeps the GL vendor library (libGLX_*) and the DRI driver loaded for the rest of the process
// once a context exists. Otherwise glvnd unloads them when the last context of a display closes
// and loads them again for the next view: every OffscreenView pays the driver's start-up, and
// the allocations the driver's globals still point to look like leaks to LeakSanitizer.
void pin_gl_driver() {
  static const bool pinned = [] {
    dl_iterate_phdr(
        [](dl_phdr_info* info, std::size_t, void*) {
          const char* name = info->dlpi_name;
          if (name && (std::strstr(name, "/dri/") || std::strstr(name, "libGLX_")))
            dlopen(name, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);  // a reference never dropped
          return 0;
        },
        nullptr);
    return true;
  }();
  (void)pinned;
}

}  // namespace

Result<CameraPose> camera_preset(const CityScene& scene, const std::string& name) {
  const auto& e = scene.city().extent;
  const double w = e[2] - e[0], h = e[3] - e[1], size = std::max(w, h);
  const double zc = scene.city().terrain.empty() ? 0 : scene.city().terrain.min();
  const osg::Vec3d centre = scene.to_scene(0.5 * (e[0] + e[2]), 0.5 * (e[1] + e[3]), zc);
  if (name == "overview") {
    const double d = 0.9 * size, a = 35.0 * M_PI / 180;
    return CameraPose{centre + osg::Vec3d(0, -d * std::cos(a), d * std::sin(a)), centre};
  }
  if (name == "top") return CameraPose{centre + osg::Vec3d(0, -1e-3 * size, 1.2 * size), centre};
  return std::unexpected(
      Error(Diagnostic{"", 0, 0, "--camera", "unknown camera preset", name, "overview or top"}));
}

struct OffscreenView::Impl {
  osgViewer::Viewer viewer;
  osg::ref_ptr<osg::GraphicsContext> gc;
  osg::ref_ptr<ReadPixels> grab = new ReadPixels;
  int w = 0, h = 0;
};

OffscreenView::OffscreenView(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
OffscreenView::~OffscreenView() = default;

Result<std::unique_ptr<OffscreenView>> OffscreenView::create(CityScene& scene, int w, int h,
                                                             osg::Node* overlay) {
  osg::ref_ptr<osg::GraphicsContext::Traits> traits = new osg::GraphicsContext::Traits;
  traits->readDISPLAY();
  traits->setUndefinedScreenDetailsToDefaultScreen();
  traits->width = w;
  traits->height = h;
  traits->pbuffer = true;
  traits->doubleBuffer = false;
  traits->red = traits->green = traits->blue = 8;
  traits->depth = 24;
  auto impl = std::make_unique<Impl>();
  impl->gc = osg::GraphicsContext::createGraphicsContext(traits.get());
  if (!impl->gc || !impl->gc->valid())
    return std::unexpected(
        Error::msg("cannot create an offscreen OpenGL context: run under an X server, e.g. "
                   "xvfb-run -a -s \"-screen 0 1280x720x24\" citytwin-view ..."));
  impl->w = w;
  impl->h = h;
  osgViewer::Viewer& viewer = impl->viewer;
  viewer.setThreadingModel(osgViewer::Viewer::SingleThreaded);
  if (overlay) {
    osg::ref_ptr<osg::Group> root = new osg::Group;
    root->addChild(scene.root());
    root->addChild(overlay);
    viewer.setSceneData(root.get());
  } else {
    viewer.setSceneData(scene.root());
  }
  osg::Camera* cam = viewer.getCamera();
  cam->setGraphicsContext(impl->gc.get());
  cam->setViewport(0, 0, w, h);
  cam->setClearColor(osg::Vec4(0.62f, 0.74f, 0.86f, 1.f));
  cam->setComputeNearFarMode(osg::CullSettings::DO_NOT_COMPUTE_NEAR_FAR);
  impl->grab->image = new osg::Image;
  cam->setFinalDrawCallback(impl->grab.get());
  viewer.realize();
  pin_gl_driver();
  return std::unique_ptr<OffscreenView>(new OffscreenView(std::move(impl)));
}

namespace {
// 40 degrees vertical field, near and far planes scaled by the viewing distance.
osg::Matrixd projection(const CameraPose& pose, int w, int h) {
  const double dist = (pose.eye - pose.target).length();
  return osg::Matrixd::perspective(40.0, static_cast<double>(w) / h, std::max(1.0, dist * 1e-3),
                                   dist * 10);
}
}  // namespace

osg::Vec3d project(const CameraPose& pose, int w, int h, const osg::Vec3d& p) {
  const osg::Matrixd m = osg::Matrixd::lookAt(pose.eye, pose.target, osg::Vec3d(0, 0, 1)) *
                         projection(pose, w, h) * osg::Matrixd::translate(1, 1, 1) *
                         osg::Matrixd::scale(0.5 * w, 0.5 * h, 0.5);
  return p * m;
}

const osg::Image& OffscreenView::frame(const CameraPose& pose, bool read_back) {
  osg::Camera* cam = m_impl->viewer.getCamera();
  cam->setProjectionMatrix(projection(pose, m_impl->w, m_impl->h));
  cam->setViewMatrixAsLookAt(pose.eye, pose.target, osg::Vec3d(0, 0, 1));
  m_impl->grab->enabled = read_back;
  m_impl->viewer.frame();
  return *m_impl->grab->image;
}

Result<osg::ref_ptr<osg::Image>> render_offscreen(CityScene& scene, const CameraPose& pose, int w,
                                                  int h, const Annotation* annotation) {
  std::unique_ptr<Overlay> overlay;
  if (annotation) {
    overlay = std::make_unique<Overlay>(w, h);
    overlay->set_text(annotation->caption);
    overlay->set_legend(scene.legend());
  }
  auto view = OffscreenView::create(scene, w, h, overlay ? overlay->camera() : nullptr);
  if (!view) return std::unexpected(view.error());
  const osg::Image& im = (*view)->frame(pose);
  if (!im.data()) return std::unexpected(Error::msg("offscreen frame could not be read back"));
  return osg::ref_ptr<osg::Image>(new osg::Image(im, osg::CopyOp::DEEP_COPY_ALL));
}

}  // namespace citytwin::view
