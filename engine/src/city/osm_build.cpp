// From what the OSM reader collected (WGS84) to the model's arrays: projection, the directed
// road graph (ways split at junctions, signals and ends), building footprints with
// consistent ring orientation, power and water polylines.
#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "city/osm_import.hpp"

namespace citytwin {

std::optional<std::array<double, 2>> osm_center(const OsmCity& osm) {
  std::vector<double> lon, lat;
  for (const OsmBuilding& b : osm.buildings)
    if (!b.ring_lon.empty()) lon.push_back(b.ring_lon[0][0]), lat.push_back(b.ring_lat[0][0]);
  for (const OsmRoad& r : osm.roads)
    for (std::size_t k = 0; k < r.lon.size(); ++k)
      if (!std::isnan(r.lon[k])) lon.push_back(r.lon[k]), lat.push_back(r.lat[k]);
  if (lon.empty()) return std::nullopt;
  // Median, robust to stray far-away members of extracts.
  auto median = [](std::vector<double>& v) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
  };
  return std::array<double, 2>{median(lon), median(lat)};
}

namespace {

double signed_area(const double* x, const double* y, std::size_t n) {
  double a = 0;
  for (std::size_t i = 0, j = n - 1; i < n; j = i++) a += x[j] * y[i] - x[i] * y[j];
  return 0.5 * a;
}

void build_buildings(const OsmCity& osm, const Projection& proj, double default_height_m,
                     double level_height_m, Buildings& b, ImportStats& stats) {
  b.ring_offsets.push_back(0);
  b.point_offsets.push_back(0);
  for (const OsmBuilding& src : osm.buildings) {
    double area = 0, cx = 0, cy = 0;
    const std::size_t rings_before = b.ring_outer.size();
    for (std::size_t r = 0; r < src.ring_lon.size(); ++r) {
      std::vector<double> x = src.ring_lon[r], y = src.ring_lat[r];
      bool ok = true;
      for (std::size_t k = 0; k < x.size() && ok; ++k) ok = proj.forward(x[k], y[k]);
      if (!ok) continue;
      double a = signed_area(x.data(), y.data(), x.size());
      // Outer rings counter-clockwise (positive area), holes clockwise.
      if ((src.ring_outer[r] && a < 0) || (!src.ring_outer[r] && a > 0)) {
        std::reverse(x.begin(), x.end());
        std::reverse(y.begin(), y.end());
        a = -a;
      }
      // Polygon centroid accumulated over rings (holes subtract through their negative area).
      for (std::size_t i = 0, j = x.size() - 1; i < x.size(); j = i++) {
        const double cross = x[j] * y[i] - x[i] * y[j];
        cx += (x[j] + x[i]) * cross;
        cy += (y[j] + y[i]) * cross;
      }
      area += a;
      b.x.insert(b.x.end(), x.begin(), x.end());
      b.y.insert(b.y.end(), y.begin(), y.end());
      b.point_offsets.push_back(static_cast<std::int32_t>(b.x.size()));
      b.ring_outer.push_back(src.ring_outer[r]);
    }
    if (area <= 0) {
      // Nothing usable: roll back its rings and count it.
      b.ring_outer.resize(rings_before);
      b.point_offsets.resize(rings_before + 1);
      b.x.resize(static_cast<std::size_t>(b.point_offsets.back()));
      b.y.resize(b.x.size());
      ++stats.buildings_without_geometry;
      continue;
    }
    b.ring_offsets.push_back(static_cast<std::int32_t>(b.ring_outer.size()));
    b.osm_id.push_back(src.id);
    b.from_relation.push_back(src.from_relation ? 1 : 0);
    b.centroid_x.push_back(cx / (6 * area));
    b.centroid_y.push_back(cy / (6 * area));
    float height = src.height_m, levels = src.levels;
    HeightSource source = HeightSource::height_tag;
    if (height <= 0 && levels > 0) {
      height = static_cast<float>(levels * level_height_m);
      source = HeightSource::levels_tag;
    } else if (height <= 0) {
      height = static_cast<float>(default_height_m);
      source = HeightSource::default_value;
    }
    if (levels <= 0)
      levels = std::max(1.0f, std::round(height / static_cast<float>(level_height_m)));
    b.height_m.push_back(height);
    b.levels.push_back(levels);
    b.height_source.push_back(source);
    b.footprint_m2.push_back(static_cast<float>(area));
    b.floor_area_m2.push_back(static_cast<float>(area * levels));
    b.use.push_back(src.use);
    b.ground_m.push_back(std::nanf(""));
  }
}

void build_roads(const OsmCity& osm, const Projection& proj, RoadNetwork& net) {
  // A vertex becomes a graph node where ways meet, where a way ends (or its known part ends,
  // at the edge of an extract or of the crop box), and at traffic signals.
  std::unordered_map<std::int64_t, int> uses;
  std::unordered_map<std::int64_t, std::uint8_t> forced;
  for (const OsmRoad& r : osm.roads) {
    for (std::size_t k = 0; k < r.nodes.size(); ++k) {
      if (std::isnan(r.lon[k])) continue;
      ++uses[r.nodes[k]];
      const bool run_start = k == 0 || std::isnan(r.lon[k - 1]);
      const bool run_end = k + 1 == r.nodes.size() || std::isnan(r.lon[k + 1]);
      if (run_start || run_end) forced[r.nodes[k]] = 1;
    }
  }
  for (std::int64_t id : osm.signal_nodes)
    if (uses.contains(id)) forced[id] = 1;
  auto is_node = [&](std::int64_t id) { return forced.contains(id) || uses[id] >= 2; };

  std::unordered_map<std::int64_t, std::int32_t> index;
  auto node_index = [&](std::int64_t id, double lon, double lat) {
    auto [it, inserted] = index.try_emplace(id, net.node_count());
    if (inserted) {
      double x = lon, y = lat;
      proj.forward(x, y);
      net.node_osm_id.push_back(id);
      net.node_x.push_back(x);
      net.node_y.push_back(y);
      net.node_z.push_back(std::nanf(""));
      net.node_signal.push_back(
          std::binary_search(osm.signal_nodes.begin(), osm.signal_nodes.end(), id) ? 1 : 0);
    }
    return it->second;
  };

  net.link_point_offsets.push_back(0);
  auto add_link = [&](const OsmRoad& r, std::size_t a, std::size_t b, bool forward) {
    // Vertices a..b of the way, in driving order.
    const std::size_t from = forward ? a : b, to = forward ? b : a;
    net.link_from.push_back(node_index(r.nodes[from], r.lon[from], r.lat[from]));
    net.link_to.push_back(node_index(r.nodes[to], r.lon[to], r.lat[to]));
    net.link_osm_way.push_back(r.id);
    net.link_class.push_back(r.road_class);
    net.link_lanes.push_back(
        static_cast<std::uint8_t>(forward ? r.lanes_forward : r.lanes_backward));
    net.link_speed_mps.push_back(r.speed_mps);
    net.link_oneway.push_back(r.oneway != 0 ? 1 : 0);
    net.link_name.push_back(r.name);
    net.link_turn_lanes.push_back(forward ? r.turn_lanes_forward : r.turn_lanes_backward);
    double length = 0;
    for (std::size_t s = 0; s <= b - a; ++s) {
      const std::size_t k = forward ? a + s : b - s;
      double x = r.lon[k], y = r.lat[k];
      proj.forward(x, y);
      if (s > 0) length += std::hypot(x - net.point_x.back(), y - net.point_y.back());
      net.point_x.push_back(x);
      net.point_y.push_back(y);
      net.point_z.push_back(std::nanf(""));
    }
    net.link_length_m.push_back(static_cast<float>(length));
    net.link_point_offsets.push_back(static_cast<std::int32_t>(net.point_x.size()));
  };

  for (const OsmRoad& r : osm.roads) {
    std::size_t start = SIZE_MAX;
    for (std::size_t k = 0; k < r.nodes.size(); ++k) {
      if (std::isnan(r.lon[k])) {
        start = SIZE_MAX;
        continue;
      }
      if (start == SIZE_MAX) {
        start = k;
        continue;
      }
      if (!is_node(r.nodes[k])) continue;
      if (r.oneway >= 0) add_link(r, start, k, true);
      if (r.oneway <= 0) add_link(r, start, k, false);
      start = k;
    }
  }

  // Outgoing links per node (CSR), links in index order.
  const std::int32_t n = net.node_count();
  net.node_out_offsets.assign(static_cast<std::size_t>(n) + 1, 0);
  for (std::int32_t from : net.link_from)
    ++net.node_out_offsets[static_cast<std::size_t>(from) + 1];
  for (std::int32_t i = 0; i < n; ++i) net.node_out_offsets[i + 1] += net.node_out_offsets[i];
  net.node_out_links.resize(net.link_from.size());
  std::vector<std::int32_t> fill(net.node_out_offsets.begin(), net.node_out_offsets.end() - 1);
  for (std::int32_t l = 0; l < net.link_count(); ++l)
    net.node_out_links[fill[net.link_from[l]]++] = l;
}

template <class Features>
void build_lines(const std::vector<OsmLine>& src, const Projection& proj, Features& dst,
                 std::vector<std::int32_t>& offsets) {
  offsets.push_back(0);
  for (const OsmLine& l : src) {
    for (std::size_t k = 0; k < l.lon.size(); ++k) {
      double x = l.lon[k], y = l.lat[k];
      proj.forward(x, y);
      dst.point_x.push_back(x);
      dst.point_y.push_back(y);
    }
    offsets.push_back(static_cast<std::int32_t>(dst.point_x.size()));
  }
}

bool inside_ring(const double* x, const double* y, std::int32_t n, double px, double py) {
  bool in = false;
  for (std::int32_t i = 0, j = n - 1; i < n; j = i++)
    if ((y[i] > py) != (y[j] > py) && px < (x[j] - x[i]) * (py - y[i]) / (y[j] - y[i]) + x[i])
      in = !in;
  return in;
}

// The building holding a point: inside an outer ring and no hole of it, else the nearest
// centroid within `reach` metres; -1 when none.
std::int32_t building_at(const Buildings& b, double px, double py, double reach) {
  std::int32_t nearest = -1;
  double best = reach * reach;
  for (std::int32_t i = 0; i < b.size(); ++i) {
    const double dx = b.centroid_x[i] - px, dy = b.centroid_y[i] - py;
    const double d2 = dx * dx + dy * dy;
    if (d2 < best) best = d2, nearest = i;
    if (d2 > 1e6) continue;  // no building footprint is a kilometre across
    bool outer = false, hole = false;
    for (std::int32_t r = b.ring_offsets[i]; r < b.ring_offsets[i + 1]; ++r) {
      const std::int32_t p0 = b.point_offsets[r], n = b.point_offsets[r + 1] - p0;
      if (inside_ring(&b.x[p0], &b.y[p0], n, px, py)) (b.ring_outer[r] ? outer : hole) = true;
    }
    if (outer && !hole) return i;
  }
  return nearest;
}

// Facilities in the model CRS, each with its building; one per (building, kind), the first in
// OSM order (nodes, then ways, then relations) kept.
void build_facilities(const OsmCity& osm, const Projection& proj, const Buildings& b,
                      Facilities& f) {
  for (const OsmFacility& src : osm.facilities) {
    double x = src.lon, y = src.lat;
    if (!proj.forward(x, y)) continue;
    const std::int32_t building = building_at(b, x, y, 30.0);
    bool seen = false;
    for (std::int32_t k = 0; k < f.size() && building >= 0 && !seen; ++k)
      seen = f.building[k] == building && f.kind[k] == src.kind;
    if (seen) continue;
    f.osm_id.push_back(src.id);
    f.osm_type.push_back(src.osm_type);
    f.kind.push_back(src.kind);
    f.name.push_back(src.name);
    f.x.push_back(x);
    f.y.push_back(y);
    f.building.push_back(building);
  }
}

}  // namespace

Result<void> build_city(const OsmCity& osm, const Projection& proj, double default_height_m,
                        double level_height_m, CityModel& city) {
  build_buildings(osm, proj, default_height_m, level_height_m, city.buildings, city.stats);
  build_roads(osm, proj, city.roads);
  build_facilities(osm, proj, city.buildings, city.facilities);

  PowerFeatures& p = city.power;
  for (const auto& s : osm.substations) {
    double x = s.lon, y = s.lat;
    proj.forward(x, y);
    p.substation_osm_id.push_back(s.id);
    p.substation_x.push_back(x);
    p.substation_y.push_back(y);
    p.substation_voltage_v.push_back(s.voltage_v);
  }
  for (const OsmLine& l : osm.power_lines) {
    p.line_osm_id.push_back(l.id);
    p.line_voltage_v.push_back(l.voltage_v);
    p.line_underground.push_back(static_cast<std::uint8_t>(l.kind));
  }
  build_lines(osm.power_lines, proj, p, p.line_point_offsets);

  WaterFeatures& w = city.water;
  for (const OsmLine& l : osm.water) {
    w.osm_id.push_back(l.id);
    w.kind.push_back(static_cast<WaterKind>(l.kind));
  }
  build_lines(osm.water, proj, w, w.point_offsets);
  return {};
}

}  // namespace citytwin
