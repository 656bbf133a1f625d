// [coupling]: which cross-domain rules run, and their parameters (docs/coupling.md). Parsed
// after the domain sections, so a rule switched on without the domains it joins is a located
// error; where the pumps stand is checked against the flood grid when the model is compiled.
#include <fmt/format.h>

#include <algorithm>

#include "spec/coupling_parse.hpp"

namespace citytwin {

namespace {

bool has_domain(const ScenarioSpec& spec, std::string_view name) {
  return std::find(spec.domain_names.begin(), spec.domain_names.end(), name) !=
         spec.domain_names.end();
}

// A rule's switch: on by default when its domains are present; on without them is an error.
bool rule_switch(SectionReader& r, const ScenarioSpec& spec, std::string_view a,
                 std::string_view b) {
  const bool present = has_domain(spec, a) && has_domain(spec, b);
  const bool on = r.boolean_or("enabled", present);
  if (on && !present)
    r.error("enabled", fmt::format("this rule joins [{}] and [{}]; the scenario lacks one", a, b),
            "true", fmt::format("enabled = false, or add the [{}] and [{}] sections", a, b));
  return on;
}

double depth(SectionReader& r, std::string_view key, double def) {
  return r.quantity_or(key, Quantity::length, def, 0.0);
}

void parse_flood_roads(SectionReader r, const ScenarioSpec& spec, CouplingSpec::FloodRoads& fr) {
  fr.on = rule_switch(r, spec, "flood", "traffic");
  if (r.has("curve")) {
    const auto pts = r.points("curve").value_or(std::vector<Point2>{});
    for (const Point2& p : pts) fr.curve.emplace_back(p.x, p.y);
    const std::string expected =
        "[[depth_m, factor], ...] with depths rising from 0 and factors falling from 1 to 0";
    bool ok = fr.curve.size() >= 2 && fr.curve.front().first == 0.0;
    for (std::size_t k = 0; ok && k < fr.curve.size(); ++k) {
      const auto [d, f] = fr.curve[k];
      ok = f >= 0 && f <= 1 &&
           (k == 0 || (d > fr.curve[k - 1].first && f <= fr.curve[k - 1].second));
    }
    if (ok && fr.curve.back().second != 0.0) ok = false;
    if (!ok)
      r.error("curve", "not a monotone depth-disruption curve", "", expected);
    else
      fr.close_depth_m = std::find_if(fr.curve.begin(), fr.curve.end(), [](const auto& p) {
                           return p.second == 0.0;
                         })->first;
    if (r.has("close_depth"))
      r.error("close_depth", "the curve already closes the link where its factor reaches 0");
  } else {
    fr.close_depth_m = depth(r, "close_depth", fr.close_depth_m);
  }
  fr.reopen_depth_m = depth(r, "reopen_depth", std::min(fr.reopen_depth_m, fr.close_depth_m));
  if (fr.reopen_depth_m > fr.close_depth_m)
    r.error("reopen_depth", "must not exceed the closing depth",
            fmt::format("{} m", fr.reopen_depth_m), fmt::format("at most {} m", fr.close_depth_m));
}

void parse_flood_power(SectionReader r, const ScenarioSpec& spec, CouplingSpec::FloodPower& fp) {
  fp.on = rule_switch(r, spec, "flood", "power");
  fp.substation_depth_m = depth(r, "substation_depth", fp.substation_depth_m);
  fp.transformer_depth_m = depth(r, "transformer_depth", fp.transformer_depth_m);
  fp.fragility = r.choice_or("failure", {"threshold", "fragility"}, "threshold") == "fragility";
  fp.substation_median_m = depth(r, "substation_median", fp.substation_median_m);
  fp.substation_sigma = r.number_or("substation_sigma", fp.substation_sigma, 0.0, 5.0);
  fp.transformer_median_m = depth(r, "transformer_median", fp.transformer_median_m);
  fp.transformer_sigma = r.number_or("transformer_sigma", fp.transformer_sigma, 0.0, 5.0);
  fp.repair = r.duration_or("repair_time", fp.repair);
  if (fp.repair < 0) r.error("repair_time", "must not be negative", "", "e.g. \"6h\"");
  fp.building_depth_m = depth(r, "building_depth", fp.building_depth_m);
  const std::pair<const char*, double> positive[] = {
      {"substation_depth", fp.substation_depth_m},
      {"transformer_depth", fp.transformer_depth_m},
      {"substation_median", fp.substation_median_m},
      {"transformer_median", fp.transformer_median_m}};
  for (const auto& [key, value] : positive)
    if (value <= 0) r.error(key, "must be positive", "0 m", "a depth such as \"0.3m\"");
}

}  // namespace

void parse_coupling(SectionReader root, ScenarioSpec& spec) {
  if (!root.has("coupling")) return;
  SectionReader c = root.table("coupling");
  CouplingSpec& cs = spec.coupling;
  cs.where = c.where();
  cs.enabled = c.boolean_or("enabled", true);
  parse_flood_roads(c.table("flood_roads"), spec, cs.flood_roads);
  parse_flood_power(c.table("flood_power"), spec, cs.flood_power);
  SectionReader sig = c.table("signals");
  cs.signals.on = rule_switch(sig, spec, "power", "traffic");
  cs.signals.battery = sig.duration_or("battery", cs.signals.battery);
  if (cs.signals.battery < 0)
    sig.error("battery", "must not be negative", "", "e.g. \"4h\" or \"0s\"");
  for (SectionReader p : c.tables("pump")) {
    CouplingSpec::Pump pump;
    pump.name = p.string_or("name", "pump" + std::to_string(cs.pumps.size() + 1));
    if (!p.has("at")) p.error("", "missing key \"at\"", "", "at = [x, y] (model CRS)");
    pump.at = p.point("at").value_or(Point2{});
    if (!p.has("capacity")) p.error("", "missing key \"capacity\"", "", "capacity = \"2m3/s\"");
    pump.capacity_m3s = p.quantity_or("capacity", Quantity::discharge, 0.0, 0.0);
    pump.where = p.where();
    cs.pumps.push_back(std::move(pump));
  }
  if (!cs.pumps.empty() && !has_domain(spec, "flood"))
    c.error("pump", "pumps drain the flood grid; the scenario has no [flood]", "",
            "a [flood] section, or no [[coupling.pump]]");
  cs.pumps_on = !cs.pumps.empty() && has_domain(spec, "flood") && has_domain(spec, "power");
  SectionReader ev = c.table("ev_charging");
  const bool ev_present = has_domain(spec, "traffic") && has_domain(spec, "power");
  cs.ev.on = ev.boolean_or("enabled", false);
  if (cs.ev.on && !ev_present)
    ev.error("enabled", "EV charging joins [traffic] and [power]; the scenario lacks one", "true",
             "enabled = false, or add both sections");
  cs.ev.share = ev.number_or("share", cs.ev.share, 0.0, 1.0);
  cs.ev.power_w = ev.quantity_or("power", Quantity::power, cs.ev.power_w, 0.0);
  cs.ev.duration = ev.duration_or("duration", cs.ev.duration);
  if (cs.ev.duration <= 0) ev.error("duration", "must be positive", "", "e.g. \"1h\"");
  if (!cs.enabled) {
    // Switched off as a whole (a baseline variant): every rule off.
    cs.flood_roads.on = cs.flood_power.on = cs.signals.on = cs.pumps_on = cs.ev.on = false;
  }
}

}  // namespace citytwin
