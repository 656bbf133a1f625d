// Private to engine/src/city: transforms between arbitrary CRSs (DEM CRS -> model CRS).
#pragma once

#include <string>

#include "citytwin/city.hpp"

namespace citytwin {

/// A PROJ transform from one CRS to another, axis order x/east, y/north on both sides.
class CrsTransform {
 public:
  static Result<CrsTransform> create(const std::string& from, const std::string& to);
  ~CrsTransform();
  CrsTransform(CrsTransform&&) noexcept;
  CrsTransform& operator=(CrsTransform&&) = delete;
  bool forward(double& x, double& y) const;
  bool inverse(double& x, double& y) const;

 private:
  CrsTransform() = default;
  void* m_ctx = nullptr;
  void* m_pj = nullptr;
};

/// Name ("EPSG:32632" when it has an authority code) and WKT2 of a CRS definition.
Crs describe_crs(const std::string& definition);

}  // namespace citytwin

namespace citytwin {
/// True when two CRS definitions describe the same CRS (PROJ equivalence).
bool same_crs(const std::string& a, const std::string& b);
}  // namespace citytwin
