// Offscreen rendering (pbuffer; Debian's OSG is GLX-only, so an X server such as Xvfb is
// needed: xvfb-run -a -s "-screen 0 1280x720x24") and camera presets.
#pragma once

#include <osg/Image>
#include <osg/Vec3d>

#include <memory>
#include <string>

#include "city_scene.hpp"
#include "citytwin/error.hpp"

namespace citytwin::view {

struct CameraPose {
  osg::Vec3d eye, target;  ///< scene coordinates (model CRS minus the mesh origin)
};

/// Window coordinates (pixels, origin bottom left; z in [0, 1] inside the depth range) of a
/// scene point seen from `pose` in a w x h view: the camera model frame() draws with.
osg::Vec3d project(const CameraPose& pose, int w, int h, const osg::Vec3d& scene_point);

/// Named presets over the city's extent: "overview" (from the south, 35 degrees down),
/// "top" (straight down). Returns an error naming the known presets otherwise.
Result<CameraPose> camera_preset(const CityScene& scene, const std::string& name);

/// An offscreen (pbuffer) view of a scene, kept alive across frames (benchmarks, scripted
/// renders).
class OffscreenView {
 public:
  /// Fails with a message naming xvfb-run when no X server is reachable. `overlay` (optional,
  /// e.g. Overlay::camera()) is drawn over the scene.
  static Result<std::unique_ptr<OffscreenView>> create(CityScene& scene, int w, int h,
                                                       osg::Node* overlay = nullptr);
  ~OffscreenView();
  /// Draws one frame from `pose`; the image (RGB, row 0 at the bottom) is read back only when
  /// `read_back`, otherwise the frame is finished with glFinish.
  const osg::Image& frame(const CameraPose& pose, bool read_back = true);

 private:
  struct Impl;
  explicit OffscreenView(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

/// What an annotated image carries besides the city: the legend of the layers shown (top right,
/// as in the viewer) and a caption (top left), each on a translucent panel.
struct Annotation {
  std::string caption;
};

/// Renders one frame of `scene` from `pose` into an RGB image of w x h pixels (row 0 at the
/// bottom, as OpenGL reads it), annotated when `annotation` is given.
Result<osg::ref_ptr<osg::Image>> render_offscreen(CityScene& scene, const CameraPose& pose, int w,
                                                  int h, const Annotation* annotation = nullptr);

}  // namespace citytwin::view
