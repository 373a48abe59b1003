// The process-wide thread pool: persistent std::thread workers that take
// chunks of one parallel_for at a time.
//
// Tuned for many small jobs (GEMMs of about a millisecond, element-wise ops
// of tens of microseconds):
//  - the calling thread publishes a job and then works on it itself, so a job
//    never waits for a worker to wake up: whoever is free takes the next
//    chunk (dynamic claiming with one atomic compare-and-swap per chunk);
//  - a worker that finished a job spins briefly for the next one (jobs tend
//    to come in bursts), then sleeps on a condition variable, so an idle pool
//    costs no CPU;
//  - the caller spins briefly for the last chunks, then sleeps likewise.
//
// Nested calls (parallel_for from inside a task), calls from a second thread
// while the pool is busy, and pools of 1 thread run the whole range inline on
// the calling thread: no hand-off, no locking beyond one try_lock.
//
// Build modes:
//  - native (WORDLIGHT_THREADS): std::thread. With WORDLIGHT_OPENBLAS,
//    set_num_threads(n) also calls openblas_set_num_threads(n): our pool is
//    idle while OpenBLAS runs a GEMM called outside pool tasks, and while the
//    pool's workers run a job OpenBLAS is held at 1 thread (tasks may call
//    GEMMs), so at most n threads compute at any time.
//  - wasm with pthreads (-pthread, WORDLIGHT_THREADS): std::thread over
//    Emscripten's pthreads. Workers come from the PTHREAD_POOL_SIZE Web
//    Workers created at start-up; creating more would need the calling
//    thread to return to the JS event loop, which a blocking API cannot do,
//    so the pool is capped at kMaxWasmThreads (PTHREAD_POOL_SIZE + 1).
//  - wasm without pthreads (no WORDLIGHT_THREADS): no threads exist. Every
//    pool has 1 thread and runs everything inline; set_num_threads(n > 1) is
//    accepted (so callers need no #ifdef) and the pool stays at 1 thread.
#include "wordlight/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <new>
#include <string>

#include "wordlight/error.h"

#ifdef WORDLIGHT_THREADS
#include <chrono>
#include <condition_variable>
#include <thread>
#include <vector>
#endif

#ifdef WORDLIGHT_OPENBLAS
#include <cblas.h>
#endif

namespace wordlight {
namespace {

// True on a thread while it runs a chunk of some pool's job: a parallel_for
// issued from there runs inline (and set_num_threads is refused).
thread_local bool t_in_task = false;

struct TaskScope {
  bool saved;
  TaskScope() : saved(t_in_task) { t_in_task = true; }
  ~TaskScope() { t_in_task = saved; }
};

void run_inline(size_t n, const std::function<void(size_t, size_t)>& fn) {
  TaskScope scope;
  fn(0, n);
}

#ifdef WORDLIGHT_THREADS
#ifdef __EMSCRIPTEN__
// PTHREAD_POOL_SIZE=4 at link time, plus the calling thread.
constexpr int kMaxWasmThreads = 5;
#endif

// Chunks per thread: more than one so that a thread that runs late (the
// machine is shared, a worker is still waking up) leaves its chunks to the
// others instead of holding everyone up.
constexpr size_t kChunksPerThread = 4;
// Spin budgets before sleeping: a worker that finished a job waits this long
// for the next one (longer than the gap between two GEMMs of a layer, short
// enough that an idle pool stops using CPU almost at once); the caller waits
// this long for the chunks other threads still run.
constexpr auto kWorkerSpin = std::chrono::microseconds(100);
constexpr auto kCallerSpin = std::chrono::microseconds(200);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Polls done() until it returns true (-> true) or `budget` has passed
// (-> false). The clock is read every 32 polls only.
template <class Done>
bool spin_until(const Done& done, std::chrono::microseconds budget) {
  const auto start = std::chrono::steady_clock::now();
  for (unsigned i = 1;; ++i) {
    if (done()) return true;
    cpu_relax();
    if (i % 32 == 0 && std::chrono::steady_clock::now() - start > budget) return done();
  }
}

// The job word: generation (32 bits) | chunk count (16 bits) | next chunk
// (16 bits). Keeping the count in the same word as the claim counter means
// a claim is valid exactly when one CAS succeeds with index < count: a
// worker that wakes late can never take a chunk of a job it did not see.
constexpr uint64_t kIdxBits = 16, kCountBits = 16;
constexpr uint64_t kIdxMask = (uint64_t(1) << kIdxBits) - 1;
constexpr size_t kMaxChunks = kIdxMask;  // count must fit in 16 bits too
inline uint64_t make_word(uint64_t gen, uint64_t count) { return (gen << (kIdxBits + kCountBits)) | (count << kIdxBits); }
inline uint64_t word_gen(uint64_t w) { return w >> (kIdxBits + kCountBits); }
inline uint64_t word_count(uint64_t w) { return (w >> kIdxBits) & kIdxMask; }
inline uint64_t word_idx(uint64_t w) { return w & kIdxMask; }
#endif

}  // namespace

#ifdef WORDLIGHT_THREADS

struct ThreadPool::Impl {
  std::vector<std::thread> workers;
  std::mutex submit;  // one job at a time; a second caller runs inline

  // The current job, written by the caller before the job word is published
  // and stable until `pending` drops to 0.
  const std::function<void(size_t, size_t)>* fn = nullptr;
  size_t n = 0;
  std::atomic<uint64_t> word{0};
  std::atomic<size_t> pending{0};  // chunks not yet finished
  std::atomic<bool> failed{false};
  std::exception_ptr error;  // the first exception, guarded by err_mutex
  std::mutex err_mutex;

  // Sleeping: workers on work_cv waiting for a new generation, the caller on
  // done_cv waiting for pending == 0. The counters let the other side skip
  // the mutex when nobody sleeps.
  std::mutex sleep_mutex;
  std::condition_variable work_cv, done_cv;
  std::atomic<int> sleeping_workers{0};
  std::atomic<bool> caller_sleeping{false};
  std::atomic<bool> stop{false};

  void chunk_bounds(uint64_t idx, uint64_t count, size_t* b, size_t* e) const {
    *b = static_cast<size_t>(n * idx / count);
    *e = static_cast<size_t>(n * (idx + 1) / count);
  }

  // Takes and runs chunks of the job with generation `gen` until none is
  // left. Returns when the job word no longer offers a chunk of `gen`.
  void work_on(uint64_t gen) {
    uint64_t w = word.load(std::memory_order_acquire);
    for (;;) {
      if (word_gen(w) != gen || word_idx(w) >= word_count(w)) return;
      if (!word.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
      // The chunk is ours, and the job cannot finish (nor be replaced)
      // before we decrement pending: fn and n are stable.
      if (!failed.load(std::memory_order_relaxed)) {
        size_t b, e;
        chunk_bounds(word_idx(w), word_count(w), &b, &e);
        try {
          TaskScope scope;
          (*fn)(b, e);
        } catch (...) {
          std::lock_guard<std::mutex> lk(err_mutex);
          if (!error) error = std::current_exception();
          failed.store(true, std::memory_order_relaxed);
        }
      }
      if (pending.fetch_sub(1, std::memory_order_seq_cst) == 1) {
        // Last chunk: wake the caller if it went to sleep.
        if (caller_sleeping.load(std::memory_order_seq_cst)) {
          std::lock_guard<std::mutex> lk(sleep_mutex);
          done_cv.notify_one();
        }
        return;
      }
      w = word.load(std::memory_order_acquire);
    }
  }

  void worker_loop() {
    uint64_t seen = word_gen(word.load(std::memory_order_acquire));
    for (;;) {
      uint64_t gen = seen;
      const bool woke = spin_until(
          [&] {
            gen = word_gen(word.load(std::memory_order_acquire));
            return gen != seen;
          },
          kWorkerSpin);
      if (!woke) {
        std::unique_lock<std::mutex> lk(sleep_mutex);
        sleeping_workers.fetch_add(1, std::memory_order_seq_cst);
        // seq_cst pairs with the caller's store of the word followed by its
        // load of sleeping_workers: one of the two sees the other.
        while ((gen = word_gen(word.load(std::memory_order_seq_cst))) == seen &&
               !stop.load(std::memory_order_relaxed))
          work_cv.wait(lk);
        sleeping_workers.fetch_sub(1, std::memory_order_relaxed);
      }
      if (stop.load(std::memory_order_acquire)) return;
      seen = gen;
      work_on(gen);
    }
  }

  void run(size_t n_, size_t chunks, const std::function<void(size_t, size_t)>& f) {
    fn = &f;
    n = n_;
    error = nullptr;
    failed.store(false, std::memory_order_relaxed);
    pending.store(chunks, std::memory_order_relaxed);
    const uint64_t gen = (word_gen(word.load(std::memory_order_relaxed)) + 1) & 0xffffffffu;
    word.store(make_word(gen, chunks), std::memory_order_seq_cst);
    if (sleeping_workers.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lk(sleep_mutex);
      work_cv.notify_all();
    }
    work_on(gen);
    // Wait for chunks other threads are still running.
    if (!spin_until([&] { return pending.load(std::memory_order_acquire) == 0; }, kCallerSpin)) {
      std::unique_lock<std::mutex> lk(sleep_mutex);
      caller_sleeping.store(true, std::memory_order_seq_cst);
      while (pending.load(std::memory_order_seq_cst) != 0) done_cv.wait(lk);
      caller_sleeping.store(false, std::memory_order_relaxed);
    }
    fn = nullptr;
    if (error) {
      std::exception_ptr e = error;
      error = nullptr;
      std::rethrow_exception(e);
    }
  }

  void start(int threads) {
    stop.store(false);
    workers.reserve(static_cast<size_t>(threads - 1));
    for (int i = 1; i < threads; ++i) workers.emplace_back([this] { worker_loop(); });
  }

  void join_all() {
    {
      std::lock_guard<std::mutex> lk(sleep_mutex);
      stop.store(true, std::memory_order_seq_cst);
      // A new generation also releases workers that are spinning.
      word.store(make_word((word_gen(word.load()) + 1) & 0xffffffffu, 0), std::memory_order_seq_cst);
      work_cv.notify_all();
    }
    for (auto& t : workers) t.join();
    workers.clear();
  }
};

ThreadPool::ThreadPool(int threads) : impl_(nullptr), threads_(1) {
  if (threads < 1) throw Error("ThreadPool: thread count must be at least 1, got " + std::to_string(threads));
#ifdef __EMSCRIPTEN__
  threads = std::min(threads, kMaxWasmThreads);
#endif
  impl_ = new Impl;
  threads_ = threads;
  try {
    impl_->start(threads);
  } catch (...) {
    impl_->join_all();
    delete impl_;
    throw;
  }
}

ThreadPool::~ThreadPool() {
  impl_->join_all();
  delete impl_;
}

void ThreadPool::parallel_for(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn) {
  if (n == 0) return;
  grain = std::max<size_t>(grain, 1);
  const size_t chunks = std::min({n / grain, static_cast<size_t>(threads_) * kChunksPerThread, kMaxChunks});
  if (chunks <= 1 || t_in_task) return run_inline(n, fn);
  std::unique_lock<std::mutex> lk(impl_->submit, std::try_to_lock);
  if (!lk.owns_lock()) return run_inline(n, fn);  // another thread's job is running
#ifdef WORDLIGHT_OPENBLAS
  // One threading scheme at a time: while our workers run tasks (which may
  // call GEMMs), OpenBLAS stays on the calling thread. A threaded OpenBLAS
  // called from several pool threads at once measured 20-60x slower.
  const int blas_threads = openblas_get_num_threads();
  if (blas_threads > 1) openblas_set_num_threads(1);
  struct Restore {
    int n;
    ~Restore() {
      if (n > 1) openblas_set_num_threads(n);
    }
  } restore{blas_threads};
#endif
  impl_->run(n, chunks, fn);
}

#else  // no threads: every pool runs inline

struct ThreadPool::Impl {};

ThreadPool::ThreadPool(int threads) : impl_(nullptr), threads_(1) {
  if (threads < 1) throw Error("ThreadPool: thread count must be at least 1, got " + std::to_string(threads));
}
ThreadPool::~ThreadPool() { delete impl_; }  // always null here

void ThreadPool::parallel_for(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn) {
  if (n == 0) return;
  run_inline(n, fn);
}

#endif

namespace {
// Storage for the default pool, so that set_num_threads can replace the
// pool in place and references from default_pool() stay valid.
alignas(ThreadPool) unsigned char g_pool_storage[sizeof(ThreadPool)];
std::mutex g_pool_mutex;  // guards creation and resizing

ThreadPool* create_default_pool() {
#ifdef WORDLIGHT_OPENBLAS
  openblas_set_num_threads(1);  // match the pool's default of 1 thread
#endif
  return new (g_pool_storage) ThreadPool(1);
}
}  // namespace

ThreadPool& default_pool() {
  // Never destroyed: workers of a static pool would be joined during static
  // destruction, after other statics they may use are gone.
  static ThreadPool* pool = [] {
    std::lock_guard<std::mutex> lk(g_pool_mutex);
    return create_default_pool();
  }();
  return *pool;
}

void set_num_threads(int n) {
  if (n < 1) throw Error("set_num_threads: thread count must be at least 1, got " + std::to_string(n));
  if (t_in_task) throw Error("set_num_threads: cannot resize the thread pool from inside one of its tasks");
  ThreadPool& pool = default_pool();
  std::lock_guard<std::mutex> lk(g_pool_mutex);
#ifdef WORDLIGHT_OPENBLAS
  openblas_set_num_threads(n);
#endif
#ifdef WORDLIGHT_THREADS
#ifdef __EMSCRIPTEN__
  n = std::min(n, kMaxWasmThreads);
#endif
  if (pool.threads() == n) return;
  // Replace the pool object in place (same type, same storage), so the
  // reference every caller holds now names the new pool. The caller must not
  // run work on the pool concurrently with a resize.
  pool.~ThreadPool();
  new (&pool) ThreadPool(n);
#else
  (void)pool;  // no threads in this build: the pool stays at 1
#endif
}

int num_threads() { return default_pool().threads(); }

}  // namespace wordlight
