// A mutex, its scoped lock and a condition variable that clang's
// thread-safety analysis understands (libstdc++'s std::mutex carries no
// annotations).
#ifndef NPZFS_CORE_BASE_MUTEX_H_
#define NPZFS_CORE_BASE_MUTEX_H_

#include <condition_variable>
#include <mutex>

#include "core/base/thread_annotations.h"

namespace npzfs::core {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }

 private:
  friend class CondVar;
  std::mutex mu_;
};

// Holds `mu` for its scope.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* mu_;
};

// Waits for a change under one Mutex.
class CondVar {
 public:
  // Releases `mu` while waiting, holds it again on return (which may be
  // spurious: callers wait in a loop).
  void Wait(Mutex* mu) REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }
  void NotifyAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace npzfs::core

#endif  // NPZFS_CORE_BASE_MUTEX_H_
