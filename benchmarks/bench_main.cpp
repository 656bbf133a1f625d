// citytwin-bench --list | --all [--threads N] | NAME... [--threads N]
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <exception>
#include <iostream>

#include "bench.hpp"

namespace citytwin::bench {

namespace {
std::vector<Case>& registry() {
  static std::vector<Case> cases;
  return cases;
}
}  // namespace

int add(Case c) {
  registry().push_back(std::move(c));
  return 0;
}
const std::vector<Case>& all() {
  return registry();
}
std::string source_dir() {
  return CITYTWIN_SOURCE_DIR;
}

}  // namespace citytwin::bench

int main(int argc, char** argv) {
  using namespace citytwin::bench;
  CLI::App app{"citytwin-bench: CityTwin's benchmarks, one JSON line per result"};
  app.footer(
      "Examples:\n  citytwin-bench --list\n  citytwin-bench --all\n"
      "  citytwin-bench city.import.monaco --threads 2");
  bool list = false, run_all = false;
  int threads = 2;
  std::vector<std::string> names;
  app.add_flag("--list", list, "List the benchmarks and exit");
  app.add_flag("--all", run_all, "Run every benchmark");
  app.add_option("--threads", threads, "Worker threads")->check(CLI::Range(1, 256));
  app.add_option("names", names, "Benchmarks to run");
  CLI11_PARSE(app, argc, argv);

  if (list) {
    for (const Case& c : all()) std::cout << c.name << "\t" << c.description << "\n";
    return 0;
  }
  if (!run_all && names.empty()) {
    std::cerr << app.help();
    return 2;
  }
  std::vector<const Case*> chosen;
  if (run_all) {
    for (const Case& c : all()) chosen.push_back(&c);
  }
  for (const std::string& n : names) {
    const Case* found = nullptr;
    for (const Case& c : all())
      if (c.name == n) found = &c;
    if (!found) {
      std::cerr << "citytwin-bench: unknown benchmark '" << n << "' (see --list)\n";
      return 2;
    }
    chosen.push_back(found);
  }
  int failed = 0;
  for (const Case* c : chosen) {
    Result r;
    try {
      r = c->run(threads);
    } catch (const std::exception& e) {  // e.g. no X server for the viewer benchmarks
      std::cerr << "citytwin-bench: " << c->name << " failed: " << e.what() << "\n";
      ++failed;
      continue;
    }
    nlohmann::ordered_json j;
    j["name"] = c->name;
    j["threads"] = threads;
    j["rate"] = r.rate;
    j["unit"] = r.unit;
    j["wall_s"] = r.wall_s;
    for (const auto& [k, v] : r.size) j[k] = v;
    for (const auto& [k, v] : r.notes) j[k] = v;
    std::cout << j.dump() << std::endl;
  }
  return failed == 0 ? 0 : 1;
}
