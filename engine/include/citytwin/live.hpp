// The live twin (docs/live.md): observations from sensors and commands from drill operators
// reach a running Run at its macro-step boundaries, over MQTT (a broker, with credentials and
// TLS) or from a replay file; every accepted message is journaled into the run file, so a drill
// replays offline from its journal to the same state.
//
// Threads: the MQTT client's network thread queues the messages (MqttLink) and makes the
// observations' checks that need no clock (ObservationIntake::check: JSON, schema, datastream,
// unit, range, phenomenonTime; they depend on the message and the scenario alone). Everything
// else -- the clock's checks (late, future, duplicate), the counts and log, the journal,
// injecting events, acks and status -- happens on the thread that steps the run, between two
// steps, in the order of arrival, so what a step sees is fixed before it starts.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <expected>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "citytwin/error.hpp"
#include "citytwin/sim.hpp"
#include "citytwin/spec.hpp"

namespace citytwin::live {

/// Why an observation was refused (docs/live.md "Validation"), in the order they are checked.
enum class Reject : std::uint8_t {
  bad_json = 0,        ///< not a JSON object
  bad_schema,          ///< a field missing or of the wrong type; topic and payload disagree
  unknown_datastream,  ///< no [[sensors.datastream]] has this id
  wrong_unit,          ///< "unit" given and not a unit of the datastream's quantity
  out_of_range,        ///< outside the datastream's range (or not finite)
  bad_time,            ///< phenomenonTime not an RFC 3339 date-time with a zone
  late,                ///< phenomenonTime before the macro step the run is about to take
  future,              ///< further ahead of the clock than live.max_ahead
  duplicate,           ///< this datastream already has an observation at this time
};
inline constexpr int k_reject_reasons = 9;
std::string_view reject_name(Reject r);

/// A phenomenonTime on the run's clock (ms since the start at `start_unix_s`): RFC 3339 with a
/// zone, or a SensorThings interval "start/end", taken at its end. The error says what was
/// expected.
std::expected<SimTime, std::string> observation_time(std::string_view text,
                                                     std::int64_t start_unix_s);

/// An accepted observation, as journaled (/sensors/observations).
struct Observation {
  SimTime received = 0;    ///< the clock when it was taken: the start of the next step
  SimTime phenomenon = 0;  ///< when it was observed (ms since the run's start)
  std::int32_t datastream = -1;
  double value = 0;  ///< in the datastream's unit (status: 1 in service, 0 out)
  /// How it was used (/sensors/observations/use): Use values.
  std::uint8_t use = 0;
};
/// What an observation did (docs/live.md "Assimilation").
enum class Use : std::uint8_t {
  recorded = 0,     ///< journaled only: no method for its kind, or the run ended before its time
  switched = 1,     ///< a status: applied as the corresponding event
  assimilated = 2,  ///< moved the state toward it (Domain::assimilate)
};

/// One observation of a message after the checks that need no clock (ObservationIntake::check):
/// its datastream, time and value, or the reason it is refused.
struct Checked {
  std::int32_t datastream = -1;  ///< -1: refused for `reason`
  Reject reason{};
  SimTime phenomenon = 0;  ///< when it was observed (ms since the run's start)
  double value = 0;        ///< in the datastream's unit
  /// Its phenomenonTime as written, or why it is refused: `size` bytes of CheckedMessage::text
  /// from `text`.
  std::uint32_t text = 0, size = 0;
};
/// A message after ObservationIntake::check: its observations in the message's order (one for
/// a message that is no JSON object or array) and their texts back to back.
struct CheckedMessage {
  std::vector<Checked> observations;
  std::string text;
  std::string_view text_of(const Checked& c) const {
    return std::string_view(text).substr(c.text, c.size);
  }
};

namespace detail {
struct ObservationFields;  // one observation object's fields, as check() reads them
}  // namespace detail

/// Validates observation messages (SensorThings-shaped JSON: datastream, phenomenonTime,
/// result, optional unit) against the scenario's datastreams and the run's clock, in two
/// stages: check() needs no clock and changes nothing (MqttLink runs it on its network thread
/// as messages arrive, a replay on the stepping thread); admit() applies the clock's checks and
/// counts.
class ObservationIntake {
 public:
  explicit ObservationIntake(const ScenarioSpec& spec);
  /// What became of one observation of a message: accepted (also counted), or refused for
  /// `reason` (counted) with the detail in `why`.
  struct Offered {
    std::optional<Observation> accepted;
    Reject reason{};
    std::string why;
  };
  /// One message, offered when the run's clock stands at `now` (the start of the step it is
  /// about to take): an observation object, or an array of them (a gateway's batch, each
  /// element checked as a message of its own). `topic_datastream` is the datastream the topic
  /// names (MQTT; empty for a replay line): every observation must agree. One Offered per
  /// observation (one for a message that is no JSON object or array). admit(check(...), now).
  std::vector<Offered> offer(std::string_view payload, std::string_view topic_datastream,
                             SimTime now);
  /// The checks of offer() that need no clock, in its order: JSON, schema, datastream, unit,
  /// range, phenomenonTime. Const and on the scenario alone: safe on any thread while another
  /// thread offers or admits.
  CheckedMessage check(std::string_view payload, std::string_view topic_datastream) const;
  /// The rest of offer() for a checked message at the clock `now`: late, future, duplicate;
  /// counts every observation, accepted or refused (check's refusals too).
  std::vector<Offered> admit(const CheckedMessage& message, SimTime now);
  /// Forgets duplicates older than `now` (they would be refused as late anyway).
  void advance(SimTime now);
  const std::array<std::int64_t, k_reject_reasons>& rejected() const { return m_rejected; }
  std::int64_t accepted() const { return m_accepted; }
  const std::vector<DatastreamSpec>& datastreams() const { return m_spec->live.datastreams; }

 private:
  // Checks an observation object's fields (none: an element that is no object).
  void check_one(const detail::ObservationFields* f, std::string_view topic_datastream,
                 CheckedMessage& out) const;
  Offered admit_one(const Checked& c, std::string_view text, SimTime now);
  const ScenarioSpec* m_spec;
  struct IdHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view id) const { return std::hash<std::string_view>{}(id); }
  };
  std::unordered_map<std::string, std::int32_t, IdHash, std::equal_to<>>
      m_index;  // id -> datastream
  // Per datastream, the times accepted that the clock has not passed yet, ascending.
  std::vector<std::vector<SimTime>> m_seen;
  std::array<std::int64_t, k_reject_reasons> m_rejected{};
  std::int64_t m_accepted = 0;
};

/// Applies observations to a run's state at the step their time falls in (docs/live.md
/// "Assimilation"): a status switches its element through the corresponding event; other
/// kinds go to the domain that simulates them (Domain::assimilate); each one's misfit before
/// and after is kept per datastream.
class Assimilator {
 public:
  explicit Assimilator(const ScenarioSpec& spec);
  /// Holds an accepted observation until its step (order: phenomenon time, then arrival).
  void hold(const Observation& o);
  /// Applies the held observations whose time is before `until` (the end of the step about to
  /// be taken) and returns them with their use.
  std::vector<Observation> apply_due(Run& run, SimTime until);
  /// The observations still held (the run ended before their time), use `recorded`.
  std::vector<Observation> take_rest();
  /// What each datastream reads in the state (its unit; NaN where no domain simulates it).
  std::vector<double> readings(const Run& run) const;
  /// Per datastream, over the observations applied: observed - simulated before the update
  /// (the background) and after it (the analysis), in the datastream's unit.
  struct Fit {
    std::int64_t n = 0;
    double sum_sq_before = 0, sum_sq_after = 0;
    double rmse_before() const;
    double rmse_after() const;
  };
  const std::vector<Fit>& fit() const { return m_fit; }

 private:
  const ScenarioSpec* m_spec;
  struct Held {
    Observation obs;
    std::uint64_t arrival = 0;  // the order of hold()
  };
  struct Later {  // by (phenomenon, arrival)
    bool operator()(const Held& a, const Held& b) const {
      return a.obs.phenomenon != b.obs.phenomenon ? a.obs.phenomenon > b.obs.phenomenon
                                                  : a.arrival > b.arrival;
    }
  };
  std::vector<Held> m_held;  // a heap, the earliest first
  std::uint64_t m_arrivals = 0;
  std::vector<Fit> m_fit;  // (n_datastreams)
  std::vector<std::uint8_t> m_warned;
  std::optional<std::string> status_event(const DatastreamSpec& ds, double value) const;
};

/// A drill command (docs/live.md "Commands"): a scenario event, a run control or a fork.
struct Command {
  std::string id;  ///< the operator's id for it, echoed in the ack
  /// "pause", "resume", "speed", "fork" or an event type ("traffic.close")
  std::string type;
  double factor = 0;  ///< speed: simulated seconds per wall second
  /// fork: as `citytwin fork`'s --members (0: not given), --until ("" : the scenario's end)
  /// and --vary ("key=v1,v2,..."; "": members differ by their seed).
  int members = 0;
  std::string until, vary;
  std::vector<EventSpec> events;  ///< an event type: the parsed event (at = the clock)
  std::string text;               ///< the JSON as received (journaled)
};
/// Parses a command received when the clock of a run of `spec` stands at `now`. Events are
/// validated like the scenario's [[event]] tables (the same parser; keys as in the scenario,
/// JSON values).
Result<Command> parse_command(const ScenarioSpec& spec, std::string_view json, SimTime now);

/// A credential pair for the broker: from live.credentials_file ("username:password" on its
/// first line), else CITYTWIN_MQTT_USERNAME / CITYTWIN_MQTT_PASSWORD. Never logged.
struct Credentials {
  std::string username, password;
  bool empty() const { return username.empty(); }
};
Result<Credentials> read_credentials(const LiveSpec& live);
/// A drill operator's credentials (a viewer's Drill panel): from the file named by
/// CITYTWIN_OPERATOR_CREDENTIALS ("username:password" on its first line), else
/// CITYTWIN_OPERATOR_USERNAME / CITYTWIN_OPERATOR_PASSWORD; never from a scenario or a command
/// line. Never logged.
Result<Credentials> read_operator_credentials();

/// One message as it arrived.
struct Inbound {
  std::string topic, payload;
  /// An observation message's (citytwin/<twin>/obs/<datastream>) checks, made on the network
  /// thread by the twin's intake (ObservationIntake::check); none for other messages.
  std::optional<CheckedMessage> checked;
};

/// The broker connection (libmosquitto): a persistent session (clean_session off, QoS 1), so
/// messages sent while the twin was away are delivered when it reconnects; automatic reconnect
/// with exponential back-off (1 s to 30 s); TLS with the server certificate verified.
class MqttLink {
 public:
  /// Who connects: the twin (client id live.client_id, a persistent session, reads obs/+ and
  /// cmd) or a drill operator (client id <client_id>-operator-<pid>, a clean session, reads
  /// ack and status).
  enum class Role : std::uint8_t { twin, operator_ };
  /// Connects (waiting up to `timeout_s` for the broker's answer) and subscribes to the role's
  /// topics under citytwin/<twin>/. An error when the broker refuses the credentials or cannot
  /// be reached at all. With `intake` (the twin's; it must outlive the link), observation
  /// messages are checked as they arrive (Inbound::checked).
  static Result<std::unique_ptr<MqttLink>> connect(const LiveSpec& live, const Credentials& cred,
                                                   Role role = Role::twin, double timeout_s = 10,
                                                   const ObservationIntake* intake = nullptr);
  ~MqttLink();
  MqttLink(const MqttLink&) = delete;
  MqttLink& operator=(const MqttLink&) = delete;
  /// Takes every message received so far, in arrival order.
  std::vector<Inbound> drain();
  /// Publishes (QoS 1, not retained) under citytwin/<twin>/<subtopic>.
  void publish(std::string_view subtopic, std::string_view payload);
  std::int64_t reconnects() const;
  bool connected() const;

  struct Impl;

 private:
  explicit MqttLink(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

/// A replay of observations: JSON lines, each offered when the clock's next step reaches its
/// phenomenonTime (paced by it). Lines that are not JSON are offered as they are (and refused).
class ReplayFile {
 public:
  static Result<ReplayFile> open(const std::string& path, std::int64_t start_unix_s);
  /// The lines due before `until` (ms), with their line numbers.
  std::vector<std::pair<int, std::string>> due(SimTime until);
  bool done() const { return m_next >= m_lines.size(); }

 private:
  struct Line {
    SimTime at;  // the phenomenonTime, or -inf when it has none (offered at once)
    int number;
    std::string text;
  };
  std::vector<Line> m_lines;  // by (at, line number)
  std::size_t m_next = 0;
};

/// The journal of a drill as a run file holds it: what a replay injects again.
struct Journal {
  std::vector<Observation> observations;
  struct Entry {
    SimTime t = 0;            ///< the clock when it took effect
    std::int64_t step = 0;    ///< the macro step it took effect at
    std::string text;         ///< the command's JSON
    std::uint8_t status = 0;  ///< 1 applied, 0 refused
  };
  std::vector<Entry> commands;
};
/// Reads /sensors/observations and /live/commands of a run file.
Result<Journal> read_journal(const std::string& run_file);

/// The twin's answer to a command (what it publishes on citytwin/<twin>/ack).
struct Ack {
  std::string id;  ///< the operator's id for the command
  bool applied = false;
  std::int64_t step = 0;  ///< the macro step at whose start it took effect
  SimTime t = 0;          ///< and its time
  std::string error;      ///< why it was refused
  std::string fork;       ///< a fork's folder (fork.csv and member-<k>/ there)
};

/// Runs a drill's forks (docs/live.md "Forks"): the driver that can (`citytwin run`) gives the
/// session one. A fork starts from the running state and goes on beside the twin.
class Forker {
 public:
  virtual ~Forker() = default;
  /// Saves the run's state now and starts `cmd`'s fork from it; its folder, or why not.
  virtual Result<std::string> start(const Run& run, const Command& cmd) = 0;
  /// A fork that ended: its command's id, folder and exit code (0: every member ran).
  struct Done {
    std::string id, dir;
    int exit_code = 0;
  };
  /// The forks that ended since the last call; with `wait`, waits for every fork still running.
  virtual std::vector<Done> finished(bool wait) = 0;
};

/// A live run's sources and journal: between two steps, takes what arrived, validates it,
/// injects the commands' events, journals everything accepted and answers operators.
class LiveSession {
 public:
  struct Options {
    std::string replay;  ///< --replay: observations (.jsonl) or a run file's journal (.h5)
    bool broker = true;  ///< connect to live.broker when the scenario names one
  };
  static Result<std::unique_ptr<LiveSession>> open(const Model& model, const Options& o);
  ~LiveSession();
  /// Whether there is anything live (a broker, a replay, datastreams to journal).
  bool active() const;
  /// Creates the journal's datasets (before the run file's first frame: SWMR forbids it later)
  /// with the sensors' readings at the start.
  void create_journal(const Run& run, RunWriter& out);
  /// What the commands ask of the loop driving the run.
  struct Control {
    bool paused = false;  ///< the run does not step (a driver's own pause key may set it too)
    double speed = 0;     ///< a new pacing factor asked for (0: no change)
    /// The run paces itself (Run::pace, `citytwin run`): turn() applies `speed` and clears it.
    /// Otherwise the driver paces the steps (a viewer), applies `speed` and clears it.
    bool run_paced = true;
  };
  /// One turn of a live run's loop, the rules every driver (`citytwin run`, the viewer) shares:
  /// takes what arrived and applies the commands (before_step); a new speed; on a pause or
  /// resume publishes the status and restarts a paced run's schedule; then, unless paused or the
  /// driver's pacing says the step is not `due` yet, steps the run and answers (after_step). True
  /// if it stepped.
  bool turn(Run& run, RunWriter* out, Control& control, bool due = true);
  /// Before the step at run.state().t: takes the messages and applies the commands (events
  /// into the run's inbox; pause, resume and speed into `control`).
  void before_step(Run& run, Control& control);
  /// After the step: acks for the commands it applied; the status when due; the journal's new
  /// rows into the run file (`out`; none: a viewer's drill without a run file).
  void after_step(Run& run, RunWriter* out);
  /// Publishes the twin's status now (also after every live.status_every of simulated time).
  void publish_status(const Run& run, bool paused);
  /// Who runs the drill's forks (none: fork commands are refused). Not owned.
  void set_forker(Forker* forker) { m_forker = forker; }
  /// The observations still held into the journal; the counters and the fit into the run
  /// file (before it is marked complete) and the summary.
  void finish(RunWriter& out, std::vector<SummaryRow>& summary);

  /// Per datastream, the latest accepted observation (by phenomenon time; none yet: empty).
  const std::vector<std::optional<Observation>>& latest() const { return m_latest; }
  /// Every answer given so far, in order.
  const std::vector<Ack>& acks() const { return m_acks; }
  const ObservationIntake& intake() const { return m_intake; }
  const Assimilator& assimilator() const { return m_assimilator; }
  /// The broker connection (none: no broker, or a journal's replay).
  const MqttLink* link() const { return m_link.get(); }

 private:
  LiveSession(const Model& model);
  const Model& m_model;
  ObservationIntake m_intake;
  std::unique_ptr<MqttLink> m_link;
  std::optional<ReplayFile> m_replay;
  std::optional<Journal> m_journal_replay;
  Forker* m_forker = nullptr;
  std::vector<std::pair<Command, std::size_t>> m_pending_forks;  // (command, journal row)
  std::int64_t m_forks = 0;
  void forks_ended(bool wait);
  std::size_t m_journal_obs = 0, m_journal_cmd = 0;
  void write_readings(const Run& run, RunWriter& out);
  void journal_observations(RunWriter& out);
  void journal_commands(RunWriter& out);
  Assimilator m_assimilator;
  std::vector<Observation> m_new_obs;
  std::vector<std::optional<Observation>> m_latest;  // (n_datastreams)
  std::vector<Ack> m_acks;
  void answer(Ack ack);
  std::vector<Journal::Entry> m_new_cmd;
  struct Pending {
    std::string id;
    std::size_t rejected_before = 0;
    std::string where;
    std::size_t journal_row = 0;
  };
  std::vector<Pending> m_pending_acks;
  SimTime m_next_status = 0;  // the next status message and sensor readings
  std::int64_t m_commands = 0, m_commands_refused = 0;
  std::int64_t m_journaled_obs = 0;  // rows in /sensors/observations
  std::int64_t m_text_bytes = 0;     // bytes in /live/commands/text
  std::array<std::int64_t, k_reject_reasons> m_logged{};
};

}  // namespace citytwin::live
