// KPIs from a finished run file (docs/kpi.md). Every value is read from datasets the run file
// documents (docs/hdf5-layout.md), so an analyst can recompute any of them with h5py.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "analysis/access.hpp"
#include "citytwin/io.hpp"
#include "citytwin/kpi.hpp"

namespace citytwin {

namespace {

constexpr double k_flooded_m = 0.3;  // a building is flooded above this depth (docs/kpi.md)
constexpr int k_hospital = 0, k_fire_station = 1;

class Sink {
 public:
  explicit Sink(KpiValues& k) : m_k(k) {
    const std::size_t n = kpi_definitions().size();
    m_k.value.assign(n, std::nan(""));
    m_k.missing.assign(n, "");
  }
  void set(std::string_view id, double v) { m_k.value[index(id)] = v; }
  /// Every KPI whose id starts with `prefix` that has no value gets `why`.
  void missing(std::string_view prefix, const std::string& why) {
    const auto defs = kpi_definitions();
    for (std::size_t k = 0; k < defs.size(); ++k)
      if (defs[k].id.starts_with(prefix) && std::isnan(m_k.value[k]) && m_k.missing[k].empty())
        m_k.missing[k] = why;
  }

 private:
  static std::size_t index(std::string_view id) {
    const int k = kpi_index(id);
    if (k < 0) throw std::logic_error("unknown KPI " + std::string(id));
    return static_cast<std::size_t>(k);
  }
  KpiValues& m_k;
};

template <class T>
std::vector<T> values_or_empty(const RunReader& run, std::string_view path) {
  auto v = run.read_values<T>(path);
  return v ? std::move(*v) : std::vector<T>{};
}

template <class T>
Result<Dataset<T>> need(const RunReader& run, std::string_view path) {
  auto d = run.read<T>(path);
  if (!d)
    return fail(
        Error::msg("the run file has no " + std::string(path) + ": " + d.error().first().message));
  return d;
}

// A comma-separated names attribute ("a,b,c") as a list.
std::vector<std::string> split_names(const std::string& names) {
  std::vector<std::string> out;
  for (std::size_t b = 0, e; b <= names.size(); b = e + 1) {
    e = std::min(names.find(',', b), names.size());
    out.push_back(names.substr(b, e - b));
  }
  return out;
}

// Distinct entries of a list.
double distinct(std::vector<std::int32_t> v) {
  std::sort(v.begin(), v.end());
  return static_cast<double>(std::unique(v.begin(), v.end()) - v.begin());
}

// How long each output frame's state stood: until the next frame (the last frame: 0).
std::vector<double> frame_spans(const std::vector<double>& t) {
  std::vector<double> dt(t.size(), 0.0);
  for (std::size_t k = 0; k + 1 < t.size(); ++k) dt[k] = t[k + 1] - t[k];
  return dt;
}

// Nearest-rank percentile (q in (0, 1]) of values with weights; NaN when the weight is 0.
double weighted_percentile(std::vector<std::pair<double, double>> vw, double q) {
  std::sort(vw.begin(), vw.end());
  double total = 0;
  for (const auto& [v, w] : vw) total += w;
  if (!(total > 0)) return std::nan("");
  double acc = 0;
  for (const auto& [v, w] : vw)
    if ((acc += w) >= q * total) return v;
  return vw.back().first;
}

Result<void> flood_kpis(const RunReader& run, Sink& out) {
  auto dx = run.attr_double("/flood", "dx");
  if (!dx) return fail(dx.error());
  const double cell_ha = *dx * *dx / 1e4;
  auto md = need<float>(run, "/flood/max_depth");
  if (!md) return fail(md.error());
  double dmax = 0, a01 = 0, a03 = 0, a1 = 0;
  for (float d : md->data) {
    if (!(d > 0)) continue;
    dmax = std::max(dmax, static_cast<double>(d));
    a01 += d > 0.1f, a03 += d > 0.3f, a1 += d > 1.0f;
  }
  out.set("flood.max_depth", dmax);
  out.set("flood.area_over_0_1m", a01 * cell_ha);
  out.set("flood.area_over_0_3m", a03 * cell_ha);
  out.set("flood.area_over_1m", a1 * cell_ha);

  auto bd = need<float>(run, "/flood/building_max_depth");
  if (!bd) return fail(bd.error());
  const std::vector<float> residents = values_or_empty<float>(run, "/city/buildings/residents");
  double b01 = 0, b03 = 0, b1 = 0, people = 0;
  for (std::size_t b = 0; b < bd->data.size(); ++b) {
    const float d = bd->data[b];
    b01 += d > 0.1f, b03 += d > 0.3f, b1 += d > 1.0f;
    if (d > k_flooded_m && b < residents.size()) people += residents[b];
  }
  out.set("flood.buildings_over_0_1m", b01);
  out.set("flood.buildings_over_0_3m", b03);
  out.set("flood.buildings_over_1m", b1);
  if (residents.size() == bd->data.size())
    out.set("flood.residents_flooded", people);
  else
    out.missing("flood.residents_flooded", "the run file has no /city/buildings/residents");

  auto hz = need<float>(run, "/flood/hazard");
  auto wet = need<float>(run, "/flood/arrival_time");
  if (!hz) return fail(hz.error());
  if (!wet) return fail(wet.error());
  double cls[4] = {0, 0, 0, 0};
  for (std::size_t c = 0; c < hz->data.size(); ++c) {
    if (std::isnan(wet->data[c])) continue;  // never wet
    const float hr = hz->data[c];
    cls[hr < 0.75f ? 0 : hr < 1.25f ? 1 : hr < 2.0f ? 2 : 3] += 1;
  }
  out.set("flood.hazard_area_low", cls[0] * cell_ha);
  out.set("flood.hazard_area_some", cls[1] * cell_ha);
  out.set("flood.hazard_area_most", cls[2] * cell_ha);
  out.set("flood.hazard_area_all", cls[3] * cell_ha);

  auto last = [&](const char* name) -> Result<std::pair<double, double>> {
    auto v = need<double>(run, std::string("/flood/volume/") + name);
    if (!v) return fail(v.error());
    if (v->data.empty())
      return fail(Error::msg(std::string("/flood/volume/") + name + " is empty"));
    return std::pair{v->data.front(), v->data.back()};
  };
  auto rain = last("rain"), inflow = last("inflow"), outflow = last("outflow");
  auto losses = last("losses"), stored = last("stored"), error = last("error");
  for (const auto* r : {&rain, &inflow, &outflow, &losses, &stored, &error})
    if (!*r) return fail(r->error());
  out.set("flood.rain_volume", rain->second);
  out.set("flood.inflow_volume", inflow->second);
  out.set("flood.outflow_volume", outflow->second);
  out.set("flood.losses_volume", losses->second);
  out.set("flood.stored_volume", stored->second);
  const double scale = stored->first + rain->second + inflow->second;
  out.set("flood.volume_error", scale > 0 ? std::abs(error->second) / scale : 0.0);
  return {};
}

Result<void> traffic_kpis(const RunReader& run, const std::vector<double>& span, Sink& out) {
  if (!run.exists("/traffic/trips/status"))
    return fail(
        Error::msg("the run file has no /traffic/trips (written by CityTwin before the "
                   "KPIs existed: run it again)"));
  auto status = need<std::uint8_t>(run, "/traffic/trips/status");
  auto ins = need<double>(run, "/traffic/trips/insert_s");
  auto arr = need<double>(run, "/traffic/trips/arrival_s");
  auto len = need<double>(run, "/traffic/trips/route_length_m");
  auto loss = need<double>(run, "/traffic/trips/time_loss_s");
  for (const auto* r : {&ins, &arr, &len, &loss})
    if (!*r) return fail(r->error());
  if (!status) return fail(status.error());
  std::vector<double> tt;
  double delay = 0, km = 0, stranded = 0, cancelled = 0, removed = 0;
  for (std::size_t v = 0; v < status->data.size(); ++v) {
    const std::uint8_t st = status->data[v];
    if (st == 2) tt.push_back(arr->data[v] - ins->data[v]);
    if (!std::isnan(ins->data[v])) delay += loss->data[v], km += len->data[v];
    stranded += st == 4, cancelled += st == 5, removed += st == 3;
  }
  out.set("traffic.trips_completed", static_cast<double>(tt.size()));
  if (!tt.empty()) {
    out.set("traffic.travel_time_mean",
            std::accumulate(tt.begin(), tt.end(), 0.0) / static_cast<double>(tt.size()));
    std::vector<std::pair<double, double>> vw;
    for (double t : tt) vw.emplace_back(t, 1.0);
    out.set("traffic.travel_time_p95", weighted_percentile(std::move(vw), 0.95));
  } else {
    out.missing("traffic.travel_time", "no trip was completed");
  }
  out.set("traffic.delay", delay / 3600.0);
  out.set("traffic.vehicle_km", km / 1000.0);
  out.set("traffic.trips_stranded", stranded);
  out.set("traffic.trips_cancelled", cancelled);
  out.set("traffic.trips_removed", removed);
  if (run.exists("/traffic/link_closed")) {
    auto closed = need<std::uint8_t>(run, "/traffic/link_closed");
    if (!closed) return fail(closed.error());
    const std::size_t n = closed->dims.size() == 2 ? closed->dims[1] : 0;
    double h = 0;
    for (std::size_t k = 0; k < span.size() && n > 0; ++k)
      for (std::size_t l = 0; l < n; ++l) h += closed->data[k * n + l] * span[k];
    out.set("traffic.link_hours_closed", h / 3600.0);
  } else {
    out.missing("traffic.link_hours_closed", "a SUMO network has no city road links");
  }
  return {};
}

Result<void> power_kpis(const RunReader& run, const std::vector<double>& span, Sink& out) {
  auto ens = run.attr_double("/power", "unserved_mwh");
  if (!ens) return fail(ens.error());
  out.set("power.unserved_energy", *ens);
  if (run.exists("/power/building_bus")) {
    auto cu = need<std::int64_t>(run, "/power/customers_unserved");
    auto bus = need<std::int32_t>(run, "/power/building_bus");
    if (!cu) return fail(cu.error());
    if (!bus) return fail(bus.error());
    double worst = 0, cmi = 0;
    for (std::size_t k = 0; k < cu->data.size(); ++k) {
      worst = std::max(worst, static_cast<double>(cu->data[k]));
      if (k < span.size()) cmi += static_cast<double>(cu->data[k]) * span[k] / 60.0;
    }
    const auto customers =
        std::count_if(bus->data.begin(), bus->data.end(), [](std::int32_t b) { return b >= 0; });
    out.set("power.customers_out_max", worst);
    out.set("power.customer_minutes_lost", cmi);
    if (customers > 0) out.set("power.saidi", cmi / static_cast<double>(customers));
  }
  out.missing("power.customer", "a network read from a case file has no buildings as customers");
  out.missing("power.saidi", "a network read from a case file has no buildings as customers");

  auto loading = need<float>(run, "/power/branch_loading");
  auto vm = need<float>(run, "/power/bus_vm");
  if (!loading) return fail(loading.error());
  if (!vm) return fail(vm.error());
  double peak = 0, vmin = std::numeric_limits<double>::infinity();
  for (float l : loading->data)
    if (std::isfinite(l)) peak = std::max(peak, static_cast<double>(l));
  for (float v : vm->data)
    if (v > 0) vmin = std::min(vmin, static_cast<double>(v));
  out.set("power.peak_loading", 100.0 * peak);
  if (std::isfinite(vmin))
    out.set("power.lowest_voltage", vmin);
  else
    out.missing("power.lowest_voltage", "no bus was ever energised");

  double failed = 0;
  if (run.exists("/power/cascade/reason")) {
    auto reason = need<std::int32_t>(run, "/power/cascade/reason");
    auto branch = need<std::int32_t>(run, "/power/cascade/branch");
    auto bus = need<std::int32_t>(run, "/power/cascade/bus");
    auto names = run.attr_string("/power/cascade/reason", "reason_names");
    if (!reason) return fail(reason.error());
    if (!branch) return fail(branch.error());
    if (!bus) return fail(bus.error());
    if (!names) return fail(names.error());
    const std::vector<std::string> name = split_names(*names);
    auto is = [&](std::int32_t r, std::initializer_list<std::string_view> of) {
      if (r < 0 || static_cast<std::size_t>(r) >= name.size()) return false;
      return std::find(of.begin(), of.end(), name[static_cast<std::size_t>(r)]) != of.end();
    };
    std::vector<std::int32_t> branches, buses;
    for (std::size_t k = 0; k < reason->data.size(); ++k) {
      if (is(reason->data[k], {"event_trip", "overload_timed", "overload_instant"}))
        branches.push_back(branch->data[k]);
      if (is(reason->data[k], {"substation_out"})) buses.push_back(bus->data[k]);
    }
    failed += distinct(std::move(branches)) + distinct(std::move(buses));
  }
  // Substations and kiosks the water took out (the coupling's flood -> power rule).
  if (run.exists("/coupling/log/rule")) {
    auto rule = need<std::int32_t>(run, "/coupling/log/rule");
    auto kind = need<std::int32_t>(run, "/coupling/log/target_kind");
    auto target = need<std::int32_t>(run, "/coupling/log/target");
    auto state = need<float>(run, "/coupling/log/new_state");
    auto rules = run.attr_string("/coupling/log/rule", "rule_names");
    auto kinds = run.attr_string("/coupling/log/target_kind", "kind_names");
    if (!rule || !kind || !target || !state || !rules || !kinds)
      return fail(Error::msg("the run file's /coupling/log is incomplete"));
    const std::vector<std::string> rn = split_names(*rules), kn = split_names(*kinds);
    auto named = [](const std::vector<std::string>& names, std::int32_t k, std::string_view n) {
      return k >= 0 && static_cast<std::size_t>(k) < names.size() &&
             names[static_cast<std::size_t>(k)] == n;
    };
    std::vector<std::int32_t> elements;
    for (std::size_t k = 0; k < rule->data.size(); ++k)
      if (named(rn, rule->data[k], "flood_power") && named(kn, kind->data[k], "element") &&
          state->data[k] == 0.0f)
        elements.push_back(target->data[k]);
    failed += distinct(std::move(elements));
  }
  out.set("power.elements_failed", failed);
  return {};
}

// The output frame with the most road links closed (the first of equals), and its row.
std::vector<std::uint8_t> peak_closures(const RunReader& run) {
  for (const char* path : {"/traffic/link_closed", "/exchange/link_closed"}) {
    if (!run.exists(path)) continue;
    auto c = run.read<std::uint8_t>(path);
    if (!c || c->dims.size() != 2 || c->dims[1] == 0) continue;
    const std::size_t n = c->dims[1];
    std::size_t best = 0, most = 0;
    for (std::size_t k = 0; k < c->dims[0]; ++k) {
      const auto cnt = static_cast<std::size_t>(
          std::count_if(c->data.begin() + static_cast<std::ptrdiff_t>(k * n),
                        c->data.begin() + static_cast<std::ptrdiff_t>((k + 1) * n),
                        [](std::uint8_t x) { return x != 0; }));
      if (cnt > most) most = cnt, best = k;
    }
    return {c->data.begin() + static_cast<std::ptrdiff_t>(best * n),
            c->data.begin() + static_cast<std::ptrdiff_t>((best + 1) * n)};
  }
  return {};
}

Result<void> access_kpis(const RunReader& run, Sink& out) {
  auto access = RoadAccess::load(run);
  if (!access) return fail(access.error());
  const std::vector<float> residents = values_or_empty<float>(run, "/city/buildings/residents");
  std::vector<std::uint8_t> peak = peak_closures(run);
  if (peak.size() != static_cast<std::size_t>(access->links())) peak.clear();
  const std::vector<std::uint8_t> open;
  struct Access {
    int kind;
    bool from;
    const char *cut, *p95_open, *p95_peak;
  };
  for (const Access& a :
       {Access{k_fire_station, true, "coupled.residents_cut_off_fire",
               "coupled.fire_access_p95_open", "coupled.fire_access_p95_peak"},
        Access{k_hospital, false, "coupled.residents_cut_off_hospital",
               "coupled.hospital_access_p95_open", "coupled.hospital_access_p95_peak"}}) {
    const std::vector<double> t_open = access->building_times(a.kind, a.from, open);
    if (t_open.empty() || residents.size() != t_open.size()) continue;
    const std::vector<double> t_peak = access->building_times(a.kind, a.from, peak);
    std::vector<std::pair<double, double>> vw_open, vw_peak;
    double cut = 0;
    for (std::size_t b = 0; b < t_open.size(); ++b) {
      const double w = residents[b];
      if (!(w > 0)) continue;
      if (std::isfinite(t_open[b])) vw_open.emplace_back(t_open[b] / 60.0, w);
      if (std::isfinite(t_peak[b]))
        vw_peak.emplace_back(t_peak[b] / 60.0, w);
      else if (std::isfinite(t_open[b]))
        cut += w;  // reachable with every road open, not while the closures peak
    }
    out.set(a.cut, cut);
    out.set(a.p95_open, weighted_percentile(std::move(vw_open), 0.95));
    out.set(a.p95_peak, weighted_percentile(std::move(vw_peak), 0.95));
  }
  // Critical facilities cut off: reachable from a fire station with every road open, not
  // while the closures peak.
  const std::vector<double> f_open = access->facility_times(k_fire_station, true, open);
  if (!f_open.empty()) {
    const std::vector<double> f_peak = access->facility_times(k_fire_station, true, peak);
    double cut = 0;
    for (std::size_t f = 0; f < f_open.size(); ++f)
      cut += std::isfinite(f_open[f]) && !std::isfinite(f_peak[f]);
    out.set("coupled.critical_cut_off", cut);
  }
  out.missing("coupled.residents_cut_off_fire",
              "the city has no fire station (OSM amenity=fire_station)");
  out.missing("coupled.fire_access", "the city has no fire station (OSM amenity=fire_station)");
  out.missing("coupled.critical_cut_off",
              "the city has no fire station (OSM amenity=fire_station)");
  out.missing("coupled.residents_cut_off_hospital",
              "the city has no hospital (OSM amenity=hospital)");
  out.missing("coupled.hospital_access", "the city has no hospital (OSM amenity=hospital)");
  return {};
}

Result<void> coupled_kpis(const RunReader& run, const std::vector<double>& span, bool flood,
                          bool power, bool traffic, Sink& out) {
  if (flood && traffic) {
    auto r = run.attr_double("/traffic", "flood_reroutes");
    out.set("coupled.trips_rerouted_by_flood", r ? *r : 0.0);
  }
  if (run.exists("/traffic/signal_dark")) {
    auto dark = need<std::uint8_t>(run, "/traffic/signal_dark");
    if (!dark) return fail(dark.error());
    const std::size_t n = dark->dims.size() == 2 ? dark->dims[1] : 0;
    double most = 0, hours = 0;
    for (std::size_t k = 0; k < dark->dims[0] && n > 0; ++k) {
      double now = 0;
      for (std::size_t s = 0; s < n; ++s) now += dark->data[k * n + s];
      most = std::max(most, now);
      if (k < span.size()) hours += now * span[k] / 3600.0;
    }
    out.set("coupled.signals_dark_max", most);
    out.set("coupled.signal_hours_dark", hours);
  }
  const std::vector<std::int32_t> fb =
      values_or_empty<std::int32_t>(run, "/city/facilities/building");
  if (flood) {
    const std::vector<float> bd = values_or_empty<float>(run, "/flood/building_max_depth");
    double n = 0;
    for (std::int32_t b : fb)
      n += b >= 0 && static_cast<std::size_t>(b) < bd.size() &&
           bd[static_cast<std::size_t>(b)] > k_flooded_m;
    if (!bd.empty()) out.set("coupled.critical_flooded", n);
  }
  if (power && run.exists("/power/building_powered")) {
    auto p = need<std::uint8_t>(run, "/power/building_powered");
    if (!p) return fail(p.error());
    const std::size_t nb = p->dims.size() == 2 ? p->dims[1] : 0;
    double n = 0;
    for (std::int32_t b : fb) {
      if (b < 0 || static_cast<std::size_t>(b) >= nb) continue;
      bool lost = false;
      for (std::size_t k = 0; k < p->dims[0] && !lost; ++k)
        lost = p->data[k * nb + static_cast<std::size_t>(b)] == 0;
      n += lost;
    }
    out.set("coupled.critical_unpowered", n);
  }
  if (auto a = access_kpis(run, out); !a) return a;
  out.missing("coupled.trips_rerouted_by_flood", "needs both the flood and traffic domains");
  out.missing("coupled.signal", "needs traffic on the city network");
  out.missing("coupled.critical_flooded", "needs the flood domain");
  out.missing("coupled.critical_unpowered", "needs the power domain on the city grid");
  return {};
}

}  // namespace

Result<KpiValues> compute_kpis(const std::string& path) {
  auto run = RunReader::open(path);
  if (!run) return fail(run.error());
  return compute_kpis(**run, path);
}

Result<KpiValues> compute_kpis(const RunReader& run, const std::string& path) {
  auto located = [&](Error e) {
    for (Diagnostic& d : e.items)
      if (d.file.empty()) d.file = path;
    return e;
  };
  KpiValues k;
  k.path = path;
  Sink out(k);
  auto complete = run.attr_double("/meta", "complete");
  if (!complete) return fail(located(Error::msg("not a CityTwin run file (no /meta complete)")));
  if (*complete != 1.0)
    return fail(located(Error::msg(
        "the run did not finish (/meta complete = 0): its end-of-run results are missing; "
        "resume it from its checkpoint (citytwin resume) or run it again")));
  if (auto name = run.attr_string("/meta", "scenario_name")) k.scenario_name = *name;
  auto domains = run.read_strings("/meta/domains");
  if (!domains) return fail(located(domains.error()));
  auto has = [&](std::string_view d) {
    return std::find(domains->begin(), domains->end(), d) != domains->end();
  };
  auto t = run.read_values<double>("/time");
  if (!t) return fail(located(t.error()));
  const std::vector<double> span = frame_spans(*t);
  const bool flood = has("flood"), traffic = has("traffic"), power = has("power");
  if (flood)
    if (auto r = flood_kpis(run, out); !r) return fail(located(r.error()));
  if (traffic)
    if (auto r = traffic_kpis(run, span, out); !r) return fail(located(r.error()));
  if (power)
    if (auto r = power_kpis(run, span, out); !r) return fail(located(r.error()));
  if (auto r = coupled_kpis(run, span, flood, power, traffic, out); !r)
    return fail(located(r.error()));
  out.missing("flood.", "the run did not simulate the flood domain");
  out.missing("traffic.", "the run did not simulate the traffic domain");
  out.missing("power.", "the run did not simulate the power domain");
  return k;
}

}  // namespace citytwin
