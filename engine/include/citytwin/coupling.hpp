// Coupling rules (DESIGN.md "Coupling: the city exchange"): the only place where one domain's
// exports become another's inputs. Each rule is one file in engine/src/coupling/, a function
// of the compiled CouplingModel (index maps and parameters), the exchange the domains just
// published, and the CouplingState (hysteresis, timers, fragility draws); it writes the inputs
// of the next step into the same exchange buffer and appends every change to the log.
//
// Rules, in their fixed order:
//   flood_roads    link depth -> speed factor (depth-disruption curve) and closure (hysteresis)
//   flood_power    element depth -> out of service (threshold or lognormal fragility), back
//                  after a repair time once dry; flooded buildings disconnected (optional)
//   power_signals  signal's LV bus dark -> battery -> dark signal (all-way stop)
//   power_pumps    pump's bus dark -> pump stops
//   ev_charging    arrivals -> charging load at the destination building (optional)
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "citytwin/city.hpp"
#include "citytwin/error.hpp"
#include "citytwin/exchange.hpp"
#include "citytwin/hash.hpp"
#include "citytwin/spec.hpp"
#include "citytwin/time.hpp"

namespace citytwin {

class DomainReplay;
class RunReader;
class RunWriter;
struct FrameSnapshot;
struct SummaryRow;

enum class CouplingRule : std::uint8_t {
  flood_roads = 0,
  flood_power = 1,
  flood_buildings = 2,
  power_signals = 3,
  power_pumps = 4,
  ev_charging = 5
};
const char* to_string(CouplingRule r);

/// What an index in the log names.
enum class CouplingEntity : std::uint8_t {
  link = 0,
  element = 1,
  building = 2,
  signal = 3,
  bus = 4,
  pump = 5
};

/// One change a rule made.
struct CouplingLogRow {
  SimTime t;
  CouplingRule rule;
  CouplingEntity source_kind;
  std::int32_t source;
  float source_value;  ///< depth (m), 0/1 for bus state, arrivals
  CouplingEntity target_kind;
  std::int32_t target;
  float new_state;  ///< speed factor, 0/1 in service / powered / closed, load (W)
};

/// The compiled rules: parameters and the index maps built once from the layout and the city.
struct CouplingModel {
  CouplingSpec spec;
  std::shared_ptr<const ExchangeLayout> layout;
  std::vector<float> link_limit_kmh;          ///< (n_links) speed limit of each road link
  std::vector<std::int32_t> signal_bus;       ///< (n_signals) nearest LV bus, -1 none
  std::vector<std::int32_t> pump_bus;         ///< (n_pumps) nearest bus, -1 none
  std::vector<std::string> link_names;        ///< (n_links) "way <id> <name>" for the CSV log
  std::vector<std::int64_t> signal_osm_node;  ///< (n_signals)

  bool any() const {
    return spec.flood_roads.on || spec.flood_power.on || spec.signals.on || spec.pumps_on ||
           spec.ev.on;
  }
  /// Speed factor of a link at depth d (m), 0 when the curve closes it.
  float speed_factor(std::int32_t link, double depth_m) const;
};

/// Compiles the rules for a layout (which the domains filled). Errors name the scenario key.
Result<std::unique_ptr<const CouplingModel>> compile_coupling(
    const CouplingSpec& spec, std::shared_ptr<const ExchangeLayout> layout, const CityModel& city);

/// Everything the rules remember between steps.
struct CouplingState {
  std::uint64_t seed = 0;
  std::vector<std::uint8_t> link_closed;     ///< (n_links) the rule's current decision
  std::vector<float> link_factor;            ///< (n_links)
  std::vector<float> element_capacity_m;     ///< (n_elements) depth it fails at (drawn once)
  std::vector<std::uint8_t> element_failed;  ///< (n_elements)
  std::vector<SimTime> element_dry_since;    ///< (n_elements) -1 while wet or never failed
  std::vector<std::uint8_t> building_cut;    ///< (n_buildings)
  std::vector<std::uint8_t> signal_dark;     ///< (n_signals)
  std::vector<std::uint8_t> pump_on;         ///< (n_pumps)
  struct Session {
    SimTime end;
    std::int32_t building;
  };
  std::vector<Session> ev_sessions;  ///< charging now, by end time then building
  std::int64_t ev_sessions_started = 0;
  std::vector<float> ev_load_w;  ///< (n_buildings) charging load now

  // Accumulated over the run (summary and KPIs).
  double link_hours_closed = 0, customer_hours_unpowered = 0, signal_hours_dark = 0,
         pump_hours_lost = 0;
  std::int64_t links_closed_total = 0, elements_failed_total = 0, signals_dark_total = 0;
  std::int32_t max_customers_unpowered = 0;

  std::vector<CouplingLogRow> log;

  /// Every field (state_io.hpp): the state hash and checkpoints.
  void save(StateOut& out) const;
  void load(StateIn& in);
};

CouplingState make_coupling_state(const CouplingModel& m, std::uint64_t seed);

/// Runs every rule at time t (the end of the step just taken, `dt` long) over the exchange the
/// domains just published, writing the inputs of the next step into it.
void apply_coupling(const CouplingModel& m, CouplingState& s, SimTime t, SimTime dt,
                    CityExchange& x);

/// The run file: /coupling static data (what each index names) once; /exchange series (link
/// speed factor and closure, elements in service, signals powered, building depth and power)
/// at every frame; the log and summary at the end, with coupling_log.csv beside the file.
void write_coupling_static(const CouplingModel& m, RunWriter& out);
void write_coupling_frame(const CouplingModel& m, const CityExchange& x, RunWriter& out);
void write_coupling_final(const CouplingModel& m, const CouplingState& s, RunWriter& out,
                          std::vector<SummaryRow>& summary);

/// The viewer's part of the exchange: building depth (with a flood) and the HUD's flooded
/// buildings, the links' flood speed factor, signals and their power, elements in service.
void fill_exchange_frame(const ExchangeLayout& layout, const CityExchange& x, FrameSnapshot& f);
/// Replay of the /exchange rows (null when the file has none).
Result<std::unique_ptr<const DomainReplay>> open_exchange_replay(const RunReader& r,
                                                                 const std::string& file);

}  // namespace citytwin
