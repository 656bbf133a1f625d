// The one mapping from domain data to a FrameSnapshot, shared by the live domains
// (Domain::fill_frame) and the replay of a run file (RunFrames::read).
#include "citytwin/frame.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "citytwin/exchange.hpp"
#include "citytwin/io.hpp"

namespace citytwin {

namespace {

std::string num(double v, const char* fmt = "%.3g") {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

template <class T>
Result<std::vector<T>> read_all(const RunReader& r, const std::string& path) {
  auto d = r.read<T>(path);
  if (!d) return fail(d.error());
  return std::move(d->data);
}

}  // namespace

void PowerLayout::link_substations() {
  substation_mv_bus.assign(substation_hv_bus.size(), -1);
  for (std::size_t s = 0; s < substation_hv_bus.size(); ++s)
    for (std::size_t k = 0; k < branch_from.size(); ++k)
      if (k < branch_kind.size() && branch_kind[k] == 1 && branch_from[k] == substation_hv_bus[s]) {
        substation_mv_bus[s] = branch_to[k];
        break;
      }
}

void fill_flood_frame(int nx, int ny, double x0, double y0, double dx, std::span<const float> bed,
                      std::vector<float> depth, FrameSnapshot& f) {
  WaterRaster& w = f.water;
  w.nx = nx, w.ny = ny, w.x0 = x0, w.y0 = y0, w.dx = w.dy = dx;
  w.surface_m.resize(depth.size());
  std::int64_t wet_cells = 0;
  float dmax = 0;
  for (std::size_t c = 0; c < depth.size(); ++c) {
    const float d = std::isfinite(bed[c]) ? depth[c] : 0.f;
    depth[c] = d;
    w.surface_m[c] = d > 0 ? bed[c] + d : std::nanf("");
    wet_cells += d > 0.1f;
    dmax = std::max(dmax, d);
  }
  w.depth_m = std::move(depth);
  f.figures.emplace_back("flooded area (> 0.1 m)",
                         num(static_cast<double>(wet_cells) * dx * dx / 1e4) + " ha");
  f.figures.emplace_back("max depth", num(dmax, "%.2f") + " m");
}

void fill_exchange_frame(const ExchangeLayout& l, const CityExchange& x, FrameSnapshot& f) {
  if (l.flood) {
    f.building_depth_m = x.building_depth_m;
    std::int64_t flooded = 0;
    for (float d : x.building_depth_m) flooded += d > 0.1f;
    f.figures.emplace_back("flooded buildings", std::to_string(flooded));
  }
  f.link_flood_factor = x.link_speed_factor;
  f.signal_x = l.signal_x, f.signal_y = l.signal_y;
  f.signal_powered = x.signal_powered;
  f.element_in_service = x.element_in_service;
  std::int64_t dark = 0, closed = 0, failed = 0;
  for (std::uint8_t p : x.signal_powered) dark += p ? 0 : 1;
  for (std::uint8_t c : x.link_closed) closed += c;
  for (std::uint8_t e : x.element_in_service) failed += e ? 0 : 1;
  if (closed > 0) f.figures.emplace_back("roads closed by water", std::to_string(closed));
  if (failed > 0) f.figures.emplace_back("grid elements flooded", std::to_string(failed));
  if (dark > 0) f.figures.emplace_back("signals dark", std::to_string(dark));
}

void fill_power_frame(std::shared_ptr<const PowerLayout> layout, const PowerFrameData& d,
                      FrameSnapshot& f) {
  const std::size_t nk = d.branch_loading.size();
  f.line_loading.resize(nk);
  f.line_on.assign(d.branch_on.begin(), d.branch_on.end());
  for (std::size_t k = 0; k < nk; ++k)
    f.line_loading[k] = d.branch_on[k] ? d.branch_loading[k] : std::nanf("");
  f.substation_on.clear();
  if (layout)
    for (std::int32_t mv : layout->substation_mv_bus)
      f.substation_on.push_back(
          mv >= 0 && static_cast<std::size_t>(mv) < d.bus_vm.size() && d.bus_vm[mv] > 0 ? 1 : 0);
  f.power_layout = std::move(layout);
  f.building_powered.assign(d.building_powered.begin(), d.building_powered.end());
  f.figures.emplace_back("served", num(d.served_mw, "%.1f") + " MW");
  f.figures.emplace_back("unserved", num(d.unserved_mw, "%.1f") + " MW");
  f.figures.emplace_back("buildings without power", std::to_string(d.customers_unserved));
}

void fill_traffic_frame(const TrafficFrameData& d, FrameSnapshot& f) {
  f.vehicle_x.assign(d.vehicle_x.begin(), d.vehicle_x.end());
  f.vehicle_y.assign(d.vehicle_y.begin(), d.vehicle_y.end());
  f.vehicle_z.assign(d.vehicle_z.begin(), d.vehicle_z.end());
  f.vehicle_heading.assign(d.vehicle_heading.begin(), d.vehicle_heading.end());
  f.vehicle_speed_mps.assign(d.vehicle_speed.begin(), d.vehicle_speed.end());
  f.link_speed_ratio.assign(d.link_speed_ratio.begin(), d.link_speed_ratio.end());
  f.link_closed.assign(d.link_closed.begin(), d.link_closed.end());
  f.figures.emplace_back("vehicles running", std::to_string(d.running));
  f.figures.emplace_back("vehicles arrived", std::to_string(d.arrived));
  f.figures.emplace_back("mean speed", num(d.mean_speed_mps * 3.6, "%.1f") + " km/h");
}

Result<RunFrames> RunFrames::open(const RunReader& r, const std::string& file) {
  RunFrames rf;
  if (r.exists("/time")) {
    auto t = read_all<double>(r, "/time");
    if (!t) return fail(t.error());
    rf.time_s = std::move(*t);
  }
  if (r.exists("/flood/depth")) {
    double v[5];
    const char* names[5] = {"nx", "ny", "x0", "y0", "dx"};
    for (int k = 0; k < 5; ++k) {
      auto a = r.attr_double("/flood", names[k]);
      if (!a) return fail(a.error());
      v[k] = *a;
    }
    rf.flood_nx = static_cast<int>(v[0]), rf.flood_ny = static_cast<int>(v[1]);
    rf.flood_x0 = v[2], rf.flood_y0 = v[3], rf.flood_dx = v[4];
    auto bed = read_all<float>(r, "/flood/bed");
    if (!bed) return fail(bed.error());
    rf.flood_bed = std::move(*bed);
    if (rf.flood_bed.size() != static_cast<std::size_t>(rf.flood_nx) * rf.flood_ny)
      return fail(
          Error::msg("/flood/bed: expected ny x nx values as the /flood attributes say", file));
  }
  if (r.exists("/power/branch_loading")) {
    auto l = std::make_shared<PowerLayout>();
    auto bx = read_all<double>(r, "/power/bus_x");
    auto by = read_all<double>(r, "/power/bus_y");
    auto bf = read_all<std::int32_t>(r, "/power/branch_from");
    auto bt = read_all<std::int32_t>(r, "/power/branch_to");
    if (!bx || !by || !bf || !bt)
      return fail(Error::msg("/power: bus_x, bus_y, branch_from and branch_to are needed", file));
    l->bus_x = std::move(*bx), l->bus_y = std::move(*by);
    l->branch_from = std::move(*bf), l->branch_to = std::move(*bt);
    if (r.exists("/power/branch_kind")) {
      auto k = read_all<std::uint8_t>(r, "/power/branch_kind");
      auto s = read_all<std::int32_t>(r, "/power/substation_hv_bus");
      if (!k || !s) return fail(Error::msg("/power: cannot read the city grid's kinds", file));
      l->branch_kind = std::move(*k);
      l->substation_hv_bus = std::move(*s);
    }
    l->link_substations();
    rf.power_layout = std::move(l);
  }
  if (r.exists("/exchange/link_closed")) {
    auto l = std::make_shared<ExchangeLayout>();
    auto sx = read_all<double>(r, "/coupling/signal_x");
    auto sy = read_all<double>(r, "/coupling/signal_y");
    auto ek = read_all<std::uint8_t>(r, "/coupling/element_kind");
    if (!sx || !sy || !ek)
      return fail(Error::msg("/coupling: signal_x, signal_y and element_kind are needed", file));
    l->signal_x = std::move(*sx), l->signal_y = std::move(*sy);
    l->signal_node.assign(l->signal_x.size(), -1);
    for (std::uint8_t k : *ek) l->element_kind.push_back(static_cast<ElementKind>(k));
    l->flood = r.exists("/exchange/building_depth_m");
    l->power = r.exists("/exchange/building_powered");
    rf.layout = std::move(l);
  }
  if (r.exists("/traffic/vehicles/offset")) {
    auto off = read_all<std::int64_t>(r, "/traffic/vehicles/offset");
    if (!off) return fail(off.error());
    auto cnt = read_all<std::int64_t>(r, "/traffic/vehicles/count");
    if (!cnt) return fail(cnt.error());
    if (off->size() != cnt->size() || off->size() < rf.time_s.size())
      return fail(
          Error::msg("/traffic/vehicles: offset and count need one row per /time row", file));
    rf.vehicle_offset = std::move(*off), rf.vehicle_count = std::move(*cnt);
    rf.traffic = true;
    rf.traffic_links = r.exists("/traffic/link_speed_ratio");
  }
  return rf;
}

Result<FrameSnapshot> RunFrames::read(const RunReader& r, std::size_t k) const {
  FrameSnapshot f;
  if (k < time_s.size()) f.t = static_cast<SimTime>(std::llround(time_s[k] * 1000));
  if (flood_nx > 0) {
    auto d = r.read_row<float>("/flood/depth", k);
    if (!d) return fail(d.error());
    fill_flood_frame(flood_nx, flood_ny, flood_x0, flood_y0, flood_dx, flood_bed,
                     std::move(d->data), f);
  }
  // In the order of the domain registry (flood, traffic, power), as snapshot() fills them.
  if (traffic) {
    if (k >= vehicle_offset.size())
      return fail(Error::msg("/traffic/vehicles: no frame " + std::to_string(k)));
    const auto first = static_cast<std::size_t>(vehicle_offset[k]);
    const auto n = static_cast<std::size_t>(vehicle_count[k]);
    Result<Dataset<float>> v[5] = {r.read_rows<float>("/traffic/vehicles/x", first, n),
                                   r.read_rows<float>("/traffic/vehicles/y", first, n),
                                   r.read_rows<float>("/traffic/vehicles/z", first, n),
                                   r.read_rows<float>("/traffic/vehicles/heading", first, n),
                                   r.read_rows<float>("/traffic/vehicles/speed", first, n)};
    for (const auto& a : v)
      if (!a) return fail(a.error());
    auto running = r.read_row<std::int64_t>("/traffic/running", k);
    auto arrived = r.read_row<std::int64_t>("/traffic/arrived", k);
    auto speed = r.read_row<double>("/traffic/mean_speed", k);
    if (!running) return fail(running.error());
    if (!arrived) return fail(arrived.error());
    if (!speed) return fail(speed.error());
    Result<Dataset<float>> ratio = Dataset<float>{};
    Result<Dataset<std::uint8_t>> closed = Dataset<std::uint8_t>{};
    if (traffic_links) {
      ratio = r.read_row<float>("/traffic/link_speed_ratio", k);
      if (!ratio) return fail(ratio.error());
      closed = r.read_row<std::uint8_t>("/traffic/link_closed", k);
      if (!closed) return fail(closed.error());
    }
    TrafficFrameData td;
    td.vehicle_x = v[0]->data, td.vehicle_y = v[1]->data, td.vehicle_z = v[2]->data;
    td.vehicle_heading = v[3]->data, td.vehicle_speed = v[4]->data;
    td.link_speed_ratio = ratio->data, td.link_closed = closed->data;
    td.running = running->data.at(0), td.arrived = arrived->data.at(0);
    td.mean_speed_mps = speed->data.at(0);
    fill_traffic_frame(td, f);
  }
  if (power_layout) {
    auto vm = r.read_row<float>("/power/bus_vm", k);
    auto load = r.read_row<float>("/power/branch_loading", k);
    auto on = r.read_row<std::uint8_t>("/power/branch_on", k);
    auto served = r.read_row<double>("/power/served_mw", k);
    auto unserved = r.read_row<double>("/power/unserved_mw", k);
    auto cust = r.read_row<std::int64_t>("/power/customers_unserved", k);
    for (const Error* e : {vm ? nullptr : &vm.error(), load ? nullptr : &load.error(),
                           on ? nullptr : &on.error(), served ? nullptr : &served.error(),
                           unserved ? nullptr : &unserved.error(), cust ? nullptr : &cust.error()})
      if (e) return fail(*e);
    Result<Dataset<std::uint8_t>> powered = Dataset<std::uint8_t>{};
    if (r.exists("/power/building_powered")) {
      powered = r.read_row<std::uint8_t>("/power/building_powered", k);
      if (!powered) return fail(powered.error());
    }
    PowerFrameData pd;
    pd.bus_vm = vm->data, pd.branch_loading = load->data, pd.branch_on = on->data;
    pd.building_powered = powered->data;
    pd.served_mw = served->data.at(0), pd.unserved_mw = unserved->data.at(0);
    pd.customers_unserved = cust->data.at(0);
    fill_power_frame(power_layout, pd, f);
  }
  if (layout) {
    CityExchange x;
    auto row = [&]<class T>(const char* name, std::vector<T>& out) -> Result<void> {
      if (!r.exists(std::string("/exchange/") + name)) return {};
      auto v = r.read_row<T>(std::string("/exchange/") + name, k);
      if (!v) return fail(v.error());
      out = std::move(v->data);
      return {};
    };
    for (auto res : {row("building_depth_m", x.building_depth_m),
                     row("link_speed_factor", x.link_speed_factor),
                     row("link_closed", x.link_closed), row("signal_powered", x.signal_powered),
                     row("element_in_service", x.element_in_service)})
      if (!res) return fail(res.error());
    fill_exchange_frame(*layout, x, f);
  }
  return f;
}

}  // namespace citytwin
