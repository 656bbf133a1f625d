#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

#include "citytwin/io.hpp"

using namespace citytwin;

namespace {
std::string temp_file(const char* name) {
  return (std::filesystem::temp_directory_path() / name).string();
}
}  // namespace

TEST_CASE("HDF5 datasets, series, strings and attributes round-trip exactly", "[io]") {
  const std::string path = temp_file("citytwin_io_roundtrip.h5");
  {
    auto w = RunWriter::create(path, 4);
    REQUIRE(w.has_value());
    std::vector<float> grid(300 * 200);
    for (std::size_t k = 0; k < grid.size(); ++k)
      grid[k] = std::sin(0.001f * static_cast<float>(k));
    grid[7] = std::nanf("");
    const std::size_t dims[2] = {300, 200};
    (*w)->write<float>("/a/b/grid", grid, dims, {"m", "a test raster"});
    (*w)->write<std::int64_t>("/a/ids", std::vector<std::int64_t>{-1, 0, 1LL << 40}, {"", "ids"});
    (*w)->write<std::uint8_t>("/a/flags", std::vector<std::uint8_t>{}, {"1", "empty"});
    (*w)->write_strings("/a/names", {"Avenue Princesse Alice", "", "Boulevard du Larvotto"},
                        {"", "names"});
    for (int k = 0; k < 5; ++k) {
      (*w)->append<double>("/time", 60.0 * k, {"s", "time"});
      const std::vector<float> row = {float(k), float(k) * 2, float(k) * 3};
      const std::size_t rd[1] = {3};
      (*w)->append<float>("/series/x", row, rd, {"m", "rows"});
      (*w)->flush();
    }
    (*w)->attr("/a", "note", "hello");
    (*w)->attr("/a/b/grid", "dx", 2.5);
    (*w)->attr("/meta", "steps", std::int64_t{3600});
  }
  auto r = RunReader::open(path);
  REQUIRE(r.has_value());
  auto grid = (*r)->read<float>("/a/b/grid");
  REQUIRE(grid.has_value());
  CHECK(grid->dims == std::vector<std::size_t>{300, 200});
  CHECK(std::isnan(grid->data[7]));
  CHECK(grid->data[12345] == std::sin(0.001f * 12345.0f));
  CHECK((*r)->read<std::int64_t>("/a/ids")->data == std::vector<std::int64_t>{-1, 0, 1LL << 40});
  CHECK((*r)->read<std::uint8_t>("/a/flags")->data.empty());
  CHECK(*(*r)->read_strings("/a/names") ==
        std::vector<std::string>{"Avenue Princesse Alice", "", "Boulevard du Larvotto"});
  auto t = (*r)->read<double>("/time");
  CHECK(t->data == std::vector<double>{0, 60, 120, 180, 240});
  auto x = (*r)->read<float>("/series/x");
  CHECK(x->dims == std::vector<std::size_t>{5, 3});
  CHECK(x->data[3 * 4 + 2] == 12.0f);
  CHECK(*(*r)->attr_string("/a", "note") == "hello");
  CHECK(*(*r)->attr_string("/a/b/grid", "units") == "m");
  CHECK(*(*r)->attr_double("/a/b/grid", "dx") == 2.5);
  CHECK(*(*r)->attr_double("/meta", "steps") == 3600.0);
  CHECK((*r)->list("/a") == std::vector<std::string>{"b", "flags", "ids", "names"});
  CHECK(!(*r)->read<float>("/nope").has_value());
  std::filesystem::remove(path);
}

TEST_CASE("a run file that cannot be created is an error naming it", "[io]") {
  auto w = RunWriter::create("/nonexistent-folder/run.h5", 4);
  REQUIRE(!w);
  CHECK(w.error().first().file == "/nonexistent-folder/run.h5");
  auto r = RunReader::open(std::string(CITYTWIN_SOURCE_DIR) + "/README.md");
  REQUIRE(!r);
}

TEST_CASE("ragged series: extend returns each frame's offset, read_rows gives it back", "[io]") {
  const std::string path = temp_file("citytwin_io_ragged.h5");
  // Frames of 0, 3, 0 and 5000 values (the last crosses a 4096-element chunk).
  const std::vector<std::size_t> counts = {0, 3, 0, 5000};
  std::vector<std::size_t> offsets;
  {
    auto w = RunWriter::create(path, 4);
    REQUIRE(w.has_value());
    float next = 0;
    for (std::size_t n : counts) {
      std::vector<float> v(n);
      for (float& x : v) x = next++;
      offsets.push_back((*w)->extend<float>("/r/v", v, {"m", "flat values"}));
    }
  }
  CHECK(offsets == std::vector<std::size_t>{0, 0, 3, 3});
  auto r = RunReader::open(path);
  REQUIRE(r.has_value());
  CHECK((*r)->read<float>("/r/v")->dims == std::vector<std::size_t>{5003});
  for (std::size_t k = 0; k < counts.size(); ++k) {
    auto rows = (*r)->read_rows<float>("/r/v", offsets[k], counts[k]);
    REQUIRE(rows.has_value());
    CHECK(rows->dims == std::vector<std::size_t>{counts[k]});
    REQUIRE(rows->data.size() == counts[k]);
    for (std::size_t i = 0; i < counts[k]; ++i)
      CHECK(rows->data[i] == static_cast<float>(offsets[k] + i));  // exact: integers < 2^24
  }
  auto past = (*r)->read_rows<float>("/r/v", 5000, 4);
  REQUIRE_FALSE(past.has_value());
  CHECK(past.error().to_string().find("/r/v") != std::string::npos);
  CHECK(past.error().to_string().find("has 5003") != std::string::npos);
}

TEST_CASE("SWMR: series grow while followed, results come after, a killed writer's file opens",
          "[io]") {
  const std::string path = temp_file("citytwin_io_swmr.h5");
  // What a run does: static data and the first frame, SWMR, frames, then the results. The child
  // process stops (as if killed) in SWMR mode, with 4 frames flushed and a fifth not.
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto w = RunWriter::create(path, 4);
    if (!w) _exit(2);
    (*w)->write<float>("/static", std::vector<float>{1, 2, 3}, {"m", "static"});
    (*w)->attr("/meta", "complete", std::int64_t{0});
    (*w)->append<double>("/time", 0.0, {"s", "time"});
    (*w)->start_swmr();
    for (int k = 1; k < 4; ++k) (*w)->append<double>("/time", 60.0 * k, {"s", "time"});
    (*w)->flush();
    (*w)->append<double>("/time", 240.0, {"s", "time"});
    _exit((*w)->swmr() ? 0 : 3);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  {
    auto r = RunReader::open(path);  // marked open for writing: SWMR read
    REQUIRE(r.has_value());
    CHECK((*r)->read<double>("/time")->data == std::vector<double>{0, 60, 120, 180});
  }
  {
    // A resume takes the file over, cut back to 2 frames; it follows the same steps.
    auto w = RunWriter::resume(path, 4, {{"/static", 3}, {"/time", 2}});
    REQUIRE(w.has_value());
    (*w)->start_swmr();
    (*w)->append<double>("/time", 120.0, {"s", "time"});
    (*w)->stop_swmr();
    CHECK_FALSE((*w)->swmr());
    (*w)->append<double>("/time", 180.0, {"s", "time"});  // series stay open across
    (*w)->write<float>("/result", std::vector<float>{7}, {"m", "a result"});
    (*w)->attr("/meta", "complete", std::int64_t{1});
  }
  auto r = RunReader::open(path);
  REQUIRE(r.has_value());
  CHECK((*r)->read<double>("/time")->data == std::vector<double>{0, 60, 120, 180});
  CHECK((*r)->read<float>("/result")->data == std::vector<float>{7});
  CHECK(*(*r)->attr_double("/meta", "complete") == 1.0);
  std::filesystem::remove(path);
}
