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

// One observation object's fields as the parser's events give them; a repeated key: the last
// one, as in nlohmann's DOM.
namespace detail {
struct ObservationFields {
  enum class Type : std::uint8_t { none, string, number, boolean, other };
  struct Field {
    Type type = Type::none;
    std::string text;   // a string's
    double number = 0;  // a number's; a boolean's as 1 or 0
  };
  Field datastream, time, result, unit;
};
}  // namespace detail

namespace {

using Fields = detail::ObservationFields;

// nlohmann's SAX events for a message (an observation object, or an array of them) straight
// into Fields, without building its DOM: `done(f)` for each observation object read,
// `done(nullptr)` for a message or array element that is no object, and for an empty array.
template <typename Done>
class ObservationEvents {
 public:
  using json = nlohmann::json;
  ObservationEvents(Fields& fields, Done done) : m_fields(fields), m_done(std::move(done)) {}

  bool null() {
    return scalar([](Fields::Field& f) { f.type = Fields::Type::other; });
  }
  bool boolean(bool v) {
    return scalar([v](Fields::Field& f) {
      f.type = Fields::Type::boolean;
      f.number = v ? 1.0 : 0.0;
    });
  }
  bool number_integer(json::number_integer_t v) { return number(static_cast<double>(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return number(static_cast<double>(v)); }
  bool number_float(json::number_float_t v, const json::string_t& /*text*/) { return number(v); }
  bool string(json::string_t& v) {
    return scalar([&v](Fields::Field& f) {
      f.type = Fields::Type::string;
      f.text.swap(v);
    });
  }
  bool binary(json::binary_t& /*v*/) {
    return scalar([](Fields::Field& f) { f.type = Fields::Type::other; });
  }
  bool start_object(std::size_t /*n*/) {
    if (element()) {
      m_object = m_depth + 1;
      for (Fields::Field* f :
           {&m_fields.datastream, &m_fields.time, &m_fields.result, &m_fields.unit})
        f->type = Fields::Type::none;
      m_slot = nullptr;
    } else {
      nested();
    }
    ++m_depth;
    return true;
  }
  bool key(json::string_t& k) {
    if (m_depth == m_object)
      m_slot = k == "datastream"       ? &m_fields.datastream
               : k == "phenomenonTime" ? &m_fields.time
               : k == "result"         ? &m_fields.result
               : k == "unit"           ? &m_fields.unit
                                       : nullptr;
    return true;
  }
  bool end_object() {
    if (m_depth == m_object) {
      m_object = 0;
      m_done(&m_fields);
    }
    --m_depth;
    return true;
  }
  bool start_array(std::size_t /*n*/) {
    if (m_depth == 0)
      m_array = true;
    else if (element())
      m_done(nullptr);
    else
      nested();
    ++m_depth;
    return true;
  }
  bool end_array() {
    --m_depth;
    if (m_depth == 0 && m_elements == 0) m_done(nullptr);  // an empty array: no observation
    return true;
  }
  bool parse_error(std::size_t /*at*/, const std::string& /*token*/,
                   const nlohmann::detail::exception& /*e*/) {
    return false;
  }

 private:
  Fields& m_fields;
  Done m_done;
  int m_depth = 0;       // containers open
  int m_object = 0;      // the observation object's depth inside it (0: none open)
  bool m_array = false;  // the message is an array
  std::size_t m_elements = 0;
  Fields::Field* m_slot = nullptr;  // the field the observation's current key names

  // Whether a value starting now is an observation: the message, or an element of its array.
  bool element() {
    if (m_depth == 0) return true;
    if (m_depth == 1 && m_array) return ++m_elements, true;
    return false;
  }
  // A container as a value: of the observation's current key, "other"; deeper, nothing.
  void nested() {
    if (m_depth == m_object && m_slot) m_slot->type = Fields::Type::other;
  }
  template <typename Set>
  bool scalar(Set set) {
    if (element())
      m_done(nullptr);  // no object
    else if (m_depth == m_object && m_slot)
      set(*m_slot);
    return true;
  }
  bool number(double v) {
    return scalar([v](Fields::Field& f) {
      f.type = Fields::Type::number;
      f.number = v;
    });
  }
};

}  // namespace

CheckedMessage ObservationIntake::check(std::string_view payload,
                                        std::string_view topic_datastream) const {
  CheckedMessage out;
  Fields fields;
  auto done = [&](const Fields* f) { check_one(f, topic_datastream, out); };
  ObservationEvents<decltype(done)> events(fields, done);
  if (!nlohmann::json::sax_parse(payload.begin(), payload.end(), &events)) {
    // Not JSON (whatever it held before the error): one refusal for the message.
    out.observations.clear();
    out.text.clear();
    check_one(nullptr, topic_datastream, out);
  }
  return out;
}

void ObservationIntake::check_one(const detail::ObservationFields* f,
                                  std::string_view topic_datastream, CheckedMessage& out) const {
  using Type = Fields::Type;
  Checked& c = out.observations.emplace_back();
  c.text = static_cast<std::uint32_t>(out.text.size());
  // The refusal's detail (or the accepted time) goes to the message's text.
  const auto refuse = [&]<typename... Args>(Reject r, fmt::format_string<Args...> why,
                                            Args&&... args) {
    c.reason = r;
    fmt::format_to(std::back_inserter(out.text), why, std::forward<Args>(args)...);
    c.size = static_cast<std::uint32_t>(out.text.size() - c.text);
  };
  if (!f) return refuse(Reject::bad_json, "not a JSON object (or a non-empty array of them)");
  if (f->datastream.type != Type::string)
    return refuse(Reject::bad_schema, "\"datastream\" missing or not a string");
  if (f->time.type != Type::string)
    return refuse(Reject::bad_schema, "\"phenomenonTime\" missing or not a string");
  if (f->result.type != Type::number && f->result.type != Type::boolean)
    return refuse(Reject::bad_schema, "\"result\" missing or not a number");
  const std::string& id = f->datastream.text;
  if (!topic_datastream.empty() && id != topic_datastream)
    return refuse(Reject::bad_schema, "the topic names datastream \"{}\", the message \"{}\"",
                  topic_datastream, id);
  const auto found = m_index.find(id);
  if (found == m_index.end()) return refuse(Reject::unknown_datastream, "no datastream \"{}\"", id);
  const DatastreamSpec& ds = m_spec->live.datastreams[static_cast<std::size_t>(found->second)];

  double value = f->result.number;
  if (f->result.type == Type::boolean && ds.kind != SensorKind::status)
    return refuse(Reject::bad_schema, "a boolean result is for status datastreams");
  if (f->unit.type != Type::none) {
    if (f->unit.type != Type::string) return refuse(Reject::bad_schema, "\"unit\" is not a string");
    const std::string& unit = f->unit.text;
    if (const auto q = sensor_kind_quantity(ds.kind)) {
      const auto factor = unit_factor(unit, *q);
      if (!factor)
        return refuse(Reject::wrong_unit, "\"{}\" for datastream \"{}\" ({}): {}", unit, id,
                      sensor_kind_name(ds.kind), factor.error());
      value = value * *factor / ds.unit_si;  // into the datastream's unit
    } else if (unit != ds.unit) {
      return refuse(Reject::wrong_unit, "\"{}\" for datastream \"{}\", which takes {}", unit, id,
                    ds.unit.empty() ? "no unit" : ds.unit);
    }
  }
  if (!std::isfinite(value) || value < ds.lo || value > ds.hi ||
      (ds.kind == SensorKind::status && value != 0 && value != 1))
    return refuse(Reject::out_of_range, "{} {} outside [{}, {}] of datastream \"{}\"", value,
                  ds.unit, ds.lo, ds.hi, id);

  const std::string& time = f->time.text;
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
