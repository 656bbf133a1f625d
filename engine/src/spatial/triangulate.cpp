// Polygon triangulation by ear clipping with hole bridging.
//
// Method: D. Eberly, "Triangulation by Ear Clipping", Geometric Tools (2002, rev. 2015).
//  1. Holes are merged into the outer ring one at a time, rightmost hole first: from the hole's
//     vertex M with the largest x, a ray towards +x meets the nearest outer edge at I; the edge's
//     endpoint P with the larger x is visible from M unless a reflex vertex lies inside the
//     triangle (M, I, P), in which case the reflex vertex with the smallest angle to the ray is
//     visible instead. The ring becomes ... P, M, hole..., M, P ... (two coincident bridge edges).
//  2. Ears are cut from the merged ring: a convex vertex whose triangle contains no other
//     reflex vertex. Collinear vertices are dropped without emitting a triangle (zero area).
// OSM footprints are sometimes not simple (self-touching rings, overlapping inner rings). When
// no ear exists the most convex vertex is cut anyway and the caller is told (`repaired`), so the
// building is still drawn and counted rather than silently lost.
#include "citytwin/spatial.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace citytwin {
namespace {

using Pt = std::array<double, 2>;

double cross(const Pt& o, const Pt& a, const Pt& b) {
  return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
}

double ring_area2(const std::vector<Pt>& r) {
  double a = 0;
  for (std::size_t i = 0, j = r.size() - 1; i < r.size(); j = i++)
    a += r[j][0] * r[i][1] - r[i][0] * r[j][1];
  return a;
}

// Point strictly or on the boundary of the CCW triangle (a, b, c).
bool in_triangle(const Pt& p, const Pt& a, const Pt& b, const Pt& c) {
  return cross(a, b, p) >= 0 && cross(b, c, p) >= 0 && cross(c, a, p) >= 0;
}

bool same(const Pt& a, const Pt& b) {
  return a[0] == b[0] && a[1] == b[1];
}

// Merges one hole (vertex ids `hole`, clockwise) into the ring `ring` (ids, counter-clockwise).
void bridge_hole(std::vector<std::int32_t>& ring, const std::vector<std::int32_t>& hole,
                 const std::vector<Pt>& pts) {
  std::size_t mi = 0;
  for (std::size_t k = 1; k < hole.size(); ++k)
    if (pts[hole[k]][0] > pts[hole[mi]][0]) mi = k;
  const Pt m = pts[hole[mi]];
  // Nearest intersection of the ray M + t (1, 0), t > 0, with a ring edge.
  double best_x = std::numeric_limits<double>::infinity();
  std::size_t best_edge = ring.size();
  for (std::size_t k = 0; k < ring.size(); ++k) {
    const Pt& a = pts[ring[k]];
    const Pt& b = pts[ring[(k + 1) % ring.size()]];
    if ((a[1] > m[1]) == (b[1] > m[1]) && !(a[1] == m[1] || b[1] == m[1])) continue;
    if (a[1] == b[1]) continue;
    const double t = (m[1] - a[1]) / (b[1] - a[1]);
    if (t < 0 || t > 1) continue;
    const double x = a[0] + t * (b[0] - a[0]);
    if (x >= m[0] && x < best_x) {
      best_x = x;
      best_edge = k;
    }
  }
  std::size_t pk = 0;
  if (best_edge == ring.size()) {
    // No edge to the right (hole outside the outer ring: bad data): bridge to the nearest vertex.
    double best_d = std::numeric_limits<double>::infinity();
    for (std::size_t k = 0; k < ring.size(); ++k) {
      const double d = std::hypot(pts[ring[k]][0] - m[0], pts[ring[k]][1] - m[1]);
      if (d < best_d) best_d = d, pk = k;
    }
  } else {
    const std::size_t k1 = (best_edge + 1) % ring.size();
    pk = pts[ring[best_edge]][0] > pts[ring[k1]][0] ? best_edge : k1;
    const Pt i_pt{best_x, m[1]};
    const Pt p = pts[ring[pk]];
    // A reflex vertex inside (M, I, P) hides P: take the one closest in angle to the ray.
    double best_angle = std::numeric_limits<double>::infinity();
    const std::size_t n = ring.size();
    for (std::size_t k = 0; k < n; ++k) {
      const Pt& v = pts[ring[k]];
      if (k == pk || same(v, p)) continue;
      const Pt& prev = pts[ring[(k + n - 1) % n]];
      const Pt& next = pts[ring[(k + 1) % n]];
      if (cross(prev, v, next) > 0) continue;  // convex
      const bool inside = p[1] > m[1] ? in_triangle(v, m, i_pt, p) : in_triangle(v, m, p, i_pt);
      if (!inside) continue;
      const double angle = std::atan2(std::abs(v[1] - m[1]), v[0] - m[0]);
      if (angle < best_angle) best_angle = angle, pk = k;
    }
  }
  std::vector<std::int32_t> merged;
  merged.reserve(ring.size() + hole.size() + 2);
  merged.insert(merged.end(), ring.begin(), ring.begin() + static_cast<std::ptrdiff_t>(pk) + 1);
  for (std::size_t k = 0; k <= hole.size(); ++k) merged.push_back(hole[(mi + k) % hole.size()]);
  merged.insert(merged.end(), ring.begin() + static_cast<std::ptrdiff_t>(pk), ring.end());
  ring = std::move(merged);
}

// Cuts ears from a counter-clockwise ring of ids until it is consumed.
void clip_ears(std::vector<std::int32_t> ring, const std::vector<Pt>& pts,
               std::vector<std::int32_t>& out, bool& repaired) {
  std::size_t i = 0;
  std::size_t misses = 0;  // consecutive vertices that were not ears
  while (ring.size() > 3) {
    const std::size_t n = ring.size();
    const std::size_t ip = (i + n - 1) % n, in = (i + 1) % n;
    const Pt &a = pts[ring[ip]], &b = pts[ring[i]], &c = pts[ring[in]];
    const double turn = cross(a, b, c);
    bool ear = false;
    if (turn == 0 || same(a, b) || same(b, c)) {
      // Collinear or repeated: drop the vertex without a triangle.
      ring.erase(ring.begin() + static_cast<std::ptrdiff_t>(i));
      i %= ring.size();
      misses = 0;
      continue;
    }
    if (turn > 0) {
      ear = true;
      for (std::size_t k = 0; k < n && ear; ++k) {
        if (k == ip || k == i || k == in) continue;
        const Pt& v = pts[ring[k]];
        if (same(v, a) || same(v, b) || same(v, c)) continue;
        const Pt& vp = pts[ring[(k + n - 1) % n]];
        const Pt& vn = pts[ring[(k + 1) % n]];
        if (cross(vp, v, vn) > 0) continue;  // only reflex vertices can lie inside an ear
        if (in_triangle(v, a, b, c)) ear = false;
      }
    }
    if (!ear && misses >= n) {
      // No ear anywhere: the ring is not simple. Cut the most convex vertex.
      double best = -std::numeric_limits<double>::infinity();
      for (std::size_t k = 0; k < n; ++k) {
        const double t = cross(pts[ring[(k + n - 1) % n]], pts[ring[k]], pts[ring[(k + 1) % n]]);
        if (t > best) best = t, i = k;
      }
      repaired = true;
      ear = true;
    }
    if (ear) {
      const std::size_t jp = (i + n - 1) % n, jn = (i + 1) % n;
      if (cross(pts[ring[jp]], pts[ring[i]], pts[ring[jn]]) > 0)
        out.insert(out.end(), {ring[jp], ring[i], ring[jn]});
      ring.erase(ring.begin() + static_cast<std::ptrdiff_t>(i));
      i = (i + ring.size() - 1) % ring.size();
      misses = 0;
    } else {
      i = (i + 1) % n;
      ++misses;
    }
  }
  if (ring.size() == 3 && cross(pts[ring[0]], pts[ring[1]], pts[ring[2]]) > 0)
    out.insert(out.end(), {ring[0], ring[1], ring[2]});
}

}  // namespace

std::vector<std::int32_t> triangulate_polygon(const std::vector<std::vector<Pt>>& rings,
                                              bool* repaired) {
  std::vector<std::int32_t> out;
  bool fixed = false;
  if (rings.empty() || rings[0].size() < 3) return out;
  std::vector<Pt> pts;
  std::vector<std::vector<std::int32_t>> ids(rings.size());
  for (std::size_t r = 0; r < rings.size(); ++r) {
    const auto base = static_cast<std::int32_t>(pts.size());
    pts.insert(pts.end(), rings[r].begin(), rings[r].end());
    for (std::int32_t k = 0; k < static_cast<std::int32_t>(rings[r].size()); ++k)
      ids[r].push_back(base + k);
    // Outer counter-clockwise, holes clockwise.
    const bool ccw = ring_area2(rings[r]) > 0;
    if ((r == 0) != ccw) std::reverse(ids[r].begin(), ids[r].end());
  }
  // Holes rightmost first, so each bridge crosses only what is already merged.
  std::vector<std::size_t> holes;
  for (std::size_t r = 1; r < rings.size(); ++r)
    if (rings[r].size() >= 3) holes.push_back(r);
  auto max_x = [&](std::size_t r) {
    double x = -std::numeric_limits<double>::infinity();
    for (const Pt& p : rings[r]) x = std::max(x, p[0]);
    return x;
  };
  std::sort(holes.begin(), holes.end(),
            [&](std::size_t a, std::size_t b) { return max_x(a) > max_x(b); });
  std::vector<std::int32_t> ring = ids[0];
  for (std::size_t h : holes) bridge_hole(ring, ids[h], pts);
  clip_ears(std::move(ring), pts, out, fixed);
  if (repaired) *repaired = fixed;
  return out;
}

}  // namespace citytwin
