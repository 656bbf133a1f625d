// The difference layer of two runs of one city (CityScene::show_difference): what the variant
// changes, on diverging scales that read the same in every layer: red where the variant is
// worse (deeper water, slower or closed roads), blue where it is better, light grey unchanged.
#include <algorithm>
#include <cmath>

#include "city_scene.hpp"

namespace citytwin::view {
namespace {

using Rgba = std::array<unsigned char, 4>;

constexpr Rgba k_same{205, 205, 200, 255};

// `delta` on a diverging scale saturating at +-`full`: light to dark red above 0, light to dark
// blue below, k_same within `dead` of 0.
Rgba diverging(float delta, float full, float dead) {
  if (!std::isfinite(delta) || std::abs(delta) < dead) return k_same;
  const float d = std::min(std::abs(delta) / full, 1.f);
  auto mix = [d](float a, float b) {
    return static_cast<unsigned char>(std::clamp(a + (b - a) * d, 0.f, 1.f) * 255.f + 0.5f);
  };
  if (delta > 0) return {mix(0.98f, 0.7f), mix(0.6f, 0.f), mix(0.5f, 0.05f), 255};
  return {mix(0.55f, 0.05f), mix(0.7f, 0.2f), mix(0.98f, 0.7f), 255};
}

template <class T>
T value_or(const std::vector<T>& v, std::size_t i, T fallback) {
  return i < v.size() ? v[i] : fallback;
}

// A road link's loss to water (1 - flood speed factor; closed counts as 1): the variant's loss
// minus the base's, so that red means slower in the variant, as for depths.
float road_loss(const FrameSnapshot& f, std::size_t l) {
  if (value_or<std::uint8_t>(f.link_closed, l, 0)) return 1.f;
  return 1.f - std::clamp(value_or(f.link_flood_factor, l, 1.f), 0.f, 1.f);
}

}  // namespace

void CityScene::show_difference(const FrameSnapshot& base, const FrameSnapshot& variant) {
  update(variant);  // power and signals: the variant's
  m_difference = true;
  for (std::int32_t i = 0; i < m_city.buildings.size(); ++i) {
    const auto k = static_cast<std::size_t>(i);
    m_building_state.set(i, diverging(value_or(variant.building_depth_m, k, 0.f) -
                                          value_or(base.building_depth_m, k, 0.f),
                                      1.f, 0.01f));
  }
  m_building_state.commit();
  for (std::int32_t l = 0; l < m_city.roads.link_count(); ++l) {
    const auto k = static_cast<std::size_t>(l);
    m_road_state.set(l, diverging(road_loss(variant, k) - road_loss(base, k), 1.f, 0.01f));
  }
  m_road_state.commit();
  if (!variant.water.empty()) update_water(variant.water, &base.water);
  draw_vehicles(0);  // vehicles belong to one run
}

void CityScene::difference_legend(std::vector<LegendEntry>& out) const {
  auto add = [&](unsigned layer, float delta, std::string text) {
    const Rgba c = diverging(delta, 1.f, 0.01f);
    out.push_back({layer, {c[0], c[1], c[2]}, std::move(text)});
  };
  if (m_switch->getValue(k_buildings)) {
    add(k_buildings, 1, "variant >= 1 m deeper");
    add(k_buildings, 0.2f, "variant 0.2 m deeper");
    add(k_buildings, 0, "same depth");
    add(k_buildings, -1, "variant >= 1 m shallower");
  }
  if (m_switch->getValue(k_roads)) {
    add(k_roads, 1, "closed in variant only");
    add(k_roads, 0.5f, "variant slower (water)");
    add(k_roads, 0, "same");
    add(k_roads, -1, "closed in base only");
  }
  if (m_switch->getValue(k_water) && m_water) {
    add(k_water, 1, "variant >= 1 m deeper");
    add(k_water, -1, "variant >= 1 m shallower");
  }
}

}  // namespace citytwin::view
