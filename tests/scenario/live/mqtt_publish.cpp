// A sensor gateway for the live twin's tests: publishes lines "topic<TAB>payload" at QoS 1
// from a persistent session (clean_session off), one every INTERVAL_MS, whether the broker is
// up or not (libmosquitto queues them and sends them when it reconnects), then waits until the
// broker has acknowledged every one. A line "#wait PATH" waits until PATH exists (the test
// says when to go on). Credentials from CITYTWIN_MQTT_USERNAME/PASSWORD.
// Usage: mqtt_publish HOST PORT CAFILE CLIENT_ID MESSAGES INTERVAL_MS
// Prints "acked N of M" and exits 0 when all M were acknowledged within 120 s.
#include <mosquitto.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {
std::atomic<int> g_acked{0};
void on_publish(mosquitto*, void*, int) {
  ++g_acked;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: mqtt_publish HOST PORT CAFILE CLIENT_ID MESSAGES INTERVAL_MS\n");
    return 2;
  }
  std::vector<std::pair<std::string, std::string>> messages;
  std::ifstream in(argv[5]);
  int n_messages = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("#wait ")) {
      messages.emplace_back("", line.substr(6));
    } else if (const auto tab = line.find('\t'); tab != std::string::npos) {
      messages.emplace_back(line.substr(0, tab), line.substr(tab + 1));
      ++n_messages;
    }
  }
  mosquitto_lib_init();
  mosquitto* m = mosquitto_new(argv[4], false, nullptr);
  mosquitto_publish_callback_set(m, on_publish);
  const char* user = std::getenv("CITYTWIN_MQTT_USERNAME");
  const char* pass = std::getenv("CITYTWIN_MQTT_PASSWORD");
  if (user) mosquitto_username_pw_set(m, user, pass);
  if (std::string(argv[3]) != "-")
    mosquitto_tls_set(m, argv[3], nullptr, nullptr, nullptr, nullptr);
  if (int rc = mosquitto_connect(m, argv[1], std::atoi(argv[2]), 30); rc) {
    std::fprintf(stderr, "mqtt_publish: connect: %s\n", mosquitto_strerror(rc));
    return 1;
  }
  // One thread: the network loop runs between publishes; after any loss (a killed broker shows
  // as a TLS error) it reconnects every second.
  auto last_try = std::chrono::steady_clock::now();
  auto pump = [&](std::chrono::milliseconds for_ms) {
    const auto until = std::chrono::steady_clock::now() + for_ms;
    do {
      if (mosquitto_loop(m, 10, 1) != MOSQ_ERR_SUCCESS) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        if (std::chrono::steady_clock::now() - last_try > std::chrono::seconds(1)) {
          last_try = std::chrono::steady_clock::now();
          mosquitto_reconnect(m);
        }
      }
    } while (std::chrono::steady_clock::now() < until);
  };
  const auto interval = std::chrono::milliseconds(std::atoi(argv[6]));
  for (const auto& [topic, payload] : messages) {
    if (topic.empty()) {
      while (!std::filesystem::exists(payload)) pump(std::chrono::milliseconds(20));
      continue;
    }
    // Queued by the library while the broker is away, and sent when it is back.
    if (int rc = mosquitto_publish(m, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                                   payload.data(), 1, false);
        rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN)
      std::fprintf(stderr, "mqtt_publish: publish: %s\n", mosquitto_strerror(rc));
    pump(interval);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (g_acked < n_messages && std::chrono::steady_clock::now() < deadline)
    pump(std::chrono::milliseconds(20));
  std::printf("acked %d of %d\n", g_acked.load(), n_messages);
  mosquitto_disconnect(m);
  mosquitto_loop(m, 100, 1);
  mosquitto_destroy(m);
  mosquitto_lib_cleanup();
  return g_acked == n_messages ? 0 : 1;
}
