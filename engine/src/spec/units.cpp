// Quantity, duration and date-time strings of scenario files.
#include <charconv>
#include <cmath>
#include <string>

#include "citytwin/spec.hpp"

namespace citytwin {

namespace {

struct UnitFactor {
  std::string_view name;
  double factor;  // value in the unit * factor = SI value
};

constexpr UnitFactor k_length[] = {{"mm", 1e-3}, {"cm", 1e-2}, {"m", 1.0}, {"km", 1e3}};
constexpr UnitFactor k_speed[] = {{"m/s", 1.0}, {"km/h", 1.0 / 3.6}, {"mph", 0.44704}};
constexpr UnitFactor k_intensity[] = {{"mm/h", 1e-3 / 3600.0},
                                      {"mm/min", 1e-3 / 60.0},
                                      {"mm/s", 1e-3},
                                      {"m/s", 1.0},
                                      {"mm/d", 1e-3 / 86400.0}};
constexpr UnitFactor k_discharge[] = {{"m3/s", 1.0}, {"l/s", 1e-3}};
constexpr UnitFactor k_power[] = {{"W", 1.0}, {"kW", 1e3}, {"MW", 1e6}, {"GW", 1e9}};
constexpr UnitFactor k_reactive[] = {{"var", 1.0}, {"kvar", 1e3}, {"MVAr", 1e6}, {"Mvar", 1e6}};
constexpr UnitFactor k_voltage[] = {{"V", 1.0}, {"kV", 1e3}};
constexpr UnitFactor k_area[] = {{"m2", 1.0}, {"ha", 1e4}, {"km2", 1e6}};
constexpr UnitFactor k_time[] = {
    {"ms", 1e-3}, {"s", 1.0}, {"min", 60.0}, {"h", 3600.0}, {"d", 86400.0}};

std::span<const UnitFactor> units_of(Quantity kind) {
  switch (kind) {
    case Quantity::length:
      return k_length;
    case Quantity::speed:
      return k_speed;
    case Quantity::intensity:
      return k_intensity;
    case Quantity::discharge:
      return k_discharge;
    case Quantity::power:
      return k_power;
    case Quantity::reactive:
      return k_reactive;
    case Quantity::voltage:
      return k_voltage;
    case Quantity::area:
      return k_area;
  }
  return {};
}

std::string unit_list(std::span<const UnitFactor> units) {
  std::string s;
  for (const UnitFactor& u : units) {
    if (!s.empty()) s += ", ";
    s += u.name;
  }
  return s;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Reads a leading decimal number; returns the rest of the text.
bool read_number(std::string_view& s, double& value) {
  s = trim(s);
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, value);
  if (ec != std::errc() || !std::isfinite(value)) return false;
  s.remove_prefix(static_cast<std::size_t>(ptr - s.data()));
  return true;
}

}  // namespace

std::expected<double, std::string> unit_factor(std::string_view unit, Quantity kind) {
  const auto units = units_of(kind);
  for (const UnitFactor& u : units)
    if (unit == u.name) return u.factor;
  return std::unexpected(unit.empty() ? "a unit (" + unit_list(units) + ")"
                                      : "a known unit (" + unit_list(units) + ")");
}

std::expected<double, std::string> parse_quantity(std::string_view text, Quantity kind) {
  std::string_view rest = text;
  double value = 0;
  if (!read_number(rest, value))
    return std::unexpected("a number followed by one of: " + unit_list(units_of(kind)));
  rest = trim(rest);
  if (rest.empty())
    return std::unexpected("a unit after the number (" + unit_list(units_of(kind)) + ")");
  auto factor = unit_factor(rest, kind);
  if (!factor) return std::unexpected(factor.error());
  return value * *factor;
}

std::expected<SimTime, std::string> parse_duration(std::string_view text) {
  const std::string expected =
      "a duration such as \"90s\", \"2h\", \"1h30min\", \"250ms\" (units ms, s, min, h, d)";
  std::string_view rest = trim(text);
  if (rest.empty()) return std::unexpected(expected);
  double total_s = 0;
  while (!rest.empty()) {
    double value = 0;
    if (!read_number(rest, value)) return std::unexpected(expected);
    rest = trim(rest);
    std::size_t n = 0;
    while (n < rest.size() && std::isalpha(static_cast<unsigned char>(rest[n]))) ++n;
    const std::string_view unit = rest.substr(0, n);
    if (unit == "m") return std::unexpected("\"min\" for minutes (\"m\" is metres)");
    const UnitFactor* found = nullptr;
    for (const UnitFactor& u : k_time)
      if (unit == u.name) found = &u;
    if (!found) return std::unexpected(expected);
    total_s += value * found->factor;
    rest = trim(rest.substr(n));
  }
  if (total_s < 0) return std::unexpected("a duration >= 0");
  // Bounded before the conversion to integer milliseconds (which would overflow from about
  // 2.9e8 years): no simulation runs longer than a thousand years.
  constexpr double k_max_s = 1000.0 * 365.25 * 86400.0;
  if (!(total_s <= k_max_s))
    return std::unexpected("a duration of at most 1000 years (\"8766000h\")");
  const double ms = total_s * 1000.0;
  if (std::abs(ms - std::round(ms)) > 1e-6 * std::max(1.0, std::abs(ms)))
    return std::unexpected("a whole number of milliseconds");
  return static_cast<SimTime>(std::llround(ms));
}

namespace {
// Days since 1970-01-01 of a proleptic Gregorian date (the standard era-based computation,
// valid for all years >= 0).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = y / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool read_int(std::string_view& s, int digits, int& out) {
  if (s.size() < static_cast<std::size_t>(digits)) return false;
  out = 0;
  for (int i = 0; i < digits; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    out = out * 10 + (s[i] - '0');
  }
  s.remove_prefix(digits);
  return true;
}

bool expect_char(std::string_view& s, std::string_view chars) {
  if (s.empty() || chars.find(s.front()) == std::string_view::npos) return false;
  s.remove_prefix(1);
  return true;
}
}  // namespace

std::expected<std::int64_t, std::string> parse_rfc3339_ms(std::string_view text,
                                                          int* utc_offset_s) {
  const std::string expected = "an RFC 3339 date-time such as \"2026-06-01T08:00:00Z\"";
  std::string_view s = trim(text);
  int Y, M, D, h, m, sec;
  if (!read_int(s, 4, Y) || !expect_char(s, "-") || !read_int(s, 2, M) || !expect_char(s, "-") ||
      !read_int(s, 2, D) || !expect_char(s, "Tt ") || !read_int(s, 2, h) || !expect_char(s, ":") ||
      !read_int(s, 2, m) || !expect_char(s, ":") || !read_int(s, 2, sec))
    return std::unexpected(expected);
  int ms = 0;
  if (!s.empty() && s.front() == '.') {  // fractional seconds: kept to the millisecond
    s.remove_prefix(1);
    if (s.empty() || !std::isdigit(static_cast<unsigned char>(s.front())))
      return std::unexpected(expected);
    for (int k = 0; !s.empty() && std::isdigit(static_cast<unsigned char>(s.front())); ++k) {
      if (k < 3) ms += (s.front() - '0') * (k == 0 ? 100 : k == 1 ? 10 : 1);
      s.remove_prefix(1);
    }
  }
  int offset_min = 0;
  if (expect_char(s, "Zz")) {
  } else if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    const int sign = s.front() == '-' ? -1 : 1;
    s.remove_prefix(1);
    int oh, om;
    if (!read_int(s, 2, oh) || !expect_char(s, ":") || !read_int(s, 2, om))
      return std::unexpected(expected);
    offset_min = sign * (oh * 60 + om);
  } else {
    return std::unexpected(expected + " with a time zone (Z or +hh:mm)");
  }
  if (!s.empty()) return std::unexpected(expected);
  if (utc_offset_s) *utc_offset_s = offset_min * 60;
  static constexpr int k_days_in_month[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (M < 1 || M > 12 || D < 1 || D > k_days_in_month[M - 1] || h > 23 || m > 59 || sec > 60)
    return std::unexpected("a valid calendar date and time");
  const std::int64_t unix_s =
      days_from_civil(Y, static_cast<unsigned>(M), static_cast<unsigned>(D)) * 86400 + h * 3600 +
      m * 60 + sec - offset_min * 60;
  return unix_s * 1000 + ms;
}

std::expected<std::int64_t, std::string> parse_rfc3339(std::string_view text, int* utc_offset_s) {
  auto ms = parse_rfc3339_ms(text, utc_offset_s);
  if (!ms) return std::unexpected(ms.error());
  return *ms >= 0 ? *ms / 1000 : -((-*ms + 999) / 1000);  // floor: the fraction is dropped
}

}  // namespace citytwin
