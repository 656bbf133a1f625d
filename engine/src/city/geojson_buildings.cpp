// Buildings a planner adds (a new development) from a GeoJSON file, read with GDAL/OGR and
// turned into the same records the OSM reader makes, so they take the same path into the city.
#include <fmt/format.h>
#include <gdal_priv.h>
#include <ogrsf_frmts.h>

#include <cstdlib>
#include <memory>

#include "city/osm_import.hpp"

namespace citytwin {

namespace {

struct DatasetCloser {
  void operator()(GDALDataset* d) const { GDALClose(d); }
};

// A number at the start of a property ("12", "12.5 m"); negative when absent or not a number.
float leading(const char* v) {
  if (!v || !*v) return -1;
  char* end = nullptr;
  const double x = std::strtod(v, &end);
  return end == v || !(x >= 0) ? -1.0f : static_cast<float>(x);
}

void add_ring(const OGRLinearRing& ring, bool outer, OsmBuilding& b) {
  std::vector<double> lon, lat;
  for (int k = 0; k < ring.getNumPoints(); ++k)
    lon.push_back(ring.getX(k)), lat.push_back(ring.getY(k));
  add_building_ring(b, std::move(lon), std::move(lat), outer);
}

void add_polygon(const OGRPolygon& p, OsmBuilding& b) {
  if (const OGRLinearRing* r = p.getExteriorRing()) add_ring(*r, true, b);
  for (int k = 0; k < p.getNumInteriorRings(); ++k) add_ring(*p.getInteriorRing(k), false, b);
}

}  // namespace

Result<void> read_geojson_buildings(const std::string& path, std::vector<OsmBuilding>& out) {
  GDALAllRegister();
  std::unique_ptr<GDALDataset, DatasetCloser> ds(GDALDataset::FromHandle(
      GDALOpenEx(path.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY, nullptr, nullptr, nullptr)));
  if (!ds || ds->GetLayerCount() < 1)
    return fail(
        Error::msg("cannot read buildings: expected a GeoJSON FeatureCollection of "
                   "Polygon or MultiPolygon features (" +
                       std::string(CPLGetLastErrorMsg()) + ")",
                   path));
  OGRLayer* layer = ds->GetLayer(0);
  if (const OGRSpatialReference* srs = layer->GetSpatialRef(); srs && !srs->IsGeographic())
    return fail(
        Error::msg("buildings must be in WGS84 longitude/latitude (RFC 7946 GeoJSON); "
                   "this file declares a projected CRS",
                   path));
  layer->ResetReading();
  std::int64_t index = 0;
  for (std::unique_ptr<OGRFeature> f(layer->GetNextFeature()); f;
       f.reset(layer->GetNextFeature())) {
    ++index;
    const OGRGeometry* g = f->GetGeometryRef();
    const OGRwkbGeometryType type = g ? wkbFlatten(g->getGeometryType()) : wkbUnknown;
    if (type != wkbPolygon && type != wkbMultiPolygon)
      return fail(Error::msg(fmt::format("feature {}: geometry {}; expected Polygon or "
                                         "MultiPolygon (a building outline)",
                                         index, g ? g->getGeometryName() : "none"),
                             path));
    auto tag = [&](const char* key) -> const char* {
      const int field = f->GetFieldIndex(key);
      return field >= 0 && f->IsFieldSetAndNotNull(field) ? f->GetFieldAsString(field) : nullptr;
    };
    OsmBuilding b;
    b.id = -index;
    b.height_m = leading(tag("height"));
    b.levels = leading(tag("building:levels"));
    if (b.levels < 0) b.levels = leading(tag("levels"));
    b.use = building_use(tag);
    if (type == wkbPolygon) {
      add_polygon(*g->toPolygon(), b);
    } else {
      for (const OGRPolygon* p : *g->toMultiPolygon()) add_polygon(*p, b);
    }
    if (b.ring_outer.empty())
      return fail(
          Error::msg(fmt::format("feature {}: an outline needs at least 3 points", index), path));
    out.push_back(std::move(b));
  }
  if (index == 0) return fail(Error::msg("the file has no features (no buildings to add)", path));
  return {};
}

}  // namespace citytwin
