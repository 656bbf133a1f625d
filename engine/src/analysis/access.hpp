// Private to engine/src/analysis: road access from facilities, the isochrones behind the access
// KPIs and the compare maps.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "citytwin/error.hpp"

namespace citytwin {

class RunReader;

/// The city's road graph, buildings and facilities as a run file records them (/city).
class RoadAccess {
 public:
  /// Reads /city/roads, /city/buildings and /city/facilities.
  static Result<RoadAccess> load(const RunReader& run);

  /// Per building, the fastest drive (s) at the speed limit between it and the nearest
  /// facility of `kind` (FacilityKind): from the facility when `from_facility` (a fire engine),
  /// to it otherwise (a patient). Links with closed[l] != 0 are not driven (closed may be
  /// empty). +infinity where none reaches; empty when the city has no such facility.
  std::vector<double> building_times(int kind, bool from_facility,
                                     std::span<const std::uint8_t> closed) const;
  /// The same for every facility's own location (the facility's nearest node).
  std::vector<double> facility_times(int kind, bool from_facility,
                                     std::span<const std::uint8_t> closed) const;
  std::int32_t links() const { return static_cast<std::int32_t>(m_from.size()); }

 private:
  std::vector<double> node_times(int kind, bool from_facility,
                                 std::span<const std::uint8_t> closed) const;
  std::vector<std::int32_t> m_from, m_to;        // (links)
  std::vector<double> m_time;                    // (links) s at the speed limit
  std::vector<std::int32_t> m_out_begin, m_out;  // CSR of links leaving each node
  std::vector<std::int32_t> m_in_begin, m_in;    // CSR of links entering each node
  std::vector<std::int32_t> m_building_node;     // (buildings) nearest node, -1 without roads
  std::vector<std::int32_t> m_facility_node;     // (facilities)
  std::vector<std::uint8_t> m_facility_kind;     // (facilities)
  std::int32_t m_nodes = 0;
};

}  // namespace citytwin
