// The 2-D overlay drawn over the city in window pixels (origin bottom left): a text block at
// the top left and the legend of the layers shown at the bottom left. The interactive viewer's
// HUD and annotated offscreen images (citytwin render) both draw it.
#pragma once

#include <osg/Camera>
#include <osg/Geode>
#include <osg/Vec2>
#include <osgText/Text>

#include <string>
#include <vector>

#include "city_scene.hpp"

namespace citytwin::view {

class Overlay {
 public:
  Overlay(int w, int h);

  /// The camera to add to the scene graph; it draws after the scene, without depth test.
  osg::Camera* camera() const { return m_camera.get(); }
  void set_text(const std::string& text);
  /// Shows these legend entries, first entry on top; rebuilt only when they change.
  void set_legend(const std::vector<LegendEntry>& entries);

  /// Centre (pixels) of the colour swatch of entry k of n.
  static osg::Vec2 swatch_centre(std::size_t k, std::size_t n);

 private:
  osg::ref_ptr<osg::Camera> m_camera;
  osg::ref_ptr<osgText::Text> m_text;
  osg::ref_ptr<osg::Geode> m_legend;
  std::vector<LegendEntry> m_shown;
};

}  // namespace citytwin::view
