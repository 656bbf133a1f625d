// A state's image (checkpoints, clones): a state restored from it continues bit-identically,
// a clone shares nothing with its parent, and a damaged image is refused by name. On the
// coupled Monaco scenario (flood, traffic, power and the exchange).
#include <catch2/catch.hpp>

#include <vector>

#include "citytwin/sim.hpp"

using namespace citytwin;

namespace {

std::shared_ptr<const Model> monaco(SimTime duration) {
  auto spec = load_scenario(std::string(CITYTWIN_SOURCE_DIR) + "/scenarios/monaco.toml");
  REQUIRE(spec.has_value());
  spec->run.duration = duration;
  std::erase_if(spec->events, [&](const EventSpec& e) { return e.at > duration; });
  auto model = compile_model(std::move(*spec));
  REQUIRE(model.has_value());
  return *model;
}

// Parses `text` ([[event]] tables) for `m` and injects every event into `s`; how many.
std::size_t inject_text(const Model& m, SimState& s, const std::string& text,
                        const std::string& where) {
  auto events = parse_events(m, text, where);
  INFO((events ? std::string() : events.error().to_string()));
  REQUIRE(events.has_value());
  for (EventSpec& e : *events) inject(s, std::move(e));
  return events->size();
}

}  // namespace

TEST_CASE("a state restored from its image continues bit-identically, at any step",
          "[determinism][checkpoint]") {
  const auto model = monaco(240'000);
  const Model& m = *model;
  TaskPool two(2), one(1);
  SimState s = make_state(m);
  std::vector<std::uint64_t> hashes;  // after every step
  std::vector<StateImage> images;     // at 1 and 2 min
  std::vector<std::int64_t> image_steps;
  while (s.t < m.spec.run.duration) {
    step(m, s, two);
    hashes.push_back(hash_state(m, s));
    if (s.t == 60'000 || s.t == 120'000) {
      auto img = save_state(m, s);
      REQUIRE(img.has_value());
      images.push_back(std::move(*img));
      image_steps.push_back(s.step);
    }
  }
  REQUIRE(images.size() == 2);
  for (std::size_t k = 0; k < images.size(); ++k) {
    auto r = load_state(m, images[k], "test");
    REQUIRE(r.has_value());
    SimState& c = *r;
    CHECK(c.step == image_steps[k]);
    CHECK(hash_state(m, c) == hashes[static_cast<std::size_t>(c.step - 1)]);
    std::size_t differ = 0;
    while (c.t < m.spec.run.duration) {
      step(m, c, one);  // another thread count than the original
      differ += hash_state(m, c) != hashes[static_cast<std::size_t>(c.step - 1)];
    }
    INFO("restored at step " << image_steps[k]);
    CHECK(differ == 0);
    CHECK(c.step == static_cast<std::int64_t>(hashes.size()));
  }
}

TEST_CASE("a clone shares nothing with its parent and follows the same path",
          "[determinism][checkpoint]") {
  const auto model = monaco(120'000);
  const Model& m = *model;
  TaskPool pool(2);
  SimState parent = make_state(m);
  for (int k = 0; k < 60; ++k) step(m, parent, pool);
  const std::uint64_t at_fork = hash_state(m, parent);
  auto clone = clone_state(m, parent);
  REQUIRE(clone.has_value());
  CHECK(hash_state(m, *clone) == at_fork);
  for (int k = 0; k < 30; ++k) step(m, *clone, pool);
  CHECK(hash_state(m, parent) == at_fork);  // stepping the clone left the parent alone
  for (int k = 0; k < 30; ++k) step(m, parent, pool);
  CHECK(hash_state(m, parent) == hash_state(m, *clone));
  CHECK(hash_state(m, parent) != at_fork);
}

TEST_CASE("a damaged or foreign image is refused, naming the part and the field", "[checkpoint]") {
  const auto model = monaco(60'000);
  const Model& m = *model;
  TaskPool pool(1);
  SimState s = make_state(m);
  step(m, s, pool);
  auto img = save_state(m, s);
  REQUIRE(img.has_value());
  REQUIRE(img->names == std::vector<std::string>{"sim", "flood", "traffic", "power", "exchange.0",
                                                 "exchange.1", "coupling"});
  CHECK(img->bytes() > 0);

  SECTION("a part cut short") {
    img->parts[2].resize(img->parts[2].size() / 2);
    auto r = load_state(m, *img, "cp.h5");
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().to_string(),
               Catch::Contains("cp.h5") && Catch::Contains("state part traffic: field"));
  }
  SECTION("bytes left over") {
    img->parts[3].push_back(std::byte{0});
    auto r = load_state(m, *img, "cp.h5");
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().to_string(), Catch::Contains("state part power: 1 bytes left over"));
  }
  SECTION("another scenario's parts") {
    img->names.erase(img->names.begin() + 1);
    img->parts.erase(img->parts.begin() + 1);
    auto r = load_state(m, *img, "cp.h5");
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().to_string(), Catch::Contains("another scenario"));
  }
  SECTION("an injected event without scenario text is not stored") {
    EventSpec e;
    e.at = 30'000;
    e.type = "power.scale_load";
    inject(s, std::move(e));
    auto r = save_state(m, s);
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().to_string(),
               Catch::Contains("power.scale_load") && Catch::Contains("no scenario text"));
  }
}

TEST_CASE("injected events waiting in the inbox are stored and apply after a load",
          "[determinism][checkpoint]") {
  // A drill's commands (docs/live.md): events due at later steps are part of the state.
  const auto model = monaco(60'000);
  const Model& m = *model;
  TaskPool pool(2);
  SimState s = make_state(m), plain = make_state(m);
  for (int k = 0; k < 5; ++k) step(m, s, pool), step(m, plain, pool);
  REQUIRE(inject_text(m, s,
                      "[[event]]\nat = \"30s\"\ntype = \"power.scale_load\"\nfactor = 1.2\n"
                      "[[event]]\nat = \"20s\"\ntype = \"traffic.speed_limit\"\n"
                      "edges = [\"899\"]\nspeed = \"5m/s\"\n",
                      "inject.toml") == 2);
  CHECK(hash_state(m, s) != hash_state(m, plain));  // the inbox is part of the state
  auto img = save_state(m, s);
  REQUIRE(img.has_value());
  auto loaded = load_state(m, *img, "cp.h5");
  INFO((loaded ? std::string() : loaded.error().to_string()));
  REQUIRE(loaded.has_value());
  REQUIRE(loaded->inbox.size() == 2);
  CHECK(loaded->inbox[0].type == "traffic.speed_limit");
  CHECK(loaded->inbox[0].at == 20'000);
  CHECK(loaded->inbox[0].payload != nullptr);
  CHECK(loaded->inbox[1].where == "inject.toml:1");
  CHECK(hash_state(m, *loaded) == hash_state(m, s));
  for (int k = 0; k < 40; ++k) {
    step(m, s, pool);
    step(m, *loaded, pool);
    step(m, plain, pool);
  }
  CHECK(s.inbox.empty());
  CHECK(hash_state(m, *loaded) == hash_state(m, s));
  CHECK(hash_state(m, s) != hash_state(m, plain));  // the events did apply
}

TEST_CASE("a state restored in the middle of a gradual breach continues bit-identically",
          "[determinism][checkpoint]") {
  // The breached bed is the state's control array, rebuilt from the breaches after a load.
  const auto model = monaco(120'000);
  const Model& m = *model;
  TaskPool pool(2);
  SimState s = make_state(m), plain = make_state(m);
  REQUIRE(inject_text(m, s,
                      "[[event]]\nat = \"10s\"\ntype = \"flood.breach\"\n"
                      "line = [[373555.0, 4844865.0], [373575.0, 4844865.0]]\n"
                      "width = \"10m\"\nlevel = 60.0\nduration = \"60s\"\n",
                      "breach.toml") == 1);
  for (int k = 0; k < 40; ++k) step(m, s, pool), step(m, plain, pool);
  auto loaded = clone_state(m, s);
  REQUIRE(loaded.has_value());
  CHECK(hash_state(m, *loaded) == hash_state(m, s));
  for (int k = 0; k < 60; ++k) step(m, s, pool), step(m, *loaded, pool), step(m, plain, pool);
  CHECK(hash_state(m, *loaded) == hash_state(m, s));
  CHECK(hash_state(m, s) != hash_state(m, plain));  // the lowered bed moved the water
}

TEST_CASE("a reseeded state draws what is still to come with its new seed",
          "[determinism][checkpoint]") {
  // A fork's member (citytwin fork): the clone of a running state takes another seed.
  const auto model = monaco(120'000);
  const Model& m = *model;
  TaskPool pool(2);
  SimState parent = make_state(m);
  for (int k = 0; k < 60; ++k) step(m, parent, pool);
  const std::uint64_t at_fork = hash_state(m, parent);
  auto img = save_state(m, parent);
  REQUIRE(img.has_value());
  auto at = image_time(*img, "test");
  REQUIRE(at.has_value());
  CHECK(*at == 60'000);

  auto same = clone_state(m, parent);
  REQUIRE(same.has_value());
  reseed_state(m, *same, parent.seed);  // its own seed: the vehicles still to depart draw alike
  CHECK(hash_state(m, *same) == at_fork);

  auto a = clone_state(m, parent), b = clone_state(m, parent);
  REQUIRE((a.has_value() && b.has_value()));
  reseed_state(m, *a, 7);
  reseed_state(m, *b, 7);
  CHECK(a->seed == 7);
  CHECK(a->coupling.seed == 7);
  // The drivers still to depart drew again (the traffic part); the flood drew nothing.
  auto reseeded = save_state(m, *a);
  REQUIRE(reseeded.has_value());
  REQUIRE(reseeded->names[1] == "flood");
  REQUIRE(reseeded->names[2] == "traffic");
  CHECK(reseeded->parts[2] != img->parts[2]);
  CHECK(reseeded->parts[1] == img->parts[1]);
  for (int k = 0; k < 30; ++k) {
    step(m, *a, pool);
    step(m, *b, pool);
    step(m, parent, pool);
  }
  CHECK(hash_state(m, *a) == hash_state(m, *b));
  CHECK(hash_state(m, *a) != hash_state(m, parent));

  // The draws are functions of (seed, vehicle): reseeded back, a clone is its parent again.
  auto c = clone_state(m, parent);
  REQUIRE(c.has_value());
  reseed_state(m, *c, 7);
  reseed_state(m, *c, parent.seed);
  CHECK(hash_state(m, *c) == hash_state(m, parent));
}
