// The city scene's static geometry (CityScene, city_scene.hpp), built once: the mesh layers
// (terrain, buildings, roads) from the CityMesh, the water grid and the vehicle boxes on the
// first frame that has them, the power layer per grid layout, the signals; with the shader
// programs (city_scene_shaders.hpp) and state textures they are drawn with. The state is
// applied per frame in city_scene_update.cpp.
#include "city_scene.hpp"

#include <osg/BlendFunc>
#include <osg/CullFace>
#include <osg/Depth>
#include <osg/Geode>
#include <osg/Geometry>
#include <osg/LineWidth>
#include <osg/PolygonOffset>
#include <osg/Program>
#include <osg/Shader>
#include <osgUtil/RenderBin>

#include <algorithm>
#include <cmath>

#include "city_scene_shaders.hpp"

namespace citytwin::view {
namespace {

// Opaque mesh layers are drawn front to back, buildings first, so that llvmpipe's early depth
// test rejects the terrain and roads they hide before shading them.
const char* front_to_back_bin() {
  static const bool registered = [] {
    osgUtil::RenderBin::addRenderBinPrototype(
        "CityFrontToBack", new osgUtil::RenderBin(osgUtil::RenderBin::SORT_FRONT_TO_BACK));
    return true;
  }();
  (void)registered;
  return "CityFrontToBack";
}

osg::Program* program(const char* vs, const char* fs) {
  auto* p = new osg::Program;
  p->addShader(new osg::Shader(osg::Shader::VERTEX, vs));
  p->addShader(new osg::Shader(osg::Shader::FRAGMENT, fs));
  p->addBindAttribLocation("entity", k_entity_attr);
  p->addBindAttribLocation("along", k_along_attr);
  return p;
}

osg::Texture2D* data_texture(osg::Image* image, GLint internal) {
  auto* t = new osg::Texture2D(image);
  t->setInternalFormat(internal);
  t->setFilter(osg::Texture::MIN_FILTER, osg::Texture::NEAREST);
  t->setFilter(osg::Texture::MAG_FILTER, osg::Texture::NEAREST);
  t->setResizeNonPowerOfTwoHint(false);
  t->setUseHardwareMipMapGeneration(false);
  return t;
}

osg::Vec3 vec3(const std::array<float, 3>& c) {
  return {c[0], c[1], c[2]};
}

}  // namespace

const char* layer_name(unsigned layer) {
  static const char* names[] = {"terrain",  "buildings", "roads",  "water",
                                "vehicles", "power",     "signals"};
  return layer < k_layer_count ? names[layer] : "?";
}

void StateTexture::resize(int n) {
  const int rows = std::max(1, (n + k_tex_width - 1) / k_tex_width);
  m_image->allocateImage(k_tex_width, rows, 1, GL_RGBA, GL_UNSIGNED_BYTE);
  std::fill(m_image->data(), m_image->data() + m_image->getTotalSizeInBytes(), 200);
  m_texture->setImage(m_image.get());
  m_texture->setInternalFormat(GL_RGBA8);
  m_texture->setFilter(osg::Texture::MIN_FILTER, osg::Texture::NEAREST);
  m_texture->setFilter(osg::Texture::MAG_FILTER, osg::Texture::NEAREST);
  m_texture->setResizeNonPowerOfTwoHint(false);
}

CityScene::CityScene(const CityModel& city, const CityMesh& mesh) : m_city(city), m_mesh(mesh) {
  m_root->addChild(m_switch.get());
  for (unsigned l = 0; l < k_layer_count; ++l) m_switch->addChild(new osg::Group, true);
  build_mesh_layers();
  // Initial state: nothing flooded, everything powered, no traffic.
  FrameSnapshot empty;
  update(empty);
}

void CityScene::build_mesh_layers() {
  m_building_state.resize(m_city.buildings.size());
  m_road_state.resize(m_city.roads.link_count());
  osg::ref_ptr<osg::Program> prog = program(k_mesh_vs, k_lit_fs);
  osg::ref_ptr<osg::Program> terrain_prog = program(k_mesh_vs, k_terrain_fs);
  // The land's elevation ramp starts at the coast: the sea has a colour of its own.
  const double zmin = m_city.terrain.empty() ? 0 : std::max(m_city.terrain.min(), k_sea_level_m);
  const double zmax = m_city.terrain.empty() ? 1 : m_city.terrain.max();
  for (unsigned kind = 0; kind < 3; ++kind) {
    auto* geode = new osg::Geode;
    for (const MeshPart& p : m_mesh.parts) {
      if (static_cast<unsigned>(p.kind) != kind || p.triangle_count() == 0) continue;
      auto* g = new osg::Geometry;
      g->setUseDisplayList(false);
      g->setUseVertexBufferObjects(true);
      auto* v = new osg::Vec3Array(static_cast<unsigned>(p.vertex_count()));
      auto* n = new osg::Vec3Array(static_cast<unsigned>(p.vertex_count()));
      auto* e = new osg::FloatArray(static_cast<unsigned>(p.vertex_count()));
      for (int i = 0; i < p.vertex_count(); ++i) {
        (*v)[i].set(p.position[3 * i], p.position[3 * i + 1], p.position[3 * i + 2]);
        (*n)[i].set(p.normal[3 * i], p.normal[3 * i + 1], p.normal[3 * i + 2]);
        (*e)[i] = static_cast<float>(p.vertex_entity[i]);
      }
      g->setVertexArray(v);
      g->setNormalArray(n, osg::Array::BIND_PER_VERTEX);
      g->setVertexAttribArray(k_entity_attr, e, osg::Array::BIND_PER_VERTEX);
      // Building floors face down into the ground and are never drawn (they close the solids
      // for Bullet only).
      auto* idx = new osg::DrawElementsUInt(GL_TRIANGLES);
      for (int t = 0; t < p.triangle_count(); ++t) {
        const int a = p.index[3 * t];
        if (p.kind == EntityKind::building && p.normal[3 * a + 2] < -0.99f) continue;
        for (int k = 0; k < 3; ++k) idx->push_back(static_cast<unsigned>(p.index[3 * t + k]));
      }
      g->addPrimitiveSet(idx);
      geode->addDrawable(g);
    }
    osg::StateSet* ss = geode->getOrCreateStateSet();
    ss->setAttributeAndModes(kind == 0 ? terrain_prog.get() : prog.get());
    // Every mesh triangle is counter-clockwise seen from outside: back faces are never seen.
    ss->setAttributeAndModes(new osg::CullFace(osg::CullFace::BACK));
    ss->addUniform(new osg::Uniform("mode", kind == 0 ? 0 : 1));
    ss->addUniform(
        new osg::Uniform("zrange", osg::Vec2(static_cast<float>(zmin), static_cast<float>(zmax))));
    ss->addUniform(new osg::Uniform("state", 0));
    ss->addUniform(new osg::Uniform("land_low", vec3(k_land_low)));
    ss->addUniform(new osg::Uniform("land_high", vec3(k_land_high)));
    ss->addUniform(new osg::Uniform("sea", vec3(k_sea)));
    ss->addUniform(new osg::Uniform("sea_level", static_cast<float>(k_sea_level_m)));
    ss->addUniform(new osg::Uniform("hatch", vec3(k_no_power)));
    if (kind == 1) ss->setTextureAttribute(0, m_building_state.texture());
    if (kind == 2) ss->setTextureAttribute(0, m_road_state.texture());
    if (kind == 2) ss->setAttributeAndModes(new osg::PolygonOffset(-1.f, -1.f));
    // Bins before the default one: buildings, roads, terrain.
    ss->setRenderBinDetails(kind == 1 ? -3 : kind == 2 ? -2 : -1, front_to_back_bin());
    m_switch->getChild(kind)->asGroup()->addChild(geode);
  }
}

void CityScene::build_water(const WaterRaster& w) {
  m_water_nx = w.nx;
  m_water_ny = w.ny;
  m_water_image = new osg::Image;
  m_water_image->allocateImage(w.nx, w.ny, 1, GL_RGBA, GL_FLOAT);
  auto* g = new osg::Geometry;
  g->setUseDisplayList(false);
  g->setUseVertexBufferObjects(true);
  auto* v = new osg::Vec3Array;
  auto* e = new osg::FloatArray;
  for (int j = 0; j < w.ny; ++j)
    for (int i = 0; i < w.nx; ++i) {
      v->push_back(to_scene(w.x0 + (i + 0.5) * w.dx, w.y0 + (j + 0.5) * w.dy, 0));
      e->push_back(static_cast<float>(j * w.nx + i));
    }
  // The triangles are the quads with a wet corner, chosen every frame (update()).
  m_water_index = new osg::DrawElementsUInt(GL_TRIANGLES);
  m_water_index->setDataVariance(osg::Object::DYNAMIC);
  g->setVertexArray(v);
  g->setVertexAttribArray(k_entity_attr, e, osg::Array::BIND_PER_VERTEX);
  g->addPrimitiveSet(m_water_index.get());
  osg::Group* group = m_switch->getChild(k_water)->asGroup();
  group->removeChildren(0, group->getNumChildren());
  m_water = new osg::Geode;
  m_water->addDrawable(g);
  osg::StateSet* ss = m_water->getOrCreateStateSet();
  ss->setAttributeAndModes(program(k_water_vs, k_water_fs));
  ss->setTextureAttribute(0, data_texture(m_water_image.get(), GL_RGBA32F_ARB));
  ss->addUniform(new osg::Uniform("water", 0));
  m_water_difference = new osg::Uniform("difference", false);
  ss->addUniform(m_water_difference.get());
  ss->addUniform(new osg::Uniform("nx", w.nx));
  ss->setMode(GL_BLEND, osg::StateAttribute::ON);
  ss->setAttributeAndModes(new osg::BlendFunc(GL_SRC_ALPHA, GL_ONE_MINUS_SRC_ALPHA));
  ss->setAttributeAndModes(new osg::Depth(osg::Depth::LESS, 0, 1, false));
  ss->setRenderingHint(osg::StateSet::TRANSPARENT_BIN);
  m_water->setCullingActive(false);
  group->addChild(m_water.get());
}

void CityScene::build_vehicles(std::size_t capacity) {
  m_vehicle_capacity = capacity;
  const int rows = static_cast<int>((capacity + k_tex_width - 1) / k_tex_width);
  m_vehicle_image = new osg::Image;
  m_vehicle_image->allocateImage(k_tex_width, std::max(rows, 1), 1, GL_RGBA, GL_FLOAT);
  // A 4.5 m x 1.8 m x 1.5 m box, its base centred on the vehicle's position.
  m_vehicle_geometry = new osg::Geometry;
  m_vehicle_geometry->setUseDisplayList(false);
  m_vehicle_geometry->setUseVertexBufferObjects(true);
  auto* v = new osg::Vec3Array;
  auto* n = new osg::Vec3Array;
  const float hx = 2.25f, hy = 0.9f, hz = 1.5f;
  const osg::Vec3 faces[5][4] = {{{-hx, -hy, hz}, {hx, -hy, hz}, {hx, hy, hz}, {-hx, hy, hz}},
                                 {{-hx, -hy, 0}, {hx, -hy, 0}, {hx, -hy, hz}, {-hx, -hy, hz}},
                                 {{hx, hy, 0}, {-hx, hy, 0}, {-hx, hy, hz}, {hx, hy, hz}},
                                 {{hx, -hy, 0}, {hx, hy, 0}, {hx, hy, hz}, {hx, -hy, hz}},
                                 {{-hx, hy, 0}, {-hx, -hy, 0}, {-hx, -hy, hz}, {-hx, hy, hz}}};
  const osg::Vec3 normals[5] = {{0, 0, 1}, {0, -1, 0}, {0, 1, 0}, {1, 0, 0}, {-1, 0, 0}};
  for (int f = 0; f < 5; ++f)
    for (int k : {0, 1, 2, 0, 2, 3}) v->push_back(faces[f][k]), n->push_back(normals[f]);
  m_vehicle_geometry->setVertexArray(v);
  m_vehicle_geometry->setNormalArray(n, osg::Array::BIND_PER_VERTEX);
  m_vehicle_geometry->addPrimitiveSet(
      new osg::DrawArrays(GL_TRIANGLES, 0, static_cast<int>(v->size()), 0));
  auto* geode = new osg::Geode;
  geode->addDrawable(m_vehicle_geometry.get());
  geode->setCullingActive(false);
  m_vehicle_geometry->setCullingActive(false);
  osg::StateSet* ss = geode->getOrCreateStateSet();
  ss->setAttributeAndModes(program(k_vehicle_vs, k_lit_fs));
  ss->setTextureAttribute(0, data_texture(m_vehicle_image.get(), GL_RGBA32F_ARB));
  ss->addUniform(new osg::Uniform("vehicles", 0));
  m_switch->getChild(k_vehicles)->asGroup()->addChild(geode);
}

// Power lines: one segment per branch between its buses, 4 m above the terrain (cables are
// mostly underground; drawn where they run); substations: 16 x 16 x 30 m boxes on the HV bus.
// Buses without coordinates in the city (cases with geographic or no positions) are not drawn.
void CityScene::build_power(std::shared_ptr<const PowerLayout> layout) {
  m_power_layout = std::move(layout);
  const PowerLayout& l = *m_power_layout;
  osg::Group* group = m_switch->getChild(k_power)->asGroup();
  group->removeChildren(0, group->getNumChildren());
  const auto& e = m_city.extent;
  const double margin = 1000;
  auto placed = [&](std::int32_t b) {
    if (b < 0 || static_cast<std::size_t>(b) >= l.bus_x.size()) return false;
    const double x = l.bus_x[b], y = l.bus_y[b];
    return std::isfinite(x) && std::isfinite(y) && x > e[0] - margin && x < e[2] + margin &&
           y > e[1] - margin && y < e[3] + margin;
  };
  auto ground = [&](double x, double y) {
    const double z = m_city.terrain.empty() ? 0 : m_city.terrain.sample(x, y);
    return std::isfinite(z) ? z : 0.0;
  };
  const int nk = static_cast<int>(l.branch_from.size());
  const int ns = static_cast<int>(l.substation_hv_bus.size());
  m_line_state.resize(nk);
  m_substation_state.resize(ns);
  {
    auto* g = new osg::Geometry;
    g->setUseDisplayList(false);
    g->setUseVertexBufferObjects(true);
    auto* v = new osg::Vec3Array;
    auto* ent = new osg::FloatArray;
    auto* along = new osg::FloatArray;  // metres from the from-bus (dashes)
    for (int k = 0; k < nk; ++k) {
      const std::int32_t a = l.branch_from[k], b = l.branch_to[k];
      if (!placed(a) || !placed(b)) continue;
      for (std::int32_t bus : {a, b}) {
        v->push_back(to_scene(l.bus_x[bus], l.bus_y[bus], ground(l.bus_x[bus], l.bus_y[bus]) + 4));
        ent->push_back(static_cast<float>(k));
      }
      along->push_back(0.f);
      along->push_back(
          static_cast<float>(std::hypot(l.bus_x[b] - l.bus_x[a], l.bus_y[b] - l.bus_y[a])));
    }
    g->setVertexArray(v);
    g->setVertexAttribArray(k_entity_attr, ent, osg::Array::BIND_PER_VERTEX);
    g->setVertexAttribArray(k_along_attr, along, osg::Array::BIND_PER_VERTEX);
    g->addPrimitiveSet(new osg::DrawArrays(GL_LINES, 0, static_cast<int>(v->size())));
    auto* geode = new osg::Geode;
    geode->addDrawable(g);
    osg::StateSet* ss = geode->getOrCreateStateSet();
    ss->setAttributeAndModes(program(k_line_vs, k_line_fs));
    ss->setAttributeAndModes(new osg::LineWidth(3.f));
    ss->addUniform(new osg::Uniform("state", 0));
    ss->setTextureAttribute(0, m_line_state.texture());
    group->addChild(geode);
  }
  std::vector<osg::Vec3> at;
  for (int s = 0; s < ns; ++s) {
    const std::int32_t bus = l.substation_hv_bus[s];
    // Off-map substations keep their index with a box far below the terrain.
    at.push_back(placed(bus) ? osg::Vec3(to_scene(l.bus_x[bus], l.bus_y[bus],
                                                  ground(l.bus_x[bus], l.bus_y[bus])))
                             : osg::Vec3(0, 0, -1e5f));
  }
  group->addChild(boxes(at, 8.f, 30.f, m_substation_state.texture()));
}

// Boxes of half-width h and height `top` standing at the points, entity i = point i, lit and
// coloured by a state texture (substations, signals).
osg::Geode* CityScene::boxes(const std::vector<osg::Vec3>& at, float h, float top,
                             osg::Texture2D* state) const {
  auto* g = new osg::Geometry;
  g->setUseDisplayList(false);
  g->setUseVertexBufferObjects(true);
  auto* v = new osg::Vec3Array;
  auto* n = new osg::Vec3Array;
  auto* ent = new osg::FloatArray;
  const osg::Vec3 faces[5][4] = {{{-h, -h, top}, {h, -h, top}, {h, h, top}, {-h, h, top}},
                                 {{-h, -h, 0}, {h, -h, 0}, {h, -h, top}, {-h, -h, top}},
                                 {{h, h, 0}, {-h, h, 0}, {-h, h, top}, {h, h, top}},
                                 {{h, -h, 0}, {h, h, 0}, {h, h, top}, {h, -h, top}},
                                 {{-h, h, 0}, {-h, -h, 0}, {-h, -h, top}, {-h, h, top}}};
  const osg::Vec3 normals[5] = {{0, 0, 1}, {0, -1, 0}, {0, 1, 0}, {1, 0, 0}, {-1, 0, 0}};
  for (std::size_t s = 0; s < at.size(); ++s)
    for (int f = 0; f < 5; ++f)
      for (int k : {0, 1, 2, 0, 2, 3})
        v->push_back(at[s] + faces[f][k]), n->push_back(normals[f]),
            ent->push_back(static_cast<float>(s));
  g->setVertexArray(v);
  g->setNormalArray(n, osg::Array::BIND_PER_VERTEX);
  g->setVertexAttribArray(k_entity_attr, ent, osg::Array::BIND_PER_VERTEX);
  g->addPrimitiveSet(new osg::DrawArrays(GL_TRIANGLES, 0, static_cast<int>(v->size())));
  auto* geode = new osg::Geode;
  geode->addDrawable(g);
  osg::StateSet* ss = geode->getOrCreateStateSet();
  ss->setAttributeAndModes(program(k_mesh_vs, k_lit_fs));
  ss->addUniform(new osg::Uniform("mode", 1));
  ss->addUniform(new osg::Uniform("state", 0));
  ss->setTextureAttribute(0, state);
  return geode;
}

// Signals: a box on the ground at each signal node, coloured by its power.
void CityScene::build_signals(const std::vector<double>& x, const std::vector<double>& y) {
  osg::Group* group = m_switch->getChild(k_signals)->asGroup();
  group->removeChildren(0, group->getNumChildren());
  m_signal_count = x.size();
  m_signal_state.resize(static_cast<int>(m_signal_count));
  std::vector<osg::Vec3> at;
  for (std::size_t g = 0; g < x.size(); ++g) {
    const double z = m_city.terrain.empty() ? 0 : m_city.terrain.sample(x[g], y[g]);
    at.push_back(osg::Vec3(to_scene(x[g], y[g], std::isfinite(z) ? z : 0.0)));
  }
  group->addChild(boxes(at, 4.f, 12.f, m_signal_state.texture()));
}

}  // namespace citytwin::view
