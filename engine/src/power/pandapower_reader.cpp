// pandapower JSON network reader (pandapower >= 2.x file format: every table is a pandas
// DataFrame serialised as a "split" JSON string: {"columns": [...], "index": [...],
// "data": [[...], ...]}).
//
// Element models, converted to the MATPOWER pi model on the network base net.sn_mva
// (pandapower documentation, "Element models" and its pd2ppc conversion):
//  - line: R = r_ohm_per_km l / parallel, X likewise, B = 2 pi f c_nf_per_km 1e-9 l parallel,
//    G = g_us_per_km 1e-6 l parallel, per unit on Z_base = vn_kv(from bus)^2 / sn_mva.
//    A line whose switch is open at one end stays energised from the other: its open-ended
//    pi section is folded into a shunt at the connected bus (exact for the pi model).
//  - trafo (pi model): z = vk% / 100, r = vkr% / 100 on the rated base, moved to the system
//    base by (sn_net / sn_trafo) (vn_lv_kv / vn_lv_bus)^2; magnetising |y| = i0% / 100,
//    g = pfe_kw / 1000 / sn_trafo, b = -sqrt(|y|^2 - g^2), split half to each side; off-nominal
//    ratio (vn_hv (1 + (tap_pos - tap_neutral) tap_step% / 100) / vn_hv_bus) / (vn_lv / vn_lv_bus)
//    and phase shift shift_degree (+ tap_step_degree per step) at the HV side.
//  - load, sgen: constant power p_mw scaling, q_mvar scaling (sgen as negative load).
//  - ext_grid: the reference bus, voltage vm_pu at angle va_degree, unlimited Q.
//  Bus geodata ("geo" GeoJSON points) become bus_x (lon), bus_y (lat).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <numbers>
#include <sstream>
#include <tuple>
#include <unordered_map>

#include "citytwin/power.hpp"

namespace citytwin::power {
namespace {

using nlohmann::json;

struct Table {
  std::vector<std::string> columns;
  std::vector<std::int64_t> index;
  json data;  // array of rows
  int col(const std::string& c) const {
    for (std::size_t i = 0; i < columns.size(); ++i)
      if (columns[i] == c) return static_cast<int>(i);
    return -1;
  }
};

Diagnostic diag(const std::string& path, std::string field, std::string message, std::string found,
                std::string expected) {
  return Diagnostic::at(path, 0, std::move(field), std::move(message), std::move(found),
                        std::move(expected));
}

Result<Table> table(const json& root, const std::string& name, const std::vector<std::string>& need,
                    const std::string& path) {
  const auto it = root.find(name);
  if (it == root.end())
    return fail(diag(path, name, "missing table", "", "a pandas DataFrame named " + name));
  Table t;
  try {
    const json& o = it->at("_object");
    const json split = o.is_string() ? json::parse(o.get<std::string>()) : o;
    t.columns = split.at("columns").get<std::vector<std::string>>();
    t.index = split.at("index").get<std::vector<std::int64_t>>();
    t.data = split.at("data");
  } catch (const json::exception& e) {
    return fail(diag(path, name, "table is not a pandas split DataFrame", e.what(),
                     "{\"columns\": [...], \"index\": [...], \"data\": [[...]]}"));
  }
  for (const auto& c : need)
    if (t.col(c) < 0) return fail(diag(path, name + "." + c, "missing column", "", "column " + c));
  return t;
}

// A cell that should be a number but is not; caught in read_pandapower and reported.
struct BadCell {
  std::int64_t row;
  std::string column;
  std::string found;
  std::string expected = {};  ///< set for a number out of its range
};

// Numeric cell; a missing column or null -> fallback.
double num(const Table& t, std::size_t row, const char* c, double fallback = 0.0) {
  const int col = t.col(c);
  if (col < 0) return fallback;
  const json& v = t.data.at(row).at(static_cast<std::size_t>(col));
  if (v.is_null()) return fallback;
  if (v.is_boolean()) return v.get<bool>() ? 1.0 : 0.0;
  if (!v.is_number()) throw BadCell{t.index[row], c, v.dump()};
  return v.get<double>();
}

// Numeric cell that must lie in [lo, hi]: physical values the solver would otherwise take as
// they are (a negative length, a 0 kV bus, an infinite load).
double num_in(const Table& t, std::size_t row, const char* c, double lo, double hi,
              const char* expected, double fallback = 0.0) {
  const double v = num(t, row, c, fallback);
  if (!(v >= lo && v <= hi)) throw BadCell{t.index[row], c, fmt::format("{}", v), expected};
  return v;
}

// A cell naming a row of a table (a bus, a line): a whole number that converts to int64 (a
// double holds integers exactly up to 2^53); else a BadCell.
std::int64_t row_id(const Table& t, std::size_t row, const char* c, double fallback = -1) {
  const double v = num(t, row, c, fallback);
  if (!(std::abs(v) <= 9007199254740992.0 && v == std::floor(v)))
    throw BadCell{t.index[row], c, fmt::format("{}", v), "a whole number (a table index)"};
  return static_cast<std::int64_t>(v);
}

bool flag(const Table& t, std::size_t row, const char* c) {
  return num(t, row, c, 1.0) != 0.0;
}

}  // namespace

Result<Network> read_pandapower_tables(const json& root, const std::string& path,
                                       std::vector<std::string>* notes);

Result<Network> read_pandapower(const std::string& path, std::vector<std::string>* notes) {
  std::ifstream in(path);
  if (!in)
    return fail(
        diag(path, "", "cannot open the network file", "", "a readable pandapower JSON file"));
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    Diagnostic d = diag(path, "", "invalid JSON", e.what(), "a pandapower JSON network");
    d.line =
        1 + static_cast<int>(std::count(
                text.begin(),
                text.begin() + static_cast<std::ptrdiff_t>(std::min(e.byte, text.size())), '\n'));
    return fail(d);
  }
  const json& root = doc.contains("_object") ? doc["_object"] : doc;
  try {
    return read_pandapower_tables(root, path, notes);
  } catch (const BadCell& b) {
    if (!b.expected.empty())
      return fail(
          diag(path, b.column, fmt::format("out of range in row {}", b.row), b.found, b.expected));
    return fail(
        diag(path, b.column, fmt::format("not a number in row {}", b.row), b.found, "a number"));
  } catch (const json::exception& e) {
    return fail(
        diag(path, "", "unexpected JSON structure", e.what(), "pandapower tables of scalars"));
  }
}

Result<Network> read_pandapower_tables(const json& root, const std::string& path,
                                       std::vector<std::string>* notes) {
  const double sn = root.value("sn_mva", 1.0);
  const double f_hz = root.value("f_hz", 50.0);
  const double deg = std::numbers::pi / 180.0;

  auto bus = table(root, "bus", {"vn_kv", "in_service"}, path);
  auto line = table(root, "line",
                    {"from_bus", "to_bus", "length_km", "r_ohm_per_km", "x_ohm_per_km",
                     "c_nf_per_km", "parallel", "in_service"},
                    path);
  auto trafo = table(root, "trafo",
                     {"hv_bus", "lv_bus", "sn_mva", "vn_hv_kv", "vn_lv_kv", "vk_percent",
                      "vkr_percent", "pfe_kw", "i0_percent", "shift_degree", "in_service"},
                     path);
  auto load = table(root, "load", {"bus", "p_mw", "q_mvar", "scaling", "in_service"}, path);
  auto sgen = table(root, "sgen", {"bus", "p_mw", "q_mvar", "scaling", "in_service"}, path);
  auto ext = table(root, "ext_grid", {"bus", "vm_pu", "va_degree", "in_service"}, path);
  auto sw = table(root, "switch", {"bus", "element", "et", "closed"}, path);
  for (auto* t : {&bus, &line, &trafo, &load, &sgen, &ext, &sw})
    if (!*t) return fail(t->error());

  Network net;
  {
    std::string stem = path.substr(path.find_last_of('/') + 1);
    if (stem.ends_with(".json")) stem.resize(stem.size() - 5);
    net.name = stem;
  }
  net.base_mva = sn;
  std::unordered_map<std::int64_t, std::int32_t> bus_at;
  const std::size_t nb = bus->index.size();
  const int geo_col = bus->col("geo");
  for (std::size_t i = 0; i < nb; ++i) {
    bus_at.emplace(bus->index[i], static_cast<std::int32_t>(i));
    net.bus_id.push_back(bus->index[i]);
    net.bus_type.push_back(flag(*bus, i, "in_service") ? BusType::pq : BusType::isolated);
    for (auto* v : {&net.bus_pd, &net.bus_qd, &net.bus_gs, &net.bus_bs, &net.bus_va})
      v->push_back(0.0);
    net.bus_vm.push_back(1.0);
    net.bus_base_kv.push_back(num_in(*bus, i, "vn_kv", 1e-3, 1e4, "a nominal voltage in kV, > 0"));
    net.bus_vmax.push_back(num(*bus, i, "max_vm_pu", 1.1));
    net.bus_vmin.push_back(num(*bus, i, "min_vm_pu", 0.9));
    double x = std::nan(""), y = std::nan("");
    if (geo_col >= 0 && bus->data[i][static_cast<std::size_t>(geo_col)].is_string()) {
      const json g = json::parse(bus->data[i][static_cast<std::size_t>(geo_col)].get<std::string>(),
                                 nullptr, false);
      if (!g.is_discarded() && g.contains("coordinates") && g["coordinates"].size() >= 2) {
        x = g["coordinates"][0].get<double>();
        y = g["coordinates"][1].get<double>();
      }
    }
    net.bus_x.push_back(x);
    net.bus_y.push_back(y);
  }
  auto find_bus = [&](const Table& t, std::size_t row, const char* c,
                      const std::string& tname) -> Result<std::int32_t> {
    const std::int64_t id = row_id(t, row, c);
    const auto it = bus_at.find(id);
    if (it == bus_at.end())
      return fail(diag(path, fmt::format("{}[{}].{}", tname, t.index[row], c),
                       "refers to a bus that is not in the bus table", fmt::format("{}", id),
                       "an index of the bus table"));
    return it->second;
  };

  // Line switches: an open switch disconnects its line at the switch's bus.
  std::unordered_map<std::int64_t, std::pair<bool, bool>>
      line_open;  // line index -> (from, to) open
  std::vector<std::int64_t> line_from_id(line->index.size()), line_to_id(line->index.size());
  std::unordered_map<std::int64_t, std::size_t> line_row;
  for (std::size_t k = 0; k < line->index.size(); ++k) {
    line_row[line->index[k]] = k;
    line_from_id[k] = row_id(*line, k, "from_bus");
    line_to_id[k] = row_id(*line, k, "to_bus");
  }
  int other_switches = 0;
  for (std::size_t s = 0; s < sw->index.size(); ++s) {
    const std::string et = sw->data[s][static_cast<std::size_t>(sw->col("et"))].get<std::string>();
    if (et != "l") {
      if (!flag(*sw, s, "closed")) ++other_switches;
      continue;
    }
    if (flag(*sw, s, "closed")) continue;
    const std::int64_t el = row_id(*sw, s, "element");
    const auto it = line_row.find(el);
    if (it == line_row.end())
      return fail(diag(path, fmt::format("switch[{}].element", sw->index[s]),
                       "refers to a line that is not in the line table", fmt::format("{}", el),
                       "an index of the line table"));
    const std::int64_t b = row_id(*sw, s, "bus");
    auto& o = line_open[el];
    if (b == line_from_id[it->second]) o.first = true;
    if (b == line_to_id[it->second]) o.second = true;
  }
  if (other_switches > 0)
    return fail(diag(path, "switch.et", "open bus-bus or transformer switches are not supported",
                     fmt::format("{} such switches", other_switches),
                     "open switches on lines only"));

  // Lines.
  const int g_col = line->col("g_us_per_km");
  for (std::size_t k = 0; k < line->index.size(); ++k) {
    auto f = find_bus(*line, k, "from_bus", "line");
    if (!f) return fail(f.error());
    auto t = find_bus(*line, k, "to_bus", "line");
    if (!t) return fail(t.error());
    const double len = num_in(*line, k, "length_km", 1e-9, 1e5, "a length in km, > 0"),
                 par = num_in(*line, k, "parallel", 1, 1e4, "parallel lines, >= 1", 1.0);
    const double vn = net.bus_base_kv[*f];
    const double zb = vn * vn / sn;
    const double r =
        num_in(*line, k, "r_ohm_per_km", 0, 1e6, "a resistance per km, >= 0") * len / par / zb;
    const double x =
        num_in(*line, k, "x_ohm_per_km", -1e6, 1e6, "a finite reactance per km") * len / par / zb;
    const double b =
        2 * std::numbers::pi * f_hz * num(*line, k, "c_nf_per_km") * 1e-9 * len * par * zb;
    const double g = g_col >= 0 ? num(*line, k, "g_us_per_km") * 1e-6 * len * par * zb : 0.0;
    bool on = flag(*line, k, "in_service");
    const auto op = line_open.find(line->index[k]);
    const bool open_f = op != line_open.end() && op->second.first;
    const bool open_t = op != line_open.end() && op->second.second;
    if (on && (open_f != open_t)) {
      // Energised from one end only: the open-ended pi section seen from the connected bus,
      // Y = y/2 + (ys y/2) / (ys + y/2), becomes a bus shunt; the branch itself is out.
      const std::complex<double> ys = 1.0 / std::complex<double>(r, x), yh(g / 2, b / 2);
      const std::complex<double> y = yh + ys * yh / (ys + yh);
      const std::int32_t at = open_f ? *t : *f;
      net.bus_gs[at] += y.real();
      net.bus_bs[at] += y.imag();
      on = false;
    } else if (open_f && open_t) {
      on = false;
    }
    if (on && g != 0.0) {
      net.bus_gs[*f] += g / 2;
      net.bus_gs[*t] += g / 2;
    }
    net.br_from.push_back(*f);
    net.br_to.push_back(*t);
    net.br_on.push_back(on ? 1 : 0);
    net.br_r.push_back(r);
    net.br_x.push_back(x);
    net.br_b.push_back(b);
    net.br_rate_a.push_back(num(*line, k, "max_i_ka", 0.0) * vn * std::sqrt(3.0) * par / sn);
    net.br_tap.push_back(1.0);
    net.br_shift.push_back(0.0);
  }

  // Transformers.
  for (std::size_t k = 0; k < trafo->index.size(); ++k) {
    auto hv = find_bus(*trafo, k, "hv_bus", "trafo");
    if (!hv) return fail(hv.error());
    auto lv = find_bus(*trafo, k, "lv_bus", "trafo");
    if (!lv) return fail(lv.error());
    const double snt = num(*trafo, k, "sn_mva"), par = num(*trafo, k, "parallel", 1.0);
    double vhv = num(*trafo, k, "vn_hv_kv"), vlv = num(*trafo, k, "vn_lv_kv");
    const double steps = num(*trafo, k, "tap_pos", 0.0) - num(*trafo, k, "tap_neutral", 0.0);
    const double step_pct = num(*trafo, k, "tap_step_percent", 0.0);
    const int side_col = trafo->col("tap_side");
    const bool tap_lv = side_col >= 0 && trafo->data[k][static_cast<std::size_t>(side_col)] == "lv";
    (tap_lv ? vlv : vhv) *= 1 + steps * step_pct / 100;
    const double vlv_bus = net.bus_base_kv[*lv], vhv_bus = net.bus_base_kv[*hv];
    const double to_sys = sn / snt * (vlv / vlv_bus) * (vlv / vlv_bus) / par;
    const double z = num(*trafo, k, "vk_percent") / 100, rr = num(*trafo, k, "vkr_percent") / 100;
    const double gm = num(*trafo, k, "pfe_kw") / 1000 / snt,
                 ym = num(*trafo, k, "i0_percent") / 100;
    const double bm = -std::sqrt(std::max(0.0, ym * ym - gm * gm));
    const double ratio = (vhv / vhv_bus) / (vlv / vlv_bus);
    net.br_from.push_back(*hv);
    net.br_to.push_back(*lv);
    net.br_on.push_back(flag(*trafo, k, "in_service") ? 1 : 0);
    net.br_r.push_back(rr * to_sys);
    net.br_x.push_back(std::sqrt(z * z - rr * rr) * to_sys);
    net.br_b.push_back(bm / to_sys);
    net.br_rate_a.push_back(snt * par / sn);
    net.br_tap.push_back(ratio);
    net.br_shift.push_back(
        (num(*trafo, k, "shift_degree") + steps * num(*trafo, k, "tap_step_degree", 0.0)) * deg);
    if (net.br_on.back()) {  // magnetising conductance, half on each side (HV half through the tap)
      net.bus_gs[*lv] += gm / to_sys / 2;
      net.bus_gs[*hv] += gm / to_sys / 2 / (ratio * ratio);
    }
  }

  // Loads and static generators (constant power).
  for (auto [t, sign, name] : {std::tuple{&*load, 1.0, "load"}, std::tuple{&*sgen, -1.0, "sgen"}}) {
    for (std::size_t k = 0; k < t->index.size(); ++k) {
      auto b = find_bus(*t, k, "bus", name);
      if (!b) return fail(b.error());
      if (!flag(*t, k, "in_service")) continue;
      const double sc = num_in(*t, k, "scaling", 0, 1e3, "a scaling factor, >= 0", 1.0);
      net.bus_pd[*b] += sign * num_in(*t, k, "p_mw", -1e6, 1e6, "a finite power in MW") * sc / sn;
      net.bus_qd[*b] +=
          sign * num_in(*t, k, "q_mvar", -1e6, 1e6, "a finite reactive power in MVAr") * sc / sn;
    }
  }

  // External grids: reference buses with a generator of unlimited Q.
  for (std::size_t k = 0; k < ext->index.size(); ++k) {
    auto b = find_bus(*ext, k, "bus", "ext_grid");
    if (!b) return fail(b.error());
    if (!flag(*ext, k, "in_service")) continue;
    net.bus_type[*b] = BusType::ref;
    net.bus_vm[*b] = num(*ext, k, "vm_pu", 1.0);
    net.bus_va[*b] = num(*ext, k, "va_degree", 0.0) * deg;
    net.gen_bus.push_back(*b);
    net.gen_on.push_back(1);
    net.gen_pg.push_back(0.0);
    net.gen_qg.push_back(0.0);
    net.gen_qmax.push_back(std::numeric_limits<double>::infinity());
    net.gen_qmin.push_back(-std::numeric_limits<double>::infinity());
    net.gen_pmax.push_back(std::numeric_limits<double>::infinity());
    net.gen_pmin.push_back(-std::numeric_limits<double>::infinity());
    net.gen_vg.push_back(net.bus_vm[*b]);
  }
  // Start angles: transformer phase shifts (150 deg for Dyn5) propagated outward from the
  // reference buses, so a start from the file is not 150 deg away from the solution.
  {
    std::vector<std::vector<std::pair<std::int32_t, double>>> adj(nb);
    for (std::int32_t k = 0; k < net.n_branch(); ++k) {
      if (!net.br_on[k]) continue;
      adj[static_cast<std::size_t>(net.br_from[k])].emplace_back(net.br_to[k], -net.br_shift[k]);
      adj[static_cast<std::size_t>(net.br_to[k])].emplace_back(net.br_from[k], net.br_shift[k]);
    }
    std::vector<std::uint8_t> seen(nb, 0);
    std::vector<std::int32_t> queue;
    for (std::size_t i = 0; i < nb; ++i)
      if (net.bus_type[i] == BusType::ref) {
        seen[i] = 1;
        queue.push_back(static_cast<std::int32_t>(i));
      }
    for (std::size_t q = 0; q < queue.size(); ++q)
      for (auto [n, d] : adj[static_cast<std::size_t>(queue[q])])
        if (!seen[static_cast<std::size_t>(n)]) {
          seen[static_cast<std::size_t>(n)] = 1;
          net.bus_va[static_cast<std::size_t>(n)] =
              net.bus_va[static_cast<std::size_t>(queue[q])] + d;
          queue.push_back(n);
        }
  }

  // Elements this reader does not model must not be dropped silently.
  for (const char* t :
       {"gen", "shunt", "trafo3w", "impedance", "ward", "xward", "dcline", "storage", "motor"}) {
    auto tt = table(root, t, {}, path);
    if (tt && !tt->index.empty())
      return fail(
          diag(path, t, "element type not supported by this reader",
               fmt::format("{} rows", tt->index.size()),
               "an empty table (supported: bus, line, trafo, load, sgen, ext_grid, switch)"));
  }
  if (notes && root.contains("line_geodata"))
    notes->push_back("line_geodata ignored (bus coordinates kept)");
  return net;
}

Result<Network> read_network(const std::string& path, std::vector<std::string>* notes) {
  if (path.ends_with(".json")) return read_pandapower(path, notes);
  return read_matpower(path, notes);
}

}  // namespace citytwin::power
