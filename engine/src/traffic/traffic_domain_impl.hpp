// Private to traffic/: the parts of the traffic domain shared by the files that implement it.
// The [traffic] section typed and its events (traffic_domain_spec.cpp parses them), what
// compile_traffic builds (traffic_domain_compile.cpp), and the TrafficDomain with its state
// (traffic_domain.cpp: state, events, exchange hooks, time loop; traffic_domain_outputs.cpp:
// what it writes and shows).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "citytwin/demand.hpp"
#include "citytwin/frame.hpp"
#include "citytwin/sim.hpp"
#include "citytwin/traffic.hpp"
#include "traffic/state_fields.hpp"
#include "traffic/traffic_domain.hpp"

namespace citytwin::traffic {

// A detector declared in the scenario ([[traffic.detector]]): on an edge (one lane or all) at
// a position, or at the road lane nearest to a point.
struct DetectorDecl {
  std::string name, edge;
  std::optional<Point2> at;
  std::int64_t lane = -1;     // lane index within the edge (0 = rightmost); -1 = every lane
  std::optional<double> pos;  // m from the lane start, negative from its end; none = middle
  std::string where;
};

struct TrafficSpec : DomainSpec {
  bool city = false;  // network = "city"
  TripParams demand;  // [traffic.demand], network = "city"
  std::string net_file;
  std::vector<std::string> route_files, additional_files;
  std::vector<DetectorDecl> detectors;
  Params params;
  bool tripinfo = false;  // traffic.tripinfo: write SUMO's tripinfo.xml
};

// A traffic datastream (docs/live.md): the detectors its observations are counted at.
struct TrafficSensor {
  std::string id;                  // the datastream's
  std::vector<std::int32_t> dets;  // detectors (TrafficState order)
  SimTime period = 60'000;         // the interval a count or mean speed covers
  std::int32_t calibrator = -1;    // traffic_count: its calibrator (Demand::calibrators)
  std::int32_t edge = -1;          // the detectors' edge
};

struct TrafficDomainState : DomainState {
  TrafficState ts;
  std::vector<EdgeInterval> intervals;       // closed statistics intervals
  std::vector<DetectorInterval> detections;  // the same intervals for the detectors
  SimTime interval_begin = 0;
  SimTime step_begin = 0;  // start of the last macro step (arrivals since then are published)
  // The coupling inputs applied so far (consume applies only changes).
  std::vector<std::uint8_t> applied_closed, applied_dark;  // (n_links), (n_signals)
  std::vector<float> applied_factor;                       // (n_links)
  std::int64_t flood_reroutes = 0;  // vehicles queued for re-routing by flood closures
  // The sensors' passings after each step (a ring over the longest period): per slot the time
  // and, per sensor, the vehicles that passed its detectors since t = 0 and their speed sum.
  std::vector<SimTime> hist_time;
  std::vector<std::int64_t> hist_count;  // (slots * n_sensors)
  std::vector<double> hist_speed;
  std::int32_t hist_head = 0;  // the next slot written

  template <class A, class S>
  static void fields(A& a, S& s) {
    state_fields(a, s.ts);
    a.each("intervals", s.intervals, [](A& b, auto& e) {
      b.field("begin_s", e.begin_s);
      b.field("end_s", e.end_s);
      b.field("entered", e.entered);
      b.field("mean_speed", e.mean_speed);
      b.field("veh_seconds", e.veh_seconds);
    });
    a.each("detections", s.detections, [](A& b, auto& e) {
      b.field("begin_s", e.begin_s);
      b.field("end_s", e.end_s);
      b.field("count", e.count);
      b.field("occupancy", e.occupancy);
      b.field("mean_speed", e.mean_speed);
    });
    a.field("interval_begin", s.interval_begin);
    a.field("step_begin", s.step_begin);
    a.field("applied_closed", s.applied_closed);
    a.field("applied_dark", s.applied_dark);
    a.field("applied_factor", s.applied_factor);
    a.field("flood_reroutes", s.flood_reroutes);
    a.field("hist_time", s.hist_time);
    a.field("hist_count", s.hist_count);
    a.field("hist_speed", s.hist_speed);
    a.field("hist_head", s.hist_head);
  }
  void save(StateOut& out) const override { fields(out, *this); }
  void load(StateIn& in) override { fields(in, *this); }
};

// Edge events: the edges are named by id, or chosen by an area (polygon or bbox, model CRS);
// compile_traffic resolves them to indices.
struct EdgeEvent : EventPayload {
  enum class Kind : std::uint8_t { close, reopen, speed } kind = Kind::close;
  std::vector<std::string> ids;
  std::vector<Point2> polygon;
  std::vector<double> bbox;  // xmin, ymin, xmax, ymax, or empty
  double speed_mps = 0;
};
struct SignalEvent : EventPayload {
  std::string id;
  bool dark = true;
};
struct DemandScaleEvent : EventPayload {
  double factor = 1.0;
  SimTime until = -1;  // < 0: the end of the run
};

// Everything compile_traffic builds.
struct Compiled {
  Network net;
  Demand demand;
  LaneGeometry geom;
  std::string source;
  bool city = false;                               // edges are the city's road links
  std::vector<std::int32_t> veh_dest_building;     // (n_vehicles) city demand, -1 unknown
  std::map<std::string, std::int32_t> dest_by_id;  // city trips: vehicle id -> destination
  std::vector<DetectorSpec> detectors;
  std::vector<TrafficSensor> sensors;   // the traffic datastreams
  std::vector<std::int32_t> sensor_of;  // per datastream (DatastreamSpec::index): its sensor, or -1
  std::vector<std::pair<std::string, std::string>> notes;  // extra summary rows
  std::vector<Diagnostic> warnings;                        // Domain::warnings
  bool tripinfo = false;                                   // TrafficSpec::tripinfo
};

std::shared_ptr<const DomainSpec> parse_traffic(SectionReader& s, const ScenarioSpec& core);
std::shared_ptr<const EventPayload> parse_traffic_event(std::string_view action, SectionReader& ev);

/// The scenario's traffic datastreams on the compiled detectors, with a calibrator (and its
/// reserve vehicles) for each count (traffic_domain_sensors.cpp).
Result<void> resolve_sensors(const ScenarioSpec& scenario, std::uint64_t seed, Compiled& c);

/// The largest strongly connected component of the edge graph (edges joined by connections),
/// over every edge: (n_edges) 1 on it. The city's trips start and end on it, so every trip has
/// a route both ways.
std::vector<std::uint8_t> main_component(const Network& net);

Result<std::vector<std::int32_t>> resolve_edges(const Compiled& c, const EventSpec& e,
                                                const EdgeEvent& ee);
Result<std::int32_t> resolve_signal(const Compiled& c, const EventSpec& e, const SignalEvent& se);

/// The recorded values of one traffic frame (/traffic/vehicles/* and /traffic/link_* rows).
struct TrafficFrameData {
  std::span<const float> vehicle_x, vehicle_y, vehicle_z;  ///< (n_vehicles) model CRS (m)
  std::span<const float> vehicle_heading, vehicle_speed;   ///< (n_vehicles) rad, m/s
  std::span<const float> link_speed_ratio;    ///< (n_links), empty when edges are not links
  std::span<const std::uint8_t> link_closed;  ///< (n_links), empty when edges are not links
  std::int64_t running = 0, arrived = 0;
  double mean_speed_mps = 0;
};

/// Traffic in the viewer's frame: the running vehicles, the road links' speed ratio and
/// closures, HUD figures vehicles running, vehicles arrived, mean speed. The live domain and the
/// replay both call it.
void fill_traffic_frame(const TrafficFrameData& d, FrameSnapshot& f);
/// Replay of /traffic (null when the run file has no traffic frames).
Result<std::unique_ptr<const DomainReplay>> open_traffic_replay(const RunReader& r,
                                                                const std::string& file);

class TrafficDomain : public Domain {
 public:
  TrafficDomain(Params params, Compiled c, const CityModel& city)
      : m_params(params),
        m_c(std::move(c)),
        m_net(m_c.net),
        m_demand(m_c.demand),
        m_geom(m_c.geom),
        m_city(city),
        m_source(m_c.source) {}

  std::string_view name() const override { return "traffic"; }

  // traffic_domain.cpp: state, events, exchange hooks, time loop.
  std::unique_ptr<DomainState> make_state(std::uint64_t seed) const override;
  void reseed(DomainState& state, std::uint64_t seed) const override;
  Footprint footprint(const RunSpec& run) const override;
  Result<void> apply_event(const EventSpec& e, DomainState& state) const override;
  void declare(ExchangeLayout& l) const override;
  Result<void> bind(const ExchangeLayout& l) override;
  void consume(const CityExchange& x, DomainState& state, const StepContext&) const override;
  void publish(const DomainState& state, CityExchange& x) const override;
  void advance(DomainState& state, const StepContext& ctx) const override;
  std::vector<Diagnostic> warnings() const override { return m_c.warnings; }
  // traffic_domain_sensors.cpp: the live traffic datastreams.
  Result<std::optional<double>> observe(const DomainState& state,
                                        const DatastreamSpec& ds) const override;
  bool assimilate(DomainState& state, const DatastreamSpec& ds, double observed,
                  double gain) const override;

  // traffic_domain_outputs.cpp.
  void write_static(RunWriter& out) const override;
  void write_frame(const DomainState& state, RunWriter& out) const override;
  void write_final(const DomainState& state, RunWriter& out,
                   std::vector<citytwin::SummaryRow>& summary_rows) const override;
  void fill_frame(const DomainState& state, FrameSnapshot& frame) const override;

 private:
  /// /traffic/trips: one row per vehicle of the demand (docs/hdf5-layout.md).
  void write_trip_table(const TrafficState& ts, RunWriter& out) const;
  // What the viewer draws of the state: fill_frame shows it live and write_frame records it, and
  // both (and the replay) go through fill_traffic_frame.
  struct FrameValues {
    std::vector<float> x, y, z, heading, speed;  // running vehicles, in s.ts.running order
    std::vector<float> link_ratio;               // city networks: per edge (= road link)
    std::vector<std::uint8_t> link_closed;
    traffic::SummaryRow summary;

    TrafficFrameData data() const {
      TrafficFrameData d;
      d.vehicle_x = x, d.vehicle_y = y, d.vehicle_z = z;
      d.vehicle_heading = heading, d.vehicle_speed = speed;
      d.link_speed_ratio = link_ratio, d.link_closed = link_closed;
      d.running = summary.running, d.arrived = summary.arrived;
      d.mean_speed_mps = summary.mean_speed;
      return d;
    }
  };

  FrameValues frame_values(const TrafficDomainState& s) const;
  // traffic_domain_sensors.cpp.
  const TrafficSensor* sensor(const DatastreamSpec& ds) const;
  void init_sensors(TrafficDomainState& s) const;
  void sample_sensors(TrafficDomainState& s) const;
  /// Passings at a sensor's detectors over its period up to now, and their speed sum.
  std::pair<std::int64_t, double> sensor_window(const TrafficDomainState& s,
                                                std::size_t sensor) const;

  Params m_params;
  Compiled m_c;
  const Network& m_net;
  const Demand& m_demand;
  const LaneGeometry& m_geom;
  const CityModel& m_city;  // owned by the Model, which outlives its domains
  const std::string& m_source;
  std::vector<std::int32_t> m_signal_tl;  // (n_signals) the exchange's signals -> tls (bind)
};

}  // namespace citytwin::traffic
