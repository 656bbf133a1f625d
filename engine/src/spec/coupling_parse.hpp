// Private to spec/: the parsers of the cross-domain sections, called by load.cpp after the
// domains: [coupling] (coupling.cpp), [live] and [[sensors.datastream]] (live.cpp).
#pragma once

#include "citytwin/spec.hpp"

namespace citytwin {

/// Reads [coupling] (if present) into spec.coupling; errors go to the reader.
void parse_coupling(SectionReader root, ScenarioSpec& spec);
/// Reads [live] and [[sensors.datastream]] into spec.live (defaults when absent).
void parse_live(SectionReader root, ScenarioSpec& spec);

}  // namespace citytwin
