// Offline sources of a live run: a file of observations (JSON lines, paced by their
// phenomenonTime) and the journal a drill left in its run file (docs/live.md "Replay").
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <limits>
#include <optional>

#include "citytwin/io.hpp"
#include "citytwin/live.hpp"

namespace citytwin::live {

Result<ReplayFile> ReplayFile::open(const std::string& path, std::int64_t start_unix_s) {
  std::ifstream in(path);
  if (!in) return fail(Error::msg("cannot open the replay file", path));
  ReplayFile f;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    // A batch (an array) is offered when its earliest observation is due. Lines without a
    // readable time go first: the intake refuses them with the reason.
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    std::optional<SimTime> earliest;
    const auto time_of = [&](const nlohmann::json& o) {
      if (!o.is_object() || !o.contains("phenomenonTime") || !o["phenomenonTime"].is_string())
        return;
      if (auto t = observation_time(o["phenomenonTime"].get<std::string>(), start_unix_s))
        earliest = std::min(earliest.value_or(*t), *t);
    };
    if (j.is_array())
      for (const nlohmann::json& o : j) time_of(o);
    else
      time_of(j);
    f.m_lines.push_back({earliest.value_or(std::numeric_limits<SimTime>::min()), number, line});
  }
  std::stable_sort(f.m_lines.begin(), f.m_lines.end(),
                   [](const Line& a, const Line& b) { return a.at < b.at; });
  return f;
}

std::vector<std::pair<int, std::string>> ReplayFile::due(SimTime until) {
  std::vector<std::pair<int, std::string>> out;
  while (m_next < m_lines.size() && m_lines[m_next].at < until) {
    out.emplace_back(m_lines[m_next].number, std::move(m_lines[m_next].text));
    ++m_next;
  }
  return out;
}

Result<Journal> read_journal(const std::string& run_file) {
  auto r = RunReader::open(run_file);
  if (!r) return fail(r.error());
  const RunReader& rr = **r;
  Journal j;
  if (!rr.exists("/sensors/observations/received_ms") || !rr.exists("/live/commands/t_ms"))
    return fail(
        Error::msg("no drill journal (/sensors/observations, /live/commands): not a "
                   "run of a scenario with [live] or [[sensors.datastream]]",
                   run_file));
  auto received = rr.read_values<std::int64_t>("/sensors/observations/received_ms");
  auto phenomenon = rr.read_values<std::int64_t>("/sensors/observations/phenomenon_ms");
  auto datastream = rr.read_values<std::int32_t>("/sensors/observations/datastream");
  auto value = rr.read_values<double>("/sensors/observations/value");
  auto t = rr.read_values<std::int64_t>("/live/commands/t_ms");
  auto step = rr.read_values<std::int64_t>("/live/commands/step");
  auto status = rr.read_values<std::uint8_t>("/live/commands/status");
  auto end = rr.read_values<std::int64_t>("/live/commands/text_end");
  auto text = rr.read_values<std::uint8_t>("/live/commands/text");
  if (!received || !phenomenon || !datastream || !value || !t || !step || !status || !end || !text)
    return fail(Error::msg("the drill journal is incomplete", run_file));
  const std::size_t n = received->size();
  if (phenomenon->size() != n || datastream->size() != n || value->size() != n)
    return fail(Error::msg("/sensors/observations: its columns differ in length", run_file));
  for (std::size_t i = 0; i < n; ++i)
    j.observations.push_back({(*received)[i], (*phenomenon)[i], (*datastream)[i], (*value)[i]});
  const std::size_t m = t->size();
  if (step->size() != m || status->size() != m || end->size() != m)
    return fail(Error::msg("/live/commands: its columns differ in length", run_file));
  std::size_t b = 0;
  for (std::size_t i = 0; i < m; ++i) {
    const auto e = static_cast<std::size_t>((*end)[i]);
    if (e < b || e > text->size())
      return fail(Error::msg("/live/commands/text_end: not increasing within the text", run_file));
    j.commands.push_back({(*t)[i], (*step)[i],
                          std::string(reinterpret_cast<const char*>(text->data()) + b, e - b),
                          (*status)[i]});
    b = e;
  }
  return j;
}

}  // namespace citytwin::live
