// ThreadPool and the default pool: every index covered exactly once, chunks
// at least `grain` long, many small calls in a row, nested calls, exception
// propagation, resizing, concurrent callers. In the wasm build without
// pthreads every pool has one thread and the same tests check the inline path.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "wordlight/error.h"
#include "wordlight/thread_pool.h"

#ifdef WORDLIGHT_THREADS
#include <thread>
#endif

namespace {

using wordlight::ThreadPool;

struct ThreadsGuard {
  int saved = wordlight::num_threads();
  explicit ThreadsGuard(int n) { wordlight::set_num_threads(n); }
  ~ThreadsGuard() { wordlight::set_num_threads(saved); }
};

#ifdef WORDLIGHT_THREADS
constexpr bool kThreads = true;
#else
constexpr bool kThreads = false;
#endif

// Runs one parallel_for and checks each index is seen exactly once and each
// chunk is at least min(grain, n) long.
void check_coverage(ThreadPool& pool, size_t n, size_t grain) {
  std::vector<std::atomic<int>> hits(n);
  for (auto& h : hits) h.store(0);
  std::atomic<bool> short_chunk{false}, empty_chunk{false};
  pool.parallel_for(n, grain, [&](size_t b, size_t e) {
    if (b >= e) empty_chunk = true;
    if (e - b < std::min(std::max<size_t>(grain, 1), n)) short_chunk = true;
    for (size_t i = b; i < e; ++i) hits[i].fetch_add(1);
  });
  EXPECT_FALSE(empty_chunk) << "n=" << n << " grain=" << grain;
  EXPECT_FALSE(short_chunk) << "n=" << n << " grain=" << grain;
  for (size_t i = 0; i < n; ++i) {
    ASSERT_EQ(hits[i].load(), 1) << "index " << i << ", n=" << n << " grain=" << grain << " threads=" << pool.threads();
  }
}

TEST(ThreadPool, CoversEveryIndexExactlyOnce) {
  for (int threads : {1, 2, 3, 4}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.threads(), kThreads ? threads : 1);
    for (size_t n : {0, 1, 2, 3, 7, 64, 100, 1000, 100003})
      for (size_t grain : {0, 1, 3, 64, 5000}) check_coverage(pool, n, grain);
  }
}

TEST(ThreadPool, ManySmallCalls) {
  ThreadPool pool(kThreads ? 3 : 1);
  std::vector<long> data(64, 0);
  for (int call = 0; call < 20000; ++call) {
    pool.parallel_for(data.size(), 1, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) data[i] += static_cast<long>(i);
    });
  }
  for (size_t i = 0; i < data.size(); ++i) ASSERT_EQ(data[i], 20000L * static_cast<long>(i)) << i;
}

// Calls that alternate with pauses long enough for the workers to go to
// sleep, so that the wake-up path is taken too.
TEST(ThreadPool, WakesSleepingWorkers) {
  ThreadPool pool(kThreads ? 2 : 1);
  for (int call = 0; call < 20; ++call) {
#ifdef WORDLIGHT_THREADS
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
#endif
    check_coverage(pool, 1000, 10);
  }
}

TEST(ThreadPool, NestedCallsRunInline) {
  ThreadPool pool(kThreads ? 2 : 1);
  const size_t outer = 8, inner = 50;
  std::vector<std::atomic<int>> hits(outer * inner);
  for (auto& h : hits) h.store(0);
  std::atomic<bool> moved{false};
  pool.parallel_for(outer, 1, [&](size_t b, size_t e) {
    for (size_t o = b; o < e; ++o) {
#ifdef WORDLIGHT_THREADS
      const auto me = std::this_thread::get_id();
#endif
      pool.parallel_for(inner, 1, [&](size_t ib, size_t ie) {
#ifdef WORDLIGHT_THREADS
        if (std::this_thread::get_id() != me) moved = true;
#endif
        for (size_t i = ib; i < ie; ++i) hits[o * inner + i].fetch_add(1);
      });
    }
  });
  EXPECT_FALSE(moved) << "a nested call left its thread";
  for (auto& h : hits) ASSERT_EQ(h.load(), 1);
  // The default pool too: an op called from inside another op's task.
  ThreadsGuard g(2);
  std::atomic<long> sum{0};
  wordlight::default_pool().parallel_for(4, 1, [&](size_t b, size_t e) {
    for (size_t o = b; o < e; ++o)
      wordlight::default_pool().parallel_for(100, 1, [&](size_t ib, size_t ie) {
        for (size_t i = ib; i < ie; ++i) sum += static_cast<long>(i);
      });
  });
  EXPECT_EQ(sum.load(), 4L * 4950);
}

TEST(ThreadPool, ExceptionsReachTheCaller) {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    std::atomic<int> ran{0};
    try {
      pool.parallel_for(1000, 1, [&](size_t b, size_t e) {
        ++ran;
        if (b <= 500 && 500 < e) throw wordlight::Error("chunk with 500 failed");
      });
      ADD_FAILURE() << "no exception, threads=" << threads;
    } catch (const wordlight::Error& e) {
      EXPECT_NE(std::string(e.what()).find("chunk with 500 failed"), std::string::npos);
    }
    EXPECT_GE(ran.load(), 1);
    // Other exception types pass through unchanged, from any chunk.
    EXPECT_THROW(pool.parallel_for(64, 1, [](size_t, size_t) { throw std::out_of_range("every chunk"); }),
                 std::out_of_range);
    // The pool is still usable afterwards.
    check_coverage(pool, 777, 1);
  }
}

TEST(ThreadPool, ResizeDefaultPool) {
  const int saved = wordlight::num_threads();
  ThreadPool& ref = wordlight::default_pool();
  for (int n : {1, 2, 3, 1, 2}) {
    wordlight::set_num_threads(n);
    EXPECT_EQ(wordlight::num_threads(), kThreads ? n : 1) << "asked for " << n;
    // A reference taken before the resize names the resized pool.
    EXPECT_EQ(&ref, &wordlight::default_pool());
    EXPECT_EQ(ref.threads(), wordlight::num_threads());
    check_coverage(ref, 5000, 7);
  }
  wordlight::set_num_threads(saved);
  EXPECT_EQ(wordlight::num_threads(), saved);
}

TEST(ThreadPool, RejectsBadThreadCounts) {
  EXPECT_THROW(ThreadPool(0), wordlight::Error);
  EXPECT_THROW(wordlight::set_num_threads(0), wordlight::Error);
  EXPECT_THROW(wordlight::set_num_threads(-3), wordlight::Error);
  // Resizing from inside a task of the pool would pull the pool from under
  // the running job.
  ThreadsGuard g(2);
  bool threw = false;
  wordlight::default_pool().parallel_for(1, 1, [&](size_t, size_t) {
    try {
      wordlight::set_num_threads(3);
    } catch (const wordlight::Error& e) {
      threw = std::string(e.what()).find("inside") != std::string::npos;
    }
  });
  EXPECT_TRUE(threw);
}

#ifdef WORDLIGHT_THREADS
// With 2 threads, chunks do run on more than one thread (given work long
// enough for the worker to wake up and take a chunk).
TEST(ThreadPool, WorkIsShared) {
  ThreadPool pool(2);
  bool shared = false;
  for (int attempt = 0; attempt < 50 && !shared; ++attempt) {
    std::mutex m;
    std::set<std::thread::id> ids;
    pool.parallel_for(8, 1, [&](size_t, size_t) {
      {
        std::lock_guard<std::mutex> lk(m);
        ids.insert(std::this_thread::get_id());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
    shared = ids.size() > 1;
  }
  EXPECT_TRUE(shared);
}

// Two threads submitting to one pool at once: both jobs complete (one runs
// inline while the pool is busy with the other).
TEST(ThreadPool, ConcurrentCallers) {
  ThreadPool pool(2);
  std::atomic<long> a{0}, b{0};
  auto submit = [&pool](std::atomic<long>& sum) {
    for (int call = 0; call < 300; ++call)
      pool.parallel_for(100, 1, [&](size_t lo, size_t hi) {
        long s = 0;
        for (size_t i = lo; i < hi; ++i) s += static_cast<long>(i);
        sum += s;
      });
  };
  std::thread other([&] { submit(b); });
  submit(a);
  other.join();
  EXPECT_EQ(a.load(), 300L * 4950);
  EXPECT_EQ(b.load(), 300L * 4950);
}
#endif

}  // namespace
