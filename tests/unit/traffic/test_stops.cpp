// Scheduled stops (SUMO <stop>; stops.cpp and the step's phases): reading them from route
// files, halting at the stop's end for its duration, queueing at a stopping place, stops that
// cannot be reached, re-routing through a stop, and what the stop does to the trip statistics
// (SUMO: stopTime apart, neither waiting time nor time loss).
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "citytwin/parallel.hpp"
#include "citytwin/traffic.hpp"
#include "unit/traffic/fixtures.hpp"

using namespace citytwin;
using namespace citytwin::traffic;

namespace {

std::string write_file(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("citytwin_stops_" + name);
  std::ofstream(path) << text;
  return path.string();
}

VehicleType steady(float length = 5.0f) {
  VehicleType t;
  t.speed_dev = 0.0f;  // desired speed = the speed limit
  t.length = length;
  return t;
}

// A stop on road lane `lane` (of edge `edge`) from `start` to `end` m, for `duration_s`;
// `place` >= 0 marks it as at a stopping place.
VehicleStop stop_at(std::int32_t edge, std::int32_t lane, float start, float end, double duration_s,
                    std::int32_t place = -1) {
  VehicleStop st;
  st.edge = edge;
  st.lane = lane;
  st.place = place;
  st.start = start;
  st.end = end;
  st.duration = seconds_ms(duration_s);
  return st;
}

// One vehicle from e0 (500 m) to e1 (500 m), 13.89 m/s, with the given stops; runs until it
// arrives. Records the front position when each halt at a stop began.
struct Trip {
  TrafficState s;
  std::vector<float> halted_at;
  int standing_steps = 0;
};
Trip drive(const Network& n, const Demand& d, int threads = 1) {
  Params p;
  TaskPool pool(threads);
  Trip t{make_state(n, d, p), {}, 0};
  for (int k = 0; k < 1000 && t.s.arrived + t.s.removed < d.n_vehicles(); ++k) {
    const bool before = !t.s.veh_stop_until.empty() && t.s.veh_stop_until[0] >= 0;
    step(n, d, p, t.s, pool);
    const bool after = !t.s.veh_stop_until.empty() && t.s.veh_stop_until[0] >= 0;
    if (after && !before) t.halted_at.push_back(t.s.veh_pos[0]);
    t.standing_steps += after && before ? 1 : 0;
  }
  return t;
}

}  // namespace

TEST_CASE("a stop on a lane: the front halts at its end, stands its duration, timeLoss apart") {
  const Network n = test::make_chain({500.0f, 500.0f}, 13.89f, false);
  Demand plain = test::make_demand(steady(), 1, {0, 1});
  Demand with = plain;
  const VehicleStop list[] = {stop_at(0, 0, 299.8f, 300.0f, 20.0)};
  with.push_stops(list);
  REQUIRE(with.stops_of(0).size() == 1);

  const Trip a = drive(n, plain), b = drive(n, with);
  REQUIRE(a.s.arrived == 1);
  REQUIRE(b.s.arrived == 1);
  REQUIRE(b.halted_at.size() == 1);
  // Halted with its front within k_stop_reach_m (1 m) before the end, never beyond it by more
  // than its minGap (the obstacle's back).
  CHECK(b.halted_at[0] >= 299.0f);
  CHECK(b.halted_at[0] <= 300.0f + 2.5f);
  // Stands exactly its duration: 20 steps of 1 s after the one in which it halts.
  CHECK(b.standing_steps == 20);
  CHECK(b.s.veh_stop_time[0] == Approx(20.0).margin(1e-6));
  CHECK(b.s.stops_made == 1);
  CHECK(b.s.stops_missed == 0);
  // The stop costs its 20 s plus braking and starting again: at least the constant-rate bound
  // v/(2a) + v/(2b) = 13.89/5.2 + 13.89/9 = 4.2 s (SUMO's passenger a = 2.6, b = 4.5), and the
  // IDM's smooth approach and take-off add a few seconds more, not tens.
  const double tt_a = to_seconds(a.s.veh_arrive_time[0] - a.s.veh_insert_time[0]);
  const double tt_b = to_seconds(b.s.veh_arrive_time[0] - b.s.veh_insert_time[0]);
  CHECK(tt_b - tt_a >= 24.2);
  CHECK(tt_b - tt_a <= 35.0);
  // Time loss counts the slow driving around the stop but not the standing (SUMO timeLoss);
  // waiting time leaves the stop out too.
  const double loss = b.s.veh_time_loss[0] - a.s.veh_time_loss[0];
  CHECK(std::abs(loss - (tt_b - tt_a - 20.0)) < 1.5);
  CHECK(b.s.veh_waiting[0] - a.s.veh_waiting[0] <= 2.0);
}

TEST_CASE("a stopping place holds the buses that fit: the third waits for the first to leave") {
  const Network n = test::make_chain({500.0f, 500.0f}, 13.89f, false);
  Demand d = test::make_demand(steady(12.0f), 3, {0, 1});
  // A 35 m place ending at 300 m: the first bus (12 m) at its end, the second behind it with
  // its minGap (its back at 300 - 12 - 2.5 - 12 = 273.5 m, inside), not the third (259 m).
  const VehicleStop st = stop_at(0, 0, 265.0f, 300.0f, 30.0, 0);
  d.stops = {st, st, st};
  d.veh_stop_begin = {0, 1, 2, 3};
  Params p;
  TaskPool pool(1);
  TrafficState s = make_state(n, d, p);
  std::vector<SimTime> began(3, -1), left(3, -1);
  for (int k = 0; k < 1000 && s.arrived < 3; ++k) {
    step(n, d, p, s, pool);
    for (std::size_t v = 0; v < 3; ++v) {
      if (began[v] < 0 && s.veh_stop_until[v] >= 0) began[v] = s.time;
      if (left[v] < 0 && began[v] >= 0 && s.veh_stop_next[v] == d.stop_end(v)) left[v] = s.time;
    }
  }
  REQUIRE(s.arrived == 3);
  CHECK(s.stops_made == 3);
  CHECK(s.stops_missed == 0);
  for (std::size_t v = 0; v < 3; ++v) CHECK(s.veh_stop_time[v] == Approx(30.0).margin(1e-6));
  // The second halts while the first still stands; the third only after the first has left.
  CHECK(began[1] < left[0]);
  CHECK(began[2] >= left[0]);
}

TEST_CASE("a stop behind the vehicle's insertion point is missed and counted, the trip goes on") {
  const Network n = test::make_chain({500.0f, 500.0f}, 13.89f, false);
  Demand d = test::make_demand(steady(12.0f), 1, {0, 1});
  // The bus enters with its front at 12 m: past the stop's end (5 m) and its minGap.
  const VehicleStop list[] = {stop_at(0, 0, 4.8f, 5.0f, 20.0)};
  d.push_stops(list);
  const Trip t = drive(n, d);
  CHECK(t.s.arrived == 1);
  CHECK(t.halted_at.empty());
  CHECK(t.s.stops_made == 0);
  CHECK(t.s.stops_missed == 1);
  CHECK(t.s.veh_stop_time[0] == 0.0f);
}

TEST_CASE("a stop at the lane's end before a red signal is made while the light is red") {
  // e0 ends at a signal red for the first 60 s; the stop ends at the lane's end (SUMO's default
  // endPos), which the IDM does not reach before a red line (it halts minGap short of it). The
  // stop counts from the stop line's halting point, so its 10 s pass during the red: the trip
  // arrives when the same trip without the stop does. (Counted only at the end, the stop would
  // begin at green and cost its 10 s; behind a junction that never opens the vehicle would wait
  // for a teleport.)
  const Network n = test::make_chain({300.0f, 300.0f}, 13.89f, false, 0.1f, 0, 30.0, 60.0, true);
  const Demand plain = test::make_demand(steady(), 1, {0, 1});
  Demand d = plain;
  const VehicleStop list[] = {stop_at(0, 0, 299.8f, 300.0f, 10.0)};
  d.push_stops(list);
  const Trip a = drive(n, plain), t = drive(n, d);
  REQUIRE(a.s.arrived == 1);
  REQUIRE(t.s.arrived == 1);
  CHECK(t.s.stops_made == 1);
  CHECK(t.s.stops_missed == 0);
  CHECK(t.s.veh_stop_time[0] == Approx(10.0).margin(1e-6));
  CHECK(std::abs(to_seconds(t.s.veh_arrive_time[0] - a.s.veh_arrive_time[0])) <= 1.0);
}

TEST_CASE("re-routing around a closure keeps the route through a scheduled stop") {
  // Nodes 0..5, all 10 m/s: s 0->1, a 1->2, b 2->4, c 1->3, d 3->4, e 3->2, t 4->5.
  // s,c,e,b,t is fastest; with e closed, s,a,b,t (70 s) beats s,c,d,t (80 s), but a stop on c
  // keeps the vehicle on c.
  constexpr std::int32_t S = 0, A = 1, B = 2, C = 3, D = 4, E = 5, T = 6;
  const Network n = test::make_graph({{0, 1, 100, 10},
                                      {1, 2, 300, 10},
                                      {2, 4, 300, 10},
                                      {1, 3, 200, 10},
                                      {3, 4, 500, 10},
                                      {3, 2, 50, 10},
                                      {4, 5, 100, 10}});
  for (const bool stop : {false, true}) {
    CAPTURE(stop);
    Demand d = test::make_demand(steady(), 1, {S, C, E, B, T});
    if (stop) {
      const VehicleStop list[] = {stop_at(C, n.edge_lane_begin[C], 99.8f, 100.0f, 10.0)};
      d.push_stops(list);
    }
    Params p;
    TaskPool pool(1);
    TrafficState s = make_state(n, d, p);
    step(n, d, p, s, pool);  // inserted on s
    const std::int32_t closed[] = {E};
    close_edges(n, s, closed);
    for (int k = 0; k < 300 && s.arrived == 0; ++k) step(n, d, p, s, pool);
    REQUIRE(s.arrived == 1);
    const std::vector<std::int32_t> route(s.route_edges.begin() + s.veh_route_begin[0],
                                          s.route_edges.begin() + s.veh_route_end[0]);
    CHECK(route ==
          (stop ? std::vector<std::int32_t>{S, C, D, T} : std::vector<std::int32_t>{S, A, B, T}));
    if (stop) {
      CHECK(s.stops_made == 1);
      CHECK(s.veh_stop_time[0] == Approx(10.0).margin(1e-6));
    }
  }
}

TEST_CASE("route files: stops at stopping places, on lanes and edges, in routes and trips") {
  Network n = test::make_chain({500.0f, 500.0f, 500.0f}, 13.89f, false);
  const std::string places = write_file("places.add.xml", R"(<additional>
    <busStop id="bs1" lane="e1_0" startPos="100" endPos="-360" lines="7"/>
    <trainStop id="ts" lane="e2_0" startPos="10" endPos="40"/>
</additional>)");
  REQUIRE(read_sumo_stop_places(places, n));
  REQUIRE(n.place_id == std::vector<std::string>{"bs1", "ts"});
  CHECK(n.place_start[0] == 100.0f);
  CHECK(n.place_end[0] == 140.0f);  // -360 counts back from the 500 m lane's end

  const std::string routes = write_file("ok.rou.xml", R"(<routes>
    <route id="r" edges="e0 e1 e2">
        <stop busStop="bs1" duration="20"/>
    </route>
    <vehicle id="a" depart="0" route="r">
        <stop lane="e2_0" endPos="200" until="300"/>
    </vehicle>
    <flow id="f" begin="0" end="20" period="10" route="r"/>
    <trip id="t" depart="5" from="e0" to="e2">
        <stop edge="e1" duration="5"/>
        <stop trainStop="ts" duration="1" until="50"/>
    </trip>
    <vehicle id="p" depart="6" route="r">
        <stop lane="e1_0" parking="true" duration="60"/>
        <stop lane="e2_0" triggered="person"/>
        <stop parkingArea="pa" duration="60"/>
    </vehicle>
</routes>)");
  Demand d;
  REQUIRE(read_sumo_routes(routes, n, d));
  finish_demand(d);
  REQUIRE(d.n_vehicles() == 5);  // a, f.0, f.1, t, p
  const auto of = [&](const std::string& id) {
    std::int32_t v = 0;
    while (d.veh_id[static_cast<std::size_t>(v)] != id) ++v;
    return d.stops_of(v);
  };
  // a: the route's stop, then its own: e2_0 from 199.8 to 200, until 300 s, no duration.
  REQUIRE(of("a").size() == 2);
  CHECK(of("a")[0].place == 0);
  CHECK(of("a")[0].duration == 20000);
  CHECK(of("a")[1].lane == 2);
  CHECK(of("a")[1].start == Approx(199.8f));
  CHECK(of("a")[1].end == 200.0f);
  CHECK(of("a")[1].until == 300000);
  CHECK(of("a")[1].duration == 0);
  CHECK(of("f.1").size() == 1);
  // t: the edge's rightmost lane to its end, then the train stop.
  REQUIRE(of("t").size() == 2);
  CHECK(of("t")[0].lane == 1);
  CHECK(of("t")[0].end == 500.0f);
  CHECK(of("t")[1].place == 1);
  CHECK(of("t")[1].until == 50000);
  // p: the route's stop; its own are of kinds the model has not, each said once per kind.
  CHECK(of("p").size() == 1);
  CHECK(d.ignored.size() == 3);

  // A run: every stop made, none missed; a waits at e2 until 300 s.
  Params p;
  TaskPool pool(2);
  TrafficState s = make_state(n, d, p);
  for (int k = 0; k < 600 && s.arrived < 5; ++k) step(n, d, p, s, pool);
  CHECK(s.arrived == 5);
  CHECK(s.stops_made == 7);
  CHECK(s.stops_missed == 0);
  std::int32_t a = 0;
  while (d.veh_id[static_cast<std::size_t>(a)] != "a") ++a;
  CHECK(s.veh_arrive_time[static_cast<std::size_t>(a)] > 300000);
}

TEST_CASE("route files: bad stops name the file, line and field") {
  Network n = test::make_chain({500.0f, 500.0f, 500.0f}, 13.89f, false);
  const auto error_of = [&](const std::string& name, const std::string& body) {
    const std::string path = write_file(name, "<routes>\n" + body + "\n</routes>");
    Demand d;
    auto r = read_sumo_routes(path, n, d);
    REQUIRE_FALSE(r);
    CHECK(r.error().items[0].file == path);
    return r.error().items[0];
  };
  Diagnostic e = error_of("unknown_place.rou.xml", R"(<vehicle id="a" depart="0">
<route edges="e0 e1"/>
<stop busStop="nowhere" duration="5"/>
</vehicle>)");
  CHECK(e.line == 4);
  CHECK(e.field == "stop.busStop");
  e = error_of("off_route.rou.xml", R"(<vehicle id="a" depart="0">
<route edges="e0 e1"/>
<stop lane="e2_0" duration="5"/>
</vehicle>)");
  CHECK(e.line == 4);
  CHECK(e.field == "stop");
  e = error_of("out_of_order.rou.xml", R"(<route id="r" edges="e0 e1 e2"/>
<vehicle id="a" depart="0" route="r">
<stop lane="e2_0" duration="5"/>
<stop lane="e1_0" duration="5"/>
</vehicle>)");
  CHECK(e.line == 5);
  e = error_of("no_time.rou.xml", R"(<vehicle id="a" depart="0">
<route edges="e0 e1"/>
<stop lane="e1_0"/>
</vehicle>)");
  CHECK(e.field == "stop");
  CHECK(e.expected.find("duration") != std::string::npos);
  e = error_of("off_lane.rou.xml", R"(<vehicle id="a" depart="0">
<route edges="e0 e1"/>
<stop lane="e1_0" endPos="600" duration="5"/>
</vehicle>)");
  CHECK(e.field == "stop.endPos");
  e = error_of("outside.rou.xml", R"(<stop lane="e1_0" duration="5"/>)");
  CHECK(e.line == 2);
}
