// What the run file holds of the coupling: what each exchange index names (static), the
// exchange series at every frame (the replay's viewer frame reads them back), the log of every
// change and the summary rows (docs/hdf5-layout.md "/coupling and /exchange").
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "citytwin/coupling.hpp"
#include "citytwin/io.hpp"
#include "citytwin/sim.hpp"

namespace citytwin {

namespace {

const char* k_entity_names = "link,element,building,signal,bus,pump";
const char* k_rule_names =
    "flood_roads,flood_power,flood_buildings,power_signals,power_pumps,ev_charging";

std::string entity_label(const CouplingModel& m, CouplingEntity k, std::int32_t i) {
  if (i < 0) return "-";
  const auto u = static_cast<std::size_t>(i);
  const ExchangeLayout& l = *m.layout;
  switch (k) {
    case CouplingEntity::link:
      return fmt::format("link {} {}", i, u < m.link_names.size() ? m.link_names[u] : "");
    case CouplingEntity::element:
      return fmt::format(
          "{} {} (bus {})",
          l.element_kind[u] == ElementKind::substation ? "substation" : "transformer", i,
          l.element_bus[u]);
    case CouplingEntity::building:
      return fmt::format("building {}", i);
    case CouplingEntity::signal:
      return fmt::format("signal {} (node {})", i, m.signal_osm_node[u]);
    case CouplingEntity::bus:
      return fmt::format("bus {}", i);
    case CouplingEntity::pump:
      return fmt::format("pump {} ({})", i, m.spec.pumps[u].name);
  }
  return "?";
}

std::string state_label(CouplingRule r, float v) {
  switch (r) {
    case CouplingRule::flood_roads:
      return v == 0.0f ? "closed" : fmt::format("open, speed factor {:.2f}", v);
    case CouplingRule::flood_power:
      return v == 0.0f ? "out of service" : "back in service";
    case CouplingRule::flood_buildings:
      return v == 0.0f ? "disconnected" : "reconnected";
    case CouplingRule::power_signals:
      return v == 0.0f ? "dark (all-way stop)" : "powered";
    case CouplingRule::power_pumps:
      return v == 0.0f ? "stopped" : "running";
    case CouplingRule::ev_charging:
      return fmt::format("charging load {:.0f} W", v);
  }
  return "?";
}

}  // namespace

void write_coupling_static(const CouplingModel& m, RunWriter& out) {
  const ExchangeLayout& l = *m.layout;
  std::vector<std::uint8_t> kind;
  for (ElementKind k : l.element_kind) kind.push_back(static_cast<std::uint8_t>(k));
  out.write(std::string("/coupling/element_kind"), kind, {"", "0 substation, 1 MV/LV transformer"});
  out.write(std::string("/coupling/element_x"), l.element_x, {"m", "position, model CRS"});
  out.write(std::string("/coupling/element_y"), l.element_y, {"m", "position, model CRS"});
  out.write(std::string("/coupling/element_bus"), l.element_bus,
            {"", "power bus each element energises (/power/bus_*)"});
  out.write(std::string("/coupling/signal_node"), l.signal_node,
            {"", "road node of each signal (/city/roads)"});
  out.write(std::string("/coupling/signal_x"), l.signal_x, {"m", "signal position, model CRS"});
  out.write(std::string("/coupling/signal_y"), l.signal_y, {"m", "signal position, model CRS"});
  out.write(std::string("/coupling/signal_bus"), m.signal_bus,
            {"", "LV bus feeding each signal (-1: none)"});
  std::vector<std::string> pump_names;
  for (const auto& p : m.spec.pumps) pump_names.push_back(p.name);
  out.write_strings("/coupling/pump_name", pump_names, {"", "pump names"});
  out.write(std::string("/coupling/pump_bus"), m.pump_bus, {"", "bus feeding each pump"});
  out.attr("/coupling", "flood_roads", static_cast<std::int64_t>(m.spec.flood_roads.on));
  out.attr("/coupling", "flood_power", static_cast<std::int64_t>(m.spec.flood_power.on));
  out.attr("/coupling", "power_signals", static_cast<std::int64_t>(m.spec.signals.on));
  out.attr("/coupling", "power_pumps", static_cast<std::int64_t>(m.spec.pumps_on));
  out.attr("/coupling", "ev_charging", static_cast<std::int64_t>(m.spec.ev.on));
}

void write_coupling_frame(const CouplingModel& m, const CityExchange& x, RunWriter& out) {
  const ExchangeLayout& l = *m.layout;
  auto row = [&]<class T>(const char* name, const std::vector<T>& v, const char* unit,
                          const char* what) {
    const std::size_t n = v.size();
    out.append<T>(std::string("/exchange/") + name, v, std::span<const std::size_t>(&n, 1),
                  {unit, what});
  };
  if (l.flood) {
    row("link_depth_m", x.link_depth_m, "m", "depth over each road link");
    row("building_depth_m", x.building_depth_m, "m", "depth at each building");
    row("element_depth_m", x.element_depth_m, "m", "depth at each substation / transformer");
  }
  if (l.power) {
    row("building_powered", x.building_powered, "1", "1 when the building has power");
    row("element_energised", x.element_energised, "1", "1 in service and energised");
  }
  row("link_speed_factor", x.link_speed_factor, "1", "flood speed factor of each road link");
  row("link_closed", x.link_closed, "1", "1 when the flood closes the link");
  row("element_in_service", x.element_in_service, "1", "0 switched out by the flood");
  row("signal_powered", x.signal_powered, "1", "0 dark (all-way stop)");
  if (!x.pump_rate_m3s.empty()) row("pump_rate_m3s", x.pump_rate_m3s, "m3/s", "pumped now");
}

void write_coupling_final(const CouplingModel& m, const CouplingState& s, RunWriter& out,
                          std::vector<SummaryRow>& summary) {
  const std::string g = "/coupling/log/";
  std::vector<double> time_s;
  std::vector<std::uint8_t> rule, sk, tk;
  std::vector<std::int32_t> src, tgt;
  std::vector<float> sv, st;
  for (const CouplingLogRow& r : s.log) {
    time_s.push_back(to_seconds(r.t));
    rule.push_back(static_cast<std::uint8_t>(r.rule));
    sk.push_back(static_cast<std::uint8_t>(r.source_kind));
    src.push_back(r.source);
    sv.push_back(r.source_value);
    tk.push_back(static_cast<std::uint8_t>(r.target_kind));
    tgt.push_back(r.target);
    st.push_back(r.new_state);
  }
  out.write(g + "time_s", time_s, {"s", "when the rule changed its target"});
  out.write(g + "rule", rule, {"", "index into the attribute rule_names"});
  out.attr(g + "rule", "rule_names", std::string_view(k_rule_names));
  out.write(g + "source_kind", sk, {"", "index into the attribute kind_names"});
  out.attr(g + "source_kind", "kind_names", std::string_view(k_entity_names));
  out.write(g + "source", src, {"", "index of the source in its kind's index space"});
  out.write(g + "source_value", sv, {"", "depth (m), bus state (0/1) or arrivals"});
  out.write(g + "target_kind", tk, {"", "index into the attribute kind_names"});
  out.attr(g + "target_kind", "kind_names", std::string_view(k_entity_names));
  out.write(g + "target", tgt, {"", "index of the target in its kind's index space"});
  out.write(g + "new_state", st,
            {"", "speed factor (0 closed), 0/1 in service or powered, load (W)"});

  // Runs without a coupling rule (one domain, or [coupling] off) say nothing more.
  if (!m.any() && m.spec.pumps.empty()) return;
  const std::filesystem::path csv =
      std::filesystem::path(out.path()).parent_path() / "coupling_log.csv";
  std::string csv_status = csv.string();
  if (std::FILE* f = std::fopen(csv.c_str(), "w")) {
    std::fprintf(f, "time_s,rule,source,source_value,target,new_state\n");
    for (const CouplingLogRow& r : s.log)
      std::fprintf(f, "%.3f,%s,\"%s\",%.4f,\"%s\",%s\n", to_seconds(r.t), to_string(r.rule),
                   entity_label(m, r.source_kind, r.source).c_str(),
                   static_cast<double>(r.source_value),
                   entity_label(m, r.target_kind, r.target).c_str(),
                   state_label(r.rule, r.new_state).c_str());
    std::fclose(f);
  } else {
    csv_status = "not written: cannot open " + csv.string();
  }

  auto count = [&](CouplingRule r, float v) {
    return std::count_if(s.log.begin(), s.log.end(), [&](const CouplingLogRow& row) {
      return row.rule == r && row.new_state == v;
    });
  };
  std::int64_t dark_now = 0, failed_now = 0, closed_now = 0;
  for (std::uint8_t d : s.signal_dark) dark_now += d;
  for (std::uint8_t e : s.element_failed) failed_now += e;
  for (std::uint8_t c : s.link_closed) closed_now += c;
  out.attr("/coupling", "links_closed", s.links_closed_total);
  out.attr("/coupling", "link_hours_closed", s.link_hours_closed);
  out.attr("/coupling", "elements_failed", s.elements_failed_total);
  out.attr("/coupling", "customer_hours_unpowered", s.customer_hours_unpowered);
  out.attr("/coupling", "max_customers_unpowered",
           static_cast<std::int64_t>(s.max_customers_unpowered));
  out.attr("/coupling", "signals_dark", s.signals_dark_total);
  out.attr("/coupling", "signal_hours_dark", s.signal_hours_dark);
  out.attr("/coupling", "pump_hours_lost", s.pump_hours_lost);
  out.attr("/coupling", "ev_sessions", s.ev_sessions_started);

  auto add = [&](std::string key, std::string value) {
    summary.push_back({"coupling", std::move(key), std::move(value)});
  };
  add("rules", fmt::format("flood->roads {}, flood->power {}, power->signals {}, power->pumps {}, "
                           "EV charging {}",
                           m.spec.flood_roads.on ? "on" : "off",
                           m.spec.flood_power.on ? "on" : "off", m.spec.signals.on ? "on" : "off",
                           m.spec.pumps_on ? "on" : "off", m.spec.ev.on ? "on" : "off"));
  if (m.spec.flood_roads.on)
    add("links closed (now) / link-hours closed",
        fmt::format("{} ({}) / {:.2f}", s.links_closed_total, closed_now, s.link_hours_closed));
  if (m.spec.flood_power.on)
    add("elements failed (now) / repaired",
        fmt::format("{} ({}) / {}", s.elements_failed_total, failed_now,
                    count(CouplingRule::flood_power, 1.0f)));
  if (m.layout->power)
    add("customer-hours without power (peak customers)",
        fmt::format("{:.1f} ({})", s.customer_hours_unpowered, s.max_customers_unpowered));
  if (m.spec.signals.on)
    add("signals dark (now) / signal-hours dark",
        fmt::format("{} ({}) / {:.2f}", s.signals_dark_total, dark_now, s.signal_hours_dark));
  if (!m.spec.pumps.empty()) add("pump-hours lost", fmt::format("{:.2f}", s.pump_hours_lost));
  if (m.spec.ev.on) add("EV charging sessions", std::to_string(s.ev_sessions_started));
  add("log", fmt::format("{} changes -> {}", s.log.size(), csv_status));
}

}  // namespace citytwin
