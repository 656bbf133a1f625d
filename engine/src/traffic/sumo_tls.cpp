// tlLogic programs (https://sumo.dlr.de/docs/Simulation/Traffic_Lights.html). Only fixed-time
// ("static") programs are modelled; actuated programs run their `duration` values as fixed
// times (documented in docs/scenario-traffic.md).
#include <numeric>

#include <fmt/format.h>

#include "traffic/sumo_common.hpp"

namespace citytwin::traffic {

namespace {
// Bounds that keep a program's times (in ms) and its cycle, their sum, far inside SimTime: a
// phase of over 11 days or an offset of over 30 years is a corrupt file, not a signal.
constexpr double k_max_phase_s = 1e6;
constexpr double k_max_offset_s = 1e9;
}  // namespace

std::vector<std::string> split_spaces(std::string_view s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

Result<void> tls_start(std::string_view name, const xml::Attrs& at,
                       std::map<std::string, TlsProgram>& programs, TlsParse& p) {
  if (name == "tlLogic") {
    auto id = at.text("tlLogic", "id");
    if (!id) return fail(id.error());
    auto off = at.number_in("tlLogic", "offset", 0.0, -k_max_offset_s, k_max_offset_s);
    if (!off) return fail(off.error());
    TlsProgram prog;
    prog.offset = seconds_ms(*off);
    prog.line = at.line();
    p.current = std::string(*id);
    programs[p.current] = std::move(prog);  // a later program replaces an earlier one
    return {};
  }
  if (name == "phase") {
    if (p.current.empty())
      return fail(at.error("phase", "phase outside a tlLogic", {}, "<phase> inside <tlLogic>"));
    auto dur = at.number("phase", "duration");
    auto st = at.text("phase", "state");
    if (!dur) return fail(dur.error());
    if (!st) return fail(st.error());
    if (*dur <= 0)
      return fail(at.error("phase.duration", "not positive", std::to_string(*dur), "> 0 s"));
    if (*dur > k_max_phase_s)
      return fail(at.error("phase.duration", "out of range", fmt::format("{}", *dur),
                           fmt::format("at most {} s", k_max_phase_s)));
    for (char c : *st)
      if (std::string_view("rRyYgGuoOsx=").find(c) == std::string_view::npos)
        return fail(at.error("phase.state", "unknown signal state", std::string(1, c),
                             "one of r y Y g G u o O s"));
    TlsProgram& prog = programs[p.current];
    if (!prog.states.empty() && prog.states.front().size() != st->size())
      return fail(at.error("phase.state", "state length differs from the first phase",
                           std::to_string(st->size()), std::to_string(prog.states.front().size())));
    prog.durations.push_back(seconds_ms(*dur));
    prog.states.emplace_back(*st);
    return {};
  }
  return {};
}

Result<void> tls_end(std::string_view name, std::map<std::string, TlsProgram>& programs,
                     TlsParse& p) {
  if (name == "tlLogic") {
    if (programs[p.current].durations.empty())
      return fail(Error::msg("tlLogic '" + p.current + "' has no phases"));
    p.current.clear();
  }
  return {};
}

Result<void> set_program(Network& net, const std::string& id, const TlsProgram& prog) {
  std::size_t t = 0;
  while (t < net.tl_id.size() && net.tl_id[t] != id) ++t;
  if (t == net.tl_id.size())
    return fail(
        Error::msg("tlLogic '" + id + "' is not a traffic light of the network", prog.file));
  // Rebuild the CSR with this signal's phases replaced.
  std::vector<SimTime> dur;
  std::vector<std::int32_t> begin{0}, sbegin;
  std::string states;
  for (std::size_t k = 0; k < net.tl_id.size(); ++k) {
    if (k == t) {
      for (std::size_t i = 0; i < prog.durations.size(); ++i) {
        dur.push_back(prog.durations[i]);
        sbegin.push_back(static_cast<std::int32_t>(states.size()));
        states += prog.states[i];
      }
    } else {
      for (std::int32_t ph = net.tl_phase_begin[k]; ph < net.tl_phase_begin[k + 1]; ++ph) {
        dur.push_back(net.phase_duration[static_cast<std::size_t>(ph)]);
        sbegin.push_back(static_cast<std::int32_t>(states.size()));
        states.append(net.phase_state,
                      static_cast<std::size_t>(net.phase_state_begin[static_cast<std::size_t>(ph)]),
                      static_cast<std::size_t>(net.tl_links[k]));
      }
    }
    begin.push_back(static_cast<std::int32_t>(dur.size()));
  }
  net.phase_duration = std::move(dur);
  net.phase_state_begin = std::move(sbegin);
  net.phase_state = std::move(states);
  net.tl_phase_begin = std::move(begin);
  net.tl_offset[t] = prog.offset;
  net.tl_cycle[t] = std::accumulate(prog.durations.begin(), prog.durations.end(), SimTime{0});
  net.tl_links[t] = static_cast<std::int32_t>(prog.states.front().size());
  return {};
}

namespace {
class TlsFileHandler final : public xml::Handler {
 public:
  std::map<std::string, TlsProgram> programs;
  TlsParse p;
  Result<void> start(std::string_view name, const xml::Attrs& at, int) override {
    return tls_start(name, at, programs, p);
  }
  Result<void> end(std::string_view name, int) override { return tls_end(name, programs, p); }
};
}  // namespace

Result<void> read_sumo_tls(const std::string& path, Network& net) {
  TlsFileHandler h;
  if (auto r = xml::parse_file(path, h); !r) return r;
  for (auto& [id, prog] : h.programs) {
    prog.file = path;
    for (std::size_t c = 0; c < net.conn_tl.size(); ++c) {
      const std::int32_t tl = net.conn_tl[c];
      if (tl >= 0 && net.tl_id[static_cast<std::size_t>(tl)] == id &&
          net.conn_tl_link[c] >= static_cast<std::int32_t>(prog.states.front().size())) {
        Diagnostic d;
        d.file = path;
        d.line = prog.line;
        d.field = "tlLogic.phase.state";
        d.message = "state string shorter than the signal's link indices";
        d.found = std::to_string(prog.states.front().size());
        d.expected = "> " + std::to_string(net.conn_tl_link[c]);
        return fail(std::move(d));
      }
    }
    if (auto r = set_program(net, id, prog); !r) return r;
  }
  return {};
}

namespace {

// What a SUMO additional file holds: signal programs, route-file elements, detectors.
struct AdditionalKinds : xml::Handler {
  bool tls = false, routes = false, detectors = false;
  Result<void> start(std::string_view name, const xml::Attrs&, int depth) override {
    if (depth != 2) return {};
    if (name == "tlLogic") tls = true;
    if (name == "inductionLoop" || name == "e1Detector") detectors = true;
    if (name == "vType" || name == "vTypeDistribution" || name == "route" || name == "vehicle" ||
        name == "flow")
      routes = true;
    return {};
  }
};

}  // namespace

Result<bool> read_sumo_additional(const std::string& path, Network& net, Demand& demand,
                                  std::uint64_t seed) {
  AdditionalKinds kinds;
  if (auto r = xml::parse_file(path, kinds); !r) return fail(r.error());
  if (kinds.tls && kinds.routes)
    return fail(Error::msg(
        "an additional file mixing <tlLogic> with vehicle types or routes; split it", path));
  if (kinds.tls) {
    if (auto r = read_sumo_tls(path, net); !r) return fail(r.error());
  } else if (kinds.routes) {
    if (auto r = read_sumo_routes(path, net, demand, seed); !r) return fail(r.error());
  }
  return kinds.detectors;
}

}  // namespace citytwin::traffic
