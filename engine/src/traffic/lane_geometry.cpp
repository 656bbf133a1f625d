// Lane polylines for the viewer (vehicle positions) and the SUMO configuration reader.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>

#include "traffic/sumo_common.hpp"
#include "traffic/traffic_domain.hpp"
#include "traffic/xml_reader.hpp"

namespace citytwin::traffic {

void LaneGeometry::at(std::int32_t lane, float pos, float length, double& x_out, double& y_out,
                      float& heading) const {
  const std::int32_t b = lane_point_begin[static_cast<std::size_t>(lane)],
                     e = lane_point_begin[static_cast<std::size_t>(lane) + 1];
  if (e - b < 2) {
    x_out = e > b ? x[static_cast<std::size_t>(b)] : 0.0;
    y_out = e > b ? y[static_cast<std::size_t>(b)] : 0.0;
    heading = 0;
    return;
  }
  const float total = s[static_cast<std::size_t>(e - 1)];
  const float d = length > 0 ? std::clamp(pos / length, 0.0f, 1.0f) * total : 0.0f;
  // The segment holding d (first vertex with s > d, minus one).
  const auto first = s.begin() + b + 1, last = s.begin() + e - 1;
  const std::int32_t k =
      static_cast<std::int32_t>(std::upper_bound(first, last, d) - s.begin()) - 1;
  const auto i = static_cast<std::size_t>(k), j = i + 1;
  const double seg = s[j] - s[i];
  const double f = seg > 0 ? (d - s[i]) / seg : 0.0;
  x_out = x[i] + f * (x[j] - x[i]);
  y_out = y[i] + f * (y[j] - y[i]);
  heading = static_cast<float>(std::atan2(y[j] - y[i], x[j] - x[i]));
}

namespace {

void push_point(LaneGeometry& g, double x, double y) {
  const bool first = g.x.size() == static_cast<std::size_t>(g.lane_point_begin.back());
  float s = 0;
  if (!first) s = g.s.back() + static_cast<float>(std::hypot(x - g.x.back(), y - g.y.back()));
  g.x.push_back(x);
  g.y.push_back(y);
  g.s.push_back(s);
}

class ShapeHandler : public xml::Handler {
 public:
  explicit ShapeHandler(const Network& n) : net(n), shapes(static_cast<std::size_t>(n.n_lanes())) {}
  const Network& net;
  std::vector<std::vector<std::pair<double, double>>> shapes;  // (n_road_lanes) used

  Result<void> start(std::string_view name, const xml::Attrs& at, int) override {
    if (name == "edge") {
      const char* fn = at.find("function");
      const char* id = at.find("id");
      m_edge = (fn && std::string_view(fn) == "internal") || !id ? -1 : net.find_edge(id);
      return {};
    }
    if (name != "lane" || m_edge < 0) return {};
    const char* idx = at.find("index");
    const char* shape = at.find("shape");
    if (!idx || !shape) return {};
    const std::int32_t k = std::atoi(idx);
    const std::int32_t lane = net.edge_lane_begin[static_cast<std::size_t>(m_edge)] + k;
    if (k < 0 || lane >= net.edge_lane_begin[static_cast<std::size_t>(m_edge) + 1]) return {};
    auto& pts = shapes[static_cast<std::size_t>(lane)];
    for (const std::string& p : split_spaces(shape)) {
      const auto comma = p.find(',');
      if (comma == std::string::npos)
        return fail(at.error("shape", "bad coordinate pair", p, "\"x,y x,y ...\""));
      pts.emplace_back(std::atof(p.substr(0, comma).c_str()),
                       std::atof(p.substr(comma + 1).c_str()));
    }
    return {};
  }

 private:
  std::int32_t m_edge = -1;
};

}  // namespace

void add_passage_shapes(const Network& net, LaneGeometry& g) {
  std::vector<std::int32_t> conn_of(static_cast<std::size_t>(net.n_lanes()), -1);
  for (std::int32_t c = 0; c < net.n_conns(); ++c)
    conn_of[static_cast<std::size_t>(net.conn_via_lane[static_cast<std::size_t>(c)])] = c;
  auto end_of = [&](std::int32_t lane, bool last, double& x, double& y) {
    const auto b = g.lane_point_begin[static_cast<std::size_t>(lane)],
               e = g.lane_point_begin[static_cast<std::size_t>(lane) + 1];
    const auto i = static_cast<std::size_t>(last ? e - 1 : b);
    x = e > b ? g.x[i] : 0.0;
    y = e > b ? g.y[i] : 0.0;
  };
  for (std::int32_t p = net.n_road_lanes; p < net.n_lanes(); ++p) {
    const std::int32_t c = conn_of[static_cast<std::size_t>(p)];
    if (c >= 0) {
      double x0, y0, x1, y1;
      end_of(net.conn_from_lane[static_cast<std::size_t>(c)], true, x0, y0);
      end_of(net.conn_to_lane[static_cast<std::size_t>(c)], false, x1, y1);
      push_point(g, x0, y0);
      push_point(g, x1, y1);
    }
    g.lane_point_begin.push_back(static_cast<std::int32_t>(g.x.size()));
  }
}

Result<LaneGeometry> read_sumo_lane_shapes(const std::string& path, const Network& net) {
  ShapeHandler h(net);
  if (auto r = xml::parse_file(path, h); !r) return fail(r.error());
  LaneGeometry g;
  g.lane_point_begin.push_back(0);
  for (std::int32_t l = 0; l < net.n_road_lanes; ++l) {
    for (const auto& [x, y] : h.shapes[static_cast<std::size_t>(l)]) push_point(g, x, y);
    g.lane_point_begin.push_back(static_cast<std::int32_t>(g.x.size()));
  }
  add_passage_shapes(net, g);
  return g;
}

namespace {

class ConfigHandler : public xml::Handler {
 public:
  SumoConfig cfg;
  std::filesystem::path dir;

  Result<void> start(std::string_view name, const xml::Attrs& at, int) override {
    const char* v = at.find("value");
    if (!v) return {};
    auto list = [&](std::vector<std::string>& out) {
      std::string_view s(v);
      while (!s.empty()) {
        const auto comma = s.find(',');
        std::string item(s.substr(0, comma));
        item.erase(0, item.find_first_not_of(' '));
        item.erase(item.find_last_not_of(' ') + 1);
        if (!item.empty()) out.push_back(resolve(item));
        s = comma == std::string_view::npos ? std::string_view() : s.substr(comma + 1);
      }
    };
    if (name == "net-file") cfg.net = resolve(v);
    if (name == "route-files") list(cfg.routes);
    if (name == "additional-files") list(cfg.additional);
    if (name == "begin" || name == "end" || name == "step-length") {
      auto x = at.number(name, "value");
      if (!x) return fail(x.error());
      (name == "begin" ? cfg.begin_s : name == "end" ? cfg.end_s : cfg.step_s) = *x;
    }
    return {};
  }

 private:
  std::string resolve(const std::string& p) const {
    const std::filesystem::path f(p);
    return (f.is_absolute() ? f : (dir / f).lexically_normal()).string();
  }
};

}  // namespace

Result<SumoConfig> read_sumocfg(const std::string& path) {
  ConfigHandler h;
  h.dir = std::filesystem::path(path).parent_path();
  if (auto r = xml::parse_file(path, h); !r) return fail(r.error());
  if (h.cfg.net.empty())
    return fail(Error::msg("no <net-file value=\"...\"/> in the configuration", path));
  return h.cfg;
}

}  // namespace citytwin::traffic
