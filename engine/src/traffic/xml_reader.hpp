// Streaming XML reading for the SUMO importers: expat over a zlib gzFile, so plain and
// gzip-compressed files are read the same way. Handlers get the element name and its
// attributes; any Diagnostic they return stops the parse and is located at file:line.
#pragma once

#include <string>
#include <string_view>

#include "citytwin/error.hpp"

namespace citytwin::traffic::xml {

/// The attributes of one element (expat's name/value array), with typed, located access.
class Attrs {
 public:
  Attrs(const char** raw, const std::string* file, int line)
      : m_raw(raw), m_file(file), m_line(line) {}

  /// The value, or nullptr when absent.
  const char* find(std::string_view name) const;
  /// The value as text; an error naming the field when absent.
  Result<std::string_view> text(std::string_view element, std::string_view name) const;
  /// A finite number; an error when absent or malformed.
  Result<double> number(std::string_view element, std::string_view name) const;
  /// A finite number, or `fallback` when absent; an error when malformed.
  Result<double> number_or(std::string_view element, std::string_view name, double fallback) const;
  /// A number in [lo, hi], or `fallback` when absent; an error when malformed or outside
  /// (values a file can make too big to convert, e.g. seconds to milliseconds).
  Result<double> number_in(std::string_view element, std::string_view name, double fallback,
                           double lo, double hi) const;
  /// A whole number in [lo, hi] (a lane or link index), or `fallback` (not checked) when absent;
  /// an error when malformed, fractional or outside.
  Result<int> whole_or(std::string_view element, std::string_view name, int fallback, int lo,
                       int hi) const;
  /// A located diagnostic for this element.
  Diagnostic error(std::string field, std::string message, std::string found = {},
                   std::string expected = {}) const;
  int line() const { return m_line; }

 private:
  const char** m_raw;
  const std::string* m_file;
  int m_line;
};

/// Called for each element start (depth 1 is the root); an error stops the parse.
class Handler {
 public:
  virtual ~Handler() = default;
  virtual Result<void> start(std::string_view name, const Attrs& attrs, int depth) = 0;
  virtual Result<void> end(std::string_view name, int depth) {
    (void)name;
    (void)depth;
    return {};
  }
};

/// Parses `path` (plain or gzip) with `handler`; errors carry the file and line.
Result<void> parse_file(const std::string& path, Handler& handler);

}  // namespace citytwin::traffic::xml
