// Threads that decode ahead of readers.
#ifndef NPZFS_CORE_READ_WORKERS_H_
#define NPZFS_CORE_READ_WORKERS_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "core/base/mutex.h"

namespace npzfs::core {

// A fixed set of threads running jobs in the order they were submitted,
// started when the first job comes.
// A job is told whether it runs (true) or is being dropped because the
// workers stop (false): either way it is called exactly once, so whatever
// it holds (a decoder other readers wait for) is always released.
//
// Thread-safe. The destructor calls the jobs not started yet with false
// and joins the threads.
class Workers {
 public:
  using Job = std::function<void(bool run)>;

  explicit Workers(size_t threads);
  ~Workers();
  Workers(const Workers&) = delete;
  Workers& operator=(const Workers&) = delete;

  void Submit(Job job) EXCLUDES(mu_);

  size_t threads() const { return count_; }
  // Jobs submitted and not finished.
  size_t pending() EXCLUDES(mu_);

 private:
  void Loop() EXCLUDES(mu_);

  Mutex mu_;
  CondVar cv_;
  std::deque<Job> queue_ GUARDED_BY(mu_);
  size_t running_ GUARDED_BY(mu_) = 0;
  bool stopping_ GUARDED_BY(mu_) = false;
  const size_t count_;
  std::vector<std::thread> threads_ GUARDED_BY(mu_);  // started by the first Submit
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_READ_WORKERS_H_
