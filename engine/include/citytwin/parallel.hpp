// The one parallel primitive (STYLE.md section 4). Backed by TBB in core/parallel.cpp; nothing
// else in CityTwin includes TBB.
//
// Determinism: for_blocks() cuts [0, n) into blocks of exactly `grain` items (the last one
// shorter), so block boundaries never depend on the thread count or on scheduling. Kernels
// write into per-item or per-block slots and reduce the per-block partials in block order
// afterwards (see reduce_blocks), so results are bit-identical for any thread count.
#pragma once

#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

namespace citytwin {

/// A non-owning reference to a callable (like C++26 std::function_ref).
template <class Sig>
class FunctionRef;

template <class R, class... Args>
class FunctionRef<R(Args...)> {
 public:
  template <class F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, FunctionRef>)
      FunctionRef(F&& f)  // NOLINT(google-explicit-constructor): used like a function parameter
      : m_obj(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        m_call([](void* obj, Args... args) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(obj))(std::forward<Args>(args)...);
        }) {}
  R operator()(Args... args) const { return m_call(m_obj, std::forward<Args>(args)...); }

 private:
  void* m_obj;
  R (*m_call)(void*, Args...);
};

/// A pool of worker threads with an explicit size. Not a global: the simulation owns one and
/// passes it down. Thread safety: for_blocks() and run_all() may be nested (a domain task may
/// itself call for_blocks); the pool is not copyable.
class TaskPool {
 public:
  /// threads <= 0 means "all hardware threads".
  explicit TaskPool(int threads);
  ~TaskPool();
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;

  /// Number of workers (>= 1). Worker indices passed to kernels are in [0, threads()).
  int threads() const { return m_threads; }

  /// Calls body(begin, end, worker) for the blocks [k*grain, min(n, (k+1)*grain)), k = 0.. .
  void for_blocks(std::int64_t n, std::int64_t grain,
                  FunctionRef<void(std::int64_t, std::int64_t, int)> body);

  /// Runs every task once, possibly concurrently; returns when all are done.
  void run_all(std::int64_t count, FunctionRef<void(std::int64_t)> task);

  /// Runs fn on the calling thread with the pool's other workers kept at hand as a team: each
  /// for_blocks() that fn calls from this thread hands its blocks out through one shared word
  /// (the caller takes them from the front, the others from the back) and waits on a counter,
  /// instead of a TBB fork-join, and between those calls the
  /// workers spin rather than going back to TBB's scheduler. For many short parallel phases in
  /// a row (a traffic step is about ten, 50 us in all on a city of 600 lanes). Blocks are the
  /// same as for_blocks' own, so results do not change. A worker that never joins costs
  /// nothing but its share of the blocks (the caller takes them). Only where the calling
  /// thread is not one of the pool's workers already (a domain stepped alone, a benchmark):
  /// inside run_all or another for_blocks, fn simply runs, and its for_blocks are the usual.
  void with_team(FunctionRef<void()> fn);

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
  int m_threads = 1;
};

/// pool->for_blocks(n, grain, body) when `pool` has several workers and n spans more than one
/// block; otherwise body(0, n, 0) inline. For code that runs with or without a pool (the result
/// must not depend on which, as for for_blocks itself).
void for_blocks_or_inline(TaskPool* pool, std::int64_t n, std::int64_t grain,
                          FunctionRef<void(std::int64_t, std::int64_t, int)> body);

/// Number of blocks for_blocks() uses for n items of the given grain.
constexpr std::int64_t block_count(std::int64_t n, std::int64_t grain) {
  return n <= 0 ? 0 : (n + grain - 1) / grain;
}

/// Deterministic parallel reduction: partial(begin, end) per fixed block, then combined in
/// block order with combine(acc, partial). Same result for any thread count.
template <class T, class Partial, class Combine>
T reduce_blocks(TaskPool& pool, std::int64_t n, std::int64_t grain, T init, Partial&& partial,
                Combine&& combine) {
  std::vector<T> parts(static_cast<std::size_t>(block_count(n, grain)), init);
  pool.for_blocks(n, grain, [&](std::int64_t b, std::int64_t e, int) {
    parts[static_cast<std::size_t>(b / grain)] = partial(b, e);
  });
  T acc = init;
  for (const T& p : parts) acc = combine(acc, p);
  return acc;
}

}  // namespace citytwin
