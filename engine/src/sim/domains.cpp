// The built-in domains, in the order they advance and write. A new domain adds one entry.
#include "citytwin/flood.hpp"
#include "citytwin/sim.hpp"
#include "power/power_domain.hpp"
#include "traffic/traffic_domain.hpp"

namespace citytwin {

std::span<const DomainEntry> builtin_domains() {
  static const std::vector<DomainEntry> entries = {
      flood::domain_entry(), traffic::traffic_domain_entry(), power::power_domain_entry()};
  return entries;
}

Result<ScenarioSpec> load_scenario(const std::string& path) {
  std::vector<DomainInfo> infos;
  for (const DomainEntry& e : builtin_domains()) infos.push_back(e.info);
  return load_scenario(path, infos);
}

}  // namespace citytwin
