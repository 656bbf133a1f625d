// TaskPool over oneTBB: a task_arena with exactly the requested concurrency. Blocks are
// formed by us (fixed grain), and TBB (or, in with_team, a shared claim word) only decides which
// worker runs which block, so results never depend on scheduling (see parallel.hpp).
#include "citytwin/parallel.hpp"

#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>

#include "citytwin/error.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace citytwin {

struct TaskPool::Impl {
  explicit Impl(int n)
      : limit(n > tbb::this_task_arena::max_concurrency()
                  ? std::make_unique<tbb::global_control>(
                        tbb::global_control::max_allowed_parallelism, n)
                  : nullptr),
        arena(n) {}
  // More threads than cores (determinism tests ask for 4 on 2 cores): raise TBB's limit while
  // this pool lives, so the arena really has the workers it was asked for.
  std::unique_ptr<tbb::global_control> limit;
  tbb::task_arena arena;
};

TaskPool::TaskPool(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  m_threads = threads;
  m_impl = std::make_unique<Impl>(threads);
}

TaskPool::~TaskPool() = default;

namespace {
int worker_index() {
  const int w = tbb::this_task_arena::current_thread_index();
  return w < 0 ? 0 : w;
}

using Body = FunctionRef<void(std::int64_t, std::int64_t, int)>;

/// The state TaskPool::with_team shares between its caller (the lead, worker 0) and the helpers
/// (workers 1 .. threads-1). One job (a for_blocks call) at a time: the lead writes its fields,
/// then `word` = job number | front | back (the blocks not yet taken are [front, back)). The
/// lead takes chunks from the front, helpers from the back, so each core works on the same
/// part of the data every step (its cache keeps it). A thread claims a chunk by a CAS of word;
/// success proves that the fields it read are that job's and that the lead still waits for it
/// (its frame, holding the body, is alive). When a job is done the lead first closes it
/// (front = back = 0), then writes the next job's fields: a thread that read any of those
/// fields then fails its CAS on the old word. All accesses are sequentially consistent: that
/// argument needs one order of every access (and x86 pays only for the few stores).
struct Team {
  static constexpr int k_bits = 20;  // front and back; the job number has the other 24
  static constexpr std::uint64_t k_mask = (std::uint64_t{1} << k_bits) - 1;
  static constexpr std::int64_t k_max_blocks = static_cast<std::int64_t>(k_mask);
  static std::uint64_t pack(std::uint64_t job, std::int64_t front, std::int64_t back) {
    return job << (2 * k_bits) | static_cast<std::uint64_t>(front) << k_bits |
           static_cast<std::uint64_t>(back);
  }
  const TaskPool* pool = nullptr;
  std::int64_t size = 1;  // lead and helpers
  std::atomic<const Body*> body{nullptr};
  std::atomic<std::int64_t> n{0}, grain{1};
  std::atomic<std::uint64_t> word{0};
  std::atomic<std::int64_t> done{0};
  std::atomic<bool> stop{false};
  std::mutex error_mutex;  // the first exception a block threw, rethrown by the lead
  std::exception_ptr error;
};

thread_local Team* t_lead_of = nullptr;  // the team this thread leads (in with_team)
thread_local bool t_in_block = false;    // running a team block: nested for_blocks run inline
thread_local int t_worker = 0;           // this thread's worker index in its team
thread_local int t_in_task = 0;          // > 0 while running a block or task of a TBB path

/// Marks the current thread as running a pool's block or task for its lifetime.
struct InTask {
  InTask() { ++t_in_task; }
  ~InTask() { --t_in_task; }
  InTask(const InTask&) = delete;
  InTask& operator=(const InTask&) = delete;
};

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

/// Claims and runs a chunk of blocks of the team's current job (the lead from the front,
/// helpers from the back); false when none is left. Chunks shrink as the job drains (guided:
/// what is left over twice the team), so a big job costs few claims and the last blocks still
/// balance; the blocks themselves never change.
bool run_blocks(Team& team, int worker) {
  std::uint64_t w = team.word.load();
  for (;;) {
    const Body* body = team.body.load();
    const std::int64_t n = team.n.load(), grain = team.grain.load();
    const auto front = static_cast<std::int64_t>(w >> Team::k_bits & Team::k_mask);
    const auto back = static_cast<std::int64_t>(w & Team::k_mask);
    if (body == nullptr || front >= back) return false;
    const std::int64_t take = std::max<std::int64_t>(1, (back - front) / (2 * team.size));
    const std::int64_t first = worker == 0 ? front : back - take;
    const std::uint64_t job = w >> (2 * Team::k_bits);
    const std::uint64_t next =
        worker == 0 ? Team::pack(job, front + take, back) : Team::pack(job, front, back - take);
    if (!team.word.compare_exchange_weak(w, next))
      continue;  // another thread took blocks, or a new job began: read again
    t_in_block = true;
    t_worker = worker;
    try {
      for (std::int64_t b = first; b < first + take; ++b)
        (*body)(b * grain, std::min(n, (b + 1) * grain), worker);
    } catch (...) {
      const std::lock_guard lock(team.error_mutex);
      if (!team.error) team.error = std::current_exception();
    }
    t_in_block = false;
    team.done.fetch_add(take);
    return true;
  }
}

/// A helper: runs blocks of whatever job is current until the lead says stop. Spins a while
/// between jobs (they follow each other within microseconds), then yields the core. A lead
/// that picks up one of its own helper tasks while it waits in TBB leaves it at once.
void help(Team& team, int worker) {
  if (t_lead_of == &team) return;
  int idle = 0;
  while (!team.stop.load()) {
    if (run_blocks(team, worker)) {
      idle = 0;
    } else if (++idle < 4096) {
      cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }
}

/// for_blocks on the lead's team: publish the job, take blocks like any helper, wait for the
/// blocks the helpers took; then rethrow what a block threw.
void team_for_blocks(Team& team, std::int64_t n, std::int64_t grain, std::int64_t blocks,
                     const Body& body) {
  const std::uint64_t job = (team.word.load() >> (2 * Team::k_bits)) + 1;
  team.done.store(0);
  team.n.store(n);
  team.grain.store(grain);
  team.body.store(&body);
  team.word.store(Team::pack(job, 0, blocks));
  while (run_blocks(team, 0)) {
  }
  while (team.done.load() < blocks) cpu_relax();
  team.word.store(Team::pack(job, 0, 0));
  team.body.store(nullptr);
  if (team.error) std::rethrow_exception(std::exchange(team.error, nullptr));
}
}  // namespace

void TaskPool::for_blocks(std::int64_t n, std::int64_t grain,
                          FunctionRef<void(std::int64_t, std::int64_t, int)> body) {
  CT_ASSERT(grain > 0, "for_blocks needs a positive grain");
  const std::int64_t blocks = block_count(n, grain);
  if (blocks == 0) return;
  if (m_threads == 1 || blocks == 1 || t_in_block) {
    const int w = t_in_block ? t_worker : 0;
    for (std::int64_t k = 0; k < blocks; ++k) body(k * grain, std::min(n, (k + 1) * grain), w);
    return;
  }
  if (t_lead_of != nullptr && t_lead_of->pool == this && blocks <= Team::k_max_blocks) {
    team_for_blocks(*t_lead_of, n, grain, blocks, body);
    return;
  }
  m_impl->arena.execute([&] {
    tbb::parallel_for(
        tbb::blocked_range<std::int64_t>(0, blocks, 1),
        [&](const tbb::blocked_range<std::int64_t>& r) {
          const InTask in_task;
          const int w = worker_index();
          for (std::int64_t k = r.begin(); k != r.end(); ++k)
            body(k * grain, std::min(n, (k + 1) * grain), w);
        },
        tbb::auto_partitioner());  // groups whole blocks into tasks: boundaries stay
  });
}

void for_blocks_or_inline(TaskPool* pool, std::int64_t n, std::int64_t grain,
                          FunctionRef<void(std::int64_t, std::int64_t, int)> body) {
  if (pool && pool->threads() > 1 && n > grain)
    pool->for_blocks(n, grain, body);
  else
    body(0, n, 0);
}

void TaskPool::run_all(std::int64_t count, FunctionRef<void(std::int64_t)> task) {
  if (m_threads == 1 || count <= 1) {
    for (std::int64_t i = 0; i < count; ++i) task(i);
    return;
  }
  m_impl->arena.execute([&] {
    tbb::parallel_for(
        tbb::blocked_range<std::int64_t>(0, count, 1),
        [&](const tbb::blocked_range<std::int64_t>& r) {
          const InTask in_task;
          for (std::int64_t i = r.begin(); i != r.end(); ++i) task(i);
        },
        tbb::simple_partitioner());
  });
}

void TaskPool::with_team(FunctionRef<void()> fn) {
  // Already a worker of some arena (inside run_all or for_blocks), or leading a team: the
  // other workers are busy or already at hand.
  if (m_threads == 1 || t_lead_of != nullptr || t_in_block || t_in_task > 0) {
    fn();
    return;
  }
  // The helpers are tasks of this pool's arena, which the lead joins for the call: when no
  // worker is free to take one, the lead's wait at the end runs it, and it leaves at once
  // (`stop`). So every helper has finished when this returns, and none outlives the pool.
  Team team;
  team.pool = this;
  team.size = m_threads;
  m_impl->arena.execute([&] {
    tbb::task_group helpers;
    for (int w = 1; w < m_threads; ++w) helpers.run([&team, w] { help(team, w); });
    t_lead_of = &team;
    const auto finish = [&] {
      t_lead_of = nullptr;
      team.stop.store(true);
      helpers.wait();
    };
    try {
      fn();
    } catch (...) {
      finish();
      throw;
    }
    finish();
  });
}

}  // namespace citytwin
