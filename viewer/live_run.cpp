#include "live_run.hpp"

#include <chrono>

namespace citytwin::view {

Result<std::unique_ptr<live::LiveSession>> open_drill(const Model& model) {
  const LiveSpec& l = model.spec.live;
  if (l.broker.empty() && l.datastreams.empty()) return std::unique_ptr<live::LiveSession>();
  return live::LiveSession::open(model, {});
}

LiveRun::LiveRun(std::shared_ptr<const Model> m, std::unique_ptr<live::LiveSession> s)
    : run(std::move(m), 1), session(std::move(s)) {
  m_control.run_paced = false;  // the viewer paces the steps
}

LiveRun::~LiveRun() {
  stop = true;
  if (thread.joinable()) thread.join();
}

// One step when it is due, through the drill's session when there is one: its commands may
// pause, resume or change the speed, as the viewer's keys do.
bool LiveRun::advance(bool due) {
  if (!session) {
    if (!due || run.done()) return false;
    run.step();
    return true;
  }
  const bool was_paused = paused;
  m_control.paused = was_paused;
  const bool stepped = session->turn(run, nullptr, m_control, due);
  if (m_control.paused != was_paused) paused = m_control.paused;
  if (m_control.speed > 0) speed = m_control.speed, m_control.speed = 0;
  return stepped;
}

void LiveRun::publish() {
  FrameSnapshot f = snapshot(run.model(), run.state());
  f.figures.emplace_back("steps", std::to_string(run.state().step));
  DrillFrame d;
  if (session) {
    d.t = run.state().t;
    d.latest = session->latest();
    d.simulated = session->assimilator().readings(run);
    d.fit = session->assimilator().fit();
    d.acks = session->acks();
    d.accepted = session->intake().accepted();
    d.rejected = session->intake().rejected();
    d.broker = session->link() != nullptr;
    d.connected = d.broker && session->link()->connected();
  }
  std::lock_guard lock(mutex);
  latest = std::move(f);
  drill = std::move(d);
  fresh = true;
}

void LiveRun::start() {
  thread = std::thread([this] {
    auto last = std::chrono::steady_clock::now();
    double owed_s = 0;
    bool pending = true;  // a state not yet published
    while (!stop) {
      const auto now = std::chrono::steady_clock::now();
      owed_s += std::chrono::duration<double>(now - last).count() * (paused ? 0.0 : speed.load());
      last = now;
      const double dt_s = static_cast<double>(run.model().spec.run.step) / 1000.0;
      const bool stepping = advance(owed_s >= dt_s || single_steps > 0);
      if (!stepping && paused) single_steps = 0;  // a paused drill does not step
      if (stepping) {
        if (single_steps > 0) --single_steps;
        owed_s = std::max(0.0, owed_s - dt_s);
        pending = true;
      }
      // A drill's acks and observations change what the panel shows between steps too.
      if (session && !stepping) pending = true;
      if (pending && wanted.exchange(false)) {
        pending = false;
        publish();
      } else if (!stepping) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
  });
}

}  // namespace citytwin::view
