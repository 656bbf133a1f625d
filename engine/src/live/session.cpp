// LiveSession: what a live run does between two macro steps (docs/live.md): take the messages
// that arrived, validate them, inject the commands' events, journal what was accepted, answer
// the operators and publish the twin's status.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "citytwin/io.hpp"
#include "citytwin/live.hpp"

namespace citytwin::live {

namespace {

// Log lines for refused messages: every one of the first 20 per reason, then one in 1000 (a
// faulty sensor at 50,000 messages/s must not drown the log).
bool worth_logging(std::int64_t& logged) {
  ++logged;
  return logged <= 20 || logged % 1000 == 0;
}

}  // namespace

LiveSession::LiveSession(const Model& model)
    : m_model(model),
      m_intake(model.spec),
      m_assimilator(model.spec),
      m_latest(model.spec.live.datastreams.size()),
      m_next_status(model.spec.live.status_every) {}
LiveSession::~LiveSession() = default;

Result<std::unique_ptr<LiveSession>> LiveSession::open(const Model& model, const Options& o) {
  auto s = std::unique_ptr<LiveSession>(new LiveSession(model));
  const LiveSpec& live = model.spec.live;
  // A gauge off the city's terrain observes nothing the twin simulates.
  const Terrain& terrain = model.city->terrain;
  for (const DatastreamSpec& ds : live.datastreams)
    if (ds.at && !terrain.empty() && std::isnan(terrain.sample(ds.at->x, ds.at->y)))
      return fail(Error::msg(fmt::format(
          "{}: datastream \"{}\": at [{}, {}] is off the city's terrain (x {:.0f} to {:.0f}, "
          "y {:.0f} to {:.0f}, model CRS {})",
          ds.where, ds.id, ds.at->x, ds.at->y, terrain.x0, terrain.x0 + terrain.nx * terrain.dx,
          terrain.y0, terrain.y0 + terrain.ny * terrain.dy, model.city->crs.name)));
  if (o.replay.ends_with(".h5")) {
    auto j = read_journal(o.replay);
    if (!j) return fail(j.error());
    s->m_journal_replay = std::move(*j);
  } else if (!o.replay.empty()) {
    auto f = ReplayFile::open(o.replay, model.spec.run.start_unix_s);
    if (!f) return fail(f.error());
    s->m_replay = std::move(*f);
  }
  // A journal's replay is offline: the drill's messages are in the journal.
  if (o.broker && !live.broker.empty() && !s->m_journal_replay) {
    auto cred = read_credentials(live);
    if (!cred) return fail(cred.error());
    auto link = MqttLink::connect(live, *cred, MqttLink::Role::twin, 10, &s->m_intake);
    if (!link) return fail(link.error());
    s->m_link = std::move(*link);
    spdlog::info("live: connected to {} as {} (topics citytwin/{}/...)", live.broker,
                 live.client_id, live.twin);
  }
  return s;
}

bool LiveSession::active() const {
  return m_link || m_replay || m_journal_replay || !m_model.spec.live.datastreams.empty();
}

void LiveSession::create_journal(const Run& run, RunWriter& out) {
  const auto& ds = m_model.spec.live.datastreams;
  std::vector<std::string> ids, kinds, units;
  for (const DatastreamSpec& d : ds) {
    ids.push_back(d.id);
    kinds.emplace_back(sensor_kind_name(d.kind));
    units.push_back(d.unit);
  }
  out.write_strings("/sensors/datastreams/id", ids, {"", "[[sensors.datastream]] ids"});
  out.write_strings("/sensors/datastreams/kind", kinds, {"", "what each datastream observes"});
  out.write_strings("/sensors/datastreams/unit", units, {"", "the unit of its results"});
  const std::span<const std::int64_t> no_i64;
  out.extend("/sensors/observations/received_ms", no_i64,
             {"ms", "the clock when the observation was taken (the start of the next step)"});
  out.extend("/sensors/observations/phenomenon_ms", no_i64,
             {"ms", "when it was observed (phenomenonTime), since the run's start"});
  out.extend("/sensors/observations/datastream", std::span<const std::int32_t>(),
             {"1", "index into /sensors/datastreams"});
  out.extend("/sensors/observations/value", std::span<const double>(),
             {"", "the result in the datastream's unit (status: 1 in service, 0 out)"});
  out.extend("/sensors/observations/use", std::span<const std::uint8_t>(),
             {"1", "how it was used: 0 recorded, 1 switched (status), 2 assimilated"});
  out.extend("/live/commands/t_ms", no_i64, {"ms", "the clock when the command took effect"});
  if (!ds.empty()) write_readings(run, out);
  out.extend("/live/commands/step", no_i64, {"1", "the macro step it took effect at"});
  out.extend("/live/commands/status", std::span<const std::uint8_t>(),
             {"1", "1 applied, 0 refused"});
  out.extend(
      "/live/commands/text_end", no_i64,
      {"1", "end of the command's JSON in /live/commands/text (the previous end starts it)"});
  out.extend("/live/commands/text", std::span<const std::uint8_t>(),
             {"", "the commands' JSON as received, UTF-8, back to back"});
}

void LiveSession::before_step(Run& run, Control& control) {
  const SimState& s = run.state();
  const SimTime now = s.t;
  m_intake.advance(now);
  // A message checked (ObservationIntake::check) where it arrived; `from()` says where.
  auto take_observation = [&](const CheckedMessage& checked, std::string_view payload,
                              const auto& from) {
    for (ObservationIntake::Offered& o : m_intake.admit(checked, now)) {
      if (const auto& obs = o.accepted) {
        auto& latest = m_latest[static_cast<std::size_t>(obs->datastream)];
        if (!latest || latest->phenomenon <= obs->phenomenon) latest = *obs;
        m_assimilator.hold(*obs);
      } else if (worth_logging(m_logged[static_cast<int>(o.reason)])) {
        spdlog::warn("live: observation refused ({}) from {}: {}: {}", reject_name(o.reason),
                     from(), o.why, payload.substr(0, 300));
      }
    }
  };
  // A journal's replay applies the drill's events again, not its pauses and speed changes:
  // they changed no state, and the replay runs as fast as it can.
  auto take_command = [&](const std::string& text, bool controls) {
    Journal::Entry entry{now, s.step, text, 1};
    auto cmd = parse_command(m_model.spec, text, now);
    std::string id;
    if (cmd) id = cmd->id;
    if (!cmd) {
      entry.status = 0;
      ++m_commands_refused;
      const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
      if (j.is_object() && j.contains("id") && j["id"].is_string()) id = j["id"].get<std::string>();
      spdlog::warn("live: command refused: {}", cmd.error().to_string());
      answer({id, false, s.step, now, cmd.error().to_string(), {}});
    } else if (cmd->type == "fork") {
      // Taken after the step, so the futures start from the state the ack names, with the
      // events this turn's commands injected applied. A journal's replay forks nothing: a fork
      // changes no state of the twin.
      if (!controls) {
        answer({id, true, s.step, now, {}, {}});
      } else if (!m_forker) {
        entry.status = 0;
        ++m_commands_refused;
        answer({id,
                false,
                s.step,
                now,
                "this twin cannot fork (a viewer's drill): run the drill with citytwin run",
                {}});
      } else {
        m_pending_forks.push_back({std::move(*cmd), m_new_cmd.size()});
      }
    } else if (cmd->type == "pause" || cmd->type == "resume" || cmd->type == "speed") {
      if (controls && cmd->type != "speed") control.paused = cmd->type == "pause";
      if (controls && cmd->type == "speed") control.speed = cmd->factor;
      answer({id, true, s.step, now, {}, {}});
    } else {
      for (EventSpec& e : cmd->events) {
        m_pending_acks.push_back({id, s.rejected_events.size(), e.where, m_new_cmd.size()});
        run.inject(std::move(e));
      }
    }
    ++m_commands;
    m_new_cmd.push_back(std::move(entry));
  };

  // A replay's lines are checked here, as the network thread checks a broker's messages.
  if (m_replay)
    for (auto& [line, text] : m_replay->due(now + m_model.spec.run.step))
      take_observation(m_intake.check(text, ""), text,
                       [&] { return fmt::format("replay line {}", line); });
  if (m_journal_replay) {
    // The drill's own observations, taken at the clock they were taken at.
    auto& obs = m_journal_replay->observations;
    while (m_journal_obs < obs.size() && obs[m_journal_obs].received <= now)
      m_assimilator.hold(obs[m_journal_obs++]);
    auto& cmds = m_journal_replay->commands;
    while (m_journal_cmd < cmds.size() && cmds[m_journal_cmd].t <= now)
      take_command(cmds[m_journal_cmd++].text, false);
  }
  if (m_link) {
    const std::string cmd_topic = fmt::format("citytwin/{}/cmd", m_model.spec.live.twin);
    for (const Inbound& in : m_link->drain()) {
      if (in.checked)
        take_observation(*in.checked, in.payload, [&] { return std::string_view(in.topic); });
      else if (in.topic == cmd_topic)
        take_command(in.payload, true);
    }
  }
  // Observations whose time falls in the step about to be taken move the state now.
  const SimTime end = std::min(now + m_model.spec.run.step, m_model.spec.run.duration);
  for (Observation& o : m_assimilator.apply_due(run, end)) m_new_obs.push_back(o);
}

void LiveSession::write_readings(const Run& run, RunWriter& out) {
  const std::vector<double> r = m_assimilator.readings(run);
  const std::size_t n = r.size();
  out.extend("/sensors/readings/t_ms", std::vector<std::int64_t>{run.state().t},
             {"ms", "when the datastreams' readings were taken (every live.status_every)"});
  out.append("/sensors/readings/value", std::span<const double>(r),
             std::span<const std::size_t>(&n, 1),
             {"", "what each datastream reads in the state (its unit; NaN: not simulated)"});
}

void LiveSession::journal_observations(RunWriter& out) {
  if (m_new_obs.empty()) return;
  std::vector<std::int64_t> received, phenomenon;
  std::vector<std::int32_t> datastream;
  std::vector<double> value;
  std::vector<std::uint8_t> use;
  for (const Observation& o : m_new_obs) {
    received.push_back(o.received);
    phenomenon.push_back(o.phenomenon);
    datastream.push_back(o.datastream);
    value.push_back(o.value);
    use.push_back(o.use);
  }
  out.extend("/sensors/observations/received_ms", received, {});
  out.extend("/sensors/observations/phenomenon_ms", phenomenon, {});
  out.extend("/sensors/observations/datastream", datastream, {});
  out.extend("/sensors/observations/value", value, {});
  out.extend("/sensors/observations/use", use, {});
  m_journaled_obs += static_cast<std::int64_t>(m_new_obs.size());
}

void LiveSession::journal_commands(RunWriter& out) {
  if (m_new_cmd.empty()) return;
  std::vector<std::int64_t> t, step, end;
  std::vector<std::uint8_t> status, text;
  for (const Journal::Entry& e : m_new_cmd) {
    t.push_back(e.t);
    step.push_back(e.step);
    status.push_back(e.status);
    text.insert(text.end(), e.text.begin(), e.text.end());
    m_text_bytes += static_cast<std::int64_t>(e.text.size());
    end.push_back(m_text_bytes);
  }
  out.extend("/live/commands/t_ms", t, {});
  out.extend("/live/commands/step", step, {});
  out.extend("/live/commands/status", status, {});
  out.extend("/live/commands/text_end", end, {});
  out.extend("/live/commands/text", text, {});
}

void LiveSession::answer(Ack ack) {
  if (m_link) {
    nlohmann::json j{{"id", ack.id},
                     {"status", ack.applied ? "applied" : "refused"},
                     {"step", ack.step},
                     {"t_s", to_seconds(ack.t)}};
    if (!ack.applied) j["error"] = ack.error;
    if (!ack.fork.empty()) j["fork"] = ack.fork;
    m_link->publish("ack", j.dump());
  }
  m_acks.push_back(std::move(ack));
}

bool LiveSession::turn(Run& run, RunWriter* out, Control& control, bool due) {
  const bool was_paused = control.paused;
  before_step(run, control);
  if (control.speed > 0) {
    spdlog::info("live: speed {:g}x the wall clock from {}", control.speed,
                 format_duration(run.state().t));
    if (control.run_paced) run.pace(control.speed), control.speed = 0;
  }
  if (control.paused != was_paused) {
    spdlog::info("live: {} at {}", control.paused ? "paused" : "resumed",
                 format_duration(run.state().t));
    // Paced time starts again from the clock where the pause left it.
    if (!control.paused && run.pacing().factor > 0) run.pace(run.pacing().factor);
    publish_status(run, control.paused);
  }
  if (control.paused || !due || run.done()) return false;
  run.step();
  after_step(run, out);
  return true;
}

void LiveSession::after_step(Run& run, RunWriter* out) {
  const SimState& s = run.state();
  // Acks: an injected event that named nothing of the model left a message with its origin.
  for (const Pending& p : m_pending_acks) {
    std::string error;
    for (std::size_t k = p.rejected_before; k < s.rejected_events.size(); ++k)
      if (s.rejected_events[k].find(p.where) != std::string::npos) error = s.rejected_events[k];
    Journal::Entry& entry = m_new_cmd[p.journal_row];
    if (!error.empty() && entry.status == 1) {
      entry.status = 0;
      ++m_commands_refused;
    }
    answer({p.id, error.empty(), entry.step, entry.t, error, {}});
  }
  m_pending_acks.clear();
  for (auto& [cmd, row] : m_pending_forks) {
    auto dir = m_forker->start(run, cmd);
    if (dir) {
      ++m_forks;
      spdlog::info("live: fork {} of the state at {} runs in {}", cmd.id, format_duration(s.t),
                   *dir);
    } else {
      m_new_cmd[row].status = 0;
      ++m_commands_refused;
      spdlog::warn("live: fork {} refused: {}", cmd.id, dir.error().to_string());
    }
    answer({cmd.id, dir.has_value(), s.step, s.t, dir ? std::string() : dir.error().to_string(),
            dir ? *dir : std::string()});
  }
  m_pending_forks.clear();
  forks_ended(false);

  // The journal's new rows (a drill without a run file keeps none).
  if (out) {
    journal_observations(*out);
    journal_commands(*out);
  }
  m_new_obs.clear();
  m_new_cmd.clear();
  if (s.t >= m_next_status) {
    if (out && !m_model.spec.live.datastreams.empty()) write_readings(run, *out);
    publish_status(run, false);
    while (m_next_status <= s.t) m_next_status += m_model.spec.live.status_every;
  }
}

void LiveSession::forks_ended(bool wait) {
  if (!m_forker) return;
  for (const Forker::Done& d : m_forker->finished(wait)) {
    if (d.exit_code == 0)
      spdlog::info("live: fork {} finished: {}/fork.csv", d.id, d.dir);
    else
      spdlog::warn("live: fork {} failed (exit {}): see {}/fork.log", d.id, d.exit_code, d.dir);
    if (m_link)
      m_link->publish("ack", nlohmann::json{{"id", d.id},
                                            {"status", d.exit_code == 0 ? "finished" : "failed"},
                                            {"fork", d.dir},
                                            {"exit", d.exit_code}}
                                 .dump());
  }
}

void LiveSession::publish_status(const Run& run, bool paused) {
  if (!m_link) return;
  const SimState& s = run.state();
  const CityExchange& x = s.x();
  auto count_if = [](const auto& v, auto pred) {
    return static_cast<std::int64_t>(std::count_if(v.begin(), v.end(), pred));
  };
  nlohmann::json rejected = nlohmann::json::object();
  for (int r = 0; r < k_reject_reasons; ++r)
    rejected[std::string(reject_name(static_cast<Reject>(r)))] = m_intake.rejected()[r];
  const double lag = run.pacing().lag_s;
  nlohmann::json status{
      {"twin", m_model.spec.live.twin},
      {"time", format_rfc3339(m_model.spec.run.start_unix_s + s.t / 1000)},
      {"t_s", to_seconds(s.t)},
      {"step", s.step},
      {"paused", paused},
      {"lag_s", std::isfinite(lag) ? nlohmann::json(lag) : nlohmann::json(nullptr)},
      {"observations",
       {{"accepted", m_intake.accepted()}, {"journaled", m_journaled_obs}, {"rejected", rejected}}},
      {"commands", {{"received", m_commands}, {"refused", m_commands_refused}}},
      {"broker", {{"reconnects", m_link->reconnects()}}},
      {"city",
       {{"links_closed", count_if(x.link_closed, [](auto v) { return v != 0; })},
        {"signals_dark", count_if(x.signal_powered, [](auto v) { return v == 0; })},
        {"buildings_unpowered", count_if(x.building_powered, [](auto v) { return v == 0; })},
        {"buildings_flooded", count_if(x.building_depth_m, [](float d) { return d >= 0.1f; })}}}};
  m_link->publish("status", status.dump());
}

void LiveSession::finish(RunWriter& out, std::vector<SummaryRow>& summary) {
  // Accepted but never due (ahead of the run's end): journaled, nothing is lost.
  m_new_obs = m_assimilator.take_rest();
  journal_observations(out);
  const auto& datastreams = m_model.spec.live.datastreams;
  if (!datastreams.empty()) {
    std::vector<std::int64_t> n;
    std::vector<double> before, after;
    for (std::size_t d = 0; d < datastreams.size(); ++d) {
      const Assimilator::Fit& f = m_assimilator.fit()[d];
      n.push_back(f.n);
      before.push_back(f.rmse_before());
      after.push_back(f.rmse_after());
      if (f.n > 0)
        summary.push_back({"live", fmt::format("fit {}", datastreams[d].id),
                           fmt::format("{} observations, RMSE {:.4g} -> {:.4g} {} (before -> after "
                                       "the update)",
                                       f.n, f.rmse_before(), f.rmse_after(), datastreams[d].unit)});
    }
    out.write("/sensors/fit/n", n, {"1", "observations applied, per datastream"});
    out.write("/sensors/fit/rmse_before", before,
              {"", "RMSE of observed - simulated before each update (the datastream's unit)"});
    out.write("/sensors/fit/rmse_after", after,
              {"", "RMSE of observed - simulated after each update (the datastream's unit)"});
  }
  std::int64_t rejected = 0;
  std::vector<std::string> by_reason;
  for (int r = 0; r < k_reject_reasons; ++r) {
    const std::string name(reject_name(static_cast<Reject>(r)));
    out.attr("/sensors", "rejected_" + name, m_intake.rejected()[r]);
    rejected += m_intake.rejected()[r];
    if (m_intake.rejected()[r] > 0)
      by_reason.push_back(fmt::format("{} {}", m_intake.rejected()[r], name));
  }
  out.attr("/sensors", "accepted", m_journaled_obs);
  out.attr("/live", "commands", m_commands);
  out.attr("/live", "commands_refused", m_commands_refused);
  summary.push_back({"live", "observations journaled", std::to_string(m_journaled_obs)});
  summary.push_back(
      {"live", "observations refused",
       by_reason.empty() ? "0" : fmt::format("{} ({})", rejected, fmt::join(by_reason, ", "))});
  summary.push_back(
      {"live", "commands", fmt::format("{} ({} refused)", m_commands, m_commands_refused)});
  if (m_link)
    summary.push_back({"live", "broker reconnects", std::to_string(m_link->reconnects())});
  if (m_forks > 0) {
    // The twin ends after its forks: their ends are answered like the rest.
    spdlog::info("live: waiting for the drill's forks to finish");
    forks_ended(true);
    summary.push_back({"live", "forks", std::to_string(m_forks)});
  }
}

}  // namespace citytwin::live
