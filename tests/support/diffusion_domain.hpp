// A small test domain that exercises everything the run loop offers a domain: a parsed
// section, events, parallel blocks, counter-based random numbers, a deterministic reduction,
// outputs. It diffuses a field over the city's terrain grid (explicit FTCS scheme) with random
// sources. Used by the sim unit tests and the determinism tests.
#pragma once

#include <cmath>

#include "citytwin/io.hpp"
#include "citytwin/rng.hpp"
#include "citytwin/sim.hpp"

namespace citytwin::testing {

struct DiffusionSpec : DomainSpec {
  double kappa = 0.2;  // dimensionless diffusion number per inner step (stable below 0.25)
  double noise = 0.01;
};

struct PulseEvent : EventPayload {
  std::int64_t cell = 0;
  double amount = 0;
};

struct DiffusionState : DomainState {
  std::vector<double> u, scratch;  // (n_cells)
  std::vector<double> event_log;   // (time_s, cell, amount) per applied event
  double mass = 0;
  template <class A, class S>
  static void fields(A& a, S& s) {
    a.field("u", s.u);
    a.field("event_log", s.event_log);
    a.field("mass", s.mass);
  }
  void save(StateOut& out) const override { fields(out, *this); }
  void load(StateIn& in) override { fields(in, *this); }
};

class DiffusionDomain : public Domain {
 public:
  DiffusionDomain(const DiffusionSpec& spec, const Terrain& t)
      : m_spec(spec), m_nx(t.nx), m_ny(t.ny), m_z(t.z) {}
  std::string_view name() const override { return "diffuse"; }
  Footprint footprint(const RunSpec& /*run*/) const override {
    const double n = static_cast<double>(m_z.size());
    return {n * sizeof(float), 2 * n * sizeof(double), 0, n * sizeof(double)};
  }
  std::unique_ptr<DomainState> make_state(std::uint64_t /*seed*/) const override {
    auto s = std::make_unique<DiffusionState>();
    s->u.resize(m_z.size());
    for (std::size_t k = 0; k < m_z.size(); ++k) s->u[k] = std::isnan(m_z[k]) ? 0.0 : m_z[k];
    s->scratch = s->u;
    return s;
  }
  Result<void> apply_event(const EventSpec& e, DomainState& state) const override {
    auto& s = static_cast<DiffusionState&>(state);
    const auto& p = static_cast<const PulseEvent&>(*e.payload);
    if (p.cell < 0 || p.cell >= static_cast<std::int64_t>(s.u.size()))
      return fail(Diagnostic::at(e.where, 0, "cell", "no such cell", std::to_string(p.cell),
                                 "an index below " + std::to_string(s.u.size())));
    s.u[static_cast<std::size_t>(p.cell)] += p.amount;
    s.event_log.insert(s.event_log.end(),
                       {to_seconds(e.at), static_cast<double>(p.cell), p.amount});
    return {};
  }
  void advance(DomainState& state, const StepContext& ctx) const override {
    auto& s = static_cast<DiffusionState&>(state);
    const std::int64_t n = static_cast<std::int64_t>(s.u.size());
    ctx.pool->for_blocks(n, 7, [&](std::int64_t b, std::int64_t e, int) {
      for (std::int64_t k = b; k < e; ++k) {
        const int i = static_cast<int>(k % m_nx), j = static_cast<int>(k / m_nx);
        auto at = [&](int ii, int jj) {
          ii = std::clamp(ii, 0, m_nx - 1), jj = std::clamp(jj, 0, m_ny - 1);
          return s.u[static_cast<std::size_t>(jj) * m_nx + ii];
        };
        const double lap = at(i - 1, j) + at(i + 1, j) + at(i, j - 1) + at(i, j + 1) - 4 * s.u[k];
        const Rng rng(ctx.seed, RngStream::test, static_cast<std::uint64_t>(k),
                      static_cast<std::uint64_t>(ctx.step));
        s.scratch[k] = s.u[k] + m_spec.kappa * lap + m_spec.noise * rng.normal(0);
      }
    });
    s.u.swap(s.scratch);
    s.mass = reduce_blocks(
        *ctx.pool, n, 5, 0.0,
        [&](std::int64_t b, std::int64_t e) {
          double m = 0;
          for (std::int64_t k = b; k < e; ++k) m += s.u[k];
          return m;
        },
        [](double a, double b) { return a + b; });
  }
  void write_static(RunWriter& out) const override { out.attr("/diffuse", "kappa", m_spec.kappa); }
  void write_frame(const DomainState& state, RunWriter& out) const override {
    out.append<double>("/diffuse/mass", static_cast<const DiffusionState&>(state).mass,
                       {"1", "field total"});
  }
  void write_final(const DomainState& state, RunWriter&,
                   std::vector<SummaryRow>& summary) const override {
    summary.push_back(
        {"diffuse", "mass", std::to_string(static_cast<const DiffusionState&>(state).mass)});
  }

 private:
  DiffusionSpec m_spec;
  int m_nx, m_ny;
  std::vector<float> m_z;
};

inline std::shared_ptr<const DomainSpec> parse_diffusion(SectionReader& s, const ScenarioSpec&) {
  auto spec = std::make_shared<DiffusionSpec>();
  spec->kappa = s.number_or("kappa", spec->kappa, 0.0, 0.25);
  spec->noise = s.number_or("noise", spec->noise, 0.0);
  return spec;
}

inline std::shared_ptr<const EventPayload> parse_pulse(std::string_view action, SectionReader& ev) {
  if (action != "pulse") return nullptr;
  auto e = std::make_shared<PulseEvent>();
  e->cell = ev.integer_or("cell", 0, 0);
  e->amount = ev.number_or("amount", 0.0);
  return e;
}

inline Result<std::unique_ptr<Domain>> compile_diffusion(const DomainSpec& spec,
                                                         const ScenarioSpec&,
                                                         const CityModel& city) {
  return std::unique_ptr<Domain>(
      std::make_unique<DiffusionDomain>(static_cast<const DiffusionSpec&>(spec), city.terrain));
}

inline const DomainEntry k_diffusion_entry{{"diffuse", parse_diffusion, parse_pulse},
                                           compile_diffusion};

/// Loads a scenario text (written to a temporary file next to nothing) with the test domain
/// and compiles it over tests/data/city/tiny.asc or a given DEM.
inline Result<std::shared_ptr<const Model>> diffusion_model(const std::string& body) {
  const std::string text = "[city]\ndem = \"" + std::string(CITYTWIN_SOURCE_DIR) +
                           "/tests/data/city/tiny.asc\"\n" + body;
  const DomainInfo infos[] = {k_diffusion_entry.info};
  auto spec = parse_scenario(text, "test.toml", infos);
  if (!spec) return fail(spec.error());
  auto city = import_city(spec->city);
  if (!city) return fail(city.error());
  return compile_model(std::move(*spec), *city,
                       std::span<const DomainEntry>(&k_diffusion_entry, 1));
}

}  // namespace citytwin::testing
