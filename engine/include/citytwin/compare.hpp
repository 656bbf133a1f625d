// What-if comparison of two runs of one city (docs/compare.md): KPI deltas, difference maps,
// time series side by side and a self-contained HTML report.
#pragma once

#include <string>
#include <vector>

#include "citytwin/error.hpp"
#include "citytwin/kpi.hpp"

namespace citytwin {

struct CompareOptions {
  std::string base, variant;  ///< run files
  std::string out_dir;        ///< created if missing
};

/// Time series of both runs on the output times of either (NaN where a run has no frame).
struct SeriesTable {
  std::vector<double> time_s;
  struct Column {
    std::string id, label, unit;
    std::vector<double> base, variant;  ///< (time_s.size())
  };
  std::vector<Column> columns;
};

/// What compare_runs() found and wrote.
struct Comparison {
  KpiValues base, variant;
  std::string base_scenario, variant_scenario;  ///< resolved scenario texts (/meta/scenario)
  SeriesTable series;
  double peak_time_s = 0;  ///< the common output time where the runs differ most
  double end_time_s = 0;   ///< the last output time both runs have
  /// Pictures for the report: caption and PNG file (difference maps, then any renders).
  std::vector<std::pair<std::string, std::string>> pictures;
  std::vector<std::string> files;  ///< every file written, in the order written
};

/// Checks that the runs are comparable (the same city, CRS, road network and flood grid where
/// both have one; an error naming what differs), then writes kpi.csv, kpi.json, series.csv and
/// the difference maps (GeoTIFF, GeoJSON, CSV, PNG) into options.out_dir.
Result<Comparison> compare_runs(const CompareOptions& options);

/// Writes `<out_dir>/report.html`: one self-contained file (Chart.js and the pictures inlined)
/// with the scenario difference, the KPI table, the maps and the time-series charts.
Result<std::string> write_report(const Comparison& c, const CompareOptions& options);

/// An ensemble of runs of one city (a batch's members, or any runs): every run.h5 under a
/// folder, each member's KPIs and per KPI its distribution, and where the members flood.
struct EnsembleSummary {
  std::vector<KpiValues> members;  ///< in path order
  std::vector<std::string> names;  ///< each member's folder, relative to the ensemble's
  std::vector<std::string> files;  ///< every file written
};

/// Finds every run.h5 under `folder` (at least two, comparable with the first), computes their
/// KPIs and writes into `out_dir`: ensemble_kpi.csv (a row per member), ensemble_stats.csv (per
/// KPI: members with a value, mean, standard deviation, min, 5th, 50th and 95th percentile,
/// max) and, with a flood, the probability of exceedance of 0.1, 0.3 and 1 m maximum depth
/// per cell (the fraction of members deeper there) as GeoTIFF and PNG.
Result<EnsembleSummary> compare_ensemble(const std::string& folder, const std::string& out_dir);

/// Only the comparability check: an error naming the first difference found.
Result<void> check_comparable(const std::string& base, const std::string& variant);

}  // namespace citytwin
