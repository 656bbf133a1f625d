#include "render.hpp"

#include <osgViewer/Viewer>

#include <cmath>

namespace citytwin::view {
namespace {

// Reads the colour buffer after the frame is drawn.
struct ReadPixels : osg::Camera::DrawCallback {
  osg::ref_ptr<osg::Image> image;
  void operator()(osg::RenderInfo& info) const override {
    const osg::Viewport* vp = info.getCurrentCamera()->getViewport();
    image->readPixels(0, 0, static_cast<int>(vp->width()), static_cast<int>(vp->height()), GL_RGB,
                      GL_UNSIGNED_BYTE);
  }
};

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

Result<osg::ref_ptr<osg::Image>> render_offscreen(CityScene& scene, const CameraPose& pose, int w,
                                                  int h) {
  osg::ref_ptr<osg::GraphicsContext::Traits> traits = new osg::GraphicsContext::Traits;
  traits->readDISPLAY();
  traits->setUndefinedScreenDetailsToDefaultScreen();
  traits->width = w;
  traits->height = h;
  traits->pbuffer = true;
  traits->doubleBuffer = false;
  traits->red = traits->green = traits->blue = 8;
  traits->depth = 24;
  osg::ref_ptr<osg::GraphicsContext> gc = osg::GraphicsContext::createGraphicsContext(traits.get());
  if (!gc || !gc->valid())
    return std::unexpected(
        Error::msg("cannot create an offscreen OpenGL context: run under an X server, e.g. "
                   "xvfb-run -a -s \"-screen 0 1280x720x24\" citytwin-view ..."));
  osgViewer::Viewer viewer;
  viewer.setThreadingModel(osgViewer::Viewer::SingleThreaded);
  viewer.setSceneData(scene.root());
  osg::Camera* cam = viewer.getCamera();
  cam->setGraphicsContext(gc.get());
  cam->setViewport(0, 0, w, h);
  cam->setClearColor(osg::Vec4(0.62f, 0.74f, 0.86f, 1.f));
  const double dist = (pose.eye - pose.target).length();
  cam->setComputeNearFarMode(osg::CullSettings::DO_NOT_COMPUTE_NEAR_FAR);
  cam->setProjectionMatrixAsPerspective(40.0, static_cast<double>(w) / h,
                                        std::max(1.0, dist * 1e-3), dist * 10);
  cam->setViewMatrixAsLookAt(pose.eye, pose.target, osg::Vec3d(0, 0, 1));
  auto* grab = new ReadPixels;
  grab->image = new osg::Image;
  cam->setFinalDrawCallback(grab);
  viewer.realize();
  viewer.frame();
  if (!grab->image->data())
    return std::unexpected(Error::msg("offscreen frame could not be read back"));
  return grab->image;
}

}  // namespace citytwin::view
