// Forcing and events through whole scenarios (parse, compile, run, record): rain gauges with
// inverse-distance weighting, drainage capacity, Manning's n from a raster, levee breach
// events. DEMs and rasters are written by the tests into the build folder.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "citytwin/io.hpp"
#include "citytwin/sim.hpp"
#include "flood/domain.hpp"

using namespace citytwin;

namespace {

/// The issue's bound on the relative volume error (float32 state, balance in double).
constexpr double k_volume_tol = sizeof(flood::real) == 8 ? 1e-6 : 1e-4;

std::string fresh_dir(const std::string& name) {
  const std::string dir = std::string(CITYTWIN_BINARY_DIR) + "/flood_forcing_" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

/// ESRI ASCII grid of nx x ny cells of dx from (x0, y0); value(i, j), row 0 south.
void write_asc(const std::string& path, int nx, int ny, double x0, double y0, double dx,
               const std::function<double(int, int)>& value) {
  std::ofstream f(path);
  f << "ncols " << nx << "\nnrows " << ny << "\nxllcorner " << x0 << "\nyllcorner " << y0
    << "\ncellsize " << dx << "\nNODATA_value -9999\n";
  for (int j = ny - 1; j >= 0; --j) {  // the file is north-first
    for (int i = 0; i < nx; ++i) f << value(i, j) << (i + 1 < nx ? " " : "\n");
  }
}

/// Writes the scenario into dir, runs it with `threads`; returns the run file's reader and
/// the final state hash.
std::unique_ptr<RunReader> run(const std::string& dir, const std::string& toml, int threads = 2,
                               std::uint64_t* hash = nullptr) {
  const std::string path = dir + "/scenario.toml";
  std::ofstream(path) << toml;
  std::vector<DomainInfo> infos;
  for (const DomainEntry& e : builtin_domains()) infos.push_back(e.info);
  auto spec = parse_scenario(toml, path, infos);
  if (!spec) FAIL(spec.error().to_string());
  spec->output.dir = dir;
  auto model = compile_model(std::move(*spec));
  if (!model) FAIL(model.error().to_string());
  auto rec = RunRecorder::create(**model, dir + "/run.h5");
  REQUIRE(rec.has_value());
  TaskPool pool(threads);
  SimState state = make_state(**model);
  (*rec)->observe(state);
  while (state.t < (*model)->spec.run.duration) {
    step(**model, state, pool);
    (*rec)->observe(state);
  }
  (*rec)->finish(state);
  if (hash) *hash = hash_state(**model, state);
  rec->reset();
  auto r = RunReader::open(dir + "/run.h5");
  REQUIRE(r.has_value());
  return std::move(*r);
}

double last(RunReader& r, const std::string& path) {
  auto d = r.read<double>(path);
  REQUIRE(d.has_value());
  return d->data.back();
}

// Rows of flood_gauges.csv for one gauge: (time, depth).
std::vector<std::pair<double, double>> gauge_rows(const std::string& dir, const std::string& name) {
  std::ifstream f(dir + "/flood_gauges.csv");
  std::string line;
  std::getline(f, line);
  std::vector<std::pair<double, double>> rows;
  while (std::getline(f, line)) {
    std::replace(line.begin(), line.end(), ',', ' ');
    std::istringstream ls(line);
    double t = 0, d = 0;
    std::string g;
    ls >> t >> g >> d;
    if (g == name) rows.emplace_back(t, d);
  }
  return rows;
}

}  // namespace

TEST_CASE("Inverse-distance weights at a known point") {
  flood::Grid g;
  g.nx = g.ny = 10;
  g.x0 = g.y0 = 0;
  g.dx = 10;
  // Cell (2, 0) is centred at (25, 5): squared distances 650 and 5650 to the two gauges, so
  // w = (1/650) / (1/650 + 1/5650) = 5650 / 6300 with p = 2.
  const std::vector<Point2> gauges = {{0, 0}, {100, 0}};
  double w[2] = {0, 0};
  flood::idw_weights(g, 2, 0, gauges, 2.0, w);
  CHECK(w[0] == Approx(5650.0 / 6300.0).epsilon(1e-12));
  CHECK(w[0] + w[1] == Approx(1.0).epsilon(1e-14));
  // p = 1: w = (1/d1) / (1/d1 + 1/d2).
  flood::idw_weights(g, 2, 0, gauges, 1.0, w);
  const double d1 = std::sqrt(650.0), d2 = std::sqrt(5650.0);
  CHECK(w[0] == Approx((1 / d1) / (1 / d1 + 1 / d2)).epsilon(1e-12));
  // A gauge on a cell centre takes the whole weight there.
  flood::idw_weights(g, 0, 0, {{5, 5}, {100, 0}}, 2.0, w);
  CHECK(w[0] == 1.0);
  CHECK(w[1] == 0.0);
}

TEST_CASE("Rain gauges: the rain volume is each hyetograph times its weights") {
  const std::string dir = fresh_dir("gauges");
  // A flat closed box of 20 x 10 cells of 10 m; gauge A (west) 36 mm/h, gauge B (east) 72 mm/h
  // for 10 minutes.
  write_asc(dir + "/flat.asc", 20, 10, 0, 0, 10, [](int, int) { return 1.0; });
  auto r = run(dir, R"(
[scenario]
duration = "10min"
step = "10s"
[city]
dem = "flat.asc"
[flood]
manning = 0.05
[[flood.rain_gauge]]
name = "A"
at = [25.0, 55.0]
intensity = "36mm/h"
[[flood.rain_gauge]]
name = "B"
at = [175.0, 55.0]
intensity = "72mm/h"
[[flood.gauge]]
name = "atA"
at = [25.0, 55.0]
[[flood.gauge]]
name = "atB"
at = [175.0, 55.0]
[output]
every = "10min"
)");
  // Expected rain: sum over cells of (wA 6 mm + wB 12 mm) * 100 m2, weights recomputed here.
  flood::Grid g;
  g.nx = 20, g.ny = 10, g.x0 = g.y0 = 0, g.dx = 10;
  double expected = 0;
  for (int j = 0; j < 10; ++j)
    for (int i = 0; i < 20; ++i) {
      double w[2];
      flood::idw_weights(g, i, j, {{25, 55}, {175, 55}}, 2.0, w);
      expected += (w[0] * 0.006 + w[1] * 0.012) * 100.0;
    }
  const double rain = last(*r, "/flood/volume/rain"), stored = last(*r, "/flood/volume/stored");
  INFO("rain " << rain << " m3, expected " << expected << " m3, stored " << stored << " m3");
  CHECK(rain == Approx(expected).epsilon(1e-5));
  CHECK(std::abs(stored - rain) / rain < k_volume_tol);
  // On each gauge's cell the depth is near its own total (6 and 12 mm): the water moves only
  // a little on the flat in 10 minutes (rough bed); 10 % covers that and the neighbours' share.
  const auto a = gauge_rows(dir, "atA"), b = gauge_rows(dir, "atB");
  REQUIRE(!a.empty());
  REQUIRE(!b.empty());
  CHECK(a.back().second == Approx(0.006).epsilon(0.1));
  CHECK(b.back().second == Approx(0.012).epsilon(0.1));
}

TEST_CASE("Drainage removes exactly capacity x area x time while water is there") {
  const std::string dir = fresh_dir("drainage");
  // Closed flat box of 10 x 10 cells of 10 m: 72 mm/h of rain for 10 min, 36 mm/h of drainage
  // on every cell. While it rains the drains take 6 mm; after the rain they take the other
  // 6 mm in another 10 min and then nothing (no water left).
  write_asc(dir + "/flat.asc", 10, 10, 0, 0, 10, [](int, int) { return 1.0; });
  auto r = run(dir, R"(
[scenario]
duration = "30min"
step = "10s"
[city]
dem = "flat.asc"
[flood]
[flood.rain]
intensity = "72mm/h"
end = "10min"
[flood.drainage]
capacity = "36mm/h"
cells = "all"
[output]
every = "10min"
)");
  auto stored = r->read<double>("/flood/volume/stored");
  auto losses = r->read<double>("/flood/volume/losses");
  REQUIRE(stored.has_value());
  REQUIRE(losses.has_value());
  // Frames at 0, 10, 20, 30 min.
  REQUIRE(stored->data.size() == 4);
  const double area = 100 * 100.0;
  CHECK(losses->data[1] == Approx(0.006 * area).epsilon(1e-5));
  CHECK(stored->data[1] == Approx(0.006 * area).epsilon(1e-5));
  CHECK(losses->data[2] == Approx(0.012 * area).epsilon(1e-5));
  CHECK(stored->data[2] < 1e-6 * area);
  CHECK(losses->data[3] == Approx(0.012 * area).epsilon(1e-5));
  CHECK(std::abs(last(*r, "/flood/volume/error")) / (0.012 * area) < k_volume_tol);
}

TEST_CASE("Manning's n from a raster: each channel reaches its own normal depth") {
  const std::string dir = fresh_dir("manning");
  // Two wide channels of 1 km falling 1e-3 eastwards, rows 0-2 and 4-6, parted by a ridge
  // (row 3, 20 m high); q = 1 m2/s each; n = 0.02 and 0.05 from a raster. Normal depths
  // hn = (q n / sqrt(S0))^(3/5): 0.7598 m and 1.3162 m.
  const double S0 = 1e-3;
  write_asc(dir + "/dem.asc", 100, 7, 0, 0, 10,
            [&](int i, int j) { return S0 * (1000 - (i + 0.5) * 10) + (j == 3 ? 20.0 : 0.0); });
  write_asc(dir + "/n.asc", 100, 7, 0, 0, 10, [](int, int j) {
    return j < 3 ? 0.02 : j > 3 ? 0.05 : 0.03;
  });
  auto r = run(dir, R"(
[scenario]
duration = "6h"
step = "60s"
[city]
dem = "dem.asc"
[flood]
manning = 0.03
manning_raster = "n.asc"
[flood.boundary]
east = "free"
[[flood.inflow]]
name = "smooth"
at = [[5.0, 1.0], [5.0, 29.0]]
discharge = "30m3/s"
[[flood.inflow]]
name = "rough"
at = [[5.0, 41.0], [5.0, 69.0]]
discharge = "30m3/s"
[[flood.gauge]]
name = "smooth"
at = [505.0, 15.0]
[[flood.gauge]]
name = "rough"
at = [505.0, 55.0]
[output]
every = "6h"
)");
  const auto smooth = gauge_rows(dir, "smooth"), rough = gauge_rows(dir, "rough");
  REQUIRE(!smooth.empty());
  REQUIRE(!rough.empty());
  const double hs = std::pow(0.02 / std::sqrt(S0), 0.6), hr = std::pow(0.05 / std::sqrt(S0), 0.6);
  std::printf(
      "manning raster: depth %.4f m (normal %.4f) at n = 0.02, %.4f m (normal %.4f) at "
      "n = 0.05\n",
      smooth.back().second, hs, rough.back().second, hr);
  // 1 %, as the uniform-channel analytic test (inlet and outlet adjustments).
  CHECK(smooth.back().second == Approx(hs).epsilon(0.01));
  CHECK(rough.back().second == Approx(hr).epsilon(0.01));
  CHECK(std::abs(last(*r, "/flood/volume/error")) / last(*r, "/flood/volume/inflow") <
        k_volume_tol);
}

TEST_CASE("Levee breach event: the reservoir drains through the gap from the event on") {
  const std::string dir = fresh_dir("breach");
  // A reservoir (x < 400 m, level 2 m over a flat bed at 0) behind a levee one cell thick
  // (x 400-405 m, crest 5 m); the land behind it (x > 405 m) falls 1 % to a free east side.
  // At t = 60 s the levee is breached over 20 m (the 4 cells within 2.5 m of the line) down
  // to 1 m.
  write_asc(dir + "/dem.asc", 160, 40, 0, 0, 5, [](int i, int) {
    const double x = (i + 0.5) * 5;
    return x < 400 ? 0.0 : x < 405 ? 5.0 : -0.01 * (x - 405);
  });
  const std::string toml = R"(
[scenario]
duration = "4min"
step = "1s"
[city]
dem = "dem.asc"
[flood]
solver = "godunov"
manning = 0.012
[flood.boundary]
east = "free"
[[flood.lake]]
level = 2.0
polygon = [[0.0, 0.0], [400.0, 0.0], [400.0, 200.0], [0.0, 200.0]]
[[flood.gauge]]
name = "downstream"
at = [452.0, 100.0]
[output]
every = "30s"

[[event]]
at = "60s"
type = "flood.breach"
line = [[402.5, 92.5], [402.5, 107.5]]
width = "5m"
level = 1.0
)";
  std::uint64_t h1 = 0, h2 = 0;
  const std::string dir1 = fresh_dir("breach1");
  std::filesystem::copy_file(dir + "/dem.asc", dir1 + "/dem.asc");
  run(dir1, toml, 1, &h1);
  auto r = run(dir, toml, 2, &h2);
  CHECK(h1 == h2);  // the breach copy of the bed included: bit-identical for 1 and 2 threads
  auto depth = r->read<float>("/flood/depth");
  auto outflow = r->read<double>("/flood/volume/outflow");
  REQUIRE(depth.has_value());
  REQUIRE(outflow.has_value());
  REQUIRE(depth->dims.size() == 3);
  const std::size_t frames = depth->dims[0], ny = depth->dims[1], nx = depth->dims[2];
  REQUIRE(nx == 160);
  // Water volume (m3) in columns [i0, i1) of frame f.
  auto volume = [&](std::size_t f, std::size_t i0, std::size_t i1) {
    double v = 0;
    for (std::size_t j = 0; j < ny; ++j)
      for (std::size_t i = i0; i < i1; ++i) v += depth->data[(f * ny + j) * nx + i];
    return v * 25.0;
  };
  // Frames at 0, 30, ..., 240 s. Nothing moves until the breach.
  REQUIRE(frames == 9);
  CHECK(volume(2, 0, 80) == Approx(volume(0, 0, 80)).epsilon(1e-6));
  CHECK(volume(2, 80, 160) == 0.0);
  // What left the reservoir is downstream or left through the east side.
  const double lost = volume(0, 0, 80) - volume(8, 0, 80);
  const double found = volume(8, 80, 160) + outflow->data[8];
  std::printf("breach: reservoir lost %.1f m3, downstream + outflow %.1f m3\n", lost, found);
  CHECK(lost > 1000.0);
  CHECK(found == Approx(lost).epsilon(1e-4));
  // Discharge from 120 s to 240 s against the one-dimensional broad-crested weir law
  // Q = (2/3)^(3/2) sqrt(g) b H^(3/2) at the mean head. Printed for the record and bounded
  // loosely: at 5 m cells the one-cell crest and the bed steps of 1 m (up) and 1 m (down) are
  // where the hydrostatic reconstruction is known to lose accuracy; the solver gives 0.55-0.7
  // of the weir law here (docs/flood.md), so this is a sanity bound, not a validation.
  const double q = (volume(4, 0, 80) - volume(8, 0, 80)) / 120.0;
  const double head = 0.5 * (volume(4, 0, 80) + volume(8, 0, 80)) / (400.0 * 200.0) - 1.0;
  const double q_weir = std::pow(2.0 / 3.0, 1.5) * std::sqrt(9.81) * 20.0 * std::pow(head, 1.5);
  std::printf("breach: Q %.2f m3/s, weir law %.2f m3/s at head %.3f m (ratio %.3f)\n", q, q_weir,
              head, q / q_weir);
  CHECK(q / q_weir > 0.4);
  CHECK(q / q_weir < 1.1);
  // The downstream gauge, 47 m past the levee, is dry until the breach; the front cannot
  // travel faster than the dry-bed wave 2 sqrt(g H) = 6.3 m/s (H = 1 m over the crest), so it
  // wets no earlier than 60 + 47 / 6.3 = 67.5 s, and it wets within the minute.
  const auto down = gauge_rows(dir, "downstream");
  double wet_at = -1;
  for (const auto& [t, d] : down) {
    if (t <= 60) CHECK(d == 0.0);
    if (wet_at < 0 && d > 0.01) wet_at = t;
  }
  std::printf("breach: downstream gauge wet at %.0f s\n", wet_at);
  CHECK(wet_at > 67.5);
  CHECK(wet_at < 120);
  CHECK(std::abs(last(*r, "/flood/volume/error")) / last(*r, "/flood/volume/stored") <
        k_volume_tol);
}

TEST_CASE("Flood wall: holds a reservoir below its crest, is overtopped above it") {
  // A reservoir (x < 400 m, level 2 m over a flat bed at 0); the land behind x = 400 m falls
  // 1 % to a free east side. A wall along x = 402.5 m (the cells it crosses: one column) holds
  // the water when its crest is above the level and lets it over when below.
  auto scenario = [](const std::string& wall) {
    return R"(
[scenario]
duration = "3min"
step = "1s"
[city]
dem = "dem.asc"
[flood]
solver = "godunov"
manning = 0.012
[flood.boundary]
east = "free"
[[flood.lake]]
level = 2.0
polygon = [[0.0, 0.0], [400.0, 0.0], [400.0, 200.0], [0.0, 200.0]]
[output]
every = "30s"
[[flood.wall]]
line = [[402.5, -10.0], [402.5, 210.0]]
)" + wall;
  };
  auto dem = [](const std::string& d) {
    write_asc(d + "/dem.asc", 160, 40, 0, 0, 5, [](int i, int) {
      const double x = (i + 0.5) * 5;
      return x < 400 ? 0.0 : -0.01 * (x - 400);
    });
  };
  auto volumes = [](RunReader& r, std::size_t f, std::size_t i0, std::size_t i1) {
    auto depth = r.read<float>("/flood/depth");
    REQUIRE(depth.has_value());
    const std::size_t ny = depth->dims[1], nx = depth->dims[2];
    double v = 0;
    for (std::size_t j = 0; j < ny; ++j)
      for (std::size_t i = i0; i < i1; ++i) v += depth->data[(f * ny + j) * nx + i];
    return v * 25.0;
  };
  const std::string held = fresh_dir("wall_held");
  dem(held);
  auto r = run(held, scenario("crest = 3.0\n"));
  // The wall's column (x 400-405 m, i = 80) is raised to the crest; no other cell changed.
  auto bed = r->read<float>("/flood/bed");
  REQUIRE(bed.has_value());
  for (std::size_t j = 0; j < 40; ++j) {
    CHECK(bed->data[j * 160 + 80] == 3.0f);
    CHECK(bed->data[j * 160 + 81] == Approx(-0.01 * 7.5).margin(1e-6));
  }
  CHECK(volumes(*r, 6, 81, 160) == 0.0);  // nothing over a 3 m crest from a 2 m lake
  CHECK(volumes(*r, 6, 0, 80) == Approx(volumes(*r, 0, 0, 80)).epsilon(1e-9));
  // `height` raises above the local bed: a 1.5 m wall on a 0 m bed is overtopped by the 2 m lake.
  const std::string over = fresh_dir("wall_over");
  dem(over);
  std::uint64_t h1 = 0, h2 = 0;
  const std::string over1 = fresh_dir("wall_over1");
  dem(over1);
  run(over1, scenario("height = \"1.5m\"\n"), 1, &h1);
  r = run(over, scenario("height = \"1.5m\"\n"), 2, &h2);
  CHECK(h1 == h2);
  auto outflow = r->read<double>("/flood/volume/outflow");
  REQUIRE(outflow.has_value());
  const double lost = volumes(*r, 0, 0, 80) - volumes(*r, 6, 0, 81);
  const double found = volumes(*r, 6, 81, 160) + outflow->data[6];
  std::printf("wall overtopped: reservoir lost %.1f m3, downstream + outflow %.1f m3\n", lost,
              found);
  CHECK(lost > 100.0);
  CHECK(found == Approx(lost).epsilon(1e-3));
}

TEST_CASE("Bad forcing input names the key") {
  const std::string dir = fresh_dir("bad");
  write_asc(dir + "/flat.asc", 10, 10, 0, 0, 10, [](int, int) { return 1.0; });
  std::vector<DomainInfo> infos;
  for (const DomainEntry& e : builtin_domains()) infos.push_back(e.info);
  auto compile = [&](const std::string& toml) -> std::string {
    const std::string path = dir + "/scenario.toml";
    std::ofstream(path) << toml;
    auto spec = parse_scenario(toml, path, infos);
    if (!spec) return spec.error().to_string();
    auto model = compile_model(std::move(*spec));
    return model ? std::string() : model.error().to_string();
  };
  const std::string head = "[scenario]\nduration = \"10min\"\n[city]\ndem = \"flat.asc\"\n";
  // A breach off the grid.
  std::string e = compile(head + R"([flood]
[[event]]
at = "1min"
type = "flood.breach"
line = [[500.0, 500.0], [600.0, 500.0]]
level = 0.0
)");
  INFO(e);
  CHECK(e.find("breach line crosses no active cell") != std::string::npos);
  // A wall off the grid; a wall with both a crest and a height, or neither.
  e = compile(head +
              "[flood]\n[flood.rain]\nintensity = \"10mm/h\"\n[[flood.wall]]\n"
              "line = [[500.0, 500.0], [600.0, 500.0]]\nheight = \"1m\"\n");
  CHECK(e.find("the wall raises no active cell") != std::string::npos);
  CHECK(e.find("scenario.toml:") != std::string::npos);
  e = compile(head +
              "[flood]\n[[flood.wall]]\nline = [[5.0, 5.0], [50.0, 5.0]]\ncrest = 3.0\n"
              "height = \"1m\"\n");
  CHECK(e.find("one of \"crest\"") != std::string::npos);
  e = compile(head + "[flood]\n[[flood.wall]]\nline = [[5.0, 5.0], [50.0, 5.0]]\n");
  CHECK(e.find("one of \"crest\"") != std::string::npos);
  // A breach without a level.
  e = compile(head +
              "[flood]\n[[event]]\nat = \"1min\"\ntype = \"flood.breach\"\n"
              "line = [[5.0, 5.0], [50.0, 5.0]]\n");
  CHECK(e.find("level") != std::string::npos);
  // A rain gauge without intensity or hyetograph; drainage without capacity.
  e = compile(head + "[flood]\n[[flood.rain_gauge]]\nat = [5.0, 5.0]\n");
  CHECK(e.find("intensity") != std::string::npos);
  e = compile(head + "[flood]\n[flood.drainage]\ncells = \"all\"\n");
  CHECK(e.find("capacity") != std::string::npos);
  e = compile(head + "[flood]\n[flood.drainage]\ncapacity = \"20mm/h\"\ncells = \"roofs\"\n");
  CHECK(e.find("cells") != std::string::npos);
  // Series values out of range (a 1e30 inflow once made the solver loop forever; a negative one
  // ran with a volume error of 1e35): the file, the line and the range.
  std::ofstream(dir + "/huge.csv") << "time_s,discharge_m3s\n0,1\n600,1e30\n";
  std::ofstream(dir + "/negative.csv") << "time_s,discharge_m3s\n0,-5\n";
  std::ofstream(dir + "/rain.csv") << "time_s,mm_h\n0,20\n60,nan\n";
  const std::string inflow = "[flood]\n[[flood.inflow]]\nat = [50.0, 50.0]\n";
  e = compile(head + inflow + "hydrograph = \"huge.csv\"\n");
  CHECK(e.find("huge.csv:3: value: out of range") != std::string::npos);
  CHECK(e.find("0 to 1e6") != std::string::npos);
  e = compile(head + inflow + "hydrograph = \"negative.csv\"\n");
  CHECK(e.find("negative.csv:2: value: out of range") != std::string::npos);
  e = compile(head + inflow + "discharge = \"1e30m3/s\"\n");
  CHECK(e.find("flood.inflow[1].discharge: out of range") != std::string::npos);
  e = compile(head + "[flood]\n[flood.rain]\nhyetograph = \"rain.csv\"\n");
  CHECK(e.find("rain.csv:3") != std::string::npos);
  e = compile(head + "[flood]\n[flood.rain]\nintensity = \"5000mm/h\"\n");
  CHECK(e.find("flood.rain.intensity: out of range") != std::string::npos);
  // Rain with neither an intensity nor a hyetograph; an intensity written as 0 is no rain (a
  // fork's member where the storm stops) and compiles.
  e = compile(head + "[flood]\n[flood.rain]\nstart = \"1min\"\n");
  CHECK(e.find("rain needs an intensity or a hyetograph") != std::string::npos);
  e = compile(head + "[flood]\nsea_level = 0.0\n[flood.rain]\nintensity = \"0mm/h\"\n");
  CHECK(e.empty());
}

TEST_CASE("fill_depressions raises pits to their spill level and closes unreachable pockets") {
  const std::string dir = fresh_dir("fill");
  // 20 x 20 cells of 10 m on a plane falling 1 cm per cell eastwards (free east side), with
  // a pit (cells 4-6 x 4-6 at -2 m) whose lowest rim cell is (7, 5) at the plane's level, and
  // a pocket (cells 13-14 x 13-14) closed by a ring of nodata cells.
  auto plane = [](int i) { return 1.0 - 0.01 * i; };
  write_asc(dir + "/dem.asc", 20, 20, 0, 0, 10, [&](int i, int j) {
    if (i >= 4 && i <= 6 && j >= 4 && j <= 6) return -2.0;
    const bool ring =
        i >= 12 && i <= 15 && j >= 12 && j <= 15 && !(i >= 13 && i <= 14 && j >= 13 && j <= 14);
    return ring ? -9999.0 : plane(i);
  });
  auto r = run(dir, R"(
[scenario]
duration = "1min"
[city]
dem = "dem.asc"
[flood]
fill_depressions = true
[flood.boundary]
east = "free"
[output]
every = "1min"
)");
  auto bed = r->read<float>("/flood/bed");
  REQUIRE(bed.has_value());
  auto at = [&](int i, int j) { return bed->data[static_cast<std::size_t>(j) * 20 + i]; };
  // The pit drains over its lowest rim cell: (7, 4..6) at 1 - 0.07 = 0.93 m, so the pit fills
  // to 0.93 m; the rest of the plane is untouched.
  for (int j = 4; j <= 6; ++j)
    for (int i = 4; i <= 6; ++i) CHECK(at(i, j) == Approx(0.93).margin(1e-6));
  CHECK(at(10, 10) == Approx(plane(10)).margin(1e-6));
  // The pocket inside the nodata ring has no way out: inactive (NaN bed).
  CHECK(std::isnan(at(13, 13)));
  CHECK(std::isnan(at(14, 14)));
  auto info = r->attr_double("/flood", "enclosed_cells");
  REQUIRE(info.has_value());
  CHECK(*info == 4.0);
}
