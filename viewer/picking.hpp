// What a click picks (a Bullet ray through the pixel) and how the HUD describes it, for one run
// or for two runs of the same city side by side.
#pragma once

#include <osg/Camera>
#include <osgViewer/GraphicsWindow>

#include <string>

#include "city_scene.hpp"
#include "citytwin/frame.hpp"
#include "citytwin/spatial.hpp"

namespace citytwin::view {

/// What a click hit: kind, index and the hit elevation; described with the current frame(s).
struct Picked {
  bool any = false, hit = false;
  EntityKind kind = EntityKind::terrain;
  int index = 0;
  double z = 0;
};

/// Casts the ray through window pixel (x, y) (origin bottom left) of `window_from_scene`
/// (view * projection * window matrix of the viewport clicked) from the near to the far plane.
Picked pick(const osg::Matrixd& window_from_scene, float x, float y, const CityScene& scene,
            const SpatialIndex& index);

/// The camera's window_from_scene, for pick().
osg::Matrixd window_from_scene(const osg::Camera& camera);

/// A click (press and release) at the pixel of `window` showing `scene_point` through
/// `camera`, through the window's own event queue as a mouse click would come (scripted runs).
void click_window(osgViewer::GraphicsWindow& window, const osg::Camera& camera,
                  const osg::Vec3d& scene_point, int window_h);

/// One line: what was picked and its state in `f`.
std::string describe(const CityModel& c, const Picked& p, const FrameSnapshot& f);

/// What was picked and its state in both runs (base, then variant, then variant - base).
std::string describe_both(const CityModel& c, const Picked& p, const FrameSnapshot& base,
                          const FrameSnapshot& variant);

}  // namespace citytwin::view
