// Private to power/: the parts of the power domain shared by the files that implement it. The
// state a run carries (PowerState, with its cascade log and the reasons it records) and the
// PowerDomain that runs the grid (power_domain.cpp: state, events, exchange hooks, time loop and
// protection; power_domain_compile.cpp: construction and compile_power;
// power_domain_outputs.cpp: what it writes and shows). The [power] section is power_spec.hpp.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "citytwin/city_grid.hpp"
#include "citytwin/frame.hpp"
#include "citytwin/power.hpp"
#include "citytwin/sim.hpp"
#include "power/power_spec.hpp"

namespace citytwin::power {

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
              const std::vector<std::uint8_t>& residential);

  std::string_view name() const override { return "power"; }

  // power_domain.cpp: state, events, exchange hooks, time loop.
  Footprint footprint(const RunSpec& run) const override;
  void restored(DomainState& state) const override;
  std::unique_ptr<DomainState> make_state(std::uint64_t seed) const override;
  Result<std::optional<double>> observe(const DomainState& state,
                                        const DatastreamSpec& ds) const override;
  bool assimilate(DomainState& state, const DatastreamSpec& ds, double observed,
                  double gain) const override;
  Result<void> apply_event(const EventSpec& e, DomainState& state) const override;
  /// Whether an event names a branch or substation of this grid (compile time and at apply).
  Result<void> check_event(const EventSpec& e) const;
  void switch_element(PowerState& s, std::int32_t element, bool in_service, SimTime t,
                      Reason reason) const;
  void declare(ExchangeLayout& l) const override;
  void consume(const CityExchange& x, DomainState& state, const StepContext& ctx) const override;
  void publish(const DomainState& state, CityExchange& x) const override;
  void advance(DomainState& state, const StepContext& ctx) const override;

  // power_domain_outputs.cpp.
  void write_static(RunWriter& out) const override;
  void write_frame(const DomainState& state, RunWriter& out) const override;
  void write_final(const DomainState& state, RunWriter& out,
                   std::vector<SummaryRow>& summary) const override;
  void fill_frame(const DomainState& state, FrameSnapshot& f) const override;

 private:
  // power_domain.cpp: loads, power flows, protection.
  double trip_time_s(double loading) const;
  double bus_demand(const PowerState& s, std::int32_t b, double fr, double fc) const;
  Result<std::int32_t> metered_substation(const DatastreamSpec& ds) const;
  std::pair<double, double> profile(SimTime t) const;
  void set_loads(PowerState& s, SimTime t) const;
  bool solve(PowerState& s, TaskPool* pool) const;
  void check(PowerState& s, SimTime t, TaskPool* pool) const;
  void account(PowerState& s) const;
  // power_domain_outputs.cpp.
  std::string fmt_grid() const;

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
  // Per substation, the buses it feeds, ascending: what a meter at it reads and scales.
  std::vector<std::vector<std::int32_t>> m_substation_buses = substation_buses();
  // What the viewer draws the grid with (as /power static data); built after the members above.
  std::shared_ptr<const PowerLayout> m_layout = make_layout();

  // power_domain_compile.cpp.
  std::vector<std::vector<std::int32_t>> make_elements() const;
  std::vector<std::int32_t> element_buses() const;
  std::vector<std::vector<std::int32_t>> substation_buses() const;
  std::shared_ptr<const PowerLayout> make_layout() const;
};

}  // namespace citytwin::power
