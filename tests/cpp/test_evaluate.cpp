// The evaluation metrics (core/src/evaluate) on hand-made cases with known
// answers, evaluate_document() on a tiny CNN where the perfect explanation
// is known, and run_evaluation()'s resume and bad-line handling.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "evaluation_report.h"
#include "golden_util.h"
#include "wordlight/error.h"
#include "wordlight/evaluate.h"
#include "wordlight/model.h"
#include "wordlight/model_files.h"
#include "wordlight/tokenizer.h"
#include "wordlight/train.h"

using namespace wordlight;

namespace {

std::string temp_dir(const std::string& name) { return wltest::temp_dir("wl_eval_", name); }
using wltest::slurp;
using wltest::spit;

}  // namespace

// ------------------------------------------------------------------ rankings
TEST(EvaluateMetrics, RankingAndTopPercent) {
  EXPECT_EQ(rank_by_score({0.1, 0.9, 0.5, 0.9}, true), (std::vector<int>{1, 3, 2, 0}));  // ties in text order
  EXPECT_EQ(rank_by_score({0.1, 0.9, 0.5, 0.9}, false), (std::vector<int>{0, 2, 1, 3}));
  EXPECT_EQ(top_percent_count(10, 1), 1);    // 0.1 words rounds to 0, at least one
  EXPECT_EQ(top_percent_count(10, 50), 5);
  EXPECT_EQ(top_percent_count(300, 5), 15);
  EXPECT_EQ(top_percent_count(3, 100), 3);
  EXPECT_EQ(top_percent_count(0, 50), 0);
  EXPECT_EQ(top_k_mask({0.3, -1, 2, 0.3}, 2), (std::vector<uint8_t>{1, 0, 1, 0}));
  EXPECT_EQ(mask_runs({1, 1, 0, 1, 0, 0, 1}), (std::vector<std::pair<int, int>>{{0, 2}, {3, 4}, {6, 7}}));
}

// ------------------------------------------------------------------ plausibility
TEST(EvaluateMetrics, TokenPrfPerfectReversedAndKnown) {
  const std::vector<uint8_t> gold = {0, 1, 1, 0, 0, 1};
  const PrecisionRecall perfect = token_prf(gold, gold);
  EXPECT_DOUBLE_EQ(perfect.precision, 1);
  EXPECT_DOUBLE_EQ(perfect.recall, 1);
  EXPECT_DOUBLE_EQ(perfect.f1, 1);
  std::vector<uint8_t> rev(gold);
  for (auto& v : rev) v = !v;
  const PrecisionRecall reversed = token_prf(rev, gold);
  EXPECT_DOUBLE_EQ(reversed.f1, 0);
  // 1 of 2 predicted is right, 1 of 2 gold is found.
  const PrecisionRecall half = token_prf({1, 1, 0, 0}, {1, 0, 1, 0});
  EXPECT_DOUBLE_EQ(half.precision, 0.5);
  EXPECT_DOUBLE_EQ(half.recall, 0.5);
  EXPECT_DOUBLE_EQ(half.f1, 0.5);
  // 2 predicted, both right; 4 gold: P 1, R 0.5, F1 2/3.
  const PrecisionRecall pr = token_prf({1, 1, 0, 0, 0}, {1, 1, 1, 1, 0});
  EXPECT_NEAR(pr.f1, 2.0 / 3.0, 1e-12);
}

TEST(EvaluateMetrics, IouMatching) {
  EXPECT_NEAR(span_iou({0, 4}, {2, 6}), 2.0 / 6.0, 1e-12);
  EXPECT_NEAR(span_iou({0, 4}, {1, 4}), 0.75, 1e-12);
  EXPECT_EQ(span_iou({0, 2}, {2, 4}), 0);
  // Gold spans [0,4) and [10,12); predicted [1,4) (IoU .75: a match), [9,15)
  // (IoU 2/6: not), [20,21) (nothing).
  const IouCounts c = iou_match({{1, 4}, {9, 15}, {20, 21}}, {{0, 4}, {10, 12}}, 0.5);
  EXPECT_EQ(c.predicted, 3);
  EXPECT_EQ(c.matched_predicted, 1);
  EXPECT_EQ(c.gold, 2);
  EXPECT_EQ(c.matched_gold, 1);
  const PrecisionRecall p = c.prf();
  EXPECT_NEAR(p.precision, 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(p.recall, 0.5, 1e-12);
  EXPECT_NEAR(p.f1, 0.4, 1e-12);
}

TEST(EvaluateMetrics, KnownPrecisionRecallCurve) {
  // Scores 0.9 0.8 0.7 0.6 with labels 1 0 1 0: after each threshold
  // (R, P) = (.5, 1), (.5, .5), (1, 2/3), (1, .5).
  const PrCurve c = precision_recall_curve({0.9, 0.8, 0.7, 0.6}, {1, 0, 1, 0});
  ASSERT_EQ(c.recall.size(), 5u);
  const std::vector<double> R = {0, 0.5, 0.5, 1, 1}, P = {1, 1, 0.5, 2.0 / 3.0, 0.5};
  for (size_t i = 0; i < R.size(); ++i) {
    EXPECT_NEAR(c.recall[i], R[i], 1e-12) << i;
    EXPECT_NEAR(c.precision[i], P[i], 1e-12) << i;
  }
  // scikit-learn: average_precision_score([1,0,1,0], [.9,.8,.7,.6]) = 0.8333;
  // auc(recall, precision) = 0.5 + 0.5 * (0.5 + 2/3) / 2 = 0.7917.
  EXPECT_NEAR(average_precision({0.9, 0.8, 0.7, 0.6}, {1, 0, 1, 0}), 5.0 / 6.0, 1e-12);
  EXPECT_NEAR(auprc({0.9, 0.8, 0.7, 0.6}, {1, 0, 1, 0}), 0.5 + 0.5 * (0.5 + 2.0 / 3.0) / 2, 1e-12);
  // A perfect ranking gives 1, a reversed one the least.
  EXPECT_NEAR(average_precision({4, 3, 2, 1}, {1, 1, 0, 0}), 1.0, 1e-12);
  EXPECT_NEAR(auprc({4, 3, 2, 1}, {1, 1, 0, 0}), 1.0, 1e-12);
  // Reversed: positives at ranks 3 and 4: AP = .5 * 1/3 + .5 * 2/4.
  EXPECT_NEAR(average_precision({1, 2, 3, 4}, {1, 1, 0, 0}), 0.5 / 3 + 0.5 * 0.5, 1e-12);
  // Ties enter together: one threshold, P = 1/2.
  EXPECT_NEAR(average_precision({0.5, 0.5}, {1, 0}), 0.5, 1e-12);
  EXPECT_TRUE(std::isnan(average_precision({1, 2}, {0, 0})));
}

TEST(EvaluateMetrics, MacroF1AndArea) {
  // Class 0: tp 1, fp 1, fn 0 -> 2/3; class 1: tp 2, fp 0, fn 1 -> 4/5;
  // class 2 occurs nowhere and is left out.
  EXPECT_NEAR(macro_f1({0, 0, 1, 1}, {0, 1, 1, 1}, 3), (2.0 / 3.0 + 0.8) / 2, 1e-12);
  EXPECT_DOUBLE_EQ(macro_f1({2, 1, 0}, {2, 1, 0}, 3), 1.0);
  EXPECT_DOUBLE_EQ(trapezoid_area({0, 0.5, 1}, {1, 1, 0}), 0.75);
}

// ------------------------------------------------------------------ regression, correlation
TEST(EvaluateMetrics, LinearRegressionWithKnownError) {
  // y = 2 x1 - 3 x2 + 1 exactly.
  std::vector<std::vector<double>> X = {{0, 0}, {1, 0}, {0, 1}, {2, 3}, {5, -1}};
  std::vector<double> y;
  for (const auto& x : X) y.push_back(2 * x[0] - 3 * x[1] + 1);
  const LinearFit exact = fit_linear(X, y);
  EXPECT_NEAR(exact.coef[0], 2, 1e-6);
  EXPECT_NEAR(exact.coef[1], -3, 1e-6);
  EXPECT_NEAR(exact.intercept, 1, 1e-6);
  EXPECT_NEAR(exact.mae, 0, 1e-6);
  // x 0..3, y 0 2 2 4: slope 6/5, intercept 0.2, residuals .2 .6 .6 .2: MAE 0.4.
  const LinearFit f = fit_linear({{0}, {1}, {2}, {3}}, {0, 2, 2, 4});
  // (to 1e-7: the tiny ridge of fit_linear biases the solution by ~1e-9)
  EXPECT_NEAR(f.coef[0], 1.2, 1e-7);
  EXPECT_NEAR(f.intercept, 0.2, 1e-7);
  EXPECT_NEAR(f.mae, 0.4, 1e-7);
  // Collinear features do not fail (the ridge), and still fit.
  const LinearFit col = fit_linear({{1, 1}, {2, 2}, {3, 3}}, {2, 4, 6});
  EXPECT_NEAR(col.mae, 0, 1e-6);
  // No feature: the regression predicts the mean; MAE = mean |y - 2| = 1.
  EXPECT_NEAR(fit_linear({{}, {}, {}, {}}, {0, 2, 2, 4}).mae, 1.0, 1e-9);
  // Cross-validated on an exact line stays exact; on noise it is worse than in-sample.
  EXPECT_NEAR(cross_validated_mae(X, y, 5), 0, 1e-5);
  EXPECT_GT(cross_validated_mae({{0}, {1}, {2}, {3}, {4}, {5}}, {0, 3, 1, 4, 2, 5}, 3),
            fit_linear({{0}, {1}, {2}, {3}, {4}, {5}}, {0, 3, 1, 4, 2, 5}).mae);
}

TEST(EvaluateMetrics, Spearman) {
  EXPECT_NEAR(spearman({1, 2, 3, 4}, {10, 20, 30, 45}), 1, 1e-12);
  EXPECT_NEAR(spearman({1, 2, 3, 4}, {4, 3, 2, 1}), -1, 1e-12);
  // Ties get their mean rank: b's ranks 1 2 3.5 5 3.5 -> 8 / sqrt(10 * 9.5).
  EXPECT_NEAR(spearman({1, 2, 3, 4, 5}, {5, 6, 7, 8, 7}), 8 / std::sqrt(95.0), 1e-12);
  EXPECT_TRUE(std::isnan(spearman({1, 1, 1}, {1, 2, 3})));
}

// ------------------------------------------------------------------ PCA, kNN
TEST(EvaluateMetrics, PcaOfPointsOnALine) {
  // Points t (1, 2, 0) + a small orthogonal wiggle: PC1 = t sqrt(5) centred.
  std::vector<std::vector<double>> rows;
  for (int t = 0; t < 6; ++t) rows.push_back({double(t), 2.0 * t, (t % 2 ? 0.01 : -0.01)});
  const std::vector<double> xy = pca_2d(rows);
  ASSERT_EQ(xy.size(), 12u);
  for (int t = 0; t < 6; ++t) EXPECT_NEAR(xy[2 * t], (t - 2.5) * std::sqrt(5.0), 0.02) << t;
  double spread2 = 0;
  for (int t = 0; t < 6; ++t) spread2 = std::max(spread2, std::fabs(xy[2 * t + 1]));
  EXPECT_LT(spread2, 0.03);
  EXPECT_GT(spread2, 0.001);  // the wiggle is the second component
}

TEST(EvaluateMetrics, KnnLeaveOneOut) {
  // Two separated clusters: every neighbour has the right class.
  std::vector<std::vector<double>> rows = {{0, 0}, {0.1, 0}, {0, 0.1}, {5, 5}, {5.1, 5}, {5, 5.1}};
  std::vector<int> labels = {0, 0, 0, 1, 1, 1};
  EXPECT_EQ(knn_loo_accuracy(rows, labels, {1, 2}), (std::vector<double>{1, 1}));
  // Alternating labels on a line: the nearest neighbour always has the other class.
  const std::vector<double> alt = knn_loo_accuracy({{0}, {1}, {2}, {3}}, {0, 1, 0, 1}, {1});
  EXPECT_EQ(alt[0], 0);
}

// ------------------------------------------------------------------ data
TEST(EvaluateData, JsonlWithRationalesAndAMalformedLine) {
  const std::string d = temp_dir("data");
  make_directories(d);
  const std::string path = d + "/data.jsonl";
  spit(path,
       "{\"text\": \"a great film\", \"label\": \"positive\", \"rationales\": [[2, 7]]}\n"
       "\n"
       "{\"text\": \"dull\", \"label\": 0}\n");
  const EvalDataset ds = read_eval_jsonl(path);
  ASSERT_EQ(ds.examples.size(), 2u);
  EXPECT_TRUE(ds.has_rationales);
  EXPECT_EQ(ds.examples[0].rationales[0].begin, 2u);
  EXPECT_EQ(ds.examples[0].rationales[0].end, 7u);
  EXPECT_EQ(eval_label_ids(ds, {"negative", "positive"}), (std::vector<int>{1, 0}));
  // ERASER's POS / NEG match "positive" / "negative" by prefix.
  EvalDataset er;
  er.examples.resize(2);
  er.examples[0].label = "POS";
  er.examples[1].label = "NEG";
  EXPECT_EQ(eval_label_ids(er, {"negative", "positive"}), (std::vector<int>{1, 0}));
  spit(path, "{\"text\": \"ok\", \"label\": 1}\n{\"text\": \"oops\", \"label\": \n{\"text\": \"ok\", \"label\": 1}\n");
  try {
    read_eval_jsonl(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  }
  spit(path, "{\"text\": \"short\", \"label\": 1, \"rationales\": [[0, 99]]}\n");
  EXPECT_THROW(read_eval_jsonl(path), Error);
}

TEST(EvaluateData, EraserDocumentsAndEvidenceSpans) {
  const std::string d = temp_dir("eraser");
  make_directories(d + "/docs");
  spit(d + "/docs/negR_1.txt", "it was dull .\nthe plot , too boring .\n");
  spit(d + "/val.jsonl",
       "{\"annotation_id\": \"negR_1.txt\", \"classification\": \"NEG\", \"evidences\": [[{\"docid\": \"negR_1.txt\", "
       "\"start_token\": 2, \"end_token\": 3}], [{\"docid\": \"negR_1.txt\", \"start_token\": 7, \"end_token\": 9}]]}\n");
  const EvalDataset ds = read_eval_data("eraser:" + d + "/val.jsonl");
  ASSERT_EQ(ds.examples.size(), 1u);
  const EvalExample& ex = ds.examples[0];
  EXPECT_EQ(ex.text, "it was dull .\nthe plot , too boring .");
  ASSERT_EQ(ex.rationales.size(), 2u);
  EXPECT_EQ(ex.text.substr(ex.rationales[0].begin, ex.rationales[0].end - ex.rationales[0].begin), "dull");
  EXPECT_EQ(ex.text.substr(ex.rationales[1].begin, ex.rationales[1].end - ex.rationales[1].begin), "too boring");
}

// ------------------------------------------------------------------ on a model
namespace {

struct TinyCnn {
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tok;
  TinyCnn() {
    const std::string dir = wltest::golden_dir("ours", "cnn");
    LoadedModel m = load_model_directory(dir);
    model = std::move(m.model);
    tok = std::move(m.tokenizer);
  }
};

EvalDataset tiny_data() {
  const std::vector<std::string> texts = {
      "the movie was great fun",        "the plot was dull and boring",  "not very good but funny",
      "i love this film , a good story", "acting bad , story bad",         "it is a fun movie !",
      "boring , dull , hate it",         "the film 's acting was great",   "not bad and not dull",
      "a very funny plot",               "hate the acting , love the story", "great great great film"};
  EvalDataset ds;
  ds.source = "tiny";
  for (size_t i = 0; i < texts.size(); ++i) {
    EvalExample ex;
    ex.id = "doc" + std::to_string(i);
    ex.text = texts[i];
    ex.label = std::to_string(i % 3);
    // A "rationale": the first word.
    ex.rationales.push_back(Span{0, ex.text.find(' ')});
    ds.examples.push_back(ex);
  }
  ds.has_rationales = true;
  return ds;
}

EvalOptions tiny_options() {
  EvalOptions o;
  o.methods = {"saliency", "occlusion", "random"};
  o.method_options["occlusion"] = {{"mode", "zero"}, {"output", "probability"}};
  o.metrics = {"deletion", "eraser", "plausibility", "confidence", "faithfulness", "consistency", "docvectors", "topwords"};
  o.deletion = DeletionMode::zero;
  o.deletion_steps = {0, 1, 2, 3};
  o.batch_size = 3;  // several batches per document
  return o;
}

SummaryInfo tiny_info(const Model& m) {
  SummaryInfo info;
  info.model = "tests/golden/ours/cnn";
  info.data = "tiny";
  info.deletion_mode = "zero";
  info.label_names = m.config().id2label;
  info.dataset_size = 12;
  return info;
}

// results.json without what may differ between runs (nothing, as "time" is
// not among the metrics; kept for safety).
nlohmann::json comparable(const std::string& text) { return wltest::json_without(text, "time"); }

}  // namespace

TEST(EvaluateDocument, OcclusionIsThePerfectSingleWordExplanation) {
  // Occlusion with deletion = zero embedding and output = probability scores
  // each word by exactly the drop that deleting it alone causes; the top-1
  // comprehensiveness (1% of a short text = 1 word) must equal its top score
  // and be at least that of every other method (the best one word to delete).
  TinyCnn t;
  const EvalOptions o = tiny_options();
  const EvalDataset ds = tiny_data();
  for (size_t i = 0; i < ds.examples.size(); ++i) {
    const DocumentRecord r = evaluate_document(*t.model, *t.tok, ds.examples[i], static_cast<int>(i % 3), static_cast<int64_t>(i), o);
    const MethodRecord& occ = r.methods.at("occlusion");
    double top = -1e300;
    for (double s : occ.scores) top = std::max(top, s);
    ASSERT_EQ(occ.comprehensiveness.size(), 5u);
    EXPECT_NEAR(occ.comprehensiveness[0], top, 2e-5) << ds.examples[i].text;
    for (const char* other : {"saliency", "random"})
      EXPECT_GE(occ.comprehensiveness[0] + 2e-5, r.methods.at(other).comprehensiveness[0]) << other;
    // Deleting nothing keeps the prediction; all 100% of words deleted is one copy for every method.
    EXPECT_EQ(occ.faithfulness[0], r.predicted);
    EXPECT_EQ(occ.faithfulness[10], r.methods.at("saliency").faithfulness[10]);
    EXPECT_EQ(occ.deletion[0], r.predicted);
    // The rationale marks the first word.
    ASSERT_EQ(r.rationale.size(), r.words.size());
    EXPECT_EQ(r.rationale[0], 1);
    EXPECT_EQ(r.rationale[1], 0);
    // Random scores are in [0, 1) and reproducible.
    const DocumentRecord again = evaluate_document(*t.model, *t.tok, ds.examples[i], static_cast<int>(i % 3), static_cast<int64_t>(i), o);
    EXPECT_EQ(again.methods.at("random").scores, r.methods.at("random").scores);
    EXPECT_EQ(record_to_json(again).size() > 0, true);
    // A record survives the JSON round trip.
    const DocumentRecord back = record_from_json(record_to_json(r));
    EXPECT_EQ(record_to_json(back), record_to_json(r));
  }
}

TEST(EvaluateSummary, DeletionCurvesFromHandMadeRecords) {
  // Two correct documents and one misclassified, two methods: "good" flips
  // the prediction after 1 deletion, "bad" never does.
  EvalOptions o;
  o.methods = {"good", "bad"};
  o.metrics = {"deletion"};
  o.deletion_steps = {0, 1, 2};
  SummaryInfo info;
  info.label_names = {"a", "b"};
  std::vector<DocumentRecord> recs;
  for (int i = 0; i < 3; ++i) {
    DocumentRecord r;
    r.index = 2 - i;  // out of order: the summary sorts
    r.id = std::to_string(i);
    r.label = 0;
    r.predicted = i < 2 ? 0 : 1;
    r.words = {"x", "y"};
    r.probabilities = {0.5f, 0.5f};
    r.logits = {0, 0};
    MethodRecord good, bad;
    good.scores = bad.scores = {1, 0};
    good.deletion = i < 2 ? std::vector<int>{0, 1, 1} : std::vector<int>{1, 0, 0};
    bad.deletion = i < 2 ? std::vector<int>{0, 0, 0} : std::vector<int>{1, 1, 1};
    r.methods["good"] = good;
    r.methods["bad"] = bad;
    recs.push_back(r);
  }
  const nlohmann::json j = nlohmann::json::parse(summarize(recs, o, info));
  EXPECT_EQ(j["deletion"]["correct"]["n"], 2);
  EXPECT_EQ(j["deletion"]["correct"]["accuracy"]["good"], (std::vector<double>{1, 0, 0}));
  EXPECT_EQ(j["deletion"]["correct"]["accuracy"]["bad"], (std::vector<double>{1, 1, 1}));
  EXPECT_EQ(j["deletion"]["misclassified"]["accuracy"]["good"], (std::vector<double>{0, 1, 1}));
  EXPECT_EQ(j["deletion"]["misclassified"]["accuracy"]["bad"], (std::vector<double>{0, 0, 0}));
  EXPECT_NEAR(j["accuracy"].get<double>(), 2.0 / 3.0, 1e-5);
  // The ranking puts "good" first on both deletion metrics.
  for (const auto& r : j["ranking"]) EXPECT_EQ(r["rank"]["good"], 1.0) << r["metric"];
}

TEST(EvaluateRun, ResumeGivesTheSameResultsAndBadLinesAreDroppedNotTheRest) {
  TinyCnn t;
  const EvalDataset ds = tiny_data();
  const EvalOptions o = tiny_options();
  const SummaryInfo info = tiny_info(*t.model);

  const std::string whole = temp_dir("whole");
  const EvalRunResult a = run_evaluation(*t.model, *t.tok, ds, o, info, whole, -1);
  ASSERT_TRUE(a.finished);
  EXPECT_EQ(a.evaluated, 12);
  EXPECT_EQ(comparable(slurp(whole + "/results.json")), comparable(a.results_json));
  write_evaluation_report(whole, a.results_json);  // the CLI's step after a run
  EXPECT_NE(slurp(whole + "/report.html").find("<svg"), std::string::npos);

  // Interrupted after 5 documents, with a torn last line as a kill mid-write leaves.
  const std::string parts = temp_dir("parts");
  EvalRunControl stop;
  stop.stop_after = 5;
  const EvalRunResult b1 = run_evaluation(*t.model, *t.tok, ds, o, info, parts, -1, stop);
  EXPECT_FALSE(b1.finished);
  EXPECT_EQ(b1.evaluated, 5);
  const std::string jsonl = slurp(parts + "/results.jsonl");
  // Line 3 corrupted, and half a line at the end.
  std::vector<std::string> lines;
  std::stringstream ss(jsonl);
  for (std::string l; std::getline(ss, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 5u);
  lines[2] = lines[2].substr(0, lines[2].size() / 2);
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  text += "{\"index\": 7, \"id\": \"doc7\", \"lab";
  spit(parts + "/results.jsonl", text);

  const RecordFile rf = read_records(parts + "/results.jsonl");
  EXPECT_EQ(rf.records.size(), 4u);  // the good lines are kept
  ASSERT_EQ(rf.errors.size(), 2u);
  EXPECT_NE(rf.errors[0].find("line 3"), std::string::npos) << rf.errors[0];
  EXPECT_NE(rf.errors[1].find("line 6"), std::string::npos) << rf.errors[1];

  std::vector<std::string> warnings;
  EvalRunControl resume;
  resume.warning = [&](const std::string& w) { warnings.push_back(w); };
  const EvalRunResult b2 = run_evaluation(*t.model, *t.tok, ds, o, info, parts, -1, resume);
  ASSERT_TRUE(b2.finished);
  EXPECT_EQ(b2.resumed, 4);
  EXPECT_EQ(b2.evaluated, 8);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("line 3"), std::string::npos) << warnings[0];
  EXPECT_EQ(comparable(b2.results_json), comparable(a.results_json));
  EXPECT_EQ(read_records(parts + "/results.jsonl").errors.size(), 0u);

  // --limit takes a seeded permutation's first documents; a larger limit
  // later extends the same set and ends where the whole run did.
  const std::vector<int64_t> order = evaluation_order(12, o.seed);
  EXPECT_EQ(order, evaluation_order(12, o.seed));
  EXPECT_NE(order, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}));
  const std::string grown = temp_dir("grown");
  const EvalRunResult c1 = run_evaluation(*t.model, *t.tok, ds, o, info, grown, 6);
  ASSERT_TRUE(c1.finished);
  const RecordFile six = read_records(grown + "/results.jsonl");
  ASSERT_EQ(six.records.size(), 6u);
  for (size_t k = 0; k < 6; ++k) EXPECT_EQ(six.records[k].index, order[k]);
  EXPECT_EQ(nlohmann::json::parse(c1.results_json)["n"], 6);
  const EvalRunResult c2 = run_evaluation(*t.model, *t.tok, ds, o, info, grown, -1);
  EXPECT_EQ(c2.resumed, 6);
  EXPECT_EQ(comparable(c2.results_json), comparable(a.results_json));

  // A different configuration in the same folder is refused.
  EvalOptions other = o;
  other.deletion_steps = {0, 5};
  EXPECT_THROW(run_evaluation(*t.model, *t.tok, ds, other, info, parts, -1), Error);
}

TEST(EvaluateSummary, PlausibilityAndFaithfulnessOfPerfectReversedAndConstantExplanations) {
  // Two documents of four words; rationales {0, 1} and {2}. "perfect" ranks
  // the rationale first, "reversed" is its negation. k = round(3 / 2) = 2.
  EvalOptions o;
  o.methods = {"perfect", "reversed"};
  o.metrics = {"plausibility", "faithfulness"};
  SummaryInfo info;
  info.label_names = {"a", "b"};
  const std::vector<std::vector<double>> perfect = {{0.9, 0.8, 0.1, 0.2}, {0.1, 0.2, 0.9, 0.3}};
  const std::vector<std::vector<uint8_t>> rationale = {{1, 1, 0, 0}, {0, 0, 1, 0}};
  std::vector<DocumentRecord> recs;
  for (int i = 0; i < 2; ++i) {
    DocumentRecord r;
    r.index = i;
    r.id = std::to_string(i);
    r.label = r.predicted = i;
    r.words = {"w", "x", "y", "z"};
    r.rationale = rationale[static_cast<size_t>(i)];
    r.probabilities = {0.5f, 0.5f};
    r.logits = {0, 0};
    MethodRecord p, q;
    p.scores = perfect[static_cast<size_t>(i)];
    for (double s : p.scores) q.scores.push_back(-s);
    // Masking: "perfect" flips both predictions from the first 10% on,
    // "reversed" never does.
    p.faithfulness.assign(11, 1 - i);
    p.faithfulness[0] = i;
    q.faithfulness.assign(11, i);
    r.methods["perfect"] = p;
    r.methods["reversed"] = q;
    recs.push_back(r);
  }
  const nlohmann::json j = nlohmann::json::parse(summarize(recs, o, info));
  const auto& pl = j["plausibility"];
  EXPECT_EQ(pl["k"], 2);
  // perfect: F1 1 on the first document; top-2 {2, 3} against {2}: P .5, R 1, F1 2/3.
  EXPECT_NEAR(pl["token_f1"]["perfect"].get<double>(), (1 + 2.0 / 3.0) / 2, 1e-5);
  EXPECT_NEAR(pl["token_f1"]["reversed"].get<double>(), 0, 1e-12);
  // IoU: [0,2) = [0,2); [2,4) vs [2,3): IoU 0.5, a match.
  EXPECT_NEAR(pl["iou_f1"]["perfect"].get<double>(), 1, 1e-12);
  EXPECT_NEAR(pl["iou_f1"]["reversed"].get<double>(), 0, 1e-12);
  EXPECT_NEAR(pl["map"]["perfect"].get<double>(), 1, 1e-12);
  EXPECT_NEAR(pl["auprc"]["perfect"].get<double>(), 1, 1e-12);
  // reversed: positives at ranks 3, 4 (AP 1/6 + 1/4) and at rank 4 (AP 1/4).
  EXPECT_NEAR(pl["map"]["reversed"].get<double>(), ((0.5 / 3 + 0.25) + 0.25) / 2, 1e-5);
  // Faithfulness: macro-F1 1 at 0%, then 0 for "perfect" (area 0.05); 1 throughout for "reversed".
  EXPECT_NEAR(j["faithfulness"]["auc"]["perfect"].get<double>(), 0.05, 1e-9);
  EXPECT_NEAR(j["faithfulness"]["auc"]["reversed"].get<double>(), 1.0, 1e-9);
  EXPECT_EQ(j["faithfulness"]["macro_f1"]["perfect"][1], 0.0);
}

// ------------------------------------------------------------ the report, read back
namespace {
// The number a report cell shows ("0.123", "0.123 <span..>(1)</span>",
// "<b>0.5</b>", "&ndash;"), its decimals, or nothing.
struct Shown {
  bool number = false;
  double value = 0;
  int decimals = 0;
};
Shown read_cell(std::string text) {
  std::string plain;
  bool tag = false;
  for (char c : text) {
    if (c == '<') tag = true;
    if (!tag) plain += c;
    if (c == '>') tag = false;
  }
  Shown s;
  const size_t b = plain.find_first_not_of(' ');
  if (b == std::string::npos) return s;
  const size_t e = plain.find_first_of(" ", b);
  const std::string tok = plain.substr(b, e == std::string::npos ? std::string::npos : e - b);
  char* end = nullptr;
  s.value = std::strtod(tok.c_str(), &end);
  s.number = end && *end == '\0' && !tok.empty();
  const size_t dot = tok.find('.');
  s.decimals = dot == std::string::npos ? 0 : static_cast<int>(tok.size() - dot - 1);
  return s;
}
// Every number leaf of j under `at`, as JSON pointers, but for the keys in skip.
void number_leaves(const nlohmann::json& j, const std::string& at, const std::set<std::string>& skip,
                   std::vector<std::string>& out) {
  if (j.is_number() || j.is_null()) {
    out.push_back(at);
  } else if (j.is_object()) {
    for (const auto& kv : j.items())
      if (!skip.count(kv.key())) number_leaves(kv.value(), at + "/" + kv.key(), skip, out);
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) number_leaves(j[i], at + "/" + std::to_string(i), skip, out);
  }
}
}  // namespace

TEST(EvaluateReport, EverySectionIsThereAndEveryNumberIsResultsJsons) {
  TinyCnn t, t2;
  EvalOptions o = tiny_options();
  o.metrics.clear();
  for (const std::string& m : evaluation_metric_names()) o.metrics.insert(m);  // every family, time included
  o.model2 = t2.model.get();  // rationale consistency too
  o.tokenizer2 = t2.tok.get();
  const EvalDataset ds = tiny_data();
  const SummaryInfo info = tiny_info(*t.model);
  std::vector<DocumentRecord> recs;
  for (size_t i = 0; i < ds.examples.size(); ++i)
    recs.push_back(evaluate_document(*t.model, *t.tok, ds.examples[i], static_cast<int>(i % 3), static_cast<int64_t>(i), o));
  const std::string results = summarize(recs, o, info);
  const nlohmann::json j = nlohmann::json::parse(results);
  const std::string h = evaluation_report_html(results);

  // Every metric family has a section in the report, and each family the
  // run computed is on the page.
  const std::vector<std::string> sections = evaluation_report_sections();
  const std::set<std::string> section_set(sections.begin(), sections.end());
  for (const std::string& m : evaluation_metric_names()) {
    EXPECT_TRUE(section_set.count(m)) << m << " has no report section";
    ASSERT_TRUE(j.contains(m)) << m;
    EXPECT_NE(h.find("<h2 id='" + m + "'>"), std::string::npos) << m;
  }
  EXPECT_NE(h.find("<h2 id='ranking'>"), std::string::npos);
  EXPECT_FALSE(j["consistency"]["rationale"].is_null());

  // Every tagged cell shows the number at its JSON pointer, to its decimals.
  std::set<std::string> shown;
  size_t numbers = 0;
  for (size_t at = h.find("data-json='"); at != std::string::npos; at = h.find("data-json='", at + 1)) {
    const size_t b = at + 11, e = h.find('\'', b);
    const std::string path = h.substr(b, e - b);
    const size_t close = h.find("</t", e);  // </td>
    const size_t span_close = h.find("</span>", e);
    const size_t end = h.compare(h.rfind('<', at), 5, "<span") == 0 ? span_close : close;
    const Shown s = read_cell(h.substr(e + 2, end - e - 2));
    const nlohmann::json::json_pointer ptr(path);
    ASSERT_TRUE(j.contains(ptr)) << path;
    const nlohmann::json& v = j.at(ptr);
    if (v.is_number()) {
      ASSERT_TRUE(s.number) << path << ": " << h.substr(e + 2, end - e - 2);
      EXPECT_NEAR(s.value, v.get<double>(), 0.5 * std::pow(10.0, -s.decimals) + 1e-12) << path;
      ++numbers;
    } else {
      EXPECT_FALSE(s.number) << path << " is null but the page shows a number";
    }
    shown.insert(path);
  }
  EXPECT_GT(numbers, 100u);

  // ... and every number of the tables' sections is on the page (the curves
  // are drawn, not tabulated: the deletion table shows some steps; plot
  // points, sizes and axes are not numbers to read off).
  std::vector<std::string> expected;
  const std::set<std::string> skip = {"pca", "percents", "steps", "ks", "n", "k", "pairs", "macro_f1"};
  for (const char* family : {"eraser", "plausibility", "confidence", "faithfulness", "consistency", "time", "docvectors"})
    number_leaves(j[family], std::string("/") + family, skip, expected);
  for (size_t r = 0; r < j["ranking"].size(); ++r)
    number_leaves(j["ranking"][r]["values"], "/ranking/" + std::to_string(r) + "/values", skip, expected);
  number_leaves(j["mean_rank"], "/mean_rank", skip, expected);
  EXPECT_GT(expected.size(), 80u);
  for (const std::string& p : expected) EXPECT_TRUE(shown.count(p)) << p << " is not on the page";
  size_t deletion_cells = 0;
  for (const std::string& p : shown) deletion_cells += p.rfind("/deletion/", 0) == 0;
  EXPECT_GE(deletion_cells, o.methods.size() * 4);  // k = 0, 1, 2, 3 for the correct documents at least
}
