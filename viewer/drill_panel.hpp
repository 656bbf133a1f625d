// The Drill panel (Dear ImGui) of a live drill in the viewer (docs/viewer.md "A live drill"):
// the drill's events as they happen (commands with their ack, observation counts), every
// sensor's observed and simulated values, and buttons that send drill commands as an operator
// through the broker (citytwin/<twin>/cmd), the channel every operator uses: the twin applies
// them at its next step and acks them like anyone's.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "citytwin/live.hpp"
#include "sensors_layer.hpp"

namespace citytwin::view {

/// What the viewer has picked that a command can name.
struct DrillPick {
  int sensor = -1;      ///< datastream
  int link = -1;        ///< road link
  int substation = -1;  ///< substation
};

class DrillPanel {
 public:
  /// The operator's connection when the scenario names a broker (credentials from
  /// read_operator_credentials); without one the buttons say why they are off.
  DrillPanel(const LiveSpec& live, const SensorsLayer& sensors);
  ~DrillPanel();

  enum class Button { pause, resume, speed, scale_load, close_link, substation_out };
  /// Parses a button's name as --press gives it ("close-link"); nullopt when none has it.
  static std::optional<Button> button(std::string_view name);
  /// What a button does: publishes its command (naming the picked link or substation); false
  /// when it cannot (no operator connection, nothing of that kind picked).
  bool press(Button b, const DrillPick& pick);
  /// Takes the acks and status the broker delivered; prints the acks of this panel's commands.
  void poll();
  /// The panel's widgets (inside ImGuiLayer's build), and the description of the sensor under
  /// the mouse (`hovered`, -1: none) as a tooltip.
  void widgets(const DrillFrame& f, const DrillPick& pick, int hovered);

 private:
  const LiveSpec& m_live;
  const SensorsLayer& m_sensors;
  std::unique_ptr<live::MqttLink> m_operator;
  std::string m_no_operator;  ///< why there is no operator connection
  int m_sent = 0;
  float m_speed = 60, m_load = 1.5f;
  std::vector<std::string> m_log;  ///< what this panel sent and the acks it got
  std::string m_status;            ///< the twin's last status, one line
};

}  // namespace citytwin::view
