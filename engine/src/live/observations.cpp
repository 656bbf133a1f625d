// Observation messages in: validation against the declared datastreams and the run's clock,
// and the late / duplicate / out-of-order policy (docs/live.md "Validation").
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <iterator>

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
  return admit(check(payload, topic_datastream), now);
}

CheckedMessage ObservationIntake::check(std::string_view payload,
                                        std::string_view topic_datastream) const {
  CheckedMessage out;
  const nlohmann::json j = nlohmann::json::parse(payload, nullptr, false);
  if (j.is_array() && !j.empty()) {
    out.observations.reserve(j.size());
    for (const nlohmann::json& e : j) check_one(e, topic_datastream, out);
  } else {
    check_one(j, topic_datastream, out);
  }
  return out;
}

void ObservationIntake::check_one(const nlohmann::json& j, std::string_view topic_datastream,
                                  CheckedMessage& out) const {
  Checked& c = out.observations.emplace_back();
  c.text = static_cast<std::uint32_t>(out.text.size());
  // The refusal's detail (or the accepted time) goes to the message's text.
  const auto refuse = [&]<typename... Args>(Reject r, fmt::format_string<Args...> why,
                                            Args&&... args) {
    c.reason = r;
    fmt::format_to(std::back_inserter(out.text), why, std::forward<Args>(args)...);
    c.size = static_cast<std::uint32_t>(out.text.size() - c.text);
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
  const std::string& id = ds_it->get_ref<const std::string&>();
  if (!topic_datastream.empty() && id != topic_datastream)
    return refuse(Reject::bad_schema, "the topic names datastream \"{}\", the message \"{}\"",
                  topic_datastream, id);
  const auto found = m_index.find(id);
  if (found == m_index.end()) return refuse(Reject::unknown_datastream, "no datastream \"{}\"", id);
  const DatastreamSpec& ds = m_spec->live.datastreams[static_cast<std::size_t>(found->second)];

  double value =
      result_it->is_boolean() ? (result_it->get<bool>() ? 1.0 : 0.0) : result_it->get<double>();
  if (result_it->is_boolean() && ds.kind != SensorKind::status)
    return refuse(Reject::bad_schema, "a boolean result is for status datastreams");
  if (const auto unit_it = j.find("unit"); unit_it != j.end()) {
    if (!unit_it->is_string()) return refuse(Reject::bad_schema, "\"unit\" is not a string");
    const std::string& unit = unit_it->get_ref<const std::string&>();
    if (const auto q = sensor_kind_quantity(ds.kind)) {
      const auto f = unit_factor(unit, *q);
      if (!f)
        return refuse(Reject::wrong_unit, "\"{}\" for datastream \"{}\" ({}): {}", unit, id,
                      sensor_kind_name(ds.kind), f.error());
      value = value * *f / ds.unit_si;  // into the datastream's unit
    } else if (unit != ds.unit) {
      return refuse(Reject::wrong_unit, "\"{}\" for datastream \"{}\", which takes {}", unit, id,
                    ds.unit.empty() ? "no unit" : ds.unit);
    }
  }
  if (!std::isfinite(value) || value < ds.lo || value > ds.hi ||
      (ds.kind == SensorKind::status && value != 0 && value != 1))
    return refuse(Reject::out_of_range, "{} {} outside [{}, {}] of datastream \"{}\"", value,
                  ds.unit, ds.lo, ds.hi, id);

  const std::string& time = time_it->get_ref<const std::string&>();
  const auto at = observation_time(time, m_spec->run.start_unix_s);
  if (!at) return refuse(Reject::bad_time, "\"{}\": {}", time, at.error());
  c.datastream = found->second;
  c.phenomenon = *at;
  c.value = value;
  out.text.append(time);  // for the clock's refusals
  c.size = static_cast<std::uint32_t>(time.size());
}

std::vector<ObservationIntake::Offered> ObservationIntake::admit(const CheckedMessage& message,
                                                                 SimTime now) {
  std::vector<Offered> out;
  out.reserve(message.observations.size());
  for (const Checked& c : message.observations)
    out.push_back(admit_one(c, message.text_of(c), now));
  return out;
}

ObservationIntake::Offered ObservationIntake::admit_one(const Checked& c, std::string_view text,
                                                        SimTime now) {
  auto refuse = [&](Reject r, std::string detail) {
    ++m_rejected[static_cast<int>(r)];
    return Offered{std::nullopt, r, std::move(detail)};
  };
  if (c.datastream < 0) return refuse(c.reason, std::string(text));
  const std::string_view time = text;  // its phenomenonTime
  const SimTime at = c.phenomenon;
  if (at < now)
    return refuse(Reject::late,
                  fmt::format("{} is before the step at {}", time, format_duration(now)));
  if (at - now > m_spec->live.max_ahead)
    return refuse(Reject::future,
                  fmt::format("{} is more than live.max_ahead ({}) ahead of {}", time,
                              format_duration(m_spec->live.max_ahead), format_duration(now)));
  std::vector<SimTime>& seen = m_seen[static_cast<std::size_t>(c.datastream)];
  const auto same = std::lower_bound(seen.begin(), seen.end(), at);
  if (same != seen.end() && *same == at)
    return refuse(
        Reject::duplicate,
        fmt::format("datastream \"{}\" already has an observation at {}",
                    m_spec->live.datastreams[static_cast<std::size_t>(c.datastream)].id, time));
  seen.insert(same, at);
  ++m_accepted;
  return {Observation{now, at, c.datastream, c.value}, {}, {}};
}

}  // namespace citytwin::live
