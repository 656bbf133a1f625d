// The traffic domain gives bit-identical states with 1 and 2 threads (STYLE.md 5).
#include <catch2/catch.hpp>

#include "scenario/traffic_domain/run_support.hpp"

using namespace traffic_test;

TEST_CASE("acosta through the domain: equal state hashes with 1 and 2 threads",
          "[traffic][domain][determinism]") {
  const std::string a = k_root + "/tests/data/traffic/bologna-acosta/";
  const std::string path =
      write_scenario("det", "[scenario]\nduration = \"6min\"\n[traffic]\nnet = \"" + a +
                                "acosta_buslanes.net.xml.gz\"\nadditional = [\"" + a +
                                "acosta_tls.add.xml\", \"" + a + "acosta_vtypes.add.xml\", \"" + a +
                                "acosta_bus_stops.add.xml\"]\nroutes = [\"" + a +
                                "acosta.rou.xml.gz\", \"" + a + "acosta_busses.rou.xml\"]\n");
  const Finished one = run(path, 1), two = run(path, 2);
  CHECK(one.hash == two.hash);
  CHECK(one.file->read<std::int64_t>("/traffic/arrived")->data ==
        two.file->read<std::int64_t>("/traffic/arrived")->data);
}

TEST_CASE("Monaco city traffic with re-routing and a closure: equal hashes with 1 and 2 threads",
          "[traffic][domain][determinism]") {
  const std::string path =
      write_scenario("det_city",
                     "[scenario]\nduration = \"10min\"\nstart = \"2026-06-15T07:00:00+02:00\"\n"
                     "[city]\nosm = \"" +
                         k_root +
                         "/assets/monaco/monaco-2025-02.osm.pbf\"\nbbox = [7.405, 43.718, 7.445, "
                         "43.755]\n[traffic]\nnetwork = \"city\"\nreroute_period = \"1min\"\n"
                         "[traffic.demand]\ntrips_per_resident = 0.9\n[[event]]\nat = \"3min\"\n"
                         "type = \"traffic.close\"\nbbox = [372500, 4843000, 373000, 4843500]\n");
  const Finished one = run(path, 1), two = run(path, 2);
  CHECK(one.hash == two.hash);
  CHECK(one.file->read<std::int64_t>("/traffic/rerouted")->data ==
        two.file->read<std::int64_t>("/traffic/rerouted")->data);
}
