// Private to engine/src/power: the [power] section and the power events as read from a
// scenario (power_spec.cpp), compiled by power_domain_compile.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "citytwin/sim.hpp"
#include "citytwin/spec.hpp"

namespace citytwin::power {

struct ProtectionSpec {
  bool enabled = true;
  double overload_limit = 1.0;
  SimTime overload_delay = 15'000;
  double instant_trip = 2.0;
  double undervoltage = 0.9;
  double shed_step = 0.1;
  int max_generations = 50;
};

struct PowerSpec : DomainSpec {
  bool city_grid = true;
  std::string case_path;
  SimTime interval = 300'000;
  bool daily_profile = true;  // false: loads stay at their base values ("flat")
  double load_scale = 1.0;
  double tolerance = 1e-8;
  int max_iterations = 20;
  ProtectionSpec protection;
  /// [[power.substation]]: new HV/MV substations, optionally replacing existing ones.
  struct NewSubstation {
    Point2 at;
    std::int64_t replaces = -1;
    std::string where;
  };
  std::vector<NewSubstation> substations;
};

struct BranchEvent : EventPayload {
  std::int64_t branch = 0;  // 64-bit as written: checked against the grid before any use
  bool restore = false;
};
struct SubstationEvent : EventPayload {
  std::int64_t substation = 0;
  bool in_service = false;
};
struct ScaleEvent : EventPayload {
  double factor = 1.0;
};

/// Reads [power] (docs/scenario.md); errors through the reader, located.
std::shared_ptr<const DomainSpec> parse_power(SectionReader& s, const ScenarioSpec&);
/// Reads a `power.<action>` event; null for an action the domain does not have.
std::shared_ptr<const EventPayload> parse_power_event(std::string_view action, SectionReader& ev);

}  // namespace citytwin::power
