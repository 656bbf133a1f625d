// Private to engine/src/io: HDF5's error reporting, silenced and turned into words a user can
// act on. Both the run writer and the run reader install it.
#pragma once

#include <H5Cpp.h>

#include <string>

namespace citytwin {

/// HDF5 prints nothing; the operating system's message behind a failed call ("No space left on
/// device") is kept for hdf5_cause(). Idempotent.
void quiet_hdf5_errors();

/// Why an HDF5 call failed: the system's message when the failure came from the operating
/// system, else HDF5's own.
std::string hdf5_cause(const H5::Exception& e);

}  // namespace citytwin
