// [live] and [[sensors.datastream]]: the twin's broker connection and the observations it
// takes (docs/live.md). Where a gauge stands is checked against the city when the live session
// starts; here every key is checked for its form.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <set>

#include "spec/coupling_parse.hpp"

namespace citytwin {

namespace {

struct KindInfo {
  SensorKind kind;
  std::string_view name;
  std::optional<Quantity> quantity;  // none: a fixed unit
  std::string_view fixed_unit;       // "veh" for counts, "" for status
  bool needs_at;                     // a gauge: where it stands
};

constexpr KindInfo k_kinds[] = {
    {SensorKind::traffic_count, "traffic_count", std::nullopt, "veh", false},
    {SensorKind::traffic_speed, "traffic_speed", Quantity::speed, "", false},
    {SensorKind::water_depth, "water_depth", Quantity::length, "", true},
    {SensorKind::water_level, "water_level", Quantity::length, "", true},
    {SensorKind::active_power, "active_power", Quantity::power, "", false},
    {SensorKind::rain_intensity, "rain_intensity", Quantity::intensity, "", true},
    {SensorKind::status, "status", std::nullopt, "", false},
};

const KindInfo& kind_info(SensorKind k) {
  return k_kinds[static_cast<int>(k)];
}

void parse_datastream(SectionReader d, LiveSpec& live, std::set<std::string>& ids) {
  DatastreamSpec ds;
  ds.where = d.where();
  if (!d.has("id")) d.error("", "missing key \"id\"", "", "id = \"gauge-port\"");
  ds.id = d.string_or("id", "");
  if (!ds.id.empty()) {
    // The id is an MQTT topic level: no wildcards, separators or control characters.
    const bool bad = std::any_of(ds.id.begin(), ds.id.end(), [](char c) {
      return c == '/' || c == '+' || c == '#' || static_cast<unsigned char>(c) < 0x20;
    });
    if (bad)
      d.error("id", "not usable as an MQTT topic level", "\"" + ds.id + "\"",
              "letters, digits, '-', '_' or '.' (no '/', '+', '#')");
    else if (!ids.insert(ds.id).second)
      d.error("id", "another datastream has this id", "\"" + ds.id + "\"", "a unique id");
  }
  std::vector<std::string_view> names;
  for (const KindInfo& k : k_kinds) names.push_back(k.name);
  if (!d.has("kind"))
    d.error("", "missing key \"kind\"", "",
            fmt::format("kind = one of {}", fmt::join(names, ", ")));
  const std::string kind = d.string_or("kind", "status");
  const auto it = std::find_if(std::begin(k_kinds), std::end(k_kinds),
                               [&](const KindInfo& k) { return k.name == kind; });
  if (it == std::end(k_kinds)) {
    d.error("kind", "unknown datastream kind", "\"" + kind + "\"",
            fmt::format("one of {}", fmt::join(names, ", ")));
    return;
  }
  ds.kind = it->kind;
  ds.entity = d.string_or("entity", "");
  if (d.has("at")) ds.at = d.point("at");
  if (it->needs_at && !d.has("at"))
    d.error("", fmt::format("a {} datastream needs where its gauge stands", kind), "",
            "at = [x, y] (model CRS)");
  if (!it->needs_at && ds.entity.empty())
    d.error("", fmt::format("a {} datastream needs the entity it observes", kind), "",
            "entity = \"<detector, substation, road link or element id>\"");
  if (it->quantity) {
    if (!d.has("unit")) d.error("", "missing key \"unit\"", "", "the unit its results are in");
    ds.unit = d.string_or("unit", "");
    if (auto f = unit_factor(ds.unit, *it->quantity))
      ds.unit_si = *f;
    else if (d.has("unit"))
      d.error("unit", fmt::format("not a unit of a {} datastream", kind), "\"" + ds.unit + "\"",
              f.error());
  } else {
    ds.unit = d.string_or("unit", it->fixed_unit);
    if (ds.unit != it->fixed_unit)
      d.error("unit", fmt::format("a {} datastream's results are in a fixed unit", kind),
              "\"" + ds.unit + "\"",
              it->fixed_unit.empty() ? std::string("no unit (1 in service, 0 out)")
                                     : fmt::format("\"{}\"", it->fixed_unit));
  }
  if (it->needs_at) ds.radius_m = d.quantity_or("radius", Quantity::length, ds.radius_m, 0.0);
  if (ds.kind == SensorKind::traffic_count || ds.kind == SensorKind::traffic_speed) {
    ds.period = d.duration_or("period", ds.period);
    if (ds.period <= 0)
      d.error("period", "the counting interval must be positive", "", "period = \"1min\"");
  }
  if (ds.kind == SensorKind::traffic_count)
    ds.reserve = static_cast<std::int32_t>(d.integer_or("reserve", ds.reserve, 0, 1'000'000));
  if (ds.kind == SensorKind::status) {
    ds.lo = 0, ds.hi = 1;
  } else if (d.has("range")) {
    const auto r = d.numbers("range", 2);
    if (r && (*r)[0] < (*r)[1])
      ds.lo = (*r)[0], ds.hi = (*r)[1];
    else if (r)
      d.error("range", "the lower bound must be below the upper", "",
              "range = [min, max] in the datastream's unit");
  }
  ds.index = static_cast<std::int32_t>(live.datastreams.size());
  live.datastreams.push_back(std::move(ds));
}

}  // namespace

std::optional<std::int64_t> entity_index(std::string_view entity, std::string_view prefix) {
  if (!entity.starts_with(prefix) || entity.size() <= prefix.size() + 1 ||
      entity[prefix.size()] != ':')
    return std::nullopt;
  const std::string_view digits = entity.substr(prefix.size() + 1);
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || end != digits.data() + digits.size() || v < 0) return std::nullopt;
  return v;
}

std::string_view sensor_kind_name(SensorKind kind) {
  return kind_info(kind).name;
}
std::optional<Quantity> sensor_kind_quantity(SensorKind kind) {
  return kind_info(kind).quantity;
}

void parse_live(SectionReader root, ScenarioSpec& spec) {
  LiveSpec& live = spec.live;
  SectionReader l = root.table("live");
  live.twin = l.string_or("twin", spec.run.name);
  if (live.twin.empty() || live.twin.find_first_of("/+#") != std::string::npos)
    l.error("twin", "not usable as an MQTT topic level", "\"" + live.twin + "\"",
            "a name without '/', '+' or '#'");
  live.broker = l.string_or("broker", "");
  if (!live.broker.empty() && !live.broker.starts_with("mqtt://") &&
      !live.broker.starts_with("mqtts://"))
    l.error("broker", "not a broker address", "\"" + live.broker + "\"",
            "mqtt://host:port or mqtts://host:port (TLS)");
  if (l.has("ca_file")) live.ca_file = l.existing_file("ca_file").value_or("");
  if (l.has("credentials_file"))
    live.credentials_file = l.existing_file("credentials_file").value_or("");
  for (const std::string_view secret : {"username", "password"})
    if (l.has(secret))
      l.error(secret, "credentials are never read from the scenario", "",
              "credentials_file = \"<a file holding username:password>\", or the environment "
              "(CITYTWIN_MQTT_USERNAME, CITYTWIN_MQTT_PASSWORD)");
  live.client_id = l.string_or("client_id", "citytwin-" + live.twin);
  live.status_every = l.duration_or("status_every", live.status_every);
  if (live.status_every <= 0) l.error("status_every", "must be positive", "", "e.g. \"10s\"");
  live.gain = l.number_or("gain", live.gain, 1e-3, 1.0);
  live.max_ahead = l.duration_or("max_ahead", live.max_ahead);
  if (live.max_ahead < 0) l.error("max_ahead", "must not be negative", "", "e.g. \"1h\"");
  std::set<std::string> ids;
  for (SectionReader d : root.table("sensors").tables("datastream")) parse_datastream(d, live, ids);
}

}  // namespace citytwin
