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
// Per stage one pass over the active tiles (stage_tile): a sweep over the tile's rows computes
// each cell's primitives and limited slopes once per direction, the face fluxes and the cell
// update, with all intermediate rows in a small per-tile scratch. Faces hold the mass flux, the
// normal momentum flux minus the left and right hydrostatic pressures (G_L, G_R; G_R also
// carries the right cell's g h slope(eta) term), and the tangential momentum flux.
#include <cmath>

#include "flood/kernels.hpp"

namespace citytwin::flood::detail {

namespace {

/// Half the monotonised-central limited slope (van Leer 1977) of the one-sided differences a,
/// b: min(|a|, |b|, |a + b| / 4) with their sign, 0 at extrema. Half the slope is what the face
/// reconstruction adds, so the factor 1/2 is applied once per cell, not once per face side.
[[gnu::always_inline]] inline real mc_half_slope(real a, real b) {
  const real m = std::min(std::min(std::abs(a), std::abs(b)), real(0.25) * std::abs(a + b));
  return a * b > real(0) ? std::copysign(m, a) : real(0);
}

struct FaceFlux {
  real fh, gl, gr, ft;
};

/// HLLC flux between the hydrostatically reconstructed states (hL, uL normal, vL tangential)
/// and (hR, uR, vR). Returns mass, normal momentum minus pL (gl) and minus pR (gr), and the
/// tangential momentum flux. Branch-free so the face loops vectorise.
[[gnu::always_inline]] inline FaceFlux hllc(real hL, real uL, real vL, real hR, real uR, real vR) {
  const real g = static_cast<real>(k_g);
  const real cL = std::sqrt(g * hL), cR = std::sqrt(g * hR);
  const real us = real(0.5) * (uL + uR) + cL - cR;
  const real cs = real(0.5) * (cL + cR) + real(0.25) * (uL - uR);
  const real SL = hL > real(0) ? std::min(uL - cL, us - cs) : uR - real(2) * cR;
  const real SR = hR > real(0) ? std::max(uR + cR, us + cs) : uL + real(2) * cL;
  const real qL = hL * uL, qR = hR * uR;
  const real mL = qL * uL, mR = qR * uR;
  // Only the pressure difference pL - pR = g/2 (hL^2 - hR^2) enters (exactly 0 for hL = hR).
  const real dp = real(0.5) * g * (hL - hR) * (hL + hR);
  const real den = SR - SL;
  const real rden = real(1) / std::max(den, real(1e-12));
  const real inv = den > real(1e-12) ? rden : real(0);
  const real mix = SR * mL - SL * mR + SL * SR * (qR - qL);
  real fh = (SR * qL - SL * qR + SL * SR * (hR - hL)) * inv;
  real gl = (mix + SL * dp) * inv;
  real gr = (mix + SR * dp) * inv;
  const bool left = SL >= real(0), right = SR <= real(0);
  fh = left ? qL : (right ? qR : fh);
  gl = left ? mL : (right ? mR - dp : gl);
  gr = left ? mL + dp : (right ? mR : gr);
  // Contact speed S* = (SL A - SR B) / (A - B), A = hR (uR - SR), B = hL (uL - SL) (eq. 10.26).
  const real A = hR * (uR - SR), B = hL * (uL - SL);
  const real dsn = A - B, snum = SL * A - SR * B;
  // Only the sign of S* = snum / dsn matters (it picks the upwind tangential velocity), and
  // S* = 0 when dsn = 0: S* >= 0 <=> snum dsn >= 0, without the division.
  return {fh, gl, gr, fh * (snum * dsn >= real(0) ? vL : vR)};
}

inline constexpr real k_wall_half = k_wall_z / 2;

// MUSCL reconstruction once per cell and direction: per row, the velocities and level of every
// cell, then its limited slopes, then the faces from the slopes of their two cells (each slope
// is computed once, not once per face side). Row buffers live in FloodState::recon, one set per
// tile; all loops are branch-free and vectorise.

/// u = hu / h, v = hv / h (zero when dry) and eta = h + z of cells [0, n) of a row.
[[gnu::noinline]] void prim_row(const real* __restrict h, const real* __restrict hu,
                                const real* __restrict hv, const real* __restrict z, real hd, int n,
                                real* __restrict u, real* __restrict v, real* __restrict e) {
  for (int k = 0; k < n; ++k) {
    const real hc = h[k];
    // Divide unconditionally by a safe value, then select: no branch.
    const real r = real(1) / std::max(hc, hd);
    const real inv = hc > hd ? r : real(0);
    u[k] = hu[k] * inv;
    v[k] = hv[k] * inv;
    e[k] = hc + z[k];
  }
}

/// Cell values of one row as seen by the slope and face loops (k indexes all arrays alike).
struct RowView {
  const real *h, *z, *e, *u, *v;
  RowView shifted(std::ptrdiff_t d) const { return {h + d, z + d, e + d, u + d, v + d}; }
};

/// Half limited slopes (van Leer MUSCL with the MC limiter) of h, eta, u, v of cells [k0, k1) of
/// row b between the neighbours in rows a and c. Dry cells are first order (their level is
/// their bed, and extrapolating the wet neighbour's level would raise a bump at the front);
/// differences towards walls (ghost or nodata cells) are zero (a wall's bed is not a level).
/// In a row (`along`), a and c are b shifted by -1 and +1: one pointer per quantity, so the
/// loop keeps its pointers in registers.
template <bool along>
[[gnu::noinline]] void slope_row(const RowView a, const RowView b, const RowView c, real hd, int k0,
                                 int k1, real* __restrict sh, real* __restrict se,
                                 real* __restrict su, real* __restrict sv) {
  const RowView ra = along ? b.shifted(-1) : a, rc = along ? b.shifted(1) : c;
  const real* __restrict ah = ra.h, * __restrict az = ra.z, * __restrict ae = ra.e;
  const real* __restrict au = ra.u, * __restrict av = ra.v;
  const real* __restrict bh = b.h, * __restrict be = b.e, * __restrict bu = b.u;
  const real* __restrict bv = b.v;
  const real* __restrict ch = rc.h, * __restrict cz = rc.z, * __restrict ce = rc.e;
  const real* __restrict cu = rc.u, * __restrict cv = rc.v;
  for (int k = k0; k < k1; ++k) {
    const bool wa = az[k] >= k_wall_half, wc = cz[k] >= k_wall_half, dry = !(bh[k] > hd);
    auto lim = [&](real qa, real qb, real qc) {
      const real da = wa ? real(0) : qb - qa;
      const real db = wc ? real(0) : qc - qb;
      return dry ? real(0) : mc_half_slope(da, db);
    };
    sh[k] = lim(ah[k], bh[k], ch[k]);
    se[k] = lim(ae[k], be[k], ce[k]);
    su[k] = lim(au[k], bu[k], cu[k]);
    sv[k] = lim(av[k], bv[k], cv[k]);
  }
}

/// Face values of one row: cell values (h, eta, normal and tangential velocity) and their
/// half slopes along the face normal.
struct FaceSide {
  const real *h, *e, *un, *ut, *sh, *se, *sun, *sut;
};

/// Faces [k0, k1) between side L and side R: MUSCL face states, hydrostatic reconstruction
/// (Audusse et al. 2004) and HLLC (Toro 2001); outputs mass flux, normal momentum minus pL
/// (gl), normal momentum minus pR minus the bed-and-pressure term g h_R slope(eta)_R of cell R
/// (gr; the face is R's only face on its side, so the term is added once per cell; g2 = 2 g
/// because the slopes are halved), and tangential momentum flux. In a row (`along`), L is R
/// shifted by -1.
template <bool along>
[[gnu::noinline]] void face_row(const FaceSide L0, const FaceSide R, int k0, int k1, real g2,
                                real* __restrict fh, real* __restrict gl, real* __restrict gr,
                                real* __restrict ft) {
  const FaceSide L = along ? FaceSide{R.h - 1,  R.e - 1,  R.un - 1,  R.ut - 1,
                                      R.sh - 1, R.se - 1, R.sun - 1, R.sut - 1}
                           : L0;
  const real* __restrict lh = L.h, * __restrict le = L.e, * __restrict lu = L.un;
  const real* __restrict lv = L.ut, * __restrict lsh = L.sh, * __restrict lse = L.se;
  const real* __restrict lsu = L.sun, * __restrict lsv = L.sut;
  const real* __restrict rh = R.h, * __restrict re = R.e, * __restrict ru = R.un;
  const real* __restrict rv = R.ut, * __restrict rsh = R.sh, * __restrict rse = R.se;
  const real* __restrict rsu = R.sun, * __restrict rsv = R.sut;
  for (int k = k0; k < k1; ++k) {
    // Left state: cell L extended to its right face; right state: cell R to its left face.
    const real hl = lh[k] + lsh[k], el = le[k] + lse[k];
    const real ul = lu[k] + lsu[k], vl = lv[k] + lsv[k];
    const real hr = rh[k] - rsh[k], er = re[k] - rse[k];
    const real ur = ru[k] - rsu[k], vr = rv[k] - rsv[k];
    // Hydrostatic reconstruction (Audusse et al. 2004, eqs. 2.6-2.9).
    const real zs = std::max(el - hl, er - hr);
    const real hls = std::max(real(0), el - zs), hrs = std::max(real(0), er - zs);
    const FaceFlux f = hllc(hls, ul, vl, hrs, ur, vr);
    fh[k] = f.fh, gl[k] = f.gl, gr[k] = f.gr - g2 * rh[k] * rse[k], ft[k] = f.ft;
  }
}

struct StageArrays {
  const real *h, *hu, *hv;  // stage input (fluxes are computed from it)
  real *oh, *ohu, *ohv;     // output; holds U^n on entry to the second stage
  bool second;              // second stage: average with U^n (Heun)
};

struct RowCoef {
  real k, h_dry, dt, wn, wo;
};

/// The four face arrays of a face row: mass, G_L, G_R, tangential momentum.
struct FaceRow {
  real *fh, *gl, *gr, *ft;
};

// Cells [k0, k1) of one row: U_out = wn U_out + wo (U_in + dt L(U_in)), friction applied to
// the stage result. Cell k has x faces k (west) and k + 1 (east) in `x`, y faces k in `s`
// (south) and `n` (north). Restrict: U_out is only read at the cell it writes.
[[gnu::noinline]] void update_row(const real* __restrict h, const real* __restrict hu,
                                  const real* __restrict hv, const real* __restrict gn2,
                                  const FaceRow x, const FaceRow s, const FaceRow n,
                                  real* __restrict oh, real* __restrict ohu, real* __restrict ohv,
                                  int k0, int k1, const RowCoef rc) {
  // Locals, so stores to the outputs cannot alias the coefficients.
  const real k = rc.k, hd = rc.h_dry, dt = rc.dt, wn = rc.wn, wo = rc.wo;
  const real* __restrict xh = x.fh, * __restrict xl = x.gl, * __restrict xr = x.gr;
  const real* __restrict xt = x.ft, * __restrict sh = s.fh, * __restrict sr = s.gr;
  const real* __restrict st = s.ft, * __restrict nh = n.fh, * __restrict nl = n.gl;
  const real* __restrict nt = n.ft;
  // No cell reads another cell's output: no loop-carried dependence.
#pragma GCC ivdep
  for (int c = k0; c < k1; ++c) {
    const real hc = h[c];
    // G_R of the west and south faces include the cell's g h slope(eta) term.
    real hn = hc - k * ((xh[c + 1] - xh[c]) + (nh[c] - sh[c]));
    real qu = hu[c] - k * ((xl[c + 1] - xr[c]) + (nt[c] - st[c]));
    real qv = hv[c] - k * ((xt[c + 1] - xt[c]) + (nl[c] - sr[c]));
    // Semi-implicit Manning friction on the stage result.
    const real hs = std::max(hn, hd);
    const real qm = std::sqrt(qu * qu + qv * qv);
    // 1 / (1 + a / h^(7/3)) = h^2 / (h^2 + a h^(-1/3)): one division.
    const real h2 = hs * hs;
    const real fr = h2 / (h2 + dt * gn2[c] * qm * rcbrt_ieee(hs));
    qu *= fr;
    qv *= fr;
    // wn = 0 in the first stage: the old contents of U_out (finite) contribute nothing.
    hn = wn * oh[c] + wo * hn;
    qu = wn * ohu[c] + wo * qu;
    qv = wn * ohv[c] + wo * qv;
    const bool wet = hn > hd;
    oh[c] = hn;
    ohu[c] = wet ? qu : real(0);
    ohv[c] = wet ? qv : real(0);
  }
}

// One stage on one tile, fluxes and cell update fused in a single sweep over rows
// r = j0 - 2 .. j1 + 1, all intermediate rows in the tile's scratch (FloodState::recon, L1/L2
// sized): the velocities and levels of row r go into a ring of 4 rows; the y slopes of row
// r - 1 (from rows r - 2 .. r) into a ring of 2, giving with those of row r - 2 the y faces
// between rows r - 2 and r - 1 (a ring of 2 face rows); then the x slopes and x faces of row
// r - 2, and its cell update from its x faces and its south and north face rows. The tile
// computes all faces around its cells, so faces on tile edges are computed by both tiles,
// by the same function of the same stage input: the result does not depend on which tile
// or thread runs first. Mass fluxes through the domain's sides go to fx[0] / fy[0] for the
// outflow balance. Writes the tile's partials (when `last`: stored, wet, speed).
void stage_tile(const FloodModel& m, FloodState& s, const StageArrays& a, real dt, bool last,
                std::int32_t t) {
  const Grid& g = m.grid;
  const auto b = tile_box(g, t);
  const real hd = static_cast<real>(m.params.h_dry), grav = static_cast<real>(k_g);
  const real *h = a.h, *hu = a.hu, *hv = a.hv, *z = bed_of(m, s).data();
  const std::size_t w = static_cast<std::size_t>(g.tile + 4);
  real* scratch = s.recon.data() + static_cast<std::size_t>(t) * recon_per_tile(g);
  auto buf = [&](int k) { return scratch + static_cast<std::size_t>(k) * w; };
  // Buffer index k <-> column i0 - 2 + k: primitives for k in [0, np), x slopes [1, np - 1),
  // x faces [2, np - 1) (the tile's west to east faces), cells, y slopes and y faces
  // [2, ky1).
  const int np = b.i1 - b.i0 + 4, ky1 = 2 + b.i1 - b.i0;
  auto view = [&](int r) {  // row r (its primitives must be in the ring)
    const std::size_t row = g.idx(b.i0 - 2, r);
    const int p = r & 3;
    return RowView{h + row, z + row, buf(8 + p), buf(p), buf(4 + p)};
  };
  real *sxh = buf(12), *sxe = buf(13), *sxu = buf(14), *sxv = buf(15);
  auto ys = [&](int r, int q) { return buf(16 + 4 * (r & 1) + q); };  // y slope q of row r
  const FaceRow fx{buf(24), buf(25), buf(26), buf(27)};
  auto fy = [&](int f) {  // y faces between rows f - 1 and f
    const int o = 28 + 4 * (f & 1);
    return FaceRow{buf(o), buf(o + 1), buf(o + 2), buf(o + 3)};
  };
  const RowCoef rc{dt / static_cast<real>(g.dx), hd, dt, a.second ? real(0.5) : real(0),
                   a.second ? real(0.5) : real(1)};
  double stored = 0, clamped = 0;
  real smax = 0, hmax = 0;
  for (int r = b.j0 - 2; r <= b.j1 + 1; ++r) {
    const std::size_t row = g.idx(b.i0 - 2, r);
    const RowView c = view(r);
    prim_row(h + row, hu + row, hv + row, z + row, hd, np, const_cast<real*>(c.u),
             const_cast<real*>(c.v), const_cast<real*>(c.e));
    const int q = r - 1;  // row whose y slopes are now computable
    if (q < b.j0 - 1) continue;
    const RowView yc = view(q);
    slope_row<false>(view(q - 1), yc, c, hd, 2, ky1, ys(q, 0), ys(q, 1), ys(q, 2), ys(q, 3));
    if (q < b.j0) continue;
    // y faces between rows q - 1 and q: normal velocity v, tangential u.
    const RowView yl = view(q - 1);
    const FaceSide L{yl.h,         yl.e,         yl.v,         yl.u,
                     ys(q - 1, 0), ys(q - 1, 1), ys(q - 1, 3), ys(q - 1, 2)};
    const FaceSide R{yc.h, yc.e, yc.v, yc.u, ys(q, 0), ys(q, 1), ys(q, 3), ys(q, 2)};
    const FaceRow fq = fy(q);
    face_row<false>(L, R, 2, ky1, 2 * grav, fq.fh, fq.gl, fq.gr, fq.ft);
    if (q == 0 || q == g.ny)  // domain side: mass flux for the outflow balance
      std::copy(fq.fh + 2, fq.fh + ky1, s.fy[0].data() + g.idx(b.i0, q));
    const int j = r - 2;  // row whose cells are now updated
    if (j < b.j0) continue;
    const RowView xc = view(j);
    const std::size_t jrow = g.idx(b.i0 - 2, j);
    slope_row<true>(xc, xc, xc, hd, 1, np - 1, sxh, sxe, sxu, sxv);
    // L (cell i - 1) is R shifted by -1.
    const FaceSide X{xc.h, xc.e, xc.u, xc.v, sxh, sxe, sxu, sxv};
    face_row<true>(X, X, 2, np - 1, 2 * grav, fx.fh, fx.gl, fx.gr, fx.ft);
    if (b.i0 == 0) s.fx[0][g.idx(0, j)] = fx.fh[2];
    if (b.i1 == g.nx) s.fx[0][g.idx(g.nx, j)] = fx.fh[np - 2];
    update_row(h + jrow, hu + jrow, hv + jrow, g.gn2.data() + jrow, fx, fy(j), fy(j + 1),
               a.oh + jrow, a.ohu + jrow, a.ohv + jrow, 2, ky1, rc);
    // Depths clamped at zero (counted), sums and speeds per row, in fixed lanes.
    const std::size_t row0 = g.idx(0, j);
    clamp_depths(a.oh + row0, b.i0, b.i1, stored, clamped, hmax);
    if (last)
      smax =
          std::max(smax, max_wave_speed(a.oh + row0, a.ohu + row0, a.ohv + row0, b.i0, b.i1, hd));
  }
  const std::size_t ts = static_cast<std::size_t>(t);
  if (last) {
    s.tile_stored[ts] = stored;
    s.tile_wet[ts] = stored > 0;
    s.tile_speed[ts] = smax;
  }
  s.tile_clamped[ts] = clamped;
}

// Net mass flux out through open sides, from the current face fluxes (m3/s).
double boundary_flux(const FloodModel& m, const FloodState& s) {
  const Grid& g = m.grid;
  double out = 0;
  if (m.side_open(west) || m.side_open(east))
    for (int j = 0; j < g.ny; ++j)
      out +=
          static_cast<double>(s.fx[0][g.idx(g.nx, j)]) - static_cast<double>(s.fx[0][g.idx(0, j)]);
  if (m.side_open(south) || m.side_open(north))
    for (int i = 0; i < g.nx; ++i)
      out +=
          static_cast<double>(s.fy[0][g.idx(i, g.ny)]) - static_cast<double>(s.fy[0][g.idx(i, 0)]);
  return out * g.dx;
}

double cfl_dt(const FloodModel& m, real smax) {
  const double cfl = m.params.courant();
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
        stage_tile(m, s, a, rdt, last, s.active_tiles[static_cast<std::size_t>(k)]);
    });
    s.balance.outflow += 0.5 * dt * boundary_flux(m, s);
  };
  // Stage 1: U1 = U^n + dt L(U^n).
  stage({s.h.data(), s.qx.data(), s.qy.data(), s.b0.data(), s.b1.data(), s.b2.data(), false},
        false);
  // Clamps of stage 1 are halved by the average like the rest of U1.
  double clamped1 = 0;
  for (std::int32_t t : s.active_tiles) clamped1 += s.tile_clamped[static_cast<std::size_t>(t)];
  // Stage 2: U^{n+1} = (U^n + U1 + dt L(U1)) / 2.
  stage({s.b0.data(), s.b1.data(), s.b2.data(), s.h.data(), s.qx.data(), s.qy.data(), true}, true);
  if (clamped1 > 0 && !s.active_tiles.empty())
    s.tile_clamped[static_cast<std::size_t>(s.active_tiles.front())] += 0.5 * clamped1;
  real smax = 0;
  for (std::int32_t t : s.active_tiles)
    smax = std::max(smax, static_cast<real>(s.tile_speed[static_cast<std::size_t>(t)]));
  return cfl_dt(m, smax);
}

}  // namespace citytwin::flood::detail
