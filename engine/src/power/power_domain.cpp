// The power domain: a quasi-static time series of AC power flows over the city's grid (or a
// MATPOWER case), with protection and cascades.
//
// Every `power.interval`, and at once after a topology change, loads follow the daily
// profiles at local time and a warm-started Newton power flow runs. Protection then acts in
// generations until nothing changes (the cascade):
//   - overload: a thermal integrator per branch; at loading L above the limit the time to trip
//     is t(L) = delay * (1.5 - 1) / (L - 1) (so `overload_delay` at 150 %), the integrator
//     accumulates elapsed / t(L) and trips at 1; the next check is brought forward to the
//     predicted trip time; at `instant_trip` or more the branch trips at once;
//   - undervoltage: energised PQ buses below `undervoltage` shed `shed_step` of their load
//     per generation until every bus recovers.
// Every trip and shed is logged with its time, generation, reason and loading; a power flow
// that fails is counted, its diagnosis kept, and the last good state stays in force.
#include <algorithm>
#include <cmath>
#include <limits>

#include "citytwin/demand.hpp"
#include "citytwin/frame.hpp"
#include "citytwin/io.hpp"
#include "power/power_domain.hpp"

namespace citytwin::power {

namespace {

enum class Reason : std::uint8_t {
  event_trip,
  event_restore,
  overload_timed,
  overload_instant,
  undervoltage_shed,
  substation_out,
  substation_in
};
constexpr const char* k_reason_names =
    "event_trip,event_restore,overload_timed,overload_instant,undervoltage_shed,substation_out,"
    "substation_in";

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
};

struct BranchEvent : EventPayload {
  std::int32_t branch = 0;
  bool restore = false;
};
struct SubstationEvent : EventPayload {
  std::int32_t substation = 0;
  bool in_service = false;
};
struct ScaleEvent : EventPayload {
  double factor = 1.0;
};

struct PowerState : DomainState {
  Network net;
  std::unique_ptr<PowerFlowSolver> solver;
  PowerFlowResult result;
  bool have_result = false;
  std::vector<double> loading;     // (n_branch) max end loading of the last flow, rate = 1
  std::vector<double> integrator;  // (n_branch) overload integrator, trips at 1
  std::vector<double> bus_served;  // (n_bus) fraction of load not shed
  std::vector<std::uint8_t> building_powered;  // (n_buildings)
  double load_factor = 1.0;
  SimTime next_check = 0, last_check = 0;
  bool dirty = true;
  double served_mw = 0, unserved_mw = 0, unserved_mwh = 0;
  std::int64_t customers_unserved = 0;
  std::int64_t flows = 0, failures = 0;
  std::string last_failure;
  // Cascade log.
  std::vector<double> log_time_s;
  std::vector<std::int32_t> log_generation, log_branch, log_bus;
  std::vector<std::uint8_t> log_reason;
  std::vector<float> log_loading;

  void hash(StateHasher& h) const override {
    h.add(net.br_on);
    h.add(net.bus_pd);
    h.add(result.bus_vm);
    h.add(result.bus_va);
    h.add(integrator);
    h.add(bus_served);
    h.add(building_powered);
    h.add(load_factor);
    h.add(log_time_s);
    h.add(log_branch);
    h.add(log_reason);
    h.add(flows);
    h.add(failures);
  }

  void log(SimTime t, int generation, std::int32_t branch, std::int32_t bus, Reason reason,
           double load) {
    log_time_s.push_back(to_seconds(t));
    log_generation.push_back(generation);
    log_branch.push_back(branch);
    log_bus.push_back(bus);
    log_reason.push_back(static_cast<std::uint8_t>(reason));
    log_loading.push_back(static_cast<float>(load));
  }
};

class PowerDomain : public Domain {
 public:
  /// `residential` (n_buildings) says which buildings follow the household profile.
  PowerDomain(const PowerSpec& spec, const RunSpec& run, Network net, CityGrid grid, bool city,
              const std::vector<std::uint8_t>& residential)
      : m_spec(spec), m_run(run), m_base(std::move(net)), m_grid(std::move(grid)), m_city(city) {
    m_res_peak.assign(static_cast<std::size_t>(m_base.n_bus()), 0.0);
    m_com_peak = m_res_peak;
    for (std::size_t i = 0; i < m_grid.building_bus.size(); ++i)
      (residential[i] ? m_res_peak : m_com_peak)[m_grid.building_bus[i]] +=
          m_grid.building_peak_w[i] * 1e-6 / m_base.base_mva;
  }

  std::string_view name() const override { return "power"; }
  const Network& base() const { return m_base; }
  const CityGrid& grid() const { return m_grid; }
  bool city() const { return m_city; }

  std::unique_ptr<DomainState> make_state() const override {
    auto s = std::make_unique<PowerState>();
    s->net = m_base;
    s->solver = std::make_unique<PowerFlowSolver>(m_base);
    s->loading.assign(static_cast<std::size_t>(m_base.n_branch()), 0.0);
    s->integrator = s->loading;
    s->bus_served.assign(static_cast<std::size_t>(m_base.n_bus()), 1.0);
    s->building_powered.assign(m_grid.building_bus.size(), 1);
    check(*s, 0, nullptr);  // the state starts solved at t = 0 (make_state has no pool)
    return s;
  }

  void apply_event(const EventSpec& e, DomainState& state) const override {
    auto& s = static_cast<PowerState&>(state);
    if (const auto* b = dynamic_cast<const BranchEvent*>(e.payload.get())) {
      s.net.br_on[b->branch] = b->restore ? 1 : 0;
      if (b->restore) s.integrator[b->branch] = 0;
      s.log(e.at, 0, b->branch, -1, b->restore ? Reason::event_restore : Reason::event_trip,
            s.loading[b->branch]);
    } else if (const auto* sub = dynamic_cast<const SubstationEvent*>(e.payload.get())) {
      const std::int32_t hv = m_grid.substation_hv_bus[sub->substation],
                         mv = m_grid.substation_mv_bus[sub->substation];
      for (std::int32_t k = 0; k < s.net.n_branch(); ++k)
        if (s.net.br_from[k] == hv || s.net.br_to[k] == hv || s.net.br_from[k] == mv ||
            s.net.br_to[k] == mv) {
          s.net.br_on[k] = sub->in_service ? 1 : 0;
          s.integrator[k] = 0;
        }
      s.log(e.at, 0, -1, hv, sub->in_service ? Reason::substation_in : Reason::substation_out, 0);
    } else if (const auto* sc = dynamic_cast<const ScaleEvent*>(e.payload.get())) {
      s.load_factor = sc->factor;
    }
    s.dirty = true;
  }

  void advance(DomainState& state, const StepContext& ctx) const override {
    auto& s = static_cast<PowerState&>(state);
    // Events act at their own time; scheduled checks solve the state at the end of the step,
    // so a frame written at t shows the power flow of t.
    if (s.dirty) check(s, ctx.t, ctx.pool);
    s.unserved_mwh += s.unserved_mw * to_seconds(ctx.dt) / 3600.0;
    if (ctx.t + ctx.dt >= s.next_check) check(s, ctx.t + ctx.dt, ctx.pool);
  }

  void write_static(RunWriter& out) const override;
  void write_frame(const DomainState& state, RunWriter& out) const override;
  void write_final(const DomainState& state, RunWriter& out,
                   std::vector<SummaryRow>& summary) const override;
  void fill_frame(const DomainState& state, FrameSnapshot& f) const override;

 private:
  double trip_time_s(double loading) const {
    return to_seconds(m_spec.protection.overload_delay) * 0.5 / std::max(loading - 1.0, 1e-9);
  }

  void set_loads(PowerState& s, SimTime t) const {
    const double hour = m_run.local_second_of_day(t) / 3600.0;
    static const DailyProfile res = DailyProfile::residential_load(),
                              com = DailyProfile::commercial_load();
    const double fr = m_spec.daily_profile ? res.at(hour) : 1.0,
                 fc = m_spec.daily_profile ? com.at(hour) : 1.0;
    for (std::int32_t b = 0; b < s.net.n_bus(); ++b) {
      double p;
      if (m_city)
        p = m_res_peak[b] * fr + m_com_peak[b] * fc;
      else
        p = m_base.bus_pd[b] * (m_spec.daily_profile ? 0.5 * (fr + fc) : 1.0);
      p *= m_spec.load_scale * s.load_factor * s.bus_served[b];
      const double ratio = m_base.bus_pd[b] != 0 ? m_base.bus_qd[b] / m_base.bus_pd[b] : 0.0;
      s.net.bus_pd[b] = p;
      s.net.bus_qd[b] =
          m_city ? p * ratio
                 : m_base.bus_qd[b] * (p / (m_base.bus_pd[b] != 0 ? m_base.bus_pd[b] : 1.0));
    }
  }

  bool solve(PowerState& s, TaskPool* pool) const {
    PowerFlowOptions opt;
    opt.pool = pool;
    opt.tolerance = m_spec.tolerance;
    opt.max_iterations = m_spec.max_iterations;
    opt.warm_start = s.have_result;
    s.solver->solve(s.net, opt, s.result);
    ++s.flows;
    if (!s.result.success()) {
      ++s.failures;
      s.last_failure = s.result.diagnosis(s.net);
      return false;
    }
    s.have_result = true;
    for (std::int32_t k = 0; k < s.net.n_branch(); ++k) {
      const double sf = std::hypot(s.result.br_pf[k], s.result.br_qf[k]);
      const double st = std::hypot(s.result.br_pt[k], s.result.br_qt[k]);
      s.loading[k] =
          s.net.br_on[k] && s.net.br_rate_a[k] > 0 ? std::max(sf, st) / s.net.br_rate_a[k] : 0.0;
    }
    return true;
  }

  // One protection check at time t: integrate, flow, cascade, shed, account.
  void check(PowerState& s, SimTime t, TaskPool* pool) const {
    const ProtectionSpec& pr = m_spec.protection;
    const double elapsed = to_seconds(t - s.last_check);
    s.last_check = t;
    set_loads(s, t);
    int generation = 0;
    if (pr.enabled && s.have_result) {
      // Thermal integrators over the time since the last check, at the loading then.
      bool tripped = false;
      for (std::int32_t k = 0; k < s.net.n_branch(); ++k) {
        if (!s.net.br_on[k]) continue;
        if (s.loading[k] > pr.overload_limit)
          s.integrator[k] += elapsed / trip_time_s(s.loading[k]);
        else
          s.integrator[k] = 0;
        if (s.integrator[k] >= 1.0 - 1e-9) {
          s.net.br_on[k] = 0;
          s.log(t, generation, k, -1, Reason::overload_timed, s.loading[k]);
          tripped = true;
        }
      }
      generation += tripped ? 1 : 0;
    }
    bool ok = solve(s, pool);
    // Cascade: instant trips, then undervoltage shedding, until nothing changes.
    while (ok && pr.enabled && generation < pr.max_generations) {
      bool changed = false;
      for (std::int32_t k = 0; k < s.net.n_branch(); ++k)
        if (s.net.br_on[k] && s.loading[k] >= pr.instant_trip) {
          s.net.br_on[k] = 0;
          s.log(t, generation, k, -1, Reason::overload_instant, s.loading[k]);
          changed = true;
        }
      if (!changed) {
        for (std::int32_t b = 0; b < s.net.n_bus(); ++b) {
          const double vm = s.result.bus_vm[b];
          if (s.net.bus_type[b] != BusType::pq || vm <= 0 || vm >= pr.undervoltage ||
              s.bus_served[b] <= 0)
            continue;
          s.bus_served[b] = std::max(0.0, s.bus_served[b] - pr.shed_step);
          s.log(t, generation, -1, b, Reason::undervoltage_shed, vm);
          changed = true;
        }
        if (changed) set_loads(s, t);
      }
      if (!changed) break;
      ++generation;
      ok = solve(s, pool);
    }
    s.dirty = false;
    // Next check: the interval, or sooner when an integrator will reach 1 before it.
    double next_s = to_seconds(m_spec.interval);
    for (std::int32_t k = 0; k < s.net.n_branch(); ++k)
      if (pr.enabled && s.net.br_on[k] && s.loading[k] > pr.overload_limit)
        next_s = std::min(next_s, (1.0 - s.integrator[k]) * trip_time_s(s.loading[k]));
    s.next_check = t + std::max<SimTime>(1, static_cast<SimTime>(std::ceil(next_s * 1000.0)));
    account(s);
  }

  // Served and unserved load, and which buildings have power.
  void account(PowerState& s) const {
    const auto& vm = s.result.bus_vm;
    double served = 0, demand = 0;
    const double hour = m_run.local_second_of_day(s.last_check) / 3600.0;
    static const DailyProfile res = DailyProfile::residential_load(),
                              com = DailyProfile::commercial_load();
    const double fr = m_spec.daily_profile ? res.at(hour) : 1.0,
                 fc = m_spec.daily_profile ? com.at(hour) : 1.0;
    for (std::int32_t b = 0; b < s.net.n_bus(); ++b) {
      double want = m_city ? m_res_peak[b] * fr + m_com_peak[b] * fc
                           : m_base.bus_pd[b] * (m_spec.daily_profile ? 0.5 * (fr + fc) : 1.0);
      want *= m_spec.load_scale * s.load_factor * m_base.base_mva;
      demand += want;
      const bool live = s.have_result && b < static_cast<std::int32_t>(vm.size()) && vm[b] > 0;
      if (live) served += want * s.bus_served[b];
    }
    s.served_mw = served;
    s.unserved_mw = demand - served;
    s.customers_unserved = 0;
    // Within a partly shed bus, buildings lose power in index order (a fixed rota).
    std::vector<std::int32_t> rank_in_bus(static_cast<std::size_t>(s.net.n_bus()), 0),
        count(rank_in_bus);
    for (std::int32_t bus : m_grid.building_bus) ++count[bus];
    for (std::size_t i = 0; i < m_grid.building_bus.size(); ++i) {
      const std::int32_t bus = m_grid.building_bus[i];
      const std::int32_t rank = rank_in_bus[bus]++;
      const bool live =
          s.have_result && vm[bus] > 0 && rank < std::lround(s.bus_served[bus] * count[bus]);
      s.building_powered[i] = live ? 1 : 0;
      s.customers_unserved += live ? 0 : 1;
    }
  }

  std::string fmt_grid() const {
    return std::to_string(m_base.n_bus()) + " buses, " + std::to_string(m_base.n_branch()) +
           " branches, " + std::to_string(m_grid.substation_hv_bus.size()) +
           " substations (synthesised)";
  }

  PowerSpec m_spec;
  RunSpec m_run;
  Network m_base;
  CityGrid m_grid;
  bool m_city;
  std::vector<double> m_res_peak, m_com_peak;  // (n_bus) pu at profile 1
  // What the viewer draws the grid with (as /power static data); built after the members above.
  std::shared_ptr<const PowerLayout> m_layout = make_layout();

  std::shared_ptr<const PowerLayout> make_layout() const {
    auto l = std::make_shared<PowerLayout>();
    l->bus_x = m_base.bus_x, l->bus_y = m_base.bus_y;
    l->branch_from = m_base.br_from, l->branch_to = m_base.br_to;
    if (m_city) {
      for (GridBranchKind k : m_grid.br_kind)
        l->branch_kind.push_back(static_cast<std::uint8_t>(k));
      l->substation_hv_bus = m_grid.substation_hv_bus;
    }
    l->link_substations();
    return l;
  }
};

void PowerDomain::write_static(RunWriter& out) const {
  const Network& n = m_base;
  out.write(std::string("/power/bus_id"), n.bus_id,
            {"", "bus number (1-based for the city grid, the case's BUS_I otherwise)"});
  out.write(std::string("/power/bus_base_kv"), n.bus_base_kv, {"kV", "nominal voltage"});
  out.write(std::string("/power/bus_x"), n.bus_x,
            {"m", "bus position, model CRS (NaN if unknown)"});
  out.write(std::string("/power/bus_y"), n.bus_y,
            {"m", "bus position, model CRS (NaN if unknown)"});
  out.write(std::string("/power/branch_from"), n.br_from, {"", "from bus index"});
  out.write(std::string("/power/branch_to"), n.br_to, {"", "to bus index"});
  std::vector<double> rating(n.br_rate_a.size());
  for (std::size_t k = 0; k < rating.size(); ++k) rating[k] = n.br_rate_a[k] * n.base_mva;
  out.write(std::string("/power/branch_rating_mva"), rating,
            {"MVA", "long-term rating (0: unlimited)"});
  if (m_city) {
    std::vector<std::uint8_t> kind(m_grid.bus_kind.size()), bkind(m_grid.br_kind.size());
    for (std::size_t b = 0; b < kind.size(); ++b)
      kind[b] = static_cast<std::uint8_t>(m_grid.bus_kind[b]);
    for (std::size_t k = 0; k < bkind.size(); ++k)
      bkind[k] = static_cast<std::uint8_t>(m_grid.br_kind[k]);
    out.write(std::string("/power/bus_kind"), kind, {"", "0 HV (grid supply), 1 MV, 2 LV"});
    out.write(std::string("/power/branch_kind"), bkind,
              {"", "0 MV cable, 1 HV/MV transformer, 2 MV/LV transformer, 3 direct cable"});
    out.write(std::string("/power/branch_road_link"), m_grid.br_road_link,
              {"", "road link a cable follows (-1: none)"});
    out.write(std::string("/power/building_bus"), m_grid.building_bus,
              {"", "LV bus index of each building"});
    out.write(std::string("/power/building_peak_w"), m_grid.building_peak_w,
              {"W", "peak demand of each building"});
    out.write(std::string("/power/substation_hv_bus"), m_grid.substation_hv_bus,
              {"", "HV bus of each substation"});
    out.write(std::string("/power/substation_osm_id"), m_grid.substation_osm_id,
              {"", "OSM id (0: placed by k-means)"});
  }
}

void PowerDomain::write_frame(const DomainState& state, RunWriter& out) const {
  const auto& s = static_cast<const PowerState&>(state);
  const std::size_t nb = static_cast<std::size_t>(s.net.n_bus()),
                    nk = static_cast<std::size_t>(s.net.n_branch());
  std::vector<float> vm(nb, 0.0f), load(nk, 0.0f);
  std::vector<std::uint8_t> on(s.net.br_on);
  for (std::size_t b = 0; b < nb && s.have_result; ++b)
    vm[b] = static_cast<float>(s.result.bus_vm[b]);
  for (std::size_t k = 0; k < nk; ++k) load[k] = static_cast<float>(s.loading[k]);
  out.append<float>("/power/bus_vm", vm, std::span<const std::size_t>(&nb, 1),
                    {"pu", "voltage magnitude (0: de-energised)"});
  out.append<float>("/power/branch_loading", load, std::span<const std::size_t>(&nk, 1),
                    {"1", "max end apparent power / rating"});
  out.append<std::uint8_t>("/power/branch_on", on, std::span<const std::size_t>(&nk, 1),
                           {"1", "1 in service"});
  out.append<double>("/power/served_mw", s.served_mw, {"MW", "load supplied"});
  out.append<double>("/power/unserved_mw", s.unserved_mw,
                     {"MW", "load not supplied (de-energised or shed)"});
  out.append<std::int64_t>("/power/customers_unserved", s.customers_unserved,
                           {"1", "buildings without power"});
  if (!s.building_powered.empty()) {
    const std::size_t n = s.building_powered.size();
    out.append<std::uint8_t>("/power/building_powered", s.building_powered,
                             std::span<const std::size_t>(&n, 1),
                             {"1", "1 when the building has power"});
  }
}

// The same values write_frame records, through the mapping replay uses too.
void PowerDomain::fill_frame(const DomainState& state, FrameSnapshot& f) const {
  const auto& s = static_cast<const PowerState&>(state);
  std::vector<float> vm(static_cast<std::size_t>(s.net.n_bus()), 0.0f),
      load(static_cast<std::size_t>(s.net.n_branch()));
  for (std::size_t b = 0; b < vm.size() && s.have_result; ++b)
    vm[b] = static_cast<float>(s.result.bus_vm[b]);
  for (std::size_t k = 0; k < load.size(); ++k) load[k] = static_cast<float>(s.loading[k]);
  PowerFrameData d;
  d.bus_vm = vm, d.branch_loading = load, d.branch_on = s.net.br_on;
  d.building_powered = s.building_powered;
  d.served_mw = s.served_mw, d.unserved_mw = s.unserved_mw;
  d.customers_unserved = s.customers_unserved;
  fill_power_frame(m_layout, d, f);
}

void PowerDomain::write_final(const DomainState& state, RunWriter& out,
                              std::vector<SummaryRow>& summary) const {
  const auto& s = static_cast<const PowerState&>(state);
  const std::string c = "/power/cascade/";
  out.write(c + "time_s", s.log_time_s, {"s", "when it happened"});
  out.write(c + "generation", s.log_generation,
            {"", "cascade generation within that check (0 first)"});
  out.write(c + "branch", s.log_branch, {"", "branch index (-1: a bus event)"});
  out.write(c + "bus", s.log_bus, {"", "bus index for sheds and substation events (-1: none)"});
  out.write(c + "reason", s.log_reason, {"", "index into the attribute reason_names"});
  out.attr(c + "reason", "reason_names", std::string_view(k_reason_names));
  out.write(c + "loading", s.log_loading, {"1", "branch loading, or bus voltage (pu) for sheds"});
  out.attr("/power", "power_flows", s.flows);
  out.attr("/power", "failed_power_flows", s.failures);
  out.attr("/power", "last_failure", s.last_failure);
  out.attr("/power", "unserved_mwh", s.unserved_mwh);
  double vmin = 10;
  for (std::int32_t b = 0; b < s.net.n_bus() && s.have_result; ++b)
    if (s.result.bus_vm[b] > 0) vmin = std::min(vmin, s.result.bus_vm[b]);
  const auto trips = std::count_if(s.log_reason.begin(), s.log_reason.end(), [](std::uint8_t r) {
    return r == static_cast<std::uint8_t>(Reason::overload_timed) ||
           r == static_cast<std::uint8_t>(Reason::overload_instant);
  });
  summary.push_back({"power", "grid", m_city ? fmt_grid() : m_base.name});
  summary.push_back({"power", "power flows (failed)",
                     std::to_string(s.flows) + " (" + std::to_string(s.failures) + ")"});
  summary.push_back({"power", "served load now",
                     std::to_string(static_cast<int>(std::lround(s.served_mw))) + " MW"});
  summary.push_back({"power", "lowest voltage now",
                     s.have_result ? std::to_string(vmin).substr(0, 5) + " pu" : "-"});
  summary.push_back({"power", "protection trips", std::to_string(trips)});
  summary.push_back(
      {"power", "unserved energy", std::to_string(s.unserved_mwh).substr(0, 6) + " MWh"});
  summary.push_back({"power", "buildings without power now", std::to_string(s.customers_unserved)});
  if (s.failures > 0) summary.push_back({"power", "last failure", s.last_failure});
}

std::shared_ptr<const DomainSpec> parse_power(SectionReader& s, const ScenarioSpec&) {
  auto spec = std::make_shared<PowerSpec>();
  const bool has_case = s.has("case"), has_grid = s.has("grid");
  if (has_case && has_grid) s.error("case", "give either power.grid or power.case, not both");
  if (has_case) {
    spec->city_grid = false;
    spec->case_path = s.existing_file("case").value_or("");
  } else {
    s.choice_or("grid", {"city"}, "city");
  }
  spec->interval = s.duration_or("interval", spec->interval);
  if (spec->interval <= 0) s.error("interval", "must be positive", "", "e.g. \"5min\"");
  spec->daily_profile = s.choice_or("profile", {"daily", "flat"}, "daily") == "daily";
  spec->load_scale = s.number_or("load_scale", 1.0, 0.0, 100.0);
  spec->tolerance = s.number_or("tolerance", spec->tolerance, 1e-14, 1e-2);
  spec->max_iterations =
      static_cast<int>(s.integer_or("max_iterations", spec->max_iterations, 1, 1000));
  SectionReader p = s.table("protection");
  ProtectionSpec& pr = spec->protection;
  pr.enabled = p.boolean_or("enabled", pr.enabled);
  pr.overload_limit = p.number_or("overload_limit", pr.overload_limit, 0.1, 10.0);
  pr.overload_delay = p.duration_or("overload_delay", pr.overload_delay);
  pr.instant_trip = p.number_or("instant_trip", pr.instant_trip, 1.0, 100.0);
  pr.undervoltage = p.number_or("undervoltage", pr.undervoltage, 0.0, 1.0);
  pr.shed_step = p.number_or("shed_step", pr.shed_step, 0.01, 1.0);
  pr.max_generations =
      static_cast<int>(p.integer_or("max_generations", pr.max_generations, 1, 10000));
  if (pr.overload_delay <= 0) p.error("overload_delay", "must be positive", "", "e.g. \"15s\"");
  return spec;
}

std::shared_ptr<const EventPayload> parse_power_event(std::string_view action, SectionReader& ev) {
  if (action == "trip_branch" || action == "restore_branch") {
    auto e = std::make_shared<BranchEvent>();
    e->restore = action == "restore_branch";
    e->branch = static_cast<std::int32_t>(ev.integer_or("branch", -1, 0));
    if (!ev.has("branch"))
      ev.error("", "missing key \"branch\"", "", "branch = <index into /power/branch_from>");
    return e;
  }
  if (action == "substation_out" || action == "substation_in") {
    auto e = std::make_shared<SubstationEvent>();
    e->in_service = action == "substation_in";
    e->substation = static_cast<std::int32_t>(ev.integer_or("substation", -1, 0));
    if (!ev.has("substation"))
      ev.error("", "missing key \"substation\"", "", "substation = <index>");
    return e;
  }
  if (action == "scale_load") {
    auto e = std::make_shared<ScaleEvent>();
    e->factor = ev.number_or("factor", 1.0, 0.0, 100.0);
    return e;
  }
  return nullptr;
}

Result<std::unique_ptr<const Domain>> compile_power(const DomainSpec& dspec,
                                                    const ScenarioSpec& scenario,
                                                    const CityModel& city) {
  const auto& spec = static_cast<const PowerSpec&>(dspec);
  Network net;
  CityGrid grid;
  std::vector<std::uint8_t> residential;
  if (spec.city_grid) {
    if (city.buildings.size() == 0)
      return fail(
          Error::msg("power.grid = \"city\" needs buildings: set city.osm, or give power.case",
                     scenario.path));
    grid = synthesise_city_grid(city);
    net = to_network(grid);
    for (BuildingUse u : city.buildings.use)
      residential.push_back(u == BuildingUse::residential || u == BuildingUse::other);
  } else {
    const bool json = spec.case_path.size() > 5 && spec.case_path.ends_with(".json");
    auto r = json ? read_pandapower(spec.case_path) : read_matpower(spec.case_path);
    if (!r) return fail(r.error());
    net = std::move(*r);
  }
  // Events must name branches and substations that exist.
  for (const EventSpec& e : scenario.events) {
    if (scenario.domain_names[static_cast<std::size_t>(e.domain)] != "power") continue;
    Diagnostic d;
    d.file = e.where;
    if (const auto* b = dynamic_cast<const BranchEvent*>(e.payload.get());
        b && b->branch >= net.n_branch()) {
      d.field = "branch";
      d.message = "no such branch";
      d.found = std::to_string(b->branch);
      d.expected = "an index below " + std::to_string(net.n_branch());
      return fail(d);
    }
    if (const auto* sub = dynamic_cast<const SubstationEvent*>(e.payload.get());
        sub && sub->substation >= static_cast<std::int32_t>(grid.substation_hv_bus.size())) {
      d.field = "substation";
      d.message =
          spec.city_grid ? "no such substation" : "substation events need power.grid = \"city\"";
      d.found = std::to_string(sub->substation);
      d.expected = "an index below " + std::to_string(grid.substation_hv_bus.size());
      return fail(d);
    }
  }
  return std::unique_ptr<const Domain>(std::make_unique<PowerDomain>(
      spec, scenario.run, std::move(net), std::move(grid), spec.city_grid, residential));
}

}  // namespace

const DomainEntry& power_domain_entry() {
  static const DomainEntry entry{{"power", parse_power, parse_power_event}, compile_power};
  return entry;
}

}  // namespace citytwin::power
