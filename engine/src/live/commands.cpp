// Drill commands (docs/live.md "Commands"): JSON objects naming a scenario event type, checked
// by the scenario's own event parser, a run control (pause, resume, speed) or a fork.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <string_view>

#include "citytwin/live.hpp"

namespace citytwin::live {

namespace {

// A JSON value as a TOML value (inline arrays and tables); nullopt for null, which TOML lacks.
std::optional<std::string> to_toml(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::string:
    case nlohmann::json::value_t::boolean:
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
      return v.dump();  // JSON's strings, booleans and integers are TOML's
    case nlohmann::json::value_t::number_float: {
      const double x = v.get<double>();
      if (!std::isfinite(x)) return std::nullopt;
      std::string s = fmt::format("{}", x);
      if (s.find_first_of(".eE") == std::string::npos) s += ".0";
      return s;
    }
    case nlohmann::json::value_t::array: {
      std::vector<std::string> items;
      for (const auto& e : v) {
        auto t = to_toml(e);
        if (!t) return std::nullopt;
        items.push_back(std::move(*t));
      }
      return fmt::format("[{}]", fmt::join(items, ", "));
    }
    case nlohmann::json::value_t::object: {
      std::vector<std::string> items;
      for (const auto& [k, e] : v.items()) {
        auto t = to_toml(e);
        if (!t) return std::nullopt;
        items.push_back(fmt::format("{} = {}", nlohmann::json(k).dump(), *t));
      }
      return fmt::format("{{{}}}", fmt::join(items, ", "));
    }
    default:
      return std::nullopt;
  }
}

}  // namespace

Result<Command> parse_command(const ScenarioSpec& spec, std::string_view json, SimTime now) {
  const nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail(
        Error::msg("a command is a JSON object such as {\"id\": \"c1\", \"type\": "
                   "\"traffic.close\", \"edges\": [\"12\"]}"));
  Command c;
  c.text = std::string(json);
  if (const auto id = j.find("id"); id != j.end()) {
    if (!id->is_string()) return fail(Error::msg("\"id\" is not a string"));
    c.id = id->get<std::string>();
  }
  const auto type = j.find("type");
  if (type == j.end() || !type->is_string())
    return fail(Error::msg("\"type\" missing: pause, resume, speed or a scenario event type"));
  c.type = type->get<std::string>();
  if (j.contains("at"))
    return fail(Error::msg("\"at\": a command takes effect at the run's next macro step"));
  if (c.type == "pause" || c.type == "resume") return c;
  if (c.type == "traffic.scale_demand")
    return fail(Error::msg(
        "traffic.scale_demand applies when a scenario is compiled, not to a running twin: its "
        "count datastreams' calibrators steer the flows, or fork it with \"vary\""));
  if (c.type == "fork") {
    // As `citytwin fork`'s options; the fork checks them against the scenario when it starts.
    for (const auto& [key, v] : j.items()) {
      if (key == "id" || key == "type") continue;
      if (key == "members") {
        if (!v.is_number_integer() || v.get<std::int64_t>() < 1 || v.get<std::int64_t>() > 256)
          return fail(Error::msg("\"members\": a fork's members are a whole number, 1 to 256"));
        c.members = v.get<int>();
      } else if (key == "until" || key == "vary") {
        if (!v.is_string() || v.get<std::string>().empty())
          return fail(Error::msg(
              fmt::format("\"{}\": a string, as citytwin fork's --{} (\"{}\")", key, key,
                          key == "until" ? "+2h" : "flood.rain.intensity=0mm/h,30mm/h,60mm/h")));
        (key == "until" ? c.until : c.vary) = v.get<std::string>();
      } else {
        return fail(Error::msg(fmt::format(
            "\"{}\": a fork takes \"members\", \"until\" and \"vary\" (docs/live.md)", key)));
      }
    }
    if (!c.until.empty()) {
      const bool relative = c.until.front() == '+';
      const auto d = parse_duration(relative ? c.until.substr(1) : c.until);
      if (!d || *d <= 0)
        return fail(Error::msg(
            fmt::format("\"until\": \"{}\" is not +DURATION (from the fork) or DURATION (from "
                        "the start), e.g. \"+2h\"",
                        c.until)));
    }
    return c;
  }
  if (c.type == "speed") {
    const auto f = j.find("factor");
    if (f == j.end() || !f->is_number() || !(f->get<double>() > 0) ||
        !std::isfinite(f->get<double>()))
      return fail(Error::msg(
          "\"factor\": a speed command needs a positive factor (simulated s per wall s)"));
    c.factor = f->get<double>();
    return c;
  }
  // An event: the scenario's own parser checks it, as one [[event]] table.
  std::string text = fmt::format("[[event]]\nat = \"{}ms\"\n", now);
  for (const auto& [k, v] : j.items()) {
    if (k == "id") continue;
    auto t = to_toml(v);
    if (!t) return fail(Error::msg(fmt::format("\"{}\": null or not a finite number", k)));
    text += fmt::format("{} = {}\n", nlohmann::json(k).dump(), *t);
  }
  const std::string where = c.id.empty() ? "command" : "command " + c.id;
  auto events = parse_events(text, where, spec, builtin_domain_infos());
  if (!events) {
    // The parser located its findings in the TOML made above: name the command's own keys
    // instead (its lines and columns, and the table's name, mean nothing to the operator).
    Error e = events.error();
    for (Diagnostic& dg : e.items) {
      dg.line = dg.column = 0;
      constexpr std::string_view table = "event[1]";
      if (dg.field.starts_with(table))
        dg.field = dg.field.size() > table.size() + 1
                       ? nlohmann::json(dg.field.substr(table.size() + 1)).dump()
                       : std::string();
    }
    return fail(std::move(e));
  }
  c.events = std::move(*events);
  return c;
}

}  // namespace citytwin::live
