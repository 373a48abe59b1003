#pragma once
// A small fixed thread pool (std::thread natively, Emscripten pthreads in the
// threaded wasm build). One threading scheme at a time: natively, OpenBLAS is
// told to use one thread while our pool splits work, or our pool is idle while
// OpenBLAS threads a large GEMM (see gemm.h); they never both run threads.
#include <cstddef>
#include <functional>

namespace wordlight {

class ThreadPool {
 public:
  // threads = total workers including the calling thread (1 = run inline).
  explicit ThreadPool(int threads = 1);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return threads_; }
  // Calls fn(begin, end) on disjoint chunks covering [0, n); blocks until all
  // chunks are done. Chunks are at least `grain` long. Exceptions thrown by fn
  // are rethrown on the calling thread (the first one wins). Safe to call from
  // inside a task (nested calls run inline).
  void parallel_for(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn);

 private:
  struct Impl;
  Impl* impl_;
  int threads_;
};

// The process-wide pool used by ops and GEMM. set_num_threads(n) resizes it
// (and tells OpenBLAS natively). Default: 1 thread.
ThreadPool& default_pool();
void set_num_threads(int n);
int num_threads();

}  // namespace wordlight
