#include <catch2/catch.hpp>

#include "citytwin/spec.hpp"

using namespace citytwin;
using Catch::Matchers::Contains;

TEST_CASE("quantities convert to SI", "[spec][units]") {
  CHECK(*parse_quantity("5m", Quantity::length) == 5.0);
  CHECK(*parse_quantity("2.5 km", Quantity::length) == 2500.0);
  CHECK(*parse_quantity("80mm/h", Quantity::intensity) == Approx(80e-3 / 3600).epsilon(1e-15));
  CHECK(*parse_quantity("50km/h", Quantity::speed) == Approx(13.888888888888889));
  CHECK(*parse_quantity("100m3/s", Quantity::discharge) == 100.0);
  CHECK(*parse_quantity("1.5MW", Quantity::power) == 1.5e6);
  CHECK(*parse_quantity("-2m", Quantity::length) == -2.0);
  CHECK_THAT(parse_quantity("5", Quantity::length).error(), Contains("unit"));
  CHECK_THAT(parse_quantity("5 furlongs", Quantity::length).error(), Contains("mm, cm, m, km"));
  CHECK_THAT(parse_quantity("80mm/h", Quantity::length).error(), Contains("known unit"));
  CHECK(!parse_quantity("m", Quantity::length));
}

TEST_CASE("durations are integer milliseconds", "[spec][units]") {
  CHECK(*parse_duration("90s") == 90'000);
  CHECK(*parse_duration("2h") == 7'200'000);
  CHECK(*parse_duration("1h30min") == 5'400'000);
  CHECK(*parse_duration("250ms") == 250);
  CHECK(*parse_duration("0.5s") == 500);
  CHECK(*parse_duration("1d") == 86'400'000);
  CHECK_THAT(parse_duration("5m").error(), Contains("\"min\" for minutes"));
  CHECK(!parse_duration("0.0001s"));  // not a whole millisecond
  CHECK(!parse_duration("-1s"));
  CHECK(!parse_duration("soon"));
  // Once overflowed to INT64_MIN (a run that "simulated 0 s"): now bounded, with the limit.
  CHECK_THAT(parse_duration("1e20s").error(), Contains("at most 1000 years"));
  CHECK_THAT(parse_duration("1e308min").error(), Contains("at most 1000 years"));
  CHECK(!parse_duration("1e309s"));  // inf
  CHECK(*parse_duration("8766000h") == 8'766'000LL * 3'600'000);
}

TEST_CASE("RFC 3339 date-times", "[spec][units]") {
  CHECK(*parse_rfc3339("1970-01-01T00:00:00Z") == 0);
  CHECK(*parse_rfc3339("2026-01-01T00:00:00Z") == 1'767'225'600);
  CHECK(*parse_rfc3339("2026-01-01T02:00:00+02:00") == 1'767'225'600);
  CHECK(*parse_rfc3339("2024-02-29T12:00:00.250Z") == 1'709'208'000);
  CHECK(!parse_rfc3339("2026-01-01T00:00:00"));  // no zone
  CHECK(!parse_rfc3339("2026-13-01T00:00:00Z"));
  CHECK(!parse_rfc3339("yesterday"));
}

TEST_CASE("local time of day follows the zone written in scenario.start", "[spec][units]") {
  int offset = 0;
  CHECK(*parse_rfc3339("2026-06-15T07:00:00+02:00", &offset) == 1'781'499'600);
  CHECK(offset == 7200);
  RunSpec run;
  run.start_unix_s = 1'781'499'600;
  run.start_utc_offset_s = offset;
  CHECK(run.local_second_of_day(0) == 7 * 3600);
  CHECK(run.local_second_of_day(3'600'000) == 8 * 3600);
  CHECK(run.local_second_of_day(18 * 3'600'000) == 1 * 3600);  // wraps past midnight
}
