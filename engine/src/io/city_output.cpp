// /city: the imported city, written once per run file (docs/hdf5-layout.md).
#include "citytwin/city.hpp"
#include "citytwin/io.hpp"

#include <cmath>

namespace citytwin {

namespace {
template <class E>
std::vector<std::uint8_t> as_u8(const std::vector<E>& v) {
  std::vector<std::uint8_t> out(v.size());
  for (std::size_t k = 0; k < v.size(); ++k) out[k] = static_cast<std::uint8_t>(v[k]);
  return out;
}
template <class F>
std::string names_of(int n, F&& name) {
  std::string s;
  for (int k = 0; k < n; ++k) {
    if (k) s.push_back(',');
    s.append(name(k));
  }
  return s;
}
}  // namespace

void write_city(const CityModel& c, RunWriter& out) {
  out.attr("/city", "crs_name", c.crs.name);
  out.attr("/city", "crs_wkt", c.crs.wkt);
  out.write<double>("/city/extent", std::vector<double>(c.extent.begin(), c.extent.end()),
                    {"m", "[xmin, ymin, xmax, ymax] of the city in the model CRS"});

  if (!c.terrain.empty()) {
    const Terrain& t = c.terrain;
    const std::size_t dims[2] = {static_cast<std::size_t>(t.ny), static_cast<std::size_t>(t.nx)};
    out.write<float>("/city/terrain/z", t.z, dims,
                     {"m", "ground elevation, row 0 south; NaN where no data"});
    out.attr("/city/terrain", "x0", t.x0);
    out.attr("/city/terrain", "y0", t.y0);
    out.attr("/city/terrain", "dx", t.dx);
    out.attr("/city/terrain", "dy", t.dy);
  }

  const Buildings& b = c.buildings;
  const std::string bp = "/city/buildings/";
  out.write(bp + "osm_id", b.osm_id, {"", "OSM way id (relation id where from_relation = 1)"});
  out.write(bp + "from_relation", b.from_relation, {"1", "1 for multipolygon relations"});
  out.write(bp + "height_m", b.height_m, {"m", "height above ground"});
  out.write(bp + "ground_m", b.ground_m, {"m", "terrain elevation at the centroid"});
  out.write(bp + "levels", b.levels, {"1", "number of levels"});
  out.write(bp + "footprint_m2", b.footprint_m2, {"m2", "footprint area (outer minus holes)"});
  out.write(bp + "floor_area_m2", b.floor_area_m2, {"m2", "footprint times levels"});
  out.write(bp + "centroid_x", b.centroid_x, {"m", "footprint centroid, model CRS"});
  out.write(bp + "centroid_y", b.centroid_y, {"m", "footprint centroid, model CRS"});
  out.write(bp + "use", as_u8(b.use), {"", "use class index into the attribute use_names"});
  out.attr(bp + "use", "use_names",
           names_of(10, [](int k) { return to_string(static_cast<BuildingUse>(k)); }));
  out.write(bp + "height_source", as_u8(b.height_source),
            {"", "0 height tag, 1 building:levels, 2 default"});
  out.write(bp + "ring_offsets", b.ring_offsets, {"", "(n+1) CSR: rings of building i"});
  out.write(bp + "point_offsets", b.point_offsets, {"", "(n_rings+1) CSR: points of ring r"});
  out.write(bp + "ring_outer", b.ring_outer,
            {"1", "1 outer ring (counter-clockwise), 0 hole (clockwise)"});
  out.write(bp + "x", b.x, {"m", "footprint vertices, model CRS"});
  out.write(bp + "y", b.y, {"m", "footprint vertices, model CRS"});

  const RoadNetwork& r = c.roads;
  const std::string rp = "/city/roads/";
  out.write(rp + "node_osm_id", r.node_osm_id, {"", "OSM node id"});
  out.write(rp + "node_x", r.node_x, {"m", "junction position"});
  out.write(rp + "node_y", r.node_y, {"m", "junction position"});
  out.write(rp + "node_z", r.node_z, {"m", "ground elevation"});
  out.write(rp + "node_signal", r.node_signal, {"1", "1 at traffic signals"});
  out.write(rp + "link_from", r.link_from, {"", "start node index"});
  out.write(rp + "link_to", r.link_to, {"", "end node index"});
  out.write(rp + "link_osm_way", r.link_osm_way, {"", "OSM way id"});
  out.write(rp + "link_class", as_u8(r.link_class),
            {"", "road class index into the attribute class_names"});
  out.attr(rp + "link_class", "class_names",
           names_of(14, [](int k) { return to_string(static_cast<RoadClass>(k)); }));
  out.write(rp + "link_lanes", r.link_lanes, {"1", "lanes in this direction"});
  out.write(rp + "link_speed_mps", r.link_speed_mps, {"m/s", "speed limit"});
  out.write(rp + "link_length_m", r.link_length_m, {"m", "length along the geometry"});
  out.write(rp + "link_oneway", r.link_oneway, {"1", "1 when the street is one-way"});
  out.write_strings(rp + "link_name", r.link_name, {"", "street name"});
  out.write(rp + "link_point_offsets", r.link_point_offsets,
            {"", "(n_links+1) CSR: vertices of link i"});
  out.write(rp + "point_x", r.point_x, {"m", "link vertices, model CRS"});
  out.write(rp + "point_y", r.point_y, {"m", "link vertices, model CRS"});
  out.write(rp + "point_z", r.point_z, {"m", "ground elevation at link vertices"});

  const PowerFeatures& p = c.power;
  const std::string pp = "/city/power/";
  out.write(pp + "substation_osm_id", p.substation_osm_id, {"", "OSM id of power=substation"});
  out.write(pp + "substation_x", p.substation_x, {"m", "substation centroid"});
  out.write(pp + "substation_y", p.substation_y, {"m", "substation centroid"});
  out.write(pp + "substation_voltage_v", p.substation_voltage_v,
            {"V", "highest tagged voltage (NaN: untagged)"});
  out.write(pp + "line_osm_id", p.line_osm_id, {"", "OSM way id of power=line/minor_line/cable"});
  out.write(pp + "line_voltage_v", p.line_voltage_v,
            {"V", "highest tagged voltage (NaN: untagged)"});
  out.write(pp + "line_underground", p.line_underground, {"1", "1 for power=cable"});
  out.write(pp + "line_point_offsets", p.line_point_offsets, {"", "(n_lines+1) CSR"});
  out.write(pp + "point_x", p.point_x, {"m", "line vertices"});
  out.write(pp + "point_y", p.point_y, {"m", "line vertices"});

  const WaterFeatures& w = c.water;
  const std::string wp = "/city/water/";
  out.write(wp + "osm_id", w.osm_id, {"", "OSM way id"});
  out.write(wp + "kind", as_u8(w.kind),
            {"", "0 coastline, 1 river, 2 stream, 3 canal, 4 drain, 5 other"});
  out.write(wp + "point_offsets", w.point_offsets, {"", "(n+1) CSR"});
  out.write(wp + "point_x", w.point_x, {"m", "polyline vertices"});
  out.write(wp + "point_y", w.point_y, {"m", "polyline vertices"});

  const Facilities& f = c.facilities;
  const std::string fp = "/city/facilities/";
  out.write(fp + "osm_id", f.osm_id, {"", "OSM id (of the type in osm_type)"});
  out.write(fp + "osm_type", f.osm_type, {"", "0 node, 1 way, 2 relation"});
  out.write(fp + "kind", as_u8(f.kind), {"", "facility kind index into the attribute kind_names"});
  out.attr(fp + "kind", "kind_names",
           names_of(4, [](int k) { return to_string(static_cast<FacilityKind>(k)); }));
  out.write_strings(fp + "name", f.name, {"", "name tag"});
  out.write(fp + "x", f.x, {"m", "position, model CRS"});
  out.write(fp + "y", f.y, {"m", "position, model CRS"});
  out.write(fp + "building", f.building,
            {"", "building holding the facility (or the nearest within 30 m); -1 none"});
}

}  // namespace citytwin
