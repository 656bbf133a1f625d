#include <catch2/catch.hpp>

#include <cmath>

#include "citytwin/rng.hpp"

using namespace citytwin;

TEST_CASE("Philox4x32-10 matches the Random123 known-answer vectors", "[rng]") {
  // Known-answer tests from Random123's kat_vectors (philox4x32_10).
  auto r = philox4x32({0, 0, 0, 0}, {0, 0});
  CHECK(r == std::array<std::uint32_t, 4>{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u});
  r = philox4x32({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu});
  CHECK(r == std::array<std::uint32_t, 4>{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu});
  r = philox4x32({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u});
  CHECK(r == std::array<std::uint32_t, 4>{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u});
}

TEST_CASE("Rng draws depend only on their key", "[rng]") {
  const Rng a(42, RngStream::traffic_demand, 7, 100);
  const Rng b(42, RngStream::traffic_demand, 7, 100);
  const Rng other_entity(42, RngStream::traffic_demand, 8, 100);
  const Rng other_stream(42, RngStream::power, 7, 100);
  CHECK(a.u64(3) == b.u64(3));
  CHECK(a.u64(3) != a.u64(4));
  CHECK(a.u64(3) != other_entity.u64(3));
  CHECK(a.u64(3) != other_stream.u64(3));
}

TEST_CASE("Rng uniform and normal have the right moments", "[rng]") {
  // 200k draws: the standard error of the mean is 0.29/sqrt(2e5) = 6.5e-4 for U(0,1) and
  // 2.2e-3 for N(0,1); tolerances are about 5 standard errors.
  const int n = 200'000;
  double su = 0, su2 = 0, sn = 0, sn2 = 0;
  for (int i = 0; i < n; ++i) {
    const Rng r(1, RngStream::test, std::uint64_t(i), 0);
    const double u = r.uniform(0);
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    su += u;
    su2 += u * u;
    const double z = r.normal(1);
    sn += z;
    sn2 += z * z;
  }
  CHECK(std::abs(su / n - 0.5) < 3.3e-3);
  CHECK(std::abs(su2 / n - su / n * (su / n) - 1.0 / 12) < 2e-3);
  CHECK(std::abs(sn / n) < 1.1e-2);
  CHECK(std::abs(sn2 / n - 1.0) < 1.6e-2);
}
