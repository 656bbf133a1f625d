// Observations in (docs/live.md "Validation"): each refusal reason, the late / duplicate /
// out-of-order policy, unit conversion; and the [live] / [[sensors.datastream]] keys' errors.
#include <catch2/catch.hpp>

#include "citytwin/live.hpp"

using namespace citytwin;
using namespace citytwin::live;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

// start 08:00Z; a gauge in cm (0-500), a detector count (0-200), a breaker's status.
constexpr const char* k_scenario = R"(
[scenario]
start = "2026-06-01T08:00:00Z"
duration = "1h"
[live]
max_ahead = "10min"
[[sensors.datastream]]
id = "gauge"
kind = "water_depth"
at = [10, 20]
unit = "cm"
range = [0, 500]
[[sensors.datastream]]
id = "loop-7"
kind = "traffic_count"
entity = "det7"
range = [0, 200]
[[sensors.datastream]]
id = "breaker"
kind = "status"
entity = "branch:4"
)";

ScenarioSpec spec_of(const std::string& text) {
  auto s = parse_scenario(text, "s.toml", {});
  if (!s) FAIL(s.error().to_string());
  return *s;
}

// The error a command that must be refused gets.
std::string command_error(const ScenarioSpec& spec, const char* json) {
  auto c = parse_command(spec, json, 0);
  REQUIRE_FALSE(c);
  return c.error().to_string();
}

std::string obs(const std::string& ds, const std::string& time, const std::string& result,
                const std::string& extra = "") {
  return "{\"datastream\": \"" + ds + "\", \"phenomenonTime\": \"" + time +
         "\", \"result\": " + result + extra + "}";
}

// A message of one observation: what became of it.
ObservationIntake::Offered offer(ObservationIntake& in, const std::string& payload, SimTime now,
                                 const std::string& topic = "") {
  auto o = in.offer(payload, topic, now);
  REQUIRE(o.size() == 1);
  return o[0];
}

}  // namespace

TEST_CASE("valid observations are accepted in the datastream's unit", "[live]") {
  const ScenarioSpec spec = spec_of(k_scenario);
  ObservationIntake in(spec);
  auto a = offer(in, obs("gauge", "2026-06-01T08:00:10.250Z", "12.5"), 10'000);
  REQUIRE(a.accepted);
  CHECK(a.accepted->datastream == 0);
  CHECK(a.accepted->phenomenon == 10'250);  // milliseconds kept
  CHECK(a.accepted->received == 10'000);
  CHECK(a.accepted->value == 12.5);
  // A unit of the same quantity is converted: 0.3 m is 30 cm.
  auto b = offer(in, obs("gauge", "2026-06-01T10:00:20+02:00", "0.3", ", \"unit\": \"m\""), 10'000);
  REQUIRE(b.accepted);
  CHECK(b.accepted->phenomenon == 20'000);  // the zone offset applies
  CHECK(b.accepted->value == Approx(30.0).epsilon(1e-12));
  // A SensorThings interval is taken at its end; booleans for status datastreams.
  auto c = offer(in, obs("loop-7", "2026-06-01T08:00:00Z/2026-06-01T08:01:00Z", "17"), 10'000);
  REQUIRE(c.accepted);
  CHECK(c.accepted->phenomenon == 60'000);
  auto d = offer(in, obs("breaker", "2026-06-01T08:00:30Z", "false"), 10'000);
  REQUIRE(d.accepted);
  CHECK(d.accepted->value == 0.0);
  CHECK(in.accepted() == 4);
}

TEST_CASE("each malformed message is refused under its reason", "[live]") {
  const ScenarioSpec spec = spec_of(k_scenario);
  ObservationIntake in(spec);
  const SimTime now = 60'000;  // 08:01:00
  const std::string t = "2026-06-01T08:02:00Z";
  struct Case {
    std::string payload, topic;
    Reject reason;
    std::string detail;
  };
  const Case cases[] = {
      {"{not json", "", Reject::bad_json, "not a JSON object"},
      {"42", "", Reject::bad_json, "not a JSON object"},
      {"{\"datastream\": \"gauge\", \"result\": 1}", "", Reject::bad_schema, "phenomenonTime"},
      {"{\"datastream\": \"gauge\", \"phenomenonTime\": \"" + t + "\"}", "", Reject::bad_schema,
       "result"},
      {obs("gauge", t, "\"deep\""), "", Reject::bad_schema, "result"},
      {obs("gauge", t, "true"), "", Reject::bad_schema, "boolean"},
      {obs("gauge", t, "1"), "loop-7", Reject::bad_schema, "the topic names"},
      {obs("nope", t, "1"), "", Reject::unknown_datastream, "nope"},
      {obs("gauge", t, "1", ", \"unit\": \"kW\""), "", Reject::wrong_unit, "mm, cm, m, km"},
      {obs("loop-7", t, "1", ", \"unit\": \"veh/h\""), "", Reject::wrong_unit, "veh"},
      {obs("gauge", t, "501"), "", Reject::out_of_range, "[0, 500]"},
      {obs("gauge", t, "-0.1"), "", Reject::out_of_range, "outside"},
      {obs("gauge", t, "6", ", \"unit\": \"m\""), "", Reject::out_of_range, "600"},
      {obs("breaker", t, "0.5"), "", Reject::out_of_range, "outside"},
      {obs("gauge", "08:02", "1"), "", Reject::bad_time, "RFC 3339"},
      {obs("gauge", "2026-06-01T08:02:00", "1"), "", Reject::bad_time, "time zone"},
      {obs("gauge", "2026-06-01T08:00:59.999Z", "1"), "", Reject::late, "before the step"},
      {obs("gauge", "2026-06-01T08:11:00.001Z", "1"), "", Reject::future, "max_ahead"},
  };
  std::array<std::int64_t, k_reject_reasons> expected{};
  for (const Case& c : cases) {
    INFO(c.payload);
    auto o = offer(in, c.payload, now, c.topic);
    CHECK_FALSE(o.accepted);
    CHECK(reject_name(o.reason) == reject_name(c.reason));
    CHECK_THAT(o.why, Contains(c.detail));
    ++expected[static_cast<int>(c.reason)];
  }
  CHECK(in.rejected() == expected);
  CHECK(in.accepted() == 0);
}

TEST_CASE("late, duplicate and out-of-order observations follow the policy", "[live]") {
  const ScenarioSpec spec = spec_of(k_scenario);
  ObservationIntake in(spec);
  // Out of order within what is still ahead: both accepted.
  CHECK(offer(in, obs("gauge", "2026-06-01T08:00:50Z", "3"), 30'000).accepted);
  CHECK(offer(in, obs("gauge", "2026-06-01T08:00:40Z", "2"), 30'000).accepted);
  // The same datastream and time again (a QoS 1 redelivery): a duplicate, even with another
  // value; another datastream at that time is not.
  auto dup = offer(in, obs("gauge", "2026-06-01T08:00:40Z", "9"), 30'000);
  CHECK(reject_name(dup.reason) == "duplicate");
  CHECK(offer(in, obs("loop-7", "2026-06-01T08:00:40Z", "9"), 30'000).accepted);
  // Once the clock has passed it, the same message is late (the step it belonged to is taken).
  in.advance(45'000);
  auto late = offer(in, obs("gauge", "2026-06-01T08:00:40Z", "2"), 45'000);
  CHECK(reject_name(late.reason) == "late");
  // Exactly at the clock is on time; max_ahead is inclusive.
  CHECK(offer(in, obs("gauge", "2026-06-01T08:00:45Z", "1"), 45'000).accepted);
  CHECK(offer(in, obs("gauge", "2026-06-01T08:10:45Z", "1"), 45'000).accepted);
  CHECK(in.accepted() == 5);
}

TEST_CASE("a batch message: each observation checked on its own", "[live]") {
  const ScenarioSpec spec = spec_of(k_scenario);
  ObservationIntake in(spec);
  // Three gauge readings, the second out of range, and one naming another datastream.
  std::string batch = "[";
  for (const std::string& o :
       {obs("gauge", "2026-06-01T08:00:10Z", "1"), obs("gauge", "2026-06-01T08:00:20Z", "900"),
        obs("gauge", "2026-06-01T08:00:30Z", "3"), obs("loop-7", "2026-06-01T08:00:30Z", "3")})
    batch.append(o).append(", ");
  batch.append("7]");
  const auto o = in.offer(batch, "gauge", 5'000);
  REQUIRE(o.size() == 5);
  CHECK(o[0].accepted);
  CHECK(o[1].reason == Reject::out_of_range);
  REQUIRE(o[2].accepted);
  CHECK(o[2].accepted->phenomenon == 30'000);
  CHECK(o[3].reason == Reject::bad_schema);  // the topic names gauge
  CHECK(o[4].reason == Reject::bad_json);
  CHECK(in.accepted() == 2);
  // An empty array is no observation.
  const auto empty = in.offer("[]", "", 5'000);
  REQUIRE(empty.size() == 1);
  CHECK(empty[0].reason == Reject::bad_json);
}

TEST_CASE("the scenario's [live] and datastream keys are checked", "[live]") {
  auto errors = [](const std::string& text) {
    auto s = parse_scenario(text, "s.toml", {});
    REQUIRE_FALSE(s);
    return s.error().to_string();
  };
  CHECK_THAT(errors("[[sensors.datastream]]\nid = \"a\"\nkind = \"radar\"\nentity = \"x\"\n"),
             Contains("unknown datastream kind") && Contains("water_depth"));
  CHECK_THAT(errors("[[sensors.datastream]]\nid = \"a/b\"\nkind = \"status\"\nentity = \"x\"\n"),
             Contains("MQTT topic level"));
  CHECK_THAT(errors("[[sensors.datastream]]\nid = \"g\"\nkind = \"water_depth\"\nunit = \"m\"\n"),
             Contains("needs where its gauge stands"));
  CHECK_THAT(errors("[[sensors.datastream]]\nid = \"g\"\nkind = \"active_power\"\n"
                    "entity = \"s1\"\nunit = \"mm\"\n"),
             Contains("not a unit of a active_power") && Contains("kW"));
  CHECK_THAT(errors("[[sensors.datastream]]\nid = \"g\"\nkind = \"status\"\nentity = \"x\"\n"
                    "[[sensors.datastream]]\nid = \"g\"\nkind = \"status\"\nentity = \"y\"\n"),
             Contains("another datastream has this id"));
  CHECK_THAT(errors("[[sensors.datastream]]\nid = \"g\"\nkind = \"traffic_speed\"\n"
                    "entity = \"d\"\nunit = \"km/h\"\nrange = [5, 1]\n"),
             Contains("lower bound"));
  CHECK_THAT(errors("[[sensors.datastream]]\nid = \"c\"\nkind = \"traffic_count\"\n"
                    "entity = \"d\"\nperiod = \"0s\"\n"),
             Contains("period"));
  CHECK_THAT(errors("[[sensors.datastream]]\nid = \"c\"\nkind = \"traffic_count\"\n"
                    "entity = \"d\"\nreserve = -1\n"),
             Contains("reserve"));
  CHECK_THAT(errors("[[sensors.datastream]]\nid = \"g\"\nkind = \"water_depth\"\n"
                    "at = [1, 2]\nunit = \"m\"\nperiod = \"1min\"\n"),
             Contains("period"));  // a gauge reads a level, not a count over a period
  CHECK_THAT(errors("[live]\nbroker = \"tcp://x:1\"\n"), Contains("mqtts://host:port"));
  CHECK_THAT(errors("[live]\npassword = \"hunter2\"\n"),
             Contains("never read from the scenario") && Contains("CITYTWIN_MQTT_PASSWORD"));
}

TEST_CASE("fork commands take citytwin fork's options and refuse the rest", "[live]") {
  const ScenarioSpec spec = spec_of(k_scenario);
  auto cmd = parse_command(
      spec, R"({"id": "f1", "type": "fork", "members": 3, "until": "+2h", "vary": "k=1,2,3"})", 0);
  REQUIRE(cmd);
  CHECK(cmd->type == "fork");
  CHECK(cmd->members == 3);
  CHECK(cmd->until == "+2h");
  CHECK(cmd->vary == "k=1,2,3");
  auto bare = parse_command(spec, R"({"id": "f2", "type": "fork"})", 0);
  REQUIRE(bare);
  CHECK(bare->members == 0);
  CHECK(bare->until.empty());
  CHECK_THAT(command_error(spec, R"({"type": "fork", "members": 0})"), Contains("1 to 256"));
  CHECK_THAT(command_error(spec, R"({"type": "fork", "members": 2.5})"), Contains("whole number"));
  CHECK_THAT(command_error(spec, R"({"type": "fork", "until": "soon"})"), Contains("+DURATION"));
  CHECK_THAT(command_error(spec, R"({"type": "fork", "vary": 3})"), Contains("--vary"));
  CHECK_THAT(command_error(spec, R"({"type": "fork", "seeds": 3})"),
             Contains("\"members\", \"until\" and"));
  // Demand scaling is a compile-time transform: a running twin refuses it rather than ack a no-op.
  CHECK_THAT(command_error(spec, R"({"type": "traffic.scale_demand", "factor": 1.2})"),
             Contains("not to a running twin"));
}

TEST_CASE("an event command's errors name its JSON keys, not the TOML it is checked as", "[live]") {
  const ScenarioSpec spec = spec_of(k_scenario);
  // The scenario has no traffic section: the key is unknown and the type names no domain.
  const std::string e = command_error(spec, R"({"id": "c2", "type": "traffic.close", "edges": 3})");
  CHECK_THAT(e, StartsWith("command c2: \"edges\": unknown key"));
  CHECK_THAT(e, Contains("command c2: \"type\": no such domain"));
  CHECK_THAT(e, !Contains("event[1]") && !Contains("c2:3") && !Contains("c2:4"));
  CHECK_THAT(command_error(spec, R"({"type": "explode"})"),
             StartsWith("command: \"type\": no such domain") && Contains("\"explode\""));
}
