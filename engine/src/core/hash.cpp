#include "citytwin/hash.hpp"

#include <fmt/format.h>

#include <cstring>

namespace citytwin {

namespace {
// The 64-bit finaliser of MurmurHash3 (Appleby), a strong bijective mixer.
constexpr std::uint64_t mix(std::uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  k ^= k >> 33;
  return k;
}
}  // namespace

void StateHasher::bytes(const void* data, std::size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint64_t h = m_state;
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = mix(h ^ w) + 0x9E3779B97F4A7C15ull;
  }
  if (i < size) {
    std::uint64_t w = 0;
    std::memcpy(&w, p + i, size - i);
    h = mix(h ^ w ^ (static_cast<std::uint64_t>(size - i) << 56)) + 0x9E3779B97F4A7C15ull;
  }
  m_state = h;
  m_length += size;
}

std::uint64_t StateHasher::digest() const {
  return mix(m_state ^ m_length);
}

std::string hash_hex(std::uint64_t h) {
  return fmt::format("{:016x}", h);
}

}  // namespace citytwin
