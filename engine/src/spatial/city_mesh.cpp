// CityModel -> triangles, merged per (tile, layer). See citytwin/spatial.hpp.
//
// Vertices are never shared between entities (nor between faces of a building: walls and roofs
// are flat-shaded), so a per-vertex entity index is enough for the viewer to colour by state and
// for a ray hit's triangle to name what it hit.
#include "citytwin/spatial.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace citytwin {
namespace {

using Pt = std::array<double, 2>;

struct Builder {
  const CityMesh& mesh;
  double tile_size;
  std::vector<std::int32_t> part_of;  // (tiles * 3) index into parts, -1 none
  std::vector<MeshPart>& parts;

  std::int32_t tile_at(double x, double y) const {
    const auto tx = std::clamp(static_cast<std::int32_t>(std::floor(
                                   (x - mesh.origin[0]) / tile_size + mesh.tiles_x / 2.0)),
                               0, mesh.tiles_x - 1);
    const auto ty = std::clamp(static_cast<std::int32_t>(std::floor(
                                   (y - mesh.origin[1]) / tile_size + mesh.tiles_y / 2.0)),
                               0, mesh.tiles_y - 1);
    return ty * mesh.tiles_x + tx;
  }
  MeshPart& part(std::int32_t tile, EntityKind kind) {
    std::int32_t& p = part_of[static_cast<std::size_t>(tile) * 3 + static_cast<int>(kind)];
    if (p < 0) {
      p = static_cast<std::int32_t>(parts.size());
      parts.emplace_back();
      parts.back().kind = kind;
      parts.back().tile = tile;
    }
    return parts[static_cast<std::size_t>(p)];
  }
};

std::int32_t add_vertex(MeshPart& p, double x, double y, double z, const std::array<float, 3>& n,
                        std::int32_t entity, const std::array<double, 2>& origin) {
  p.position.insert(p.position.end(), {static_cast<float>(x - origin[0]),
                                       static_cast<float>(y - origin[1]), static_cast<float>(z)});
  p.normal.insert(p.normal.end(), n.begin(), n.end());
  p.vertex_entity.push_back(entity);
  return p.vertex_count() - 1;
}

void add_triangle(MeshPart& p, std::int32_t a, std::int32_t b, std::int32_t c,
                  std::int32_t entity) {
  p.index.insert(p.index.end(), {a, b, c});
  p.tri_entity.push_back(entity);
}

// Terrain: a vertex at each valid cell centre, two triangles per quad of four valid centres.
void build_terrain(const Terrain& t, Builder& b) {
  if (t.empty()) return;
  auto valid = [&](int i, int j) { return std::isfinite(t.at(i, j)); };
  auto normal_at = [&](int i, int j) {
    // Central differences of the elevation (one-sided at edges and next to nodata).
    const int i0 = std::max(i - 1, 0), i1 = std::min(i + 1, t.nx - 1);
    const int j0 = std::max(j - 1, 0), j1 = std::min(j + 1, t.ny - 1);
    const double zx0 = valid(i0, j) ? t.at(i0, j) : t.at(i, j);
    const double zx1 = valid(i1, j) ? t.at(i1, j) : t.at(i, j);
    const double zy0 = valid(i, j0) ? t.at(i, j0) : t.at(i, j);
    const double zy1 = valid(i, j1) ? t.at(i, j1) : t.at(i, j);
    const double gx = (zx1 - zx0) / (std::max(i1 - i0, 1) * t.dx);
    const double gy = (zy1 - zy0) / (std::max(j1 - j0, 1) * t.dy);
    const double len = std::sqrt(gx * gx + gy * gy + 1);
    return std::array<float, 3>{static_cast<float>(-gx / len), static_cast<float>(-gy / len),
                                static_cast<float>(1 / len)};
  };
  // Per part: cell index -> vertex id, filled lazily (a quad's corners may sit in another tile).
  std::vector<std::int32_t> vertex_of(static_cast<std::size_t>(t.nx) * t.ny, -1);
  std::vector<std::int32_t> vertex_part(static_cast<std::size_t>(t.nx) * t.ny, -1);
  for (int j = 0; j + 1 < t.ny; ++j) {
    for (int i = 0; i + 1 < t.nx; ++i) {
      if (!valid(i, j) || !valid(i + 1, j) || !valid(i, j + 1) || !valid(i + 1, j + 1)) continue;
      const double cx = t.x0 + (i + 1.0) * t.dx, cy = t.y0 + (j + 1.0) * t.dy;
      const std::int32_t tile = b.tile_at(cx, cy);
      MeshPart& p = b.part(tile, EntityKind::terrain);
      const auto pid = static_cast<std::int32_t>(&p - b.parts.data());
      const std::int32_t cell = j * t.nx + i;
      std::int32_t v[4];
      const int ci[4] = {i, i + 1, i + 1, i}, cj[4] = {j, j, j + 1, j + 1};
      for (int k = 0; k < 4; ++k) {
        const std::size_t c = static_cast<std::size_t>(cj[k]) * t.nx + ci[k];
        if (vertex_part[c] != pid) {
          vertex_part[c] = pid;
          vertex_of[c] = add_vertex(p, t.x0 + (ci[k] + 0.5) * t.dx, t.y0 + (cj[k] + 0.5) * t.dy,
                                    t.at(ci[k], cj[k]), normal_at(ci[k], cj[k]),
                                    static_cast<std::int32_t>(c), b.mesh.origin);
        }
        v[k] = vertex_of[c];
      }
      add_triangle(p, v[0], v[1], v[2], cell);
      add_triangle(p, v[0], v[2], v[3], cell);
    }
  }
}

// Even-odd point-in-polygon test (crossing number).
bool inside(const Pt& p, const std::vector<Pt>& ring) {
  bool in = false;
  for (std::size_t i = 0, j = ring.size() - 1; i < ring.size(); j = i++) {
    const Pt &a = ring[i], &c = ring[j];
    if ((a[1] > p[1]) != (c[1] > p[1]) &&
        p[0] < (c[0] - a[0]) * (p[1] - a[1]) / (c[1] - a[1]) + a[0])
      in = !in;
  }
  return in;
}

// Buildings: walls per ring edge, a flat roof at ground + height, a floor below the terrain.
void build_buildings(const CityModel& city, const CityMeshOptions& opt, Builder& b,
                     std::int32_t& repaired_count) {
  const Buildings& bl = city.buildings;
  std::vector<std::vector<Pt>> rings, group;
  std::vector<std::uint8_t> outer;
  std::vector<Pt> flat;
  for (std::int32_t k = 0; k < bl.size(); ++k) {
    rings.clear();
    outer.clear();
    double lowest = std::numeric_limits<double>::infinity();
    for (std::int32_t r = bl.ring_offsets[k]; r < bl.ring_offsets[k + 1]; ++r) {
      outer.push_back(bl.ring_outer[r]);
      auto& ring = rings.emplace_back();
      for (std::int32_t q = bl.point_offsets[r]; q < bl.point_offsets[r + 1]; ++q) {
        ring.push_back({bl.x[q], bl.y[q]});
        const double g = city.terrain.sample(bl.x[q], bl.y[q]);
        if (std::isfinite(g)) lowest = std::min(lowest, g);
      }
    }
    const double ground = std::isfinite(bl.ground_m[k]) ? bl.ground_m[k] : 0.0;
    const double top = ground + bl.height_m[k];
    const double base =
        (std::isfinite(lowest) ? std::min(lowest, ground) : ground) - opt.building_sink_m;
    MeshPart& p = b.part(b.tile_at(bl.centroid_x[k], bl.centroid_y[k]), EntityKind::building);
    const auto& o = b.mesh.origin;
    // Walls: each ring edge a quad facing outwards (outer rings are CCW, holes CW, so the
    // outward normal is the edge direction turned clockwise in both cases).
    for (const auto& ring : rings) {
      for (std::size_t e = 0; e < ring.size(); ++e) {
        const Pt& a = ring[e];
        const Pt& c = ring[(e + 1) % ring.size()];
        const double ex = c[0] - a[0], ey = c[1] - a[1];
        const double len = std::hypot(ex, ey);
        if (len == 0) continue;
        const std::array<float, 3> n{static_cast<float>(ey / len), static_cast<float>(-ex / len),
                                     0.f};
        const std::int32_t v0 = add_vertex(p, a[0], a[1], base, n, k, o);
        const std::int32_t v1 = add_vertex(p, c[0], c[1], base, n, k, o);
        const std::int32_t v2 = add_vertex(p, c[0], c[1], top, n, k, o);
        const std::int32_t v3 = add_vertex(p, a[0], a[1], top, n, k, o);
        add_triangle(p, v0, v1, v2, k);
        add_triangle(p, v0, v2, v3, k);
      }
    }
    // Roof and floor: each outer ring triangulated with the holes inside it (multipolygons
    // may have several outer rings), reversed for the floor.
    for (std::size_t r = 0; r < rings.size(); ++r) {
      if (!outer[r]) continue;
      group.assign(1, rings[r]);
      for (std::size_t h = 0; h < rings.size(); ++h)
        if (!outer[h] && inside(rings[h][0], rings[r])) group.push_back(rings[h]);
      bool repaired = false;
      const std::vector<std::int32_t> tris = triangulate_polygon(group, &repaired);
      if (repaired) ++repaired_count;
      flat.clear();
      for (const auto& ring : group) flat.insert(flat.end(), ring.begin(), ring.end());
      const std::int32_t roof0 = p.vertex_count();
      for (const Pt& q : flat) add_vertex(p, q[0], q[1], top, {0.f, 0.f, 1.f}, k, o);
      for (std::size_t t = 0; t < tris.size(); t += 3)
        add_triangle(p, roof0 + tris[t], roof0 + tris[t + 1], roof0 + tris[t + 2], k);
      if (!opt.building_floors) continue;
      const std::int32_t floor0 = p.vertex_count();
      for (const Pt& q : flat) add_vertex(p, q[0], q[1], base, {0.f, 0.f, -1.f}, k, o);
      for (std::size_t t = 0; t < tris.size(); t += 3)
        add_triangle(p, floor0 + tris[t], floor0 + tris[t + 2], floor0 + tris[t + 1], k);
    }
  }
}

// Roads: a ribbon per link that follows the ground: every straight OSM segment is sampled at the
// terrain spacing and a sample is kept only where the ribbon would otherwise leave the ground
// (at its centre line or either edge) by more than road_tolerance_m at some dropped sample.
void build_roads(const CityModel& city, const CityMeshOptions& opt, Builder& b) {
  const RoadNetwork& r = city.roads;
  const double step =
      city.terrain.empty() ? 20.0 : std::max(1.0, std::min(city.terrain.dx, city.terrain.dy));
  auto ground = [&](double x, double y) {
    const double z = city.terrain.sample(x, y);
    return (std::isfinite(z) ? z : 0.0) + opt.road_lift_m;
  };
  std::vector<Pt> line;
  std::vector<std::array<double, 3>> z;  // ground at a segment's samples: left, centre, right
  for (std::int32_t l = 0; l < r.link_count(); ++l) {
    const double width = r.link_lanes[l] * opt.lane_width_m;
    // Two-way streets: each direction on its own (right-hand) side of the centreline.
    const double right = r.link_oneway[l] ? width / 2 : width,
                 left = r.link_oneway[l] ? -width / 2 : 0.0;
    line.clear();
    for (std::int32_t q = r.link_point_offsets[l]; q < r.link_point_offsets[l + 1]; ++q) {
      const Pt pt{r.point_x[q], r.point_y[q]};
      if (!line.empty()) {
        const Pt prev = line.back();
        const double len = std::hypot(pt[0] - prev[0], pt[1] - prev[1]);
        if (len == 0) continue;
        const int pieces = static_cast<int>(std::ceil(len / step));
        const double nx = (pt[1] - prev[1]) / len, ny = -(pt[0] - prev[0]) / len;
        z.resize(static_cast<std::size_t>(pieces) + 1);
        for (int s = 0; s <= pieces; ++s) {
          const double x = prev[0] + (pt[0] - prev[0]) * s / pieces,
                       y = prev[1] + (pt[1] - prev[1]) * s / pieces;
          z[s] = {ground(x + nx * left, y + ny * left), ground(x, y),
                  ground(x + nx * right, y + ny * right)};
        }
        // Greedy: from the last kept sample, reach as far as the ground allows.
        auto fits = [&](int a, int e) {
          for (int s = a + 1; s < e; ++s)
            for (int k = 0; k < 3; ++k) {
              const double lin = z[a][k] + (z[e][k] - z[a][k]) * (s - a) / (e - a);
              if (std::abs(z[s][k] - lin) > opt.road_tolerance_m) return false;
            }
          return true;
        };
        for (int a = 0; a < pieces;) {
          int e = a + 1;
          while (e < pieces && fits(a, e + 1)) ++e;
          if (e < pieces)
            line.push_back({prev[0] + (pt[0] - prev[0]) * e / pieces,
                            prev[1] + (pt[1] - prev[1]) * e / pieces});
          a = e;
        }
      }
      line.push_back(pt);
    }
    if (line.size() < 2) continue;
    const Pt mid = line[line.size() / 2];
    MeshPart& p = b.part(b.tile_at(mid[0], mid[1]), EntityKind::road);
    std::int32_t prev_l = -1, prev_r = -1;
    for (std::size_t q = 0; q < line.size(); ++q) {
      // Vertex normal of the polyline: the mean of the adjacent segments' directions.
      const Pt& a = line[q == 0 ? 0 : q - 1];
      const Pt& c = line[q + 1 == line.size() ? q : q + 1];
      const double dx = c[0] - a[0], dy = c[1] - a[1];
      const double len = std::hypot(dx, dy);
      const double nx = dy / len, ny = -dx / len;  // right-hand side
      // Each edge of the ribbon sits on the terrain below it (across-slope too).
      const double xl = line[q][0] + nx * left, yl = line[q][1] + ny * left;
      const double xr = line[q][0] + nx * right, yr = line[q][1] + ny * right;
      const std::int32_t vl =
          add_vertex(p, xl, yl, ground(xl, yl), {0.f, 0.f, 1.f}, l, b.mesh.origin);
      const std::int32_t vr =
          add_vertex(p, xr, yr, ground(xr, yr), {0.f, 0.f, 1.f}, l, b.mesh.origin);
      if (prev_l >= 0) {
        add_triangle(p, prev_r, vr, vl, l);
        add_triangle(p, prev_r, vl, prev_l, l);
      }
      prev_l = vl;
      prev_r = vr;
    }
  }
}

}  // namespace

const char* to_string(EntityKind kind) {
  switch (kind) {
    case EntityKind::terrain:
      return "terrain";
    case EntityKind::building:
      return "building";
    case EntityKind::road:
      return "road";
  }
  return "?";
}

std::int64_t CityMesh::triangle_count() const {
  std::int64_t n = 0;
  for (const MeshPart& p : parts) n += p.triangle_count();
  return n;
}

CityMesh build_city_mesh(const CityModel& city, const CityMeshOptions& options) {
  CityMesh mesh;
  const auto& e = city.extent;
  mesh.origin = {0.5 * (e[0] + e[2]), 0.5 * (e[1] + e[3])};
  const double w = std::max(e[2] - e[0], 1.0), h = std::max(e[3] - e[1], 1.0);
  mesh.tiles_x = std::max(1, static_cast<std::int32_t>(std::ceil(w / options.tile_size_m)));
  mesh.tiles_y = std::max(1, static_cast<std::int32_t>(std::ceil(h / options.tile_size_m)));
  mesh.terrain_nx = city.terrain.nx;
  Builder b{
      mesh, options.tile_size_m,
      std::vector<std::int32_t>(static_cast<std::size_t>(mesh.tiles_x) * mesh.tiles_y * 3, -1),
      mesh.parts};
  build_terrain(city.terrain, b);
  build_buildings(city, options, b, mesh.footprints_repaired);
  build_roads(city, options, b);
  return mesh;
}

}  // namespace citytwin
