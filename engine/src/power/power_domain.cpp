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
//
// This file holds the domain the run loop drives (PowerDomain, power_domain_impl.hpp): the state
// it makes, events on it, the exchange hooks (elements switched out, buildings cut off and extra
// load in; dark buses, powered buildings and energised elements out), the advance over a macro
// step and the protection check with its loads and power flows. The section is parsed in
// power_spec.cpp, compiled in power_domain_compile.cpp, and written out in
// power_domain_outputs.cpp.
#include "power/power_domain_impl.hpp"

#include <algorithm>
#include <cmath>
#include <span>

#include <fmt/format.h>

#include "citytwin/demand.hpp"

namespace citytwin::power {

Footprint PowerDomain::footprint(const RunSpec& run) const {
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

void PowerDomain::restored(DomainState& state) const {
  auto& s = static_cast<PowerState&>(state);
  if (s.have_result && s.result.success()) s.solver->set_start(s.result.bus_vm, s.result.bus_va);
}

std::unique_ptr<DomainState> PowerDomain::make_state(std::uint64_t /*seed*/) const {
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
Result<std::optional<double>> PowerDomain::observe(const DomainState& state,
                                                   const DatastreamSpec& ds) const {
  if (ds.kind != SensorKind::active_power || !m_city) return std::optional<double>();
  const auto sub = metered_substation(ds);
  if (!sub) return fail(sub.error());
  const auto& s = static_cast<const PowerState&>(state);
  double pu = 0;
  for (const std::int32_t b : m_substation_buses[static_cast<std::size_t>(*sub)])
    pu += s.bus_pd[static_cast<std::size_t>(b)];
  return std::optional<double>(pu * m_base.base_mva * 1e6);
}

// Meter readings scale the load behind the substation (docs/live.md "Assimilation"): its
// factor is multiplied by (observed / simulated)^gain, at most halved or doubled per
// reading, and the buses it feeds take the new load at once (the next step re-solves).
bool PowerDomain::assimilate(DomainState& state, const DatastreamSpec& ds, double observed,
                             double gain) const {
  const auto simulated = observe(state, ds);
  if (!simulated || !*simulated || **simulated <= 0 || observed < 0) return false;
  auto& s = static_cast<PowerState&>(state);
  const double r = std::clamp(std::pow(observed / **simulated, gain), 0.5, 2.0);
  const auto sub = *metered_substation(ds);
  s.sub_factor[static_cast<std::size_t>(sub)] *= r;
  for (const std::int32_t b : m_substation_buses[static_cast<std::size_t>(sub)])
    s.bus_pd[static_cast<std::size_t>(b)] *= r, s.bus_qd[static_cast<std::size_t>(b)] *= r;
  s.dirty = true;
  return true;
}

Result<void> PowerDomain::apply_event(const EventSpec& e, DomainState& state) const {
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

Result<void> PowerDomain::check_event(const EventSpec& e) const {
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
void PowerDomain::switch_element(PowerState& s, std::int32_t element, bool in_service, SimTime t,
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

void PowerDomain::declare(ExchangeLayout& l) const {
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
void PowerDomain::consume(const CityExchange& x, DomainState& state, const StepContext& ctx) const {
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

void PowerDomain::publish(const DomainState& state, CityExchange& x) const {
  const auto& s = static_cast<const PowerState&>(state);
  for (std::size_t b = 0; b < s.bus_dark_since.size(); ++b) {
    x.bus_dark_since[b] = s.bus_dark_since[b];
  }
  std::copy(s.building_powered.begin(), s.building_powered.end(), x.building_powered.begin());
  for (std::size_t e = 0; e < s.element_out.size(); ++e)
    x.element_energised[e] =
        !s.element_out[e] && s.bus_dark_since[static_cast<std::size_t>(m_element_bus[e])] < 0;
}

void PowerDomain::advance(DomainState& state, const StepContext& ctx) const {
  auto& s = static_cast<PowerState&>(state);
  // Events act at their own time; scheduled checks solve the state at the end of the step,
  // so a frame written at t shows the power flow of t.
  if (s.dirty) check(s, ctx.t, ctx.pool);
  s.unserved_mwh += s.unserved_mw * to_seconds(ctx.dt) / 3600.0;
  if (ctx.t + ctx.dt >= s.next_check) check(s, ctx.t + ctx.dt, ctx.pool);
}

double PowerDomain::trip_time_s(double loading) const {
  return to_seconds(m_spec.protection.overload_delay) * 0.5 / std::max(loading - 1.0, 1e-9);
}

// The load a bus asks for at local time t (pu): its buildings' peaks on the daily profiles
// (the city grid) or the case's load on their mean, times the scale, the scale_load events and
// the extra load the coupling adds (EV charging). Before shedding.
double PowerDomain::bus_demand(const PowerState& s, std::int32_t b, double fr, double fc) const {
  const auto u = static_cast<std::size_t>(b);
  double p = m_city ? m_res_peak[u] * fr + m_com_peak[u] * fc
                    : m_base.bus_pd[u] * (m_spec.daily_profile ? 0.5 * (fr + fc) : 1.0);
  const std::int32_t sub = m_city ? m_grid.bus_substation[u] : -1;
  const double metered = sub >= 0 ? s.sub_factor[static_cast<std::size_t>(sub)] : 1.0;
  return p * m_spec.load_scale * s.load_factor * metered + s.bus_extra[u];
}

// The substation a meter's entity names ("substation:<i>").
Result<std::int32_t> PowerDomain::metered_substation(const DatastreamSpec& ds) const {
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
std::pair<double, double> PowerDomain::profile(SimTime t) const {
  if (!m_spec.daily_profile) return {1.0, 1.0};
  const double hour = m_run.local_second_of_day(t) / 3600.0;
  static const DailyProfile res = DailyProfile::residential_load(),
                            com = DailyProfile::commercial_load();
  return {res.at(hour), com.at(hour)};
}

void PowerDomain::set_loads(PowerState& s, SimTime t) const {
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

bool PowerDomain::solve(PowerState& s, TaskPool* pool) const {
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
void PowerDomain::check(PowerState& s, SimTime t, TaskPool* pool) const {
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
void PowerDomain::account(PowerState& s) const {
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

}  // namespace citytwin::power
