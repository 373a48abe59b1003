#pragma once
// A small fixed thread pool (std::thread natively, Emscripten pthreads in the
// threaded wasm build). One threading scheme at a time: natively,
// set_num_threads(n) sizes both our pool and OpenBLAS to n. A GEMM called
// outside pool tasks runs on OpenBLAS's threads while our pool is idle; while
// the pool's workers run a job, OpenBLAS is held at 1 thread (the tasks may
// call GEMMs), so at most n threads compute at a time.
//
// Builds: native and wasm with pthreads (WORDLIGHT_THREADS) have real
// workers; the threaded wasm build caps a pool at 5 threads (its
// PTHREAD_POOL_SIZE=4 pre-started workers + the caller: starting more would
// need the JS event loop). wasm without pthreads has no threads: every pool
// has 1 thread and runs work inline; set_num_threads(n > 1) is accepted and
// the pool stays at 1.
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
  // chunks are done. Chunks are at least `grain` long (one chunk of n when
  // n < grain); there are at most 4 per thread, taken by whichever thread is
  // free (the caller works too), so fn runs concurrently on disjoint ranges.
  // Exceptions thrown by fn are rethrown on the calling thread (the first one
  // wins; chunks not yet started are skipped). Safe to call from inside a
  // task (nested calls run inline), and from a second thread while the pool
  // is busy (that call runs inline). With 1 thread, fn(0, n) runs inline.
  void parallel_for(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn);

 private:
  struct Impl;
  Impl* impl_;
  int threads_;
};

// The process-wide pool used by ops and GEMM. set_num_threads(n) resizes it
// in place (references from default_pool() stay valid) and, natively, calls
// openblas_set_num_threads(n). Default: 1 thread (OpenBLAS is set to 1 when
// the pool is first created). set_num_threads throws wordlight::Error for
// n < 1 or when called from inside a task of the pool; it must not run
// while another thread runs work on the pool.
ThreadPool& default_pool();
void set_num_threads(int n);
int num_threads();

}  // namespace wordlight
