// Observations into the state (docs/live.md "Assimilation"): held until the macro step their
// time falls in, then applied in (time, arrival) order -- a status as the corresponding event,
// other kinds through the domain that simulates them -- with the misfit before and after.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "citytwin/live.hpp"

namespace citytwin::live {

double Assimilator::Fit::rmse_before() const {
  return n > 0 ? std::sqrt(sum_sq_before / static_cast<double>(n))
               : std::numeric_limits<double>::quiet_NaN();
}
double Assimilator::Fit::rmse_after() const {
  return n > 0 ? std::sqrt(sum_sq_after / static_cast<double>(n))
               : std::numeric_limits<double>::quiet_NaN();
}

Assimilator::Assimilator(const ScenarioSpec& spec)
    : m_spec(&spec),
      m_fit(spec.live.datastreams.size()),
      m_warned(spec.live.datastreams.size(), 0) {}

void Assimilator::hold(const Observation& o) {
  m_held.push_back({o, m_arrivals++});
  std::push_heap(m_held.begin(), m_held.end(), Later{});
}

std::optional<std::string> Assimilator::status_event(const DatastreamSpec& ds, double value) const {
  // The event that puts the element in the observed state (docs/live.md "Assimilation").
  const bool on = value != 0;
  if (const auto link = entity_index(ds.entity, "link"))
    return fmt::format("type = \"traffic.{}\"\nedges = [\"{}\"]\n", on ? "reopen" : "close", *link);
  if (const auto branch = entity_index(ds.entity, "branch"))
    return fmt::format("type = \"power.{}\"\nbranch = {}\n", on ? "restore_branch" : "trip_branch",
                       *branch);
  if (const auto sub = entity_index(ds.entity, "substation"))
    return fmt::format("type = \"power.{}\"\nsubstation = {}\n",
                       on ? "substation_in" : "substation_out", *sub);
  return std::nullopt;
}

std::vector<Observation> Assimilator::apply_due(Run& run, SimTime until) {
  std::vector<Observation> out;
  while (!m_held.empty() && m_held.front().obs.phenomenon < until) {
    std::pop_heap(m_held.begin(), m_held.end(), Later{});
    out.push_back(m_held.back().obs);
    m_held.pop_back();
  }
  const SimTime now = run.state().t;
  for (Observation& o : out) {
    const auto d = static_cast<std::size_t>(o.datastream);
    const DatastreamSpec& ds = m_spec->live.datastreams[d];
    o.use = static_cast<std::uint8_t>(Use::recorded);  // a journal's replay says it again
    if (ds.kind == SensorKind::status) {
      const auto event = status_event(ds, o.value);
      auto events = event ? parse_events(run.model(),
                                         fmt::format("[[event]]\nat = \"{}ms\"\n{}", now, *event),
                                         fmt::format("datastream {}", ds.id))
                          : Result<std::vector<EventSpec>>(std::vector<EventSpec>());
      if (events && !events->empty()) {
        for (EventSpec& e : *events) run.inject(std::move(e));
        o.use = static_cast<std::uint8_t>(Use::switched);
      } else if (!m_warned[d]++) {
        spdlog::warn(
            "live: datastream \"{}\": entity \"{}\" is no road link (link:<i>), branch "
            "(branch:<i>) or substation (substation:<i>) this run switches{}; its "
            "observations are recorded only",
            ds.id, ds.entity, events ? "" : ": " + events.error().to_string());
      }
      continue;
    }
    const auto before = observe(run.model(), run.state(), ds);
    if (!before || !*before) {
      if (!m_warned[d]++)
        spdlog::warn("live: datastream \"{}\" ({}): {}; its observations are recorded only", ds.id,
                     sensor_kind_name(ds.kind),
                     before ? "no domain of this run simulates it" : before.error().to_string());
      continue;
    }
    const double simulated_before = **before / ds.unit_si;
    if (run.assimilate(ds, o.value * ds.unit_si, m_spec->live.gain))
      o.use = static_cast<std::uint8_t>(Use::assimilated);
    const auto after = observe(run.model(), run.state(), ds);
    const double simulated_after = after && *after ? **after / ds.unit_si : simulated_before;
    Fit& f = m_fit[d];
    ++f.n;
    f.sum_sq_before += (o.value - simulated_before) * (o.value - simulated_before);
    f.sum_sq_after += (o.value - simulated_after) * (o.value - simulated_after);
  }
  return out;
}

std::vector<Observation> Assimilator::take_rest() {
  std::sort(m_held.begin(), m_held.end(),
            [](const Held& a, const Held& b) { return Later{}(b, a); });
  std::vector<Observation> rest;
  rest.reserve(m_held.size());
  for (const Held& h : m_held) rest.push_back(h.obs);
  m_held.clear();
  return rest;
}

std::vector<double> Assimilator::readings(const Run& run) const {
  std::vector<double> r;
  for (const DatastreamSpec& ds : m_spec->live.datastreams) {
    const auto v = observe(run.model(), run.state(), ds);
    r.push_back(v && *v ? **v / ds.unit_si : std::numeric_limits<double>::quiet_NaN());
  }
  return r;
}

}  // namespace citytwin::live
