// Helpers shared by the SUMO readers (sumo_common.hpp): word lists, located parse errors, the
// additional-file root, lane ids and positions on a lane.
#include "traffic/sumo_common.hpp"

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

namespace citytwin::traffic {

std::vector<std::string> split_spaces(std::string_view s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

Result<void> parse_sumo_file(const std::string& path, xml::Handler& h) {
  if (auto r = xml::parse_file(path, h); !r) {
    Error e = std::move(r.error());
    for (auto& d : e.items)
      if (d.file.empty()) d.file = path;
    return fail(std::move(e));
  }
  return {};
}

Result<void> additional_root(std::string_view name, const xml::Attrs& at) {
  if (name != "additional" && name != "add")
    return fail(at.error("root", "not a SUMO additional file",
                         std::string("<").append(name).append(">"), "<additional>"));
  return {};
}

std::int32_t find_lane(const Network& net, std::string_view id) {
  const auto us = id.rfind('_');
  if (us == std::string_view::npos) return -1;
  const std::int32_t e = net.find_edge(id.substr(0, us));
  const std::string index(id.substr(us + 1));
  char* end = nullptr;
  const long k = std::strtol(index.c_str(), &end, 10);
  if (e < 0 || index.empty() || *end != '\0' || k < 0 ||
      k >= net.edge_lane_begin[static_cast<std::size_t>(e) + 1] -
               net.edge_lane_begin[static_cast<std::size_t>(e)])
    return -1;
  return net.edge_lane_begin[static_cast<std::size_t>(e)] + static_cast<std::int32_t>(k);
}

Result<float> lane_position(const xml::Attrs& at, const std::string& element, const char* name,
                            double pos, double len) {
  double p = pos < 0 ? len + pos : pos;
  const char* friendly = at.find("friendlyPos");
  if (friendly && (std::string_view(friendly) == "true" || std::string_view(friendly) == "1"))
    p = std::clamp(p, 0.0, len);
  if (p < 0 || p > len + 1e-3)
    return fail(at.error(element + "." + name, "outside the lane", fmt::format("{}", pos),
                         fmt::format("within [-{0}, {0}] (the lane's length), or "
                                     "friendlyPos=\"true\"",
                                     len)));
  return static_cast<float>(std::min(p, len));
}

}  // namespace citytwin::traffic
