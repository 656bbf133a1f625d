#include "sources.hpp"

#include <fmt/format.h>

#include <cmath>

#include "citytwin/frame.hpp"

#include "citytwin/io.hpp"
#include "citytwin/sim.hpp"

namespace citytwin::view {
namespace {

template <class T>
Result<void> read_into(const RunReader& r, const std::string& path, std::vector<T>& out) {
  auto d = r.read<T>(path);
  if (!d) return std::unexpected(d.error());
  out = std::move(d->data);
  return {};
}

// The static city of a run file (/city): what the mesh needs, per docs/hdf5-layout.md.
Result<CityModel> read_city(const RunReader& r, const std::string& file) {
  CityModel c;
  std::vector<double> extent;
  if (auto e = read_into(r, "/city/extent", extent); !e) return std::unexpected(e.error());
  if (extent.size() != 4)
    return std::unexpected(Error::msg("/city/extent: expected 4 values", file));
  std::copy(extent.begin(), extent.end(), c.extent.begin());
  if (r.exists("/city/terrain/z")) {
    auto z = r.read<float>("/city/terrain/z");
    if (!z) return std::unexpected(z.error());
    if (z->dims.size() != 2)
      return std::unexpected(Error::msg("/city/terrain/z: expected (ny, nx)", file));
    c.terrain.ny = static_cast<int>(z->dims[0]);
    c.terrain.nx = static_cast<int>(z->dims[1]);
    c.terrain.z = std::move(z->data);
    for (auto [name, dst] : {std::pair{"x0", &c.terrain.x0},
                             {"y0", &c.terrain.y0},
                             {"dx", &c.terrain.dx},
                             {"dy", &c.terrain.dy}}) {
      auto v = r.attr_double("/city/terrain", name);
      if (!v) return std::unexpected(v.error());
      *dst = *v;
    }
  }
  Result<void> ok;
  auto rd = [&](const std::string& path, auto& out) {
    if (ok) ok = read_into(r, path, out);
  };
  const std::string bp = "/city/buildings/", rp = "/city/roads/";
  Buildings& b = c.buildings;
  rd(bp + "osm_id", b.osm_id);
  rd(bp + "height_m", b.height_m);
  rd(bp + "ground_m", b.ground_m);
  rd(bp + "centroid_x", b.centroid_x);
  rd(bp + "centroid_y", b.centroid_y);
  rd(bp + "ring_offsets", b.ring_offsets);
  rd(bp + "point_offsets", b.point_offsets);
  rd(bp + "ring_outer", b.ring_outer);
  rd(bp + "x", b.x);
  rd(bp + "y", b.y);
  RoadNetwork& rn = c.roads;
  rd(rp + "link_from", rn.link_from);
  rd(rp + "link_osm_way", rn.link_osm_way);
  rd(rp + "link_lanes", rn.link_lanes);
  rd(rp + "link_oneway", rn.link_oneway);
  rd(rp + "link_point_offsets", rn.link_point_offsets);
  rd(rp + "point_x", rn.point_x);
  rd(rp + "point_y", rn.point_y);
  if (!ok) return std::unexpected(ok.error());
  if (b.ring_offsets.size() != b.osm_id.size() + 1 ||
      rn.link_point_offsets.size() != rn.link_from.size() + 1)
    return std::unexpected(Error::msg("/city: offsets do not match the entity counts", file));
  return c;
}

}  // namespace

Result<Source> open_source(const std::string& path) {
  Source s;
  s.path = path;
  if (path.ends_with(".h5")) {
    auto r = RunReader::open(path);
    if (!r) return std::unexpected(r.error());
    auto city = read_city(**r, path);
    if (!city) return std::unexpected(city.error());
    s.city = std::make_shared<const CityModel>(std::move(*city));
    auto frames = RunFrames::open(**r, path);
    if (!frames) return std::unexpected(frames.error());
    s.frame_times_s = frames->time_s;
    s.frames = std::make_shared<const RunFrames>(std::move(*frames));
    s.reader = std::shared_ptr<const RunReader>(std::move(*r));
    return s;
  }
  auto spec = load_scenario(path);
  if (!spec) return std::unexpected(spec.error());
  auto model = compile_model(std::move(*spec));
  if (!model) return std::unexpected(model.error());
  s.model = *model;
  s.city = s.model->city;
  return s;
}

std::size_t replay_index(const Source& s, double t_s) {
  // The time slider snaps to recorded frames.
  std::size_t k = 0;
  for (std::size_t i = 0; i < s.frame_times_s.size(); ++i)
    if (s.frame_times_s[i] <= t_s + 1e-9) k = i;
  return k;
}

Result<FrameSnapshot> replay_frame(const Source& s, std::size_t k) {
  if (s.frame_times_s.empty()) {
    FrameSnapshot f;
    f.figures.emplace_back("frame", "none recorded");
    return f;
  }
  auto f = s.frames->read(*s.reader, k);
  if (!f) return f;
  f->figures.emplace(f->figures.begin(), "frame",
                     fmt::format("{}/{}", k + 1, s.frame_times_s.size()));
  return f;
}

}  // namespace citytwin::view
