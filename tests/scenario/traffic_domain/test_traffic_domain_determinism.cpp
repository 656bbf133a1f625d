// The traffic domain gives bit-identical states with 1 and 2 threads (STYLE.md 5).
#include <catch2/catch.hpp>

#include "scenario/traffic_domain/run_support.hpp"

using namespace traffic_test;

TEST_CASE("acosta through the domain: equal state hashes with 1 and 2 threads",
          "[traffic][domain][determinism]") {
  const std::string a = k_root + "/tests/data/traffic/bologna-acosta/";
  const std::string path = write_scenario(
      "det", "[scenario]\nduration = \"6min\"\n[traffic]\nnet = \"" + a +
                 "acosta_buslanes.net.xml.gz\"\nadditional = [\"" + a + "acosta_tls.add.xml\", \"" +
                 a + "acosta_vtypes.add.xml\"]\nroutes = [\"" + a + "acosta.rou.xml.gz\", \"" + a +
                 "acosta_busses.rou.xml\"]\n");
  const Run one = run(path, 1), two = run(path, 2);
  CHECK(one.hash == two.hash);
  CHECK(one.file->read<std::int64_t>("/traffic/arrived")->data ==
        two.file->read<std::int64_t>("/traffic/arrived")->data);
}
