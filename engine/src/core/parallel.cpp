// TaskPool over oneTBB: a task_arena with exactly the requested concurrency. Blocks are
// formed by us (fixed grain), and TBB only decides which worker runs which block, so results
// never depend on scheduling (see parallel.hpp).
#include "citytwin/parallel.hpp"

#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>
#include <tbb/task_arena.h>

#include <thread>

#include "citytwin/error.hpp"

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
}  // namespace

void TaskPool::for_blocks(std::int64_t n, std::int64_t grain,
                          FunctionRef<void(std::int64_t, std::int64_t, int)> body) {
  CT_ASSERT(grain > 0, "for_blocks needs a positive grain");
  const std::int64_t blocks = block_count(n, grain);
  if (blocks == 0) return;
  if (m_threads == 1 || blocks == 1) {
    for (std::int64_t k = 0; k < blocks; ++k) body(k * grain, std::min(n, (k + 1) * grain), 0);
    return;
  }
  m_impl->arena.execute([&] {
    tbb::parallel_for(
        tbb::blocked_range<std::int64_t>(0, blocks, 1),
        [&](const tbb::blocked_range<std::int64_t>& r) {
          const int w = worker_index();
          for (std::int64_t k = r.begin(); k != r.end(); ++k)
            body(k * grain, std::min(n, (k + 1) * grain), w);
        },
        tbb::simple_partitioner());
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
          for (std::int64_t i = r.begin(); i != r.end(); ++i) task(i);
        },
        tbb::simple_partitioner());
  });
}

}  // namespace citytwin
