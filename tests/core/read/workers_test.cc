#include "core/read/workers.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace npzfs::core {
namespace {

TEST(WorkersTest, RunsEveryJobOnce) {
  std::atomic<int> ran{0}, dropped{0};
  {
    Workers workers(3);
    EXPECT_EQ(workers.threads(), 3u);
    for (int i = 0; i < 1000; ++i) workers.Submit([&](bool run) { ++(run ? ran : dropped); });
    while (workers.pending() > 0) std::this_thread::yield();
  }
  EXPECT_EQ(ran.load(), 1000);
  EXPECT_EQ(dropped.load(), 0);
}

TEST(WorkersTest, JobsNotStartedWhenStoppingAreCalledWithFalse) {
  std::atomic<int> ran{0}, dropped{0};
  std::atomic<bool> release{false};
  {
    Workers workers(1);
    workers.Submit([&](bool) {
      while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      ++ran;
    });
    for (int i = 0; i < 10; ++i) workers.Submit([&](bool run) { ++(run ? ran : dropped); });
    std::thread releaser([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      release = true;
    });
    releaser.detach();
  }  // the destructor drops the ten queued jobs, then waits for the first
  EXPECT_EQ(ran.load(), 1);
  EXPECT_EQ(dropped.load(), 10);
}

TEST(WorkersTest, WithoutThreadsJobsAreDroppedAtOnce) {
  Workers workers(0);
  bool called = false, ran = true;
  workers.Submit([&](bool run) {
    called = true;
    ran = run;
  });
  EXPECT_TRUE(called);
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace npzfs::core
