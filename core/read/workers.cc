#include "core/read/workers.h"

#include <utility>

namespace npzfs::core {

Workers::Workers(size_t threads) : count_(threads) {}

Workers::~Workers() {
  std::deque<Job> dropped;
  std::vector<std::thread> threads;
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    dropped.swap(queue_);
    threads.swap(threads_);
  }
  cv_.NotifyAll();
  for (Job& job : dropped) job(false);
  for (std::thread& t : threads) t.join();
}

void Workers::Submit(Job job) {
  {
    MutexLock lock(&mu_);
    if (!stopping_ && count_ > 0) {
      // The threads start with the first job: an archive never read ahead
      // (most of a mount of many) costs none.
      if (threads_.empty()) {
        threads_.reserve(count_);
        for (size_t i = 0; i < count_; ++i) threads_.emplace_back([this] { Loop(); });
      }
      queue_.push_back(std::move(job));
      job = nullptr;
    }
  }
  if (job) {
    job(false);
    return;
  }
  cv_.NotifyAll();
}

size_t Workers::pending() {
  MutexLock lock(&mu_);
  return queue_.size() + running_;
}

void Workers::Loop() {
  mu_.Lock();
  for (;;) {
    while (!stopping_ && queue_.empty()) cv_.Wait(&mu_);
    if (stopping_) break;
    Job job = std::move(queue_.front());
    queue_.pop_front();
    ++running_;
    mu_.Unlock();
    job(true);
    job = nullptr;
    mu_.Lock();
    --running_;
  }
  mu_.Unlock();
}

}  // namespace npzfs::core
