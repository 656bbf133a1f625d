// Memory budget and byte sizes for resource planning (resources.hpp).
#include "citytwin/resources.hpp"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>

namespace citytwin {

std::uint64_t memory_budget(std::uint64_t limit) {
  if (limit > 0) return limit;
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  std::uint64_t kb = 0;
  std::string unit;
  while (meminfo >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0
             ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page)
             : 0;
}

std::uint64_t free_disk(const std::string& dir) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(dir, ec);
  while (!p.empty() && !std::filesystem::exists(p, ec) && p != p.parent_path()) p = p.parent_path();
  const auto space = std::filesystem::space(p, ec);
  return ec ? 0 : space.available;
}

std::expected<std::uint64_t, std::string> parse_bytes(std::string_view text) {
  const std::string expected = "a size such as \"8GiB\", \"500MB\" or \"2G\"";
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || !(value > 0) || !std::isfinite(value)) return std::unexpected(expected);
  const std::string_view unit(ptr, static_cast<std::size_t>(end - ptr));
  struct Unit {
    std::string_view name;
    double factor;
  };
  constexpr Unit units[] = {{"B", 1},
                            {"kB", 1e3},
                            {"MB", 1e6},
                            {"GB", 1e9},
                            {"TB", 1e12},
                            {"KiB", 1024.0},
                            {"MiB", 1048576.0},
                            {"GiB", 1073741824.0},
                            {"TiB", 1099511627776.0},
                            {"K", 1024.0},
                            {"M", 1048576.0},
                            {"G", 1073741824.0},
                            {"T", 1099511627776.0}};
  for (const Unit& u : units)
    if (unit == u.name) {
      const double bytes = value * u.factor;
      if (bytes > 1e18) return std::unexpected(expected);
      return static_cast<std::uint64_t>(bytes);
    }
  return std::unexpected(expected);
}

std::string format_bytes(double bytes) {
  if (bytes >= 1073741824.0) return fmt::format("{:.1f} GiB", bytes / 1073741824.0);
  if (bytes >= 1048576.0) return fmt::format("{:.0f} MiB", bytes / 1048576.0);
  return fmt::format("{:.0f} KiB", bytes / 1024.0);
}

}  // namespace citytwin
