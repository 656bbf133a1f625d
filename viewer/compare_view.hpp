// citytwin-view BASE.h5 VARIANT.h5: two runs of one city side by side (split screen, one
// camera, one clock) or as one city with the difference layer, a time slider (Dear ImGui) and
// picking that shows an element's values in both runs.
#pragma once

#include <optional>
#include <string>

#include "city_scene.hpp"
#include "citytwin/spatial.hpp"
#include "render.hpp"
#include "sources.hpp"

namespace citytwin::view {

/// citytwin-view's exit codes (docs/cli.md): success, internal error, bad input.
constexpr int k_exit_ok = 0, k_exit_internal = 1, k_exit_bad_input = 2;

struct CompareSettings {
  double t_s = 0;  ///< the clock at start (s)
  CameraPose pose;
  int w = 1280, h = 720;
  int frames = 0;           ///< draw this many frames, then exit (0: until the window closes)
  std::string screenshot;   ///< with frames: the window after the last frame, PNG
  bool difference = false;  ///< start with the difference layer
  std::optional<osg::Vec3d> click_at;  ///< scene point clicked after the first frame
};

/// Shows two run files of the same city (the caller checked them with check_comparable).
/// `base_scene` is built on the base run's city and `mesh`; prints each pick's description.
int run_compare(const Source& base, const Source& variant, CityScene& base_scene,
                const SpatialIndex& index, const CompareSettings& settings);

}  // namespace citytwin::view
