// Where the viewer's city and frames come from: a scenario (compiled and run live) or a run
// file (replay of its recorded frames).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "citytwin/city.hpp"
#include "citytwin/error.hpp"
#include "citytwin/frame.hpp"
#include "citytwin/sim.hpp"

namespace citytwin {
struct Model;
class RunReader;
}  // namespace citytwin

namespace citytwin::view {

struct Source {
  std::string path;
  std::shared_ptr<const CityModel> city;
  std::shared_ptr<const Model> model;       ///< set for a scenario (live)
  std::shared_ptr<const RunReader> reader;  ///< set for a run file (replay)
  std::vector<double> frame_times_s;        ///< recorded frame times (replay)
  std::shared_ptr<const RunFrames> frames;  ///< what the run file records (replay)
};

/// Opens SCENARIO.toml (imports the city and compiles the model) or RUN.h5 (reads /city).
Result<Source> open_source(const std::string& path);

/// Index of the recorded frame at or before t (seconds); 0 when none is.
std::size_t replay_index(const Source& s, double t_s);

/// Recorded frame k of a run file, as the live domains fill it (RunFrames::read), with the
/// frame number among the figures.
Result<FrameSnapshot> replay_frame(const Source& s, std::size_t k);

}  // namespace citytwin::view
