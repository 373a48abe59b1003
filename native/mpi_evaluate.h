#pragma once
// `mpirun -np N wordlight evaluate ...`: run_evaluation() spread over the
// ranks of an MPI job (native/mpi_work.h). Rank 0 holds the --out lock,
// opens the run (resuming from results.jsonl and every results.rank-K.jsonl
// of an earlier run, whatever its number of ranks), hands out the pending
// documents in chunks and, at the end, merges the rank files into
// results.jsonl and writes results.json and report.html: the same numbers
// as a single-process run of the same command. Every rank appends its
// documents to <out>/results.rank-K.jsonl, a group at a time, fsync'd.
#include <cstdint>
#include <string>

#include "mpi_work.h"
#include "wordlight/evaluate.h"

namespace wordlight::mpi {

// What the distribution cost (rank 0): wall seconds of the distribution
// loop, messages received, seconds of the final merge and summary.
struct DistributedStats {
  double seconds = 0, merge_seconds = 0;
  int64_t messages = 0;
};

// Every rank calls it with the same arguments. On rank 0, the run's result
// (finished false: a rank died; `control.warning` has named the documents
// not done). On the other ranks, a result with finished = true and only
// `evaluated` (this rank's documents) set. chunk: documents per chunk (0:
// two per thread of the asking rank).
EvalRunResult run_evaluation_distributed(const Session& session, const Model& model, const Tokenizer& tokenizer,
                                         const EvalDataset& data, const EvalOptions& options, const SummaryInfo& info,
                                         const std::string& out_dir, int64_t limit, int64_t chunk,
                                         const EvalRunControl& control, std::string* failure,
                                         DistributedStats* stats = nullptr);

}  // namespace wordlight::mpi
