// The macro step: events, then every domain over [t, t + dt) as concurrent tasks.
#include <algorithm>

#include "citytwin/frame.hpp"
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

Result<std::shared_ptr<const Model>> compile_model(ScenarioSpec spec,
                                                   std::shared_ptr<const CityModel> city,
                                                   std::span<const DomainEntry> domains) {
  auto model = std::make_shared<Model>();
  model->city = std::move(city);
  for (std::size_t i = 0; i < spec.domain_names.size(); ++i) {
    const auto it = std::find_if(domains.begin(), domains.end(), [&](const DomainEntry& e) {
      return e.info.section == spec.domain_names[i];
    });
    CT_ASSERT(it != domains.end(), "the spec was loaded with the same domain list");
    auto d = it->compile(*spec.domains[i], spec, *model->city);
    if (!d) return fail(d.error());
    model->domains.push_back(std::move(*d));
  }
  model->spec = std::move(spec);
  return std::shared_ptr<const Model>(std::move(model));
}

SimState make_state(const Model& model) {
  SimState s;
  for (const auto& d : model.domains) s.domains.push_back(d->make_state());
  return s;
}

void step(const Model& model, SimState& state, TaskPool& pool) {
  const ScenarioSpec& spec = model.spec;
  // Events declared at or before t apply at the start of the step that begins at t; equal
  // times keep their declaration order (the list is sorted stably).
  while (state.next_event < spec.events.size() && spec.events[state.next_event].at <= state.t) {
    const EventSpec& e = spec.events[state.next_event++];
    model.domains[static_cast<std::size_t>(e.domain)]->apply_event(
        e, *state.domains[static_cast<std::size_t>(e.domain)]);
  }
  const SimTime dt = std::min(spec.run.step, spec.run.duration - state.t);
  CT_ASSERT(dt > 0, "step() called at or after the end of the run");
  const StepContext ctx{state.t, dt, state.step, spec.run.seed, &pool};
  // Domains read only their own state during a step, so they may run concurrently.
  pool.run_all(static_cast<std::int64_t>(model.domains.size()), [&](std::int64_t i) {
    model.domains[static_cast<std::size_t>(i)]->advance(*state.domains[static_cast<std::size_t>(i)],
                                                        ctx);
  });
  state.t += dt;
  state.step += 1;
}

std::uint64_t hash_state(const Model& model, const SimState& state) {
  StateHasher h;
  h.add(state.t);
  h.add(state.step);
  h.add(static_cast<std::uint64_t>(state.next_event));
  for (std::size_t i = 0; i < model.domains.size(); ++i) {
    h.add(model.domains[i]->name());
    state.domains[i]->hash(h);
  }
  return h.digest();
}

FrameSnapshot snapshot(const Model& model, const SimState& state) {
  FrameSnapshot f;
  f.t = state.t;
  for (std::size_t i = 0; i < model.domains.size(); ++i)
    model.domains[i]->fill_frame(*state.domains[i], f);
  return f;
}

}  // namespace citytwin
