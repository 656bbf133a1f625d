#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "citytwin/parallel.hpp"

using namespace citytwin;

TEST_CASE("for_blocks visits every index exactly once in fixed blocks", "[parallel]") {
  for (int threads : {1, 2, 4}) {
    TaskPool pool(threads);
    REQUIRE(pool.threads() == threads);
    const std::int64_t n = 10'007, grain = 64;
    std::vector<int> hits(n, 0);
    std::vector<std::int64_t> block_begin(block_count(n, grain), -1);
    std::atomic<int> max_worker{0};
    pool.for_blocks(n, grain, [&](std::int64_t b, std::int64_t e, int w) {
      block_begin[b / grain] = b;
      for (std::int64_t i = b; i < e; ++i) hits[i] += 1;
      int cur = max_worker.load();
      while (w > cur && !max_worker.compare_exchange_weak(cur, w)) {
      }
    });
    for (int h : hits) REQUIRE(h == 1);
    for (std::size_t k = 0; k < block_begin.size(); ++k)
      REQUIRE(block_begin[k] == static_cast<std::int64_t>(k) * grain);
    REQUIRE(max_worker.load() < threads);
  }
}

TEST_CASE("reduce_blocks gives bit-identical sums for any thread count", "[parallel]") {
  // Summing numbers of very different magnitude is order-sensitive in floating point, so
  // equality across thread counts shows the reduction order is fixed.
  const std::int64_t n = 100'000;
  std::vector<double> v(n);
  for (std::int64_t i = 0; i < n; ++i) v[i] = std::pow(-1.0, double(i)) * std::exp(double(i % 50));
  auto sum_with = [&](int threads) {
    TaskPool pool(threads);
    return reduce_blocks(
        pool, n, 1000, 0.0,
        [&](std::int64_t b, std::int64_t e) {
          double s = 0;
          for (std::int64_t i = b; i < e; ++i) s += v[i];
          return s;
        },
        [](double a, double b) { return a + b; });
  };
  const double s1 = sum_with(1);
  REQUIRE(sum_with(2) == s1);
  REQUIRE(sum_with(3) == s1);
}

TEST_CASE("run_all runs each task once", "[parallel]") {
  TaskPool pool(2);
  std::vector<int> ran(7, 0);
  pool.run_all(7, [&](std::int64_t i) { ran[i] += int(i) + 1; });
  for (int i = 0; i < 7; ++i) REQUIRE(ran[i] == i + 1);
}

TEST_CASE("for_blocks_or_inline: fixed blocks on a pool, one inline call without", "[parallel]") {
  const std::int64_t n = 1'000, grain = 64;
  auto calls = [&](TaskPool* pool, std::int64_t count) {
    std::atomic<int> n_calls{0};
    std::vector<int> hits(static_cast<std::size_t>(count), 0);
    for_blocks_or_inline(pool, count, grain, [&](std::int64_t b, std::int64_t e, int) {
      ++n_calls;
      for (std::int64_t i = b; i < e; ++i) hits[static_cast<std::size_t>(i)] += 1;
    });
    for (int h : hits) REQUIRE(h == 1);
    return n_calls.load();
  };
  TaskPool one(1), two(2);
  CHECK(calls(nullptr, n) == 1);   // no pool: inline
  CHECK(calls(&one, n) == 1);      // a single worker: inline
  CHECK(calls(&two, grain) == 1);  // one block's worth: inline
  CHECK(calls(&two, n) == static_cast<int>(block_count(n, grain)));
}

TEST_CASE("with_team: many short for_blocks in a row, each block once, workers distinct",
          "[parallel]") {
  // A job's fields are rewritten right after the previous job drains: a worker that read a
  // stale word must never run a block twice or run the wrong body (as an early version did).
  for (int threads : {1, 2, 4}) {
    TaskPool pool(threads);
    std::vector<int> hits(5000, 0);
    std::atomic<int> wrong_block{0};
    std::int64_t wrong_hits = 0, jobs = 0;
    for (int round = 0; round < 200; ++round) {
      pool.with_team([&] {
        for (int j = 0; j < 20; ++j, ++jobs) {
          const std::int64_t n = 1 + (round * 37 + j * 101) % 5000, grain = 1 + j % 9;
          std::fill(hits.begin(), hits.end(), 0);
          pool.for_blocks(n, grain, [&](std::int64_t b, std::int64_t e, int w) {
            if (b % grain != 0 || e != std::min(n, b + grain) || w < 0 || w >= threads)
              ++wrong_block;
            for (std::int64_t i = b; i < e; ++i) hits[static_cast<std::size_t>(i)] += 1;
          });
          for (std::int64_t i = 0; i < 5000; ++i)
            wrong_hits += hits[static_cast<std::size_t>(i)] != (i < n ? 1 : 0);
        }
      });
    }
    CHECK(jobs == 4000);
    CHECK(wrong_block.load() == 0);
    CHECK(wrong_hits == 0);
  }
}

TEST_CASE("with_team: nested for_blocks run inline, and a block's exception reaches the caller",
          "[parallel]") {
  TaskPool pool(2);
  std::vector<int> hits(64 * 64, 0);
  pool.with_team([&] {
    pool.for_blocks(64, 4, [&](std::int64_t b, std::int64_t e, int) {
      for (std::int64_t i = b; i < e; ++i)
        pool.for_blocks(64, 8, [&](std::int64_t b2, std::int64_t e2, int) {
          for (std::int64_t k = b2; k < e2; ++k) hits[static_cast<std::size_t>(i * 64 + k)] += 1;
        });
    });
  });
  for (int h : hits) REQUIRE(h == 1);
  CHECK_THROWS_AS(pool.with_team([&] {
    pool.for_blocks(100, 1, [&](std::int64_t b, std::int64_t, int) {
      if (b == 57) throw std::runtime_error("block 57");
    });
  }),
                  std::runtime_error);
  // The pool is still usable afterwards.
  std::atomic<int> count{0};
  pool.with_team([&] {
    pool.for_blocks(100, 3,
                    [&](std::int64_t b, std::int64_t e, int) { count += static_cast<int>(e - b); });
  });
  CHECK(count.load() == 100);
}
