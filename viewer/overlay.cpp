#include "overlay.hpp"

#include <osg/Geometry>

#include <algorithm>

namespace citytwin::view {
namespace {

// Legend layout, pixels: entries `k_line` apart from (k_x0, k_y0) upwards, swatches k_swatch
// wide, text after them, on a translucent white panel k_panel wide.
constexpr float k_line = 16, k_x0 = 10, k_y0 = 10, k_swatch = 12, k_panel = 330;

}  // namespace

Overlay::Overlay(int w, int h) {
  m_camera = new osg::Camera;
  m_camera->setProjectionMatrixAsOrtho2D(0, w, 0, h);
  m_camera->setReferenceFrame(osg::Transform::ABSOLUTE_RF);
  m_camera->setViewMatrix(osg::Matrix::identity());
  m_camera->setClearMask(GL_DEPTH_BUFFER_BIT);
  m_camera->setRenderOrder(osg::Camera::POST_RENDER);
  m_camera->setAllowEventFocus(false);
  m_text = new osgText::Text;
  m_text->setCharacterSize(14);
  m_text->setPosition(osg::Vec3(10, static_cast<float>(h) - 20, 0));
  m_text->setColor(osg::Vec4(0, 0, 0, 1));
  m_text->setDataVariance(osg::Object::DYNAMIC);
  auto* geode = new osg::Geode;
  geode->addDrawable(m_text.get());
  geode->getOrCreateStateSet()->setMode(GL_LIGHTING, osg::StateAttribute::OFF);
  m_legend = new osg::Geode;
  m_legend->setDataVariance(osg::Object::DYNAMIC);
  osg::StateSet* ss = m_legend->getOrCreateStateSet();
  ss->setMode(GL_LIGHTING, osg::StateAttribute::OFF);
  ss->setMode(GL_BLEND, osg::StateAttribute::ON);
  ss->setMode(GL_DEPTH_TEST, osg::StateAttribute::OFF);
  m_camera->addChild(geode);
  m_camera->addChild(m_legend.get());
}

void Overlay::set_text(const std::string& text) {
  m_text->setText(text);
}

osg::Vec2 Overlay::swatch_centre(std::size_t k, std::size_t n) {
  const auto i = static_cast<float>(n - 1 - k);  // the first entry is the top line
  return {k_x0 + 0.5f * k_swatch, k_y0 + k_line * i + 0.5f * k_swatch};
}

void Overlay::set_legend(const std::vector<LegendEntry>& entries) {
  const bool same = std::equal(entries.begin(), entries.end(), m_shown.begin(), m_shown.end(),
                               [](const LegendEntry& a, const LegendEntry& b) {
                                 return a.text == b.text && a.rgb == b.rgb;
                               });
  if (same) return;
  m_shown = entries;
  m_legend->removeDrawables(0, m_legend->getNumDrawables());
  if (m_shown.empty()) return;
  auto* quads = new osg::Geometry;
  auto* v = new osg::Vec3Array;
  auto* c = new osg::Vec4Array;
  // A translucent white panel behind the entries, drawn first.
  const float top = k_y0 + k_line * static_cast<float>(m_shown.size()) + 2;
  for (osg::Vec3 p : {osg::Vec3(k_x0 - 4, k_y0 - 4, 0), osg::Vec3(k_x0 + k_panel, k_y0 - 4, 0),
                      osg::Vec3(k_x0 + k_panel, top, 0), osg::Vec3(k_x0 - 4, top, 0)})
    v->push_back(p), c->push_back(osg::Vec4(1, 1, 1, 0.7f));
  for (std::size_t k = 0; k < m_shown.size(); ++k) {
    const LegendEntry& e = m_shown[k];
    const osg::Vec2 m = swatch_centre(k, m_shown.size());
    const float x = m.x() - 0.5f * k_swatch, y = m.y() - 0.5f * k_swatch;
    const osg::Vec4 col(e.rgb[0] / 255.f, e.rgb[1] / 255.f, e.rgb[2] / 255.f, 1.f);
    for (osg::Vec3 p : {osg::Vec3(x, y, 0), osg::Vec3(x + k_swatch, y, 0),
                        osg::Vec3(x + k_swatch, y + k_swatch, 0), osg::Vec3(x, y + k_swatch, 0)})
      v->push_back(p), c->push_back(col);
    auto* t = new osgText::Text;
    t->setCharacterSize(13);
    t->setPosition(osg::Vec3(x + k_swatch + 6, y + 1, 0));
    t->setColor(osg::Vec4(0, 0, 0, 1));
    t->setText(e.text);
    m_legend->addDrawable(t);
  }
  quads->setVertexArray(v);
  quads->setColorArray(c, osg::Array::BIND_PER_VERTEX);
  quads->addPrimitiveSet(new osg::DrawArrays(GL_QUADS, 0, static_cast<int>(v->size())));
  m_legend->insertChild(0, quads);  // before the text
}

}  // namespace citytwin::view
