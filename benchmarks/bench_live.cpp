// Live ingest (issue: >= 50,000 observations/s from the broker while Monaco runs, slowing it by
// less than 5 %): Monaco's coupled city for 10 simulated minutes writing its run file, once
// without a feed and once while a gateway publishes water-gauge observations (100 datastreams,
// QoS 1, offered at 60,000/s for as long as the unfed run took) to a mosquitto on 127.0.0.1 with
// the shipped ACL and password authentication (no TLS); then the same observations from a replay
// file (the twin's own cost, without the broker's), then unfed again. Each observation reads what
// the twin itself shows at its gauge at that time (recorded from the first unfed run, to the
// last bit): a twin that tracks its city, whose nudging then moves no water. So the fed runs
// simulate the same flood as the unfed ones (checked: same_state compares their final state
// hashes) and the slowdown is the ingest's alone, not a different flood's (a feed of invented
// depths floods the harbour and costs its solver more steps). The gateway stamps each
// observation where the unfed twin's clock would then be: one the broker delivers after its
// time is refused as late (counted). Rate: observations the twin accepted per second of its run;
// received_per_s counts the refused too. Three cases: the run as fast as it goes, paced at 20x
// real time (a live drill's situation: the lag says whether it kept up), and as fast as it goes
// with 100 observations per message (a gateway's batches: the broker relays 100 times fewer
// messages). The broker and the gateway share the machine's cores with the twin.
#include <fcntl.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench.hpp"
#include "citytwin/live.hpp"
#include "citytwin/sim.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
constexpr int k_datastreams = 100;
constexpr double k_rate = 60'000;  // observations/s the gateway offers

int free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t n = sizeof a;
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &n);
  ::close(s);
  return ntohs(a.sin_port);
}

// mosquitto on 127.0.0.1 with the shipped ACL and a password file; stopped when destroyed.
class Broker {
 public:
  explicit Broker(const fs::path& dir) : m_port(free_port()) {
    const std::string src = citytwin::bench::source_dir();
    const std::string passwd = (dir / "passwd").string();
    std::ofstream(passwd).flush();
    for (const char* u : {"twin", "sensor"})
      if (std::system(("mosquitto_passwd -b " + passwd + " " + u + " bench-" + u).c_str()) != 0)
        throw std::runtime_error("mosquitto_passwd failed");
    const std::string conf = (dir / "mosquitto.conf").string();
    std::ofstream(conf) << "per_listener_settings false\nallow_anonymous false\npassword_file "
                        << passwd << "\nacl_file " << src
                        << "/docs/mosquitto/citytwin.acl\nmax_queued_messages 1000000\n"
                        << "max_inflight_messages 1000\nlistener " << m_port << " 127.0.0.1\n"
                        << (::geteuid() == 0 ? "user root\n" : "");
    std::string log = (dir / "mosquitto.log").string();
    const char* argv[] = {"mosquitto", "-c", conf.c_str(), nullptr};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (posix_spawnp(&m_pid, "mosquitto", &fa, nullptr, const_cast<char**>(argv), environ) != 0)
      throw std::runtime_error("cannot start mosquitto");
    posix_spawn_file_actions_destroy(&fa);
    // Ready once it accepts a connection.
    for (int k = 0; k < 200; ++k) {
      const int s = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<std::uint16_t>(m_port));
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      const bool up = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      ::close(s);
      if (up) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("mosquitto did not start");
  }
  ~Broker() {
    ::kill(m_pid, SIGTERM);
    ::waitpid(m_pid, nullptr, 0);
  }
  int port() const { return m_port; }

 private:
  int m_port;
  pid_t m_pid = 0;
};

// What the unfed twin's gauges read: depth[s * 100 + g] is gauge g's depth (m) in the state at
// s seconds (the state an observation stamped in [s, s + 1) s meets: the step it falls in).
using Truth = std::vector<double>;

// The k-th of `total` observations: gauge k % 100, stamped from 10 s to 590 s of the run in
// order (each gauge's 1 / 100 of them some 100 ms or more apart), the depth the twin shows there
// then, to the last bit (17 digits). monaco.toml starts at 2026-06-15T07:00+02:00, 05:00 UTC.
std::string observation(std::int64_t k, std::int64_t total, const Truth& truth) {
  const std::int64_t ms = 10'000 + k * 580'000 / total, g = k % k_datastreams;
  char payload[192];
  const int n = std::snprintf(payload, sizeof payload,
                              "{\"datastream\": \"gauge-%d\", \"phenomenonTime\": "
                              "\"2026-06-15T05:%02d:%02d.%03dZ\", \"result\": %.17g}",
                              static_cast<int>(g), static_cast<int>(ms / 60000),
                              static_cast<int>(ms / 1000 % 60), static_cast<int>(ms % 1000),
                              truth[static_cast<std::size_t>(ms / 1000 * k_datastreams + g)]);
  return std::string(payload, static_cast<std::size_t>(n));
}

// Message m of a feed of `total` observations, `batch` per message: one observation, or a
// JSON array of `batch` observations of one gauge (m % 100), in time order.
std::string message(std::int64_t m, std::int64_t total, int batch, const Truth& truth) {
  if (batch == 1) return observation(m, total, truth);
  const std::int64_t d = m % k_datastreams, g = m / k_datastreams;
  std::string text = "[";
  for (int i = 0; i < batch; ++i) {
    if (i > 0) text += ", ";
    text += observation((g * batch + i) * k_datastreams + d, total, truth);
  }
  return text + "]";
}

// A gateway publishing the feed's messages (`batch` observations each) at `rate` observations
// per second (QoS 1, at most 2,000 unacknowledged messages), stopped early if destroyed first.
// The messages are written beforehand: the gateway stands in for sensors elsewhere, and its
// formatting would take a core the twin shares.
class Gateway {
 public:
  Gateway(int port, const std::vector<std::string>& feed, double rate, int batch) {
    mosquitto_lib_init();
    m_mosq = mosquitto_new("bench-gateway", true, this);
    mosquitto_username_pw_set(m_mosq, "sensor", "bench-sensor");
    mosquitto_max_inflight_messages_set(m_mosq, 2000);
    mosquitto_publish_callback_set(
        m_mosq, [](mosquitto*, void* self, int) { ++static_cast<Gateway*>(self)->m_acked; });
    if (mosquitto_connect(m_mosq, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS)
      throw std::runtime_error("the gateway cannot connect");
    mosquitto_loop_start(m_mosq);
    m_thread = std::thread([this, &feed, rate, batch] {
      const auto t0 = Clock::now();
      for (std::int64_t m = 0; m < std::ssize(feed) && !m_stop; ++m) {
        // Paced: message m goes out at m * batch / rate s; the broker's acknowledgements bound
        // the backlog in this process.
        const auto due = t0 + std::chrono::duration<double>(static_cast<double>(m * batch) / rate);
        // (Sleeping to the due time, not polling: a gateway stands in for sensors elsewhere.)
        if (!m_stop && Clock::now() < due) std::this_thread::sleep_until(due);
        while (!m_stop && m - m_acked > 2000)
          std::this_thread::sleep_for(std::chrono::microseconds(20));
        const std::string& payload = feed[static_cast<std::size_t>(m)];
        const std::string topic = "citytwin/bench/obs/gauge-" + std::to_string(m % k_datastreams);
        mosquitto_publish(m_mosq, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                          payload.data(), 1, false);
        m_sent += batch;
      }
    });
  }
  ~Gateway() {
    m_stop = true;
    m_thread.join();
    mosquitto_disconnect(m_mosq);
    mosquitto_loop_stop(m_mosq, false);
    mosquitto_destroy(m_mosq);
  }
  std::int64_t acked() const { return m_acked; }  // messages
  std::int64_t sent() const { return m_sent; }

 private:
  mosquitto* m_mosq = nullptr;
  std::atomic<bool> m_stop{false};
  std::atomic<std::int64_t> m_acked{0}, m_sent{0};
  std::thread m_thread;
};

std::shared_ptr<const citytwin::Model> compile(const fs::path& dir, const std::string& name,
                                               const std::string& extra) {
  const std::string file = (dir / (name + ".toml")).string();
  std::ofstream(file) << "extends = \"" << citytwin::bench::source_dir()
                      << "/scenarios/monaco.toml\"\n[scenario]\nname = \"" << name
                      << "\"\nduration = \"10min\"\n"
                      << extra;
  auto spec = citytwin::load_scenario(file);
  if (!spec) throw std::runtime_error(spec.error().to_string());
  auto model = citytwin::compile_model(std::move(*spec));
  if (!model) throw std::runtime_error(model.error().to_string());
  return *model;
}

// Runs the model to its end writing its run file (the live session's journal too, when given),
// paced at `pace` simulated seconds per wall second (0: as fast as it goes); the wall time of
// the stepping loop and the largest lag behind the wall clock (paced).
struct Timing {
  double wall_s = 0, max_lag_s = 0;
  std::uint64_t hash = 0;  ///< the final state's
};
// `truth`, when given, gets what the model's datastreams read at every second (Truth).
Timing run(const std::shared_ptr<const citytwin::Model>& model, const fs::path& h5, int threads,
           citytwin::live::LiveSession* live, double pace, Truth* truth = nullptr) {
  auto rec = citytwin::RunRecorder::create(*model, h5.string());
  if (!rec) throw std::runtime_error(rec.error().to_string());
  citytwin::Run r(model, threads);
  if (live) live->create_journal(r, (*rec)->writer());
  (*rec)->observe(r.state());
  r.observe([&](const citytwin::SimState& s) { (*rec)->observe(s); });
  if (pace > 0) r.pace(pace);
  auto record = [&] {
    for (const citytwin::DatastreamSpec& ds : model->spec.live.datastreams) {
      const auto v = citytwin::observe(*model, r.state(), ds);
      if (!v || !*v) throw std::runtime_error("gauge " + ds.id + " reads nothing");
      truth->push_back(**v);
    }
  };
  if (truth) record();
  const auto t0 = Clock::now();
  citytwin::live::LiveSession::Control control;
  while (!r.done()) {
    if (live)
      live->turn(r, &(*rec)->writer(), control);
    else
      r.step();
    if (truth) record();
  }
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  (*rec)->finish(r.state(), std::numeric_limits<double>::quiet_NaN(),
                 [&](citytwin::RunWriter& w, std::vector<citytwin::SummaryRow>& rows) {
                   if (live) live->finish(w, rows);
                 });
  return {wall, r.pacing().max_lag_s, citytwin::hash_state(*model, r.state())};
}

citytwin::bench::Result live_ingest(int threads, double pace, int batch) {
  const fs::path dir = fs::temp_directory_path() / "citytwin-bench-live";
  fs::remove_all(dir);
  fs::create_directories(dir);
  Broker broker(dir);
  ::setenv("CITYTWIN_MQTT_USERNAME", "twin", 1);
  ::setenv("CITYTWIN_MQTT_PASSWORD", "bench-twin", 1);
  // Water gauges around Port Hercule (results in m: what the twin reads there).
  std::string streams;
  for (int k = 0; k < k_datastreams; ++k)
    streams += "[[sensors.datastream]]\nid = \"gauge-" + std::to_string(k) +
               "\"\nkind = \"water_depth\"\nat = [" + std::to_string(373100 + 2 * k) +
               ", 4843800]\nunit = \"m\"\nrange = [0, 500]\nradius = \"10m\"\n";
  // The unfed runs and the replay declare the gauges without a broker.
  const auto offline = compile(dir, "offline", streams);
  const auto fed = compile(dir, "fed",
                           "[live]\ntwin = \"bench\"\nbroker = \"mqtt://127.0.0.1:" +
                               std::to_string(broker.port()) + "\"\n" + streams);
  Truth truth;
  const Timing unfed_before = run(offline, dir / "unfed1.h5", threads, nullptr, pace, &truth);
  // The feed: k_rate observations per second for as long as the unfed run took.
  // (A whole number of batches for every gauge.)
  const std::int64_t per_round = std::int64_t{k_datastreams} * batch;
  const auto total =
      static_cast<std::int64_t>(k_rate * unfed_before.wall_s) / per_round * per_round;
  std::vector<std::string> feed;
  for (std::int64_t m = 0; m < total / batch; ++m) feed.push_back(message(m, total, batch, truth));
  auto session = citytwin::live::LiveSession::open(*fed, {"", true});
  if (!session) throw std::runtime_error(session.error().to_string());
  std::this_thread::sleep_for(std::chrono::seconds(1));  // its subscription reaches the broker
  Timing fed_run;
  std::int64_t published = 0, sent = 0;
  {
    Gateway gateway(broker.port(), feed, k_rate, batch);
    fed_run = run(fed, dir / "fed.h5", threads, session->get(), pace);
    published = gateway.acked();
    sent = gateway.sent();
  }
  const double fed_s = fed_run.wall_s;
  const auto accepted = static_cast<double>((*session)->intake().accepted());
  std::int64_t refused = 0;
  for (auto r : (*session)->intake().rejected()) refused += r;
  session->reset();
  // The same observations from a replay file: the twin's own cost, without the broker's.
  {
    std::ofstream f(dir / "feed.jsonl");
    for (const std::string& m : feed) f << m << "\n";
  }
  auto replay = citytwin::live::LiveSession::open(*offline, {(dir / "feed.jsonl").string(), false});
  if (!replay) throw std::runtime_error(replay.error().to_string());
  const Timing replayed_run = run(offline, dir / "replayed.h5", threads, replay->get(), pace);
  const double replay_s = replayed_run.wall_s;
  const auto replayed = static_cast<double>((*replay)->intake().accepted());
  replay->reset();
  const Timing unfed_after = run(offline, dir / "unfed2.h5", threads, nullptr, pace);
  fs::remove_all(dir);
  const double unfed = 0.5 * (unfed_before.wall_s + unfed_after.wall_s);
  // The feed moved no water: every run ends in the unfed state (1), else 0.
  const bool same = fed_run.hash == unfed_before.hash && replayed_run.hash == unfed_before.hash &&
                    unfed_after.hash == unfed_before.hash;
  return {accepted / fed_s,
          "observations/s",
          fed_s,
          {{"accepted", accepted},
           {"refused", static_cast<double>(refused)},
           {"offered_per_s", k_rate},
           {"per_message", static_cast<double>(batch)},
           {"sent", static_cast<double>(sent)},
           {"messages_acked", static_cast<double>(published)},
           {"fed_s", fed_s},
           {"unfed_s_before", unfed_before.wall_s},
           {"unfed_s_after", unfed_after.wall_s},
           {"received_per_s", (accepted + static_cast<double>(refused)) / fed_s},
           {"slowdown", fed_s / unfed - 1},
           {"pace", pace},
           {"max_lag_s", fed_run.max_lag_s},
           {"replayed", replayed},
           {"replay_s", replay_s},
           {"slowdown_replay", replay_s / unfed - 1},
           {"same_state", same ? 1.0 : 0.0}},
          {{"scenario",
            "monaco.toml, 10 min, run file written; 100 water-gauge datastreams reading the "
            "twin's own depths, QoS 1, password auth, no TLS; broker and gateway on the same "
            "machine"}}};
}

CT_BENCH("live.ingest.monaco",
         "observations/s the twin takes from a mosquitto on 127.0.0.1 while Monaco runs as fast as "
         "it can, and the slowdown against the unfed run",
         [](int threads) { return live_ingest(threads, 0, 1); });
CT_BENCH("live.ingest.monaco_paced",
         "the same feed while Monaco runs paced at 20x real time (10 min in 30 s): observations/s "
         "taken and the largest lag behind the wall clock",
         [](int threads) { return live_ingest(threads, 20, 1); });
CT_BENCH("live.ingest.monaco_batched",
         "the same feed as batches of 100 observations per message (a gateway's arrays), Monaco as "
         "fast as it can",
         [](int threads) { return live_ingest(threads, 0, 100); });

}  // namespace
