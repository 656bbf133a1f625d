#include "overlay.hpp"

#include <osg/Geometry>

#include <algorithm>

namespace citytwin::view {
namespace {

// Text, pixels: osgText's default font is monospaced, k_char_w (0.7 of its size, measured) a
// character; a line is one character size high.
constexpr float k_char_w = 0.7f;
constexpr float k_hud_size = 13, k_hud_x = 10, k_hud_top = 10;
// HUD: k_hud_size text from k_hud_x, its first line k_hud_top below the window's top.
// Legend: k_legend_size text on k_line lines, k_swatch swatches, k_pad inside the panel,
// k_gap between columns, k_margin from the window's edges.
constexpr float k_legend_size = 10, k_line = 12, k_swatch = 9, k_pad = 5, k_gap = 10, k_margin = 8;
const osg::Vec4 k_panel_colour(1, 1, 1, 0.72f);

float text_width(const std::string& s, float size) {
  return k_char_w * size * static_cast<float>(s.size());
}

void add_quad(osg::Vec3Array& v, osg::Vec4Array& c, float x0, float y0, float x1, float y1,
              const osg::Vec4& col) {
  for (osg::Vec3 p : {osg::Vec3(x0, y0, 0), osg::Vec3(x1, y0, 0), osg::Vec3(x1, y1, 0),
                      osg::Vec3(x0, y0, 0), osg::Vec3(x1, y1, 0), osg::Vec3(x0, y1, 0)})
    v.push_back(p), c.push_back(col);
}
void add_triangle(osg::Vec3Array& v, osg::Vec4Array& c, osg::Vec2 a, osg::Vec2 b, osg::Vec2 d,
                  const osg::Vec4& col) {
  for (osg::Vec2 p : {a, b, d}) v.push_back(osg::Vec3(p, 0)), c.push_back(col);
}
osg::Vec4 colour(const std::array<unsigned char, 3>& rgb) {
  return {rgb[0] / 255.f, rgb[1] / 255.f, rgb[2] / 255.f, 1.f};
}

osgText::Text* label(const std::string& s, float size, osg::Vec2 at, const osg::Vec4& col) {
  auto* t = new osgText::Text;
  t->setCharacterSize(size);
  t->setPosition(osg::Vec3(at, 0));
  t->setColor(col);
  t->setText(s);
  return t;
}

}  // namespace

const char* legend_title(unsigned layer) {
  static const char* titles[] = {"terrain",  "buildings",  "roads (speed)", "flood water",
                                 "vehicles", "power grid", "signals"};
  return layer < k_layer_count ? titles[layer] : "?";
}

osg::Vec2 LegendLayout::swatch_centre(std::size_t k) const {
  return swatch[k] + osg::Vec2(0.5f * k_swatch, 0.5f * k_swatch);
}

LegendLayout legend_layout(const std::vector<LegendEntry>& e, int w, int h) {
  // Groups: runs of entries of one layer, each a title and its lines; a group never splits.
  struct Group {
    std::size_t first, n;
  };
  std::vector<Group> groups;
  for (std::size_t k = 0; k < e.size(); ++k)
    if (groups.empty() || e[groups.back().first].layer != e[k].layer)
      groups.push_back({k, 1});
    else
      ++groups.back().n;
  std::size_t tallest = 0, total = 0;
  for (const Group& g : groups) tallest = std::max(tallest, g.n + 1), total += g.n + 1;
  // Columns of at most `rows` lines, groups packed in order; the fewest rows that fit the width.
  struct Column {
    std::size_t first_group, n_groups;
    float width;
  };
  std::vector<Column> columns;
  std::size_t rows = tallest;
  for (; rows <= std::max(total, tallest); ++rows) {
    columns.clear();
    std::size_t used = rows;
    for (std::size_t gi = 0; gi < groups.size(); ++gi) {
      const Group& g = groups[gi];
      if (used + g.n + 1 > rows) columns.push_back({gi, 0, 0}), used = 0;
      Column& c = columns.back();
      ++c.n_groups, used += g.n + 1;
      c.width = std::max(c.width, text_width(legend_title(e[g.first].layer), k_legend_size));
      for (std::size_t k = g.first; k < g.first + g.n; ++k)
        c.width = std::max(c.width, k_swatch + 4 + text_width(e[k].text, k_legend_size));
    }
    float width = 2 * k_pad;
    for (const Column& c : columns) width += c.width + k_gap;
    if (width - k_gap <= static_cast<float>(w) - 2 * k_margin) break;
  }
  LegendLayout out;
  out.swatch.resize(e.size());
  out.text.resize(e.size());
  float width = 2 * k_pad - k_gap;
  for (const Column& c : columns) width += c.width + k_gap;
  const float height = 2 * k_pad + k_line * static_cast<float>(rows);
  // Top right: over the sky and the far side of the city in the overview, away from the HUD.
  const float x0 = std::max(k_margin, static_cast<float>(w) - k_margin - width);
  const float y0 = std::max(k_margin, static_cast<float>(h) - k_margin - height);
  out.panel = osg::Vec4(x0, y0, x0 + width, y0 + height);
  // Line r (0 at the top) has its baseline at `base(r)`; swatches sit on it, 1 px below.
  auto base = [&](std::size_t r) {
    return y0 + height - k_pad - k_line * static_cast<float>(r + 1) + 3;
  };
  float x = x0 + k_pad;
  for (const Column& c : columns) {
    std::size_t r = 0;
    for (std::size_t gi = c.first_group; gi < c.first_group + c.n_groups; ++gi) {
      const Group& g = groups[gi];
      out.title.emplace_back(e[g.first].layer, osg::Vec2(x, base(r++)));
      for (std::size_t k = g.first; k < g.first + g.n; ++k, ++r) {
        out.swatch[k] = osg::Vec2(x, base(r) - 1);
        out.text[k] = osg::Vec2(x + k_swatch + 4, base(r));
      }
    }
    x += c.width + k_gap;
  }
  return out;
}

Overlay::Overlay(int w, int h) : m_w(w), m_h(h) {
  m_camera = new osg::Camera;
  m_camera->setProjectionMatrixAsOrtho2D(0, w, 0, h);
  m_camera->setReferenceFrame(osg::Transform::ABSOLUTE_RF);
  m_camera->setViewMatrix(osg::Matrix::identity());
  m_camera->setClearMask(GL_DEPTH_BUFFER_BIT);
  m_camera->setRenderOrder(osg::Camera::POST_RENDER);
  m_camera->setAllowEventFocus(false);
  m_text = new osgText::Text;
  m_text->setCharacterSize(k_hud_size);
  m_text->setPosition(osg::Vec3(k_hud_x, static_cast<float>(h) - k_hud_top - k_hud_size, 0));
  m_text->setColor(osg::Vec4(0, 0, 0, 1));
  m_text->setDataVariance(osg::Object::DYNAMIC);
  // The text's panel: one quad, resized with the text, drawn before it.
  m_text_panel = new osg::Geometry;
  m_text_panel->setDataVariance(osg::Object::DYNAMIC);
  m_text_panel->setUseDisplayList(false);
  auto* pv = new osg::Vec3Array(4);
  auto* pc = new osg::Vec4Array(1);
  (*pc)[0] = k_panel_colour;
  m_text_panel->setVertexArray(pv);
  m_text_panel->setColorArray(pc, osg::Array::BIND_OVERALL);
  m_text_panel->addPrimitiveSet(new osg::DrawArrays(GL_QUADS, 0, 4));
  auto* geode = new osg::Geode;
  geode->addDrawable(m_text_panel.get());
  geode->addDrawable(m_text.get());
  m_legend = new osg::Geode;
  m_legend->setDataVariance(osg::Object::DYNAMIC);
  for (osg::Geode* g : {geode, m_legend.get()}) {
    osg::StateSet* ss = g->getOrCreateStateSet();
    ss->setMode(GL_LIGHTING, osg::StateAttribute::OFF);
    ss->setMode(GL_BLEND, osg::StateAttribute::ON);
    ss->setMode(GL_DEPTH_TEST, osg::StateAttribute::OFF);
  }
  m_camera->addChild(geode);
  m_camera->addChild(m_legend.get());
  set_text("");
}

void Overlay::set_text(const std::string& text) {
  m_text->setText(text);
  // Lines (trailing empty ones drawn as nothing) and the longest one size the panel.
  std::size_t lines = 0, longest = 0, start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    longest = std::max(longest, end - start);
    ++lines, start = end + 1;
  }
  const float top = static_cast<float>(m_h) - k_hud_top + 4;
  const float x1 = k_hud_x + k_char_w * k_hud_size * static_cast<float>(longest) + 6;
  const float y0 = top - 8 - k_hud_size * static_cast<float>(lines);
  m_text_panel_rect = lines ? osg::Vec4(k_hud_x - 6, y0, x1, top) : osg::Vec4(0, 0, 0, 0);
  auto& v = static_cast<osg::Vec3Array&>(*m_text_panel->getVertexArray());
  const osg::Vec4& r = m_text_panel_rect;
  v[0].set(r[0], r[1], 0), v[1].set(r[2], r[1], 0), v[2].set(r[2], r[3], 0),
      v[3].set(r[0], r[3], 0);
  v.dirty();
  m_text_panel->dirtyBound();
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
  const LegendLayout lay = legend_layout(m_shown, m_w, m_h);
  auto* tris = new osg::Geometry;
  auto* v = new osg::Vec3Array;
  auto* c = new osg::Vec4Array;
  const osg::Vec4& p = lay.panel;
  add_quad(*v, *c, p[0], p[1], p[2], p[3], k_panel_colour);
  const float s = k_swatch;
  for (std::size_t k = 0; k < m_shown.size(); ++k) {
    const LegendEntry& e = m_shown[k];
    const float x = lay.swatch[k].x(), y = lay.swatch[k].y();
    // A grey outline, so that light swatches show on the white panel.
    if (e.style != LegendEntry::dashed)
      add_quad(*v, *c, x - 1, y - 1, x + s + 1, y + s + 1, osg::Vec4(0.45f, 0.45f, 0.45f, 1));
    switch (e.style) {
      case LegendEntry::solid:
        add_quad(*v, *c, x, y, x + s, y + s, colour(e.rgb));
        break;
      case LegendEntry::dashed:  // three dashes of a 4 px thick line, the middle one centred
        for (float d : {0.f, 3.75f, 7.5f})
          add_quad(*v, *c, x + d, y + 0.5f * s - 2, x + d + 2.5f, y + 0.5f * s + 2, colour(e.rgb));
        break;
      case LegendEntry::hatched:  // rgb2 below the diagonal, rgb over it, centred square rgb
        add_triangle(*v, *c, {x, y}, {x + s, y}, {x, y + s}, colour(e.rgb2));
        add_triangle(*v, *c, {x + s, y}, {x + s, y + s}, {x, y + s}, colour(e.rgb));
        add_quad(*v, *c, x + 0.5f * s - 1, y + 0.5f * s - 1, x + 0.5f * s + 1, y + 0.5f * s + 1,
                 colour(e.rgb));
        break;
    }
    m_legend->addDrawable(label(e.text, k_legend_size, lay.text[k], osg::Vec4(0, 0, 0, 1)));
  }
  for (const auto& [layer, at] : lay.title)
    m_legend->addDrawable(
        label(legend_title(layer), k_legend_size, at, osg::Vec4(0.15f, 0.2f, 0.45f, 1)));
  tris->setVertexArray(v);
  tris->setColorArray(c, osg::Array::BIND_PER_VERTEX);
  tris->addPrimitiveSet(new osg::DrawArrays(GL_TRIANGLES, 0, static_cast<int>(v->size())));
  m_legend->insertChild(0, tris);  // before the text
}

}  // namespace citytwin::view
