// citytwin compare: are the runs comparable, the KPI table, the series side by side, and the
// time of the largest difference (docs/compare.md). The maps are compare_maps.cpp's.
#include "citytwin/compare.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "analysis/compare_maps.hpp"
#include "citytwin/io.hpp"

namespace citytwin {

namespace {

template <class T>
std::vector<T> values_or_empty(const RunReader& run, std::string_view path) {
  auto v = run.read_values<T>(path);
  return v ? std::move(*v) : std::vector<T>{};
}

bool has_domain(const RunReader& run, std::string_view d) {
  auto domains = run.read_strings("/meta/domains");
  return domains && std::find(domains->begin(), domains->end(), d) != domains->end();
}

// Output times to the millisecond (both runs' frames are on the same step grid).
std::int64_t ms(double t) {
  return std::llround(t * 1000.0);
}

struct Frames {
  std::vector<double> t;
  std::map<std::int64_t, std::size_t> row;  // ms -> frame
};

Frames frames_of(const RunReader& run) {
  Frames f;
  f.t = values_or_empty<double>(run, "/time");
  for (std::size_t k = 0; k < f.t.size(); ++k) f.row[ms(f.t[k])] = k;
  return f;
}

// Per-frame scalars of one run as columns: (id, label, unit, values by frame).
struct Scalar {
  const char* id;
  const char* label;
  const char* unit;
  const char* path;
};
constexpr Scalar k_scalars[] = {
    {"traffic.running", "vehicles running", "1", "/traffic/running"},
    {"traffic.mean_speed", "mean speed", "m/s", "/traffic/mean_speed"},
    {"power.unserved_mw", "load not served", "MW", "/power/unserved_mw"},
    {"power.customers_out", "customers without power", "1", "/power/customers_unserved"},
    {"coupled.links_closed", "road links closed", "1", ""},
};

// Road links closed per frame (the traffic domain's closures, else the exchange's).
std::vector<double> links_closed(const RunReader& run) {
  for (const char* path : {"/traffic/link_closed", "/exchange/link_closed"}) {
    if (!run.exists(path)) continue;
    auto c = run.read<std::uint8_t>(path);
    if (!c || c->dims.size() != 2) continue;
    std::vector<double> out(c->dims[0], 0.0);
    for (std::size_t k = 0; k < c->dims[0]; ++k)
      for (std::size_t l = 0; l < c->dims[1]; ++l) out[k] += c->data[k * c->dims[1] + l] != 0;
    return out;
  }
  return {};
}

void write_text(const std::string& path, const std::string& text, Comparison& c) {
  std::ofstream f(path);
  f << text;
  f.close();
  if (!f) throw OutputError("cannot write " + path);
  c.files.push_back(path);
}

std::string csv_number(double v) {
  return std::isnan(v) ? "" : fmt::format("{:.10g}", v);
}

// Change of a KPI for the city: +1 better, -1 worse, 0 the same or neither.
int verdict(const KpiDef& d, double b, double v) {
  if (std::isnan(b) || std::isnan(v) || d.better == Better::neutral) return 0;
  const double tol = 1e-9 * std::max({1.0, std::abs(b), std::abs(v)});
  if (std::abs(v - b) <= tol) return 0;
  return (v < b) == (d.better == Better::lower) ? 1 : -1;
}

void write_kpi_tables(const Comparison& c, const std::string& dir, Comparison& out) {
  const auto defs = kpi_definitions();
  std::string csv = "id,domain,label,unit,base,variant,difference,relative,change\n";
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < defs.size(); ++i) {
    const double b = c.base.value[i], v = c.variant.value[i];
    const double diff = v - b;
    const double rel = std::isnan(diff) || b == 0 ? std::nan("") : diff / std::abs(b);
    const int ver = verdict(defs[i], b, v);
    const char* change = std::isnan(diff) ? "n/a"
                         : ver > 0        ? "better"
                         : ver < 0        ? "worse"
                         : diff == 0      ? "same"
                                          : "changed";
    csv += fmt::format("{},{},\"{}\",{},{},{},{},{},{}\n", defs[i].id, defs[i].domain,
                       defs[i].label, defs[i].unit, csv_number(b), csv_number(v), csv_number(diff),
                       csv_number(rel), change);
    auto num = [](double x) {
      return std::isnan(x) ? nlohmann::ordered_json() : nlohmann::ordered_json(x);
    };
    rows.push_back({{"id", defs[i].id},
                    {"domain", defs[i].domain},
                    {"label", defs[i].label},
                    {"unit", defs[i].unit},
                    {"better", static_cast<int>(defs[i].better)},
                    {"base", num(b)},
                    {"variant", num(v)},
                    {"difference", num(diff)},
                    {"relative", num(rel)},
                    {"change", change}});
  }
  write_text(dir + "/kpi.csv", csv, out);
  nlohmann::ordered_json j;
  j["base"] = {{"run", c.base.path}, {"scenario", c.base.scenario_name}};
  j["variant"] = {{"run", c.variant.path}, {"scenario", c.variant.scenario_name}};
  j["peak_time_s"] = c.peak_time_s;
  j["end_time_s"] = c.end_time_s;
  j["kpis"] = std::move(rows);
  write_text(dir + "/kpi.json", j.dump(2) + "\n", out);
}

void write_series_csv(const SeriesTable& s, const std::string& path, Comparison& out) {
  std::string csv = "time_s";
  for (const auto& col : s.columns) csv += fmt::format(",base_{0},variant_{0}", col.id);
  csv += "\n";
  for (std::size_t k = 0; k < s.time_s.size(); ++k) {
    csv += csv_number(s.time_s[k]);
    for (const auto& col : s.columns)
      csv += fmt::format(",{},{}", csv_number(col.base[k]), csv_number(col.variant[k]));
    csv += "\n";
  }
  write_text(path, csv, out);
}

}  // namespace

Result<void> comparable(const RunReader& b, const RunReader& v) {
  auto differ = [](std::string what) {
    return fail(Error::msg(fmt::format("the runs are not comparable: {}", what)));
  };
  const auto crs_b = b.attr_string("/meta", "crs_name"), crs_v = v.attr_string("/meta", "crs_name");
  if (!crs_b || !crs_v) return differ("a file has no /meta crs_name (not a run file)");
  if (*crs_b != *crs_v) return differ(fmt::format("base CRS {}, variant CRS {}", *crs_b, *crs_v));
  const auto ob = values_or_empty<std::int64_t>(b, "/city/buildings/osm_id");
  const auto ov = values_or_empty<std::int64_t>(v, "/city/buildings/osm_id");
  // A variant may add buildings (city.add_buildings: a new development) after the city's own,
  // with ids below 0.
  if (ob.size() > ov.size() || (ov.size() > ob.size() && !(ov[ob.size()] < 0)))
    return differ(
        fmt::format("different cities: base has {} buildings, variant {} "
                    "(/city/buildings/osm_id)",
                    ob.size(), ov.size()));
  for (std::size_t i = 0; i < ob.size(); ++i)
    if (ob[i] != ov[i])
      return differ(
          fmt::format("different cities: building {} is OSM {} in the base, {} in the "
                      "variant (/city/buildings/osm_id)",
                      i, ob[i], ov[i]));
  for (const char* path : {"/city/roads/link_from", "/city/roads/link_to"}) {
    if (values_or_empty<std::int32_t>(b, path) != values_or_empty<std::int32_t>(v, path))
      return differ(fmt::format("different road networks ({})", path));
  }
  if (values_or_empty<double>(b, "/city/extent") != values_or_empty<double>(v, "/city/extent"))
    return differ("different city extents (/city/extent)");
  if (has_domain(b, "flood") && has_domain(v, "flood")) {
    for (const char* a : {"nx", "ny", "dx", "x0", "y0"}) {
      const auto gb = b.attr_double("/flood", a), gv = v.attr_double("/flood", a);
      if (!gb || !gv || *gb != *gv)
        return differ(fmt::format(
            "different flood grids: /flood {} is {} in the base, {} in the "
            "variant",
            a, gb ? fmt::format("{}", *gb) : "missing", gv ? fmt::format("{}", *gv) : "missing"));
    }
  }
  return {};
}

Result<void> check_comparable(const std::string& base, const std::string& variant) {
  auto b = RunReader::open(base);
  if (!b) return fail(b.error());
  auto v = RunReader::open(variant);
  if (!v) return fail(v.error());
  return comparable(**b, **v);
}

Result<Comparison> compare_runs(const CompareOptions& o) {
  auto b = RunReader::open(o.base);
  if (!b) return fail(b.error());
  auto v = RunReader::open(o.variant);
  if (!v) return fail(v.error());
  if (auto ok = comparable(**b, **v); !ok) return fail(ok.error());
  Comparison c;
  auto kb = compute_kpis(**b, o.base);
  if (!kb) return fail(kb.error());
  auto kv = compute_kpis(**v, o.variant);
  if (!kv) return fail(kv.error());
  c.base = std::move(*kb);
  c.variant = std::move(*kv);
  auto text = [](const RunReader& r) {
    auto s = r.read_strings("/meta/scenario");
    return s && !s->empty() ? s->front() : std::string();
  };
  c.base_scenario = text(**b);
  c.variant_scenario = text(**v);

  // The series on the union of both runs' output times.
  const Frames fb = frames_of(**b), fv = frames_of(**v);
  std::map<std::int64_t, double> times;
  for (double t : fb.t) times[ms(t)] = t;
  for (double t : fv.t) times[ms(t)] = t;
  SeriesTable& s = c.series;
  for (const auto& [key, t] : times) s.time_s.push_back(t);
  auto column = [&](std::string id, std::string label, std::string unit,
                    const std::vector<double>& vb, const std::vector<double>& vv) {
    if (vb.empty() && vv.empty()) return;
    SeriesTable::Column col{std::move(id), std::move(label), std::move(unit), {}, {}};
    for (double t : s.time_s) {
      auto at = [&](const Frames& f, const std::vector<double>& x) {
        const auto it = f.row.find(ms(t));
        return it == f.row.end() || it->second >= x.size() ? std::nan("") : x[it->second];
      };
      col.base.push_back(at(fb, vb));
      col.variant.push_back(at(fv, vv));
    }
    s.columns.push_back(std::move(col));
  };
  // Flooded area per frame, and the frame where the depths differ most (L1 over the grid).
  FloodFrames flood = flood_frames(**b, **v, fb.t, fv.t);
  column("flood.flooded_area", "area deeper than 0.1 m", "ha", flood.base_area_ha,
         flood.variant_area_ha);
  for (const Scalar& sc : k_scalars) {
    const bool closed = std::string_view(sc.id) == "coupled.links_closed";
    column(sc.id, sc.label, sc.unit,
           closed ? links_closed(**b) : values_or_empty<double>(**b, sc.path),
           closed ? links_closed(**v) : values_or_empty<double>(**v, sc.path));
  }
  // Common times: the end, and the peak difference: of the flood depths where they differ,
  // else summed over the series, each relative to its size.
  bool flood_differs = false;
  for (const auto& [key, l1] : flood.l1_by_time) flood_differs |= l1 > 0;
  double best = -1;
  for (std::size_t k = 0; k < s.time_s.size(); ++k) {
    const std::int64_t key = ms(s.time_s[k]);
    if (!fb.row.contains(key) || !fv.row.contains(key)) continue;
    c.end_time_s = s.time_s[k];
    double d = 0;
    if (flood_differs) {
      const auto it = flood.l1_by_time.find(key);
      d = it == flood.l1_by_time.end() ? 0 : it->second;
    } else {
      for (const auto& col : s.columns)
        if (!std::isnan(col.base[k]) && !std::isnan(col.variant[k]))
          d += std::abs(col.variant[k] - col.base[k]) /
               std::max({1e-9, std::abs(col.base[k]), std::abs(col.variant[k])});
    }
    if (d > best) best = d, c.peak_time_s = s.time_s[k];
  }

  std::error_code ec;
  std::filesystem::create_directories(o.out_dir, ec);
  if (ec) return fail(Error::msg("cannot create the output folder: " + ec.message(), o.out_dir));
  try {
    write_kpi_tables(c, o.out_dir, c);
    write_series_csv(s, o.out_dir + "/series.csv", c);
    if (auto m = write_maps(**b, **v, o.out_dir, c); !m) return fail(m.error());
  } catch (const OutputError& e) {
    return fail(Error::msg(e.what(), o.out_dir));
  }
  return c;
}

}  // namespace citytwin
