// Observation messages in: validation against the declared datastreams and the run's clock,
// and the late / duplicate / out-of-order policy (docs/live.md "Validation").
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "citytwin/live.hpp"

namespace citytwin::live {

std::string_view reject_name(Reject r) {
  static constexpr std::string_view k_names[k_reject_reasons] = {
      "bad_json", "bad_schema", "unknown_datastream", "wrong_unit", "out_of_range", "bad_time",
      "late",     "future",     "duplicate"};
  return k_names[static_cast<int>(r)];
}

std::expected<SimTime, std::string> observation_time(std::string_view text,
                                                     std::int64_t start_unix_s) {
  // A SensorThings interval "start/end" is taken at its end.
  if (const auto slash = text.find('/'); slash != std::string_view::npos)
    text = text.substr(slash + 1);
  const auto unix_ms = parse_rfc3339_ms(text);
  if (!unix_ms) return std::unexpected(unix_ms.error());
  return *unix_ms - start_unix_s * 1000;
}

ObservationIntake::ObservationIntake(const ScenarioSpec& spec)
    : m_spec(&spec), m_seen(spec.live.datastreams.size()) {
  const auto& ds = spec.live.datastreams;
  for (std::size_t i = 0; i < ds.size(); ++i) m_index.emplace(ds[i].id, static_cast<int>(i));
}

void ObservationIntake::advance(SimTime now) {
  for (std::vector<SimTime>& times : m_seen)
    times.erase(times.begin(), std::lower_bound(times.begin(), times.end(), now));
}

std::vector<ObservationIntake::Offered> ObservationIntake::offer(std::string_view payload,
                                                                 std::string_view topic_datastream,
                                                                 SimTime now) {
  std::vector<Offered> out;
  const nlohmann::json j = nlohmann::json::parse(payload, nullptr, false);
  if (j.is_array() && !j.empty()) {
    out.reserve(j.size());
    for (const nlohmann::json& e : j) out.push_back(offer_one(e, topic_datastream, now));
  } else {
    out.push_back(offer_one(j, topic_datastream, now));
  }
  return out;
}

ObservationIntake::Offered ObservationIntake::offer_one(const nlohmann::json& j,
                                                        std::string_view topic_datastream,
                                                        SimTime now) {
  auto refuse = [&](Reject r, std::string detail) {
    ++m_rejected[static_cast<int>(r)];
    return Offered{std::nullopt, r, std::move(detail)};
  };
  if (j.is_discarded() || !j.is_object())
    return refuse(Reject::bad_json, "not a JSON object (or a non-empty array of them)");
  const auto ds_it = j.find("datastream");
  const auto time_it = j.find("phenomenonTime");
  const auto result_it = j.find("result");
  if (ds_it == j.end() || !ds_it->is_string())
    return refuse(Reject::bad_schema, "\"datastream\" missing or not a string");
  if (time_it == j.end() || !time_it->is_string())
    return refuse(Reject::bad_schema, "\"phenomenonTime\" missing or not a string");
  if (result_it == j.end() || !(result_it->is_number() || result_it->is_boolean()))
    return refuse(Reject::bad_schema, "\"result\" missing or not a number");
  const std::string id = ds_it->get<std::string>();
  if (!topic_datastream.empty() && id != topic_datastream)
    return refuse(
        Reject::bad_schema,
        fmt::format("the topic names datastream \"{}\", the message \"{}\"", topic_datastream, id));
  const auto found = m_index.find(id);
  if (found == m_index.end())
    return refuse(Reject::unknown_datastream, fmt::format("no datastream \"{}\"", id));
  const DatastreamSpec& ds = m_spec->live.datastreams[static_cast<std::size_t>(found->second)];

  double value =
      result_it->is_boolean() ? (result_it->get<bool>() ? 1.0 : 0.0) : result_it->get<double>();
  if (result_it->is_boolean() && ds.kind != SensorKind::status)
    return refuse(Reject::bad_schema, "a boolean result is for status datastreams");
  if (const auto unit_it = j.find("unit"); unit_it != j.end()) {
    if (!unit_it->is_string()) return refuse(Reject::bad_schema, "\"unit\" is not a string");
    const std::string unit = unit_it->get<std::string>();
    if (const auto q = sensor_kind_quantity(ds.kind)) {
      const auto f = unit_factor(unit, *q);
      if (!f)
        return refuse(Reject::wrong_unit, fmt::format("\"{}\" for datastream \"{}\" ({}): {}", unit,
                                                      id, sensor_kind_name(ds.kind), f.error()));
      value = value * *f / ds.unit_si;  // into the datastream's unit
    } else if (unit != ds.unit) {
      return refuse(Reject::wrong_unit,
                    fmt::format("\"{}\" for datastream \"{}\", which takes {}", unit, id,
                                ds.unit.empty() ? "no unit" : ds.unit));
    }
  }
  if (!std::isfinite(value) || value < ds.lo || value > ds.hi ||
      (ds.kind == SensorKind::status && value != 0 && value != 1))
    return refuse(Reject::out_of_range, fmt::format("{} {} outside [{}, {}] of datastream \"{}\"",
                                                    value, ds.unit, ds.lo, ds.hi, id));

  const std::string time = time_it->get<std::string>();
  const auto at_or = observation_time(time, m_spec->run.start_unix_s);
  if (!at_or) return refuse(Reject::bad_time, fmt::format("\"{}\": {}", time, at_or.error()));
  const SimTime at = *at_or;
  if (at < now)
    return refuse(Reject::late,
                  fmt::format("{} is before the step at {}", time, format_duration(now)));
  if (at - now > m_spec->live.max_ahead)
    return refuse(Reject::future,
                  fmt::format("{} is more than live.max_ahead ({}) ahead of {}", time,
                              format_duration(m_spec->live.max_ahead), format_duration(now)));
  std::vector<SimTime>& seen = m_seen[static_cast<std::size_t>(found->second)];
  const auto same = std::lower_bound(seen.begin(), seen.end(), at);
  if (same != seen.end() && *same == at)
    return refuse(Reject::duplicate,
                  fmt::format("datastream \"{}\" already has an observation at {}", id, time));
  seen.insert(same, at);
  ++m_accepted;
  return {Observation{now, at, found->second, value}, {}, {}};
}

}  // namespace citytwin::live
