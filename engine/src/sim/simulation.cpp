// The model compiler (domains, the exchange layout, the coupling rules) and the macro step:
// inbox, consume, advance (concurrent), publish, coupling rules, swap.
#include <algorithm>
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "citytwin/frame.hpp"
#include "citytwin/resources.hpp"
#include "citytwin/sim.hpp"

namespace citytwin {

Result<std::shared_ptr<const Model>> compile_model(ScenarioSpec spec) {
  // A scenario without a city (e.g. traffic on a SUMO network) gets an empty CityModel; the
  // domains that need one say which city key to set.
  if (spec.city.osm.empty() && spec.city.dem.empty())
    return compile_model(std::move(spec), std::make_shared<const CityModel>(), builtin_domains());
  auto city = import_city(spec.city);
  if (!city) return fail(city.error());
  return compile_model(std::move(spec), std::move(*city), builtin_domains());
}

namespace {

// The city's part of the layout: links, buildings, signals; the scenario's pumps.
std::shared_ptr<ExchangeLayout> city_layout(const CityModel& city, const CouplingSpec& c) {
  auto l = std::make_shared<ExchangeLayout>();
  const RoadNetwork& rn = city.roads;
  l->n_links = rn.link_count();
  l->n_buildings = city.buildings.size();
  for (std::int32_t n = 0; n < rn.node_count(); ++n)
    if (rn.node_signal[static_cast<std::size_t>(n)]) {
      l->signal_node.push_back(n);
      l->signal_x.push_back(rn.node_x[static_cast<std::size_t>(n)]);
      l->signal_y.push_back(rn.node_y[static_cast<std::size_t>(n)]);
    }
  l->building_bus.assign(static_cast<std::size_t>(l->n_buildings), -1);
  for (const CouplingSpec::Pump& p : c.pumps) {
    l->pump_x.push_back(p.at.x);
    l->pump_y.push_back(p.at.y);
    l->pump_where.push_back(p.where);
  }
  return l;
}

}  // namespace

Result<std::shared_ptr<const Model>> compile_model(ScenarioSpec spec,
                                                   std::shared_ptr<const CityModel> city,
                                                   std::span<const DomainEntry> domains) {
  // An empty file (or one with only [scenario] and [city]) is no simulation.
  if (spec.domain_names.empty()) {
    std::string sections;
    for (const DomainEntry& e : domains)
      sections += (sections.empty() ? "[" : ", [") + std::string(e.info.section) + "]";
    return fail(Diagnostic::at(spec.path, 0, "", "nothing to simulate: no domain section", "",
                               "at least one of " + sections));
  }
  auto model = std::make_shared<Model>();
  model->city = std::move(city);
  std::vector<std::unique_ptr<Domain>> compiled;
  Error errors;  // every domain's setup problems, reported together
  for (std::size_t i = 0; i < spec.domain_names.size(); ++i) {
    const auto it = std::find_if(domains.begin(), domains.end(), [&](const DomainEntry& e) {
      return e.info.section == spec.domain_names[i];
    });
    CT_ASSERT(it != domains.end(), "the spec was loaded with the same domain list");
    auto d = it->compile(*spec.domains[i], spec, *model->city);
    if (!d) {
      errors.items.insert(errors.items.end(), d.error().items.begin(), d.error().items.end());
      continue;
    }
    compiled.push_back(std::move(*d));
  }
  if (!errors.items.empty()) return fail(std::move(errors));
  std::shared_ptr<ExchangeLayout> layout = city_layout(*model->city, spec.coupling);
  for (const auto& d : compiled) d->declare(*layout);
  for (const auto& d : compiled)
    if (auto r = d->bind(*layout); !r)
      errors.items.insert(errors.items.end(), r.error().items.begin(), r.error().items.end());
  if (!errors.items.empty()) return fail(std::move(errors));
  model->warnings = model->city->stats.warnings;
  for (const auto& d : compiled) {
    std::vector<Diagnostic> w = d->warnings();
    model->warnings.insert(model->warnings.end(), w.begin(), w.end());
  }
  auto coupling = compile_coupling(spec.coupling, layout, *model->city);
  if (!coupling) return fail(coupling.error());
  model->coupling = std::move(*coupling);
  model->layout = std::move(layout);
  for (auto& d : compiled) model->domains.push_back(std::move(d));
  model->spec = std::move(spec);
  // One state must fit before any is made (the flood grid was sized before it was allocated;
  // this adds every domain's state, the city and the models).
  const RunEstimate est = estimate_run(*model);
  if (const auto budget = static_cast<double>(memory_budget(model->spec.run.max_memory));
      est.memory() > budget) {
    std::string big_name;
    double big_bytes = 0;
    for (const auto& d : model->domains) {
      const Footprint f = d->footprint(model->spec.run);
      if (f.model_bytes + f.state_bytes > big_bytes)
        big_bytes = f.model_bytes + f.state_bytes, big_name = std::string(d->name());
    }
    return fail(Diagnostic::at(
        model->spec.path, 0, big_name,
        fmt::format("the run needs about {} (city {}, models {}, one state {}); {} {}",
                    format_bytes(est.memory()), format_bytes(est.city_bytes),
                    format_bytes(est.model_bytes), format_bytes(est.state_bytes),
                    format_bytes(budget),
                    model->spec.run.max_memory > 0 ? "is allowed (--max-memory)" : "is available"),
        fmt::format("{} needs {}", big_name, format_bytes(big_bytes)),
        "a smaller city.bbox, a coarser grid, less demand or a shorter scenario.duration"));
  }
  return std::shared_ptr<const Model>(std::move(model));
}

RunEstimate estimate_run(const Model& model) {
  RunEstimate e;
  const CityModel& c = *model.city;
  // The city: terrain, building outlines and attributes, road geometry and attributes.
  e.city_bytes = static_cast<double>(c.terrain.z.size()) * sizeof(float) +
                 static_cast<double>(c.buildings.x.size()) * 16 + c.buildings.size() * 80.0 +
                 static_cast<double>(c.roads.point_x.size()) * 20 + c.roads.link_count() * 96.0;
  const RunSpec& run = model.spec.run;
  e.frames = run.duration / std::max<SimTime>(1, model.spec.output.every) + 2;
  // The run file holds the city (its outlines, links and terrain) once.
  e.file_bytes = e.city_bytes;
  for (const auto& d : model.domains) {
    const Footprint f = d->footprint(run);
    e.model_bytes += f.model_bytes;
    e.state_bytes += f.state_bytes;
    e.frame_bytes += f.frame_bytes;
    e.file_bytes += f.static_bytes + static_cast<double>(e.frames) * f.frame_bytes;
  }
  return e;
}

SimState make_state(const Model& model) {
  return make_state(model, model.spec.run.seed);
}

SimState make_state(const Model& model, std::uint64_t seed) {
  SimState s;
  s.seed = seed;
  for (const auto& d : model.domains) s.domains.push_back(d->make_state(seed));
  s.exchange[0].reset(*model.layout);
  s.exchange[1].reset(*model.layout);
  s.coupling = make_coupling_state(*model.coupling, seed);
  // The exchange of t = 0: what the initial states export, and the rules' first word on it.
  CityExchange& x = s.exchange[1];
  for (std::size_t i = 0; i < model.domains.size(); ++i)
    model.domains[i]->publish(*s.domains[i], x);
  apply_coupling(*model.coupling, s.coupling, 0, 0, x);
  s.current = 1;
  return s;
}

void reseed_state(const Model& model, SimState& state, std::uint64_t seed) {
  state.seed = seed;
  for (std::size_t i = 0; i < model.domains.size(); ++i)
    model.domains[i]->reseed(*state.domains[i], seed);
  state.coupling.seed = seed;
}

void inject(SimState& state, EventSpec event) {
  // Sorted by time; equal times keep injection order.
  const auto at =
      std::upper_bound(state.inbox.begin(), state.inbox.end(), event,
                       [](const EventSpec& a, const EventSpec& b) { return a.at < b.at; });
  state.inbox.insert(at, std::move(event));
}

Result<std::optional<double>> observe(const Model& model, const SimState& state,
                                      const DatastreamSpec& ds) {
  for (std::size_t i = 0; i < model.domains.size(); ++i) {
    auto v = model.domains[i]->observe(*state.domains[i], ds);
    if (!v || *v) return v;
  }
  return std::optional<double>();
}

bool assimilate(const Model& model, SimState& state, const DatastreamSpec& ds, double observed,
                double gain) {
  for (std::size_t i = 0; i < model.domains.size(); ++i)
    if (model.domains[i]->assimilate(*state.domains[i], ds, observed, gain)) return true;
  return false;
}

namespace {

void apply(const Model& model, SimState& state, const EventSpec& e) {
  const auto d = static_cast<std::size_t>(e.domain);
  CT_ASSERT(d < model.domains.size(), "an event names a domain of the model");
  if (auto r = model.domains[d]->apply_event(e, *state.domains[d]); !r)
    state.rejected_events.push_back(e.type + " at " + format_duration(e.at) + ": " +
                                    r.error().to_string());
}

}  // namespace

namespace {

// Adds the wall time since the last call to one of the phase counters (when timing).
class PhaseClock {
 public:
  explicit PhaseClock(StepTimes* t) : m_times(t), m_last(t ? Clock::now() : Clock::time_point{}) {}
  void lap(double StepTimes::*phase) {
    if (!m_times) return;
    const auto now = Clock::now();
    m_times->*phase += std::chrono::duration<double>(now - m_last).count();
    m_last = now;
  }

 private:
  using Clock = std::chrono::steady_clock;
  StepTimes* m_times;
  Clock::time_point m_last;
};

}  // namespace

void step(const Model& model, SimState& state, TaskPool& pool, StepTimes* times) {
  const ScenarioSpec& spec = model.spec;
  PhaseClock clock(times);
  // 1. The inbox: events at or before t, the scenario's first (declaration order), then the
  //    injected ones (injection order).
  while (state.next_event < spec.events.size() && spec.events[state.next_event].at <= state.t)
    apply(model, state, spec.events[state.next_event++]);
  std::size_t due = 0;
  while (due < state.inbox.size() && state.inbox[due].at <= state.t)
    apply(model, state, state.inbox[due++]);
  state.inbox.erase(state.inbox.begin(), state.inbox.begin() + static_cast<std::ptrdiff_t>(due));
  clock.lap(&StepTimes::events_s);

  const SimTime dt = std::min(spec.run.step, spec.run.duration - state.t);
  CT_ASSERT(dt > 0, "step() called at or after the end of the run");
  const StepContext ctx{state.t, dt, state.step, state.seed, &pool};
  const auto n = static_cast<std::int64_t>(model.domains.size());
  // 2. consume the exchange of t.
  for (std::size_t i = 0; i < model.domains.size(); ++i)
    model.domains[i]->consume(state.x(), *state.domains[i], ctx);
  clock.lap(&StepTimes::consume_s);
  // 3. Domains read only their own state during a step, so they may run concurrently.
  pool.run_all(n, [&](std::int64_t i) {
    model.domains[static_cast<std::size_t>(i)]->advance(*state.domains[static_cast<std::size_t>(i)],
                                                        ctx);
  });
  clock.lap(&StepTimes::advance_s);
  // 4.-5. publish into the other buffer, the rules complete it, and it becomes current.
  CityExchange& next = state.exchange[1 - state.current];
  for (std::size_t i = 0; i < model.domains.size(); ++i)
    model.domains[i]->publish(*state.domains[i], next);
  clock.lap(&StepTimes::publish_s);
  apply_coupling(*model.coupling, state.coupling, state.t + dt, dt, next);
  clock.lap(&StepTimes::rules_s);
  state.current = 1 - state.current;
  state.t += dt;
  state.step += 1;
}

std::uint64_t hash_state(const Model& model, const SimState& state) {
  StateHasher h;
  h.add(state.t);
  h.add(state.step);
  h.add(state.seed);
  h.add(static_cast<std::uint64_t>(state.next_event));
  h.add(static_cast<std::uint64_t>(state.inbox.size()));
  for (const EventSpec& e : state.inbox) {
    h.add(e.at);
    h.add(e.source);
  }
  for (std::size_t i = 0; i < model.domains.size(); ++i) {
    h.add(model.domains[i]->name());
    state.domains[i]->hash(h);
  }
  StateOut out(h);
  state.x().save(out);
  state.coupling.save(out);
  return h.digest();
}

FrameSnapshot snapshot(const Model& model, const SimState& state) {
  FrameSnapshot f;
  f.t = state.t;
  for (std::size_t i = 0; i < model.domains.size(); ++i)
    model.domains[i]->fill_frame(*state.domains[i], f);
  fill_exchange_frame(*model.layout, state.x(), f);
  return f;
}

Run::Run(std::shared_ptr<const Model> model, int threads)
    : Run(model, threads, model->spec.run.seed) {}

Run::Run(std::shared_ptr<const Model> model, int threads, std::uint64_t seed)
    : m_model(std::move(model)), m_pool(threads), m_state(make_state(*m_model, seed)) {}

Run::Run(std::shared_ptr<const Model> model, int threads, SimState state)
    : m_model(std::move(model)), m_pool(threads), m_state(std::move(state)) {}

void Run::step() {
  citytwin::step(*m_model, m_state, m_pool, &m_times);
  if (m_pacing.factor > 0) keep_pace();
  if (m_observer) m_observer(m_state);
}

void Run::pace(double factor) {
  CT_ASSERT(factor > 0, "a positive pacing factor");
  m_pacing = Pacing{};
  m_pacing.factor = factor;
  m_pacing.lag_s = 0;
  m_pace_t0 = m_state.t;
  m_pace_wall0 = std::chrono::steady_clock::now();
}

// The step that ended at t is due at wall0 + (t - t0) / factor: sleep until then (early), or
// count how far behind it is (late). Observers run after, so their cost shows in the next lag.
void Run::keep_pace() {
  using Clock = std::chrono::steady_clock;
  const std::chrono::duration<double> ahead(to_seconds(m_state.t - m_pace_t0) / m_pacing.factor);
  const Clock::time_point due = m_pace_wall0 + std::chrono::duration_cast<Clock::duration>(ahead);
  if (Clock::now() < due) std::this_thread::sleep_until(due);
  const double behind = std::chrono::duration<double>(Clock::now() - due).count();
  m_pacing.lag_s = std::max(0.0, behind * m_pacing.factor);
  m_pacing.max_lag_s = std::max(m_pacing.max_lag_s, m_pacing.lag_s);
  if (m_pacing.lag_s > to_seconds(m_model->spec.run.step)) ++m_pacing.late_steps;
}

void Run::run_until(SimTime until) {
  const SimTime end = std::min(until, m_model->spec.run.duration);
  while (m_state.t < end) step();
}

}  // namespace citytwin
