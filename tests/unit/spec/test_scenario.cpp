// Scenario loading: every error kind names file:line:column, the key, found and expected.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "citytwin/spec.hpp"

using namespace citytwin;
using Catch::Matchers::Contains;

namespace {

// A minimal domain with one event type, to exercise domain sections and events.
struct PingSpec : DomainSpec {
  double gain = 0;
  std::string series;  // an input file, as a domain's rain or hydrograph file
};
struct PingEvent : EventPayload {
  int id = 0;
};
std::shared_ptr<const DomainSpec> parse_ping(SectionReader& s, const ScenarioSpec&) {
  auto spec = std::make_shared<PingSpec>();
  spec->gain = s.number_or("gain", 1.0, 0.0, 10.0);
  spec->series = s.existing_file("series").value_or("");
  // A rule about a key that is absent, as a domain's "rain needs an intensity".
  if (s.has("series") && !s.has("gain")) s.error("gain", "a series needs a gain");
  return spec;
}
std::shared_ptr<const EventPayload> parse_ping_event(std::string_view action, SectionReader& ev) {
  if (action != "ping") return nullptr;
  auto e = std::make_shared<PingEvent>();
  e->id = static_cast<int>(ev.integer_or("id", 0));
  return e;
}
const DomainInfo k_domains[] = {{"ping", parse_ping, parse_ping_event}};

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() /
           ("citytwin_spec_" + std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    const auto p = path / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }
};

// Runs a block from another working directory and comes back (tests run in the source tree).
struct WorkingDir {
  std::filesystem::path previous = std::filesystem::current_path();
  explicit WorkingDir(const std::filesystem::path& p) {
    std::filesystem::create_directories(p);
    std::filesystem::current_path(p);
  }
  ~WorkingDir() { std::filesystem::current_path(previous); }
};

Error errors_of(const std::string& text) {
  auto r = parse_scenario(text, "s.toml", k_domains);
  REQUIRE(!r.has_value());
  return r.error();
}

}  // namespace

TEST_CASE("a valid scenario is typed", "[spec]") {
  auto r = parse_scenario(R"(
[scenario]
name = "t"
duration = "2h"
step = "500ms"
start = "2026-06-01T08:00:00Z"
seed = 7
[output]
every = "5min"
[ping]
gain = 2.5
)",
                          "s.toml", k_domains);
  REQUIRE(r.has_value());
  CHECK(r->run.name == "t");
  CHECK(r->run.duration == 7'200'000);
  CHECK(r->run.step == 500);
  CHECK(r->run.start_unix_s == 1'780'300'800);
  CHECK(r->run.seed == 7);
  CHECK(r->output.every == 300'000);
  CHECK(r->output.dir == "out/t");
  REQUIRE(r->domain<PingSpec>("ping") != nullptr);
  CHECK(r->domain<PingSpec>("ping")->gain == 2.5);
  CHECK_THAT(r->resolved_text, Contains("gain = 2.5"));
}

TEST_CASE("a typo'd key is reported with its line and a suggestion", "[spec]") {
  const Error e = errors_of("[scenario]\nduration = \"1h\"\nduraton = \"2h\"\n");
  REQUIRE(e.items.size() == 1);
  const Diagnostic& d = e.first();
  CHECK(d.file == "s.toml");
  CHECK(d.line == 3);
  CHECK(d.column == 1);
  CHECK(d.field == "scenario.duraton");
  CHECK(d.message == "unknown key");
  CHECK_THAT(d.expected, Contains("\"duration\" (did you mean it?)"));
  CHECK_THAT(d.to_string(), Contains("s.toml:3:1: scenario.duraton: unknown key"));
}

TEST_CASE("an unknown section lists nothing it could be confused with", "[spec]") {
  const Error e = errors_of("[scenario]\nduration = \"1h\"\n\n[flod]\nmanning = 0.03\n");
  REQUIRE(e.items.size() == 1);
  CHECK(e.first().line == 4);
  CHECK(e.first().field == "flod");
}

TEST_CASE("wrong types and bad units name what was found and expected", "[spec]") {
  const Error e = errors_of(R"([scenario]
duration = 3600
step = "1 fortnight"
seed = "seven"
[city]
level_height = "3 storeys"
default_building_height = 12
[ping]
gain = 11
)");
  REQUIRE(e.items.size() == 6);
  CHECK(e.items[0].line == 2);
  CHECK(e.items[0].field == "scenario.duration");
  CHECK(e.items[0].message == "a duration needs a unit");
  CHECK(e.items[0].found == "3600");
  CHECK(e.items[1].line == 3);
  CHECK(e.items[1].message == "bad duration");
  CHECK_THAT(e.items[1].expected, Contains("units ms, s, min, h, d"));
  CHECK(e.items[2].line == 4);
  CHECK(e.items[2].found == "a string");
  CHECK(e.items[2].expected == "an integer");
  CHECK(e.items[3].line == 6);
  CHECK(e.items[3].field == "city.level_height");
  CHECK_THAT(e.items[3].expected, Contains("known unit (mm, cm, m, km)"));
  CHECK(e.items[4].line == 7);
  CHECK_THAT(e.items[4].expected, Contains("e.g. \"5m\""));
  // The domain's own range check is located the same way.
  CHECK(e.items[5].line == 9);
  CHECK(e.items[5].field == "ping.gain");
  CHECK(e.items[5].expected == "a value in [0, 10]");
}

TEST_CASE("a missing input file is reported at its key, resolved path included", "[spec]") {
  TempDir dir;
  const std::string path = dir.write("a/s.toml", "[city]\n\ndem = \"terrain.tif\"\n");
  auto r = load_scenario(path, k_domains);
  REQUIRE(!r);
  const Diagnostic& d = r.error().first();
  CHECK(d.file == path);
  CHECK(d.line == 3);
  CHECK(d.column == 7);
  CHECK(d.field == "city.dem");
  CHECK(d.message == "file not found");
  CHECK(d.found == (dir.path / "a" / "terrain.tif").string());
}

TEST_CASE("extends: a variant overrides its base; paths resolve against the writing file",
          "[spec]") {
  TempDir dir;
  dir.write("base/terrain.asc", "ncols 1\n");
  dir.write("base/base.toml", R"([scenario]
name = "base"
duration = "2h"
seed = 3
[city]
dem = "terrain.asc"
level_height = "3m"
[ping]
gain = 1.0
)");
  const std::string variant = dir.write("variants/wet.toml", R"(extends = "../base/base.toml"
[scenario]
name = "wet"
[ping]
gain = 4.0
)");
  auto r = load_scenario(variant, k_domains);
  REQUIRE(r.has_value());
  CHECK(r->run.name == "wet");          // overridden
  CHECK(r->run.duration == 7'200'000);  // inherited
  CHECK(r->run.seed == 3);
  CHECK(r->city.dem == std::vector<std::string>{(dir.path / "base" / "terrain.asc").string()});
  CHECK(r->domain<PingSpec>("ping")->gain == 4.0);
  CHECK_THAT(r->resolved_text, !Contains("extends"));
}

TEST_CASE("extends: each relative path resolves against the file that wrote it, from any folder",
          "[spec]") {
  // The base in A names the terrain; the variant in B names its own series and inherits the
  // terrain; the scenario is loaded by a relative path from a third folder C.
  TempDir dir;
  dir.write("A/terrain.asc", "ncols 1\n");
  dir.write("A/base.toml", "[city]\ndem = \"terrain.asc\"\n[ping]\ngain = 2.0\n");
  dir.write("B/rain.csv", "0, 1\n");
  dir.write("B/storm.toml", "extends = \"../A/base.toml\"\n[ping]\nseries = \"rain.csv\"\n");
  const WorkingDir in_c(dir.path / "C");
  auto r = load_scenario("../B/storm.toml", k_domains);
  REQUIRE(r.has_value());
  REQUIRE(r->city.dem.size() == 1);
  CHECK(r->city.dem[0] == "../A/terrain.asc");
  CHECK(std::filesystem::equivalent(r->city.dem[0], dir.path / "A" / "terrain.asc"));
  const auto* ping = r->domain<PingSpec>("ping");
  REQUIRE(ping != nullptr);
  CHECK(ping->series == "../B/rain.csv");
  CHECK(std::filesystem::equivalent(ping->series, dir.path / "B" / "rain.csv"));
  CHECK(ping->gain == 2.0);  // inherited
}

TEST_CASE("extends: '..' after a linked folder goes where the file system goes", "[spec]") {
  // A shared scenario folder linked into a planner's workspace: from ws/whatif (a link to
  // shared/scen/whatif), "../base.toml" is shared/scen/base.toml, not ws/base.toml; tidying
  // the path by its text alone sent both reads into the working directory.
  TempDir dir;
  namespace fs = std::filesystem;
  dir.write("shared/scen/base.toml", "[city]\ndem = \"../data/terrain.asc\"\n[ping]\n");
  dir.write("shared/data/terrain.asc", "ncols 1\n");
  dir.write("shared/data/rain.csv", "0, 1\n");
  dir.write("shared/scen/whatif/storm.toml",
            "extends = \"../base.toml\"\n[ping]\nseries = \"../../data/rain.csv\"\ngain = 1.0\n");
  fs::create_directories(dir.path / "ws");
  fs::create_directory_symlink(dir.path / "shared" / "scen" / "whatif", dir.path / "ws" / "whatif");
  const WorkingDir in_ws(dir.path / "ws");
  auto r = load_scenario("whatif/storm.toml", k_domains);
  REQUIRE(r.has_value());
  const fs::path data = fs::canonical(dir.path / "shared" / "data");
  REQUIRE(r->city.dem.size() == 1);
  CHECK(fs::path(r->city.dem[0]) == data / "terrain.asc");
  CHECK(fs::path(r->domain<PingSpec>("ping")->series) == data / "rain.csv");
}

TEST_CASE("extends: an error in a variant names the variant's file, line and key", "[spec]") {
  TempDir dir;
  dir.write("A/base.toml", "[scenario]\nduration = \"2h\"\n[ping]\ngain = 1.0\n");
  SECTION("a negative duration") {
    const std::string v =
        dir.write("B/v.toml", "extends = \"../A/base.toml\"\n\n[scenario]\nduration = \"-5s\"\n");
    auto r = load_scenario(v, k_domains);
    REQUIRE(!r);
    REQUIRE(r.error().items.size() == 1);
    const Diagnostic& d = r.error().first();
    CHECK(d.file == v);
    CHECK(d.line == 4);
    CHECK(d.field == "scenario.duration");
    CHECK(d.message == "bad duration");
    CHECK_THAT(d.to_string(), Contains(v + ":4:12: scenario.duration: bad duration"));
  }
  SECTION("wrong types, in a table the base has and in one it has not") {
    const std::string v = dir.write("B/v.toml", R"(extends = "../A/base.toml"
[ping]
gain = "high"
[city]
dem = 3
)");
    auto r = load_scenario(v, k_domains);
    REQUIRE(!r);
    REQUIRE(r.error().items.size() == 2);
    CHECK_THAT(r.error().items[0].to_string(),
               Contains(v + ":3:8: ping.gain: wrong type (found a string \"high\""));
    CHECK_THAT(r.error().items[1].to_string(), Contains(v + ":5:7: city.dem: wrong type"));
  }
  SECTION("a missing file the variant names") {
    const std::string v =
        dir.write("B/v.toml", "extends = \"../A/base.toml\"\n[ping]\n\nseries = \"gone.csv\"\n");
    auto r = load_scenario(v, k_domains);
    REQUIRE(!r);
    const Diagnostic& d = r.error().first();
    CHECK(d.file == v);
    CHECK(d.line == 4);
    CHECK(d.field == "ping.series");
    CHECK(d.found == (dir.path / "B" / "gone.csv").string());
  }
  SECTION("a key the variant's table lacks: located at the table") {
    dir.write("A/plain.toml", "[scenario]\nduration = \"2h\"\n");
    dir.write("B/rain.csv", "0, 1\n");
    const std::string v =
        dir.write("B/v.toml", "extends = \"../A/plain.toml\"\n\n[ping]\nseries = \"rain.csv\"\n");
    auto r = load_scenario(v, k_domains);
    REQUIRE(!r);
    CHECK_THAT(r.error().first().to_string(),
               Contains(v + ":3:1: ping.gain: a series needs a gain"));
  }
}

TEST_CASE("extends: a variant writes its own output folder, never its baseline's", "[spec]") {
  TempDir dir;
  dir.write("base.toml", R"([scenario]
name = "baseline"
[output]
dir = "out/baseline"
every = "5min"
[ping]
)");
  SECTION("the base alone keeps its folder") {
    auto r = load_scenario((dir.path / "base.toml").string(), k_domains);
    REQUIRE(r.has_value());
    CHECK(r->output.dir == "out/baseline");
  }
  SECTION("a variant without a name: its file name") {
    auto r = load_scenario(dir.write("v/storm.toml", "extends = \"../base.toml\"\n"), k_domains);
    REQUIRE(r.has_value());
    CHECK(r->output.dir == "out/storm");
    CHECK(r->run.name == "baseline");   // the name itself is inherited
    CHECK(r->output.every == 300'000);  // and the rest of [output]
  }
  SECTION("a variant's own name") {
    auto r = load_scenario(
        dir.write("v/storm.toml", "extends = \"../base.toml\"\n[scenario]\nname = \"wet\"\n"),
        k_domains);
    REQUIRE(r.has_value());
    CHECK(r->output.dir == "out/wet");
  }
  SECTION("a dir written in the variant wins") {
    auto r = load_scenario(dir.write("v/storm.toml", R"(extends = "../base.toml"
[scenario]
name = "wet"
[output]
dir = "runs/storm-a"
)"),
                           k_domains);
    REQUIRE(r.has_value());
    CHECK(r->output.dir == "runs/storm-a");
  }
  SECTION("a variant of a variant: only the file loaded counts") {
    dir.write("v/mid.toml", "extends = \"../base.toml\"\n[output]\ndir = \"out/mid\"\n");
    auto r = load_scenario(dir.write("v/late.toml", "extends = \"mid.toml\"\n"), k_domains);
    REQUIRE(r.has_value());
    CHECK(r->output.dir == "out/late");
  }
}

TEST_CASE("bad extends: missing base, wrong type, cycle, and errors inside the base", "[spec]") {
  TempDir dir;
  SECTION("missing base") {
    const std::string p = dir.write("v.toml", "\nextends = \"nope.toml\"\n");
    auto r = load_scenario(p, k_domains);
    REQUIRE(!r);
    CHECK(r.error().first().file == p);
    CHECK(r.error().first().line == 2);
    CHECK(r.error().first().field == "extends");
    CHECK(r.error().first().message == "file not found");
  }
  SECTION("wrong type") {
    const std::string p = dir.write("v.toml", "extends = 3\n");
    auto r = load_scenario(p, k_domains);
    REQUIRE(!r);
    CHECK(r.error().first().found == "an integer");
  }
  SECTION("cycle") {
    dir.write("a.toml", "extends = \"b.toml\"\n");
    const std::string b = dir.write("b.toml", "extends = \"a.toml\"\n");
    auto r = load_scenario(dir.write("c.toml", "extends = \"a.toml\"\n"), k_domains);
    REQUIRE(!r);
    CHECK_THAT(r.error().first().message, Contains("extends cycle"));
    CHECK(r.error().first().file == b);
  }
  SECTION("an error in the base names the base file") {
    const std::string base = dir.write("base.toml", "[scenario]\nsteps = \"1s\"\n");
    auto r = load_scenario(dir.write("v.toml", "extends = \"base.toml\"\n"), k_domains);
    REQUIRE(!r);
    CHECK(r.error().first().file == base);
    CHECK(r.error().first().line == 2);
  }
}

TEST_CASE("TOML syntax errors are located", "[spec]") {
  const Error e = errors_of("[scenario]\nduration = \"1h\n");
  CHECK(e.first().line == 2);
  CHECK_THAT(e.first().message, Contains("TOML syntax error"));
}

TEST_CASE("events: sorted by time, equal times keep declaration order", "[spec][events]") {
  auto r = parse_scenario(R"([scenario]
duration = "1h"
start = "2026-06-01T08:00:00Z"
[ping]
[[event]]
at = "10min"
type = "ping.ping"
id = 1
[[event]]
at = "5min"
type = "ping.ping"
id = 2
[[event]]
at = "2026-06-01T08:10:00Z"
type = "ping.ping"
id = 3
[[event]]
at = "600s"
type = "ping.ping"
id = 4
)",
                          "s.toml", k_domains);
  REQUIRE(r.has_value());
  REQUIRE(r->events.size() == 4);
  auto id = [&](int i) { return dynamic_cast<const PingEvent&>(*r->events[i].payload).id; };
  CHECK(r->events[0].at == 300'000);
  CHECK(id(0) == 2);
  CHECK(r->events[1].at == 600'000);
  CHECK(id(1) == 1);
  CHECK(id(2) == 3);
  CHECK(id(3) == 4);
  CHECK(r->events[3].where == "s.toml:17");
}

TEST_CASE("bad events are located", "[spec][events]") {
  const Error e = errors_of(R"([scenario]
duration = "1h"
[ping]
[[event]]
at = "2h"
type = "ping.ping"
[[event]]
at = "1min"
type = "ping.pong"
[[event]]
at = "1min"
type = "flood.breach"
)");
  REQUIRE(e.items.size() == 3);
  CHECK(e.items[0].line == 5);
  CHECK(e.items[0].message == "outside the run");
  CHECK(e.items[1].line == 9);
  CHECK(e.items[1].message == "unknown event type");
  CHECK(e.items[2].line == 12);
  CHECK(e.items[2].message == "no such domain in this scenario");
}

TEST_CASE("mangled scenario text never crashes the loader: it loads or reports located errors",
          "[spec][robustness]") {
  // Byte-level mutations (deletions, duplications, replacements by TOML-significant
  // characters) of a realistic scenario, from a fixed-seed generator.
  const std::string base = R"([scenario]
name = "m"
duration = "2h"
step = "1s"
start = "2026-06-15T07:00:00+02:00"
seed = 42
[city]
bbox = [7.405, 43.718, 7.445, 43.755]
terrain_resolution = "20m"
[output]
every = "1min"
[ping]
gain = 2.0
[[event]]
at = "10min"
type = "ping.ping"
id = 3
)";
  const char alphabet[] = "[]{}=\"',.#\n 0123456789abcxyz-+:TZ";
  std::uint64_t state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return state >> 33;
  };
  int loaded = 0, rejected = 0;
  for (int k = 0; k < 3000; ++k) {
    std::string text = base;
    const int edits = 1 + static_cast<int>(next() % 4);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const std::size_t pos = next() % text.size();
      switch (next() % 3) {
        case 0:
          text.erase(pos, 1 + next() % 3);
          break;
        case 1:
          text.insert(pos, text.substr(pos, 1 + next() % 5));
          break;
        default:
          text[pos] = alphabet[next() % (sizeof(alphabet) - 1)];
          break;
      }
    }
    auto r = parse_scenario(text, "m.toml", k_domains);
    if (r) {
      ++loaded;
      continue;
    }
    ++rejected;
    REQUIRE(!r.error().items.empty());
    for (const Diagnostic& d : r.error().items) {
      REQUIRE(d.file == "m.toml");
      REQUIRE(!d.message.empty());
    }
  }
  CHECK(rejected > 1000);
  CHECK(loaded > 50);
}
