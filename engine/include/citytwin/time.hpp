// Simulation time: an integer count of milliseconds since the scenario start (no drift).
#pragma once

#include <cstdint>
#include <string>

namespace citytwin {

/// Milliseconds since the scenario start.
using SimTime = std::int64_t;

constexpr SimTime k_ms_per_s = 1000;
constexpr SimTime seconds_ms(double s) {
  return static_cast<SimTime>(s * 1000.0 + (s >= 0 ? 0.5 : -0.5));
}
constexpr double to_seconds(SimTime t) {
  return static_cast<double>(t) * 1e-3;
}

/// "1h02m03s", "45.5s", "0s": a compact human form of a duration.
std::string format_duration(SimTime t);

/// "2026-11-22T08:00:00Z" for a Unix time in seconds (UTC).
std::string format_rfc3339(std::int64_t unix_s);

}  // namespace citytwin
