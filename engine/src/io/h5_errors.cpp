// HDF5 errors: silent, and the system's reason kept (h5_errors.hpp).
#include "io/h5_errors.hpp"

#include <string_view>

namespace citytwin {

namespace {

// HDF5's error stack holds the system's message deep down ("errno = 28, error message =
// '...'"), and the stack is cleared by the next HDF5 call -- the C++ wrappers' destructors run
// while an exception unwinds -- so it is caught when the error happens, by an automatic error
// handler that prints nothing.
thread_local std::string t_system_error;

herr_t capture_system_error(hid_t stack, void*) {
  H5Ewalk2(
      stack, H5E_WALK_DOWNWARD,
      [](unsigned, const H5E_error2_t* err, void*) -> herr_t {
        const std::string_view desc = err->desc ? err->desc : "";
        const auto at = desc.find("error message = '");
        if (at != std::string_view::npos) {
          const auto begin = at + 17, end = desc.find('\'', begin);
          t_system_error = std::string(desc.substr(begin, end - begin));
        }
        return 0;
      },
      nullptr);
  return 0;
}

}  // namespace

void quiet_hdf5_errors() {
  H5Eset_auto2(H5E_DEFAULT, capture_system_error, nullptr);
}

std::string hdf5_cause(const H5::Exception& e) {
  std::string why = t_system_error.empty() ? e.getDetailMsg() : t_system_error;
  t_system_error.clear();
  return why;
}

}  // namespace citytwin
