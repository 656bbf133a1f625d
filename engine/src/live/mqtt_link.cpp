// The twin's broker connection over libmosquitto (docs/live.md "Broker"). The library's network
// thread runs the callbacks; they queue messages (an observation checked by the twin's intake
// first) and note the connection's state.
#include <fmt/format.h>
#include <mosquitto.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <thread>

#include <unistd.h>

#include "citytwin/live.hpp"

namespace citytwin::live {

struct MqttLink::Impl {
  mosquitto* mosq = nullptr;
  std::string prefix;                         // "citytwin/<twin>/"
  const ObservationIntake* intake = nullptr;  // checks observation messages (the twin's)
  std::vector<std::string> topics;            // what the role reads
  mutable std::mutex mu;
  std::condition_variable cv;
  std::vector<Inbound> queue;
  int first_connack = -1;  // the broker's answer to the first CONNECT; -1: none yet
  bool connected = false;
  bool stop = false;
  std::int64_t connects = 0;
  std::thread network;

  // The network loop. Not mosquitto_loop_start's: that one gives up for good on a TLS error,
  // which is what a broker killed mid-session looks like. This one reconnects after any
  // loss, backing off from 1 s to 30 s.
  void run() {
    double delay_s = 1;
    for (;;) {
      const int rc = mosquitto_loop(mosq, 100, 1);
      {
        std::unique_lock lock(mu);
        if (stop) return;
        if (rc == MOSQ_ERR_SUCCESS) continue;
        connected = false;
        cv.wait_for(lock, std::chrono::duration<double>(delay_s), [&] { return stop; });
        if (stop) return;
      }
      delay_s = mosquitto_reconnect(mosq) == MOSQ_ERR_SUCCESS ? 1 : std::min(2 * delay_s, 30.0);
    }
  }

  ~Impl() {
    if (network.joinable()) {
      {
        std::lock_guard lock(mu);
        stop = true;
      }
      cv.notify_all();
      network.join();
    }
    if (mosq) {
      mosquitto_disconnect(mosq);
      mosquitto_loop(mosq, 100, 1);  // sends the DISCONNECT
      mosquitto_destroy(mosq);
    }
  }
};

namespace {

constexpr std::string_view k_obs_topic = "obs/";  // citytwin/<twin>/obs/<datastream>

void on_connect(mosquitto* mosq, void* obj, int rc) {
  auto* impl = static_cast<MqttLink::Impl*>(obj);
  if (rc == 0) {
    // Every (re)connect subscribes again: harmless with a persistent session, needed when
    // the broker lost it (restarted without persistence).
    for (const std::string& topic : impl->topics)
      mosquitto_subscribe(mosq, nullptr, topic.c_str(), 1);
  }
  {
    std::lock_guard lock(impl->mu);
    if (impl->first_connack < 0) impl->first_connack = rc;
    impl->connected = rc == 0;
    if (rc == 0) ++impl->connects;
  }
  impl->cv.notify_all();
  if (rc == 0 && impl->connects > 1) spdlog::info("live: reconnected to the broker");
}

void on_disconnect(mosquitto* /*mosq*/, void* obj, int rc) {
  auto* impl = static_cast<MqttLink::Impl*>(obj);
  bool was_up = false;
  {
    std::lock_guard lock(impl->mu);
    was_up = impl->connected;
    impl->connected = false;
  }
  if (rc != 0 && was_up)
    spdlog::warn("live: lost the broker ({}); reconnecting", mosquitto_strerror(rc));
}

void on_message(mosquitto* /*mosq*/, void* obj, const mosquitto_message* m) {
  auto* impl = static_cast<MqttLink::Impl*>(obj);
  Inbound in{m->topic ? m->topic : "",
             std::string(static_cast<const char*>(m->payload),
                         static_cast<std::size_t>(std::max(0, m->payloadlen))),
             std::nullopt};
  // An observation's checks that need no clock, here rather than between the run's steps.
  if (std::string_view topic = in.topic; impl->intake && topic.starts_with(impl->prefix)) {
    topic.remove_prefix(impl->prefix.size());
    if (topic.starts_with(k_obs_topic))
      in.checked = impl->intake->check(in.payload, topic.substr(k_obs_topic.size()));
  }
  std::lock_guard lock(impl->mu);
  impl->queue.push_back(std::move(in));
}

const char* tls_hint(int rc) {
  return rc == MOSQ_ERR_TLS
             ? " (is the broker's certificate signed by live.ca_file, for this host name?)"
             : "";
}

struct Address {
  std::string host;
  int port = 1883;
  bool tls = false;
};

Result<Address> parse_broker(const std::string& url) {
  Address a;
  std::string_view rest = url;
  if (rest.starts_with("mqtts://"))
    a.tls = true, a.port = 8883, rest.remove_prefix(8);
  else if (rest.starts_with("mqtt://"))
    rest.remove_prefix(7);
  else
    return fail(
        Error::msg(fmt::format("live.broker \"{}\": expected mqtt://host:port or "
                               "mqtts://host:port",
                               url)));
  if (const auto slash = rest.find('/'); slash != std::string_view::npos)
    rest = rest.substr(0, slash);
  if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    const std::string_view p = rest.substr(colon + 1);
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), a.port);
    if (ec != std::errc() || end != p.data() + p.size() || a.port <= 0 || a.port > 65535)
      return fail(Error::msg(fmt::format("live.broker \"{}\": \"{}\" is not a port", url, p)));
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return fail(Error::msg(fmt::format("live.broker \"{}\": no host", url)));
  a.host = std::string(rest);
  return a;
}

// "username:password" on the first line of `path`; `what` names where the path came from.
Result<Credentials> credentials_file(const std::string& path, const char* what) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return fail(Error::msg("cannot read the credentials", path));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  const auto colon = line.find(':');
  if (colon == std::string::npos || colon == 0)
    return fail(
        Diagnostic::at(path, 1, what, "not a credential line", "(not shown)", "username:password"));
  return Credentials{line.substr(0, colon), line.substr(colon + 1)};
}

Credentials credentials_env(const char* user_var, const char* password_var) {
  Credentials c;
  if (const char* u = std::getenv(user_var)) c.username = u;
  if (const char* p = std::getenv(password_var)) c.password = p;
  return c;
}

}  // namespace

Result<Credentials> read_credentials(const LiveSpec& live) {
  if (!live.credentials_file.empty())
    return credentials_file(live.credentials_file, "live.credentials_file");
  return credentials_env("CITYTWIN_MQTT_USERNAME", "CITYTWIN_MQTT_PASSWORD");
}

Result<Credentials> read_operator_credentials() {
  if (const char* path = std::getenv("CITYTWIN_OPERATOR_CREDENTIALS"); path && *path)
    return credentials_file(path, "CITYTWIN_OPERATOR_CREDENTIALS");
  return credentials_env("CITYTWIN_OPERATOR_USERNAME", "CITYTWIN_OPERATOR_PASSWORD");
}

MqttLink::MqttLink(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
MqttLink::~MqttLink() = default;

Result<std::unique_ptr<MqttLink>> MqttLink::connect(const LiveSpec& live, const Credentials& cred,
                                                    Role role, double timeout_s,
                                                    const ObservationIntake* intake) {
  static std::once_flag init;
  std::call_once(init, [] { mosquitto_lib_init(); });
  auto addr = parse_broker(live.broker);
  if (!addr) return fail(addr.error());
  auto impl = std::make_unique<Impl>();
  impl->prefix = fmt::format("citytwin/{}/", live.twin);
  impl->intake = intake;
  const bool twin = role == Role::twin;
  const std::array<const char*, 2> reads =
      twin ? std::array{"obs/+", "cmd"} : std::array{"ack", "status"};
  for (const char* sub : reads) impl->topics.push_back(impl->prefix + sub);
  // The twin's session is persistent (clean_session off): what arrives while it is away waits.
  // An operator's is its own and clean: acks and status from before it came are not its own.
  const std::string client_id =
      twin ? live.client_id : fmt::format("{}-operator-{}", live.client_id, getpid());
  impl->mosq = mosquitto_new(client_id.c_str(), !twin, impl.get());
  if (!impl->mosq) return fail(Error::msg("live: cannot create the MQTT client"));
  mosquitto_int_option(impl->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  mosquitto_connect_callback_set(impl->mosq, on_connect);
  mosquitto_disconnect_callback_set(impl->mosq, on_disconnect);
  mosquitto_message_callback_set(impl->mosq, on_message);
  // Publishing (from the stepping thread) hands packets to the network thread, which alone
  // touches the socket (an OpenSSL session is not safe for a concurrent read and write).
  mosquitto_threaded_set(impl->mosq, true);
  const std::string where = live.broker;
  if (!cred.empty() && mosquitto_username_pw_set(impl->mosq, cred.username.c_str(),
                                                 cred.password.c_str()) != MOSQ_ERR_SUCCESS)
    return fail(Error::msg("live: cannot set the broker credentials", where));
  if (addr->tls) {
    const char* cafile = live.ca_file.empty() ? nullptr : live.ca_file.c_str();
    const char* capath = live.ca_file.empty() ? "/etc/ssl/certs" : nullptr;
    if (int rc = mosquitto_tls_set(impl->mosq, cafile, capath, nullptr, nullptr, nullptr); rc)
      return fail(Error::msg(fmt::format("live: TLS set-up with CA {}: {}",
                                         cafile ? cafile : capath, mosquitto_strerror(rc)),
                             where));
    mosquitto_tls_opts_set(impl->mosq, 1 /* SSL_VERIFY_PEER */, nullptr, nullptr);
    mosquitto_tls_insecure_set(impl->mosq, false);  // the host name must match the certificate
  }
  if (int rc = mosquitto_connect(impl->mosq, addr->host.c_str(), addr->port, 30); rc)
    return fail(Error::msg(fmt::format("live: cannot connect to the broker: {}{}",
                                       mosquitto_strerror(rc), tls_hint(rc)),
                           where));
  // The broker's answer, before the network thread starts: a refusal ends here.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  int loop_rc = MOSQ_ERR_SUCCESS;
  while (impl->first_connack < 0 && std::chrono::steady_clock::now() < deadline)
    if (loop_rc = mosquitto_loop(impl->mosq, 100, 1); loop_rc != MOSQ_ERR_SUCCESS) break;
  const int connack = impl->first_connack;
  if (connack < 0 && loop_rc != MOSQ_ERR_SUCCESS)
    return fail(Error::msg(fmt::format("live: cannot connect to the broker: {}{}",
                                       mosquitto_strerror(loop_rc), tls_hint(loop_rc)),
                           where));
  if (connack != 0) {
    return fail(Error::msg(
        connack < 0 ? fmt::format("live: the broker did not answer within {:g} s", timeout_s)
                    : fmt::format("live: the broker refused the connection: {}{}",
                                  mosquitto_connack_string(connack),
                                  !cred.empty() ? ""
                                  : twin        ? " (no credentials: set live.credentials_file or "
                                                  "CITYTWIN_MQTT_USERNAME/PASSWORD)"
                                                : " (no operator credentials: set "
                                                  "CITYTWIN_OPERATOR_CREDENTIALS or "
                                                  "CITYTWIN_OPERATOR_USERNAME/PASSWORD)"),
        where));
  }
  Impl* raw = impl.get();
  impl->network = std::thread([raw] { raw->run(); });
  return std::unique_ptr<MqttLink>(new MqttLink(std::move(impl)));
}

std::vector<Inbound> MqttLink::drain() {
  std::vector<Inbound> out;
  std::lock_guard lock(m_impl->mu);
  out.swap(m_impl->queue);
  return out;
}

void MqttLink::publish(std::string_view subtopic, std::string_view payload) {
  const std::string topic = m_impl->prefix + std::string(subtopic);
  // Queued by the library while disconnected (QoS 1) and sent on reconnect.
  mosquitto_publish(m_impl->mosq, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                    payload.data(), 1, false);
}

std::int64_t MqttLink::reconnects() const {
  std::lock_guard lock(m_impl->mu);
  return std::max<std::int64_t>(0, m_impl->connects - 1);
}

bool MqttLink::connected() const {
  std::lock_guard lock(m_impl->mu);
  return m_impl->connected;
}

}  // namespace citytwin::live
