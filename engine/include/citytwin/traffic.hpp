// Traffic: a lane-level microscopic simulation (DESIGN.md "Traffic").
//
// Pipeline: SUMO files (or a builder) -> Network (compiled, immutable CSR arrays) + Demand
// (vehicles, routes, types) -> TrafficState (SoA, everything that changes) -> step().
// Car following is the Intelligent Driver Model (Treiber, Hennecke, Helbing, Phys. Rev. E 62,
// 1805, 2000) with the ballistic update of Treiber & Kanagaraj (Physica A 419, 2015); lane
// changes are MOBIL (Kesting, Treiber, Helbing, TRR 1999, 2007) plus strategic changes towards
// the lanes that continue the route. Thread safety: step() mutates one state; one Network and
// Demand may drive many states concurrently.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "citytwin/error.hpp"
#include "citytwin/time.hpp"

namespace citytwin {
class TaskPool;
struct DomainEntry;
}  // namespace citytwin

namespace citytwin::traffic {

/// How a connection is controlled when no signal overrides it (SUMO link states).
enum class LinkRule : std::uint8_t {
  major = 0,    ///< right of way ('M', 'G', 'O')
  minor = 1,    ///< yield to the foes in the junction's response ('m', 'g', 'o')
  stop = 2,     ///< stop sign: stop, then yield ('s')
  all_way = 3,  ///< all-way stop ('='): stop, then first come first served
};

/// A compiled lane network. Lanes [0, n_road_lanes) belong to edges; lanes
/// [n_road_lanes, n_lanes) are one junction passage per connection (its via chain, merged).
struct Network {
  // Edges (dense index = order in the file, internal edges excluded).
  std::vector<std::string> edge_id;           // (n_edges)
  std::vector<std::int32_t> edge_lane_begin;  // (n_edges + 1) CSR into lanes, rightmost first
  std::vector<float> edge_length;             // (n_edges) m, length of lane 0
  std::vector<std::int32_t> edge_sorted;      // (n_edges) edge indices sorted by id, for lookup

  // Lanes.
  std::vector<float> lane_length;             // (n_lanes) m
  std::vector<float> lane_speed;              // (n_lanes) m/s speed limit
  std::vector<std::int32_t> lane_edge;        // (n_lanes) edge, or -1 for a junction passage
  std::vector<std::int32_t> lane_index;       // (n_lanes) index within the edge (0 = rightmost)
  std::vector<std::uint8_t> lane_allow;       // (n_lanes) vehicle-class mask (vclass.hpp bits)
  std::vector<std::int32_t> lane_conn_begin;  // (n_lanes + 1) CSR of outgoing connections
  std::int32_t n_road_lanes = 0;

  // Connections (lane to lane through a junction), sorted by from-lane.
  std::vector<std::int32_t> conn_from_lane;    // (n_conns)
  std::vector<std::int32_t> conn_to_lane;      // (n_conns)
  std::vector<std::int32_t> conn_via_lane;     // (n_conns) the passage lane
  std::vector<std::int32_t> conn_tl;           // (n_conns) signal, or -1
  std::vector<std::int32_t> conn_tl_link;      // (n_conns) index into the signal's state string
  std::vector<LinkRule> conn_rule;             // (n_conns)
  std::vector<std::int32_t> conn_yield_begin;  // (n_conns + 1) CSR: connections this one yields to
  std::vector<std::int32_t> conn_yield;        // foe connections (SUMO junction response bits)

  // Signals: fixed-time programs, and SUMO's gap-based actuated ones (docs/traffic.md).
  std::vector<std::string> tl_id;               // (n_tls)
  std::vector<std::int32_t> tl_phase_begin;     // (n_tls + 1) CSR into phases
  std::vector<SimTime> tl_offset;               // (n_tls) ms
  std::vector<SimTime> tl_cycle;                // (n_tls) ms, of the phases' durations
  std::vector<std::int32_t> tl_links;           // (n_tls) length of every state string
  std::vector<SimTime> phase_duration;          // (n_phases) ms
  std::vector<std::int32_t> phase_state_begin;  // (n_phases) offset into phase_state
  std::string phase_state;                      // concatenated SUMO state strings ("GgrryO...")
  // Actuation (build_actuation; defaults for programs built without it: fixed-time).
  std::vector<std::string> tl_type;      // (n_tls) SUMO's tlLogic type ("static", "actuated", ...)
  std::vector<std::string> tl_file;      // (n_tls) the file of its program ("": the network's)
  std::vector<float> tl_max_gap_s;       // (n_tls) param max-gap (SUMO default 3 s)
  std::vector<float> tl_detector_gap_s;  // (n_tls) param detector-gap (SUMO default 2 s)
  std::vector<SimTime> phase_min, phase_max;  // (n_phases) ms, minDur / maxDur (= duration)
  // Loops of actuated signals: one per incoming road lane, detector-gap seconds at the lane's
  // speed before the stop line; per phase whether the lane has green (SUMO's rule: 'G', or 'g'
  // on a link that is never 'G').
  std::vector<std::int32_t> tl_loop_begin;     // (n_tls + 1) CSR of loops
  std::vector<std::int32_t> loop_lane;         // (n_loops)
  std::vector<float> loop_pos;                 // (n_loops) m from the lane's start
  std::vector<std::int32_t> lane_loop;         // (n_lanes) its loop, or -1
  std::vector<std::int32_t> loop_green_begin;  // (n_loops) offset of its per-phase flags
  std::vector<std::uint8_t> loop_green;        // 1 if the loop's lane has green in the phase

  std::vector<std::int32_t> lane_in_begin;  // (n_lanes + 1) CSR of incoming connections
  std::vector<std::int32_t> lane_in_conn;   // (n_conns) connections ending on each lane

  // Derived by finalize_network() (routing.cpp): the edge graph for routing. An edge e leads
  // to edge f when some connection joins a lane of e to a lane of f.
  std::vector<std::int32_t> edge_succ_begin;  // (n_edges + 1) CSR of successor edges
  std::vector<std::int32_t> edge_succ;        // successor edge
  std::vector<std::uint8_t> edge_succ_allow;  // classes allowed on some connection e -> f
  std::vector<float> edge_succ_time;          // s, fastest passage e -> f at its speed limit
  std::vector<std::int32_t> edge_pred_begin;  // (n_edges + 1) CSR of predecessors
  std::vector<std::int32_t> edge_pred;        // index into edge_succ* of the entry p -> e
  std::vector<float> edge_free_time;          // (n_edges) s, length / fastest lane speed
  // ALT landmarks (Goldberg & Harrelson, SODA 2005): free-flow times between every edge and a
  // few landmark edges, for an admissible A* heuristic without coordinates.
  std::vector<std::int32_t> landmark;       // (n_landmarks) edges
  std::vector<double> landmark_from;        // (n_landmarks * n_edges) s, landmark -> edge
  std::vector<double> landmark_to;          // (n_landmarks * n_edges) s, edge -> landmark
  std::vector<std::int32_t> tl_conn_begin;  // (n_tls + 1) CSR of the connections of each signal
  std::vector<std::int32_t> tl_conn;

  // Stopping places (SUMO <busStop> and <trainStop> of additional files): a stretch of a road
  // lane where vehicles with a <stop busStop="..."> halt (read_sumo_stop_places).
  std::vector<std::string> place_id;          // (n_places)
  std::vector<std::int32_t> place_lane;       // (n_places) road lane
  std::vector<float> place_start, place_end;  // (n_places) m from the lane's start

  std::int32_t n_edges() const { return static_cast<std::int32_t>(edge_id.size()); }
  std::int32_t n_lanes() const { return static_cast<std::int32_t>(lane_length.size()); }
  std::int32_t n_conns() const { return static_cast<std::int32_t>(conn_from_lane.size()); }
  /// Edge index for a SUMO edge id, or -1.
  std::int32_t find_edge(std::string_view id) const;
};

/// Driver/vehicle parameters (SUMO vType attributes; SUMO's passenger defaults).
struct VehicleType {
  std::string id = "DEFAULT_VEHTYPE";
  float accel = 2.6f;         ///< m/s^2, IDM a
  float decel = 4.5f;         ///< m/s^2, IDM comfortable b
  float length = 5.0f;        ///< m
  float min_gap = 2.5f;       ///< m, IDM s0
  float max_speed = 55.55f;   ///< m/s
  float tau = 1.0f;           ///< s, IDM time headway T
  float speed_factor = 1.0f;  ///< mean of the desired-speed factor on the speed limit
  float speed_dev = 0.1f;     ///< its standard deviation (SUMO's default passenger 0.1)
  std::uint8_t vclass = 1;    ///< class bit (passenger); 15 for SUMO's "ignoring"
};

/// A scheduled stop (SUMO <stop>, docs/traffic.md "Stops"): the vehicle halts on a road lane of
/// its route with its front in [start, end] (at `end`, or behind the vehicles already standing
/// at a stopping place), stays until max(arrival + duration, until) and drives on.
struct VehicleStop {
  std::int32_t edge = -1, lane = -1;
  std::int32_t place = -1;         ///< its stopping place (Network::place_*), -1: a stop on a lane
  float start = 0.0f, end = 0.0f;  ///< m from the lane's start
  SimTime duration = 0;            ///< ms, at least this long
  SimTime until = -1;              ///< ms, not before this time; -1: no such bound
};

/// Travel demand: vehicles with fixed routes (edge sequences), in departure order.
/// veh_depart of a calibrator's reserve vehicle: never due by itself.
constexpr SimTime k_reserve_depart = std::numeric_limits<SimTime>::max() / 4;

/// A live-count calibrator (calibrators.cpp, docs/live.md "Assimilation"): where a
/// traffic_count datastream's detectors stand, and the reserve vehicles it may insert there.
struct CalibratorSpec {
  std::string id;                  ///< the datastream's
  std::vector<std::int32_t> dets;  ///< detectors whose passings it counts (TrafficState order)
  std::int32_t edge = -1;          ///< the detectors' edge: where it inserts and removes
  std::int32_t reserve_begin = 0, reserve_end = 0;  ///< its reserve vehicles [begin, end)
};

struct Demand {
  std::vector<VehicleType> types;
  std::vector<std::string> veh_id;            // (n_vehicles)
  std::vector<SimTime> veh_depart;            // (n_vehicles) ms
  std::vector<std::int32_t> veh_type;         // (n_vehicles)
  std::vector<std::int32_t> veh_route_begin;  // (n_vehicles + 1) CSR into route_edges
  std::vector<std::int32_t> route_edges;      // edge indices
  /// (n_vehicles, or empty = all 0) 1 when the vehicle is a trip: its route_edges hold only
  /// from, via..., to, and the simulation routes it when it departs (routing.cpp).
  std::vector<std::uint8_t> veh_trip;
  /// Scheduled stops of each vehicle, in route order: CSR (n_vehicles + 1) into stops, or
  /// shorter when the vehicles after it have none (push_stops pads it).
  std::vector<VehicleStop> stops;
  std::vector<std::int32_t> veh_stop_begin;
  std::int32_t stop_begin(std::int32_t v) const {
    const auto u = static_cast<std::size_t>(v);
    return u + 1 < veh_stop_begin.size() ? veh_stop_begin[u]
                                         : static_cast<std::int32_t>(stops.size());
  }
  std::int32_t stop_end(std::int32_t v) const {
    const auto u = static_cast<std::size_t>(v);
    return u + 1 < veh_stop_begin.size() ? veh_stop_begin[u + 1]
                                         : static_cast<std::int32_t>(stops.size());
  }
  /// The stops of the vehicle added last (after its veh_id; any other vehicle added without
  /// this call has none).
  void push_stops(std::span<const VehicleStop> list) {
    if (list.empty() && veh_stop_begin.empty()) return;
    veh_stop_begin.resize(veh_id.size(), static_cast<std::int32_t>(stops.size()));
    stops.insert(stops.end(), list.begin(), list.end());
    veh_stop_begin.push_back(static_cast<std::int32_t>(stops.size()));
  }
  std::span<const VehicleStop> stops_of(std::int32_t v) const {
    return std::span<const VehicleStop>(stops).subspan(
        static_cast<std::size_t>(stop_begin(v)),
        static_cast<std::size_t>(stop_end(v) - stop_begin(v)));
  }
  /// Elements the readers skipped, per file and kind (each a warning of the domain).
  struct Skipped {
    std::string file, element;
    std::int64_t count = 0;
  };
  std::vector<Skipped> ignored;
  // vTypeDistributions, kept so that later route files can name them.
  std::vector<std::string> dist_id;      // (n_dists)
  std::vector<std::int32_t> dist_begin;  // (n_dists + 1) CSR into dist_type/dist_prob
  std::vector<std::int32_t> dist_type;
  std::vector<double> dist_prob;
  /// Calibrators (CalibratorSpec) and their reserve: vehicles [reserve_begin, n_vehicles())
  /// depart only when a calibrator inserts them (their veh_depart is k_reserve_depart).
  std::vector<CalibratorSpec> calibrators;
  std::int32_t reserve_begin = -1;  ///< -1: no reserve
  std::int32_t n_vehicles() const { return static_cast<std::int32_t>(veh_id.size()); }
  /// The vehicles of the demand proper (before any calibrator reserve).
  std::int32_t n_planned() const { return reserve_begin < 0 ? n_vehicles() : reserve_begin; }
  /// The same types, distributions and notes without any vehicle (to rebuild the vehicles).
  Demand without_vehicles() const {
    Demand out;
    out.types = types;
    out.ignored = ignored;
    out.dist_id = dist_id;
    out.dist_begin = dist_begin;
    out.dist_type = dist_type;
    out.dist_prob = dist_prob;
    out.veh_route_begin.push_back(0);
    return out;
  }
};

/// Simulation settings (the [traffic] section's keys; see docs/scenario-traffic.md).
struct Params {
  SimTime dt = 1000;          ///< ms, the fixed traffic step (SUMO's default 1 s)
  double delta = 4.0;         ///< IDM acceleration exponent
  double critical_gap = 1.0;  ///< s, minimal time gap to a prioritised foe (SUMO jmTimegapMinor)
  /// s of waiting after which a yielding driver fully counts on its foes braking (SUMO's
  /// --time-to-impatience); 0 = never
  double time_to_impatience = 180.0;
  double lc_threshold = 0.2;           ///< m/s^2, MOBIL incentive threshold
  double lc_politeness = 0.3;          ///< MOBIL politeness p
  double lc_safe_decel = 4.0;          ///< m/s^2, MOBIL safety: the new follower's maximal braking
  double strategic_lookahead = 3000.;  ///< m of route scanned for the best lanes (SUMO 3000)
  SimTime teleport_after = 300000;     ///< ms stopped before a vehicle is teleported (SUMO 300 s)
  SimTime stats_interval = 300000;     ///< ms per-edge statistics interval
  double halting_speed = 0.1;          ///< m/s, below this a vehicle is halting (SUMO)
  std::uint64_t seed = 42;
  // Routing (routing.cpp). Closures always re-route the vehicles they affect.
  SimTime reroute_period = 0;   ///< ms between travel-time updates and re-routing checks; 0 = off
  double reroute_factor = 1.5;  ///< re-route when the remaining route takes > factor x free flow
  double tt_smoothing = 0.5;    ///< weight of a new travel-time measurement (exponential smoothing)
  double reroute_min_gain = 0.1;  ///< periodic re-routing switches only if >= 10 % faster
};

/// A route cache: paths keyed by (from, to, class) for the current travel-time epoch.
struct RouteCache {
  std::int64_t epoch = -1;
  std::unordered_map<std::uint64_t, std::pair<std::int32_t, std::int32_t>> index;  // -> edges
  std::vector<std::int32_t> edges;
  std::int64_t hits = 0, misses = 0;
};

/// Per-thread working memory of the router (sized on first use).
struct RouterScratch {
  std::vector<double> g;
  std::vector<std::int32_t> parent;
  std::vector<std::uint32_t> stamp;  // g/parent valid when stamp == now
  std::vector<std::uint32_t> done;   // settled when done == now
  std::vector<std::pair<double, std::int32_t>> heap;
  std::uint32_t now = 0;
  std::int64_t settled = 0;  // edges settled by the last search (statistics)
};

/// A detector (SUMO induction loop / e1Detector) at a position on a road lane.
struct DetectorSpec {
  std::string id;
  std::int32_t lane = -1;  ///< road lane
  float pos = 0;           ///< m from the lane start
};

/// Per-connection control this step (TrafficState::conn_signal).
/// k_all_way: a dark signal, all-way stop (set_signal_dark).
constexpr std::uint8_t k_go_major = 0, k_go_yield = 1, k_amber = 2, k_red = 3, k_stop = 4,
                       k_all_way = 5;

/// Vehicle life cycle.
enum class VehStatus : std::uint8_t { pending = 0, running = 1, arrived = 2, removed = 3 };

/// One teleport (gridlock recovery after Params::teleport_after stopped, as SUMO's
/// time-to-teleport): when, which vehicle, the lane it was stuck on (a road lane or a junction
/// passage) and the road lane it was put on, -1 when no edge of its route had room and it was
/// removed.
struct TeleportEvent {
  SimTime time;
  std::int32_t vehicle, from_lane, to_lane;
};

/// Everything that changes during a run. Arrays sized at make_state(); step() never allocates
/// (except the teleport log, which grows by one entry per teleport).
struct TrafficState {
  SimTime time = 0;
  std::int64_t step_count = 0;

  // Vehicles (dense index = demand index).
  std::vector<VehStatus> veh_status;          // (n_veh)
  std::vector<std::int32_t> veh_lane;         // (n_veh) current lane (road lane or passage)
  std::vector<std::int32_t> veh_route_pos;    // (n_veh) index in its route of the current/next edge
  std::vector<float> veh_pos;                 // (n_veh) m, front bumper from the lane start
  std::vector<float> veh_speed;               // (n_veh) m/s
  std::vector<float> veh_v0;                  // (n_veh) m/s, desired-speed factor * 1
  std::vector<float> veh_stopped_s;           // (n_veh) s since the vehicle last moved
  std::vector<SimTime> veh_insert_time;       // (n_veh) ms
  std::vector<SimTime> veh_arrive_time;       // (n_veh) ms
  std::vector<float> veh_route_length;        // (n_veh) m driven
  std::vector<float> veh_time_loss;           // (n_veh) s, sum of dt * (1 - v / v_allowed)
  std::vector<float> veh_waiting;             // (n_veh) s with v < halting speed
  std::vector<std::int32_t> veh_waits;        // (n_veh) times it came to a halt (SUMO waitingCount)
  std::vector<std::int32_t> veh_reroutes;     // (n_veh) routes changed en route (SUMO rerouteNo)
  std::vector<std::int32_t> veh_depart_lane;  // (n_veh) lane it was inserted on, -1 not yet
  std::vector<float> veh_depart_pos;          // (n_veh) m, its front there
  std::vector<std::int32_t> veh_teleports;    // (n_veh)
  // Scheduled stops (stops.cpp), sized only when the demand has any: the next stop (index into
  // Demand::stops; stop_end(v) when done), when the vehicle standing at it leaves (-1: not
  // standing), the time it stood at stops and the stops it missed (not reached on its route).
  std::vector<std::int32_t> veh_stop_next;     // (n_veh)
  std::vector<SimTime> veh_stop_until;         // (n_veh) ms
  std::vector<float> veh_stop_time;            // (n_veh) s (SUMO stopTime)
  std::vector<std::int32_t> veh_stops_missed;  // (n_veh)

  // Running vehicles, and per lane ordered front to back (rebuilt every step).
  std::vector<std::int32_t> running;  // (n_running) ascending vehicle index
  std::int32_t n_running = 0;
  std::vector<std::int32_t> lane_veh_begin;  // (n_lanes + 1) CSR into lane_veh
  std::vector<std::int32_t> lane_veh;        // (n_veh) vehicles, front first

  // Insertion queues: per origin edge, vehicles in departure order; next to insert.
  std::vector<std::int32_t> origin_begin;  // (n_edges + 1)
  std::vector<std::int32_t> origin_veh;    // (n_veh)
  std::vector<std::int32_t> origin_next;   // (n_edges)
  std::int32_t next_depart = 0;            // vehicles [0, next_depart) have departed (sorted)
  std::vector<std::int32_t> depart_order;  // (n_veh) vehicles by departure time

  // Junction state per connection (rebuilt every step).
  std::vector<float> conn_arrival_s;        // (n_conns) time until the first approacher arrives
  std::vector<float> conn_arrival_brake_s;  // (n_conns) the same if it braked: inf if it can stop
  std::vector<std::uint8_t> conn_signal;    // (n_conns) k_go_major/k_go_yield/k_amber/k_red/k_stop
  std::vector<std::int32_t> tl_phase;       // (n_tls) current phase (absolute index)
  std::vector<SimTime> tl_phase_start;      // (n_tls) when it began (actuated signals), ms
  std::vector<SimTime> loop_last;           // (n_loops) when a vehicle last covered the loop, ms

  // Per-step scratch.
  std::vector<float> scratch_dx;            // (n_veh) distance to advance this step
  std::vector<float> scratch_v;             // (n_veh) speed at the end of this step
  std::vector<std::int8_t> scratch_lc;      // (n_veh) lane change, junctions granted, entries
  std::vector<std::int32_t> scratch_block;  // (n_veh) moving neighbour alongside that blocks an
                                            // urgent lane change (it falls back), or -1
  std::vector<std::uint8_t> scratch_stop;   // (n_veh, with stops) 1: halts at its stop now
  std::vector<std::int32_t> scratch_count;  // (n_lanes + 1)
  // Cooperative merging: per road lane and direction (0 right, 1 left), the position of the
  // front-most vehicle that must change lanes for its route but found no gap (-1 if none);
  // followers on the target lane hold back behind it (SUMO-like cooperative lane changing).
  std::vector<float> lane_merge_pos;  // (2 * n_lanes)

  // Counters (never hidden): inserted = running + arrived + removed.
  std::int64_t inserted = 0, arrived = 0, removed = 0, teleports = 0, collisions = 0;
  std::int64_t vehicle_steps = 0;
  // Scheduled stops of the vehicles that finished (arrived or removed): made, and missed.
  std::int64_t stops_made = 0, stops_missed = 0;
  std::vector<TeleportEvent> teleport_log;  // every teleport, in order (teleports entries)

  // Per-edge statistics for the current interval.
  std::vector<std::int32_t> edge_entered;  // (n_edges) vehicles that entered
  std::vector<double> edge_veh_seconds;    // (n_edges) sum of dt over vehicles on the edge
  std::vector<double> edge_veh_meters;     // (n_edges) sum of distance driven on the edge

  // Routes live in the state (re-routing never touches the shared Demand): demand routes are
  // copied into route_edges at make_state(), new routes are appended.
  std::vector<std::int32_t> route_edges;
  std::vector<std::int32_t> veh_route_begin;  // (n_veh) into route_edges
  std::vector<std::int32_t> veh_route_end;    // (n_veh)
  std::vector<std::int32_t> veh_dest;         // (n_veh) destination edge
  std::vector<std::uint8_t> veh_flags;        // (n_veh) k_flag_* bits

  // Events and the coupling (events.cpp): closures, speed limits, dark signals. Closures and
  // dark signals are bit sets of their causes (k_cause_*): an edge is closed, a signal dark,
  // while any cause holds.
  std::vector<std::uint8_t> edge_closed;  // (n_edges) causes closing it to entering vehicles
  std::vector<float> lane_speed;          // (n_lanes) m/s current speed limits
  std::vector<float> edge_limit;          // (n_edges) m/s limit set by an event, 0 = network's
  std::vector<float> edge_speed_factor;   // (n_edges) flood factor on the limit, 1 = none
  std::vector<std::uint8_t> tl_dark;      // (n_tls) causes switching it dark: all-way stop

  // Routing weights and re-routing (routing.cpp).
  std::vector<float> edge_tt;          // (n_edges) s, smoothed measured travel time >= free flow
  std::vector<double> tt_veh_meters;   // (n_edges) since the last travel-time update
  std::vector<double> tt_veh_seconds;  // (n_edges)
  std::int64_t tt_epoch = 0;           // bumped whenever edge_tt or closures change
  double heuristic_scale = 1.0;        // <= 1: keeps landmarks admissible after speed raises
  SimTime next_tt_update = 0;
  std::vector<std::int32_t> route_queue;  // vehicles to (re)route before the next move
  std::int32_t route_cursor = 0;          // trips in depart_order routed so far
  RouteCache route_cache;
  std::vector<RouterScratch> router;  // one per worker

  // Calibrators (calibrators.cpp), per Demand::calibrators: the factor on the natural flow
  // (1: none), the detectors' passings when it was set and the vehicles inserted and removed
  // since, the next reserve vehicle and the one waiting for its route or for room.
  std::vector<double> calib_factor;
  std::vector<std::int64_t> calib_base, calib_ins, calib_rem;
  std::vector<std::int32_t> calib_next, calib_armed;
  std::int64_t calib_inserted = 0, calib_removed = 0, calib_short = 0;
  std::int64_t calib_unused = 0;  // reserve vehicles no calibrator has taken yet

  // Detectors (detectors.cpp).
  std::vector<DetectorSpec> detectors;
  std::vector<std::int32_t> lane_det_begin;  // (n_lanes + 1) CSR, empty without detectors
  std::vector<std::int32_t> lane_det;
  std::vector<std::int32_t> det_count;  // (n_det) vehicles whose front passed, this interval
  std::vector<double> det_occupied_s;   // (n_det) s the position was covered, this interval
  std::vector<double> det_speed_sum;    // (n_det) sum of passing speeds, this interval
  std::vector<std::int64_t> det_total;  // (n_det) vehicles whose front passed, since t = 0
  std::vector<double> det_speed_total;  // (n_det) sum of their passing speeds
  struct DetCover {          // a vehicle whose front passed a detector and whose back has not
    std::int32_t det, veh;   // (det_cover, in detection order)
    std::int32_t teleports;  // the vehicle's teleport count then (a teleport ends the cover)
    double progress;         // m the front has driven past the position
  };
  std::vector<DetCover> det_cover;
  std::vector<std::int32_t> det_prev_lane;  // (n_veh) lane before the move
  std::vector<float> det_prev_pos;          // (n_veh) m
  std::vector<float> det_prev_speed;        // (n_veh) m/s

  // Routing counters (never hidden).
  std::int64_t rerouted = 0;    // route replacements of running or waiting vehicles
  std::int64_t stranded = 0;    // running vehicles whose destination became unreachable (removed)
  std::int64_t unroutable = 0;  // never inserted: no route at departure or closed origin
};

/// The most vehicles a demand may hold: far above any city-day scenario (SUMO's largest public
/// ones have a few million), and a state of this many still fits in memory. Readers and the
/// city demand refuse more before they make any.
inline constexpr double k_max_vehicles = 5e7;

/// Causes of a closure or a dark signal (TrafficState::edge_closed, tl_dark bits).
constexpr std::uint8_t k_cause_event = 1, k_cause_coupling = 2;

constexpr std::uint8_t k_flag_needs_route = 1;  ///< route before the next move / insertion
constexpr std::uint8_t k_flag_stranded = 2;     ///< removed at the end of a truncated route
constexpr std::uint8_t k_flag_calibrated = 4;   ///< removed by a live-count calibrator

/// One row of the network summary series (SUMO summary-output in spirit).
struct SummaryRow {
  double time_s;
  std::int64_t running, inserted, arrived, removed, halting, pending;
  double mean_speed;
};

/// Per-edge counts and mean speed for one interval.
struct EdgeInterval {
  double begin_s, end_s;
  std::vector<std::int32_t> entered;  // (n_edges)
  std::vector<float> mean_speed;      // (n_edges) m/s (space-mean), NaN when empty
  std::vector<double> veh_seconds;    // (n_edges)
};

// ---- SUMO import ----

/// Reads a SUMO .net.xml (plain or .gz): edges, lanes, connections (with their via chains
/// merged into passage lanes), junction responses, tlLogic programs. Errors name file:line.
Result<Network> read_sumo_net(const std::string& path);
/// Computes the derived arrays (lane_in_*) after the primary arrays are filled; readers call
/// it, hand-built networks must.
void finalize_network(Network& net);
/// The actuation data of the network's signals (Network "Actuation"): defaults for programs
/// built without it, then the loops of the actuated ones. finalize_network and set_program
/// call it.
void build_actuation(Network& net);
/// Reads the stopping places (<busStop>, <trainStop>) of an additional file into the network
/// (Network::place_*), for the <stop>s of route files read after it.
Result<void> read_sumo_stop_places(const std::string& path, Network& net);
/// Reads tlLogic programs from an additional file; a program replaces the net's one for the
/// same signal (SUMO loads the last program as active).
Result<void> read_sumo_tls(const std::string& path, Network& net);
/// Reads vTypes, vTypeDistributions (a member drawn per vehicle by its probability, keyed by
/// seed and vehicle ordinal), named and inline routes, vehicles and flows from .rou.xml files
/// (plain or .gz), appending to demand. Trips without a route and unsupported elements are
/// errors; ignored elements (stops) are counted in demand.ignored.
Result<void> read_sumo_routes(const std::string& path, const Network& net, Demand& demand,
                              std::uint64_t seed = 42);
/// Reads a SUMO additional file as `traffic.additional` takes one: its stopping places
/// (read_sumo_stop_places), and its signal programs (read_sumo_tls) or its vehicle types,
/// routes and vehicles (read_sumo_routes), never both in one file. Returns whether it also holds
/// detectors, which are read once the demand is complete (read_sumo_detectors).
Result<bool> read_sumo_additional(const std::string& path, Network& net, Demand& demand,
                                  std::uint64_t seed = 42);
/// Sorts the demand by departure (stable) after all files are read.
void finish_demand(Demand& demand);

// ---- simulation ----

/// A state at t = 0 for this network and demand; desired speeds drawn from params.seed.
TrafficState make_state(const Network& net, const Demand& demand, const Params& params);
/// Draws the desired speeds of the vehicles not yet inserted with `seed` (make_state: all of
/// them; a fork's member: those still to depart, while those on the road keep theirs). A
/// vehicle's draw depends on (seed, vehicle) only.
void draw_pending_drivers(const Demand& demand, TrafficState& s, std::uint64_t seed);
/// Advances by params.dt. Bit-identical for any pool size.
void step(const Network& net, const Demand& demand, const Params& params, TrafficState& s,
          TaskPool& pool);
/// Hash of every array that changes (determinism tests).
std::uint64_t state_hash(const TrafficState& s);
/// Current network summary.
SummaryRow summary(const TrafficState& s, const Params& params);
/// Closes the current statistics interval and resets its counters.
EdgeInterval take_edge_interval(TrafficState& s, double begin_s, double end_s);

// ---- routing (routing.cpp) ----

/// Shortest travel-time path from edge `from` to edge `to` for vehicle class `vclass` (a
/// vclass.hpp bit), following connections the class may use and skipping edges marked in
/// `closed` (may be empty). Cost = sum over the edges after `from` of passage + edge time,
/// edge times from `edge_time` (s; empty = free flow). A* with the network's landmarks,
/// scaled by `h_scale` <= 1; ties go to the lower edge index. Writes [from, ..., to] into
/// `path`; returns false (path empty) when `to` is unreachable.
bool shortest_path(const Network& net, std::span<const float> edge_time,
                   std::span<const std::uint8_t> closed, std::int32_t from, std::int32_t to,
                   std::uint8_t vclass, std::vector<std::int32_t>& path, RouterScratch& scratch,
                   double h_scale = 1.0);
/// Cost (s) of a given path as shortest_path() counts it (inf if two edges are not joined).
double path_time(const Network& net, std::span<const float> edge_time,
                 std::span<const std::int32_t> path);

// ---- events (events.cpp); they take effect from the next step ----

/// Closes edges for a cause (k_cause_*): no vehicle enters them any more (vehicles on them
/// drive out); every vehicle whose remaining route uses one is re-routed before the next move
/// (see docs/traffic.md for the unreachable policy). Returns the vehicles queued for re-routing.
std::int64_t close_edges(const Network& net, TrafficState& s, std::span<const std::int32_t> edges,
                         std::uint8_t cause = k_cause_event);
/// Lifts a cause's closure; edges with no cause left reopen and stranded vehicles that are
/// still on the road try to re-route.
void reopen_edges(const Network& net, TrafficState& s, std::span<const std::int32_t> edges,
                  std::uint8_t cause = k_cause_event);
/// Sets the speed limit (m/s) of every lane of an edge (routing weights follow); vehicles whose
/// remaining route uses it re-route if that gains Params::reroute_min_gain.
void set_edge_speed(const Network& net, TrafficState& s, std::int32_t edge, float speed);
/// Scales an edge's limit by a factor in (0, 1] (the flood's depth-disruption curve), on top of
/// any event limit; re-routing as set_edge_speed.
void set_edge_speed_factor(const Network& net, TrafficState& s, std::int32_t edge, float factor);
/// Switches a signal dark for a cause (all-way stop, first come first served), or lifts that
/// cause; the signal runs its program again when no cause is left.
void set_signal_dark(const Network& net, TrafficState& s, std::int32_t tl, bool dark,
                     std::uint8_t cause = k_cause_event);
/// Scales the departures in [from, to) by `factor` >= 0: each vehicle is kept floor(factor)
/// times plus once more with probability frac(factor) (counter RNG keyed by seed and vehicle),
/// copies named "<id>#k". Applied to the demand before make_state(); re-sorts it.
void scale_demand(Demand& demand, double factor, SimTime from, SimTime to, std::uint64_t seed);

// ---- detectors (detectors.cpp) ----

/// Reads <inductionLoop>/<e1Detector> (id, lane, pos; negative pos counts from the lane end)
/// from a SUMO additional file; other elements are ignored.
Result<std::vector<DetectorSpec>> read_sumo_detectors(const std::string& path, const Network& net);
/// Installs detectors in a state (replaces any before).
Result<void> set_detectors(const Network& net, TrafficState& s, std::vector<DetectorSpec> dets);
/// Counts, occupancy and mean speed of each detector for one interval.
struct DetectorInterval {
  double begin_s, end_s;
  std::vector<std::int32_t> count;  // (n_det) vehicles whose front passed the position
  std::vector<float> occupancy;     // (n_det) fraction of the interval the position was covered
  std::vector<float> mean_speed;    // (n_det) m/s, mean speed of the passing vehicles, NaN if none
};
/// Closes the current detector interval and resets its counters.
DetectorInterval take_detector_interval(TrafficState& s, double begin_s, double end_s);

// ---- calibrators (calibrators.cpp) ----

/// Adds a calibrator on the edge of detectors `c.dets` (of `dets`, one edge) with `reserve`
/// vehicles appended to the demand: each a copy (type, destination) of a planned vehicle drawn
/// with `seed`, starting on that edge: the rest of its route when the copied vehicle's route
/// passes the edge, else a trip to its destination. Call after the demand is final.
Result<void> add_calibrator(const Network& net, const std::vector<DetectorSpec>& dets,
                            Demand& demand, CalibratorSpec c, std::int32_t reserve,
                            std::uint64_t seed);
/// Calibrator `c` keeps the flow past its detectors at `factor` times the natural flow.
void set_calibrator_factor(const Demand& demand, TrafficState& s, std::int32_t c, double factor);
/// Vehicles that passed any of `dets` since t = 0, and the sum of their passing speeds.
std::pair<std::int64_t, double> detector_totals(const TrafficState& s,
                                                std::span<const std::int32_t> dets);

// ---- outputs ----

/// Per-trip CSV: id,depart,arrival,duration,route_length,time_loss,waiting_time (arrived only).
Result<void> write_trips_csv(const std::string& path, const Demand& demand, const TrafficState& s);
/// SUMO's tripinfo XML (--tripinfo-output;
/// https://sumo.dlr.de/docs/Simulation/Output/TripInfo.html): one <tripinfo> per arrived vehicle,
/// by arrival time, with SUMO's attributes and precision.
Result<void> write_tripinfo_xml(const std::string& path, const Network& net, const Demand& demand,
                                const TrafficState& s);
/// Where a lane is, for people: a road lane as SUMO names it ("<edge>_<index>"), a junction
/// passage as "<from edge> -> <to edge>".
std::string describe_lane(const Network& net, std::int32_t lane);
/// The teleport log for people, one row per teleport: time, vehicle id, describe_lane() of the
/// lane it was stuck on and of the lane it was put on (empty when it was removed).
struct TeleportTable {
  std::vector<double> time_s;
  std::vector<std::string> vehicle, stuck_on, moved_to;
};
TeleportTable teleport_table(const Network& net, const Demand& demand, const TrafficState& s);
/// Teleport log CSV: time,vehicle,stuck_on,moved_to,outcome (moved or removed).
Result<void> write_teleports_csv(const std::string& path, const TeleportTable& t);
/// Detector series CSV: begin,end,detector,count,occupancy,mean_speed.
Result<void> write_detectors_csv(const std::string& path, const std::vector<DetectorSpec>& dets,
                                 const std::vector<DetectorInterval>& intervals);

// ---- the domain ----

/// A SUMO configuration file's inputs (paths resolved against the file's folder).
struct SumoConfig {
  std::string net;
  std::vector<std::string> routes, additional;
  double begin_s = 0, end_s = -1;  ///< end < 0: not given
  double step_s = 1.0;
};

/// Reads `<net-file>`, `<route-files>`, `<additional-files>`, `<begin>`, `<end>` and
/// `<step-length>` from a .sumocfg; other options are ignored.
Result<SumoConfig> read_sumocfg(const std::string& path);

/// The `[traffic]` section, its events, outputs and replay (docs/scenario-traffic.md), for the
/// engine's domain list.
const DomainEntry& domain_entry();

}  // namespace citytwin::traffic
