// Private to CityTwin's engine: writing the CityModel into a run file.
#pragma once

#include "citytwin/city.hpp"
#include "citytwin/io.hpp"

namespace citytwin {

/// Writes /city (terrain, buildings, roads, power, water) as docs/hdf5-layout.md describes.
void write_city(const CityModel& city, RunWriter& out);

}  // namespace citytwin
