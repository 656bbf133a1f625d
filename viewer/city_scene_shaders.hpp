// Private to viewer/city_scene*.cpp: the GLSL programs of the city scene's layers and what the
// C++ side shares with them: the state textures' width, the vertex attribute locations, the
// flag in a state colour's alpha, and the colours shared by the shaders and the legend.
#pragma once

#include <array>

namespace citytwin::view {

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
constexpr const char* k_mesh_vs = R"(#version 130
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
constexpr const char* k_lit_fs = R"(#version 130
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
constexpr const char* k_terrain_fs = R"(#version 130
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
constexpr const char* k_line_vs = R"(#version 130
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
constexpr const char* k_line_fs = R"(#version 130
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
constexpr const char* k_water_vs = R"(#version 130
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
constexpr const char* k_water_fs = R"(#version 130
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
constexpr const char* k_vehicle_vs = R"(#version 130
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

}  // namespace citytwin::view
