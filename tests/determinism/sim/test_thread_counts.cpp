// Same seed, any thread count: bit-identical states (STYLE.md section 5).
#include <catch2/catch.hpp>

#include "support/diffusion_domain.hpp"

using namespace citytwin;
using namespace citytwin::testing;

namespace {
std::uint64_t run_hash(const Model& m, int threads) {
  SimState s = make_state(m);
  TaskPool pool(threads);
  while (s.t < m.spec.run.duration) step(m, s, pool);
  return hash_state(m, s);
}
}  // namespace

TEST_CASE("state hashes are equal for 1, 2 and 4 threads and differ with the seed",
          "[determinism]") {
  const std::string body = R"(
[scenario]
duration = "200s"
seed = 42
[diffuse]
noise = 0.5
[[event]]
at = "50s"
type = "diffuse.pulse"
cell = 5
amount = 10.0
)";
  auto model = diffusion_model(body);
  REQUIRE(model.has_value());
  const std::uint64_t h1 = run_hash(**model, 1);
  CHECK(run_hash(**model, 2) == h1);
  CHECK(run_hash(**model, 4) == h1);
  auto other = diffusion_model(std::string(body).replace(body.find("seed = 42"), 9, "seed = 43"));
  REQUIRE(other.has_value());
  CHECK(run_hash(**other, 2) != h1);
}
