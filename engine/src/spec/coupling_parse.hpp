// Private to spec/: the [coupling] section's parser, called by load.cpp after the domains.
#pragma once

#include "citytwin/spec.hpp"

namespace citytwin {

/// Reads [coupling] (if present) into spec.coupling; errors go to the reader.
void parse_coupling(SectionReader root, ScenarioSpec& spec);

}  // namespace citytwin
