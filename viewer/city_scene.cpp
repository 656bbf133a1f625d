#include "city_scene.hpp"

#include <osg/BlendFunc>
#include <osg/CullFace>
#include <osg/Depth>
#include <osg/Geode>
#include <osg/Geometry>
#include <osg/PolygonOffset>
#include <osg/Program>
#include <osg/Shader>

#include <algorithm>
#include <cmath>
#include <sstream>

namespace citytwin::view {
namespace {

constexpr int k_tex_width = 1024;
constexpr unsigned k_entity_attr = 6;

// Mesh layers: colour either from elevation (terrain) or from the per-entity state texture,
// lit by a fixed sun (geometry is in scene coordinates, so gl_Normal is a world normal).
const char* k_mesh_vs = R"(#version 130
in float entity;
uniform sampler2D state;
uniform int mode;
uniform vec2 zrange;
out vec4 colour;
out vec3 normal;
void main() {
  gl_Position = gl_ModelViewProjectionMatrix * gl_Vertex;
  normal = gl_Normal;
  if (mode == 0) {
    float h = clamp((gl_Vertex.z - zrange.x) / max(zrange.y - zrange.x, 1.0), 0.0, 1.0);
    colour = mix(vec4(0.42, 0.52, 0.33, 1.0), vec4(0.78, 0.72, 0.60, 1.0), h);
  } else {
    int id = int(entity + 0.5);
    colour = texelFetch(state, ivec2(id % 1024, id / 1024), 0);
  }
})";
const char* k_lit_fs = R"(#version 130
in vec4 colour;
in vec3 normal;
out vec4 frag;
void main() {
  vec3 sun = normalize(vec3(0.35, -0.45, 0.82));
  float l = 0.45 + 0.55 * max(dot(normalize(normal), sun), 0.0);
  frag = vec4(colour.rgb * l, colour.a);
})";
// Water: each vertex is a flood cell centre; its surface and depth come from a float texture.
const char* k_water_vs = R"(#version 130
in float entity;
uniform sampler2D water;
uniform int nx;
out float depth;
void main() {
  int id = int(entity + 0.5);
  vec4 s = texelFetch(water, ivec2(id % nx, id / nx), 0);
  depth = s.g;
  // Cells with no wet neighbour collapse outside the clip volume: dry areas cost no fragments.
  gl_Position = s.b > 0.5 ? gl_ModelViewProjectionMatrix * vec4(gl_Vertex.xy, s.r, 1.0)
                          : vec4(2.0, 2.0, 2.0, 1.0);
})";
const char* k_water_fs = R"(#version 130
in float depth;
out vec4 frag;
void main() {
  if (depth < 0.01) discard;
  float d = clamp(depth / 2.0, 0.0, 1.0);
  frag = vec4(mix(vec3(0.45, 0.75, 1.0), vec3(0.02, 0.15, 0.65), d), 0.55 + 0.35 * d);
})";
// Vehicles: one box instanced per vehicle; position and heading from a float texture.
const char* k_vehicle_vs = R"(#version 130
#extension GL_ARB_draw_instanced : require
uniform sampler2D vehicles;
out vec4 colour;
out vec3 normal;
void main() {
  vec4 p = texelFetch(vehicles, ivec2(gl_InstanceIDARB % 1024, gl_InstanceIDARB / 1024), 0);
  float c = cos(p.w), s = sin(p.w);
  vec3 v = vec3(c * gl_Vertex.x - s * gl_Vertex.y, s * gl_Vertex.x + c * gl_Vertex.y, gl_Vertex.z);
  normal = vec3(c * gl_Normal.x - s * gl_Normal.y, s * gl_Normal.x + c * gl_Normal.y, gl_Normal.z);
  colour = vec4(0.95, 0.85, 0.1, 1.0);
  gl_Position = gl_ModelViewProjectionMatrix * vec4(v + p.xyz, 1.0);
})";

osg::Program* program(const char* vs, const char* fs) {
  auto* p = new osg::Program;
  p->addShader(new osg::Shader(osg::Shader::VERTEX, vs));
  p->addShader(new osg::Shader(osg::Shader::FRAGMENT, fs));
  p->addBindAttribLocation("entity", k_entity_attr);
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

std::array<unsigned char, 4> rgba(float r, float g, float b) {
  auto c = [](float v) {
    return static_cast<unsigned char>(std::clamp(v, 0.f, 1.f) * 255.f + 0.5f);
  };
  return {c(r), c(g), c(b), 255};
}

// Building colour: flood depth (blue ramp) over power state (dark when without power).
std::array<unsigned char, 4> building_colour(float depth, int powered) {
  if (depth > 0.05f) {
    const float d = std::min(depth / 2.f, 1.f);
    return rgba(0.55f - 0.45f * d, 0.65f - 0.45f * d, 0.95f);
  }
  if (powered == 0) return rgba(0.25f, 0.22f, 0.28f);
  return rgba(0.90f, 0.87f, 0.80f);
}

// Road colour: speed ratio from red (stopped) through amber to green (free flow).
std::array<unsigned char, 4> road_colour(float ratio, int closed) {
  if (closed) return rgba(0.1f, 0.1f, 0.1f);
  if (!std::isfinite(ratio)) return rgba(0.55f, 0.55f, 0.58f);
  const float r = std::clamp(ratio, 0.f, 1.f);
  return r < 0.5f ? rgba(0.9f, 0.15f + 1.3f * r, 0.1f)
                  : rgba(0.9f - 1.6f * (r - 0.5f), 0.8f, 0.15f);
}

}  // namespace

const char* layer_name(unsigned layer) {
  static const char* names[] = {"terrain", "buildings", "roads", "water", "vehicles"};
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
  const double zmin = m_city.terrain.empty() ? 0 : m_city.terrain.min();
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
    ss->setAttributeAndModes(prog.get());
    // Every mesh triangle is counter-clockwise seen from outside: back faces are never seen.
    ss->setAttributeAndModes(new osg::CullFace(osg::CullFace::BACK));
    ss->addUniform(new osg::Uniform("mode", kind == 0 ? 0 : 1));
    ss->addUniform(
        new osg::Uniform("zrange", osg::Vec2(static_cast<float>(zmin), static_cast<float>(zmax))));
    ss->addUniform(new osg::Uniform("state", 0));
    if (kind == 1) ss->setTextureAttribute(0, m_building_state.texture());
    if (kind == 2) ss->setTextureAttribute(0, m_road_state.texture());
    if (kind == 2) ss->setAttributeAndModes(new osg::PolygonOffset(-1.f, -1.f));
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
  auto* idx = new osg::DrawElementsUInt(GL_TRIANGLES);
  for (int j = 0; j + 1 < w.ny; ++j)
    for (int i = 0; i + 1 < w.nx; ++i) {
      const unsigned a = static_cast<unsigned>(j * w.nx + i), b = a + 1, c = a + 1 + w.nx,
                     d = a + w.nx;
      for (unsigned q : {a, b, c, a, c, d}) idx->push_back(q);
    }
  g->setVertexArray(v);
  g->setVertexAttribArray(k_entity_attr, e, osg::Array::BIND_PER_VERTEX);
  g->addPrimitiveSet(idx);
  m_water = new osg::Geode;
  m_water->addDrawable(g);
  osg::StateSet* ss = m_water->getOrCreateStateSet();
  ss->setAttributeAndModes(program(k_water_vs, k_water_fs));
  ss->setTextureAttribute(0, data_texture(m_water_image.get(), GL_RGBA32F_ARB));
  ss->addUniform(new osg::Uniform("water", 0));
  ss->addUniform(new osg::Uniform("nx", w.nx));
  ss->setMode(GL_BLEND, osg::StateAttribute::ON);
  ss->setAttributeAndModes(new osg::BlendFunc(GL_SRC_ALPHA, GL_ONE_MINUS_SRC_ALPHA));
  ss->setAttributeAndModes(new osg::Depth(osg::Depth::LESS, 0, 1, false));
  ss->setRenderingHint(osg::StateSet::TRANSPARENT_BIN);
  m_water->setCullingActive(false);
  m_switch->getChild(k_water)->asGroup()->addChild(m_water.get());
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

void CityScene::update(const FrameSnapshot& f) {
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
    m_road_state.set(l, road_colour(ratio, closed));
  }
  m_road_state.commit();
  if (!f.water.empty()) {
    if (f.water.nx != m_water_nx || f.water.ny != m_water_ny) build_water(f.water);
    auto* px = reinterpret_cast<float*>(m_water_image->data());
    const WaterRaster& w = f.water;
    auto wet = [&](int i, int j) {
      const std::size_t c = static_cast<std::size_t>(j) * w.nx + i;
      return std::isfinite(w.surface_m[c]) && w.depth_m[c] >= 0.01f;
    };
    for (int j = 0; j < w.ny; ++j)
      for (int i = 0; i < w.nx; ++i) {
        const std::size_t c = static_cast<std::size_t>(j) * w.nx + i;
        const float s = w.surface_m[c];
        px[4 * c] = std::isfinite(s) ? s : 0.f;
        px[4 * c + 1] = std::isfinite(s) ? w.depth_m[c] : 0.f;
        // B: 1 when this cell or a neighbour is wet (the vertex is part of a drawn triangle).
        bool near_wet = false;
        for (int dj = -1; dj <= 1 && !near_wet; ++dj)
          for (int di = -1; di <= 1 && !near_wet; ++di) {
            const int ii = i + di, jj = j + dj;
            near_wet = ii >= 0 && jj >= 0 && ii < w.nx && jj < w.ny && wet(ii, jj);
          }
        px[4 * c + 2] = near_wet ? 1.f : 0.f;
      }
    m_water_image->dirty();
  }
  const std::size_t nv = f.vehicle_x.size();
  if (nv > 0) {
    if (nv > m_vehicle_capacity) build_vehicles(std::max<std::size_t>(nv, 2 * m_vehicle_capacity));
    auto* px = reinterpret_cast<float*>(m_vehicle_image->data());
    for (std::size_t i = 0; i < nv; ++i) {
      const osg::Vec3d p = to_scene(f.vehicle_x[i], f.vehicle_y[i], f.vehicle_z[i]);
      px[4 * i] = static_cast<float>(p.x());
      px[4 * i + 1] = static_cast<float>(p.y());
      px[4 * i + 2] = static_cast<float>(p.z());
      px[4 * i + 3] = f.vehicle_heading[i];
    }
    m_vehicle_image->dirty();
  }
  if (m_vehicle_geometry) {
    auto* da = static_cast<osg::DrawArrays*>(m_vehicle_geometry->getPrimitiveSet(0));
    da->setNumInstances(static_cast<int>(nv));
    da->dirty();
  }
}

std::string CityScene::legend() const {
  std::ostringstream s;
  if (m_switch->getValue(k_buildings))
    s << "buildings: cream dry, blue flooded (darker deeper, 2 m), purple-grey without power\n";
  if (m_switch->getValue(k_roads))
    s << "roads: speed / free speed, red 0 -> amber 0.5 -> green 1; grey no data; black closed\n";
  if (m_switch->getValue(k_water) && m_water) s << "water: light 0 m -> dark blue >= 2 m deep\n";
  if (m_switch->getValue(k_vehicles) && m_vehicle_geometry) s << "vehicles: yellow boxes\n";
  if (m_switch->getValue(k_terrain)) s << "terrain: green low -> tan high\n";
  return s.str();
}

}  // namespace citytwin::view
