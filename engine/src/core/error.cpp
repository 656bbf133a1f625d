#include "citytwin/error.hpp"

#include <cstdio>
#include <cstdlib>

namespace citytwin {

Diagnostic Diagnostic::at(std::string file, int line, std::string field, std::string message,
                          std::string found, std::string expected) {
  Diagnostic d;
  d.file = std::move(file);
  d.line = line;
  d.field = std::move(field);
  d.message = std::move(message);
  d.found = std::move(found);
  d.expected = std::move(expected);
  return d;
}

std::string Diagnostic::to_string() const {
  std::string s;
  if (!file.empty()) {
    s += file;
    if (line > 0) {
      s += ':' + std::to_string(line);
      if (column > 0) s += ':' + std::to_string(column);
    }
    s += ": ";
  }
  if (!field.empty()) s += field + ": ";
  s += message;
  if (!found.empty() || !expected.empty()) {
    s += " (";
    if (!found.empty()) s += "found " + found;
    if (!found.empty() && !expected.empty()) s += "; ";
    if (!expected.empty()) s += "expected " + expected;
    s += ')';
  }
  return s;
}

Error Error::msg(std::string message, std::string file) {
  Diagnostic d;
  d.file = std::move(file);
  d.message = std::move(message);
  return Error(std::move(d));
}

std::string Error::to_string() const {
  std::string s;
  for (const Diagnostic& d : items) {
    if (!s.empty()) s += '\n';
    s += d.to_string();
  }
  return s;
}

void assert_fail(const char* expr, const char* file, int line, const char* message) {
  std::fprintf(stderr,
               "CityTwin internal error (a bug, please report it): %s\n  %s:%d: CT_ASSERT(%s)\n",
               message, file, line, expr);
  std::fflush(stderr);
  std::abort();
}

}  // namespace citytwin
