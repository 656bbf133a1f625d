#include "citytwin/time.hpp"

#include <fmt/format.h>

#include <ctime>

namespace citytwin {

std::string format_duration(SimTime t) {
  const bool negative = t < 0;
  if (negative) t = -t;
  const SimTime h = t / 3'600'000, m = (t / 60'000) % 60, ms = t % 60'000;
  std::string s = negative ? "-" : "";
  if (h > 0) s += fmt::format("{}h", h);
  if (h > 0)
    s += fmt::format("{:02}min", m);
  else if (m > 0)
    s += fmt::format("{}min", m);
  if (h > 0 || m > 0) {
    if (ms != 0)
      s += ms % 1000 == 0 ? fmt::format("{:02}s", ms / 1000) : fmt::format("{:06.3f}s", ms * 1e-3);
  } else {
    s += ms % 1000 == 0 ? fmt::format("{}s", ms / 1000) : fmt::format("{:.3f}s", ms * 1e-3);
  }
  return s;
}

std::string format_rfc3339(std::int64_t unix_s) {
  const std::time_t tt = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

}  // namespace citytwin
