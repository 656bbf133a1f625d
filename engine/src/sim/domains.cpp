// The built-in domains, in the order they advance and write. A new domain adds one entry.
#include "citytwin/flood.hpp"
#include "citytwin/power.hpp"
#include "citytwin/sim.hpp"
#include "citytwin/traffic.hpp"

namespace citytwin {

std::span<const DomainEntry> builtin_domains() {
  static const std::vector<DomainEntry> entries = {flood::domain_entry(), traffic::domain_entry(),
                                                   power::domain_entry()};
  return entries;
}

std::vector<DomainInfo> builtin_domain_infos() {
  std::vector<DomainInfo> infos;
  for (const DomainEntry& e : builtin_domains()) infos.push_back(e.info);
  return infos;
}

Result<ScenarioSpec> load_scenario(const std::string& path) {
  if (path.ends_with(".par")) {
    // A LISFLOOD-FP case, run as it is: the scenario that names its .par (docs/lisflood.md).
    auto text = flood::lisflood_scenario(path);
    if (!text) return fail(text.error());
    return parse_scenario(*text, path, builtin_domain_infos());
  }
  return load_scenario(path, builtin_domain_infos());
}

Result<std::vector<EventSpec>> parse_events(const Model& model, std::string_view text,
                                            const std::string& where) {
  return parse_events(text, where, model.spec, builtin_domain_infos());
}

}  // namespace citytwin
