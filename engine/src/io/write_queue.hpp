// Private to engine/src/io: the thread that writes a run file's frames (run_writer.cpp).
//
// A frame's series are deflate-compressed as they are written, which takes longer than a macro
// step on a city the size of Monaco (about 0.1 s for its three flood rasters). The run does not
// wait for it: RunWriter hands each append to this queue and steps on, and one worker thread
// writes them in the order they came. Anything else RunWriter does waits for the queue to be
// empty first (drain), so the file is never used from two threads at once. The HDF5 library
// Debian ships is built thread-safe, which other files used on other threads meanwhile (a
// checkpoint, a batch's other members) rely on.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

namespace citytwin {

class WriteQueue {
 public:
  /// At most `max_bytes` of queued rows: post() waits beyond that (a writer slower than the run
  /// holds the run back instead of filling memory).
  explicit WriteQueue(std::size_t max_bytes);
  WriteQueue(const WriteQueue&) = delete;
  WriteQueue& operator=(const WriteQueue&) = delete;
  /// Waits for the queued jobs (their errors are dropped: call drain() before to see them).
  ~WriteQueue();

  /// Queues a job holding `bytes` of data and returns its ticket: done() reaches it once the job
  /// has run. Rethrows the error of a job that failed before: once one failed, the jobs after
  /// it are dropped.
  std::uint64_t post(std::size_t bytes, std::function<void()> job);
  /// Changes the bound (post() waits beyond it).
  void set_max_bytes(std::size_t max_bytes);
  /// Waits until every queued job has run; rethrows the first error.
  void drain();
  /// The jobs run so far, in order, up to the first that failed.
  std::uint64_t done() const;

 private:
  void work();

  std::size_t m_max_bytes;
  mutable std::mutex m_mutex;
  std::condition_variable m_changed;
  std::deque<std::pair<std::size_t, std::function<void()>>> m_jobs;
  std::size_t m_bytes = 0;
  bool m_busy = false, m_stop = false;
  std::uint64_t m_posted = 0, m_done = 0;
  std::exception_ptr m_error;
  std::thread m_thread;  // last: started once everything above exists
};

}  // namespace citytwin
