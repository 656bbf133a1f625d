// Shared by the fuzz harnesses: the input as a file for the readers that only take a path.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>

namespace citytwin::fuzz {

/// A folder of this process under the temporary folder, removed when the process ends normally.
inline const std::string& input_dir() {
  struct Dir {
    std::string path;
    Dir() {
      path = std::filesystem::temp_directory_path().string();
      path += "/citytwin-fuzz-";
      path += std::to_string(static_cast<long>(::getpid()));
      std::filesystem::create_directories(path);
    }
    ~Dir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static const Dir dir;
  return dir.path;
}

/// Writes the input to a file of this process (the same path on every call, so a long fuzz run
/// does not fill /tmp) whose name ends in `suffix` (readers choose the format by extension).
inline std::string input_file(const std::uint8_t* data, std::size_t size, const char* suffix) {
  const std::string path = input_dir() + "/input" + suffix;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) {
    std::perror(path.c_str());
    std::abort();
  }
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

/// The result's value; prints the error and aborts when there is none (a harness's fixed input,
/// such as the scenario events are parsed for, that must load).
template <class R>
auto value_or_abort(R&& result) {
  if (!result) {
    std::fprintf(stderr, "%s\n", result.error().to_string().c_str());
    std::abort();
  }
  return std::move(*result);
}

/// With CITYTWIN_FUZZ_VERBOSE set, prints why an input was refused (for writing seeds that
/// reach deep: a seed the parser refuses early covers little). Returns 0 for libFuzzer.
template <class R>
int note(const R& result) {
  static const bool verbose = std::getenv("CITYTWIN_FUZZ_VERBOSE") != nullptr;
  if (verbose) {
    if (result)
      std::fprintf(stderr, "accepted\n");
    else
      std::fprintf(stderr, "refused: %s\n", result.error().to_string().c_str());
  }
  return 0;
}

}  // namespace citytwin::fuzz
