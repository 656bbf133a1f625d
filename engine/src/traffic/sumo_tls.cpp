// tlLogic programs (https://sumo.dlr.de/docs/Simulation/Traffic_Lights.html): fixed-time
// ("static") programs, and "actuated" ones with SUMO's gap-based control (the loops and their
// phases: build_actuation; the switching: update_signals). Other types run their `duration`
// values as fixed times, with a warning (docs/traffic.md).
#include <algorithm>
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

Result<void> tls_start(std::string_view name, const xml::Attrs& at,
                       std::map<std::string, TlsProgram>& programs, TlsParse& p) {
  if (name == "tlLogic") {
    auto id = at.text("tlLogic", "id");
    if (!id) return fail(id.error());
    auto off = at.number_in("tlLogic", "offset", 0.0, -k_max_offset_s, k_max_offset_s);
    if (!off) return fail(off.error());
    TlsProgram prog;
    prog.offset = seconds_ms(*off);
    if (const char* type = at.find("type")) prog.type = type;
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
    // minDur and maxDur (actuated programs) default to the duration.
    auto lo = at.number_in("phase", "minDur", *dur, 0.0, k_max_phase_s);
    if (!lo) return fail(lo.error());
    auto hi = at.number_in("phase", "maxDur", *dur, 0.0, k_max_phase_s);
    if (!hi) return fail(hi.error());
    if (!(*lo > 0) || *lo > *hi)
      return fail(at.error("phase.minDur", "not within (0, maxDur]", fmt::format("{}", *lo),
                           fmt::format("0 < minDur <= maxDur ({})", *hi)));
    prog.durations.push_back(seconds_ms(*dur));
    prog.min_durs.push_back(seconds_ms(*lo));
    prog.max_durs.push_back(seconds_ms(*hi));
    prog.states.emplace_back(*st);
    return {};
  }
  if (name == "param" && !p.current.empty()) {
    // The actuated controller's parameters; SUMO's others (detector output, vTypes, ...) do
    // not change the control and are left alone.
    auto key = at.text("param", "key");
    if (!key) return fail(key.error());
    if (*key != "max-gap" && *key != "detector-gap") return {};
    auto value = at.number("param", "value");
    if (!value) return fail(value.error());
    if (!(*value >= 0) || *value > k_max_phase_s)
      return fail(at.error("param.value", "out of range", fmt::format("{}", *value),
                           fmt::format("seconds in [0, {}] for {}", k_max_phase_s, *key)));
    TlsProgram& prog = programs[p.current];
    (*key == "max-gap" ? prog.max_gap_s : prog.detector_gap_s) = static_cast<float>(*value);
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

namespace {

// Per-signal and per-phase actuation data for programs built without it: fixed-time.
void actuation_defaults(Network& net) {
  const std::size_t nt = net.tl_id.size(), np = net.phase_duration.size();
  if (net.phase_min.size() != np || net.phase_max.size() != np)
    net.phase_min = net.phase_max = net.phase_duration;
  net.tl_type.resize(nt, "static");
  net.tl_file.resize(nt);
  net.tl_max_gap_s.resize(nt, 3.0f);
  net.tl_detector_gap_s.resize(nt, 2.0f);
}

// The loops of actuated signal t: one per incoming road lane, with its green phases.
void add_loops(Network& net, std::size_t t) {
  const auto p0 = static_cast<std::size_t>(net.tl_phase_begin[t]);
  const auto p1 = static_cast<std::size_t>(net.tl_phase_begin[t + 1]);
  const auto state = [&](std::size_t ph, std::int32_t link) {
    return net.phase_state[static_cast<std::size_t>(net.phase_state_begin[ph] + link)];
  };
  for (std::int32_t k = net.tl_conn_begin[t]; k < net.tl_conn_begin[t + 1]; ++k) {
    const auto c = static_cast<std::size_t>(net.tl_conn[static_cast<std::size_t>(k)]);
    const std::int32_t lane = net.conn_from_lane[c];
    if (lane >= net.n_road_lanes) continue;
    const auto l = static_cast<std::size_t>(lane);
    if (net.lane_loop[l] < 0) {
      // SUMO places the loop detector-gap seconds at the lane's speed before the stop line.
      net.lane_loop[l] = static_cast<std::int32_t>(net.loop_lane.size());
      net.loop_lane.push_back(lane);
      net.loop_pos.push_back(
          std::max(0.0f, net.lane_length[l] - net.tl_detector_gap_s[t] * net.lane_speed[l]));
      net.loop_green_begin.push_back(static_cast<std::int32_t>(net.loop_green.size()));
      net.loop_green.resize(net.loop_green.size() + (p1 - p0), 0);
    }
    // The link counts in a phase where it is 'G', or 'g' when it is never 'G' (a minor green
    // that is the link's only green, such as a permissive turn).
    const std::int32_t link = net.conn_tl_link[c];
    bool major = false;
    for (std::size_t ph = p0; ph < p1; ++ph) major = major || state(ph, link) == 'G';
    const auto g0 =
        static_cast<std::size_t>(net.loop_green_begin[static_cast<std::size_t>(net.lane_loop[l])]);
    for (std::size_t ph = p0; ph < p1; ++ph) {
      const char ch = state(ph, link);
      if (ch == 'G' || (ch == 'g' && !major)) net.loop_green[g0 + ph - p0] = 1;
    }
  }
}

}  // namespace

Result<void> set_program(Network& net, const std::string& id, const TlsProgram& prog) {
  std::size_t t = 0;
  while (t < net.tl_id.size() && net.tl_id[t] != id) ++t;
  if (t == net.tl_id.size())
    return fail(
        Error::msg("tlLogic '" + id + "' is not a traffic light of the network", prog.file));
  actuation_defaults(net);  // every signal's actuation data, to be copied below
  // Rebuild the CSR with this signal's phases replaced.
  std::vector<SimTime> dur, lo, hi;
  std::vector<std::int32_t> begin{0}, sbegin;
  std::string states;
  for (std::size_t k = 0; k < net.tl_id.size(); ++k) {
    if (k == t) {
      for (std::size_t i = 0; i < prog.durations.size(); ++i) {
        dur.push_back(prog.durations[i]);
        lo.push_back(i < prog.min_durs.size() ? prog.min_durs[i] : prog.durations[i]);
        hi.push_back(i < prog.max_durs.size() ? prog.max_durs[i] : prog.durations[i]);
        sbegin.push_back(static_cast<std::int32_t>(states.size()));
        states += prog.states[i];
      }
    } else {
      for (std::int32_t ph = net.tl_phase_begin[k]; ph < net.tl_phase_begin[k + 1]; ++ph) {
        dur.push_back(net.phase_duration[static_cast<std::size_t>(ph)]);
        lo.push_back(net.phase_min[static_cast<std::size_t>(ph)]);
        hi.push_back(net.phase_max[static_cast<std::size_t>(ph)]);
        sbegin.push_back(static_cast<std::int32_t>(states.size()));
        states.append(net.phase_state,
                      static_cast<std::size_t>(net.phase_state_begin[static_cast<std::size_t>(ph)]),
                      static_cast<std::size_t>(net.tl_links[k]));
      }
    }
    begin.push_back(static_cast<std::int32_t>(dur.size()));
  }
  net.phase_duration = std::move(dur);
  net.phase_min = std::move(lo);
  net.phase_max = std::move(hi);
  net.phase_state_begin = std::move(sbegin);
  net.phase_state = std::move(states);
  net.tl_phase_begin = std::move(begin);
  net.tl_offset[t] = prog.offset;
  net.tl_cycle[t] = std::accumulate(prog.durations.begin(), prog.durations.end(), SimTime{0});
  net.tl_links[t] = static_cast<std::int32_t>(prog.states.front().size());
  net.tl_type[t] = prog.type;
  net.tl_file[t] = prog.file;
  net.tl_max_gap_s[t] = prog.max_gap_s;
  net.tl_detector_gap_s[t] = prog.detector_gap_s;
  build_actuation(net);
  return {};
}

void build_actuation(Network& net) {
  actuation_defaults(net);
  const std::size_t nt = net.tl_id.size();
  net.tl_loop_begin.assign(1, 0);
  net.loop_lane.clear();
  net.loop_pos.clear();
  net.loop_green_begin.clear();
  net.loop_green.clear();
  net.lane_loop.assign(static_cast<std::size_t>(net.n_lanes()), -1);
  const bool conns_known = net.tl_conn_begin.size() == nt + 1;  // after finalize_network
  for (std::size_t t = 0; t < nt; ++t) {
    if (conns_known && net.tl_type[t] == "actuated") add_loops(net, t);
    net.tl_loop_begin.push_back(static_cast<std::int32_t>(net.loop_lane.size()));
  }
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

// What a SUMO additional file holds: signal programs, stopping places, route-file elements,
// detectors.
struct AdditionalKinds : xml::Handler {
  bool tls = false, places = false, routes = false, detectors = false;
  Result<void> start(std::string_view name, const xml::Attrs&, int depth) override {
    if (depth != 2) return {};
    if (name == "tlLogic") tls = true;
    if (name == "busStop" || name == "trainStop") places = true;
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
  if (kinds.places)
    if (auto r = read_sumo_stop_places(path, net); !r) return fail(r.error());
  if (kinds.tls) {
    if (auto r = read_sumo_tls(path, net); !r) return fail(r.error());
  } else if (kinds.routes) {
    if (auto r = read_sumo_routes(path, net, demand, seed); !r) return fail(r.error());
  }
  return kinds.detectors;
}

}  // namespace citytwin::traffic
