// run_evaluation(): a data set through evaluate_document(), several
// documents at a time, appended to <out>/results.jsonl, resumable.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "../io/io_util.h"
#include "wordlight/dir_lock.h"
#include "wordlight/error.h"
#include "wordlight/evaluate.h"
#include "wordlight/thread_pool.h"
#include "wordlight/train.h"
#include "wordlight/json_limits.h"

namespace wordlight {

namespace {

using Json = nlohmann::ordered_json;

// What a resumed run must share with the run that wrote the records: all
// that changes a record. (--limit may grow; threads may change.)
Json run_config(const EvalOptions& o, const SummaryInfo& info) {
  Json j;
  j["model"] = info.model;
  j["data"] = info.data;
  j["methods"] = o.methods;
  Json mo = Json::object();
  for (const auto& kv : o.method_options) {
    Json m = Json::object();
    for (const auto& ov : kv.second) m[ov.first] = ov.second;
    mo[kv.first] = m;
  }
  j["method_options"] = mo;
  j["metrics"] = std::vector<std::string>(o.metrics.begin(), o.metrics.end());
  j["deletion"] = deletion_mode_name(o.deletion);
  j["deletion_steps"] = o.deletion_steps;
  j["eraser_percents"] = o.eraser_percents;
  j["max_length"] = o.max_length;
  j["seed"] = o.seed;
  j["model2"] = o.model2 != nullptr;
  return j;
}

void write_whole(const std::string& path, const std::string& text) {
  io::write_file(path, text.data(), text.size());
}

}  // namespace

std::vector<int64_t> evaluation_order(int64_t n, uint64_t seed) {
  std::vector<int64_t> order(static_cast<size_t>(std::max<int64_t>(0, n)));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  // Fisher-Yates with splitmix64 (the same order on every platform).
  uint64_t x = seed ^ 0x5851F42D4C957F2DULL;
  auto next = [&]() {
    x += 0x9E3779B97F4A7C15ULL;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  };
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[static_cast<size_t>(i)], order[next() % static_cast<uint64_t>(i + 1)]);
  return order;
}


EvalRunResult run_evaluation(const Model& model, const Tokenizer& tokenizer, const EvalDataset& data,
                             const EvalOptions& options, const SummaryInfo& info, const std::string& out_dir,
                             int64_t limit, const EvalRunControl& control) {
  const int64_t total =
      limit < 0 ? static_cast<int64_t>(data.examples.size()) : std::min<int64_t>(limit, static_cast<int64_t>(data.examples.size()));
  const std::vector<int> labels = eval_label_ids(data, info.label_names);
  make_directories(out_dir);
  // One run per folder: a second one is refused naming the first's PID; a
  // lock left by a crashed run is taken over (the kernel dropped it).
  const DirLock lock(out_dir, control.warning);
  const std::string config_path = io::join_path(out_dir, "run.json");
  const std::string results_path = io::join_path(out_dir, "results.jsonl");
  const Json config = run_config(options, info);

  // ---- resume
  EvalRunResult res;
  std::vector<DocumentRecord> done;
  if (io::file_exists(results_path)) {
    if (io::file_exists(config_path)) {
      Json old;
      try {
        const std::string text = io::read_file(config_path);
        check_json_depth(text, config_path);
        old = Json::parse(text);
      } catch (const Json::exception&) {
        throw Error(config_path + ": not valid JSON; remove the folder or give another --out");
      }
      if (old != config)
        throw Error(out_dir + " holds results of a different evaluation (run.json: " + old.dump() +
                    "); give another --out or remove it");
    }
    RecordFile f = read_records(results_path);
    for (const std::string& e : f.errors)
      if (control.warning) control.warning(e + " (dropped; that document is evaluated again)");
    std::set<int64_t> seen;
    for (DocumentRecord& r : f.records)
      if (r.index >= 0 && r.index < static_cast<int64_t>(data.examples.size()) && seen.insert(r.index).second)
        done.push_back(std::move(r));
    if (!f.errors.empty() || done.size() != f.records.size()) {
      // Keep the good lines only: rewrite the file from them (a temporary
      // file renamed over it, so a crash here loses nothing either).
      std::string text;
      for (const DocumentRecord& r : done) text += record_to_json(r) + "\n";
      const std::string tmp = results_path + ".tmp";
      write_whole(tmp, text);
      if (std::rename(tmp.c_str(), results_path.c_str()) != 0) throw Error(results_path + ": cannot replace");
    }
  }
  write_whole(config_path, config.dump(1) + "\n");
  // The documents of the run: with a limit, the first `limit` of a fixed
  // seeded permutation (data sets are often sorted by class, so the first
  // N would be one class); a larger limit later extends the same set.
  const std::vector<int64_t> order = evaluation_order(static_cast<int64_t>(data.examples.size()), options.seed);
  std::set<int64_t> chosen(order.begin(), order.begin() + total);
  std::set<int64_t> have;
  for (const DocumentRecord& r : done) have.insert(r.index);
  std::vector<int64_t> pending;
  for (int64_t k = 0; k < total; ++k)
    if (!have.count(order[static_cast<size_t>(k)])) pending.push_back(order[static_cast<size_t>(k)]);
  int64_t done_in_run = 0;
  for (int64_t i : have) done_in_run += chosen.count(i) ? 1 : 0;
  res.resumed = done_in_run;

  // ---- evaluate, a group at a time (one document per worker)
  ThreadPool& pool = default_pool();
  const size_t group = static_cast<size_t>(std::max(1, pool.threads())) * 2;
  std::ofstream out(results_path, std::ios::binary | std::ios::app);
  if (!out) throw Error(results_path + ": cannot open for appending");
  const auto t0 = std::chrono::steady_clock::now();
  int64_t evaluated = 0;
  for (size_t first = 0; first < pending.size(); first += group) {
    if (control.cancel && control.cancel->load()) break;
    if (control.stop_after >= 0 && evaluated >= control.stop_after) break;
    size_t n = std::min(group, pending.size() - first);
    if (control.stop_after >= 0) n = std::min<size_t>(n, static_cast<size_t>(control.stop_after - evaluated));
    std::vector<DocumentRecord> recs(n);
    pool.parallel_for(n, 1, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) {
        const int64_t idx = pending[first + i];
        try {
          recs[i] = evaluate_document(model, tokenizer, data.examples[static_cast<size_t>(idx)],
                                      labels[static_cast<size_t>(idx)], idx, options);
        } catch (const Cancelled&) {
          throw;
        } catch (const Error& err) {
          // A document the methods cannot explain (no token at all, ...)
          // is recorded as such, so that a resumed run does not retry it.
          recs[i] = DocumentRecord{};
          recs[i].index = idx;
          recs[i].id = data.examples[static_cast<size_t>(idx)].id;
          recs[i].error = err.what();
        }
      }
    });
    std::string text;
    for (size_t i = 0; i < n; ++i) {
      if (!recs[i].error.empty() && control.warning)
        control.warning(data.source + ": example " + std::to_string(recs[i].index + 1) + " (" + recs[i].id +
                        ") left out: " + recs[i].error);
      text += record_to_json(recs[i]) + "\n";
    }
    out << text;
    out.flush();
    if (!out) throw Error(results_path + ": write error");
    evaluated += static_cast<int64_t>(n);
    if (control.progress) {
      EvalProgress p;
      p.done = done_in_run + evaluated;
      p.total = total;
      p.resumed = done_in_run;
      p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      p.eta_seconds = p.seconds / static_cast<double>(evaluated) * static_cast<double>(total - p.done);
      control.progress(p);
    }
  }
  out.close();
  res.evaluated = evaluated;
  res.finished = done_in_run + evaluated == total;
  if (!res.finished) return res;

  // ---- summary from the file, so that a resumed run and an uninterrupted
  // one summarise the same numbers
  RecordFile all = read_records(results_path);
  for (const std::string& e : all.errors)
    if (control.warning) control.warning(e);
  std::vector<DocumentRecord> in_run;
  std::set<int64_t> used;
  for (DocumentRecord& r : all.records)
    if (chosen.count(r.index) && used.insert(r.index).second) in_run.push_back(std::move(r));
  res.results_json = summarize(in_run, options, info);
  write_whole(io::join_path(out_dir, "results.json"), res.results_json + "\n");
  write_whole(io::join_path(out_dir, "report.html"), evaluation_report_html(res.results_json));
  return res;
}

}  // namespace wordlight
