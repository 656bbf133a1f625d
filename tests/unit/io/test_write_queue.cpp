// The run file's writer thread (io/write_queue.hpp): jobs run in order, and post() holds the
// run back once the queued bytes reach the bound, so a slow writer cannot fill memory.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "io/write_queue.hpp"

using namespace citytwin;

TEST_CASE("the write queue runs jobs in order and waits beyond its bound", "[io]") {
  WriteQueue q(100);
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::vector<int> order;  // written by the writer thread only
  q.post(60, [&] {
    gate.wait();
    order.push_back(1);
  });
  q.post(40, [&] { order.push_back(2); });  // 100 bytes: at the bound, still taken
  std::atomic<bool> posted{false};
  std::thread late([&] {
    q.post(10, [&] { order.push_back(3); });
    posted = true;
  });
  // The first job holds the writer: the third post must wait. (A wrong queue would take it at
  // once; a right one cannot be seen taking it early, whatever the timing.)
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK_FALSE(posted.load());
  release.set_value();
  late.join();
  CHECK(posted.load());
  q.drain();
  CHECK(order == std::vector<int>{1, 2, 3});
  CHECK(q.done() == 3);
}

TEST_CASE("a job larger than the bound goes alone; a lower bound applies to the next post",
          "[io]") {
  WriteQueue q(100);
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  q.post(500, [&] { gate.wait(); });  // larger than the bound: taken into an empty queue
  q.set_max_bytes(10);
  std::atomic<bool> posted{false};
  std::thread late([&] {
    q.post(5, [] {});
    posted = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK_FALSE(posted.load());  // 500 + 5 > 10: waits for the big job
  release.set_value();
  late.join();
  q.drain();
  CHECK(q.done() == 2);
}
