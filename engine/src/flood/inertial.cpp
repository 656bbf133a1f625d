// Local inertial solver: Bates, Horritt & Fewtrell (2010), J. Hydrol. 387, "A simple inertial
// formulation of the shallow water equations for efficient two-dimensional flood inundation
// modelling", with the theta-weighted discharge of de Almeida, Bates, Freer & Souvignet (2012),
// Water Resour. Res. 48, W05528, eq. (13):
//
//   q_{i+1/2}^{n+1} = [ theta q_{i+1/2}^n + (1 - theta)/2 (q_{i-1/2}^n + q_{i+3/2}^n)
//                       - g h_f dt (eta_{i+1} - eta_i) / dx ]
//                     / [ 1 + g dt n^2 |q_{i+1/2}^n| / h_f^{7/3} ]
//
// with the flow depth h_f = max(eta_i, eta_{i+1}) - max(z_i, z_{i+1}) and friction treated
// semi-implicitly (the denominator). The formulation holds for subcritical flow; on steep
// streets it oscillates, so the face discharge is limited to a Froude number,
// |q| <= Fr_max h_f sqrt(g h_f) (the Froude limiter of CAESAR-Lisflood, Coulthard et al. 2013,
// Earth Surf. Process. Landforms 38), Fr_max = flood.froude_limit. Mass: h_i += dt/dx (q_{i-1/2} -
// q_{i+1/2} + ...). The time step is dt = cfl dx / sqrt(g h_max) (Bates et al. 2010, eq. 12).
//
// Two passes over the active tiles: face discharges into the second buffers (b0, b1; old
// values are read by the theta weighting) and, per tile while they are in cache, the outflow
// limiter's donor factors (b2); then continuity with the limited discharges, which become
// qx, qy. Each tile owns the west and south
// faces of its cells (and the domain's east/north faces on the last tiles), so no two tiles
// write the same face.
#include <algorithm>
#include <cmath>
#include <utility>

#include "flood/kernels.hpp"

namespace citytwin::flood::detail {

namespace {

struct FaceCoef {
  real theta, half_rest, g_dt_dx, dt, h_flow;
  real fr_sqrt_g;  // Froude limit times sqrt(g): |q| <= Fr_max h sqrt(g h)
};

// Friction: Manning's slope n^2 |u| u / h^(4/3) takes the speed, the magnitude of the whole
// discharge vector at the face, |q| = sqrt(q0^2 + qt^2), with qt the mean of the four transverse
// face discharges around it (the usual staggered-grid interpolation). Taking |q0| alone, as the
// split form of Bates et al. (2010) does, under-estimates friction by cos(45 deg) for diagonal
// flow: a front from a point source reached points on the diagonals 15 % sooner than points on
// the axes at the same distance (docs/flood.md).

// x faces of rows [j0, j1), faces [f0, f1): face f lies between cells f-1 and f. q: the x
// discharges, qt: the y discharges (both of the last step).
void faces_x(const Grid& g, const real* __restrict z, const real* __restrict h,
             const real* __restrict q, const real* __restrict qt, real* __restrict qn,
             const FaceCoef& k, int f0, int f1, int j0, int j1) {
  const real* __restrict gn2 = g.gn2.data();
  const std::size_t sx = static_cast<std::size_t>(g.sx);
  for (int j = j0; j < j1; ++j) {
    const std::size_t row = g.idx(0, j);
    for (int f = f0; f < f1; ++f) {
      const std::size_t R = row + static_cast<std::size_t>(f), L = R - 1;
      const real eL = h[L] + z[L], eR = h[R] + z[R];
      const real hf = std::max(eL, eR) - std::max(z[L], z[R]);
      const real q0 = q[R];
      const real num = k.theta * q0 + k.half_rest * (q[L] + q[R + 1]) - k.g_dt_dx * hf * (eR - eL);
      const real hs = std::max(hf, k.h_flow);
      const real t = real(0.25) * ((qt[L] + qt[L + sx]) + (qt[R] + qt[R + sx]));
      const real den = real(1) + k.dt * real(0.5) * (gn2[L] + gn2[R]) * std::sqrt(q0 * q0 + t * t) /
                                     (hs * hs * cbrt_ieee(hs));
      // Computed unconditionally and selected, so the loop has no branch and vectorises.
      const real lim = k.fr_sqrt_g * hs * std::sqrt(hs);
      qn[R] = hf > k.h_flow ? std::min(std::max(num / den, -lim), lim) : real(0);
    }
  }
}

// y faces of rows [j0, j1) (face j between rows j-1 and j), cells [i0, i1). q: the y
// discharges, qt: the x discharges (both of the last step).
void faces_y(const Grid& g, const real* __restrict z, const real* __restrict h,
             const real* __restrict q, const real* __restrict qt, real* __restrict qn,
             const FaceCoef& k, int i0, int i1, int j0, int j1) {
  const real* __restrict gn2 = g.gn2.data();
  const std::size_t sx = static_cast<std::size_t>(g.sx);
  for (int j = j0; j < j1; ++j) {
    const std::size_t row = g.idx(0, j);
    for (int i = i0; i < i1; ++i) {
      const std::size_t R = row + static_cast<std::size_t>(i), L = R - sx;
      const real eL = h[L] + z[L], eR = h[R] + z[R];
      const real hf = std::max(eL, eR) - std::max(z[L], z[R]);
      const real q0 = q[R];
      const real num = k.theta * q0 + k.half_rest * (q[L] + q[R + sx]) - k.g_dt_dx * hf * (eR - eL);
      const real hs = std::max(hf, k.h_flow);
      const real t = real(0.25) * ((qt[L] + qt[L + 1]) + (qt[R] + qt[R + 1]));
      const real den = real(1) + k.dt * real(0.5) * (gn2[L] + gn2[R]) * std::sqrt(q0 * q0 + t * t) /
                                     (hs * hs * cbrt_ieee(hs));
      // Computed unconditionally and selected, so the loop has no branch and vectorises.
      const real lim = k.fr_sqrt_g * hs * std::sqrt(hs);
      qn[R] = hf > k.h_flow ? std::min(std::max(num / den, -lim), lim) : real(0);
    }
  }
}

// The theta weighting reads the discharge of the face beyond each boundary face; on open
// sides that face continues the boundary face (zero gradient), on closed sides it stays 0.
void extend_open_faces(const FloodModel& m, FloodState& s) {
  const Grid& g = m.grid;
  if (m.side_open(west))
    for (int j = 0; j < g.ny; ++j) s.qx[g.idx(-1, j)] = m.boundary(west, j) ? s.qx[g.idx(0, j)] : 0;
  if (m.side_open(east))
    for (int j = 0; j < g.ny; ++j)
      s.qx[g.idx(g.nx + 1, j)] = m.boundary(east, j) ? s.qx[g.idx(g.nx, j)] : 0;
  if (m.side_open(south))
    for (int i = 0; i < g.nx; ++i)
      s.qy[g.idx(i, -1)] = m.boundary(south, i) ? s.qy[g.idx(i, 0)] : 0;
  if (m.side_open(north))
    for (int i = 0; i < g.nx; ++i)
      s.qy[g.idx(i, g.ny + 1)] = m.boundary(north, i) ? s.qy[g.idx(i, g.ny)] : 0;
}

// Discharges imposed on the domain faces of a tile's boundary cells (LISFLOOD-FP's QFIX / QVAR
// on an edge): inward, per unit width, the series' mean over the step (so the volume is its
// exact integral, as for inflows). Written into the new face arrays before the tile's donor
// factors, like a computed face.
void impose_discharges(const FloodModel& m, FloodState& s, const TileBox& b, double t, double dt) {
  const Grid& g = m.grid;
  const auto impose = [&](int side, int k, real& face, real sign) {
    const Boundary* bd = m.boundary(side, k);
    if (bd && bd->kind == BoundaryKind::discharge)
      face = sign * static_cast<real>(bd->level.integral(t, t + dt) / dt);
  };
  for (int j = b.j0; j < b.j1; ++j) {
    if (b.i0 == 0 && m.side_open(west)) impose(west, j, s.b0[g.idx(0, j)], 1);
    if (b.i1 == g.nx && m.side_open(east)) impose(east, j, s.b0[g.idx(g.nx, j)], -1);
  }
  for (int i = b.i0; i < b.i1; ++i) {
    if (b.j0 == 0 && m.side_open(south)) impose(south, i, s.b1[g.idx(i, 0)], 1);
    if (b.j1 == g.ny && m.side_open(north)) impose(north, i, s.b1[g.idx(i, g.ny)], -1);
  }
}

// What the imposed discharges bring in over a step (m3): the faces' values times their width.
double imposed_inflow(const FloodModel& m, const FloodState& s, double dt) {
  const Grid& g = m.grid;
  double in = 0;
  for (int side = 0; side < 4; ++side) {
    if (!m.side_open(side)) continue;
    const bool along_y = side == west || side == east;
    const int count = along_y ? g.ny : g.nx;
    for (int k = 0; k < count; ++k) {
      const Boundary* bd = m.boundary(side, k);
      if (!bd || bd->kind != BoundaryKind::discharge) continue;
      const std::size_t face = side == west    ? g.idx(0, k)
                               : side == east  ? g.idx(g.nx, k)
                               : side == south ? g.idx(k, 0)
                                               : g.idx(k, g.ny);
      const real v = along_y ? s.qx[face] : s.qy[face];
      in += std::abs(static_cast<double>(v));
    }
  }
  return in * g.dx * dt;
}

// Outflow limiter, per donor cell: the factor by which every discharge leaving a cell is
// scaled so that together they take at most the water the cell holds over the step,
// F = min(1, h / (dt/dx * sum of outgoing face discharges)). The explicit scheme is not
// positivity preserving by itself: on steep streets with thin films it would drain cells below
// zero. Scaling by the donor's factor keeps each face one value for both of its cells (mass is
// conserved exactly) and leaves every face of a cell that holds enough water untouched.
//
// Computed by each tile right after its faces, while they are in cache: the faces on the tile's
// east and north edges belong to the neighbouring tiles, so the tile computes them too, into
// the edge buffers ex, ey (the same function of the same inputs: the same bits).
void donor_factors(const Grid& g, FloodState& s, const real* ex, const real* ey, real dt_dx,
                   const TileBox& b) {
  const std::size_t sx = static_cast<std::size_t>(g.sx);
  const bool own_east = b.i1 == g.nx, own_north = b.j1 == g.ny;
  for (int j = b.j0; j < b.j1; ++j) {
    const std::size_t row = g.idx(0, j);
    const real* __restrict h = s.h.data() + row;
    const real* __restrict qx = s.b0.data() + row;
    const real* __restrict qe = (own_east ? s.b0.data() : ex) + row;
    const real* __restrict qy = s.b1.data() + row;
    const real* __restrict qn = (own_north || j + 1 < b.j1 ? s.b1.data() : ey) + row + sx;
    real* __restrict f = s.b2.data() + row;
    const int last = b.i1 - 1;
    for (int i = b.i0; i < b.i1; ++i) {
      const real xa = qx[i + 1], xb = qe[i + 1];
      const real xe = i == last ? xb : xa;
      const real out = dt_dx * ((std::max(xe, real(0)) - std::min(qx[i], real(0))) +
                                (std::max(qn[i], real(0)) - std::min(qy[i], real(0))));
      const real r = h[i] / std::max(out, real(1e-30));
      f[i] = out > h[i] ? r : real(1);
    }
  }
}

// The depth of cell c after continuity with the limited discharges; stores the limited
// discharges of the faces c owns (west, south).
[[gnu::always_inline]] inline real continuity_cell(const real* __restrict X,
                                                   const real* __restrict Y,
                                                   const real* __restrict f, const real* h,
                                                   real* __restrict qx, real* __restrict qy,
                                                   std::size_t c, std::size_t sx, real dt_dx) {
  // Every factor loaded unconditionally, then selected: the loop vectorises.
  const real fc = f[c], fw = f[c - 1], fe = f[c + 1], fs = f[c - sx], fn = f[c + sx];
  const real xw = X[c], xe = X[c + 1], ys = Y[c], yn = Y[c + sx];
  const real w = xw * (xw > real(0) ? fw : fc);
  const real e = xe * (xe > real(0) ? fc : fe);
  const real so = ys * (ys > real(0) ? fs : fc);
  const real n = yn * (yn > real(0) ? fc : fn);
  qx[c] = w;
  qy[c] = so;
  return h[c] + dt_dx * ((w - e) + (so - n));
}

// Continuity over cells [c0, c1) of one row (padded indices), depths clamped at zero in the
// same pass: the clamped (created) water is added to `neg`, the depth sum to `sum`, and `hmax`
// raised, with partials in k_lanes fixed lanes (as clamp_depths).
[[gnu::noinline]] void continuity_row(const real* __restrict X, const real* __restrict Y,
                                      const real* __restrict f, real* __restrict h,
                                      real* __restrict qx, real* __restrict qy, std::size_t c0,
                                      std::size_t c1, std::size_t sx, real dt_dx, double& sum,
                                      double& neg, real& hmax) {
  real ls[k_lanes] = {}, ln[k_lanes] = {}, lm[k_lanes] = {};
  std::size_t c = c0;
  for (; c + k_lanes <= c1; c += k_lanes)
    for (std::size_t l = 0; l < k_lanes; ++l) {
      const real v = continuity_cell(X, Y, f, h, qx, qy, c + l, sx, dt_dx);
      ln[l] += std::min(v, real(0));
      const real cl = std::max(v, real(0));
      h[c + l] = cl;
      ls[l] += cl;
      lm[l] = std::max(lm[l], cl);
    }
  for (; c < c1; ++c) {
    const real v = continuity_cell(X, Y, f, h, qx, qy, c, sx, dt_dx);
    ln[0] += std::min(v, real(0));
    h[c] = std::max(v, real(0));
    ls[0] += h[c];
    lm[0] = std::max(lm[0], h[c]);
  }
  for (std::size_t l = 0; l < k_lanes; ++l) {
    sum += static_cast<double>(ls[l]);
    neg -= static_cast<double>(ln[l]);
    hmax = std::max(hmax, lm[l]);
  }
}

// Continuity over one tile; writes the tile's partials (stored depth sum, wet, max depth,
// clamped water).
void continuity(const Grid& g, FloodState& s, real dt_dx, std::int32_t t) {
  const auto b = tile_box(g, t);
  const std::size_t sx = static_cast<std::size_t>(g.sx);
  const real* X = s.b0.data();
  const real* Y = s.b1.data();
  const real* f = s.b2.data();
  double stored = 0, clamped = 0;
  real hmax = 0;
  for (int j = b.j0; j < b.j1; ++j) {
    continuity_row(X, Y, f, s.h.data(), s.qx.data(), s.qy.data(), g.idx(b.i0, j), g.idx(b.i1, j),
                   sx, dt_dx, stored, clamped, hmax);
    // The domain's east and north faces belong to the last tiles.
    if (b.i1 == g.nx) {
      const std::size_t c = g.idx(g.nx, j);
      s.qx[c] = X[c] * (X[c] > real(0) ? f[c - 1] : f[c]);
    }
    if (j == g.ny - 1)
      for (std::size_t c = g.idx(b.i0, j + 1); c < g.idx(b.i1, j + 1); ++c)
        s.qy[c] = Y[c] * (Y[c] > real(0) ? f[c - sx] : f[c]);
  }
  const std::size_t ts = static_cast<std::size_t>(t);
  s.tile_stored[ts] = stored;
  s.tile_clamped[ts] = clamped;
  s.tile_hmax[ts] = hmax;
  s.tile_wet[ts] = hmax > real(0);
}

// Net discharge out of the domain through open sides over this step (m3).
double boundary_outflow(const FloodModel& m, const FloodState& s, double dt) {
  const Grid& g = m.grid;
  double out = 0;
  if (m.side_open(west) || m.side_open(east))
    for (int j = 0; j < g.ny; ++j)
      out += static_cast<double>(s.qx[g.idx(g.nx, j)]) - static_cast<double>(s.qx[g.idx(0, j)]);
  if (m.side_open(south) || m.side_open(north))
    for (int i = 0; i < g.nx; ++i)
      out += static_cast<double>(s.qy[g.idx(i, g.ny)]) - static_cast<double>(s.qy[g.idx(i, 0)]);
  return out * g.dx * dt;
}

}  // namespace

double inertial_dt(const FloodModel& m, const FloodState& s) {
  real hmax = 0;
  for (std::size_t t = 0; t < s.tile_hmax.size(); ++t) hmax = std::max(hmax, s.tile_hmax[t]);
  const double cfl = m.params.courant();
  return hmax > real(m.params.h_flow) ? cfl * m.grid.dx / std::sqrt(k_g * hmax) : m.params.dt_max;
}

double inertial_step(const FloodModel& m, FloodState& s, double dt, TaskPool& pool) {
  const Grid& g = m.grid;
  const Params& p = m.params;
  fill_ghosts(m, s.h.data(), nullptr, nullptr, s.t, false);
  const FaceCoef k{static_cast<real>(p.theta),
                   static_cast<real>(0.5 * (1 - p.theta)),
                   static_cast<real>(k_g * dt / g.dx),
                   static_cast<real>(dt),
                   static_cast<real>(p.h_flow),
                   static_cast<real>(p.froude_limit > 0 ? p.froude_limit * std::sqrt(k_g) : 1e15)};
  const std::int64_t n = static_cast<std::int64_t>(s.active_tiles.size());
  const bool discharges =
      std::any_of(m.boundaries.begin(), m.boundaries.end(),
                  [](const Boundary& b) { return b.kind == BoundaryKind::discharge; });

  // Phase 1: face discharges from the old depths and discharges, then the tile's donor
  // factors (with its east and north edge faces recomputed into fx[0], fy[0]).
  const real dt_dx = static_cast<real>(dt / g.dx);
  real* ex = s.fx[0].data();
  real* ey = s.fy[0].data();
  const real* z = bed_of(m, s).data();
  pool.for_blocks(n, k_tile_grain, [&](std::int64_t b, std::int64_t e, int) {
    for (std::int64_t a = b; a < e; ++a) {
      const auto box = tile_box(g, s.active_tiles[static_cast<std::size_t>(a)]);
      faces_x(g, z, s.h.data(), s.qx.data(), s.qy.data(), s.b0.data(), k, box.i0,
              box.i1 + (box.i1 == g.nx), box.j0, box.j1);
      faces_y(g, z, s.h.data(), s.qy.data(), s.qx.data(), s.b1.data(), k, box.i0, box.i1, box.j0,
              box.j1 + (box.j1 == g.ny));
      if (box.i1 < g.nx)
        faces_x(g, z, s.h.data(), s.qx.data(), s.qy.data(), ex, k, box.i1, box.i1 + 1, box.j0,
                box.j1);
      if (box.j1 < g.ny)
        faces_y(g, z, s.h.data(), s.qy.data(), s.qx.data(), ey, k, box.i0, box.i1, box.j1,
                box.j1 + 1);
      if (discharges) impose_discharges(m, s, box, s.t, dt);
      donor_factors(g, s, ex, ey, dt_dx, box);
    }
  });

  // Phase 2: continuity with the limited discharges, stored into qx, qy.
  pool.for_blocks(n, k_tile_grain, [&](std::int64_t b, std::int64_t e, int) {
    for (std::int64_t a = b; a < e; ++a)
      continuity(g, s, dt_dx, s.active_tiles[static_cast<std::size_t>(a)]);
  });
  extend_open_faces(m, s);
  // Imposed discharges count as inflow, not as negative outflow.
  const double imposed = discharges ? imposed_inflow(m, s, dt) : 0.0;
  s.balance.inflow += imposed;
  s.balance.outflow += boundary_outflow(m, s, dt) + imposed;

  real hmax = 0;
  for (std::int32_t t : s.active_tiles)
    hmax = std::max(hmax, s.tile_hmax[static_cast<std::size_t>(t)]);
  const double cfl = p.courant();
  return hmax > real(p.h_flow) ? cfl * g.dx / std::sqrt(k_g * hmax) : p.dt_max;
}

}  // namespace citytwin::flood::detail
