// A scenario file through what `citytwin validate --max-memory 1GiB` does: load_scenario (the
// file read, `extends`, every section and event checked), then compile_model (city import and
// every domain compiled). The input is written as input.toml in a folder of this process next
// to a link `data` to tests/data, so seeds name small test files as "data/flood/valley/...".
#include <cstdint>
#include <filesystem>
#include <string>

#include "citytwin/sim.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool linked = [] {
    std::filesystem::create_directory_symlink(CITYTWIN_SOURCE_DIR "/tests/data",
                                              citytwin::fuzz::input_dir() + "/data");
    return true;
  }();
  (void)linked;
  const std::string path = citytwin::fuzz::input_file(data, size, ".toml");
  auto spec = citytwin::load_scenario(path);
  if (!spec) return citytwin::fuzz::note(spec);
  // A fuzz run may use at most 2 GiB (-rss_limit_mb=2048): the memory check must refuse above.
  spec->run.max_memory = std::uint64_t{1} << 30;
  auto model = citytwin::compile_model(std::move(*spec));
  return citytwin::fuzz::note(model);
}
