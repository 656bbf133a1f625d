// citytwin info SCENARIO [--json]: what the city import found, and how long it took.
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <memory>

#include "citytwin/demand.hpp"
#include "citytwin/sim.hpp"
#include "cli/commands.hpp"

namespace citytwin::cli {

namespace {

nlohmann::ordered_json city_json(const CityModel& c, const DemandSpec& demand) {
  nlohmann::ordered_json j;
  double floor_area = 0;
  for (float a : c.buildings.floor_area_m2) floor_area += a;
  j["buildings"] = c.buildings.size();
  j["floor_area_m2"] = floor_area;
  j["buildings_without_geometry"] = c.stats.buildings_without_geometry;
  // The synthesised population, to compare with the census ([demand] scales it).
  const Activity activity = city_activity(c.buildings, demand);
  j["residents"] = std::llround(activity.total_residents());
  j["jobs"] = std::llround(activity.total_jobs());
  j["residents_source"] = demand.residents > 0 ? "demand.residents" : "floor-area estimate";
  j["jobs_source"] = demand.jobs > 0 ? "demand.jobs" : "floor-area estimate";
  j["road_nodes"] = c.roads.node_count();
  j["road_links"] = c.roads.link_count();
  j["lane_km"] = c.roads.lane_km();
  j["signals"] = c.roads.signal_count();
  j["substations"] = c.power.substation_osm_id.size();
  j["power_lines"] = c.power.line_osm_id.size();
  j["water_features"] = c.water.osm_id.size();
  nlohmann::ordered_json facilities = nlohmann::ordered_json::object();
  for (int k = 0; k < 4; ++k)
    facilities[to_string(static_cast<FacilityKind>(k))] = std::count(
        c.facilities.kind.begin(), c.facilities.kind.end(), static_cast<FacilityKind>(k));
  j["facilities"] = facilities;
  j["terrain_cells"] = static_cast<std::int64_t>(c.terrain.z.size());
  j["terrain_cell_m"] = c.terrain.dx;
  j["terrain_nodata_cells"] = c.terrain.nodata_cells;
  j["terrain_min_m"] =
      c.terrain.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(c.terrain.min());
  j["terrain_max_m"] =
      c.terrain.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(c.terrain.max());
  j["elevation_points_used"] = c.stats.elevation_points_used;
  j["depression_cells_filled"] = c.stats.depression_cells_filled;
  j["crs"] = c.crs.name;
  j["extent"] = c.extent;
  j["osm_nodes"] = c.stats.osm_nodes;
  j["osm_ways"] = c.stats.osm_ways;
  j["osm_relations"] = c.stats.osm_relations;
  nlohmann::ordered_json stages = nlohmann::ordered_json::object();
  for (const auto& s : c.stats.stages) stages[s.name] = s.seconds;
  j["stages_s"] = stages;
  return j;
}

}  // namespace

Runner add_info_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Import the scenario's city and report what it holds");
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("scenario", *path, "Scenario file (.toml)")->required();
  cmd->add_flag("--json", *json, "Print one JSON object instead of a table");
  return [path, json]() {
    auto spec = load_scenario(*path);
    if (!spec) {
      std::cerr << spec.error().to_string() << "\n";
      return k_exit_bad_input;
    }
    auto city = import_city(spec->city);
    if (!city) {
      std::cerr << city.error().to_string() << "\n";
      return k_exit_bad_input;
    }
    auto j = city_json(**city, spec->demand);
    // What a run of it needs, when its domains compile (validate says why when they do not).
    std::string resources;
    if (!spec->domain_names.empty()) {
      auto model = compile_model(*spec, *city, builtin_domains());
      if (model) {
        std::vector<Diagnostic> disk;
        const RunEstimate e = estimate_run(**model);
        resources = describe_resources(**model, e, disk);
        j["memory_bytes"] = e.memory();
        j["state_bytes"] = e.state_bytes;
        j["run_file_bytes"] = e.file_bytes;
        j["frames"] = e.frames;
      } else {
        resources = "not estimated: the domains do not compile (citytwin validate says why)";
      }
    }
    if (*json) {
      std::cout << j.dump(2) << "\n";
      return k_exit_ok;
    }
    std::cout << fmt::format("{} ({})\n", spec->run.name, *path);
    for (const auto& [k, v] : j.items()) {
      if (k == "stages_s" || k == "extent" || k.ends_with("_bytes") || k == "frames") continue;
      std::cout << fmt::format(
          "  {:<28} {}\n", k,
          v.is_number_float() ? fmt::format("{:.2f}", v.get<double>()) : v.dump());
    }
    if (!resources.empty()) std::cout << "  resources: " << resources << "\n";
    std::cout << "  import stages:\n";
    for (const auto& s : (*city)->stats.stages)
      std::cout << fmt::format("    {:<26} {:.3f} s\n", s.name, s.seconds);
    return k_exit_ok;
  };
}

}  // namespace citytwin::cli
