// PROJ wrappers: WGS84 <-> model CRS (Projection, public) and any CRS -> model CRS
// (CrsTransform, used to resample DEMs). Axis order is always x/east, y/north
// (proj_normalize_for_visualization), whatever the CRS definitions say.
#include "city/crs_transform.hpp"

#include <proj.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "citytwin/city.hpp"

namespace citytwin {

namespace {
std::string last_error(PJ_CONTEXT* ctx) {
  const int code = proj_context_errno(ctx);
  return code ? proj_context_errno_string(ctx, code) : "unknown PROJ error";
}

// Creates a normalised transform between two CRS definitions, or an error message.
std::expected<std::pair<PJ_CONTEXT*, PJ*>, std::string> make_transform(const std::string& from,
                                                                       const std::string& to) {
  PJ_CONTEXT* ctx = proj_context_create();
  PJ* raw = proj_create_crs_to_crs(ctx, from.c_str(), to.c_str(), nullptr);
  if (!raw) {
    std::string msg = last_error(ctx);
    proj_context_destroy(ctx);
    return std::unexpected(msg);
  }
  PJ* norm = proj_normalize_for_visualization(ctx, raw);
  proj_destroy(raw);
  if (!norm) {
    std::string msg = last_error(ctx);
    proj_context_destroy(ctx);
    return std::unexpected(msg);
  }
  return std::pair{ctx, norm};
}

bool apply(PJ* pj, PJ_DIRECTION dir, double& a, double& b) {
  PJ_COORD c = proj_coord(a, b, 0, 0);
  c = proj_trans(pj, dir, c);
  if (!std::isfinite(c.xy.x) || !std::isfinite(c.xy.y) || c.xy.x == HUGE_VAL) return false;
  a = c.xy.x;
  b = c.xy.y;
  return true;
}

Crs describe(const std::string& definition) {
  Crs crs;
  crs.name = definition;
  PJ_CONTEXT* ctx = proj_context_create();
  if (PJ* pj = proj_create(ctx, definition.c_str())) {
    if (const char* wkt = proj_as_wkt(ctx, pj, PJ_WKT2_2019, nullptr)) crs.wkt = wkt;
    const char* auth = proj_get_id_auth_name(pj, 0);
    const char* code = proj_get_id_code(pj, 0);
    if (auth && code)
      crs.name = std::string(auth) + ":" + code;
    else if (const char* n = proj_get_name(pj))
      crs.name = n;
    proj_destroy(pj);
  }
  proj_context_destroy(ctx);
  return crs;
}
}  // namespace

std::string utm_crs_for(double lon, double lat) {
  int zone = static_cast<int>(std::floor((lon + 180.0) / 6.0)) + 1;
  zone = std::clamp(zone, 1, 60);
  return "EPSG:" + std::to_string((lat >= 0 ? 32600 : 32700) + zone);
}

Result<Projection> Projection::create(const std::string& model_crs) {
  auto t = make_transform("EPSG:4326", model_crs);
  if (!t)
    return fail(Error::msg("cannot create a projection to \"" + model_crs + "\": " + t.error()));
  Projection p;
  p.m_ctx = t->first;
  p.m_pj = t->second;
  p.m_crs = describe(model_crs);
  return p;
}

Projection::~Projection() {
  if (m_pj) proj_destroy(static_cast<PJ*>(m_pj));
  if (m_ctx) proj_context_destroy(static_cast<PJ_CONTEXT*>(m_ctx));
}

Projection::Projection(Projection&& o) noexcept
    : m_ctx(std::exchange(o.m_ctx, nullptr)),
      m_pj(std::exchange(o.m_pj, nullptr)),
      m_crs(std::move(o.m_crs)) {}

Projection& Projection::operator=(Projection&& o) noexcept {
  std::swap(m_ctx, o.m_ctx);
  std::swap(m_pj, o.m_pj);
  std::swap(m_crs, o.m_crs);
  return *this;
}

bool Projection::forward(double& lon_x, double& lat_y) const {
  return apply(static_cast<PJ*>(m_pj), PJ_FWD, lon_x, lat_y);
}

bool Projection::inverse(double& x_lon, double& y_lat) const {
  return apply(static_cast<PJ*>(m_pj), PJ_INV, x_lon, y_lat);
}

Result<CrsTransform> CrsTransform::create(const std::string& from, const std::string& to) {
  auto t = make_transform(from, to);
  if (!t) return fail(Error::msg("cannot transform between CRSs: " + t.error()));
  CrsTransform c;
  c.m_ctx = t->first;
  c.m_pj = t->second;
  return c;
}

CrsTransform::~CrsTransform() {
  if (m_pj) proj_destroy(static_cast<PJ*>(m_pj));
  if (m_ctx) proj_context_destroy(static_cast<PJ_CONTEXT*>(m_ctx));
}

CrsTransform::CrsTransform(CrsTransform&& o) noexcept
    : m_ctx(std::exchange(o.m_ctx, nullptr)), m_pj(std::exchange(o.m_pj, nullptr)) {}

bool CrsTransform::forward(double& x, double& y) const {
  return apply(static_cast<PJ*>(m_pj), PJ_FWD, x, y);
}
bool CrsTransform::inverse(double& x, double& y) const {
  return apply(static_cast<PJ*>(m_pj), PJ_INV, x, y);
}

Crs describe_crs(const std::string& definition) {
  return describe(definition);
}

}  // namespace citytwin

namespace citytwin {
bool same_crs(const std::string& a, const std::string& b) {
  PJ_CONTEXT* ctx = proj_context_create();
  PJ* pa = proj_create(ctx, a.c_str());
  PJ* pb = proj_create(ctx, b.c_str());
  const bool same = pa && pb && proj_is_equivalent_to(pa, pb, PJ_COMP_EQUIVALENT);
  if (pa) proj_destroy(pa);
  if (pb) proj_destroy(pb);
  proj_context_destroy(ctx);
  return same;
}
}  // namespace citytwin
