#include "drill_panel.hpp"

#include <fmt/format.h>
#include <imgui.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <iostream>

namespace citytwin::view {
namespace {

constexpr std::size_t k_log_lines = 12;

struct Named {
  const char* name;
  DrillPanel::Button button;
};
constexpr Named k_buttons[] = {
    {"pause", DrillPanel::Button::pause},
    {"resume", DrillPanel::Button::resume},
    {"speed", DrillPanel::Button::speed},
    {"scale-load", DrillPanel::Button::scale_load},
    {"close-link", DrillPanel::Button::close_link},
    {"substation-out", DrillPanel::Button::substation_out},
};

}  // namespace

DrillPanel::DrillPanel(const LiveSpec& live, const SensorsLayer& sensors)
    : m_live(live), m_sensors(sensors) {
  if (live.broker.empty()) {
    m_no_operator = "the scenario names no broker ([live] broker)";
    return;
  }
  auto cred = live::read_operator_credentials();
  auto link = cred ? live::MqttLink::connect(live, *cred, live::MqttLink::Role::operator_)
                   : Result<std::unique_ptr<live::MqttLink>>(fail(cred.error()));
  if (link) {
    m_operator = std::move(*link);
    std::cout << fmt::format("drill: connected to {} as operator {}", live.broker, cred->username)
              << std::endl;
  } else {
    m_no_operator = link.error().to_string();
    std::cerr << "citytwin-view: the Drill panel cannot send commands: " << m_no_operator << "\n";
  }
}

DrillPanel::~DrillPanel() = default;

std::optional<DrillPanel::Button> DrillPanel::button(std::string_view name) {
  for (const Named& n : k_buttons)
    if (name == n.name) return n.button;
  return std::nullopt;
}

bool DrillPanel::press(Button b, const DrillPick& pick) {
  if (!m_operator) return false;
  nlohmann::json cmd{{"id", fmt::format("view-{}-{}", getpid(), ++m_sent)}};
  switch (b) {
    case Button::pause:
      cmd["type"] = "pause";
      break;
    case Button::resume:
      cmd["type"] = "resume";
      break;
    case Button::speed:
      cmd["type"] = "speed", cmd["factor"] = m_speed;
      break;
    case Button::scale_load:
      cmd["type"] = "power.scale_load", cmd["factor"] = m_load;
      break;
    case Button::close_link:
      if (pick.link < 0) return false;
      cmd["type"] = "traffic.close", cmd["edges"] = {std::to_string(pick.link)};
      break;
    case Button::substation_out:
      if (pick.substation < 0) return false;
      cmd["type"] = "power.substation_out", cmd["substation"] = pick.substation;
      break;
  }
  const std::string text = cmd.dump();
  m_operator->publish("cmd", text);
  m_log.push_back(fmt::format("sent {}", text));
  std::cout << "drill: sent " << text << std::endl;
  return true;
}

void DrillPanel::poll() {
  if (!m_operator) return;
  const std::string prefix = fmt::format("view-{}-", getpid());
  for (const live::Inbound& in : m_operator->drain()) {
    const nlohmann::json j = nlohmann::json::parse(in.payload, nullptr, false);
    if (!j.is_object()) continue;
    if (in.topic.ends_with("/status")) {
      m_status =
          fmt::format("twin at t = {:.0f} s, step {}{}; links closed {}", j.value("t_s", 0.0),
                      j.value("step", 0), j.value("paused", false) ? ", PAUSED" : "",
                      j.value("city", nlohmann::json::object()).value("links_closed", 0));
      continue;
    }
    const std::string id = j.value("id", "");
    if (!id.starts_with(prefix)) continue;  // another operator's
    const std::string line = fmt::format(
        "ack {} {} at step {} (t = {:.0f} s){}", id, j.value("status", "?"), j.value("step", -1),
        j.value("t_s", 0.0), j.contains("error") ? fmt::format(": {}", j.value("error", "")) : "");
    m_log.push_back(line);
    std::cout << "drill: " << line << std::endl;
  }
  if (m_log.size() > k_log_lines)
    m_log.erase(m_log.begin(), m_log.end() - static_cast<std::ptrdiff_t>(k_log_lines));
}

void DrillPanel::widgets(const DrillFrame& f, const DrillPick& pick, int hovered) {
  if (hovered >= 0) ImGui::SetTooltip("%s", m_sensors.describe(hovered, f).c_str());
  const ImGuiIO& io = ImGui::GetIO();
  ImGui::SetNextWindowPos(ImVec2(io.DisplaySize.x - 8, io.DisplaySize.y - 8), ImGuiCond_Always,
                          ImVec2(1, 1));
  ImGui::SetNextWindowSize(ImVec2(std::min(460.f, io.DisplaySize.x - 16), 0), ImGuiCond_Always);
  ImGui::SetNextWindowBgAlpha(0.85f);
  ImGui::Begin("Drill", nullptr, ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoMove);
  ImGui::Text("twin %s, broker %s", m_live.twin.c_str(),
              !f.broker     ? "none"
              : f.connected ? "connected"
                            : "RECONNECTING");
  std::int64_t rejected = 0;
  for (const std::int64_t r : f.rejected) rejected += r;
  ImGui::Text("observations: %lld accepted, %lld refused", static_cast<long long>(f.accepted),
              static_cast<long long>(rejected));
  if (!m_status.empty()) ImGui::TextUnformatted(m_status.c_str());

  // Every sensor: observed and simulated now (the picked one first).
  if (ImGui::CollapsingHeader("sensors", ImGuiTreeNodeFlags_DefaultOpen))
    for (std::size_t d = 0; d < f.simulated.size(); ++d)
      ImGui::TextWrapped("%s%s", static_cast<int>(d) == pick.sensor ? "> " : "",
                         m_sensors.describe(static_cast<int>(d), f).c_str());

  // The drill's events: commands as the twin answered them, newest last.
  if (ImGui::CollapsingHeader("commands", ImGuiTreeNodeFlags_DefaultOpen)) {
    const std::size_t from = f.acks.size() > 6 ? f.acks.size() - 6 : 0;
    for (std::size_t k = from; k < f.acks.size(); ++k) {
      const live::Ack& a = f.acks[k];
      ImGui::TextWrapped("step %lld (t = %.0f s) %s: %s%s%s", static_cast<long long>(a.step),
                         to_seconds(a.t), a.id.c_str(), a.applied ? "applied" : "REFUSED",
                         a.error.empty() ? "" : ": ", a.error.c_str());
    }
  }

  // Sending, as an operator.
  if (!m_operator) {
    ImGui::TextWrapped("commands off: %s", m_no_operator.c_str());
  } else {
    if (ImGui::Button("pause")) press(Button::pause, pick);
    ImGui::SameLine();
    if (ImGui::Button("resume")) press(Button::resume, pick);
    ImGui::SameLine();
    ImGui::SetNextItemWidth(80);
    ImGui::InputFloat("##speed", &m_speed, 0, 0, "%.0f");
    ImGui::SameLine();
    if (ImGui::Button("speed")) press(Button::speed, pick);
    ImGui::SetNextItemWidth(80);
    ImGui::InputFloat("##load", &m_load, 0, 0, "%.2f");
    ImGui::SameLine();
    if (ImGui::Button("scale load")) press(Button::scale_load, pick);
    const std::string close = pick.link < 0 ? std::string("close link (pick a road)")
                                            : fmt::format("close road link {}", pick.link);
    if (ImGui::Button(close.c_str())) press(Button::close_link, pick);
    const std::string out = pick.substation < 0
                                ? std::string("substation out (pick one)")
                                : fmt::format("take substation {} out", pick.substation);
    ImGui::SameLine();
    if (ImGui::Button(out.c_str())) press(Button::substation_out, pick);
    for (const std::string& line : m_log) ImGui::TextWrapped("%s", line.c_str());
  }
  ImGui::End();
}

}  // namespace citytwin::view
