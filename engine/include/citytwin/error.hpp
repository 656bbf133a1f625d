// Errors, the three kinds (DESIGN.md "Errors, three kinds"):
//  1. broken invariants -> CT_ASSERT (aborts with a message; on unless CITYTWIN_ASSERTS=OFF);
//  2. bad input         -> a returned Error naming file, line, column, field, found, expected;
//  3. numerical trouble -> counted in the domain state, reported at the end (not here).
#pragma once

#include <expected>
#include <string>
#include <vector>

namespace citytwin {

/// One problem with the user's input, located as precisely as the input format allows.
struct Diagnostic {
  std::string file;      ///< path of the file, as the user named it (empty if none)
  int line = 0;          ///< 1-based line, 0 when unknown
  int column = 0;        ///< 1-based column, 0 when unknown
  std::string field;     ///< dotted key or field name, e.g. "flood.manning"
  std::string message;   ///< what is wrong, one sentence
  std::string found;     ///< what was found (may be empty)
  std::string expected;  ///< what was expected (may be empty)

  /// "file:line:col: field: message (found X; expected Y)".
  std::string to_string() const;
  /// A diagnostic at `file` (a path, or "file:line" as SectionReader::where() gives), line
  /// `line` (0: unknown or already in `file`).
  static Diagnostic at(std::string file, int line, std::string field, std::string message,
                       std::string found = {}, std::string expected = {});
};

/// A failed operation: one or more diagnostics (a scenario reports all its errors at once).
struct Error {
  std::vector<Diagnostic> items;

  Error() = default;
  explicit Error(Diagnostic d) { items.push_back(std::move(d)); }
  /// An error with only a message (and optionally the file it concerns).
  static Error msg(std::string message, std::string file = {});

  /// All diagnostics, one per line.
  std::string to_string() const;
  /// The first diagnostic (an Error is never empty when returned).
  const Diagnostic& first() const { return items.front(); }
};

/// The result of anything that reads user input.
template <class T>
using Result = std::expected<T, Error>;

/// Shorthand for returning an error from a function returning Result<T>.
inline std::unexpected<Error> fail(Diagnostic d) {
  return std::unexpected(Error(std::move(d)));
}
inline std::unexpected<Error> fail(Error e) {
  return std::unexpected(std::move(e));
}

[[noreturn]] void assert_fail(const char* expr, const char* file, int line, const char* message);

}  // namespace citytwin

#if defined(CITYTWIN_ASSERTS)
/// Checks an invariant; a failure is a bug in CityTwin, never a user error.
#define CT_ASSERT(cond, message)                                              \
  do {                                                                        \
    if (!(cond)) ::citytwin::assert_fail(#cond, __FILE__, __LINE__, message); \
  } while (false)
#else
#define CT_ASSERT(cond, message) \
  do {                           \
  } while (false)
#endif
