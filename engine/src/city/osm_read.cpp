// Reading OSM with libosmium: two passes (multipolygon relations first, then everything with
// node locations), decoding only the tags CityTwin uses. Output stays in WGS84; projection and
// graph building happen in osm_build.cpp.
#include <osmium/area/assembler.hpp>
#include <osmium/area/multipolygon_manager.hpp>
#include <osmium/handler.hpp>
#include <osmium/handler/node_locations_for_ways.hpp>
#include <osmium/index/map/flex_mem.hpp>
#include <osmium/io/any_input.hpp>
#include <osmium/relations/manager_util.hpp>
#include <osmium/tags/tags_filter.hpp>
#include <osmium/visitor.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>

#include "city/osm_import.hpp"

namespace citytwin {

namespace {

// Leading number of a tag value ("12", "12.5 m", "3;4" -> 3); nullopt if none.
std::optional<double> leading_number(const char* s) {
  if (!s) return std::nullopt;
  while (*s == ' ') ++s;
  double v = 0;
  auto [ptr, ec] = std::from_chars(s, s + std::strlen(s), v);
  if (ec != std::errc() || !std::isfinite(v)) return std::nullopt;
  return v;
}

struct ClassDefaults {
  const char* tag;
  RoadClass cls;
  float speed_kmh;
  int lanes;  // per direction
};
// Defaults when a way has no maxspeed / lanes tag (urban European values; docs/scenario.md).
constexpr ClassDefaults k_classes[] = {
    {"motorway", RoadClass::motorway, 110, 2},
    {"trunk", RoadClass::trunk, 90, 2},
    {"primary", RoadClass::primary, 50, 1},
    {"secondary", RoadClass::secondary, 50, 1},
    {"tertiary", RoadClass::tertiary, 50, 1},
    {"unclassified", RoadClass::unclassified, 40, 1},
    {"residential", RoadClass::residential, 30, 1},
    {"service", RoadClass::service, 20, 1},
    {"living_street", RoadClass::living_street, 10, 1},
    {"motorway_link", RoadClass::motorway_link, 60, 1},
    {"trunk_link", RoadClass::trunk_link, 50, 1},
    {"primary_link", RoadClass::primary_link, 40, 1},
    {"secondary_link", RoadClass::secondary_link, 40, 1},
    {"tertiary_link", RoadClass::tertiary_link, 30, 1},
};

const ClassDefaults* road_class_of(const char* highway) {
  if (!highway) return nullptr;
  for (const ClassDefaults& c : k_classes)
    if (std::strcmp(c.tag, highway) == 0) return &c;
  return nullptr;
}

// maxspeed: "50", "30 mph", "walk", "FR:urban", "none" -> m/s, or nullopt for the class default.
std::optional<float> parse_maxspeed(const char* v) {
  if (!v) return std::nullopt;
  if (auto n = leading_number(v)) {
    const bool mph = std::strstr(v, "mph") != nullptr;
    return static_cast<float>(*n * (mph ? 1.609344 : 1.0) / 3.6);
  }
  if (std::strcmp(v, "walk") == 0) return static_cast<float>(7.0 / 3.6);
  if (std::strstr(v, ":living_street")) return static_cast<float>(20.0 / 3.6);
  if (std::strstr(v, ":urban")) return static_cast<float>(50.0 / 3.6);
  if (std::strstr(v, ":rural")) return static_cast<float>(90.0 / 3.6);
  if (std::strstr(v, ":motorway")) return static_cast<float>(130.0 / 3.6);
  return std::nullopt;
}

bool is_one_of(const char* v, std::initializer_list<const char*> values) {
  if (!v) return false;
  for (const char* x : values)
    if (std::strcmp(v, x) == 0) return true;
  return false;
}

}  // namespace

void add_building_ring(OsmBuilding& b, std::vector<double> lon, std::vector<double> lat,
                       bool outer) {
  if (lon.size() >= 2 && lon.front() == lon.back() && lat.front() == lat.back())
    lon.pop_back(), lat.pop_back();
  if (lon.size() < 3) return;
  b.ring_lon.push_back(std::move(lon));
  b.ring_lat.push_back(std::move(lat));
  b.ring_outer.push_back(outer ? 1 : 0);
}

BuildingUse building_use(const std::function<const char*(const char*)>& tag) {
  const char* b = tag("building");
  struct Entry {
    BuildingUse use;
    std::initializer_list<const char*> values;
  };
  const Entry table[] = {
      {BuildingUse::residential,
       {"residential", "apartments", "house", "detached", "semidetached_house", "terrace",
        "dormitory", "bungalow", "villa"}},
      {BuildingUse::commercial, {"commercial", "retail", "hotel", "supermarket", "kiosk", "shop"}},
      {BuildingUse::office, {"office"}},
      {BuildingUse::industrial,
       {"industrial", "warehouse", "factory", "manufacture", "storage_tank"}},
      {BuildingUse::public_service,
       {"public", "civic", "government", "fire_station", "train_station", "transportation",
        "stadium", "sports_hall"}},
      {BuildingUse::education, {"school", "university", "college", "kindergarten"}},
      {BuildingUse::health, {"hospital", "clinic"}},
      {BuildingUse::religious,
       {"church", "cathedral", "chapel", "mosque", "synagogue", "temple", "religious"}},
      {BuildingUse::parking, {"parking", "garage", "garages", "carport"}},
  };
  for (const Entry& e : table)
    if (is_one_of(b, e.values)) return e.use;
  // building=yes and others: look at what the building is used for.
  if (tag("shop") || is_one_of(tag("tourism"), {"hotel", "hostel", "motel"}))
    return BuildingUse::commercial;
  if (tag("office")) return BuildingUse::office;
  const char* amenity = tag("amenity");
  if (is_one_of(amenity, {"school", "university", "college", "kindergarten"}))
    return BuildingUse::education;
  if (is_one_of(amenity, {"hospital", "clinic"})) return BuildingUse::health;
  if (is_one_of(amenity, {"place_of_worship"})) return BuildingUse::religious;
  if (is_one_of(amenity, {"parking"})) return BuildingUse::parking;
  if (amenity) return BuildingUse::public_service;
  return BuildingUse::other;
}

namespace {

// The critical facility an object's tags describe (the KPIs' hospitals, fire stations, police
// and schools), if any.
std::optional<FacilityKind> facility_kind(const osmium::TagList& tags) {
  const char* amenity = tags["amenity"];
  const char* building = tags["building"];
  if (is_one_of(amenity, {"hospital"}) || is_one_of(tags["healthcare"], {"hospital"}) ||
      is_one_of(building, {"hospital"}))
    return FacilityKind::hospital;
  if (is_one_of(amenity, {"fire_station"}) || is_one_of(building, {"fire_station"}))
    return FacilityKind::fire_station;
  if (is_one_of(amenity, {"police"})) return FacilityKind::police;
  if (is_one_of(amenity, {"school", "kindergarten", "college", "university"}) ||
      is_one_of(building, {"school", "kindergarten"}))
    return FacilityKind::school;
  return std::nullopt;
}

float highest_voltage(const char* v) {
  // "63000;20000" -> 63000; NaN when untagged or unreadable.
  float best = std::nanf("");
  while (v && *v) {
    if (auto n = leading_number(v))
      best = std::isnan(best) ? static_cast<float>(*n) : std::max(best, static_cast<float>(*n));
    v = std::strchr(v, ';');
    if (v) ++v;
  }
  return best;
}

class CityHandler : public osmium::handler::Handler {
 public:
  CityHandler(OsmCity& out, const OsmReadOptions& opt, ImportStats& stats)
      : m_out(out), m_opt(opt), m_stats(stats) {}

  void node(const osmium::Node& n) {
    ++m_stats.osm_nodes;
    const auto& tags = n.tags();
    if (tags.empty()) return;
    if (is_one_of(tags["highway"], {"traffic_signals"})) m_out.signal_nodes.push_back(n.id());
    if (is_one_of(tags["power"], {"substation"}) && n.location().valid() && inside(n.location()))
      m_out.substations.push_back(
          {n.id(), n.location().lon(), n.location().lat(), highest_voltage(tags["voltage"])});
    if (const auto kind = facility_kind(tags); kind && n.location().valid() && inside(n.location()))
      add_facility(n.id(), 0, *kind, tags, n.location().lon(), n.location().lat());
  }

  void way(const osmium::Way& w) {
    ++m_stats.osm_ways;
    const auto& tags = w.tags();
    if (const ClassDefaults* c = road_class_of(tags["highway"])) {
      if (!is_one_of(tags["access"], {"no", "private"}) &&
          !is_one_of(tags["motor_vehicle"], {"no", "private"}) && !is_one_of(tags["area"], {"yes"}))
        add_road(w, *c);
      return;
    }
    if (const char* b = tags["building"]; b && std::strcmp(b, "no") != 0 && !w.is_closed())
      ++m_stats.buildings_without_geometry;  // an unclosed building outline makes no area
    const char* power = tags["power"];
    if (is_one_of(power, {"line", "minor_line", "cable"})) {
      OsmLine line = polyline(w);
      line.kind = std::strcmp(power, "cable") == 0 ? 1 : 0;
      line.voltage_v = highest_voltage(tags["voltage"]);
      if (line.lon.size() >= 2) m_out.power_lines.push_back(std::move(line));
    } else if (is_one_of(power, {"substation"})) {
      double lon = 0, lat = 0;
      int n = 0;
      for (const auto& nr : w.nodes())
        if (nr.location().valid()) lon += nr.location().lon(), lat += nr.location().lat(), ++n;
      if (n > 0 && inside(osmium::Location(lon / n, lat / n)))
        m_out.substations.push_back({w.id(), lon / n, lat / n, highest_voltage(tags["voltage"])});
    }
    if (const auto kind = facility_kind(tags)) {
      double lon = 0, lat = 0;
      int n = 0;
      for (const auto& nr : w.nodes())
        if (nr.location().valid()) lon += nr.location().lon(), lat += nr.location().lat(), ++n;
      if (n > 0 && inside(osmium::Location(lon / n, lat / n)))
        add_facility(w.id(), 1, *kind, tags, lon / n, lat / n);
    }
    int water = -1;
    if (is_one_of(tags["natural"], {"coastline"}))
      water = static_cast<int>(WaterKind::coastline);
    else if (is_one_of(tags["waterway"], {"river"}))
      water = static_cast<int>(WaterKind::river);
    else if (is_one_of(tags["waterway"], {"stream"}))
      water = static_cast<int>(WaterKind::stream);
    else if (is_one_of(tags["waterway"], {"canal"}))
      water = static_cast<int>(WaterKind::canal);
    else if (is_one_of(tags["waterway"], {"drain", "ditch"}))
      water = static_cast<int>(WaterKind::drain);
    if (water >= 0) {
      OsmLine line = polyline(w);
      line.kind = water;
      if (line.lon.size() >= 2) m_out.water.push_back(std::move(line));
    }
  }

  void relation(const osmium::Relation&) { ++m_stats.osm_relations; }

  void area(const osmium::Area& a) {
    const auto& tags = a.tags();
    const char* b = tags["building"];
    // Facilities mapped as ways were taken in way(); only relations come through here.
    if (const auto kind = facility_kind(tags); kind && !a.from_way()) {
      double lon = 0, lat = 0;
      int n = 0;
      for (const auto& outer : a.outer_rings())
        for (const auto& nr : outer) lon += nr.location().lon(), lat += nr.location().lat(), ++n;
      if (n > 0 && inside(osmium::Location(lon / n, lat / n)))
        add_facility(a.orig_id(), 2, *kind, tags, lon / n, lat / n);
    }
    if (!b || std::strcmp(b, "no") == 0) return;
    OsmBuilding bld;
    bld.id = a.orig_id();
    bld.from_relation = !a.from_way();
    if (auto h = leading_number(tags["height"])) {
      const bool feet = std::strchr(tags["height"], '\'') || std::strstr(tags["height"], "ft");
      bld.height_m = static_cast<float>(*h * (feet ? 0.3048 : 1.0));
    }
    if (auto l = leading_number(tags["building:levels"])) bld.levels = static_cast<float>(*l);
    bld.use = building_use([&tags](const char* key) { return tags[key]; });
    double lon = 0, lat = 0;
    int n = 0;
    for (const auto& outer : a.outer_rings()) {
      add_ring(bld, outer, true);
      for (const auto& inner : a.inner_rings(outer)) add_ring(bld, inner, false);
      for (const auto& nr : outer) lon += nr.location().lon(), lat += nr.location().lat(), ++n;
    }
    if (n == 0 || bld.ring_outer.empty() || !inside(osmium::Location(lon / n, lat / n))) return;
    m_out.buildings.push_back(std::move(bld));
  }

 private:
  bool inside(const osmium::Location& l) const {
    if (!m_opt.bbox) return true;
    const auto& b = *m_opt.bbox;
    return l.lon() >= b[0] && l.lon() <= b[2] && l.lat() >= b[1] && l.lat() <= b[3];
  }

  void add_facility(std::int64_t id, std::uint8_t type, FacilityKind kind,
                    const osmium::TagList& tags, double lon, double lat) {
    const char* name = tags["name"];
    m_out.facilities.push_back({id, type, kind, name ? name : "", lon, lat});
  }

  template <class Ring>
  static void add_ring(OsmBuilding& b, const Ring& ring, bool outer) {
    std::vector<double> lon, lat;
    for (const auto& nr : ring)
      lon.push_back(nr.location().lon()), lat.push_back(nr.location().lat());
    add_building_ring(b, std::move(lon), std::move(lat), outer);
  }

  OsmLine polyline(const osmium::Way& w) const {
    OsmLine line;
    line.id = w.id();
    for (const auto& nr : w.nodes()) {
      if (!nr.location().valid() || !inside(nr.location())) continue;
      line.lon.push_back(nr.location().lon());
      line.lat.push_back(nr.location().lat());
    }
    return line;
  }

  void add_road(const osmium::Way& w, const ClassDefaults& c) {
    const auto& tags = w.tags();
    OsmRoad r;
    r.id = w.id();
    r.road_class = c.cls;
    const char* oneway = tags["oneway"];
    if (is_one_of(oneway, {"yes", "1", "true"}))
      r.oneway = 1;
    else if (is_one_of(oneway, {"-1", "reverse"}))
      r.oneway = -1;
    else if (!is_one_of(oneway, {"no", "false", "0"}) &&
             (c.cls == RoadClass::motorway ||
              is_one_of(tags["junction"], {"roundabout", "circular"})))
      r.oneway = 1;
    const auto lanes = leading_number(tags["lanes"]);
    const auto fwd = leading_number(tags["lanes:forward"]);
    const auto bwd = leading_number(tags["lanes:backward"]);
    if (r.oneway != 0) {
      r.lanes_forward = r.lanes_backward = lanes ? static_cast<int>(*lanes) : c.lanes;
    } else if (fwd || bwd) {
      r.lanes_forward =
          fwd ? static_cast<int>(*fwd)
              : std::max(1, static_cast<int>(lanes.value_or(2)) - static_cast<int>(*bwd));
      r.lanes_backward = bwd ? static_cast<int>(*bwd)
                             : std::max(1, static_cast<int>(lanes.value_or(2)) - r.lanes_forward);
    } else if (lanes) {
      r.lanes_forward = (static_cast<int>(*lanes) + 1) / 2;
      r.lanes_backward = std::max(1, static_cast<int>(*lanes) - r.lanes_forward);
    } else {
      r.lanes_forward = r.lanes_backward = c.lanes;
    }
    r.lanes_forward = std::clamp(r.lanes_forward, 1, 8);
    r.lanes_backward = std::clamp(r.lanes_backward, 1, 8);
    r.speed_mps = parse_maxspeed(tags["maxspeed"]).value_or(static_cast<float>(c.speed_kmh / 3.6));
    if (const char* n = tags["name"]) r.name = n;
    if (const char* t = tags[r.oneway != 0 ? "turn:lanes" : "turn:lanes:forward"])
      r.turn_lanes_forward = t;
    if (const char* t = tags["turn:lanes:backward"]) r.turn_lanes_backward = t;
    for (const auto& nr : w.nodes()) {
      const bool ok = nr.location().valid() && inside(nr.location());
      r.nodes.push_back(nr.ref());
      r.lon.push_back(ok ? nr.location().lon() : std::nan(""));
      r.lat.push_back(ok ? nr.location().lat() : std::nan(""));
    }
    if (r.nodes.size() >= 2) m_out.roads.push_back(std::move(r));
  }

  OsmCity& m_out;
  const OsmReadOptions& m_opt;
  ImportStats& m_stats;
};

// libosmium 2.18's PBF parser closes its file descriptor only when it has parsed to the end
// (PBFParser::run): every broken .pbf leaks one, and a long-lived process reading many files runs
// out of them (the fuzzer did after 24 s). A .pbf is therefore read into memory and parsed from
// there, holding no descriptor; other formats stream from the file.
class OsmSource {
 public:
  explicit OsmSource(const std::string& path) : m_file(path) {
    if (m_file.format() != osmium::io::file_format::pbf) return;
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open the file");
    m_bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (in.bad()) throw std::runtime_error("cannot read the file");
    m_file = osmium::io::File(m_bytes.data(), m_bytes.size(), "pbf");
  }
  const osmium::io::File& file() const { return m_file; }

 private:
  std::vector<char> m_bytes;  // declared first: m_file points into it
  osmium::io::File m_file;
};

}  // namespace

Result<OsmCity> read_osm(const std::string& path, const OsmReadOptions& options,
                         ImportStats& stats) {
  OsmCity out;
  try {
    const OsmSource source(path);
    const osmium::io::File& file = source.file();
    osmium::area::Assembler::config_type assembler_config;
    osmium::TagsFilter filter(false);
    filter.add_rule(true, osmium::TagMatcher("building"));
    osmium::area::MultipolygonManager<osmium::area::Assembler> mp(assembler_config, filter);

    auto t0 = std::chrono::steady_clock::now();
    osmium::relations::read_relations(file, mp);

    using Index = osmium::index::map::FlexMem<osmium::unsigned_object_id_type, osmium::Location>;
    Index index;
    osmium::handler::NodeLocationsForWays<Index> locations(index);
    locations.ignore_errors();  // ways leaving an extract reference nodes it does not hold
    CityHandler handler(out, options, stats);
    osmium::io::Reader reader(file, osmium::io::read_meta::no);
    osmium::apply(reader, locations, handler,
                  mp.handler([&handler](osmium::memory::Buffer&& buffer) {
                    osmium::apply(buffer, handler);
                  }));
    reader.close();
    std::sort(out.signal_nodes.begin(), out.signal_nodes.end());
    // Building relations that produced no area (broken multipolygons) are counted, not lost
    // silently.
    const auto& s = mp.stats();
    stats.buildings_without_geometry +=
        static_cast<std::int64_t>(s.no_way_in_mp_relation + s.open_rings);
    stats.stages.push_back(
        {"read OSM", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()});
  } catch (const std::exception& e) {
    return fail(Error::msg(std::string("cannot read OpenStreetMap file: ") + e.what() +
                               " (expected .osm.pbf, .osm or .osm.gz/.bz2)",
                           path));
  }
  return out;
}

Result<std::vector<ElevationPoint>> read_elevation_points(const std::string& path,
                                                          const Projection& proj) {
  // Nodes of tunnels and bridges carry the elevation of the road, not of the ground: they are
  // left out. OSM files list nodes before ways, so nodes are kept until the ways are seen.
  struct Candidate {
    std::int64_t id;
    ElevationPoint p;
  };
  std::vector<Candidate> candidates;
  std::vector<std::int64_t> off_ground;
  try {
    const OsmSource source(path);
    osmium::io::Reader reader(source.file(),
                              osmium::osm_entity_bits::node | osmium::osm_entity_bits::way,
                              osmium::io::read_meta::no);
    while (osmium::memory::Buffer buffer = reader.read()) {
      for (const auto& obj : buffer.select<osmium::OSMObject>()) {
        if (obj.type() == osmium::item_type::node) {
          const auto& n = static_cast<const osmium::Node&>(obj);
          const auto ele = leading_number(n.tags()["ele"]);
          if (!ele || !n.location().valid()) continue;
          double x = n.location().lon(), y = n.location().lat();
          if (!proj.forward(x, y)) continue;
          candidates.push_back({n.id(), {x, y, *ele}});
        } else if (obj.type() == osmium::item_type::way) {
          const auto& w = static_cast<const osmium::Way&>(obj);
          const auto& t = w.tags();
          const bool tunnel = t["tunnel"] && std::strcmp(t["tunnel"], "no") != 0;
          const bool bridge = t["bridge"] && std::strcmp(t["bridge"], "no") != 0;
          const bool layered = leading_number(t["layer"]).value_or(0) != 0;
          if (tunnel || bridge || layered || is_one_of(t["covered"], {"yes"}))
            for (const auto& nr : w.nodes()) off_ground.push_back(nr.ref());
        }
      }
    }
    reader.close();
  } catch (const std::exception& e) {
    return fail(Error::msg(std::string("cannot read elevation points: ") + e.what(), path));
  }
  std::sort(off_ground.begin(), off_ground.end());
  std::vector<ElevationPoint> points;
  for (const Candidate& c : candidates)
    if (!std::binary_search(off_ground.begin(), off_ground.end(), c.id)) points.push_back(c.p);
  return points;
}

}  // namespace citytwin
