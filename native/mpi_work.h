#pragma once
// Spreading a command's documents over the processes of an MPI job
// (`mpirun -np N wordlight evaluate ...`, `srun wordlight ...`): rank 0
// hands out documents in chunks on demand, every rank (rank 0 included)
// works on its chunks with its own thread pool and appends what it
// finishes to its own file, and rank 0 hears after each written group
// which documents are safe. The core knows nothing of this: the commands
// pass a function that explains a chunk and writes it (native/cmd_*.cpp).
//
// Built with MPI when CMake finds it (option WORDLIGHT_MPI, the
// definition WORDLIGHT_MPI=1); without it, or when the program was not
// started by mpirun/srun, Session says size 1 and the commands run as a
// single process.
//
// Messages (rank r <-> rank 0, point-to-point, int64 arrays):
//   r -> 0  kRequest [wanted]       r is ready for up to `wanted` documents
//   0 -> r  kWork    [i, j, ...]    a chunk; empty: no more work, r stops
//   r -> 0  kWritten [i, j, ...]    these are written and fsync'd on r
//   r -> 0  kBeat    []             r is alive (while it works, every second)
// Only each process's main thread calls MPI (MPI_THREAD_FUNNELED); the
// work runs on another thread, so a rank answers while it computes.
//
// A rank that dies: under `mpirun --enable-recovery` (or `srun --no-kill`)
// the job goes on; rank 0 declares a rank dead when it has not heard from
// it for WORDLIGHT_MPI_DEAD_AFTER seconds (default 60) while it held work
// (a rank that has not asked for work yet: 10 times that, at least 600 s),
// lets the others finish, and the command names the documents that are
// not done. Under plain mpirun the job is stopped at once: rank 0 catches
// the SIGTERM mpirun sends and names the documents not yet confirmed.
// Either way every written group is on disk; the rerun finishes the rest.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace wordlight::mpi {

// The MPI job this process belongs to (MPI_Init_thread in the constructor,
// MPI_Finalize in the destructor). size() == 1 without MPI or mpirun.
class Session {
 public:
  Session();
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  int rank() const { return rank_; }
  int size() const { return size_; }
  bool distributed() const { return size_ > 1; }
  // Ranks of the job on this machine (MPI_COMM_TYPE_SHARED); 1 without MPI.
  int local_size() const { return local_size_; }
  // The default --threads of a rank: the machine's cores shared among its
  // ranks (so `mpirun -np 4` on a 4-core machine runs 4 x 1 threads).
  int default_threads() const;
  // Ends the whole job with `code` (MPI_Abort); after an error on any rank,
  // so that no rank waits forever for another.
  [[noreturn]] void abort(int code) const;
  // Whether this binary was built with MPI.
  static bool compiled();
  // The job's size as the launcher's environment says (OMPI_COMM_WORLD_SIZE,
  // PMI_SIZE), without initializing MPI; 1 when there is none.
  static int launched_size();

 private:
  int rank_ = 0, size_ = 1, local_size_ = 1;
  bool initialized_ = false;
};

struct WorkProgress {
  int64_t written = 0;        // documents confirmed written (this run)
  int64_t total = 0;          // documents to do in this run
  double seconds = 0;         // since the distribution started
  int64_t resumed = 0;        // of `written`, done by an earlier run (set by the commands)
};

struct Work {
  // Rank 0 only: the documents to do, in the order to hand them out.
  std::vector<int64_t> items;
  // Documents per chunk; 0: what each rank asks for (`want`).
  int64_t chunk = 0;
  // What this rank asks for at a time (default: two per thread).
  int64_t want = 1;
  // Runs the chunk on this rank (on a work thread): explains and appends
  // the documents to this rank's file, calling written() after each group
  // is durably written with that group's items. Exceptions end the job.
  std::function<void(const std::vector<int64_t>& chunk, const std::function<void(const std::vector<int64_t>&)>& written)>
      process;
  // Rank 0: after each confirmation.
  std::function<void(const WorkProgress&)> progress;
  // Rank 0, when mpirun stops the job (SIGTERM): told the documents not
  // confirmed written (in list order); the process then exits (status 1)
  // at once, as mpirun sends SIGKILL soon after.
  std::function<void(const std::vector<int64_t>& unconfirmed)> on_terminate;
};

struct WorkOutcome {
  std::vector<int> dead_ranks;          // rank 0: ranks declared dead
  std::vector<int64_t> unconfirmed;     // rank 0: items handed to a dead rank and not confirmed
  int64_t written_here = 0;             // documents this rank wrote
  double seconds = 0;                   // wall time of the distribution
  int64_t messages = 0;                 // rank 0: messages received
};

// Every rank calls this; it returns when all the work is written (or held
// by dead ranks). Test hooks: WORDLIGHT_MPI_TEST_DIE="K:N" makes rank K exit
// (status 3, without a word) once it has written N documents, before it
// tells rank 0; WORDLIGHT_MPI_TEST_SLOW_MS=M makes every written group take
// at least M ms more. WORDLIGHT_MPI_STATS=1: every rank but 0 prints a line
// "mpi-stats: rank K: D documents in C chunks, W s waiting for work, T s in
// all" (W: from asking for a chunk to getting it, the first one excepted).
WorkOutcome distribute(const Session& session, Work& work);

// <out>/unfinished.txt: the message of a run that ended with documents not
// done (also printed; mpirun, stopping a job, may drop a rank's last
// output). Removed when a run starts.
std::string unfinished_note_path(const std::string& out_dir);
void write_unfinished_note(const std::string& out_dir, const std::string& text);  // never throws

// "doc7 (example 8), doc2 (example 3), ... and 12 more": documents named
// for an error message (at most `max` of them; names escaped by the caller).
std::string name_documents(const std::vector<int64_t>& items, const std::function<std::string(int64_t)>& name,
                           size_t max = 20);

}  // namespace wordlight::mpi
