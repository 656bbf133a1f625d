// Key performance indicators of a run, computed from its run file (docs/kpi.md defines each
// one; kpi_definitions() is that table's one owner in code). The what-if comparison, the batch
// table and the end-of-run summary all name results by these ids.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "citytwin/error.hpp"

namespace citytwin {

class RunReader;

/// Which way a change of a KPI is good for the city (compare's arrows and colours).
enum class Better : std::int8_t { lower = -1, neutral = 0, higher = 1 };

/// One KPI: a stable id ("flood.area_over_0_3m"), its domain, a label for tables, its unit, the
/// direction that is better, one sentence of definition and the standard it follows (or "").
struct KpiDef {
  std::string_view id;
  std::string_view domain;  ///< flood, traffic, power or coupled
  std::string_view label;
  std::string_view unit;
  Better better;
  std::string_view definition;
  std::string_view source;
};

/// Every KPI, in report order (by domain).
std::span<const KpiDef> kpi_definitions();
/// The index of a KPI in kpi_definitions(), or -1.
int kpi_index(std::string_view id);

/// A run's KPIs: value[i] belongs to kpi_definitions()[i]; NaN where the run cannot give it
/// (a domain it did not simulate, a city without fire stations), with the reason in `missing`.
struct KpiValues {
  std::string path, scenario_name;
  std::vector<double> value;
  std::vector<std::string> missing;  ///< (per KPI) why it is NaN, empty otherwise
  double get(std::string_view id) const;
};

/// Computes every KPI of a finished run file. An error when the file is not a run file or was
/// not finished (`/meta complete` = 0: its results are missing).
Result<KpiValues> compute_kpis(const std::string& path);
Result<KpiValues> compute_kpis(const RunReader& run, const std::string& path);

}  // namespace citytwin
