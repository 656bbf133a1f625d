// The flood-only scenario end to end (tests/data/flood/valley): load, compile, run,
// record; then the files a user opens: run.h5, flood_gauges.csv, flood_max_depth.tif/.asc.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "citytwin/io.hpp"
#include "citytwin/sim.hpp"

using namespace citytwin;

namespace {

const std::string k_dir = std::string(CITYTWIN_SOURCE_DIR) + "/tests/data/flood/valley/";

// Runs valley.toml with the solver replaced, into a fresh folder; returns the folder.
std::string run_valley(const std::string& solver, int threads) {
  std::ifstream in(k_dir + "valley.toml");
  std::stringstream text;
  text << in.rdbuf();
  std::string body = text.str();
  const auto pos = body.find("solver = \"inertial\"");
  REQUIRE(pos != std::string::npos);
  body.replace(pos, 19, "solver = \"" + solver + "\"");
  std::vector<DomainInfo> infos;
  for (const DomainEntry& e : builtin_domains()) infos.push_back(e.info);
  auto spec = parse_scenario(body, k_dir + "valley.toml", infos);
  REQUIRE(spec.has_value());
  const std::string out = std::string(CITYTWIN_BINARY_DIR) + "/flood_valley_" + solver;
  std::filesystem::remove_all(out);
  std::filesystem::create_directories(out);
  spec->output.dir = out;
  auto model = compile_model(std::move(*spec));
  REQUIRE(model.has_value());
  auto rec = RunRecorder::create(**model, out + "/run.h5");
  REQUIRE(rec.has_value());
  TaskPool pool(threads);
  SimState state = make_state(**model);
  (*rec)->observe(state);
  while (state.t < (*model)->spec.run.duration) {
    step(**model, state, pool);
    (*rec)->observe(state);
  }
  (*rec)->finish(state);
  rec->reset();
  return out;
}

}  // namespace

TEST_CASE("Valley scenario: the issue's example runs and writes every output") {
  for (const std::string solver : {"inertial", "godunov"}) {
    const std::string out = run_valley(solver, 2);
    auto r = RunReader::open(out + "/run.h5");
    REQUIRE(r.has_value());
    auto stored = (*r)->read<double>("/flood/volume/stored");
    auto inflow = (*r)->read<double>("/flood/volume/inflow");
    REQUIRE(stored.has_value());
    REQUIRE(inflow.has_value());
    // Closed valley: everything that flowed in is stored. The hydrograph's integral is
    // 180,000 m3 (trapezoid 0-50-50-0 m3/s over 0.5 h, 0.5 h, 0.5 h).
    const double v_in = inflow->data.back(), v_st = stored->data.back();
    INFO(solver << ": stored " << v_st << " m3, inflow " << v_in << " m3");
    CHECK(v_in == Approx(180000.0).epsilon(1e-6));
    CHECK(std::abs(v_st - v_in) / v_in < 1e-4);
    // 2 h at 300 s plus the initial and final frames.
    auto depth = (*r)->read<float>("/flood/depth");
    REQUIRE(depth.has_value());
    CHECK(depth->dims == std::vector<std::size_t>{25, 50, 110});

    // Gauges CSV: header + one row per macro step (7200), water at P1 by the end.
    std::ifstream csv(out + "/flood_gauges.csv");
    std::string line, last;
    std::getline(csv, line);
    CHECK(line == "time_s,gauge,depth_m,level_m,speed_mps");
    int rows = 0;
    while (std::getline(csv, line)) ++rows, last = line;
    CHECK(rows == 7200);
    CHECK(last.rfind("7200.000,P1,", 0) == 0);
    const double p1_depth = std::stod(last.substr(last.find("P1,") + 3));
    // The gauge sits 1.5 km downstream in the valley floor; the ponded water reaches it.
    CHECK(p1_depth > 0.5);

    // Max depth as ESRI ASCII equals the HDF5 maximum (4 decimals in the text file).
    auto maxd = (*r)->read<float>("/flood/max_depth");
    REQUIRE(maxd.has_value());
    float hmax = 0;
    for (float d : maxd->data) hmax = std::max(hmax, d);
    std::ifstream asc(out + "/flood_max_depth.asc");
    std::string key;
    double v = 0, amax = 0;
    for (int k = 0; k < 6; ++k) asc >> key >> v;
    CHECK(key == "NODATA_value");
    while (asc >> v) amax = std::max(amax, v);
    CHECK(amax == Approx(hmax).margin(1e-4));
    CHECK(std::filesystem::file_size(out + "/flood_max_depth.tif") > 1000);

    // Volume balance CSV: one row per macro step, closing to the relative tolerance.
    std::ifstream bal(out + "/flood_balance.csv");
    std::getline(bal, line);
    CHECK(line ==
          "time_s,stored_m3,rain_m3,inflow_m3,outflow_m3,losses_m3,assimilated_m3,error_m3");
    int brows = 0;
    double worst = 0;
    while (std::getline(bal, line)) {
      ++brows;
      std::replace(line.begin(), line.end(), ',', ' ');
      std::istringstream ls(line);
      double t = 0, st = 0, rn = 0, inf = 0, of = 0, ls_ = 0, err = 0;
      ls >> t >> st >> rn >> inf >> of >> ls_ >> err;
      worst = std::max(worst, std::abs(err) / std::max(inf, 1.0));
    }
    CHECK(brows == 7200);
    CHECK(worst < 1e-4);
  }
}
