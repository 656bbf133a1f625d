// A state's persistent fields, listed once and walked three ways: into the state hash, into a
// checkpoint (StateOut) and back out of one (StateIn). A field left off the list is left out
// of both, so the resume tests (a resumed run equals the one never stopped) catch it.
//
// Each state lists its fields in one static template `fields(A& a, S& s)`, used for both
// directions: it calls a.field(name, member) for numbers, strings and vectors of numbers, and
// a.each(name, vector, function) for vectors of structs, whose function lists the struct's own
// fields the same way. S is the const state for StateOut and the state for StateIn (see
// DiffusionState in tests/support or FloodDomainState). Numbers and arrays of numbers go as
// their bytes; structs go field by field (their padding is never hashed or stored).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "citytwin/hash.hpp"

namespace citytwin {

/// Types stored as their bytes: numbers, enums, and structs without padding.
template <class T>
concept PlainField = std::is_arithmetic_v<T> || std::is_enum_v<T> ||
    (std::is_trivially_copyable_v<T>&& std::has_unique_object_representations_v<T>);

/// Writes fields into a byte buffer (a checkpoint) or a hasher (the state hash).
class StateOut {
 public:
  static constexpr bool loading = false;
  explicit StateOut(std::vector<std::byte>& buffer) : m_buffer(&buffer) {}
  explicit StateOut(StateHasher& hasher) : m_hasher(&hasher) {}

  template <PlainField T>
  void field(std::string_view /*name*/, const T& value) {
    put(&value, sizeof(T));
  }
  template <PlainField T>
  void field(std::string_view /*name*/, const std::vector<T>& values) {
    count(values.size());
    put(values.data(), values.size() * sizeof(T));
  }
  void field(std::string_view /*name*/, const std::string& text) {
    count(text.size());
    put(text.data(), text.size());
  }
  /// A vector of structs, each through `f(*this, element)`.
  template <class T, class F>
  void each(std::string_view /*name*/, const std::vector<T>& values, F&& f) {
    count(values.size());
    for (const T& v : values) f(*this, v);
  }

 private:
  void count(std::size_t n) {
    const auto c = static_cast<std::uint64_t>(n);
    put(&c, sizeof c);
  }
  void put(const void* data, std::size_t size) {
    if (m_hasher) {
      m_hasher->bytes(data, size);
      return;
    }
    const auto* p = static_cast<const std::byte*>(data);
    m_buffer->insert(m_buffer->end(), p, p + size);
  }
  std::vector<std::byte>* m_buffer = nullptr;
  StateHasher* m_hasher = nullptr;
};

/// Reads fields back from a checkpoint's bytes, in the order StateOut wrote them. A short or
/// inconsistent buffer (a damaged file, another version's layout) never reads past its end:
/// the first field that does not fit is remembered (failed(), error()) and every field after
/// it is left as it was.
class StateIn {
 public:
  static constexpr bool loading = true;
  explicit StateIn(const std::vector<std::byte>& buffer)
      : m_data(buffer.data()), m_size(buffer.size()) {}

  template <PlainField T>
  void field(std::string_view name, T& value) {
    take(name, &value, sizeof(T));
  }
  template <PlainField T>
  void field(std::string_view name, std::vector<T>& values) {
    std::size_t n = 0;
    if (!count(name, sizeof(T), n)) return;
    values.resize(n);
    take(name, values.data(), n * sizeof(T));
  }
  void field(std::string_view name, std::string& text) {
    std::size_t n = 0;
    if (!count(name, 1, n)) return;
    text.resize(n);
    take(name, text.data(), n);
  }
  template <class T, class F>
  void each(std::string_view name, std::vector<T>& values, F&& f) {
    std::size_t n = 0;
    if (!count(name, 1, n)) return;
    values.resize(n);
    for (T& v : values) {
      if (failed()) return;
      f(*this, v);
    }
  }

  bool failed() const { return !m_error.empty(); }
  /// Every byte was read (a longer buffer is another layout).
  bool at_end() const { return m_pos == m_size; }
  std::size_t left() const { return m_size - m_pos; }
  /// "field veh_pos: needs 4096 bytes, 12 left".
  const std::string& error() const { return m_error; }

 private:
  // A count, checked against the bytes left (each element takes at least min_bytes).
  bool count(std::string_view name, std::size_t min_bytes, std::size_t& n) {
    std::uint64_t c = 0;
    if (!take(name, &c, sizeof c)) return false;
    if (c > (m_size - m_pos) / min_bytes) {
      fail(name, "holds " + std::to_string(c) + " values of at least " + std::to_string(min_bytes) +
                     " bytes, more than the " + std::to_string(m_size - m_pos) + " bytes left");
      return false;
    }
    n = static_cast<std::size_t>(c);
    return true;
  }
  bool take(std::string_view name, void* out, std::size_t size) {
    if (failed()) return false;
    if (size > m_size - m_pos) {
      fail(name,
           "needs " + std::to_string(size) + " bytes, " + std::to_string(m_size - m_pos) + " left");
      return false;
    }
    if (size > 0) std::memcpy(out, m_data + m_pos, size);
    m_pos += size;
    return true;
  }
  void fail(std::string_view name, const std::string& what) {
    m_error = "field " + std::string(name) + ": " + what;
  }

  const std::byte* m_data;
  std::size_t m_size;
  std::size_t m_pos = 0;
  std::string m_error;
};

}  // namespace citytwin
