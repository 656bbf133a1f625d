// Private to flood/: the flood domain the run loop drives (FloodDomain) and its state, shared by
// the files that implement it: compile.cpp builds it, domain.cpp makes and advances its state
// (events, exchange hooks, time loop), outputs.cpp writes what it computed.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "citytwin/flood.hpp"
#include "citytwin/sim.hpp"
#include "flood/domain.hpp"
#include "flood/probes.hpp"

namespace citytwin::flood {

/// The active cells a breach lowers: those its line crosses and, with a width, those whose
/// centres lie within width / 2 of it (unpadded indices, sorted, unique).
std::vector<std::int32_t> breach_cells(const Grid& g, const BreachEvent& b);

struct GaugeRow {
  double t;
  std::int32_t gauge;
  float depth, level, speed;
};

// Cells the compiler changed, reported in the summary and /flood attributes.
struct CellCounts {
  std::int64_t building = 0;     ///< footprint cells (walls or raised)
  std::int64_t road_opened = 0;  ///< footprint cells a road crosses, left open
  std::int64_t offshore = 0;     ///< sea cells far from land, outside the model
  std::int64_t raised = 0;       ///< cells raised by flood.fill_depressions
  std::int64_t enclosed = 0;     ///< pockets closed by footprints, made inactive
};

struct FloodDomainState : DomainState {
  FloodState fs;
  std::vector<float> max_depth, max_speed, arrival_s, max_hazard;  // (ny * nx)
  std::vector<GaugeRow> gauge_log;                                 // per macro step and gauge
  std::vector<std::pair<double, Balance>> balance_log;             // per macro step
  struct Breach {
    std::vector<std::size_t> cells;  // padded indices
    std::vector<real> z0;            // bed before the breach
    double level = 0, t0 = 0, duration = 0;
  };
  std::vector<Breach> breaches;
  std::vector<float> pump_rate;  // (n_pumps) m3/s the drainage array holds now
  // Persistent fields (state_io.hpp). The breached bed (fs.bed) is not one: it follows from
  // `breaches` and the clock, and is rebuilt after a load (FloodDomain::restored). Solver
  // scratch (b*, fx, fy, recon, the per-tile partials) is rebuilt by every step before it is
  // read.
  template <class A, class S>
  static void fields(A& a, S& s) {
    a.field("t", s.fs.t);
    a.field("dt_next", s.fs.dt_next);
    a.field("steps", s.fs.steps);
    a.field("cell_updates", s.fs.cell_updates);
    a.field("h", s.fs.h);
    a.field("qx", s.fs.qx);
    a.field("qy", s.fs.qy);
    balance_fields(a, s.fs.balance);
    a.field("drain_mps", s.fs.drain_mps);
    a.field("rain_factor", s.fs.rain_factor);
    a.field("active_tiles", s.fs.active_tiles);
    a.field("tile_on", s.fs.tile_on);
    a.field("tile_wet", s.fs.tile_wet);
    a.field("tile_live", s.fs.tile_live);
    a.field("clamp_events", s.fs.clamp_events);
    a.field("stalls", s.fs.stalls);
    a.field("max_depth", s.max_depth);
    a.field("max_speed", s.max_speed);
    a.field("arrival_s", s.arrival_s);
    a.field("max_hazard", s.max_hazard);
    a.each("gauge_log", s.gauge_log, [](A& b, auto& r) {
      b.field("t", r.t);
      b.field("gauge", r.gauge);
      b.field("depth", r.depth);
      b.field("level", r.level);
      b.field("speed", r.speed);
    });
    a.each("balance_log", s.balance_log, [](A& b, auto& r) {
      b.field("t", r.first);
      balance_fields(b, r.second);
    });
    a.each("breaches", s.breaches, [](A& b, auto& r) {
      b.field("cells", r.cells);
      b.field("z0", r.z0);
      b.field("level", r.level);
      b.field("t0", r.t0);
      b.field("duration", r.duration);
    });
    a.field("pump_rate", s.pump_rate);
  }
  template <class A, class B>
  static void balance_fields(A& a, B& b) {
    a.field("balance.initial", b.initial);
    a.field("balance.stored", b.stored);
    a.field("balance.rain", b.rain);
    a.field("balance.inflow", b.inflow);
    a.field("balance.outflow", b.outflow);
    a.field("balance.losses", b.losses);
    a.field("balance.drained", b.drained);
    a.field("balance.clamped", b.clamped);
    a.field("balance.assimilated", b.assimilated);
  }
  void save(StateOut& out) const override { fields(out, *this); }
  void load(StateIn& in) override { fields(in, *this); }
};

/// Flood in the viewer's frame: the water raster from the bed (NaN on walls and nodata) and
/// depth of the flood grid (row 0 south, `dx` square cells); surface = bed + depth where
/// depth > 0, NaN elsewhere; HUD figures flooded area and max depth. The live domain and the
/// replay both call it.
void fill_flood_frame(int nx, int ny, double x0, double y0, double dx, std::span<const float> bed,
                      std::vector<float> depth, FrameSnapshot& f);
/// Replay of /flood (null when the run file has no flood frames).
Result<std::unique_ptr<const DomainReplay>> open_flood_replay(const RunReader& r,
                                                              const std::string& file);

/// What an nx x ny flood grid needs (one owner of the flood's per-cell sizes: compile_flood
/// sizes a planned grid with it before allocating anything; FloodDomain::footprint reports the
/// compiled one).
Footprint grid_footprint(double nx, double ny, bool drainage, std::size_t gauges,
                         const RunSpec& run);
/// The volume balance and gauge rows a state logs per macro step, over the whole run.
double step_log_bytes(std::size_t gauges, const RunSpec& run);

class FloodDomain : public Domain {
 public:
  FloodDomain(FloodModel m, const FloodSpec& spec, const CityModel& city, std::vector<Lake> lakes,
              std::vector<std::int32_t> gauge_cells, std::vector<std::string> gauge_names,
              CellCounts counts);

  std::string_view name() const override { return "flood"; }

  // domain.cpp: state, events, exchange hooks, time loop.
  std::unique_ptr<DomainState> make_state(std::uint64_t seed) const override;
  Result<void> apply_event(const EventSpec& e, DomainState& state) const override;
  Footprint footprint(const RunSpec& run) const override;
  std::vector<Diagnostic> warnings() const override { return m_warnings; }
  void add_warning(Diagnostic d) { m_warnings.push_back(std::move(d)); }
  /// Initial depths (padded, m; empty: dry) every state starts with, under lakes and the sea.
  void set_initial_depth(std::vector<real> h) { m_initial_h = std::move(h); }
  void declare(ExchangeLayout& l) const override { l.flood = true; }
  Result<void> bind(const ExchangeLayout& l) override;
  void consume(const CityExchange& x, DomainState& state, const StepContext&) const override;
  void publish(const DomainState& state, CityExchange& x) const override;
  static void lower_beds(FloodDomainState& s, double t);
  void advance(DomainState& state, const StepContext& ctx) const override;
  void restored(DomainState& state) const override;
  /// Gauges (water_depth, water_level at `at`): the cell under them; assimilated by nudging
  /// the depths within the datastream's radius (nudge_depth). Rain gauges (rain_intensity):
  /// the rain on their cell; assimilated by scaling the rain field (FloodState::rain_factor).
  Result<std::optional<double>> observe(const DomainState& state,
                                        const DatastreamSpec& ds) const override;
  bool assimilate(DomainState& state, const DatastreamSpec& ds, double observed,
                  double gain) const override;

  // outputs.cpp.
  void write_static(RunWriter& out) const override;
  void write_frame(const DomainState& state, RunWriter& out) const override;
  void write_final(const DomainState& state, RunWriter& out,
                   std::vector<SummaryRow>& summary) const override;
  void fill_frame(const DomainState& state, FrameSnapshot& f) const override;

 private:
  // domain.cpp.
  void track_maxima(FloodDomainState& s, double t, TaskPool& pool) const;
  void track_row(FloodDomainState& s, int j, int i0, int i1, double t, float wet, float h_dry,
                 bool centred, std::size_t sx) const;

  // outputs.cpp.
  template <class F>
  std::vector<float> interior(F value) const;
  std::vector<float> padded(const std::vector<float>& v) const;
  bool write_gauges_csv(const std::string& path, const FloodDomainState& s) const;
  static bool write_balance_csv(const std::string& path, const FloodDomainState& s);
  static bool write_mass(const std::string& path, const FloodDomainState& s);
  bool write_stage(const std::string& path, const FloodDomainState& s) const;

  FloodModel m_model;
  FloodSpec m_spec;
  const CityModel& m_city;
  std::vector<Lake> m_lakes;
  std::vector<real> m_initial_h;
  std::vector<std::int32_t> m_gauge_cells;
  std::vector<std::string> m_gauge_names;
  CellCounts m_counts;
  std::vector<Diagnostic> m_warnings;
  Probes m_building_probes, m_link_probes;
  std::vector<std::int64_t> m_element_cells;  // (n_elements) padded index, -1 none (bind)
  std::vector<std::size_t> m_pump_cells;      // (n_pumps) padded index (bind)
};

}  // namespace citytwin::flood
