// Counter-based random numbers (STYLE.md section 5): every draw is a pure function of
// (seed, stream, entity, step, index), so no draw depends on thread scheduling or on how many
// draws other entities made. The generator is Philox4x32-10 (Salmon, Moraes, Dror, Shaw,
// "Parallel random numbers: as easy as 1, 2, 3", SC'11), which passes BigCrush.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

namespace citytwin {

/// Which subsystem draws: keeps e.g. traffic and power draws independent for the same entity.
enum class RngStream : std::uint32_t {
  test = 0,
  traffic_demand = 1,
  traffic_driver = 2,
  power = 3,
  flood = 4,
  sensors = 5,
  coupling = 6,
  batch = 7,
  fork = 8,  ///< the seeds of a fork's members (citytwin fork)
};

/// Philox4x32-10 applied to a 128-bit counter with a 64-bit key; returns 4 random words.
constexpr std::array<std::uint32_t, 4> philox4x32(std::array<std::uint32_t, 4> ctr,
                                                  std::array<std::uint32_t, 2> key) {
  constexpr std::uint32_t m0 = 0xD2511F53u, m1 = 0xCD9E8D57u;
  constexpr std::uint32_t w0 = 0x9E3779B9u, w1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    const std::uint64_t p0 = static_cast<std::uint64_t>(m0) * ctr[0];
    const std::uint64_t p1 = static_cast<std::uint64_t>(m1) * ctr[2];
    ctr = {static_cast<std::uint32_t>(p1 >> 32) ^ ctr[1] ^ key[0], static_cast<std::uint32_t>(p1),
           static_cast<std::uint32_t>(p0 >> 32) ^ ctr[3] ^ key[1], static_cast<std::uint32_t>(p0)};
    key = {key[0] + w0, key[1] + w1};
  }
  return ctr;
}

/// A keyed random source for one (seed, stream, entity, step); index selects the draw.
class Rng {
 public:
  constexpr Rng(std::uint64_t seed, RngStream stream, std::uint64_t entity, std::uint64_t step)
      : m_key{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)},
        m_entity(entity),
        m_step_stream((step << 8) ^ static_cast<std::uint64_t>(stream)) {}

  /// 64 random bits for draw `index` (two draws per Philox block are used).
  constexpr std::uint64_t u64(std::uint32_t index) const {
    const auto r = philox4x32(
        {static_cast<std::uint32_t>(m_entity), static_cast<std::uint32_t>(m_entity >> 32),
         static_cast<std::uint32_t>(m_step_stream) ^ (index * 0x9E3779B9u),
         static_cast<std::uint32_t>(m_step_stream >> 32) + index},
        m_key);
    return (static_cast<std::uint64_t>(r[0]) << 32) | r[1];
  }
  /// Uniform in [0, 1) with 53 random bits.
  constexpr double uniform(std::uint32_t index) const {
    return static_cast<double>(u64(index) >> 11) * 0x1.0p-53;
  }
  /// Standard normal by the Box-Muller transform of draws 2*index and 2*index+1.
  double normal(std::uint32_t index) const {
    const double u1 = 1.0 - uniform(2 * index);  // (0, 1], so log() is finite
    const double u2 = uniform(2 * index + 1);
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  std::array<std::uint32_t, 2> m_key;
  std::uint64_t m_entity;
  std::uint64_t m_step_stream;
};

}  // namespace citytwin
