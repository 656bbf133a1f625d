// The viewer's live mode: a scenario's Run stepping on its own thread, paced by the viewer's
// speed, and -- when the scenario is a live twin ([live] broker or datastreams) -- its
// LiveSession driven by the session's own rules (LiveSession::turn, as `citytwin run` does):
// observations and commands between two steps, pause, resume and speed commands acting on the
// viewer's controls. No run file is written (the journal is not kept).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include "citytwin/frame.hpp"
#include "citytwin/live.hpp"
#include "citytwin/sim.hpp"
#include "sensors_layer.hpp"

namespace citytwin::view {

/// The scenario's live session when it is a live twin (its broker with the twin's credentials,
/// as `citytwin run` connects); null when it has nothing live.
Result<std::unique_ptr<live::LiveSession>> open_drill(const Model& model);

/// Steps as fast as `speed` simulated seconds per wall second allow and, when the viewer has
/// taken the previous one, publishes the snapshot of the state after a step (snapshots are made
/// at the drawing rate, not the stepping rate) with the drill's view of it.
struct LiveRun {
  Run run;
  std::unique_ptr<live::LiveSession> session;  ///< a drill (null: a plain live run)
  std::mutex mutex;
  FrameSnapshot latest;  ///< guarded by mutex
  DrillFrame drill;      ///< guarded by mutex
  bool fresh = false;    ///< latest not yet taken (guarded by mutex)
  std::atomic<bool> wanted{true};
  std::atomic<bool> paused{false}, stop{false};
  std::atomic<double> speed{60};
  std::atomic<int> single_steps{0};  ///< 'n' (not while a drill is paused)
  std::thread thread;

  LiveRun(std::shared_ptr<const Model> m, std::unique_ptr<live::LiveSession> s);
  ~LiveRun();
  LiveRun(const LiveRun&) = delete;
  LiveRun& operator=(const LiveRun&) = delete;
  void start();

 private:
  bool advance(bool due);
  void publish();
  live::LiveSession::Control m_control;
};

}  // namespace citytwin::view
