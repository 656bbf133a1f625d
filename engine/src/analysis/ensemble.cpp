// citytwin compare FOLDER: an ensemble of runs (docs/compare.md "Ensembles").
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "analysis/compare_maps.hpp"
#include "citytwin/compare.hpp"
#include "citytwin/io.hpp"

namespace citytwin {

namespace {

// Percentile q in [0, 1] by linear interpolation between order statistics (numpy's default,
// Hyndman & Fan 1996 definition 7) of sorted values.
double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return std::nan("");
  const double h = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

std::string cell(double v) {
  return std::isnan(v) ? std::string() : fmt::format("{:.10g}", v);
}

void save(const std::string& path, const std::string& text, std::vector<std::string>& files) {
  std::ofstream f(path);
  f << text;
  f.close();
  if (!f) throw OutputError("cannot write " + path);
  files.push_back(path);
}

}  // namespace

Result<EnsembleSummary> compare_ensemble(const std::string& folder, const std::string& out_dir) {
  namespace fs = std::filesystem;
  std::vector<fs::path> runs;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file() && it->path().filename() == "run.h5") runs.push_back(it->path());
  if (ec) return fail(Error::msg("cannot list the folder: " + ec.message(), folder));
  std::sort(runs.begin(), runs.end());
  if (runs.size() < 2)
    return fail(Error::msg(fmt::format("an ensemble needs at least two run files (run.h5) under "
                                       "the folder; found {}",
                                       runs.size()),
                           folder));
  EnsembleSummary e;
  std::vector<std::vector<float>> max_depth;
  std::unique_ptr<RunReader> first;
  for (const fs::path& p : runs) {
    auto r = RunReader::open(p.string());
    if (!r) return fail(r.error());
    if (first) {
      if (auto ok = comparable(*first, **r); !ok) {
        Error err = ok.error();
        for (Diagnostic& d : err.items) d.file = p.string();
        return fail(err);
      }
    }
    auto k = compute_kpis(**r, p.string());
    if (!k) return fail(k.error());
    e.members.push_back(std::move(*k));
    e.names.push_back(fs::relative(p.parent_path(), folder).string());
    if ((*r)->exists("/flood/max_depth")) {
      auto m = (*r)->read_values<float>("/flood/max_depth");
      if (!m) return fail(m.error());
      max_depth.push_back(std::move(*m));
    }
    if (!first) first = std::move(*r);
  }

  fs::create_directories(out_dir, ec);
  if (ec) return fail(Error::msg("cannot create the output folder: " + ec.message(), out_dir));
  const auto defs = kpi_definitions();
  try {
    std::string rows = "member,scenario";
    for (const KpiDef& d : defs) rows += fmt::format(",{}", d.id);
    rows += "\n";
    for (std::size_t m = 0; m < e.members.size(); ++m) {
      rows += fmt::format("{},\"{}\"", e.names[m], e.members[m].scenario_name);
      for (double v : e.members[m].value) rows += fmt::format(",{}", cell(v));
      rows += "\n";
    }
    save(out_dir + "/ensemble_kpi.csv", rows, e.files);
    std::string stats = "id,unit,members,mean,sd,min,p05,p50,p95,max\n";
    for (std::size_t i = 0; i < defs.size(); ++i) {
      std::vector<double> v;
      for (const KpiValues& m : e.members)
        if (!std::isnan(m.value[i])) v.push_back(m.value[i]);
      std::sort(v.begin(), v.end());
      const double n = static_cast<double>(v.size());
      const double mean = v.empty() ? std::nan("") : std::accumulate(v.begin(), v.end(), 0.0) / n;
      double ss = 0;
      for (double x : v) ss += (x - mean) * (x - mean);
      const double sd = v.size() > 1 ? std::sqrt(ss / (n - 1)) : std::nan("");
      stats += fmt::format("{},{},{},{},{},{},{},{},{},{}\n", defs[i].id, defs[i].unit, v.size(),
                           cell(mean), cell(sd), cell(v.empty() ? std::nan("") : v.front()),
                           cell(percentile(v, 0.05)), cell(percentile(v, 0.5)),
                           cell(percentile(v, 0.95)), cell(v.empty() ? std::nan("") : v.back()));
    }
    save(out_dir + "/ensemble_stats.csv", stats, e.files);
  } catch (const OutputError& err) {
    return fail(Error::msg(err.what(), out_dir));
  }
  if (max_depth.size() == runs.size())
    if (auto ok = write_exceedance(*first, max_depth, out_dir, e.files); !ok)
      return fail(ok.error());
  return e;
}

}  // namespace citytwin
