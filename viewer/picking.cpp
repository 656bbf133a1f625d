#include "picking.hpp"

#include <fmt/format.h>

#include <cmath>

namespace citytwin::view {
namespace {

template <class T>
const T* at(const std::vector<T>& v, int i) {
  return i >= 0 && i < static_cast<int>(v.size()) ? &v[i] : nullptr;
}

std::string building_head(const CityModel& c, const Picked& p) {
  return fmt::format("building {} (OSM {}): {:.1f} m tall, roof at {:.1f} m", p.index,
                     c.buildings.osm_id[p.index], c.buildings.height_m[p.index], p.z);
}

std::string road_head(const CityModel& c, const Picked& p) {
  const int i = p.index;
  return fmt::format(
      "road link {} (OSM way {}), {} lane(s)", i,
      i < static_cast<int>(c.roads.link_osm_way.size()) ? c.roads.link_osm_way[i] : 0,
      c.roads.link_lanes[i]);
}

// A road link's state in one frame: ", speed ratio 0.50, CLOSED".
std::string road_state(int i, const FrameSnapshot& f) {
  std::string s;
  if (const float* r = at(f.link_speed_ratio, i); r && std::isfinite(*r))
    s += fmt::format(", speed ratio {:.2f}", *r);
  if (const float* k = at(f.link_flood_factor, i); k && *k < 1.f)
    s += fmt::format(", flood speed factor {:.2f}", *k);
  if (const std::uint8_t* c = at(f.link_closed, i); c && *c) s += ", CLOSED";
  return s;
}

}  // namespace

osg::Matrixd window_from_scene(const osg::Camera& camera) {
  return camera.getViewMatrix() * camera.getProjectionMatrix() *
         camera.getViewport()->computeWindowMatrix();
}

void click_window(osgViewer::GraphicsWindow& window, const osg::Camera& camera,
                  const osg::Vec3d& scene_point, int window_h) {
  const osg::Vec3d p = scene_point * window_from_scene(camera);
  auto* queue = window.getEventQueue();
  const float x = static_cast<float>(p.x());
  const float y_down = static_cast<float>(window_h) - static_cast<float>(p.y());
  queue->mouseMotion(x, y_down);
  queue->mouseButtonPress(x, y_down, 1);
  queue->mouseButtonRelease(x, y_down, 1);
}

Picked pick(const osg::Matrixd& window_from_scene, float x, float y, const CityScene& scene,
            const SpatialIndex& index) {
  const osg::Matrixd inv = osg::Matrixd::inverse(window_from_scene);
  const osg::Vec3d a = osg::Vec3d(x, y, 0) * inv, b = osg::Vec3d(x, y, 1) * inv;
  const auto& o = scene.mesh().origin;
  const auto hit =
      index.ray({a.x() + o[0], a.y() + o[1], a.z()}, {b.x() + o[0], b.y() + o[1], b.z()});
  Picked p{true, hit.has_value()};
  if (hit) p.kind = hit->entity.kind, p.index = hit->entity.index, p.z = hit->point[2];
  return p;
}

std::string describe(const CityModel& c, const Picked& p, const FrameSnapshot& f) {
  if (!p.hit) return "nothing";
  switch (p.kind) {
    case EntityKind::building: {
      std::string s = building_head(c, p);
      if (const float* d = at(f.building_depth_m, p.index))
        s += fmt::format(", water {:.2f} m", *d);
      if (const std::uint8_t* on = at(f.building_powered, p.index))
        s += *on ? ", powered" : ", WITHOUT POWER";
      return s;
    }
    case EntityKind::road:
      return road_head(c, p) + road_state(p.index, f);
    case EntityKind::terrain:
      return fmt::format("terrain at {:.1f} m", p.z);
  }
  return "?";
}

std::string describe_both(const CityModel& c, const Picked& p, const FrameSnapshot& base,
                          const FrameSnapshot& variant) {
  if (!p.hit) return "nothing";
  switch (p.kind) {
    case EntityKind::building: {
      std::string s = building_head(c, p);
      const float* db = at(base.building_depth_m, p.index);
      const float* dv = at(variant.building_depth_m, p.index);
      if (db || dv)
        s += fmt::format("\n  water: base {}, variant {}", db ? fmt::format("{:.2f} m", *db) : "-",
                         dv ? fmt::format("{:.2f} m", *dv) : "-");
      if (db && dv) s += fmt::format(" ({:+.2f} m)", *dv - *db);
      const std::uint8_t* pb = at(base.building_powered, p.index);
      const std::uint8_t* pv = at(variant.building_powered, p.index);
      auto power = [](const std::uint8_t* on) { return on ? (*on ? "powered" : "NO POWER") : "-"; };
      if (pb || pv) s += fmt::format("\n  power: base {}, variant {}", power(pb), power(pv));
      return s;
    }
    case EntityKind::road: {
      auto state = [&](const FrameSnapshot& f) {
        const std::string r = road_state(p.index, f);
        return r.empty() ? std::string("no traffic data, not slowed by water") : r.substr(2);
      };
      return fmt::format("{}\n  base: {}\n  variant: {}", road_head(c, p), state(base),
                         state(variant));
    }
    case EntityKind::terrain:
      return fmt::format("terrain at {:.1f} m", p.z);
  }
  return "?";
}

}  // namespace citytwin::view
