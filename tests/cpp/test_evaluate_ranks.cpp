// run_evaluation()'s pieces for a multi-process run (issue 22): per-process
// results.rank-K.jsonl files are merged into results.jsonl when a run opens
// and finishes (torn lines dropped and redone, each document once), and
// finish_evaluation_run() names the documents that are missing. The MPI
// driver itself is tested through the CLI (tests/mpi/test_mpi.sh).
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "golden_util.h"
#include "wordlight/evaluate.h"
#include "wordlight/model.h"
#include "wordlight/model_files.h"
#include "wordlight/tokenizer.h"
#include "wordlight/train.h"

using namespace wordlight;

namespace {

std::string temp_dir(const std::string& name) { return wltest::temp_dir("wl_ranks_", name); }
using wltest::slurp;
using wltest::spit;
bool exists(const std::string& path) { return std::ifstream(path).good(); }

EvalDataset data() {
  EvalDataset ds;
  ds.source = "tiny";
  const std::vector<std::string> texts = {"the movie was great fun", "the plot was dull and boring",
                                          "not very good but funny", "acting bad , story bad",
                                          "it is a fun movie !",     "boring , dull , hate it",
                                          "a very funny plot",       "great great great film"};
  for (size_t i = 0; i < texts.size(); ++i) ds.examples.push_back({"doc" + std::to_string(i), texts[i], std::to_string(i % 3), {}});
  return ds;
}

nlohmann::json without_time(const std::string& text) { return wltest::json_without(text, "time"); }

}  // namespace

TEST(EvaluateRanks, RankFilesAreMergedTornLinesRedoneAndMissingDocumentsNamed) {
  const std::string dir = wltest::golden_dir("ours", "cnn");
  const LoadedModel loaded = load_model_directory(dir);
  const std::unique_ptr<Model>& model = loaded.model;
  const std::unique_ptr<Tokenizer>& tok = loaded.tokenizer;
  const EvalDataset ds = data();
  EvalOptions o;
  o.methods = {"saliency", "random"};
  o.metrics = {"deletion", "eraser"};
  o.deletion_steps = {0, 1, 2};
  SummaryInfo info;
  info.model = "tests/golden/ours/cnn";
  info.data = "tiny";
  info.label_names = model->config().id2label;
  info.dataset_size = 8;

  const std::string whole = temp_dir("whole");
  const EvalRunResult a = run_evaluation(*model, *tok, ds, o, info, whole, -1);
  ASSERT_TRUE(a.finished);
  std::vector<std::string> lines;
  {
    std::stringstream ss(slurp(whole + "/results.jsonl"));
    for (std::string l; std::getline(ss, l);) lines.push_back(l);
  }
  ASSERT_EQ(lines.size(), 8u);

  // As a 3-process run killed mid-way leaves it: two lines in results.jsonl,
  // rank 1 with two good lines and a torn one, rank 7 with one line that
  // repeats a document of results.jsonl and one good line.
  const std::string parts = temp_dir("parts");
  make_directories(parts);
  spit(parts + "/run.json", slurp(whole + "/run.json"));
  spit(parts + "/results.jsonl", lines[0] + "\n" + lines[1] + "\n");
  spit(rank_record_file(parts, 1), lines[2] + "\n" + lines[3] + "\n" + lines[4].substr(0, lines[4].size() / 2));
  spit(rank_record_file(parts, 7), lines[0] + "\n" + lines[5] + "\n");
  EXPECT_EQ(rank_record_files(parts), (std::vector<std::string>{rank_record_file(parts, 1), rank_record_file(parts, 7)}));

  std::vector<std::string> warnings;
  auto warn = [&](const std::string& w) { warnings.push_back(w); };
  // finish_evaluation_run on the unfinished folder: merged, the 3 missing named.
  std::vector<int64_t> missing;
  EXPECT_EQ(finish_evaluation_run(ds, o, info, parts, -1, warn, &missing), "");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("results.rank-1.jsonl: line 3"), std::string::npos) << warnings[0];
  EXPECT_TRUE(rank_record_files(parts).empty());
  const RecordFile merged = read_records(parts + "/results.jsonl");
  EXPECT_TRUE(merged.errors.empty());
  std::set<int64_t> have;
  for (const DocumentRecord& r : merged.records) EXPECT_TRUE(have.insert(r.index).second) << "twice: " << r.index;
  EXPECT_EQ(have.size(), 5u);
  ASSERT_EQ(missing.size(), 3u);
  for (int64_t i : missing) EXPECT_EQ(have.count(i), 0u) << i;

  // More rank files appear (another partial run), then a plain run resumes
  // from everything and ends where the uninterrupted run did.
  spit(rank_record_file(parts, 0), lines[6] + "\n");
  EvalRunControl c;
  c.warning = warn;
  const EvalRunResult b = run_evaluation(*model, *tok, ds, o, info, parts, -1, c);
  ASSERT_TRUE(b.finished);
  EXPECT_EQ(b.resumed, 6);
  EXPECT_EQ(b.evaluated, 2);
  EXPECT_EQ(without_time(b.results_json), without_time(a.results_json));
  EXPECT_FALSE(exists(rank_record_file(parts, 0)));
  EXPECT_EQ(read_records(parts + "/results.jsonl").records.size(), 8u);

  // The pieces one by one, as the MPI driver calls them.
  const std::string piece = temp_dir("piece");
  make_directories(piece);
  const EvalRunPlan plan = open_evaluation_run(ds, o, info, piece, 5, {});
  EXPECT_EQ(plan.total, 5);
  EXPECT_EQ(plan.resumed, 0);
  const std::vector<int64_t> order = evaluation_order(8, o.seed);
  EXPECT_EQ(plan.pending, std::vector<int64_t>(order.begin(), order.begin() + 5));
  const std::vector<int> labels = eval_label_ids(ds, info.label_names);
  {
    LineAppender r2(rank_record_file(piece, 2)), r5(rank_record_file(piece, 5));
    for (size_t k = 0; k < plan.pending.size(); ++k)
      (k % 2 ? r2 : r5).append(record_to_json(evaluate_example(*model, *tok, ds, labels, plan.pending[k], o)) + "\n");
  }
  const std::string five = finish_evaluation_run(ds, o, info, piece, 5, {});
  ASSERT_NE(five, "");
  EXPECT_EQ(nlohmann::json::parse(five)["n"], 5);
  EXPECT_EQ(without_time(slurp(piece + "/results.json")), without_time(five));
  // results.jsonl in evaluation order, as a single process writes it.
  const RecordFile f = read_records(piece + "/results.jsonl");
  ASSERT_EQ(f.records.size(), 5u);
  for (size_t k = 0; k < 5; ++k) EXPECT_EQ(f.records[k].index, order[k]);
}
