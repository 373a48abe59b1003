#pragma once
// `wordlight explain --input FILE.jsonl --out DIR`, alone or under
// `mpirun -np N`: the texts explained into DIR/explanations.jsonl, one line
// per input line in input order,
//   {"line": N, "explanation": {...explanation_to_json...}}  or
//   {"line": N, "error": "why this line was not explained"}
// (N: the input file's own line number). Resumable like evaluate's
// results.jsonl: every rank appends what it finishes to
// DIR/explanations.rank-K.jsonl (a group at a time, fsync'd); opening and
// finishing a run merge those files into explanations.jsonl (torn lines
// dropped and redone, each line once) whatever the number of ranks that
// wrote them; DIR/run.json holds what a resumed run must share (model,
// input, method, options, target, max length). Rank 0 holds DIR's lock and
// hands out the lines in chunks on demand (native/mpi_work.h).
#include <cstdint>
#include <string>
#include <vector>

#include "mpi_work.h"
#include "wordlight/explain.h"
#include "wordlight/model.h"
#include "wordlight/tokenizer.h"

namespace wordlight::mpi {

struct ExplainInput {
  size_t line_no = 0;
  std::string text;
  std::string error;  // not empty: the line could not be read
};

struct ExplainDirResult {
  int64_t explained = 0, resumed = 0, failed = 0;  // failed: lines with an error (all of them, resumed included)
  bool finished = false;                           // rank 0: every line is in explanations.jsonl
  std::string failure;                             // rank 0, not finished: which lines are missing and why
};

// Every rank calls it with the same arguments; rank 0's result counts.
// `input_path` and `model_dir` go into run.json; `chunk` as evaluate's.
ExplainDirResult explain_to_dir(const Session& session, const Model& model, const Tokenizer& tokenizer,
                                const ExplainRequest& request, const std::vector<ExplainInput>& texts,
                                const std::string& input_path, const std::string& model_dir, const std::string& out_dir,
                                int64_t chunk, const std::function<void(const std::string&)>& warning,
                                const std::function<void(const WorkProgress&)>& progress);

}  // namespace wordlight::mpi
