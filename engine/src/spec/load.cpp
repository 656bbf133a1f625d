// load_scenario: the core sections ([scenario], [city], [output], [[event]]) and each
// domain's section, validated in one pass so the user sees every problem at once.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>

#include "citytwin/spec.hpp"
#include "spec/coupling_parse.hpp"

namespace citytwin {

namespace {

constexpr std::int64_t k_default_start = 1'767'225'600;  // 2026-01-01T00:00:00Z

}  // namespace

double RunSpec::local_second_of_day(SimTime t) const {
  const double s =
      std::fmod(static_cast<double>(start_unix_s + start_utc_offset_s) + to_seconds(t), 86400.0);
  return s < 0 ? s + 86400.0 : s;
}

namespace {

void parse_run(SectionReader s, const std::string& path, RunSpec& run) {
  run.name = s.string_or("name", std::filesystem::path(path).stem().string());
  run.duration = s.duration_or("duration", run.duration);
  run.step = s.duration_or("step", run.step);
  if (run.step <= 0)
    s.error("step", "the macro step must be positive", format_duration(run.step), "e.g. \"1s\"");
  run.start_unix_s = s.datetime("start", &run.start_utc_offset_s).value_or(k_default_start);
  run.seed = static_cast<std::uint64_t>(s.integer_or("seed", 1, 0));
  run.threads = static_cast<int>(s.integer_or("threads", 0, 0, 1024));
}

void parse_city(SectionReader s, CitySpec& city) {
  city.osm = s.existing_file("osm").value_or("");
  if (auto dem = s.existing_files("dem")) {
    city.dem = std::move(*dem);
    if (city.dem.empty())
      s.error("dem", "an empty list", "[]", "a raster path or a list of terrain tiles");
  }
  city.elevation_points = s.existing_file("elevation_points").value_or("");
  city.add_buildings = s.existing_file("add_buildings").value_or("");
  if (!city.add_buildings.empty() && !s.has("osm"))
    s.error("add_buildings", "adds to the buildings of city.osm: set city.osm too");
  city.crs = s.string_or("crs", "");
  if (auto b = s.numbers("bbox", 4)) {
    const auto& v = *b;
    if (!(v[0] >= -180 && v[2] <= 180 && v[1] >= -90 && v[3] <= 90 && v[0] < v[2] && v[1] < v[3]))
      s.error("bbox", "not a valid box", "",
              "[west, south, east, north] in degrees, west < east, south < north");
    else
      city.bbox = std::array<double, 4>{v[0], v[1], v[2], v[3]};
  }
  city.margin_m = s.quantity_or("margin", Quantity::length, city.margin_m, 0.0);
  city.terrain_resolution_m = s.quantity_or("terrain_resolution", Quantity::length, 0.0, 0.0);
  city.default_building_height_m = s.quantity_or("default_building_height", Quantity::length,
                                                 city.default_building_height_m, 0.5);
  city.level_height_m = s.quantity_or("level_height", Quantity::length, city.level_height_m, 1.0);
  city.fill_depressions = s.boolean_or("fill_depressions", city.fill_depressions);
  city.allow_network = s.boolean_or("allow_network", city.allow_network);
}

void parse_demand(SectionReader s, DemandSpec& d) {
  d.residents = s.number_or("residents", 0, 0, 1e10);
  d.jobs = s.number_or("jobs", 0, 0, 1e10);
  d.floor_area_per_resident = s.quantity_or("floor_area_per_resident", Quantity::area, 0, 1);
  d.floor_area_per_job = s.quantity_or("floor_area_per_job", Quantity::area, 0, 1);
  // A total fixes the scale: a floor area per person would have no effect beside it.
  if (s.has("residents") && s.has("floor_area_per_resident"))
    s.error("floor_area_per_resident", "has no effect beside demand.residents", "",
            "one of residents (a census total) or floor_area_per_resident");
  if (s.has("jobs") && s.has("floor_area_per_job"))
    s.error("floor_area_per_job", "has no effect beside demand.jobs", "",
            "one of jobs (a census total) or floor_area_per_job");
}

void parse_output(SectionReader s, const std::string& own_name, OutputSpec& out) {
  // Outputs go where the user runs CityTwin (out/<name> by default), not next to the scenario.
  // A variant writes its own folder: a base's dir is checked but not inherited, or running the
  // variant would overwrite its baseline's run.
  const auto dir = s.string("dir");
  out.dir = dir && !s.inherited("dir") ? *dir : "out/" + own_name;
  out.every = s.duration_or("every", out.every);
  out.flush_every = s.duration_or("flush_every", out.flush_every);
  out.compression = static_cast<int>(s.integer_or("compression", out.compression, 0, 9));
  if (out.every <= 0) s.error("every", "the output interval must be positive", "", "e.g. \"60s\"");
}

// One [[event]] table; nullopt (with the errors recorded in the reader) when it is not valid.
std::optional<EventSpec> parse_event(SectionReader ev, const ScenarioSpec& spec,
                                     std::span<const DomainInfo> domains) {
  EventSpec e;
  e.where = ev.where();
  e.source = ev.text_as("event");
  if (ev.has("at")) {
    // "at" is a duration since the start, or an absolute RFC 3339 date-time.
    auto text = ev.string("at");
    if (text && parse_duration(*text)) {
      e.at = *parse_duration(*text);
    } else if (text && parse_rfc3339(*text)) {
      e.at = (*parse_rfc3339(*text) - spec.run.start_unix_s) * 1000;
    } else if (text) {
      ev.error("at", "not a time", "\"" + *text + "\"",
               "a time since the start (\"10min\") or an RFC 3339 date-time");
    }
    if (e.at < 0 || e.at > spec.run.duration)
      ev.error("at", "outside the run", format_duration(e.at),
               "a time within [0, scenario.duration]");
  } else {
    ev.error("", "missing key \"at\"", "", "at = \"10min\" (or an RFC 3339 date-time)");
  }
  e.type = ev.string_or("type", "");
  const auto dot = e.type.find('.');
  const std::string section = e.type.substr(0, dot);
  const auto it = std::find(spec.domain_names.begin(), spec.domain_names.end(), section);
  if (e.type.empty()) {
    ev.error("", "missing key \"type\"", "", "type = \"<domain>.<action>\"");
    return std::nullopt;
  }
  if (dot == std::string::npos || it == spec.domain_names.end()) {
    std::string known;
    for (const std::string& n : spec.domain_names) known += (known.empty() ? "" : ", ") + n;
    ev.error("type", "no such domain in this scenario", "\"" + e.type + "\"",
             "\"<domain>.<action>\" with a domain section present (" +
                 (known.empty() ? std::string("none") : known) + ")");
    return std::nullopt;
  }
  e.domain = static_cast<int>(it - spec.domain_names.begin());
  const DomainInfo* info = nullptr;
  for (const DomainInfo& d : domains)
    if (d.section == section) info = &d;
  CT_ASSERT(info != nullptr, "every domain name in the spec comes from the domain list");
  e.payload =
      info->parse_event ? info->parse_event(std::string_view(e.type).substr(dot + 1), ev) : nullptr;
  if (!e.payload) {
    ev.error("type", "unknown event type", "\"" + e.type + "\"",
             info->actions.empty()
                 ? "an event the " + section + " domain defines"
                 : "one of the " + section + " domain's actions: " + std::string(info->actions));
    return std::nullopt;
  }
  return e;
}

void parse_events(SectionReader root, ScenarioSpec& spec, std::span<const DomainInfo> domains) {
  for (SectionReader ev : root.tables("event"))
    if (auto e = parse_event(ev, spec, domains)) spec.events.push_back(std::move(*e));
  // Equal times keep declaration order.
  std::stable_sort(spec.events.begin(), spec.events.end(),
                   [](const EventSpec& a, const EventSpec& b) { return a.at < b.at; });
}

Result<ScenarioSpec> build(ScenarioDocument& doc, std::span<const DomainInfo> domains) {
  ScenarioSpec spec;
  spec.path = doc.path();
  SectionReader root = doc.root();
  SectionReader run_section = root.table("scenario");
  parse_run(run_section, spec.path, spec.run);
  parse_city(root.table("city"), spec.city);
  parse_demand(root.table("demand"), spec.demand);
  // The output folder follows the name the user's own file gives (a variant's, not its base's).
  const std::string own_name = run_section.has("name") && !run_section.inherited("name")
                                   ? spec.run.name
                                   : std::filesystem::path(spec.path).stem().string();
  parse_output(root.table("output"), own_name, spec.output);
  for (const DomainInfo& d : domains) {
    if (!root.has(d.section)) continue;
    SectionReader section = root.table(d.section);
    spec.domain_names.emplace_back(d.section);
    spec.domains.push_back(d.parse(section, spec));
  }
  parse_coupling(root, spec);
  parse_live(root, spec);
  parse_events(root, spec, domains);
  Error errors = doc.finish();
  if (!errors.items.empty()) return fail(std::move(errors));
  spec.resolved_text = doc.resolved_text();
  return spec;
}

}  // namespace

Result<ScenarioSpec> load_scenario(const std::string& path, std::span<const DomainInfo> domains) {
  auto doc = ScenarioDocument::load(path);
  if (!doc) return fail(doc.error());
  return build(**doc, domains);
}

Result<std::vector<EventSpec>> parse_events(std::string_view text, const std::string& where,
                                            const ScenarioSpec& spec,
                                            std::span<const DomainInfo> domains) {
  auto doc = ScenarioDocument::parse(text, where);
  if (!doc) return fail(doc.error());
  std::vector<EventSpec> events;
  for (SectionReader ev : (*doc)->root().tables("event"))
    if (auto e = parse_event(ev, spec, domains)) events.push_back(std::move(*e));
  Error errors = (*doc)->finish();
  if (!errors.items.empty()) return fail(std::move(errors));
  return events;
}

Result<ScenarioSpec> parse_scenario(std::string_view text, const std::string& path,
                                    std::span<const DomainInfo> domains) {
  auto doc = ScenarioDocument::parse(text, path);
  if (!doc) return fail(doc.error());
  return build(**doc, domains);
}

}  // namespace citytwin
