// The city scene's state from a FrameSnapshot (CityScene, city_scene.hpp), applied every frame
// through the state textures, the water and vehicle buffers and uniforms (no geometry rebuilt,
// city_scene.cpp builds it): the colours each state is drawn in, and the legend of them.
#include "city_scene.hpp"

#include <algorithm>
#include <cmath>

#include "city_scene_shaders.hpp"

namespace citytwin::view {
namespace {

std::array<unsigned char, 4> rgba(float r, float g, float b) {
  auto c = [](float v) {
    return static_cast<unsigned char>(std::clamp(v, 0.f, 1.f) * 255.f + 0.5f);
  };
  return {c(r), c(g), c(b), 255};
}
std::array<unsigned char, 4> rgba(const std::array<float, 3>& c) {
  return rgba(c[0], c[1], c[2]);
}

// Building colour: flood depth (blue ramp), dark without power. Flooded and without power: the
// flood colour, flagged so that the roof is hatched with the no-power colour (walls stay blue).
std::array<unsigned char, 4> building_colour(float depth, int powered) {
  if (depth > 0.05f) {
    const float d = std::min(depth / 2.f, 1.f);
    auto c = rgba(0.55f - 0.45f * d, 0.65f - 0.45f * d, 0.95f);
    if (powered == 0) c[3] = k_flag_alpha;
    return c;
  }
  if (powered == 0) return rgba(k_no_power);
  return rgba(0.90f, 0.87f, 0.80f);
}

// Road colour: speed ratio from red (stopped) through amber to green (free flow); a link the
// water slows (flood speed factor < 1) in violet, darker the slower; closed in black.
std::array<unsigned char, 4> road_colour(float ratio, int closed, float flood_factor = 1.f) {
  if (closed) return rgba(0.1f, 0.1f, 0.1f);
  if (flood_factor < 1.f) {
    const float f = std::clamp(flood_factor, 0.f, 1.f);
    return rgba(0.35f + 0.35f * f, 0.15f + 0.35f * f, 0.55f + 0.35f * f);
  }
  if (!std::isfinite(ratio)) return rgba(0.55f, 0.55f, 0.58f);
  const float r = std::clamp(ratio, 0.f, 1.f);
  return r < 0.5f ? rgba(0.9f, 0.15f + 1.3f * r, 0.1f)
                  : rgba(0.9f - 1.6f * (r - 0.5f), 0.8f, 0.15f);
}

// Power line colour, a hue of its own (roads use red-amber-green): loading |S| / rating from
// cyan (0) to magenta (>= 1); de-energised (out of service, or no voltage at its buses, as in a
// blackout) dark grey and flagged, so that it is drawn dashed.
std::array<unsigned char, 4> line_colour(float loading, int energised) {
  if (!energised) {
    auto c = rgba(0.3f, 0.3f, 0.32f);
    c[3] = k_flag_alpha;
    return c;
  }
  const float l = std::isfinite(loading) ? std::clamp(loading, 0.f, 1.f) : 0.f;
  return rgba(0.05f + 0.9f * l, 0.85f - 0.7f * l, 0.95f - 0.15f * l);
}

std::array<unsigned char, 4> substation_colour(int on) {
  return on ? rgba(0.1f, 0.7f, 0.25f) : rgba(0.85f, 0.1f, 0.1f);
}

// Traffic signal: green while powered, black when dark (an all-way stop).
std::array<unsigned char, 4> signal_colour(int powered) {
  return powered ? rgba(0.15f, 0.85f, 0.3f) : rgba(0.05f, 0.05f, 0.05f);
}

}  // namespace

void CityScene::update_water(const WaterRaster& w, const WaterRaster* base) {
  if (w.nx != m_water_nx || w.ny != m_water_ny) build_water(w);
  auto* px = reinterpret_cast<float*>(m_water_image->data());
  const std::size_t n = w.depth_m.size();
  if (base && base->depth_m.size() != n) base = nullptr;  // not the same grid: no difference
  // Depth where it is flood water: the flood's sea cells (bed at or below sea level) are drawn
  // by the terrain as sea.
  auto flood_depth = [](const WaterRaster& r, std::size_t c) {
    const float sf = r.surface_m[c];
    return std::isfinite(sf) && sf - r.depth_m[c] > k_sea_level_m ? r.depth_m[c] : 0.f;
  };
  m_water_wet.resize(n);
  for (std::size_t c = 0; c < n; ++c) {
    float surface = w.surface_m[c], shown = flood_depth(w, c);
    if (base) {
      shown -= flood_depth(*base, c);
      if (!std::isfinite(surface)) surface = base->surface_m[c];
    }
    px[4 * c] = std::isfinite(surface) ? surface : 0.f;
    px[4 * c + 1] = shown;
    m_water_wet[c] = std::abs(shown) >= 0.01f;
  }
  // Quads with a wet corner; the others would discard every fragment (depth < 1 cm).
  osg::DrawElementsUInt& idx = *m_water_index;
  idx.clear();
  const auto nx = static_cast<unsigned>(w.nx);
  for (unsigned j = 0; j + 1 < static_cast<unsigned>(w.ny); ++j) {
    const std::uint8_t* lo = m_water_wet.data() + static_cast<std::size_t>(j) * nx;
    const std::uint8_t* hi = lo + nx;
    for (unsigned i = 0; i + 1 < nx; ++i)
      if (lo[i] | lo[i + 1] | hi[i] | hi[i + 1]) {
        const unsigned q0 = j * nx + i, q1 = q0 + 1, q2 = q0 + 1 + nx, q3 = q0 + nx;
        for (unsigned q : {q0, q1, q2, q0, q2, q3}) idx.push_back(q);
      }
  }
  m_water_index->dirty();
  m_water_image->dirty();
  m_water_difference->set(base != nullptr);
}

void CityScene::draw_vehicles(std::size_t n) {
  if (!m_vehicle_geometry) return;
  // No vehicles: no vertices (0 instances would mean one non-instanced box in OpenGL).
  auto* da = static_cast<osg::DrawArrays*>(m_vehicle_geometry->getPrimitiveSet(0));
  da->setCount(n > 0 ? 30 : 0);
  da->setNumInstances(static_cast<int>(n));
  da->dirty();
}

void CityScene::update(const FrameSnapshot& f) {
  m_difference = false;
  const Buildings& b = m_city.buildings;
  for (std::int32_t i = 0; i < b.size(); ++i) {
    const float depth =
        i < static_cast<std::int32_t>(f.building_depth_m.size()) ? f.building_depth_m[i] : 0.f;
    const int powered =
        i < static_cast<std::int32_t>(f.building_powered.size()) ? f.building_powered[i] : 1;
    m_building_state.set(i, building_colour(depth, powered));
  }
  m_building_state.commit();
  const RoadNetwork& r = m_city.roads;
  for (std::int32_t l = 0; l < r.link_count(); ++l) {
    const float ratio =
        l < static_cast<std::int32_t>(f.link_speed_ratio.size()) ? f.link_speed_ratio[l] : NAN;
    const int closed = l < static_cast<std::int32_t>(f.link_closed.size()) ? f.link_closed[l] : 0;
    const float factor =
        l < static_cast<std::int32_t>(f.link_flood_factor.size()) ? f.link_flood_factor[l] : 1.f;
    m_road_state.set(l, road_colour(ratio, closed, factor));
  }
  m_road_state.commit();
  if (!f.water.empty()) update_water(f.water, nullptr);
  const std::size_t nv = f.vehicle_x.size();
  if (nv > 0) {
    if (nv > m_vehicle_capacity) build_vehicles(std::max<std::size_t>(nv, 2 * m_vehicle_capacity));
    auto* px = reinterpret_cast<float*>(m_vehicle_image->data());
    for (std::size_t i = 0; i < nv; ++i) {
      // Without an elevation (none given, or NaN) a vehicle stands on the terrain; without a
      // heading it faces east.
      const double x = f.vehicle_x[i], y = i < f.vehicle_y.size() ? f.vehicle_y[i] : 0.0;
      double z = i < f.vehicle_z.size() ? f.vehicle_z[i] : NAN;
      if (!std::isfinite(z)) z = m_city.terrain.empty() ? 0.0 : m_city.terrain.sample(x, y);
      const osg::Vec3d p = to_scene(x, y, std::isfinite(z) ? z : 0.0);
      px[4 * i] = static_cast<float>(p.x());
      px[4 * i + 1] = static_cast<float>(p.y());
      px[4 * i + 2] = static_cast<float>(p.z());
      px[4 * i + 3] = i < f.vehicle_heading.size() ? f.vehicle_heading[i] : 0.f;
    }
    m_vehicle_image->dirty();
  }
  draw_vehicles(nv);
  if (f.power_layout) {
    if (f.power_layout != m_power_layout) build_power(f.power_layout);
    const int nk = static_cast<int>(m_power_layout->branch_from.size());
    // Energised: the snapshot's flag, else in service (snapshots without voltages).
    auto energised = [&](int k) {
      if (k < static_cast<int>(f.line_energised.size()))
        return static_cast<int>(f.line_energised[k]);
      return k < static_cast<int>(f.line_on.size()) ? static_cast<int>(f.line_on[k]) : 1;
    };
    for (int k = 0; k < nk; ++k)
      m_line_state.set(
          k, line_colour(
                 k < static_cast<int>(f.line_loading.size()) ? f.line_loading[k] : std::nanf(""),
                 energised(k)));
    m_line_state.commit();
    const int ns = static_cast<int>(m_power_layout->substation_hv_bus.size());
    for (int s = 0; s < ns; ++s)
      m_substation_state.set(
          s,
          substation_colour(s < static_cast<int>(f.substation_on.size()) ? f.substation_on[s] : 1));
    m_substation_state.commit();
  }
  if (!f.signal_x.empty()) {
    if (f.signal_x.size() != m_signal_count) build_signals(f.signal_x, f.signal_y);
    for (std::size_t g = 0; g < m_signal_count; ++g)
      m_signal_state.set(static_cast<int>(g),
                         signal_colour(g < f.signal_powered.size() ? f.signal_powered[g] : 1));
    m_signal_state.commit();
  }
}

std::vector<LegendEntry> CityScene::legend() const {
  std::vector<LegendEntry> out;
  auto add = [&](unsigned layer, std::array<unsigned char, 4> c, std::string text,
                 LegendEntry::Style style = LegendEntry::solid,
                 std::array<unsigned char, 4> c2 = {}) {
    out.push_back({layer, {c[0], c[1], c[2]}, std::move(text), style, {c2[0], c2[1], c2[2]}});
  };
  if (m_difference) difference_legend(out);
  if (m_switch->getValue(k_buildings) && !m_difference) {
    add(k_buildings, building_colour(0, 1), "dry, powered");
    add(k_buildings, building_colour(0.3f, 1), "flooded 0.3 m");
    add(k_buildings, building_colour(2, 1), "flooded >= 2 m");
    add(k_buildings, building_colour(0, 0), "no power");
    add(k_buildings, building_colour(0, 0), "flooded, no power", LegendEntry::hatched,
        building_colour(0.3f, 0));
  }
  if (m_switch->getValue(k_roads) && !m_difference) {
    add(k_roads, road_colour(1, 0), "free flow");
    add(k_roads, road_colour(0.5f, 0), "half free speed");
    add(k_roads, road_colour(0, 0), "stopped");
    add(k_roads, road_colour(NAN, 0), "no traffic data");
    add(k_roads, road_colour(1, 0, 0.5f), "slowed by water");
    add(k_roads, road_colour(1, 1), "closed");
  }
  if (m_switch->getValue(k_power) && m_power_layout) {
    add(k_power, line_colour(0, 1), "line idle");
    add(k_power, line_colour(1, 1), "line overloaded");
    add(k_power, line_colour(0, 0), "line de-energised", LegendEntry::dashed);
    add(k_power, substation_colour(1), "substation on");
    add(k_power, substation_colour(0), "substation out");
  }
  if (m_switch->getValue(k_water) && m_water && !m_difference) {
    add(k_water, rgba(0.45f, 0.75f, 1.0f), "1 cm deep");
    add(k_water, rgba(0.02f, 0.15f, 0.65f), ">= 2 m deep");
  }
  if (m_switch->getValue(k_vehicles) && m_vehicle_geometry && !m_difference)
    add(k_vehicles, rgba(0.95f, 0.85f, 0.1f), "vehicle");
  if (m_switch->getValue(k_signals) && m_signal_count > 0) {
    add(k_signals, signal_colour(1), "powered");
    add(k_signals, signal_colour(0), "dark (all-way stop)");
  }
  if (m_switch->getValue(k_terrain)) {
    add(k_terrain, rgba(k_land_low), "land, lowest");
    add(k_terrain, rgba(k_land_high), "land, highest");
    add(k_terrain, rgba(k_sea), "sea (<= 0 m)");
  }
  return out;
}

}  // namespace citytwin::view
