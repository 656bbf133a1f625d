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
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "citytwin/demand.hpp"
#include "citytwin/frame.hpp"
#include "citytwin/io.hpp"
#include "power/power_domain.hpp"
#include "power/power_spec.hpp"

namespace citytwin::power {

namespace {

enum class Reason : std::uint8_t {
  event_trip,
  event_restore,
  overload_timed,
  overload_instant,
  undervoltage_shed,
  substation_out,
  substation_in,
  element_out,  // the coupling switched a flooded element out
  element_in    // ... and back in after its repair
};
constexpr const char* k_reason_names =
    "event_trip,event_restore,overload_timed,overload_instant,undervoltage_shed,substation_out,"
    "substation_in,element_out,element_in";

struct PowerState : DomainState {
  // Control arrays over the model's network (the rest of it is the model's and never changes):
  // branches in service, bus loads (MW and MVAr in pu) now.
  std::vector<std::uint8_t> br_on;     // (n_branch)
  std::vector<double> bus_pd, bus_qd;  // (n_bus)
  std::unique_ptr<PowerFlowSolver> solver;
  PowerFlowResult result;
  bool have_result = false;
  std::vector<double> loading;     // (n_branch) max end loading of the last flow, rate = 1
  std::vector<double> integrator;  // (n_branch) overload integrator, trips at 1
  std::vector<double> bus_served;  // (n_bus) fraction of load not shed
  std::vector<std::uint8_t> building_powered;  // (n_buildings)
  // Control arrays the coupling sets (consume): elements switched out, buildings cut off,
  // extra load per bus (EV charging, pu); and since when each bus is dark (ms, -1 live).
  std::vector<std::uint8_t> element_out;     // (n_elements)
  std::vector<std::uint8_t> building_cut;    // (n_buildings)
  std::vector<float> building_extra_w;       // (n_buildings)
  std::vector<double> bus_extra;             // (n_bus) pu
  std::vector<std::int64_t> bus_dark_since;  // (n_bus)
  double load_factor = 1.0;
  // Load factor per substation that meter readings assimilate (docs/live.md), 1 without any.
  std::vector<double> sub_factor;  // (n_substations)
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

  // Persistent fields (state_io.hpp): the network's control arrays, the last flow's result (its
  // wall time left out) and everything the protection and the coupling keep. The solver's warm
  // start is the last converged result (PowerDomain::restored).
  template <class A, class S>
  static void fields(A& a, S& s) {
    a.field("br_on", s.br_on);
    a.field("bus_pd", s.bus_pd);
    a.field("bus_qd", s.bus_qd);
    auto& r = s.result;
    a.field("result.status", r.status);
    a.field("result.iterations", r.iterations);
    a.field("result.q_rounds", r.q_rounds);
    a.field("result.max_mismatch", r.max_mismatch);
    a.field("result.worst_bus", r.worst_bus);
    a.field("result.mismatch_history", r.mismatch_history);
    a.field("result.bus_vm", r.bus_vm);
    a.field("result.bus_va", r.bus_va);
    a.field("result.bus_type", r.bus_type);
    a.field("result.gen_pg", r.gen_pg);
    a.field("result.gen_qg", r.gen_qg);
    a.field("result.br_pf", r.br_pf);
    a.field("result.br_qf", r.br_qf);
    a.field("result.br_pt", r.br_pt);
    a.field("result.br_qt", r.br_qt);
    a.field("result.bus_island", r.islands.bus_island);
    a.field("result.island_slack", r.islands.island_slack);
    a.field("result.island_energised", r.islands.island_energised);
    a.field("result.island_size", r.islands.island_size);
    a.field("have_result", s.have_result);
    a.field("loading", s.loading);
    a.field("integrator", s.integrator);
    a.field("bus_served", s.bus_served);
    a.field("building_powered", s.building_powered);
    a.field("element_out", s.element_out);
    a.field("building_cut", s.building_cut);
    a.field("building_extra_w", s.building_extra_w);
    a.field("bus_extra", s.bus_extra);
    a.field("bus_dark_since", s.bus_dark_since);
    a.field("load_factor", s.load_factor);
    a.field("sub_factor", s.sub_factor);
    a.field("next_check", s.next_check);
    a.field("last_check", s.last_check);
    a.field("dirty", s.dirty);
    a.field("served_mw", s.served_mw);
    a.field("unserved_mw", s.unserved_mw);
    a.field("unserved_mwh", s.unserved_mwh);
    a.field("customers_unserved", s.customers_unserved);
    a.field("flows", s.flows);
    a.field("failures", s.failures);
    a.field("last_failure", s.last_failure);
    a.field("log_time_s", s.log_time_s);
    a.field("log_generation", s.log_generation);
    a.field("log_branch", s.log_branch);
    a.field("log_bus", s.log_bus);
    a.field("log_reason", s.log_reason);
    a.field("log_loading", s.log_loading);
  }
  void save(StateOut& out) const override { fields(out, *this); }
  void load(StateIn& in) override { fields(in, *this); }

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

  Footprint footprint(const RunSpec& run) const override {
    const double nb = m_base.n_bus(), nk = m_base.n_branch(), ng = m_base.n_gen(),
                 nbld = static_cast<double>(m_grid.building_bus.size());
    const double flows = static_cast<double>(run.duration) /
                         static_cast<double>(std::max<SimTime>(1, m_spec.interval));
    Footprint f;
    // Model: the network tables (about 15 numbers per bus, 20 per branch, 25 per generator),
    // the peaks per bus, the city grid's buildings.
    f.model_bytes = nb * 140 + nk * 170 + ng * 200 + nbld * 16;
    // State: the control arrays, the solver (its working copy of the network, the admittance
    // matrix and its sparse LU: about 16 nonzeros per bus and 4 per branch, 16 bytes each,
    // twice), per-branch and per-building arrays; the protection log grows with the flows run.
    f.state_bytes =
        nb * 140 + nk * 170 + ng * 200 + (nb * 16 + nk * 4) * 32 + nk * 24 + nbld * 6 + flows * 8;
    f.static_bytes = nb * 40 + nk * 40 + nbld * 4;
    f.frame_bytes = nb * 4 + nk * 5 + nbld + 64;
    return f;
  }

  void restored(DomainState& state) const override {
    auto& s = static_cast<PowerState&>(state);
    if (s.have_result && s.result.success()) s.solver->set_start(s.result.bus_vm, s.result.bus_va);
  }

  std::unique_ptr<DomainState> make_state(std::uint64_t /*seed*/) const override {
    auto s = std::make_unique<PowerState>();
    s->br_on = m_base.br_on;
    s->bus_pd = m_base.bus_pd;
    s->bus_qd = m_base.bus_qd;
    s->solver = std::make_unique<PowerFlowSolver>(m_base);
    s->loading.assign(static_cast<std::size_t>(m_base.n_branch()), 0.0);
    s->integrator = s->loading;
    s->bus_served.assign(static_cast<std::size_t>(m_base.n_bus()), 1.0);
    s->building_powered.assign(m_grid.building_bus.size(), 1);
    s->element_out.assign(m_element_branches.size(), 0);
    s->building_cut.assign(m_grid.building_bus.size(), 0);
    s->building_extra_w.assign(m_grid.building_bus.size(), 0.0f);
    s->bus_extra.assign(static_cast<std::size_t>(m_base.n_bus()), 0.0);
    s->bus_dark_since.assign(static_cast<std::size_t>(m_base.n_bus()), -1);
    s->sub_factor.assign(m_grid.substation_hv_bus.size(), 1.0);
    check(*s, 0, nullptr);  // the state starts solved at t = 0 (make_state has no pool)
    return s;
  }

  // A substation meter (active_power, entity "substation:<i>") reads the load of the buses it
  // feeds as the grid carries it now (served, W).
  Result<std::optional<double>> observe(const DomainState& state,
                                        const DatastreamSpec& ds) const override {
    if (ds.kind != SensorKind::active_power || !m_city) return std::optional<double>();
    const auto sub = metered_substation(ds);
    if (!sub) return fail(sub.error());
    const auto& s = static_cast<const PowerState&>(state);
    double pu = 0;
    for (std::size_t b = 0; b < s.bus_pd.size(); ++b)
      if (m_grid.bus_substation[b] == *sub) pu += s.bus_pd[b];
    return std::optional<double>(pu * m_base.base_mva * 1e6);
  }
  // Meter readings scale the load behind the substation (docs/live.md "Assimilation"): its
  // factor is multiplied by (observed / simulated)^gain, at most halved or doubled per
  // reading, and the buses it feeds take the new load at once (the next step re-solves).
  bool assimilate(DomainState& state, const DatastreamSpec& ds, double observed,
                  double gain) const override {
    const auto simulated = observe(state, ds);
    if (!simulated || !*simulated || **simulated <= 0 || observed < 0) return false;
    auto& s = static_cast<PowerState&>(state);
    const double r = std::clamp(std::pow(observed / **simulated, gain), 0.5, 2.0);
    const auto sub = *metered_substation(ds);
    s.sub_factor[static_cast<std::size_t>(sub)] *= r;
    for (std::size_t b = 0; b < s.bus_pd.size(); ++b)
      if (m_grid.bus_substation[b] == sub) s.bus_pd[b] *= r, s.bus_qd[b] *= r;
    s.dirty = true;
    return true;
  }

  Result<void> apply_event(const EventSpec& e, DomainState& state) const override {
    auto& s = static_cast<PowerState&>(state);
    if (auto ok = check_event(e); !ok) return ok;
    if (const auto* b = dynamic_cast<const BranchEvent*>(e.payload.get())) {
      const auto k = static_cast<std::size_t>(b->branch);
      s.br_on[k] = b->restore ? 1 : 0;
      if (b->restore) s.integrator[k] = 0;
      s.log(e.at, 0, static_cast<std::int32_t>(k), -1,
            b->restore ? Reason::event_restore : Reason::event_trip, s.loading[k]);
    } else if (const auto* sub = dynamic_cast<const SubstationEvent*>(e.payload.get())) {
      switch_element(s, static_cast<std::int32_t>(sub->substation), sub->in_service, e.at,
                     sub->in_service ? Reason::substation_in : Reason::substation_out);
    } else if (const auto* sc = dynamic_cast<const ScaleEvent*>(e.payload.get())) {
      s.load_factor = sc->factor;
    }
    s.dirty = true;
    return {};
  }

  /// Whether an event names a branch or substation of this grid (compile time and at apply).
  Result<void> check_event(const EventSpec& e) const {
    if (const auto* b = dynamic_cast<const BranchEvent*>(e.payload.get());
        b && (b->branch < 0 || b->branch >= m_base.n_branch()))
      return fail(Diagnostic::at(e.where, 0, "branch", "no such branch", std::to_string(b->branch),
                                 "an index from 0 to " + std::to_string(m_base.n_branch() - 1)));
    const auto n_sub = static_cast<std::int64_t>(m_grid.substation_hv_bus.size());
    if (const auto* sub = dynamic_cast<const SubstationEvent*>(e.payload.get());
        sub && (sub->substation < 0 || sub->substation >= n_sub))
      return fail(Diagnostic::at(
          e.where, 0, "substation",
          m_city ? "no such substation" : "substation events need power.grid = \"city\"",
          std::to_string(sub->substation),
          n_sub > 0 ? "an index from 0 to " + std::to_string(n_sub - 1) : "no substation event"));
    return {};
  }

  // Elements (the exchange's index space): the city grid's substations, then its MV/LV
  // transformers. Switching one opens or closes its branches (a substation: every branch at its
  // HV or MV bus, which de-energises its feeders) and resets their overload integrators.
  void switch_element(PowerState& s, std::int32_t element, bool in_service, SimTime t,
                      Reason reason) const {
    const auto u = static_cast<std::size_t>(element);
    for (std::int32_t k : std::span(m_element_branches[u])) {
      s.br_on[static_cast<std::size_t>(k)] = in_service ? 1 : 0;
      s.integrator[static_cast<std::size_t>(k)] = 0;
    }
    s.log(t, 0,
          element < static_cast<std::int32_t>(m_grid.substation_hv_bus.size())
              ? -1
              : m_element_branches[u].front(),
          m_element_bus[u], reason, 0);
    s.dirty = true;
  }

  void declare(ExchangeLayout& l) const override {
    l.power = true;
    l.bus_x = m_base.bus_x, l.bus_y = m_base.bus_y;
    l.bus_lv.assign(static_cast<std::size_t>(m_base.n_bus()), 0);
    for (std::size_t b = 0; b < m_grid.bus_kind.size(); ++b)
      l.bus_lv[b] = m_grid.bus_kind[b] == GridBusKind::lv ? 1 : 0;
    for (std::size_t e = 0; e < m_element_branches.size(); ++e) {
      const bool sub = e < m_grid.substation_hv_bus.size();
      const std::int32_t at = sub ? m_grid.substation_hv_bus[e] : m_element_bus[e];
      l.element_kind.push_back(sub ? ElementKind::substation : ElementKind::transformer);
      l.element_x.push_back(m_base.bus_x[static_cast<std::size_t>(at)]);
      l.element_y.push_back(m_base.bus_y[static_cast<std::size_t>(at)]);
      l.element_bus.push_back(m_element_bus[e]);
    }
    if (m_city) l.building_bus = m_grid.building_bus;
  }

  // The coupling's inputs, applied when they change; any change re-solves at once.
  void consume(const CityExchange& x, DomainState& state, const StepContext& ctx) const override {
    auto& s = static_cast<PowerState&>(state);
    for (std::size_t e = 0; e < s.element_out.size(); ++e) {
      const std::uint8_t out = x.element_in_service[e] ? 0 : 1;
      if (out == s.element_out[e]) continue;
      s.element_out[e] = out;
      switch_element(s, static_cast<std::int32_t>(e), !out, ctx.t,
                     out ? Reason::element_out : Reason::element_in);
    }
    bool loads = false;
    for (std::size_t b = 0; b < s.building_cut.size(); ++b) {
      const std::uint8_t cut = x.building_connected[b] ? 0 : 1;
      loads |= cut != s.building_cut[b] || x.building_extra_w[b] != s.building_extra_w[b];
      s.building_cut[b] = cut;
      s.building_extra_w[b] = x.building_extra_w[b];
    }
    if (!loads) return;
    std::fill(s.bus_extra.begin(), s.bus_extra.end(), 0.0);
    for (std::size_t b = 0; b < s.building_extra_w.size(); ++b)
      s.bus_extra[static_cast<std::size_t>(m_grid.building_bus[b])] +=
          s.building_extra_w[b] * 1e-6 / m_base.base_mva;
    s.dirty = true;
  }

  void publish(const DomainState& state, CityExchange& x) const override {
    const auto& s = static_cast<const PowerState&>(state);
    for (std::size_t b = 0; b < s.bus_dark_since.size(); ++b) {
      x.bus_dark_since[b] = s.bus_dark_since[b];
    }
    std::copy(s.building_powered.begin(), s.building_powered.end(), x.building_powered.begin());
    for (std::size_t e = 0; e < s.element_out.size(); ++e)
      x.element_energised[e] =
          !s.element_out[e] && s.bus_dark_since[static_cast<std::size_t>(m_element_bus[e])] < 0;
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

  // The load a bus asks for at local time t (pu): its buildings' peaks on the daily profiles
  // (the city grid) or the case's load on their mean, times the scale, the scale_load events and
  // the extra load the coupling adds (EV charging). Before shedding.
  double bus_demand(const PowerState& s, std::int32_t b, double fr, double fc) const {
    const auto u = static_cast<std::size_t>(b);
    double p = m_city ? m_res_peak[u] * fr + m_com_peak[u] * fc
                      : m_base.bus_pd[u] * (m_spec.daily_profile ? 0.5 * (fr + fc) : 1.0);
    const std::int32_t sub = m_city ? m_grid.bus_substation[u] : -1;
    const double metered = sub >= 0 ? s.sub_factor[static_cast<std::size_t>(sub)] : 1.0;
    return p * m_spec.load_scale * s.load_factor * metered + s.bus_extra[u];
  }
  // The substation a meter's entity names ("substation:<i>").
  Result<std::int32_t> metered_substation(const DatastreamSpec& ds) const {
    const auto i = entity_index(ds.entity, "substation");
    const auto n = static_cast<std::int64_t>(m_grid.substation_hv_bus.size());
    if (!i || *i >= n)
      return fail(
          Error::msg(fmt::format("{}: datastream \"{}\": entity \"{}\" is not a "
                                 "substation of the city grid (substation:0 to "
                                 "substation:{})",
                                 ds.where, ds.id, ds.entity, n - 1)));
    return static_cast<std::int32_t>(*i);
  }
  // Profile factors (residential, commercial) at simulated time t.
  std::pair<double, double> profile(SimTime t) const {
    if (!m_spec.daily_profile) return {1.0, 1.0};
    const double hour = m_run.local_second_of_day(t) / 3600.0;
    static const DailyProfile res = DailyProfile::residential_load(),
                              com = DailyProfile::commercial_load();
    return {res.at(hour), com.at(hour)};
  }

  void set_loads(PowerState& s, SimTime t) const {
    const auto [fr, fc] = profile(t);
    for (std::int32_t b = 0; b < m_base.n_bus(); ++b) {
      const auto u = static_cast<std::size_t>(b);
      const double p = bus_demand(s, b, fr, fc) * s.bus_served[u];
      const double ratio = m_base.bus_pd[u] != 0 ? m_base.bus_qd[u] / m_base.bus_pd[u] : 0.0;
      s.bus_pd[u] = p;
      s.bus_qd[u] = m_city
                        ? p * ratio
                        : m_base.bus_qd[u] * (p / (m_base.bus_pd[u] != 0 ? m_base.bus_pd[u] : 1.0));
    }
  }

  bool solve(PowerState& s, TaskPool* pool) const {
    PowerFlowOptions opt;
    opt.pool = pool;
    opt.tolerance = m_spec.tolerance;
    opt.max_iterations = m_spec.max_iterations;
    opt.warm_start = s.have_result;
    // The model's network with the state's switches and loads (the solver works on its copy).
    Network net = m_base;
    net.br_on = s.br_on;
    net.bus_pd = s.bus_pd;
    net.bus_qd = s.bus_qd;
    s.solver->solve(net, opt, s.result);
    ++s.flows;
    if (!s.result.success()) {
      ++s.failures;
      s.last_failure = s.result.diagnosis(net);
      return false;
    }
    s.have_result = true;
    for (std::int32_t k = 0; k < m_base.n_branch(); ++k) {
      const double sf = std::hypot(s.result.br_pf[k], s.result.br_qf[k]);
      const double st = std::hypot(s.result.br_pt[k], s.result.br_qt[k]);
      s.loading[k] =
          s.br_on[k] && m_base.br_rate_a[k] > 0 ? std::max(sf, st) / m_base.br_rate_a[k] : 0.0;
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
      for (std::int32_t k = 0; k < m_base.n_branch(); ++k) {
        if (!s.br_on[k]) continue;
        if (s.loading[k] > pr.overload_limit)
          s.integrator[k] += elapsed / trip_time_s(s.loading[k]);
        else
          s.integrator[k] = 0;
        if (s.integrator[k] >= 1.0 - 1e-9) {
          s.br_on[k] = 0;
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
      for (std::int32_t k = 0; k < m_base.n_branch(); ++k)
        if (s.br_on[k] && s.loading[k] >= pr.instant_trip) {
          s.br_on[k] = 0;
          s.log(t, generation, k, -1, Reason::overload_instant, s.loading[k]);
          changed = true;
        }
      if (!changed) {
        for (std::int32_t b = 0; b < m_base.n_bus(); ++b) {
          const double vm = s.result.bus_vm[b];
          if (m_base.bus_type[b] != BusType::pq || vm <= 0 || vm >= pr.undervoltage ||
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
    for (std::int32_t k = 0; k < m_base.n_branch(); ++k)
      if (pr.enabled && s.br_on[k] && s.loading[k] > pr.overload_limit)
        next_s = std::min(next_s, (1.0 - s.integrator[k]) * trip_time_s(s.loading[k]));
    s.next_check = t + std::max<SimTime>(1, static_cast<SimTime>(std::ceil(next_s * 1000.0)));
    account(s);
  }

  // Served and unserved load, which buildings have power, and since when each bus is dark.
  void account(PowerState& s) const {
    const auto& vm = s.result.bus_vm;
    double served = 0, demand = 0;
    const auto [fr, fc] = profile(s.last_check);
    for (std::int32_t b = 0; b < m_base.n_bus(); ++b) {
      const auto u = static_cast<std::size_t>(b);
      const double want = bus_demand(s, b, fr, fc) * m_base.base_mva;
      demand += want;
      const bool live = s.have_result && u < vm.size() && vm[u] > 0;
      if (live) served += want * s.bus_served[u];
      if (!live && s.bus_dark_since[u] < 0) s.bus_dark_since[u] = s.last_check;
      if (live) s.bus_dark_since[u] = -1;
    }
    s.served_mw = served;
    s.unserved_mw = demand - served;
    s.customers_unserved = 0;
    // Within a partly shed bus, buildings lose power in index order (a fixed rota).
    std::vector<std::int32_t> rank_in_bus(static_cast<std::size_t>(m_base.n_bus()), 0),
        count(rank_in_bus);
    for (std::int32_t bus : m_grid.building_bus) ++count[static_cast<std::size_t>(bus)];
    for (std::size_t i = 0; i < m_grid.building_bus.size(); ++i) {
      const auto bus = static_cast<std::size_t>(m_grid.building_bus[i]);
      const std::int32_t rank = rank_in_bus[bus]++;
      const bool live = s.have_result && vm[bus] > 0 && !s.building_cut[i] &&
                        rank < std::lround(s.bus_served[bus] * count[bus]);
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
  // Elements: substations then MV/LV transformers; the branches each one switches and the bus
  // it energises (a substation's MV bus, a transformer's LV bus).
  std::vector<std::vector<std::int32_t>> m_element_branches = make_elements();
  std::vector<std::int32_t> m_element_bus = element_buses();
  // What the viewer draws the grid with (as /power static data); built after the members above.
  std::shared_ptr<const PowerLayout> m_layout = make_layout();

  std::vector<std::vector<std::int32_t>> make_elements() const {
    std::vector<std::vector<std::int32_t>> el;
    if (!m_city) return el;
    for (std::size_t sub = 0; sub < m_grid.substation_hv_bus.size(); ++sub) {
      const std::int32_t hv = m_grid.substation_hv_bus[sub], mv = m_grid.substation_mv_bus[sub];
      std::vector<std::int32_t> br;
      for (std::int32_t k = 0; k < m_base.n_branch(); ++k) {
        const auto u = static_cast<std::size_t>(k);
        if (m_base.br_from[u] == hv || m_base.br_to[u] == hv || m_base.br_from[u] == mv ||
            m_base.br_to[u] == mv)
          br.push_back(k);
      }
      el.push_back(std::move(br));
    }
    for (std::int32_t k = 0; k < m_grid.n_branch(); ++k)
      if (m_grid.br_kind[static_cast<std::size_t>(k)] == GridBranchKind::mv_lv_transformer)
        el.push_back({k});
    return el;
  }
  std::vector<std::int32_t> element_buses() const {
    std::vector<std::int32_t> bus;
    for (std::size_t e = 0; e < m_element_branches.size(); ++e)
      bus.push_back(e < m_grid.substation_mv_bus.size()
                        ? m_grid.substation_mv_bus[e]
                        : m_grid.br_to[static_cast<std::size_t>(m_element_branches[e].front())]);
    return bus;
  }

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
  const std::size_t nb = static_cast<std::size_t>(m_base.n_bus()),
                    nk = static_cast<std::size_t>(m_base.n_branch());
  std::vector<float> vm(nb, 0.0f), load(nk, 0.0f);
  std::vector<std::uint8_t> on(s.br_on);
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
  std::vector<float> vm(static_cast<std::size_t>(m_base.n_bus()), 0.0f),
      load(static_cast<std::size_t>(m_base.n_branch()));
  for (std::size_t b = 0; b < vm.size() && s.have_result; ++b)
    vm[b] = static_cast<float>(s.result.bus_vm[b]);
  for (std::size_t k = 0; k < load.size(); ++k) load[k] = static_cast<float>(s.loading[k]);
  PowerFrameData d;
  d.bus_vm = vm, d.branch_loading = load, d.branch_on = s.br_on;
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
  for (std::int32_t b = 0; b < m_base.n_bus() && s.have_result; ++b)
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
  // Of the buses that have power: after a blackout there are none, and no voltage to report.
  summary.push_back({"power", "lowest voltage of an energised bus now",
                     !s.have_result ? "-"
                     : vmin < 10    ? std::to_string(vmin).substr(0, 5) + " pu"
                                    : "none energised"});
  summary.push_back({"power", "protection trips", std::to_string(trips)});
  summary.push_back(
      {"power", "energy not supplied", std::to_string(s.unserved_mwh).substr(0, 6) + " MWh"});
  summary.push_back({"power", "buildings without power now", std::to_string(s.customers_unserved)});
  if (s.failures > 0) summary.push_back({"power", "last failure", s.last_failure});
}

Result<std::unique_ptr<Domain>> compile_power(const DomainSpec& dspec, const ScenarioSpec& scenario,
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
    CityGridParams params;
    if (!spec.substations.empty()) {
      // Replaced substations are indices into the grid as the city gives it.
      const auto base =
          static_cast<std::int64_t>(synthesise_city_grid(city).substation_hv_bus.size());
      const auto& e = city.extent;
      for (const PowerSpec::NewSubstation& n : spec.substations) {
        if (n.at.x < e[0] || n.at.x > e[2] || n.at.y < e[1] || n.at.y > e[3])
          return fail(Diagnostic::at(
              n.where, 0, "power.substation.at", "the substation lies outside the city",
              fmt::format("[{}, {}]", n.at.x, n.at.y),
              fmt::format("x in [{:.0f}, {:.0f}], y in [{:.0f}, {:.0f}]", e[0], e[2], e[1], e[3])));
        if (n.replaces >= base)
          return fail(
              Diagnostic::at(n.where, 0, "power.substation.replaces", "no such substation",
                             std::to_string(n.replaces),
                             fmt::format("an index below {} (/power/substation_hv_bus)", base)));
        if (n.replaces >= 0)
          params.removed_substations.push_back(static_cast<std::int32_t>(n.replaces));
        params.added_substations.push_back({n.at.x, n.at.y});
      }
    }
    grid = synthesise_city_grid(city, params);
    net = to_network(grid);
    for (BuildingUse u : city.buildings.use)
      residential.push_back(u == BuildingUse::residential || u == BuildingUse::other);
  } else {
    const bool json = spec.case_path.size() > 5 && spec.case_path.ends_with(".json");
    auto r = json ? read_pandapower(spec.case_path) : read_matpower(spec.case_path);
    if (!r) return fail(r.error());
    net = std::move(*r);
  }
  auto domain = std::make_unique<PowerDomain>(spec, scenario.run, std::move(net), std::move(grid),
                                              spec.city_grid, residential);
  // Events must name branches and substations that exist.
  for (const EventSpec& e : scenario.events)
    if (scenario.domain_names[static_cast<std::size_t>(e.domain)] == "power")
      if (auto ok = domain->check_event(e); !ok) return fail(ok.error());
  return std::unique_ptr<Domain>(std::move(domain));
}

}  // namespace

const DomainEntry& domain_entry() {
  static const DomainEntry entry{
      {"power", parse_power, parse_power_event,
       "trip_branch, restore_branch, substation_out, substation_in, scale_load"},
      compile_power,
      open_power_replay};
  return entry;
}

}  // namespace citytwin::power
