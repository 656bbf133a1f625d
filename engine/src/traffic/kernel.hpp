// Internal hooks between the traffic step (sim.cpp) and the routing, events and detector
// modules (routing.cpp, events.cpp, detectors.cpp). Not part of the public API.
#pragma once

#include "citytwin/traffic.hpp"

namespace citytwin {
class TaskPool;
}

namespace citytwin::traffic {

/// Builds the edge graph and the landmarks of a network (called by finalize_network()).
void build_routing_graph(Network& net);

/// Sizes the routing, event and detector arrays of a new state and copies the demand routes.
void init_routing_state(const Network& net, const Demand& demand, TrafficState& s);

/// Before the vehicles move: travel-time update and periodic re-routing checks when due,
/// routing of departing trips and of the vehicles queued by events. Deterministic for any
/// pool size (routes computed in parallel into per-vehicle slots, applied in vehicle order).
void prepare_routes(const Network& net, const Demand& demand, const Params& p, TrafficState& s,
                    TaskPool& pool);

/// Drops replaced routes from the state's route pool when they take more than half of it
/// (plus 64k entries of slack); serial, in vehicle order. Returns true when it compacted.
bool compact_routes(TrafficState& s);

/// Free-flow time (s) of an edge at the state's current speed limits.
float free_time(const Network& net, const TrafficState& s, std::int32_t edge);

/// After commit_moves: the lanes vehicle v crossed this step strictly between `from` (its lane
/// at the step start) and its lane now (a front vehicle may cross several junctions and short
/// edges in one step). Writes at most max_out of them to out; returns how many were written.
int crossed_lanes(const Network& net, const Demand& demand, const TrafficState& s, std::int32_t v,
                  std::int32_t from, std::int32_t* out, int max_out);

/// Inserts pending vehicle v at the start of edge e, on the allowed lane with the longest
/// continuation along its route (SUMO's departLane="best"), if that lane has room; vehicles
/// running[first_new, n_running) were inserted earlier in this step (not yet in the lane
/// index). Returns whether it was inserted.
bool insert_vehicle(const Network& net, const Demand& demand, const Params& p, TrafficState& s,
                    std::int32_t e, std::int32_t v, std::int32_t first_new);

/// Phase after insertion: each active calibrator inserts a reserve vehicle when its detectors
/// are behind the wished count, or removes the vehicle next to pass them when ahead.
void calibrate(const Network& net, const Demand& demand, const Params& p, TrafficState& s,
               std::int32_t first_new);

/// Detectors: snapshot before commit_moves, crossings and coverage after it.
void detectors_before_move(TrafficState& s, TaskPool& pool);
void detectors_after_move(const Network& net, const Demand& demand, const Params& p,
                          TrafficState& s);

}  // namespace citytwin::traffic
