// The frame writer's thread (write_queue.hpp).
#include "io/write_queue.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include "io/h5_errors.hpp"

namespace citytwin {

WriteQueue::WriteQueue(std::size_t max_bytes)
    : m_max_bytes(max_bytes), m_thread([this] { work(); }) {}

WriteQueue::~WriteQueue() {
  {
    std::unique_lock lock(m_mutex);
    m_changed.wait(lock, [&] { return m_jobs.empty() && !m_busy; });
    m_stop = true;
  }
  m_changed.notify_all();
  m_thread.join();
}

std::uint64_t WriteQueue::post(std::size_t bytes, std::function<void()> job) {
  std::unique_lock lock(m_mutex);
  // One job larger than the bound still goes, alone.
  m_changed.wait(lock, [&] { return m_error || m_bytes == 0 || m_bytes + bytes <= m_max_bytes; });
  if (m_error) std::rethrow_exception(m_error);
  m_jobs.emplace_back(bytes, std::move(job));
  m_bytes += bytes;
  const std::uint64_t ticket = ++m_posted;
  lock.unlock();
  m_changed.notify_all();
  return ticket;
}

void WriteQueue::set_max_bytes(std::size_t max_bytes) {
  {
    const std::lock_guard lock(m_mutex);
    m_max_bytes = max_bytes;
  }
  m_changed.notify_all();
}

void WriteQueue::drain() {
  std::unique_lock lock(m_mutex);
  m_changed.wait(lock, [&] { return m_jobs.empty() && !m_busy; });
  if (m_error) std::rethrow_exception(m_error);
}

std::uint64_t WriteQueue::done() const {
  const std::lock_guard lock(m_mutex);
  return m_done;
}

void WriteQueue::work() {
  // HDF5's error stack and its printing are per thread in a thread-safe build.
  quiet_hdf5_errors();
  // Below the stepping threads: on a busy machine a paced run's steps come first, the frames
  // are compressed in the time left (Linux: a thread's own nice value).
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10);
  std::unique_lock lock(m_mutex);
  for (;;) {
    m_changed.wait(lock, [&] { return m_stop || !m_jobs.empty(); });
    if (m_jobs.empty()) return;  // stopping, nothing left
    auto [bytes, job] = std::move(m_jobs.front());
    m_jobs.pop_front();
    m_busy = true;
    lock.unlock();
    std::exception_ptr error;
    try {
      job();
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    m_busy = false;
    m_bytes -= bytes;
    if (error) {
      m_error = error;
      for (const auto& j : m_jobs) m_bytes -= j.first;
      m_jobs.clear();
    } else {
      ++m_done;
    }
    m_changed.notify_all();
  }
}

}  // namespace citytwin
