// Work distribution over the ranks of an MPI job (see mpi_work.h).
#include "mpi_work.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "wordlight/error.h"

#ifdef WORDLIGHT_MPI
#define OMPI_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace wordlight::mpi {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Started by mpirun (Open MPI, MPICH's hydra) or srun (PMI/PMIx)?
bool launched() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (std::getenv(v)) return true;
  return false;
}

// The test hooks: rank K exits after its N-th document; every group takes
// at least WORDLIGHT_MPI_TEST_SLOW_MS (so that a tiny test's ranks all get
// work before it is gone).
struct DieHook {
  int rank = -1;
  long long after = -1;
  int slow_ms = 0;
  DieHook() {
    if (const char* v = std::getenv("WORDLIGHT_MPI_TEST_DIE"))
      if (std::sscanf(v, "%d:%lld", &rank, &after) != 2) rank = -1;
    if (const char* v = std::getenv("WORDLIGHT_MPI_TEST_SLOW_MS")) slow_ms = std::max(0, std::atoi(v));
  }
};

// A chunk running on this rank's work thread; its written() calls queue the
// confirmations for the main thread (the only one that calls MPI).
class LocalWorker {
 public:
  LocalWorker(Work& work, int rank) : work_(work), rank_(rank) {}
  ~LocalWorker() {
    if (thread_.joinable()) thread_.join();
  }
  bool busy() const { return busy_; }
  void start(std::vector<int64_t> chunk) {
    if (thread_.joinable()) thread_.join();
    busy_ = true;
    finished_ = false;
    thread_ = std::thread([this, chunk = std::move(chunk)]() {
      try {
        work_.process(chunk, [this](const std::vector<int64_t>& items) {
          written_ += static_cast<int64_t>(items.size());
          if (die_.rank == rank_ && die_.after >= 0 && written_ >= die_.after) {
            std::fflush(stderr);
            ::_exit(3);  // the test hook: as if the machine died (written, not yet told)
          }
          {
            std::lock_guard<std::mutex> g(mu_);
            queued_.insert(queued_.end(), items.begin(), items.end());
          }
          if (die_.slow_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(die_.slow_ms));
        });
      } catch (...) {
        std::lock_guard<std::mutex> g(mu_);
        error_ = std::current_exception();
      }
      finished_ = true;
    });
  }
  // Confirmations since the last call; rethrows the chunk's exception.
  std::vector<int64_t> take() {
    std::vector<int64_t> out;
    {
      std::lock_guard<std::mutex> g(mu_);
      out.swap(queued_);
      if (error_) std::rethrow_exception(error_);
    }
    if (busy_ && finished_) {
      thread_.join();
      busy_ = false;
      std::lock_guard<std::mutex> g(mu_);
      out.insert(out.end(), queued_.begin(), queued_.end());
      queued_.clear();
      if (error_) std::rethrow_exception(error_);
    }
    return out;
  }
  int64_t written() const { return written_; }

 private:
  Work& work_;
  int rank_;
  DieHook die_;
  std::thread thread_;
  std::atomic<bool> finished_{false};
  bool busy_ = false;
  std::mutex mu_;
  std::vector<int64_t> queued_;
  std::exception_ptr error_;
  std::atomic<int64_t> written_{0};
};

volatile std::sig_atomic_t g_terminate = 0;
extern "C" void on_sigterm(int) { g_terminate = 1; }

}  // namespace

std::string unfinished_note_path(const std::string& out_dir) {
  return out_dir.empty() || out_dir.back() == '/' ? out_dir + "unfinished.txt" : out_dir + "/unfinished.txt";
}

void write_unfinished_note(const std::string& out_dir, const std::string& text) {
  if (FILE* f = std::fopen(unfinished_note_path(out_dir).c_str(), "wb")) {
    std::fprintf(f, "%s\n", text.c_str());
    std::fflush(f);
    ::fsync(::fileno(f));
    std::fclose(f);
  }
}

std::string name_documents(const std::vector<int64_t>& items, const std::function<std::string(int64_t)>& name,
                           size_t max) {
  std::string s;
  for (size_t k = 0; k < items.size() && k < max; ++k) s += (k ? ", " : "") + name(items[k]);
  if (items.size() > max) s += " and " + std::to_string(items.size() - max) + " more";
  return s;
}

int Session::launched_size() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (const char* s = std::getenv(v)) return std::max(1, std::atoi(s));
  return 1;
}

bool Session::compiled() {
#ifdef WORDLIGHT_MPI
  return true;
#else
  return false;
#endif
}

Session::Session() {
#ifdef WORDLIGHT_MPI
  if (!launched()) return;
  int provided = 0;
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    throw Error("MPI_Init_thread failed");
  initialized_ = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
  MPI_Comm_size(node, &local_size_);
  MPI_Comm_free(&node);
#endif
}

int Session::default_threads() const {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, cores / std::max(1, local_size_));
}

Session::~Session() {
#ifdef WORDLIGHT_MPI
  if (initialized_) MPI_Finalize();
#endif
}

void Session::abort(int code) const {
  std::fflush(stdout);
  std::fflush(stderr);
#ifdef WORDLIGHT_MPI
  if (initialized_) MPI_Abort(MPI_COMM_WORLD, code);
#endif
  std::_Exit(code);
}

namespace {

// One process: the whole list here, in order.
WorkOutcome run_alone(Work& work) {
  WorkOutcome out;
  const auto t0 = Clock::now();
  work.process(work.items, [&](const std::vector<int64_t>& items) {
    out.written_here += static_cast<int64_t>(items.size());
    if (work.progress) work.progress({out.written_here, static_cast<int64_t>(work.items.size()), since(t0)});
  });
  out.seconds = since(t0);
  return out;
}

}  // namespace

#ifndef WORDLIGHT_MPI
WorkOutcome distribute(const Session&, Work& work) { return run_alone(work); }
#else

namespace {

enum Tag : int { kRequest = 1, kWork = 2, kWritten = 3, kBeat = 4 };

void send(int to, int tag, const std::vector<int64_t>& v) {
  MPI_Send(v.empty() ? nullptr : v.data(), static_cast<int>(v.size()), MPI_INT64_T, to, tag, MPI_COMM_WORLD);
}

// A message waiting for us, received whole; false when none. Polled with
// short sleeps: Open MPI's blocking receive spins a core, which the work
// thread needs.
bool try_receive(int from, int tag, int& source, int& got_tag, std::vector<int64_t>& v) {
  int flag = 0;
  MPI_Status st;
  MPI_Iprobe(from, tag, MPI_COMM_WORLD, &flag, &st);
  if (!flag) return false;
  int count = 0;
  MPI_Get_count(&st, MPI_INT64_T, &count);
  v.assign(static_cast<size_t>(count), 0);
  MPI_Recv(v.empty() ? nullptr : v.data(), count, MPI_INT64_T, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD,
           MPI_STATUS_IGNORE);
  source = st.MPI_SOURCE;
  got_tag = st.MPI_TAG;
  return true;
}

double dead_after_seconds() {
  const char* v = std::getenv("WORDLIGHT_MPI_DEAD_AFTER");
  const double s = v ? std::atof(v) : 0;
  return s > 0 ? s : 60;
}

WorkOutcome run_worker(const Session& session, Work& work) {
  WorkOutcome out;
  const auto t0 = Clock::now();
  LocalWorker local(work, session.rank());
  send(0, kRequest, {work.want});
  auto last_sent = Clock::now();
  auto asked = Clock::now();
  double waited = 0;  // between asking for a chunk and getting it
  int64_t chunks = 0;
  for (;;) {
    std::vector<int64_t> chunk;
    int src = 0, tag = 0;
    if (!local.busy()) {
      if (!try_receive(0, kWork, src, tag, chunk)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      if (chunks > 0) waited += since(asked);  // (the first wait is rank 0 starting up)
      if (chunk.empty()) break;  // no more work
      ++chunks;
      local.start(std::move(chunk));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    const bool was_busy = local.busy();
    const std::vector<int64_t> done = local.take();  // rethrows the chunk's error
    if (!done.empty()) {
      send(0, kWritten, done);
      last_sent = Clock::now();
    }
    if (was_busy && !local.busy()) {
      send(0, kRequest, {work.want});
      last_sent = asked = Clock::now();
    } else if (since(last_sent) > 1.0) {
      send(0, kBeat, {});
      last_sent = Clock::now();
    }
  }
  out.written_here = local.written();
  out.seconds = since(t0);
  // The benchmark's measure of the distribution's cost (bench/scale.sh).
  if (const char* v = std::getenv("WORDLIGHT_MPI_STATS"); v && *v == '1')
    std::fprintf(stderr, "mpi-stats: rank %d: %lld documents in %lld chunks, %.6f s waiting for work, %.3f s in all\n",
                 session.rank(), static_cast<long long>(out.written_here), static_cast<long long>(chunks), waited,
                 out.seconds);
  return out;
}

WorkOutcome run_master(const Session& session, Work& work) {
  WorkOutcome out;
  const auto t0 = Clock::now();
  const int n = session.size();
  const double dead_after = dead_after_seconds();
  struct RankState {
    std::set<int64_t> held;  // handed out, not confirmed
    Clock::time_point heard;
    bool stopped = false, dead = false;
  };
  std::vector<RankState> ranks(static_cast<size_t>(n));
  for (RankState& r : ranks) r.heard = Clock::now();
  size_t next = 0;
  int64_t written = 0;
  const int64_t total = static_cast<int64_t>(work.items.size());
  auto hand_out = [&](int64_t wanted) {
    const int64_t k = work.chunk > 0 ? work.chunk : std::max<int64_t>(1, wanted);
    std::vector<int64_t> chunk;
    while (next < work.items.size() && static_cast<int64_t>(chunk.size()) < k) chunk.push_back(work.items[next++]);
    return chunk;
  };
  auto confirm = [&](int r, const std::vector<int64_t>& items) {
    for (int64_t i : items) written += ranks[static_cast<size_t>(r)].held.erase(i) ? 1 : 0;
    if (work.progress) work.progress({written, total, since(t0)});
  };
  std::signal(SIGTERM, on_sigterm);
  LocalWorker local(work, 0);
  for (;;) {
    if (g_terminate) {
      // mpirun is stopping the job: every document not confirmed is
      // unfinished (its rank's file may hold some; the rerun sees them).
      std::set<int64_t> open;
      for (const RankState& r : ranks) open.insert(r.held.begin(), r.held.end());
      for (size_t k = next; k < work.items.size(); ++k) open.insert(work.items[k]);
      std::vector<int64_t> unconfirmed;
      for (int64_t i : work.items)
        if (open.count(i)) unconfirmed.push_back(i);
      if (work.on_terminate) work.on_terminate(unconfirmed);
      std::fflush(stdout);
      std::fflush(stderr);
      std::_Exit(1);
    }
    bool idle = true;
    std::vector<int64_t> msg;
    int src = 0, tag = 0;
    while (try_receive(MPI_ANY_SOURCE, MPI_ANY_TAG, src, tag, msg)) {
      idle = false;
      ++out.messages;
      RankState& r = ranks[static_cast<size_t>(src)];
      r.heard = Clock::now();
      if (r.dead) {
        // Declared dead, then heard from (it was only stalled): its chunk is
        // counted as lost already; let it stop rather than wait forever.
        if (tag == kRequest) send(src, kWork, {});
        continue;
      }
      if (tag == kRequest) {
        std::vector<int64_t> chunk = hand_out(msg.empty() ? 1 : msg[0]);
        r.held.insert(chunk.begin(), chunk.end());
        if (chunk.empty()) r.stopped = true;
        send(src, kWork, chunk);
      } else if (tag == kWritten) {
        confirm(src, msg);
      }
    }
    // Rank 0's own share.
    if (!ranks[0].stopped) {
      const std::vector<int64_t> done = local.take();
      if (!done.empty()) confirm(0, done);
      if (!local.busy()) {
        std::vector<int64_t> chunk = hand_out(work.want);
        if (chunk.empty()) {
          ranks[0].stopped = true;
        } else {
          ranks[0].held.insert(chunk.begin(), chunk.end());
          local.start(std::move(chunk));
          idle = false;
        }
      }
    }
    bool all_done = true;
    for (int k = 1; k < n; ++k) {
      RankState& r = ranks[static_cast<size_t>(k)];
      if (r.stopped || r.dead) continue;
      // A rank holding no work is still starting up (loading the model and
      // the data can take long on a busy file system): more patience.
      const double limit = r.held.empty() ? std::max(600.0, 10 * dead_after) : dead_after;
      if (since(r.heard) > limit) {
        r.dead = true;
        out.dead_ranks.push_back(k);
        continue;
      }
      all_done = false;
    }
    if (all_done && ranks[0].stopped) break;
    if (idle) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  std::signal(SIGTERM, SIG_DFL);
  std::set<int64_t> lost;
  for (int k = 0; k < n; ++k) {
    const RankState& r = ranks[static_cast<size_t>(k)];
    if (r.dead) lost.insert(r.held.begin(), r.held.end());
  }
  for (int64_t i : work.items)
    if (lost.count(i)) out.unconfirmed.push_back(i);  // in the order of the list
  out.written_here = local.written();
  out.seconds = since(t0);
  return out;
}

}  // namespace

WorkOutcome distribute(const Session& session, Work& work) {
  if (!session.distributed()) return run_alone(work);
  return session.rank() == 0 ? run_master(session, work) : run_worker(session, work);
}
#endif

}  // namespace wordlight::mpi
