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

namespace citytwin::view {
namespace {

constexpr int k_tex_width = 1024;
constexpr unsigned k_entity_attr = 6;
constexpr unsigned k_along_attr = 7;

// State textures flag a second state in alpha (below k_flag_alpha): a building flooded and
// without power (its roof hatched), a de-energised power line (dashed).
constexpr unsigned char k_flag_alpha = 100;

// Colours shared by the shaders and the legend.
constexpr std::array<float, 3> k_sea{0.13f, 0.38f, 0.40f};       // terrain at or below sea level
constexpr std::array<float, 3> k_land_low{0.42f, 0.52f, 0.33f};  // lowest land
constexpr std::array<float, 3> k_land_high{0.78f, 0.72f, 0.60f};
constexpr std::array<float, 3> k_no_power{0.25f, 0.22f, 0.28f};  // building without power

// Mesh layers: colour either from elevation (terrain) or from the per-entity state texture,
// lit by a fixed sun (geometry is in scene coordinates, so gl_Normal is a world normal).
const char* k_mesh_vs = R"(#version 130
in float entity;
uniform sampler2D state;
uniform int mode;
uniform vec2 zrange;
uniform vec3 land_low;
uniform vec3 land_high;
out vec4 colour;
out vec3 normal;
out float zw;
void main() {
  gl_Position = gl_ModelViewProjectionMatrix * gl_Vertex;
  normal = gl_Normal;
  zw = gl_Vertex.z;
  if (mode == 0) {
    float h = clamp((gl_Vertex.z - zrange.x) / max(zrange.y - zrange.x, 1.0), 0.0, 1.0);
    colour = vec4(mix(land_low, land_high, h), 1.0);
  } else {
    int id = int(entity + 0.5);
    colour = texelFetch(state, ivec2(id % 1024, id / 1024), 0);
  }
})";
// A flagged colour (alpha < 0.6) on an upward face is hatched with `hatch`: diagonal stripes,
// 4 pixels of 8, in screen space so that they show at every zoom.
const char* k_lit_fs = R"(#version 130
in vec4 colour;
in vec3 normal;
uniform vec3 hatch;
out vec4 frag;
void main() {
  vec3 sun = normalize(vec3(0.35, -0.45, 0.82));
  float l = 0.45 + 0.55 * max(dot(normalize(normal), sun), 0.0);
  vec3 c = colour.rgb;
  if (colour.a < 0.6 && normal.z > 0.9 && mod(gl_FragCoord.x + gl_FragCoord.y, 8.0) < 4.0)
    c = hatch;
  frag = vec4(c * l, 1.0);
})";
// Terrain: land by elevation (the vertex colour), the sea where the interpolated elevation is
// at or below sea level, so the coastline follows the 0 m contour across a triangle.
const char* k_terrain_fs = R"(#version 130
in vec4 colour;
in vec3 normal;
in float zw;
uniform float sea_level;
uniform vec3 sea;
out vec4 frag;
void main() {
  vec3 sun = normalize(vec3(0.35, -0.45, 0.82));
  float l = 0.45 + 0.55 * max(dot(normalize(normal), sun), 0.0);
  vec3 c = zw <= sea_level + 0.05 ? sea : colour.rgb;
  frag = vec4(c * l, 1.0);
})";
// Power lines: unlit, coloured by state; a flagged (de-energised) line is dashed, 14 m drawn of
// every 24 m along the line.
const char* k_line_vs = R"(#version 130
in float entity;
in float along;
uniform sampler2D state;
out vec4 colour;
out float dist;
void main() {
  gl_Position = gl_ModelViewProjectionMatrix * gl_Vertex;
  int id = int(entity + 0.5);
  colour = texelFetch(state, ivec2(id % 1024, id / 1024), 0);
  dist = along;
})";
const char* k_line_fs = R"(#version 130
in vec4 colour;
in float dist;
out vec4 frag;
void main() {
  if (colour.a < 0.6 && mod(dist, 24.0) >= 14.0) discard;
  frag = vec4(colour.rgb, 1.0);
})";
// Water: each vertex is a flood cell centre; its surface and depth come from a float texture.
// The surface is drawn 0.5 m up so that road ribbons (0.3 m above the terrain) and the terrain
// mesh (coarser than the flood grid) do not hide shallow water.
const char* k_water_vs = R"(#version 130
in float entity;
uniform sampler2D water;
uniform int nx;
out float depth;
void main() {
  int id = int(entity + 0.5);
  vec4 s = texelFetch(water, ivec2(id % nx, id / nx), 0);
  depth = s.g;
  gl_Position = gl_ModelViewProjectionMatrix * vec4(gl_Vertex.xy, s.r + 0.5, 1.0);
})";
// With `difference` the depth is variant - base: red where the variant is deeper, blue where it
// is shallower, saturating at 1 m (the colours of the difference legend).
const char* k_water_fs = R"(#version 130
in float depth;
uniform bool difference;
out vec4 frag;
void main() {
  if (abs(depth) < 0.01) discard;
  if (difference) {
    float d = clamp(abs(depth), 0.0, 1.0);
    vec3 c = depth > 0.0 ? mix(vec3(0.98, 0.6, 0.5), vec3(0.7, 0.0, 0.05), d)
                         : mix(vec3(0.55, 0.7, 0.98), vec3(0.05, 0.2, 0.7), d);
    frag = vec4(c, 0.6 + 0.3 * d);
    return;
  }
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

std::array<unsigned char, 4> rgba(float r, float g, float b) {
  auto c = [](float v) {
    return static_cast<unsigned char>(std::clamp(v, 0.f, 1.f) * 255.f + 0.5f);
  };
  return {c(r), c(g), c(b), 255};
}
std::array<unsigned char, 4> rgba(const std::array<float, 3>& c) {
  return rgba(c[0], c[1], c[2]);
}
osg::Vec3 vec3(const std::array<float, 3>& c) {
  return {c[0], c[1], c[2]};
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
