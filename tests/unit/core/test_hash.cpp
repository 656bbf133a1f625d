#include <catch2/catch.hpp>

#include <vector>

#include "citytwin/hash.hpp"

using namespace citytwin;

TEST_CASE("StateHasher is sensitive to every bit and to array boundaries", "[hash]") {
  std::vector<float> a(1001, 1.5f);
  StateHasher h1;
  h1.add(a);
  std::vector<float> b = a;
  b[1000] = std::nextafter(1.5f, 2.0f);  // one ulp in the tail (partial 8-byte word)
  StateHasher h2;
  h2.add(b);
  CHECK(h1.digest() != h2.digest());

  StateHasher h3;
  h3.add(a);
  CHECK(h1.digest() == h3.digest());

  // [x][yz] differs from [xy][z].
  StateHasher s1, s2;
  s1.add(std::vector<int>{1});
  s1.add(std::vector<int>{2, 3});
  s2.add(std::vector<int>{1, 2});
  s2.add(std::vector<int>{3});
  CHECK(s1.digest() != s2.digest());
  CHECK(hash_hex(0x1234) == "0000000000001234");
}
