#include <catch2/catch.hpp>

#include "citytwin/time.hpp"

using namespace citytwin;

TEST_CASE("durations and dates format compactly", "[time]") {
  CHECK(format_duration(0) == "0s");
  CHECK(format_duration(45'500) == "45.500s");
  CHECK(format_duration(3'723'000) == "1h02min03s");
  CHECK(format_duration(7'200'000) == "2h00min");
  CHECK(format_duration(90'000) == "1min30s");
  CHECK(seconds_ms(1.2345) == 1235);
  CHECK(format_rfc3339(0) == "1970-01-01T00:00:00Z");
  CHECK(format_rfc3339(1'790'000'000) == "2026-09-21T14:13:20Z");
}
