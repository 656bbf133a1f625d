// Side-by-side validation against SUMO 1.15 on the same inputs (label `validate`, run by
// `make validate`): arrivals within +-5 %, mean travel time within +-20 %, and per-edge hourly
// counts with GEH < 5 on at least 85 % of the edges (the acceptance criteria of issue 4;
// GEH = sqrt(2 (M - C)^2 / (M + C)) is the usual traffic-model calibration statistic).
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "citytwin/parallel.hpp"
#include "citytwin/traffic.hpp"
#include "traffic/xml_reader.hpp"

using namespace citytwin;
using namespace citytwin::traffic;

namespace {

const std::string k_data = std::string(CITYTWIN_SOURCE_DIR) + "/tests/data/traffic/";

/// SUMO edgeData: per (hour, edge) the vehicles that entered or departed on the edge.
class EdgeDataHandler final : public xml::Handler {
 public:
  std::map<std::pair<int, std::string>, double> counts;
  Result<void> start(std::string_view name, const xml::Attrs& at, int) override {
    if (name == "interval") {
      auto b = at.number("interval", "begin");
      if (!b) return std::unexpected(b.error());
      m_hour = static_cast<int>(*b / 3600.0);
    } else if (name == "edge") {
      auto id = at.text("edge", "id");
      if (!id) return std::unexpected(id.error());
      auto en = at.number_or("edge", "entered", 0);
      auto de = at.number_or("edge", "departed", 0);
      if (!en || !de) return std::unexpected(Error::msg("bad edge counts"));
      counts[{m_hour, std::string(*id)}] += *en + *de;
    }
    return {};
  }

 private:
  int m_hour = 0;
};

struct Outcome {
  std::int64_t arrived = 0;
  double mean_tt = 0;
  double geh_ok_fraction = 0;
  std::size_t edges_compared = 0;
};

Outcome run_case(const Network& net, const Demand& d, double end_s, bool drain,
                 const std::string& edgedata) {
  Params p;
  TaskPool pool(2);
  TrafficState s = make_state(net, d, p);
  std::vector<EdgeInterval> hours;
  const std::int64_t n = d.n_vehicles();
  double next_hour = 3600;
  while (to_seconds(s.time) < end_s ||
         (drain && (s.inserted < n || s.n_running > 0) && to_seconds(s.time) < 4 * end_s)) {
    step(net, d, p, s, pool);
    if (to_seconds(s.time) >= next_hour) {
      hours.push_back(take_edge_interval(s, next_hour - 3600, next_hour));
      next_hour += 3600;
    }
  }
  hours.push_back(take_edge_interval(s, next_hour - 3600, next_hour));
  Outcome o;
  o.arrived = s.arrived;
  double tt = 0;
  for (std::int32_t v = 0; v < n; ++v)
    if (s.veh_status[v] == VehStatus::arrived)
      tt += to_seconds(s.veh_arrive_time[v] - s.veh_insert_time[v]);
  o.mean_tt = s.arrived > 0 ? tt / static_cast<double>(s.arrived) : 0;

  EdgeDataHandler h;
  REQUIRE(xml::parse_file(edgedata, h));
  std::size_t ok = 0, total = 0;
  for (const auto& [key, ref] : h.counts) {
    const std::int32_t e = net.find_edge(key.second);
    if (e < 0 || static_cast<std::size_t>(key.first) >= hours.size()) continue;
    const double mine =
        hours[static_cast<std::size_t>(key.first)].entered[static_cast<std::size_t>(e)];
    if (mine == 0 && ref == 0) continue;
    const double geh = std::sqrt(2 * (mine - ref) * (mine - ref) / (mine + ref));
    ++total;
    ok += geh < 5 ? 1 : 0;
  }
  o.edges_compared = total;
  o.geh_ok_fraction = total > 0 ? static_cast<double>(ok) / static_cast<double>(total) : 0;
  return o;
}

void check(const char* name, const Outcome& o, const nlohmann::json& ref, const char* arrived_key) {
  const double ref_arr = ref["tripinfo"][arrived_key].get<double>();
  const double ref_tt = ref["tripinfo"]["mean_travel_time_s"].get<double>();
  std::printf(
      "%s: arrived %lld (SUMO %.0f, %+.1f %%), mean travel time %.1f s (SUMO %.1f, %+.1f %%), "
      "GEH<5 on %.1f %% of %zu edge-hours\n",
      name, static_cast<long long>(o.arrived), ref_arr, 100 * (o.arrived / ref_arr - 1), o.mean_tt,
      ref_tt, 100 * (o.mean_tt / ref_tt - 1), 100 * o.geh_ok_fraction, o.edges_compared);
  CHECK(std::abs(o.arrived / ref_arr - 1) <= 0.05);
  CHECK(std::abs(o.mean_tt / ref_tt - 1) <= 0.20);
  CHECK(o.geh_ok_fraction >= 0.85);
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

}  // namespace

TEST_CASE("grid20 vs SUMO") {
  auto net = read_sumo_net(k_data + "grid20/grid20.net.xml.gz");
  REQUIRE(net);
  for (const char* demand : {"p010", "p020"}) {
    Demand d;
    REQUIRE(read_sumo_routes(k_data + "grid20/routes_" + demand + ".rou.xml.gz", *net, d));
    finish_demand(d);
    // SUMO's reference ran to 3,600 s (--end 3600); arrivals and trips are counted to then.
    const Outcome o =
        run_case(*net, d, 3600, false, k_data + "grid20/sumo_edgedata_" + demand + "_3600.xml.gz");
    check((std::string("grid20.") + demand).c_str(), o,
          read_json(k_data + "grid20/reference_metrics_" + demand + ".json"), "arrived");
  }
}

// Bologna acosta: short split edges (down to 0.2 m), turning lanes and bus lanes. It needs the
// multi-junction look-ahead and SUMO's best-lane strategic changes (docs/traffic.md, Model).
TEST_CASE("Bologna acosta vs SUMO") {
  auto net = read_sumo_net(k_data + "bologna-acosta/acosta_buslanes.net.xml.gz");
  REQUIRE(net);
  REQUIRE(read_sumo_tls(k_data + "bologna-acosta/acosta_tls.add.xml", *net));
  REQUIRE(read_sumo_stop_places(k_data + "bologna-acosta/acosta_bus_stops.add.xml", *net));
  Demand d;
  for (const char* f : {"acosta_vtypes.add.xml", "acosta.rou.xml.gz", "acosta_busses.rou.xml"})
    REQUIRE(read_sumo_routes(k_data + "bologna-acosta/" + f, *net, d));
  finish_demand(d);
  // SUMO ran until every vehicle arrived (5,752 s); so do we (capped at 4x).
  const Outcome o =
      run_case(*net, d, 5752, true, k_data + "bologna-acosta/sumo_edgedata_300s.xml.gz");
  check("acosta", o, read_json(k_data + "bologna-acosta/reference_metrics.json"), "arrived");
}
