// run_evaluation(): a data set through evaluate_document(), several
// documents at a time, appended to <out>/results.jsonl, resumable; and its
// pieces, which a multi-process driver calls itself (per-process
// results.rank-K.jsonl files, merged when a run opens and finishes).
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
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


namespace {

int64_t run_total(const EvalDataset& data, int64_t limit) {
  const int64_t n = static_cast<int64_t>(data.examples.size());
  return limit < 0 ? n : std::min<int64_t>(limit, n);
}

// results.jsonl and the rank files read back: the good records, each
// document once (results.jsonl's first, in file order; then the rank files'
// in evaluation order). results.jsonl is rewritten (a temporary file renamed
// over it, so a crash here loses nothing) when a line was dropped or a rank
// file merged; the rank files are removed after that.
std::vector<DocumentRecord> merge_record_files(const EvalDataset& data, const EvalOptions& options,
                                               const std::string& out_dir,
                                               const std::function<void(const std::string&)>& warning) {
  const std::string results_path = io::join_path(out_dir, "results.jsonl");
  const int64_t n = static_cast<int64_t>(data.examples.size());
  std::vector<DocumentRecord> done;
  std::set<int64_t> seen;
  bool rewrite = false;
  auto take = [&](RecordFile f, std::vector<DocumentRecord>& into) {
    for (const std::string& e : f.errors)
      if (warning) warning(e + " (dropped; that document is evaluated again)");
    const size_t before = into.size();
    for (DocumentRecord& r : f.records)
      if (r.index >= 0 && r.index < n && seen.insert(r.index).second) into.push_back(std::move(r));
    if (!f.errors.empty() || into.size() - before != f.records.size()) rewrite = true;
  };
  if (io::file_exists(results_path)) take(read_records(results_path), done);
  const std::vector<std::string> ranks = rank_record_files(out_dir);
  if (!ranks.empty()) {
    rewrite = true;
    std::vector<DocumentRecord> merged;
    for (const std::string& path : ranks) take(read_records(path), merged);
    std::vector<int64_t> pos(static_cast<size_t>(n));
    const std::vector<int64_t> order = evaluation_order(n, options.seed);
    for (int64_t k = 0; k < n; ++k) pos[static_cast<size_t>(order[static_cast<size_t>(k)])] = k;
    std::sort(merged.begin(), merged.end(), [&](const DocumentRecord& a, const DocumentRecord& b) {
      return pos[static_cast<size_t>(a.index)] < pos[static_cast<size_t>(b.index)];
    });
    for (DocumentRecord& r : merged) done.push_back(std::move(r));
  }
  if (rewrite) {
    std::string text;
    for (const DocumentRecord& r : done) text += record_to_json(r) + "\n";
    const std::string tmp = results_path + ".tmp";
    std::remove(tmp.c_str());  // a crash's leftover
    {
      LineAppender w(tmp);  // written and fsync'd before the rename
      w.append(text);
    }
    if (std::rename(tmp.c_str(), results_path.c_str()) != 0) throw Error(results_path + ": cannot replace");
    for (const std::string& path : ranks) std::remove(path.c_str());
  }
  return done;
}

}  // namespace

std::string rank_record_file(const std::string& out_dir, int rank) {
  return io::join_path(out_dir, "results.rank-" + std::to_string(rank) + ".jsonl");
}

std::vector<std::string> rank_record_files(const std::string& out_dir) {
  std::vector<std::pair<long, std::string>> found;
  if (DIR* d = ::opendir(out_dir.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      const std::string pre = "results.rank-", post = ".jsonl";
      if (name.size() <= pre.size() + post.size() || name.compare(0, pre.size(), pre) != 0 ||
          name.compare(name.size() - post.size(), post.size(), post) != 0)
        continue;
      const std::string k = name.substr(pre.size(), name.size() - pre.size() - post.size());
      if (k.find_first_not_of("0123456789") != std::string::npos || k.size() > 9) continue;
      found.emplace_back(std::stol(k), io::join_path(out_dir, name));
    }
    ::closedir(d);
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

LineAppender::LineAppender(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error(path + ": cannot open for appending (" + std::strerror(errno) + ")");
}

LineAppender::~LineAppender() {
  if (fd_ >= 0) ::close(fd_);
}

void LineAppender::append(const std::string& text) {
  size_t off = 0;
  while (off < text.size()) {
    const ssize_t w = ::write(fd_, text.data() + off, text.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) throw Error(path_ + ": write error (" + std::strerror(errno) + ")");
    off += static_cast<size_t>(w);
  }
#ifndef __EMSCRIPTEN__  // (wasm: node's file system through Emscripten; nothing to sync)
  if (::fsync(fd_) != 0 && errno != EINVAL && errno != EROFS) throw Error(path_ + ": fsync failed (" + std::strerror(errno) + ")");
#endif
}

EvalRunPlan open_evaluation_run(const EvalDataset& data, const EvalOptions& options, const SummaryInfo& info,
                                const std::string& out_dir, int64_t limit,
                                const std::function<void(const std::string&)>& warning) {
  const std::string config_path = io::join_path(out_dir, "run.json");
  const std::string results_path = io::join_path(out_dir, "results.jsonl");
  const Json config = run_config(options, info);
  if (io::file_exists(config_path) && (io::file_exists(results_path) || !rank_record_files(out_dir).empty())) {
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
  const std::vector<DocumentRecord> done = merge_record_files(data, options, out_dir, warning);
  write_whole(config_path, config.dump(1) + "\n");
  // The documents of the run: with a limit, the first `limit` of a fixed
  // seeded permutation (data sets are often sorted by class, so the first
  // N would be one class); a larger limit later extends the same set.
  EvalRunPlan plan;
  plan.total = run_total(data, limit);
  const std::vector<int64_t> order = evaluation_order(static_cast<int64_t>(data.examples.size()), options.seed);
  std::set<int64_t> have;
  for (const DocumentRecord& r : done) have.insert(r.index);
  for (int64_t k = 0; k < plan.total; ++k) {
    const int64_t idx = order[static_cast<size_t>(k)];
    if (have.count(idx))
      ++plan.resumed;
    else
      plan.pending.push_back(idx);
  }
  return plan;
}

DocumentRecord evaluate_example(const Model& model, const Tokenizer& tokenizer, const EvalDataset& data,
                                const std::vector<int>& labels, int64_t index, const EvalOptions& options) {
  const size_t i = static_cast<size_t>(index);
  try {
    return evaluate_document(model, tokenizer, data.examples[i], labels[i], index, options);
  } catch (const Cancelled&) {
    throw;
  } catch (const Error& err) {
    // A document the methods cannot explain (no token at all, ...) is
    // recorded as such, so that a resumed run does not retry it.
    DocumentRecord r;
    r.index = index;
    r.id = data.examples[i].id;
    r.error = err.what();
    return r;
  }
}

std::string evaluate_examples_jsonl(const Model& model, const Tokenizer& tokenizer, const EvalDataset& data,
                                    const std::vector<int>& labels, const int64_t* indices, size_t n,
                                    const EvalOptions& options, const std::function<void(const std::string&)>& warning) {
  std::vector<DocumentRecord> recs(n);
  default_pool().parallel_for(n, 1, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) recs[i] = evaluate_example(model, tokenizer, data, labels, indices[i], options);
  });
  std::string text;
  for (const DocumentRecord& r : recs) {
    if (!r.error.empty() && warning)
      warning(data.source + ": example " + std::to_string(r.index + 1) + " (" + r.id + ") left out: " + r.error);
    text += record_to_json(r) + "\n";
  }
  return text;
}

std::string finish_evaluation_run(const EvalDataset& data, const EvalOptions& options, const SummaryInfo& info,
                                  const std::string& out_dir, int64_t limit,
                                  const std::function<void(const std::string&)>& warning,
                                  std::vector<int64_t>* missing) {
  // The summary from the files, so that a resumed run and an uninterrupted
  // one summarise the same numbers.
  std::vector<DocumentRecord> all = merge_record_files(data, options, out_dir, warning);
  const int64_t total = run_total(data, limit);
  const std::vector<int64_t> order = evaluation_order(static_cast<int64_t>(data.examples.size()), options.seed);
  const std::set<int64_t> chosen(order.begin(), order.begin() + total);
  std::vector<DocumentRecord> in_run;
  std::set<int64_t> used;
  for (DocumentRecord& r : all)
    if (chosen.count(r.index) && used.insert(r.index).second) in_run.push_back(std::move(r));
  if (static_cast<int64_t>(in_run.size()) != total) {
    if (missing) {
      missing->clear();
      for (int64_t k = 0; k < total; ++k)
        if (!used.count(order[static_cast<size_t>(k)])) missing->push_back(order[static_cast<size_t>(k)]);
    }
    return "";
  }
  const std::string results_json = summarize(in_run, options, info);
  write_whole(io::join_path(out_dir, "results.json"), results_json + "\n");
  return results_json;
}

EvalRunResult run_evaluation(const Model& model, const Tokenizer& tokenizer, const EvalDataset& data,
                             const EvalOptions& options, const SummaryInfo& info, const std::string& out_dir,
                             int64_t limit, const EvalRunControl& control) {
  const std::vector<int> labels = eval_label_ids(data, info.label_names);
  make_directories(out_dir);
  // One run per folder: a second one is refused naming the first's PID; a
  // lock left by a crashed run is taken over (the kernel dropped it).
  const DirLock lock(out_dir, control.warning);
  const EvalRunPlan plan = open_evaluation_run(data, options, info, out_dir, limit, control.warning);
  const std::vector<int64_t>& pending = plan.pending;
  EvalRunResult res;
  res.resumed = plan.resumed;

  // ---- evaluate, a group at a time (one document per worker)
  ThreadPool& pool = default_pool();
  const size_t group = static_cast<size_t>(std::max(1, pool.threads())) * 2;
  LineAppender out(io::join_path(out_dir, "results.jsonl"));
  const auto t0 = std::chrono::steady_clock::now();
  int64_t evaluated = 0;
  for (size_t first = 0; first < pending.size(); first += group) {
    if (control.cancel && control.cancel->load()) break;
    if (control.stop_after >= 0 && evaluated >= control.stop_after) break;
    size_t n = std::min(group, pending.size() - first);
    if (control.stop_after >= 0) n = std::min<size_t>(n, static_cast<size_t>(control.stop_after - evaluated));
    out.append(evaluate_examples_jsonl(model, tokenizer, data, labels, pending.data() + first, n, options, control.warning));
    evaluated += static_cast<int64_t>(n);
    if (control.progress) {
      EvalProgress p;
      p.done = plan.resumed + evaluated;
      p.total = plan.total;
      p.resumed = plan.resumed;
      p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      p.eta_seconds = p.seconds / static_cast<double>(evaluated) * static_cast<double>(plan.total - p.done);
      control.progress(p);
    }
  }
  res.evaluated = evaluated;
  res.finished = plan.resumed + evaluated == plan.total;
  if (!res.finished) return res;
  res.results_json = finish_evaluation_run(data, options, info, out_dir, limit, control.warning);
  res.finished = !res.results_json.empty();
  return res;
}

}  // namespace wordlight
