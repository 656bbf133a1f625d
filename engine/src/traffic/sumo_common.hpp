// Pieces shared by the SUMO readers: tlLogic parsing (net and additional files) and helpers.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "citytwin/traffic.hpp"
#include "traffic/xml_reader.hpp"

namespace citytwin::traffic {

/// One fixed-time program as read (durations in ms).
struct TlsProgram {
  SimTime offset = 0;
  std::string type = "static";                    ///< tlLogic type as SUMO names it
  float max_gap_s = 3.0f, detector_gap_s = 2.0f;  ///< actuated params (SUMO's defaults)
  std::vector<SimTime> durations, min_durs, max_durs;
  std::vector<std::string> states;
  int line = 0;
  std::string file;
};

/// Parser state while inside a <tlLogic>.
struct TlsParse {
  std::string current;  // id of the open tlLogic, empty outside
};

/// Handles <tlLogic> and <phase>; other elements are accepted and ignored (they belong to
/// the caller or are outside the traffic model, e.g. <location>, <roundabout>).
Result<void> tls_start(std::string_view name, const xml::Attrs& at,
                       std::map<std::string, TlsProgram>& programs, TlsParse& p);
Result<void> tls_end(std::string_view name, std::map<std::string, TlsProgram>& programs,
                     TlsParse& p);
/// Installs a program for an existing signal id (rebuilds the phase arrays).
Result<void> set_program(Network& net, const std::string& id, const TlsProgram& prog);

std::vector<std::string> split_spaces(std::string_view s);

/// xml::parse_file with every diagnostic located in `path`.
Result<void> parse_sumo_file(const std::string& path, xml::Handler& h);
/// The root element of an additional file: <additional> (or <add>), else a located error.
Result<void> additional_root(std::string_view name, const xml::Attrs& at);

/// A road lane by its SUMO id "<edge>_<index>", or -1.
std::int32_t find_lane(const Network& net, std::string_view id);

/// A position attribute (`name` of `element`, value `pos`) on a lane of length `len`, as SUMO
/// reads it: negative counts back from the lane's end; with friendlyPos="true" a value off the
/// lane is moved onto it, without it is an error naming the range.
Result<float> lane_position(const xml::Attrs& at, const std::string& element, const char* name,
                            double pos, double len);

}  // namespace citytwin::traffic
