// The 2-D overlay drawn over the city in window pixels (origin bottom left): a text block at
// the top left and the legend of the layers shown at the top right, each on a translucent
// white panel so that it reads over any scene. The interactive viewer's HUD and annotated
// offscreen images (citytwin render) both draw it.
#pragma once

#include <osg/Camera>
#include <osg/Geode>
#include <osg/Geometry>
#include <osg/Vec2>
#include <osg/Vec4>
#include <osgText/Text>

#include <string>
#include <utility>
#include <vector>

#include "city_scene.hpp"

namespace citytwin::view {

/// Where the legend's parts go in a w x h window: one column per layer group (the layer's title,
/// then one line per entry), as few lines per column as fit the width, in the top right corner
/// (over the sky and the far side of the city in the overview). Pixels, origin bottom left.
struct LegendLayout {
  std::vector<osg::Vec2> swatch;                      ///< (n_entries) swatch lower-left corner
  std::vector<osg::Vec2> text;                        ///< (n_entries) text origin
  std::vector<std::pair<unsigned, osg::Vec2>> title;  ///< (n_titles) layer, text origin
  osg::Vec4 panel;                                    ///< x0, y0, x1, y1 of the backing panel
  /// Centre of entry k's swatch: its colour (`rgb`), whatever its style.
  osg::Vec2 swatch_centre(std::size_t k) const;
};
LegendLayout legend_layout(const std::vector<LegendEntry>& entries, int w, int h);

/// The title of a layer's legend column ("buildings", "power grid", ...).
const char* legend_title(unsigned layer);

class Overlay {
 public:
  Overlay(int w, int h);

  /// The camera to add to the scene graph; it draws after the scene, without depth test.
  osg::Camera* camera() const { return m_camera.get(); }
  /// Sets the top-left text and sizes its backing panel to it.
  void set_text(const std::string& text);
  /// Shows these legend entries; rebuilt only when they change.
  void set_legend(const std::vector<LegendEntry>& entries);
  /// The text's backing panel (x0, y0, x1, y1), pixels.
  const osg::Vec4& text_panel() const { return m_text_panel_rect; }

 private:
  int m_w, m_h;
  osg::ref_ptr<osg::Camera> m_camera;
  osg::ref_ptr<osgText::Text> m_text;
  osg::ref_ptr<osg::Geometry> m_text_panel;
  osg::Vec4 m_text_panel_rect;
  osg::ref_ptr<osg::Geode> m_legend;
  std::vector<LegendEntry> m_shown;
};

}  // namespace citytwin::view
