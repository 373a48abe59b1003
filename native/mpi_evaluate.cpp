// run_evaluation() over the ranks of an MPI job (see mpi_evaluate.h).
#include "mpi_evaluate.h"

#include <algorithm>
#include <cstdio>
#include <chrono>
#include <memory>

#include "wordlight/dir_lock.h"
#include "wordlight/error.h"
#include "wordlight/thread_pool.h"
#include "wordlight/train.h"

namespace wordlight::mpi {

EvalRunResult run_evaluation_distributed(const Session& session, const Model& model, const Tokenizer& tokenizer,
                                         const EvalDataset& data, const EvalOptions& options, const SummaryInfo& info,
                                         const std::string& out_dir, int64_t limit, int64_t chunk,
                                         const EvalRunControl& control, std::string* failure,
                                         DistributedStats* stats) {
  const std::vector<int> labels = eval_label_ids(data, info.label_names);
  ThreadPool& pool = default_pool();
  const size_t group = static_cast<size_t>(std::max(1, pool.threads())) * 2;
  std::unique_ptr<LineAppender> out;  // opened at the first chunk: after rank 0 merged the old rank files
  int64_t evaluated = 0;

  Work work;
  work.chunk = chunk;
  work.want = static_cast<int64_t>(group);
  work.process = [&](const std::vector<int64_t>& items, const std::function<void(const std::vector<int64_t>&)>& written) {
    if (!out) out = std::make_unique<LineAppender>(rank_record_file(out_dir, session.rank()));
    for (size_t first = 0; first < items.size(); first += group) {
      const size_t n = std::min(group, items.size() - first);
      out->append(evaluate_examples_jsonl(model, tokenizer, data, labels, items.data() + first, n, options, control.warning));
      evaluated += static_cast<int64_t>(n);
      written(std::vector<int64_t>(items.begin() + static_cast<std::ptrdiff_t>(first),
                                   items.begin() + static_cast<std::ptrdiff_t>(first + n)));
    }
  };
  auto name = [&](int64_t i) {
    return data.examples[static_cast<size_t>(i)].id + " (example " + std::to_string(i + 1) + ")";
  };

  EvalRunResult res;
  if (session.rank() != 0) {
    distribute(session, work);
    res.evaluated = evaluated;
    res.finished = true;
    return res;
  }
  make_directories(out_dir);
  const DirLock lock(out_dir, control.warning);  // rank 0 holds it for the whole job
  std::remove(unfinished_note_path(out_dir).c_str());
  const EvalRunPlan plan = open_evaluation_run(data, options, info, out_dir, limit, control.warning);
  res.resumed = plan.resumed;
  work.items = plan.pending;
  work.progress = [&](const WorkProgress& p) {
    if (!control.progress) return;
    EvalProgress e;
    e.done = plan.resumed + p.written;
    e.total = plan.total;
    e.resumed = plan.resumed;
    e.seconds = p.seconds;
    e.eta_seconds = p.written > 0 ? p.seconds / static_cast<double>(p.written) * static_cast<double>(plan.total - e.done) : 0;
    control.progress(e);
  };
  work.on_terminate = [&](const std::vector<int64_t>& unconfirmed) {
    if (failure)
      *failure = "the job was stopped (a rank died or was killed) with " + std::to_string(unconfirmed.size()) +
                 " document(s) not confirmed written: " + name_documents(unconfirmed, name) +
                 "; every written group is saved in " + out_dir +
                 ": run the same command again (with any number of ranks) to finish them";
    if (control.warning && failure) control.warning(*failure);
    // mpirun, stopping the job, may drop a rank's last output: the message
    // also goes into the folder.
    if (failure) write_unfinished_note(out_dir, *failure);
  };
  const WorkOutcome outcome = distribute(session, work);
  int64_t confirmed = static_cast<int64_t>(plan.pending.size()) - static_cast<int64_t>(outcome.unconfirmed.size());
  res.evaluated = confirmed;
  std::vector<int64_t> missing;
  const auto t_merge = std::chrono::steady_clock::now();
  res.results_json = finish_evaluation_run(data, options, info, out_dir, limit, control.warning, &missing);
  if (stats) {
    stats->seconds = outcome.seconds;
    stats->messages = outcome.messages;
    stats->merge_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_merge).count();
  }
  res.finished = !res.results_json.empty();
  if (!res.finished && failure) {
    std::string ranks;
    for (int r : outcome.dead_ranks) ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
    *failure = (ranks.empty() ? std::string("the run ended") : "rank(s) " + ranks + " stopped answering (died?)") +
               " with " + std::to_string(missing.size()) + " of the " + std::to_string(plan.total) +
               " documents not done: " + name_documents(missing, name) + "; the others are saved in " + out_dir +
               ": run the same command again (with any number of ranks) to finish them";
    write_unfinished_note(out_dir, *failure);
  }
  return res;
}

}  // namespace wordlight::mpi
