// The OSG scene of a city: static geometry built once from a CityMesh, dynamic state applied
// from FrameSnapshots through per-entity state textures and uniforms (no geometry rebuilt).
//
// Layers: terrain (land coloured by elevation, the sea at or below 0 m), buildings (by flood
// depth / power, hatched roofs when both), roads (by speed ratio, slowed or closed by water),
// water (translucent, by depth), vehicles (instanced boxes), power (lines by loading, dashed
// when de-energised; substations on/off), signals (powered or dark). Each layer is one switch
// child; adding a layer is one build function and one update function.
#pragma once

#include <osg/Geode>
#include <osg/Geometry>
#include <osg/Group>
#include <osg/Image>
#include <osg/Switch>
#include <osg/Texture2D>
#include <osg/Uniform>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "citytwin/city.hpp"
#include "citytwin/frame.hpp"
#include "citytwin/spatial.hpp"

namespace citytwin::view {

/// Per-entity RGBA colours in a 2D texture (1024 wide), read by vertex shaders with texelFetch.
class StateTexture {
 public:
  void resize(int n);
  void set(int i, std::array<unsigned char, 4> rgba) {
    unsigned char* p = m_image->data() + 4 * static_cast<std::size_t>(i);
    p[0] = rgba[0], p[1] = rgba[1], p[2] = rgba[2], p[3] = rgba[3];
  }
  void commit() { m_image->dirty(); }
  osg::Texture2D* texture() const { return m_texture.get(); }

 private:
  osg::ref_ptr<osg::Image> m_image = new osg::Image;
  osg::ref_ptr<osg::Texture2D> m_texture = new osg::Texture2D;
};

enum Layer : unsigned {
  k_terrain,
  k_buildings,
  k_roads,
  k_water,
  k_vehicles,
  k_power,
  k_signals,
  k_layer_count
};
const char* layer_name(unsigned layer);

/// Terrain at or below this elevation (m, the vertical datum) is drawn as sea, and the flood's
/// water over it (the flood's sea cells, `flood.sea_level` 0) is not drawn as flood water.
constexpr double k_sea_level_m = 0;

/// One legend line: a swatch colour (what the layer draws for that state) and its meaning, under
/// the layer's name.
struct LegendEntry {
  enum Style : unsigned char {
    solid,
    dashed,   ///< a de-energised power line: the swatch is dashed
    hatched,  ///< a flooded building without power: `rgb` stripes over `rgb2`
  };
  unsigned layer;
  std::array<unsigned char, 3> rgb;
  std::string text;
  Style style = solid;
  std::array<unsigned char, 3> rgb2{};
};

class CityScene {
 public:
  CityScene(const CityModel& city, const CityMesh& mesh);
  osg::Group* root() const { return m_root.get(); }
  /// Applies a snapshot: textures and uniforms only (water and vehicle buffers resized on the
  /// first frame that has them).
  void update(const FrameSnapshot& frame);
  /// Applies two runs' snapshots as one city (difference.cpp): buildings, roads and water by
  /// variant - base on diverging scales (red worse in the variant, blue better), vehicles not
  /// drawn, power and signals as in the variant. update() goes back to one run.
  void show_difference(const FrameSnapshot& base, const FrameSnapshot& variant);
  void toggle(unsigned layer) { m_switch->setValue(layer, !m_switch->getValue(layer)); }
  bool visible(unsigned layer) const { return m_switch->getValue(layer); }
  /// Model CRS -> scene coordinates (relative to the mesh origin).
  osg::Vec3d to_scene(double x, double y, double z) const {
    return {x - m_mesh.origin[0], y - m_mesh.origin[1], z};
  }
  const CityMesh& mesh() const { return m_mesh; }
  const CityModel& city() const { return m_city; }
  /// Legend entries for the layers that are on (and have something drawn).
  std::vector<LegendEntry> legend() const;

 private:
  /// The water layer from `w`, or from w - base (same grid) when `base` is given.
  void update_water(const WaterRaster& w, const WaterRaster* base);
  /// Draws the first n instances of the vehicle buffer.
  void draw_vehicles(std::size_t n);
  void difference_legend(std::vector<LegendEntry>& out) const;
  void build_mesh_layers();
  void build_water(const WaterRaster& w);
  void build_vehicles(std::size_t capacity);
  void build_power(std::shared_ptr<const PowerLayout> layout);
  void build_signals(const std::vector<double>& x, const std::vector<double>& y);
  osg::Geode* boxes(const std::vector<osg::Vec3>& at, float h, float top,
                    osg::Texture2D* state) const;

  const CityModel& m_city;
  const CityMesh& m_mesh;
  osg::ref_ptr<osg::Group> m_root = new osg::Group;
  osg::ref_ptr<osg::Switch> m_switch = new osg::Switch;
  StateTexture m_building_state, m_road_state;
  bool m_difference = false;  ///< show_difference() drew the last frame
  // Water: surface elevation and depth per cell, in one float texture (R = surface, G = depth).
  osg::ref_ptr<osg::Image> m_water_image;
  osg::ref_ptr<osg::Geode> m_water;
  osg::ref_ptr<osg::DrawElementsUInt> m_water_index;  ///< quads with a wet corner, per frame
  osg::ref_ptr<osg::Uniform> m_water_difference;      ///< the depth is variant - base
  std::vector<std::uint8_t> m_water_wet;
  int m_water_nx = 0, m_water_ny = 0;
  // Vehicles: x, y, z, heading per instance in a float texture.
  osg::ref_ptr<osg::Image> m_vehicle_image;
  osg::ref_ptr<osg::Geometry> m_vehicle_geometry;
  std::size_t m_vehicle_capacity = 0;
  // Power: lines (one segment per branch) and substation boxes, coloured by state textures.
  std::shared_ptr<const PowerLayout> m_power_layout;
  StateTexture m_line_state, m_substation_state;
  // Traffic signals (the exchange's): boxes coloured by power.
  StateTexture m_signal_state;
  std::size_t m_signal_count = 0;
};

}  // namespace citytwin::view
