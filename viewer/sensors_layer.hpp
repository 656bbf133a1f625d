// A live drill's sensors in the city (docs/viewer.md "A live drill"): a marker where each
// datastream stands -- a gauge's `at`, a substation meter's substation, a road link's midpoint
// -- picked by the pixel nearest the click, and what each one observed against what the state
// simulates there. Datastreams without a place are listed in the Drill panel only.
#pragma once

#include <osg/Geode>
#include <osg/Matrixd>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "city_scene.hpp"
#include "citytwin/live.hpp"

namespace citytwin::view {

/// What the drill shows at one frame, copied from the LiveSession by the stepping thread.
struct DrillFrame {
  SimTime t = 0;
  std::vector<std::optional<live::Observation>> latest;  ///< (n_datastreams) last accepted
  std::vector<double> simulated;            ///< (n_datastreams) read in the state, NaN: none
  std::vector<live::Assimilator::Fit> fit;  ///< (n_datastreams)
  std::vector<live::Ack> acks;              ///< every command answered so far
  std::int64_t accepted = 0;                ///< observations accepted
  std::array<std::int64_t, live::k_reject_reasons> rejected{};
  bool broker = false, connected = false;  ///< a broker is named; the link is up
};

class SensorsLayer {
 public:
  SensorsLayer(const CityScene& scene, const std::vector<DatastreamSpec>& datastreams);
  /// The markers (a pole and a magenta head per placed datastream), for the scene graph.
  osg::Node* root() const { return m_geode.get(); }
  /// Places the substation meters and remembers the substations (for picking) once the frames
  /// carry the power layout.
  void set_power_layout(std::shared_ptr<const PowerLayout> layout);
  /// The datastream whose marker head is within `radius_px` of window pixel (x, y), nearest
  /// first; -1 when none.
  int sensor_at(const osg::Matrixd& window_from_scene, float x, float y,
                float radius_px = 14) const;
  /// The substation box within `radius_px` of window pixel (x, y); -1 when none.
  int substation_at(const osg::Matrixd& window_from_scene, float x, float y,
                    float radius_px = 14) const;
  /// Scene point of datastream d's marker head, when it has a place.
  std::optional<osg::Vec3d> marker(int d) const { return m_head[static_cast<std::size_t>(d)]; }
  /// One line: datastream d, what it observed last, what the state reads, and its fit.
  std::string describe(int d, const DrillFrame& f) const;

 private:
  void rebuild();
  const CityScene& m_scene;
  const std::vector<DatastreamSpec>& m_datastreams;
  std::vector<std::optional<osg::Vec3d>> m_head;  ///< (n_datastreams) scene
  std::vector<osg::Vec3d> m_substations;          ///< (n_sub) scene, box tops
  std::shared_ptr<const PowerLayout> m_layout;
  osg::ref_ptr<osg::Geode> m_geode = new osg::Geode;
};

}  // namespace citytwin::view
