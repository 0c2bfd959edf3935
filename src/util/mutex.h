// Copyright 2026 The SOP for C++ Authors. Licensed under the Apache License, Version 2.0.
//
// A mutex and condition variable over the standard library's, with Abseil's
// thread-safety annotations. Not absl::Mutex: Debian's Abseil is not built
// with ThreadSanitizer, so TSan cannot see its happens-before edges and
// reports false races; std::mutex goes through pthreads, which TSan
// intercepts. See docs/decisions/0004-std-mutex-for-tsan.md.

#ifndef SOP_SRC_UTIL_MUTEX_H_
#define SOP_SRC_UTIL_MUTEX_H_

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"

namespace sop {

class ABSL_LOCKABLE Mutex {
 public:
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  // Locks only if no one holds it; true if it did.
  bool TryLock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) { return mu_.try_lock(); }

 private:
  friend class CondVar;
  std::mutex mu_;
};

class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

// Releases a held mutex for its scope and takes it back on every way out
// of the scope.
class MutexUnlock {
 public:
  explicit MutexUnlock(Mutex* mu) : mu_(mu) { mu_->Unlock(); }
  ~MutexUnlock() { mu_->Lock(); }
  MutexUnlock(const MutexUnlock&) = delete;
  MutexUnlock& operator=(const MutexUnlock&) = delete;

 private:
  Mutex* const mu_;
};

class CondVar {
 public:
  // Atomically releases `mu`, waits for a signal (or a spurious wake-up),
  // and reacquires `mu`. Callers loop on their condition.
  void Wait(Mutex* mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }
  // As Wait, but gives up after `timeout`.
  void WaitFor(Mutex* mu, std::chrono::microseconds timeout) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    cv_.wait_for(lock, timeout);
    lock.release();
  }
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace sop

#endif  // SOP_SRC_UTIL_MUTEX_H_
