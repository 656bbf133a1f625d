#include "sensors_layer.hpp"

#include <fmt/format.h>
#include <osg/Geometry>
#include <osg/LineWidth>
#include <osg/Point>

#include <cmath>

namespace citytwin::view {
namespace {

constexpr float k_pole_m = 60;                     // markers stand over the roofs of a dense centre
const osg::Vec4 k_marker(0.95f, 0.1f, 0.9f, 1.f);  // magenta: no layer uses it

// The nearest of `points` (scene) within `radius_px` of window pixel (x, y); -1 when none.
template <class Points, class Get>
int nearest(const Points& points, Get get, const osg::Matrixd& window_from_scene, float x, float y,
            float radius_px) {
  int best = -1;
  double best_d = radius_px;
  for (std::size_t i = 0; i < points.size(); ++i) {
    const std::optional<osg::Vec3d> p = get(points[i]);
    if (!p) continue;
    const osg::Vec3d w = *p * window_from_scene;
    if (w.z() < 0 || w.z() > 1) continue;  // behind the camera or past the far plane
    const double d = std::hypot(w.x() - x, w.y() - y);
    if (d < best_d) best = static_cast<int>(i), best_d = d;
  }
  return best;
}

std::string number(double v) {
  return std::isfinite(v) ? fmt::format("{:.6g}", v) : "-";
}

}  // namespace

SensorsLayer::SensorsLayer(const CityScene& scene, const std::vector<DatastreamSpec>& datastreams)
    : m_scene(scene), m_datastreams(datastreams), m_head(datastreams.size()) {
  osg::StateSet* ss = m_geode->getOrCreateStateSet();
  ss->setMode(GL_LIGHTING, osg::StateAttribute::OFF);
  ss->setAttributeAndModes(new osg::LineWidth(3.f));
  ss->setAttributeAndModes(new osg::Point(14.f));
  rebuild();
}

void SensorsLayer::set_power_layout(std::shared_ptr<const PowerLayout> layout) {
  if (!layout || layout == m_layout) return;
  m_layout = std::move(layout);
  rebuild();
}

void SensorsLayer::rebuild() {
  const CityModel& city = m_scene.city();
  auto ground = [&](double x, double y) {
    const double z = city.terrain.sample(x, y);
    return std::isfinite(z) ? z : 0.0;
  };
  m_substations.clear();
  if (m_layout)
    for (const std::int32_t bus : m_layout->substation_hv_bus) {
      const bool placed = bus >= 0 && bus < static_cast<std::int32_t>(m_layout->bus_x.size()) &&
                          std::isfinite(m_layout->bus_x[bus]);
      const double x = placed ? m_layout->bus_x[bus] : 0, y = placed ? m_layout->bus_y[bus] : 0;
      // Off-map substations stay in the list (indices) far below the terrain.
      m_substations.push_back(placed ? m_scene.to_scene(x, y, ground(x, y) + 30)
                                     : osg::Vec3d(0, 0, -1e5));
    }
  // Where each datastream stands: a gauge's place, its substation's box, its link's midpoint.
  const RoadNetwork& roads = city.roads;
  for (std::size_t d = 0; d < m_datastreams.size(); ++d) {
    const DatastreamSpec& ds = m_datastreams[d];
    std::optional<osg::Vec3d> foot;
    if (ds.at) {
      foot = m_scene.to_scene(ds.at->x, ds.at->y, ground(ds.at->x, ds.at->y));
    } else if (const auto s = entity_index(ds.entity, "substation");
               s && *s < static_cast<std::int64_t>(m_substations.size()) &&
               m_substations[*s].z() > -1e4) {
      foot = m_substations[*s];
    } else if (const auto l = entity_index(ds.entity, "link"); l && *l < roads.link_count()) {
      const std::int32_t a = roads.link_from[*l], b = roads.link_to[*l];
      const double x = (roads.node_x[a] + roads.node_x[b]) / 2;
      const double y = (roads.node_y[a] + roads.node_y[b]) / 2;
      foot = m_scene.to_scene(x, y, ground(x, y));
    }
    m_head[d] = foot ? std::optional(*foot + osg::Vec3d(0, 0, k_pole_m)) : std::nullopt;
  }

  // Poles (lines) and heads (points), one colour.
  auto poles = new osg::Vec3Array, heads = new osg::Vec3Array;
  for (const auto& head : m_head)
    if (head) {
      poles->push_back(*head - osg::Vec3d(0, 0, k_pole_m));
      poles->push_back(*head);
      heads->push_back(*head);
    }
  m_geode->removeDrawables(0, m_geode->getNumDrawables());
  for (auto [points, mode] : {std::pair{poles, GL_LINES}, std::pair{heads, GL_POINTS}}) {
    auto* g = new osg::Geometry;
    g->setVertexArray(points);
    auto* colour = new osg::Vec4Array;
    colour->push_back(k_marker);
    g->setColorArray(colour, osg::Array::BIND_OVERALL);
    g->addPrimitiveSet(new osg::DrawArrays(mode, 0, static_cast<int>(points->size())));
    m_geode->addDrawable(g);
  }
}

int SensorsLayer::sensor_at(const osg::Matrixd& window_from_scene, float x, float y,
                            float radius_px) const {
  return nearest(
      m_head, [](const auto& p) { return p; }, window_from_scene, x, y, radius_px);
}

int SensorsLayer::substation_at(const osg::Matrixd& window_from_scene, float x, float y,
                                float radius_px) const {
  return nearest(
      m_substations, [](const osg::Vec3d& p) { return std::optional(p); }, window_from_scene, x, y,
      radius_px);
}

std::string SensorsLayer::describe(int d, const DrillFrame& f) const {
  const auto i = static_cast<std::size_t>(d);
  const DatastreamSpec& ds = m_datastreams[i];
  const std::string unit = ds.unit.empty() ? "" : fmt::format(" {}", ds.unit);
  std::string s = fmt::format("sensor {} ({}{}): observed ", ds.id, sensor_kind_name(ds.kind),
                              ds.entity.empty() ? "" : fmt::format(", {}", ds.entity));
  if (i < f.latest.size() && f.latest[i])
    s += fmt::format("{}{} at t = {:.0f} s", number(f.latest[i]->value), unit,
                     to_seconds(f.latest[i]->phenomenon));
  else
    s += "nothing yet";
  const double sim = i < f.simulated.size() ? f.simulated[i] : NAN;
  s += std::isfinite(sim)
           ? fmt::format(", simulated {}{} at t = {:.0f} s", number(sim), unit, to_seconds(f.t))
           : ", not simulated";
  if (i < f.fit.size() && f.fit[i].n > 0)
    s += fmt::format(", fit {} applied, RMSE {} -> {}{}", f.fit[i].n,
                     number(f.fit[i].rmse_before()), number(f.fit[i].rmse_after()), unit);
  return s;
}

}  // namespace citytwin::view
