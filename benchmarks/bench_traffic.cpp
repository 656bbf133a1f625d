// Traffic benchmarks: SUMO scenarios run to completion (or to the demand's horizon + drain),
// reporting vehicle updates per second = vehicle-steps / wall seconds, SUMO's own measure.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench.hpp"
#include "citytwin/parallel.hpp"
#include "citytwin/traffic.hpp"

namespace {

using namespace citytwin;

struct Loaded {
  traffic::Network net;
  traffic::Demand demand;
};

Loaded load(const std::string& net_file, const std::vector<std::string>& additional,
            const std::vector<std::string>& routes) {
  const std::string dir = bench::source_dir() + "/tests/data/traffic/";
  auto net = traffic::read_sumo_net(dir + net_file);
  if (!net) {
    std::fprintf(stderr, "%s\n", net.error().to_string().c_str());
    std::exit(2);
  }
  traffic::Demand d;
  for (const auto& a : additional)
    if (auto r = traffic::read_sumo_additional(dir + a, *net, d); !r) {
      std::fprintf(stderr, "%s\n", r.error().to_string().c_str());
      std::exit(2);
    }
  for (const auto& r : routes)
    if (auto ok = traffic::read_sumo_routes(dir + r, *net, d); !ok) {
      std::fprintf(stderr, "%s\n", ok.error().to_string().c_str());
      std::exit(2);
    }
  traffic::finish_demand(d);
  return {std::move(*net), std::move(d)};
}

bench::Result run(const Loaded& in, int threads, double horizon_s) {
  traffic::Params p;
  TaskPool pool(threads);
  traffic::TrafficState s = traffic::make_state(in.net, in.demand, p);
  const auto t0 = std::chrono::steady_clock::now();
  // Run to the horizon, then on until every vehicle has left (as SUMO does without --end).
  const std::int64_t n = in.demand.n_vehicles();
  while (to_seconds(s.time) < horizon_s ||
         ((s.inserted + s.unroutable < n || s.n_running > 0) &&
          to_seconds(s.time) < std::max(4.0 * horizon_s, 36000.0)))
    traffic::step(in.net, in.demand, p, s, pool);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  bench::Result r;
  r.rate = static_cast<double>(s.vehicle_steps) / wall;
  r.unit = "vehicle_updates/s";
  r.wall_s = wall;
  r.size = {{"vehicles", static_cast<double>(in.demand.n_vehicles())},
            {"vehicle_steps", static_cast<double>(s.vehicle_steps)},
            {"sim_s", to_seconds(s.time)},
            {"arrived", static_cast<double>(s.arrived)},
            {"removed", static_cast<double>(s.removed)},
            {"teleports", static_cast<double>(s.teleports)},
            {"lanes", static_cast<double>(in.net.n_lanes())}};
  // The final state: equal for any thread count, and across versions that change only speed.
  r.notes = {{"state_hash", fmt::format("{:016x}", traffic::state_hash(s))}};
  return r;
}

}  // namespace

CT_BENCH("traffic.grid20.p010", "SUMO grid20, 36,000 vehicles over 1 h, until all have arrived",
         [](int threads) {
           static const Loaded in =
               load("grid20/grid20.net.xml.gz", {}, {"grid20/routes_p010.rou.xml.gz"});
           return run(in, threads, 3600.0);
         });
CT_BENCH("traffic.grid20.p020", "SUMO grid20, 18,000 vehicles over 1 h, until all have arrived",
         [](int threads) {
           static const Loaded in =
               load("grid20/grid20.net.xml.gz", {}, {"grid20/routes_p020.rou.xml.gz"});
           return run(in, threads, 3600.0);
         });
CT_BENCH("traffic.grid20.p020.trips",
         "SUMO grid20, the 18,000 p020 trips routed in the simulation (A*), until all have arrived",
         [](int threads) {
           static const Loaded in =
               load("grid20/grid20.net.xml.gz", {}, {"grid20/trips_p020.trips.xml.gz"});
           return run(in, threads, 3600.0);
         });
CT_BENCH("traffic.acosta",
         "Bologna Andrea Costa (SUMO, 8,779 vehicles, buses stopping), until all have arrived",
         [](int threads) {
           static const Loaded in = load(
               "bologna-acosta/acosta_buslanes.net.xml.gz",
               {"bologna-acosta/acosta_tls.add.xml", "bologna-acosta/acosta_bus_stops.add.xml"},
               {"bologna-acosta/acosta_vtypes.add.xml", "bologna-acosta/acosta.rou.xml.gz",
                "bologna-acosta/acosta_busses.rou.xml"});
           return run(in, threads, 0.0);
         });

namespace {

/// Routes every p020 trip on the free-flow grid20 network, with A* (landmarks) and with plain
/// Dijkstra (the same search without heuristic), one thread.
bench::Result route_grid20() {
  static const Loaded in = load("grid20/grid20.net.xml.gz", {}, {"grid20/trips_p020.trips.xml.gz"});
  const auto& d = in.demand;
  traffic::RouterScratch sc;
  std::vector<std::int32_t> path;
  double settled[2] = {0, 0}, wall[2] = {0, 0};
  for (int mode = 0; mode < 2; ++mode) {
    const auto t0 = std::chrono::steady_clock::now();
    for (std::int32_t v = 0; v < d.n_vehicles(); ++v) {
      const auto b = static_cast<std::size_t>(d.veh_route_begin[static_cast<std::size_t>(v)]);
      traffic::shortest_path(in.net, {}, {}, d.route_edges[b], d.route_edges[b + 1], 1, path, sc,
                             mode == 0 ? 1.0 : 0.0);
      settled[mode] += static_cast<double>(sc.settled);
    }
    wall[mode] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const double n = d.n_vehicles();
  bench::Result r;
  r.rate = n / wall[0];
  r.unit = "queries/s";
  r.wall_s = wall[0];
  r.size = {{"queries", n},
            {"edges", static_cast<double>(in.net.n_edges())},
            {"astar_settled_per_query", settled[0] / n},
            {"dijkstra_settled_per_query", settled[1] / n},
            {"dijkstra_queries_per_s", n / wall[1]}};
  return r;
}

}  // namespace

CT_BENCH("traffic.route.grid20",
         "A* with landmarks vs Dijkstra: the 18,000 grid20 p020 trips on the free network",
         [](int) { return route_grid20(); });
