// State hashing for determinism tests and checkpoints: a 64-bit hash over the exact bytes of
// every array in a state. Equal hashes across thread counts mean bit-identical states.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace citytwin {

/// Incremental 64-bit hash (8 bytes per round, multiply-xorshift mixing; not cryptographic).
class StateHasher {
 public:
  /// Mixes in raw bytes.
  void bytes(const void* data, std::size_t size);

  /// Mixes in a trivially copyable value or array, with its length so [a][b] != [ab].
  template <class T>
  requires std::is_trivially_copyable_v<T>
  void add(const T& value) { bytes(&value, sizeof(T)); }
  template <class T>
  requires std::is_trivially_copyable_v<T>
  void add(std::span<const T> values) {
    add(static_cast<std::uint64_t>(values.size()));
    bytes(values.data(), values.size_bytes());
  }
  template <class T>
  void add(const std::vector<T>& values) {
    add(std::span<const T>(values));
  }
  void add(std::string_view text) {
    add(static_cast<std::uint64_t>(text.size()));
    bytes(text.data(), text.size());
  }

  std::uint64_t digest() const;

 private:
  std::uint64_t m_state = 0x243F6A8885A308D3ull;
  std::uint64_t m_length = 0;
};

/// "0123456789abcdef".
std::string hash_hex(std::uint64_t h);

}  // namespace citytwin
