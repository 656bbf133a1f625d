// [power] and the power events: what a scenario asks of the power domain (docs/scenario.md).
#include "power/power_spec.hpp"

namespace citytwin::power {

std::shared_ptr<const DomainSpec> parse_power(SectionReader& s, const ScenarioSpec&) {
  auto spec = std::make_shared<PowerSpec>();
  const bool has_case = s.has("case"), has_grid = s.has("grid");
  if (has_case && has_grid) s.error("case", "give either power.grid or power.case, not both");
  if (has_case) {
    spec->city_grid = false;
    spec->case_path = s.existing_file("case").value_or("");
  } else {
    s.choice_or("grid", {"city"}, "city");
  }
  spec->interval = s.duration_or("interval", spec->interval);
  if (spec->interval <= 0) s.error("interval", "must be positive", "", "e.g. \"5min\"");
  spec->daily_profile = s.choice_or("profile", {"daily", "flat"}, "daily") == "daily";
  spec->load_scale = s.number_or("load_scale", 1.0, 0.0, 100.0);
  spec->tolerance = s.number_or("tolerance", spec->tolerance, 1e-14, 1e-2);
  spec->max_iterations =
      static_cast<int>(s.integer_or("max_iterations", spec->max_iterations, 1, 1000));
  SectionReader p = s.table("protection");
  ProtectionSpec& pr = spec->protection;
  pr.enabled = p.boolean_or("enabled", pr.enabled);
  pr.overload_limit = p.number_or("overload_limit", pr.overload_limit, 0.1, 10.0);
  pr.overload_delay = p.duration_or("overload_delay", pr.overload_delay);
  pr.instant_trip = p.number_or("instant_trip", pr.instant_trip, 1.0, 100.0);
  pr.undervoltage = p.number_or("undervoltage", pr.undervoltage, 0.0, 1.0);
  pr.shed_step = p.number_or("shed_step", pr.shed_step, 0.01, 1.0);
  pr.max_generations =
      static_cast<int>(p.integer_or("max_generations", pr.max_generations, 1, 10000));
  if (pr.overload_delay <= 0) p.error("overload_delay", "must be positive", "", "e.g. \"15s\"");
  for (SectionReader& ss : s.tables("substation")) {
    PowerSpec::NewSubstation n;
    n.where = ss.where("at");
    const auto at = ss.points("at");
    if (!at || at->size() != 1)
      ss.error("at", "a substation needs one position", "", "at = [x, y] (model CRS)");
    else
      n.at = at->front();
    n.replaces = ss.integer_or("replaces", -1, 0);
    if (has_case) ss.error("", "substations are placed on the synthesised city grid only");
    spec->substations.push_back(std::move(n));
  }
  return spec;
}

std::shared_ptr<const EventPayload> parse_power_event(std::string_view action, SectionReader& ev) {
  if (action == "trip_branch" || action == "restore_branch") {
    auto e = std::make_shared<BranchEvent>();
    e->restore = action == "restore_branch";
    e->branch = ev.integer_or("branch", -1, 0);
    if (!ev.has("branch"))
      ev.error("", "missing key \"branch\"", "", "branch = <index into /power/branch_from>");
    return e;
  }
  if (action == "substation_out" || action == "substation_in") {
    auto e = std::make_shared<SubstationEvent>();
    e->in_service = action == "substation_in";
    e->substation = ev.integer_or("substation", -1, 0);
    if (!ev.has("substation"))
      ev.error("", "missing key \"substation\"", "", "substation = <index>");
    return e;
  }
  if (action == "scale_load") {
    auto e = std::make_shared<ScaleEvent>();
    e->factor = ev.number_or("factor", 1.0, 0.0, 100.0);
    return e;
  }
  return nullptr;
}

}  // namespace citytwin::power
