// Second-order Godunov-type finite volumes for the 2-D shallow-water equations.
//
//  - Reconstruction (MUSCL, van Leer 1979): depth h, level eta = h + z and velocities u, v are
//    extended linearly to the faces with slopes limited by the monotonised-central limiter, so
//    face depths stay within the neighbouring cell depths (>= 0).
//  - Hydrostatic reconstruction (Audusse, Bouchut, Bristeau, Klein & Perthame 2004, SIAM J.
//    Sci. Comput. 25, eqs. 2.6-2.9 and section 3.2 for second order): z* = max(zL, zR),
//    hL* = max(0, etaL - z*), hR* = max(0, etaR - z*); the Riemann solver sees (h*, u) and each
//    side gets the pressure correction g/2 (h_side^2 - h*_side^2). Together with the centred
//    source -g h (z_{e-} - z_{w+}) the pressure and bed terms of a cell reduce to
//    g h_c * slope(eta), so a lake at rest (eta flat, u = 0) stays exactly at rest, also in
//    float: every term is then an exact zero, not a cancellation.
//  - HLLC fluxes (Toro 2001, Shock-capturing methods for free-surface shallow flows, ch. 10):
//    HLL for mass and normal momentum with the wave speeds of eqs. 10.22-10.23 (dry-bed speeds
//    uR - 2cR, uL + 2cL), the contact speed S* of eq. 10.26 carrying the tangential velocity.
//  - Time: Heun's two-stage SSP Runge-Kutta, dt = cfl dx / max(|u| + c) with cfl 0.45, which
//    keeps depths non-negative with this reconstruction (Audusse et al. 2004, section 3.2).
//  - Manning friction: semi-implicit after each stage, q /= 1 + dt g n^2 |q| / h^{7/3}.
//
// Per stage two passes over the active tiles: face fluxes into fx/fy (each tile owns the west
// and south faces of its cells), then the cell update. Faces store the mass flux, the normal
// momentum flux minus the left and right hydrostatic pressures (G_L, G_R), and the tangential
// momentum flux.
#include <cmath>

#include "flood/kernels.hpp"

namespace citytwin::flood::detail {

namespace {

/// Monotonised-central limited slope (van Leer 1977) of the one-sided differences a, b.
inline real mc_slope(real a, real b) {
  const real m =
      std::min(std::min(real(2) * std::abs(a), real(2) * std::abs(b)), real(0.5) * std::abs(a + b));
  return a * b > real(0) ? std::copysign(m, a) : real(0);
}

struct Prim {
  real h, eta, u, v;
  bool wall;  // ghost or nodata cell: differences towards it count as zero
  bool dry;   // h <= h_dry: reconstructed first order
};

/// Limited slope of q in cell b between neighbours a and c. Dry cells are first order (their
/// level is their bed, and extrapolating the wet neighbour's level would raise a bump at the
/// front); differences towards walls are zero (the wall's bed is not a water level).
inline real slope(const Prim& a, const Prim& b, const Prim& c, real Prim::*q) {
  const real da = a.wall ? real(0) : b.*q - a.*q;
  const real db = c.wall ? real(0) : c.*q - b.*q;
  return b.dry ? real(0) : mc_slope(da, db);
}

struct FaceFlux {
  real fh, gl, gr, ft;
};

/// HLLC flux between the hydrostatically reconstructed states (hL, uL normal, vL tangential)
/// and (hR, uR, vR). Returns mass, normal momentum minus pL (gl) and minus pR (gr), and the
/// tangential momentum flux. Branch-free so the face loops vectorise.
inline FaceFlux hllc(real hL, real uL, real vL, real hR, real uR, real vR) {
  const real g = static_cast<real>(k_g);
  const real cL = std::sqrt(g * hL), cR = std::sqrt(g * hR);
  const real us = real(0.5) * (uL + uR) + cL - cR;
  const real cs = real(0.5) * (cL + cR) + real(0.25) * (uL - uR);
  const real SL = hL > real(0) ? std::min(uL - cL, us - cs) : uR - real(2) * cR;
  const real SR = hR > real(0) ? std::max(uR + cR, us + cs) : uL + real(2) * cL;
  const real qL = hL * uL, qR = hR * uR;
  const real mL = qL * uL, mR = qR * uR;
  const real pL = real(0.5) * g * hL * hL, pR = real(0.5) * g * hR * hR;
  const real den = SR - SL;
  const real inv = den > real(1e-12) ? real(1) / den : real(0);
  const real mix = SR * mL - SL * mR + SL * SR * (qR - qL);
  real fh = (SR * qL - SL * qR + SL * SR * (hR - hL)) * inv;
  real gl = (mix - SL * (pR - pL)) * inv;
  real gr = (mix + SR * (pL - pR)) * inv;
  const bool left = SL >= real(0), right = SR <= real(0);
  fh = left ? qL : (right ? qR : fh);
  gl = left ? mL : (right ? mR + pR - pL : gl);
  gr = left ? mL + pL - pR : (right ? mR : gr);
  const real dsn = hR * (uR - SR) - hL * (uL - SL);
  const real snum = SL * hR * (uR - SR) - SR * hL * (uL - SL);
  const real sstar = dsn != real(0) ? snum / dsn : real(0);
  return {fh, gl, gr, fh * (sstar >= real(0) ? vL : vR)};
}

inline constexpr real k_wall_half = k_wall_z / 2;

struct View {
  const real *h, *qn, *qt, *z;  // depth, normal and tangential discharge, bed
  real h_dry;
  Prim at(std::size_t c) const {
    const real hc = h[c];
    const bool wet = hc > h_dry;
    const real inv = wet ? real(1) / hc : real(0);
    return {hc, hc + z[c], qn[c] * inv, qt[c] * inv, z[c] >= k_wall_half, !wet};
  }
};

/// Flux through the face between cells L and R = L + stride (stride 1: x faces, sx: y faces).
inline FaceFlux face_flux(const View& w, std::size_t L, std::size_t stride) {
  const std::size_t R = L + stride;
  const Prim a = w.at(L - stride), b = w.at(L), c = w.at(R), d = w.at(R + stride);
  // Left state: cell L extended to its right face; right state: cell R to its left face.
  const real hl = b.h + real(0.5) * slope(a, b, c, &Prim::h);
  const real el = b.eta + real(0.5) * slope(a, b, c, &Prim::eta);
  const real ul = b.u + real(0.5) * slope(a, b, c, &Prim::u);
  const real vl = b.v + real(0.5) * slope(a, b, c, &Prim::v);
  const real hr = c.h - real(0.5) * slope(b, c, d, &Prim::h);
  const real er = c.eta - real(0.5) * slope(b, c, d, &Prim::eta);
  const real ur = c.u - real(0.5) * slope(b, c, d, &Prim::u);
  const real vr = c.v - real(0.5) * slope(b, c, d, &Prim::v);
  // Hydrostatic reconstruction (Audusse et al. 2004).
  const real zs = std::max(el - hl, er - hr);
  const real hls = std::max(real(0), el - zs), hrs = std::max(real(0), er - zs);
  return hllc(hls, ul, vl, hrs, ur, vr);
}

void fluxes(const FloodModel& m, FloodState& s, const real* h, const real* hu, const real* hv,
            std::int32_t t) {
  const Grid& g = m.grid;
  const auto b = tile_box(g, t);
  const std::size_t sx = static_cast<std::size_t>(g.sx);
  const real hd = static_cast<real>(m.params.h_dry);
  const View vx{h, hu, hv, g.z.data(), hd}, vy{h, hv, hu, g.z.data(), hd};
  const int fi1 = b.i1 + (b.i1 == g.nx), fj1 = b.j1 + (b.j1 == g.ny);
  for (int j = b.j0; j < b.j1; ++j)
    for (int i = b.i0; i < fi1; ++i) {
      const std::size_t c = g.idx(i, j);
      const FaceFlux f = face_flux(vx, c - 1, 1);
      s.fx[0][c] = f.fh, s.fx[1][c] = f.gl, s.fx[2][c] = f.gr, s.fx[3][c] = f.ft;
    }
  for (int j = b.j0; j < fj1; ++j)
    for (int i = b.i0; i < b.i1; ++i) {
      const std::size_t c = g.idx(i, j);
      const FaceFlux f = face_flux(vy, c - sx, sx);
      s.fy[0][c] = f.fh, s.fy[1][c] = f.ft, s.fy[2][c] = f.gl, s.fy[3][c] = f.gr;
    }
}

struct StageArrays {
  const real *h, *hu, *hv;     // stage input (fluxes were computed from it)
  const real *h0, *hu0, *hv0;  // U^n for the second stage's average (null in the first)
  real *oh, *ohu, *ohv;        // output
};

// Cell update of one tile: U_out = U_in + dt L(U_in) (+ friction), averaged with U^n in the
// second stage; writes the tile's partials when `last`.
void update(const FloodModel& m, FloodState& s, const StageArrays& a, real dt, bool last,
            std::int32_t t) {
  const Grid& g = m.grid;
  const auto b = tile_box(g, t);
  const std::size_t sx = static_cast<std::size_t>(g.sx);
  const real k = dt / static_cast<real>(g.dx), gr = static_cast<real>(k_g);
  const real hd = static_cast<real>(m.params.h_dry);
  const real* z = g.z.data();
  const real* gn2 = g.gn2.data();
  double stored = 0, clamped = 0;
  real smax = 0;
  for (int j = b.j0; j < b.j1; ++j) {
    real row_sum = 0, row_neg = 0;
    for (int i = b.i0; i < b.i1; ++i) {
      const std::size_t c = g.idx(i, j);
      const real hc = a.h[c];
      // The level slopes of the face reconstruction (same rules, so the bed source matches).
      const View w{a.h, a.hu, a.hv, z, hd};
      const Prim pc = w.at(c);
      const real sex = slope(w.at(c - 1), pc, w.at(c + 1), &Prim::eta);
      const real sey = slope(w.at(c - sx), pc, w.at(c + sx), &Prim::eta);
      real hn = hc - k * ((s.fx[0][c + 1] - s.fx[0][c]) + (s.fy[0][c + sx] - s.fy[0][c]));
      real qu = a.hu[c] - k * ((s.fx[1][c + 1] - s.fx[2][c] + gr * hc * sex) +
                               (s.fy[1][c + sx] - s.fy[1][c]));
      real qv = a.hv[c] - k * ((s.fx[3][c + 1] - s.fx[3][c]) +
                               (s.fy[2][c + sx] - s.fy[3][c] + gr * hc * sey));
      // Semi-implicit Manning friction on the stage result.
      const real hs = std::max(hn, hd);
      const real qm = std::sqrt(qu * qu + qv * qv);
      const real fr = real(1) / (real(1) + dt * gn2[c] * qm / (hs * hs * cbrt_ieee(hs)));
      qu *= fr;
      qv *= fr;
      if (a.h0) {
        hn = real(0.5) * (a.h0[c] + hn);
        qu = real(0.5) * (a.hu0[c] + qu);
        qv = real(0.5) * (a.hv0[c] + qv);
      }
      row_neg += std::min(hn, real(0));
      hn = std::max(hn, real(0));
      const bool wet = hn > hd;
      qu = wet ? qu : real(0);
      qv = wet ? qv : real(0);
      a.oh[c] = hn, a.ohu[c] = qu, a.ohv[c] = qv;
      row_sum += hn;
      const real inv = wet ? real(1) / hn : real(0);
      smax = std::max(smax, std::max(std::abs(qu), std::abs(qv)) * inv + std::sqrt(gr * hn));
    }
    stored += static_cast<double>(row_sum);
    clamped -= static_cast<double>(row_neg);
  }
  const std::size_t ts = static_cast<std::size_t>(t);
  if (last) {
    s.tile_stored[ts] = stored;
    s.tile_wet[ts] = stored > 0;
    s.tile_speed[ts] = smax;
    s.tile_clamped[ts] = clamped;
  } else {
    s.tile_clamped[ts] = clamped;
  }
}

// Net mass flux out through open sides, from the current face fluxes (m3/s).
double boundary_flux(const FloodModel& m, const FloodState& s) {
  const Grid& g = m.grid;
  double out = 0;
  if (m.sides[west].kind != BoundaryKind::closed || m.sides[east].kind != BoundaryKind::closed)
    for (int j = 0; j < g.ny; ++j)
      out +=
          static_cast<double>(s.fx[0][g.idx(g.nx, j)]) - static_cast<double>(s.fx[0][g.idx(0, j)]);
  if (m.sides[south].kind != BoundaryKind::closed || m.sides[north].kind != BoundaryKind::closed)
    for (int i = 0; i < g.nx; ++i)
      out +=
          static_cast<double>(s.fy[0][g.idx(i, g.ny)]) - static_cast<double>(s.fy[0][g.idx(i, 0)]);
  return out * g.dx;
}

double cfl_dt(const FloodModel& m, real smax) {
  const double cfl = m.params.cfl > 0 ? m.params.cfl : 0.45;
  return smax > real(0) ? cfl * m.grid.dx / static_cast<double>(smax) : m.params.dt_max;
}

}  // namespace

double godunov_dt(const FloodModel& m, const FloodState& s) {
  const Grid& g = m.grid;
  real smax = 0;
  for (int j = 0; j < g.ny; ++j)
    for (int i = 0; i < g.nx; ++i) {
      const std::size_t c = g.idx(i, j);
      const real h = s.h[c];
      if (!(h > real(m.params.h_dry))) continue;
      const real sp = std::max(std::abs(s.qx[c]), std::abs(s.qy[c])) / h;
      smax = std::max(smax, sp + std::sqrt(static_cast<real>(k_g) * h));
    }
  return cfl_dt(m, smax);
}

double godunov_step(const FloodModel& m, FloodState& s, double dt, TaskPool& pool) {
  const std::int64_t n = static_cast<std::int64_t>(s.active_tiles.size());
  const real rdt = static_cast<real>(dt);
  auto stage = [&](const StageArrays& a, bool last) {
    fill_ghosts(m, const_cast<real*>(a.h), const_cast<real*>(a.hu), const_cast<real*>(a.hv), s.t,
                true);
    pool.for_blocks(n, k_tile_grain, [&](std::int64_t b, std::int64_t e, int) {
      for (std::int64_t k = b; k < e; ++k)
        fluxes(m, s, a.h, a.hu, a.hv, s.active_tiles[static_cast<std::size_t>(k)]);
    });
    s.balance.outflow += 0.5 * dt * boundary_flux(m, s);
    pool.for_blocks(n, k_tile_grain, [&](std::int64_t b, std::int64_t e, int) {
      for (std::int64_t k = b; k < e; ++k)
        update(m, s, a, rdt, last, s.active_tiles[static_cast<std::size_t>(k)]);
    });
  };
  // Stage 1: U1 = U^n + dt L(U^n).
  stage({s.h.data(), s.qx.data(), s.qy.data(), nullptr, nullptr, nullptr, s.b0.data(), s.b1.data(),
         s.b2.data()},
        false);
  // Clamps of stage 1 are halved by the average like the rest of U1.
  double clamped1 = 0;
  for (std::int32_t t : s.active_tiles) clamped1 += s.tile_clamped[static_cast<std::size_t>(t)];
  // Stage 2: U^{n+1} = (U^n + U1 + dt L(U1)) / 2.
  stage({s.b0.data(), s.b1.data(), s.b2.data(), s.h.data(), s.qx.data(), s.qy.data(), s.h.data(),
         s.qx.data(), s.qy.data()},
        true);
  if (clamped1 > 0 && !s.active_tiles.empty())
    s.tile_clamped[static_cast<std::size_t>(s.active_tiles.front())] += 0.5 * clamped1;
  real smax = 0;
  for (std::int32_t t : s.active_tiles)
    smax = std::max(smax, static_cast<real>(s.tile_speed[static_cast<std::size_t>(t)]));
  return cfl_dt(m, smax);
}

}  // namespace citytwin::flood::detail
