// Detectors side by side with SUMO 1.15 (label `validate`): Bologna acosta's 58 induction
// loops (acosta_detectors.add.xml), counts per 1,800 s against SUMO's e1 output
// (sumo_e1_1800s.xml: `sumo -c run.sumocfg --seed 42`, nVehEntered = vehicles whose front
// reached the loop, our definition of count). GEH = sqrt(2 (M - C)^2 / (M + C)). Measured
// (2 threads): total 23,892 vs SUMO 24,149; all 28 sites GEH < 5 over the run; per 30 min
// 94 % of the sites and 91 % of the single loops have GEH < 5 (58 % and 57 % before the
// look-ahead and best-lane changes of docs/traffic.md).
#include <catch2/catch.hpp>

#include <cmath>
#include <map>

#include "citytwin/parallel.hpp"
#include "citytwin/traffic.hpp"
#include "traffic/xml_reader.hpp"

using namespace citytwin;
using namespace citytwin::traffic;

namespace {

const std::string k_dir = std::string(CITYTWIN_SOURCE_DIR) + "/tests/data/traffic/bologna-acosta/";

/// SUMO e1 output: per (interval begin, detector id) the vehicles that entered and the speed.
class E1Handler final : public xml::Handler {
 public:
  std::map<std::pair<int, std::string>, std::pair<double, double>> rows;  // entered, speed
  Result<void> start(std::string_view name, const xml::Attrs& at, int) override {
    if (name != "interval") return {};
    auto b = at.number("interval", "begin");
    auto id = at.text("interval", "id");
    auto n = at.number("interval", "nVehEntered");
    auto v = at.number("interval", "speed");
    if (!b || !id || !n || !v) return fail(Error::msg("bad e1 interval"));
    rows[{static_cast<int>(*b), std::string(*id)}] = {*n, *v};
    return {};
  }
};

}  // namespace

TEST_CASE("acosta: induction-loop counts per 30 min against SUMO's e1 output") {
  auto net = read_sumo_net(k_dir + "acosta_buslanes.net.xml.gz");
  REQUIRE(net);
  REQUIRE(read_sumo_tls(k_dir + "acosta_tls.add.xml", *net));
  REQUIRE(read_sumo_stop_places(k_dir + "acosta_bus_stops.add.xml", *net));
  Demand d;
  for (const char* f : {"acosta_vtypes.add.xml", "acosta.rou.xml.gz", "acosta_busses.rou.xml"})
    REQUIRE(read_sumo_routes(k_dir + f, *net, d));
  finish_demand(d);
  auto dets = read_sumo_detectors(k_dir + "acosta_detectors.add.xml", *net);
  REQUIRE(dets);
  E1Handler ref;
  REQUIRE(xml::parse_file(k_dir + "sumo_e1_1800s.xml", ref));

  Params p;
  TaskPool pool(2);
  TrafficState s = make_state(*net, d, p);
  REQUIRE(set_detectors(*net, s, *dets));
  std::vector<DetectorInterval> iv;
  const auto n = d.n_vehicles();
  while (s.inserted + s.unroutable < n || s.n_running > 0) {
    step(*net, d, p, s, pool);
    if (s.time % 1800000 == 0 && s.time <= 5400000)
      iv.push_back(take_detector_interval(s, to_seconds(s.time) - 1800, to_seconds(s.time)));
    REQUIRE(s.time < 36000000);
  }
  // The last interval: everything after 5,400 s (SUMO's ends at 5,752 s, when its last
  // vehicle left).
  iv.push_back(
      take_detector_interval(s, 1800.0 * static_cast<double>(iv.size()), to_seconds(s.time)));

  std::size_t compared = 0, ok = 0;
  double sum_ours = 0, sum_sumo = 0;
  for (std::size_t k = 0; k < iv.size(); ++k)
    for (std::size_t j = 0; j < dets->size(); ++j) {
      auto it = ref.rows.find({static_cast<int>(1800 * k), (*dets)[j].id});
      if (it == ref.rows.end()) continue;
      const double m = iv[k].count[j], c = it->second.first;
      sum_ours += m;
      sum_sumo += c;
      ++compared;
      const double geh = m + c > 0 ? std::sqrt(2 * (m - c) * (m - c) / (m + c)) : 0;
      ok += geh < 5 ? 1 : 0;
    }
  const double frac =
      static_cast<double>(ok) / static_cast<double>(std::max<std::size_t>(compared, 1));
  // Per measuring site (the loops of one road cross-section, ids "<site>__l<lane>"): independent
  // of which lane the vehicles chose.
  std::map<std::pair<std::size_t, std::string>, std::pair<double, double>> site;
  for (std::size_t k = 0; k < iv.size(); ++k)
    for (std::size_t j = 0; j < dets->size(); ++j) {
      auto it = ref.rows.find({static_cast<int>(1800 * k), (*dets)[j].id});
      if (it == ref.rows.end()) continue;
      const std::string& id = (*dets)[j].id;
      auto& mc = site[{k, id.substr(0, id.rfind("__l"))}];
      mc.first += iv[k].count[j];
      mc.second += it->second.first;
    }
  std::size_t site_ok = 0;
  for (const auto& [key, mc] : site) {
    const double m = mc.first, c = mc.second;
    site_ok += m + c == 0 || std::sqrt(2 * (m - c) * (m - c) / (m + c)) < 5 ? 1 : 0;
  }
  const double site_frac = static_cast<double>(site_ok) / static_cast<double>(site.size());
  // Whole run per site: the counting itself, independent of when the vehicles passed.
  std::map<std::string, std::pair<double, double>> whole;
  for (const auto& [key, mc] : site) {
    whole[key.second].first += mc.first;
    whole[key.second].second += mc.second;
  }
  std::size_t whole_ok = 0;
  for (const auto& [key, mc] : whole) {
    const double m = mc.first, c = mc.second;
    whole_ok += m + c == 0 || std::sqrt(2 * (m - c) * (m - c) / (m + c)) < 5 ? 1 : 0;
  }
  WARN("acosta sites, whole run: GEH < 5 on " << whole_ok << " of " << whole.size());
  WARN("acosta sites: " << site.size() << " (site, 30 min) pairs, GEH < 5 on " << 100 * site_frac
                        << " %");
  WARN("acosta loops: " << compared << " (detector, 30 min) pairs, GEH < 5 on " << 100 * frac
                        << " %; total count " << sum_ours << " vs SUMO " << sum_sumo);
  CHECK(compared == 58 * 4);
  // Asserted: what the loops count over the run (all vehicles leave in both): total within
  // 5 %, every site with GEH < 5. Reported only: per 30 min and per lane, which depend on the
  // model's timing and lane choice (tests/scenario/traffic/test_traffic_validate.cpp).
  CHECK(sum_ours == Approx(sum_sumo).epsilon(0.05));
  CHECK(whole_ok == whole.size());
  CHECK(whole.size() == 28);
}
