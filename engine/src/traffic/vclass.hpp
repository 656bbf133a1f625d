// Vehicle-class permissions as bit masks (SUMO's allow/disallow lists, coarsened to the classes
// the traffic model distinguishes).
#pragma once

#include <cstdint>
#include <string_view>

namespace citytwin::traffic {

constexpr std::uint8_t k_class_passenger = 1;  // passenger, private, taxi, evehicle
constexpr std::uint8_t k_class_bus = 2;        // bus, coach
constexpr std::uint8_t k_class_slow = 4;       // pedestrian, bicycle, tram, rail, moped
constexpr std::uint8_t k_class_other = 8;      // truck, delivery, emergency, ...
constexpr std::uint8_t k_class_all = 15;

/// The class bit of one SUMO vClass name.
inline std::uint8_t vclass_bit(std::string_view name) {
  if (name == "passenger" || name == "private" || name == "taxi" || name == "evehicle" ||
      name == "hov" || name == "custom1" || name == "custom2")
    return k_class_passenger;
  if (name == "bus" || name == "coach") return k_class_bus;
  if (name == "pedestrian" || name == "bicycle" || name == "tram" || name == "rail" ||
      name == "rail_urban" || name == "rail_electric" || name == "moped" || name == "ship" ||
      name == "rail_fast")
    return k_class_slow;
  return k_class_other;
}

/// The mask of a space-separated vClass list.
inline std::uint8_t vclass_mask(std::string_view list) {
  std::uint8_t m = 0;
  while (!list.empty()) {
    const auto sp = list.find(' ');
    const std::string_view tok = list.substr(0, sp);
    if (tok == "all")
      m = k_class_all;
    else if (!tok.empty())
      m |= vclass_bit(tok);
    if (sp == std::string_view::npos) break;
    list.remove_prefix(sp + 1);
  }
  return m;
}

}  // namespace citytwin::traffic
