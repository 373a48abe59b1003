#pragma once
// Evaluating explanations: how faithful an explanation method is to the
// model (does deleting the words it calls relevant change the prediction?)
// and how plausible it is to people (does it pick the words annotators
// marked?), with the metrics of the papers behind wordlight, each defined
// exactly in its comment below.
//
// Three layers:
//   1. metrics on plain numbers (rankings, precision-recall, regression,
//      correlation, kNN, PCA): pure functions, tested on hand-made cases;
//   2. evaluate_document(): one labelled text explained by every method,
//      then the model run on its perturbed copies (words deleted in
//      relevance order), in batches; the result is a DocumentRecord, one
//      JSON line of the run's results.jsonl;
//   3. run_evaluation(): a data set, several documents at a time (one per
//      worker of the thread pool), appended to <out>/results.jsonl as they
//      finish, resumable; summarize() turns the records into results.json.
//      The HTML report of results.json is rendered outside the core
//      (native/report/evaluation_report.h; the CLI writes report.html).
//
// Each metric is one family (its per-document part and its summary) in its
// own file under core/src/evaluate/families/, listed in one table
// (core/src/evaluate/metric_family.h).
//
// Words. Every metric works on the words of Explanation::words (the units
// the user sees; sub-word tokens merged as the method's `merge` option
// says). "Deleting a word" deletes all of its tokens (DeletionMode);
// special tokens ([CLS], [SEP]) are never deleted. ERASER and Atanasova et
// al. count tokens; on the word-level CNN and BiLSTM tokens are words, on
// transformers our "k% of the tokens" is k% of the words.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "wordlight/explain.h"
#include "wordlight/model.h"
#include "wordlight/tokenizer.h"

namespace wordlight {

// ================================================================== metrics
// Word indices by score: decreasing (most relevant first) or increasing;
// ties keep text order (a stable sort), so the order is deterministic.
std::vector<int> rank_by_score(const std::vector<double>& scores, bool decreasing);

// How many of n words "the top k%" is: round(n * percent / 100), at least 1
// when n > 0 and percent > 0, at most n.
int top_percent_count(int n, double percent);

// 1 for the `k` highest-scoring words (ties in text order), else 0.
std::vector<uint8_t> top_k_mask(const std::vector<double>& scores, int k);

// Maximal runs of consecutive 1s of a 0/1 mask, as [begin, end) word indices.
std::vector<std::pair<int, int>> mask_runs(const std::vector<uint8_t>& mask);

struct PrecisionRecall {
  double precision = 0, recall = 0, f1 = 0;
};
// ERASER token-level plausibility (DeYoung et al. 2020, sec. 4.1): the
// predicted rationale (a 0/1 mask, e.g. the top-k words) against the human
// one: precision = |pred & gold| / |pred|, recall = |pred & gold| / |gold|,
// F1 their harmonic mean (0 when both are 0; precision 0 for an empty
// prediction, recall 0 for an empty gold mask).
PrecisionRecall token_prf(const std::vector<uint8_t>& predicted, const std::vector<uint8_t>& gold);

// ERASER IoU matching (DeYoung et al. 2020, sec. 4.1, after Rajpurkar et
// al.'s partial match): a predicted span matches a gold span when their
// intersection over union (in words) is >= threshold (0.5). Counts for a
// micro-averaged F1 over a data set: precision = matched_predicted /
// predicted, recall = matched_gold / gold.
struct IouCounts {
  int64_t matched_predicted = 0, predicted = 0, matched_gold = 0, gold = 0;
  IouCounts& operator+=(const IouCounts& o);
  PrecisionRecall prf() const;
};
double span_iou(std::pair<int, int> a, std::pair<int, int> b);
IouCounts iou_match(const std::vector<std::pair<int, int>>& predicted, const std::vector<std::pair<int, int>>& gold,
                    double threshold = 0.5);

// The precision-recall curve of soft scores against 0/1 labels: one point
// per distinct score threshold, from the highest (tied scores enter
// together), as scikit-learn's precision_recall_curve, with the point
// (recall 0, precision 1) prepended.
struct PrCurve {
  std::vector<double> recall, precision;
};
PrCurve precision_recall_curve(const std::vector<double>& scores, const std::vector<uint8_t>& labels);
// Average precision: sum_n (R_n - R_{n-1}) P_n over the thresholds (the
// step-wise area, scikit-learn's average_precision_score). Atanasova et
// al. 2020's "agreement with human rationales" is its mean over instances
// (MAP). NaN when there is no positive label.
double average_precision(const std::vector<double>& scores, const std::vector<uint8_t>& labels);
// ERASER's AUPRC of soft scores: the trapezoidal area under the same curve
// (scikit-learn's auc(recall, precision), which the ERASER scorer uses).
// NaN when there is no positive label.
double auprc(const std::vector<double>& scores, const std::vector<uint8_t>& labels);

// Macro-F1 over the classes in [0, classes): the mean over classes that
// occur in gold or predicted of the per-class F1 (scikit-learn's
// f1_score(average="macro") with its default labels).
double macro_f1(const std::vector<int>& predicted, const std::vector<int>& gold, int classes);

// Trapezoidal area under y(x), x increasing.
double trapezoid_area(const std::vector<double>& x, const std::vector<double>& y);

// Ordinary least squares with an intercept, y ~ X b + c (X: n rows of p
// features), solved by normal equations with a tiny ridge (1e-9 x the mean
// diagonal) so collinear features do not fail; mae = mean |y - fit|.
struct LinearFit {
  std::vector<double> coef;
  double intercept = 0, mae = 0;
};
LinearFit fit_linear(const std::vector<std::vector<double>>& X, const std::vector<double>& y);
// Mean absolute error of a K-fold cross-validated linear fit (folds by
// index modulo K): each point predicted by the fit on the other folds.
double cross_validated_mae(const std::vector<std::vector<double>>& X, const std::vector<double>& y, int folds);

// Spearman's rank correlation (Pearson's on ranks, ties given their mean
// rank); NaN when either side is constant or n < 2.
double spearman(const std::vector<double>& a, const std::vector<double>& b);

// The first two principal components: rows (n, d) centred and projected
// on the two leading eigenvectors of their covariance (power iteration
// with deflation, in double). out: (n, 2). Signs fixed so that each
// component's largest-magnitude loading is positive.
std::vector<double> pca_2d(const std::vector<std::vector<double>>& rows);

// Leave-one-out k-nearest-neighbour accuracy (Euclidean distance, majority
// vote, ties broken for the nearer neighbour's class) for each k in ks.
std::vector<double> knn_loo_accuracy(const std::vector<std::vector<double>>& rows, const std::vector<int>& labels,
                                     const std::vector<int>& ks);

// ================================================================== data
// A labelled text with optional human rationales (byte spans into text).
struct EvalExample {
  std::string id;
  std::string text;
  std::string label;  // as the data set spells it
  std::vector<Span> rationales;
};
struct EvalDataset {
  std::string source;
  std::vector<EvalExample> examples;
  bool has_rationales = false;
};
// ERASER (DeYoung et al. 2020): a split's jsonl (annotation_id,
// classification, evidences with start_token / end_token into the
// whitespace-tokenised document docs_dir/<docid>). The text is the
// document's tokens joined by single spaces (its lines by newlines), and
// each evidence becomes the byte span of its tokens. Errors name the file
// and the line.
EvalDataset read_eraser(const std::string& jsonl_path, const std::string& docs_dir);
// JSON lines {"text": str, "label": str or int, "id"?: str, "rationales"?:
// [[begin, end], ...] byte offsets into text}; blank lines skipped. A
// malformed line is an Error naming the file and the line.
EvalDataset read_eval_jsonl(const std::string& path);
// "eraser:JSONL[@DOCS_DIR]" (docs dir default: docs/ next to the jsonl),
// "jsonl:PATH" (read_eval_jsonl), or any read_data_spec() spec (no
// rationales).
EvalDataset read_eval_data(const std::string& spec);
// The model's class id of each example: a label equal to a name, an integer
// id, or (ERASER's POS / NEG against "positive" / "negative") the one name
// it is a case-insensitive prefix of. Throws naming the example otherwise.
std::vector<int> eval_label_ids(const EvalDataset& data, const std::vector<std::string>& names);

// ================================================================== one document
// How a word is deleted: its tokens' embeddings set to zero (Arras et al.
// 2016/2017 for the CNN and LSTM), removed from the sequence, or replaced
// by [MASK] / <unk>. auto: zero for the CNN and BiLSTM, remove for
// transformers.
enum class DeletionMode { zero, remove, mask, unk };
DeletionMode parse_deletion_mode(const std::string& name, const ModelConfig& config);  // "auto", "zero", ...
const char* deletion_mode_name(DeletionMode m);

// The metrics a run computes (names as the CLI takes them; the metric
// families of core/src/evaluate/families/, in results.json's order).
//   deletion      Arras et al. word deletion curves
//   eraser        comprehensiveness, sufficiency, AOPC
//   plausibility  token P/R/F1, IoU F1, AUPRC, MAP (needs rationales)
//   confidence    Atanasova et al. confidence indication (explains more classes)
//   faithfulness  Atanasova et al. masking curve of macro-F1 and its area
//   consistency   dataset consistency (and rationale consistency with a second model)
//   time          seconds per explanation
//   docvectors    relevance-weighted document vectors: PCA, kNN accuracy
//   topwords      most relevant words per class
const std::vector<std::string>& evaluation_metric_names();

struct EvalOptions {
  // Registry names, and "random": the control, uniform random scores
  // seeded per document (the CLI always adds it).
  std::vector<std::string> methods;
  std::map<std::string, MethodOptions> method_options;
  std::set<std::string> metrics;                  // from evaluation_metric_names()
  DeletionMode deletion = DeletionMode::zero;
  std::vector<int> deletion_steps = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 35, 40, 45, 50};
  std::vector<double> eraser_percents = {1, 5, 10, 20, 50};
  int max_length = -1;   // as ExplainRequest::max_length
  std::string device = "cpu";  // the explanations' device, as ExplainRequest::device (deletion passes: the CPU)
  int batch_size = 32;   // perturbed copies per forward pass (a cap: as many as fit memory_mb)
  double memory_mb = 0;  // the deletion passes' budget (0: the machine's default); --memory-mb
  uint64_t seed = 1;     // the random control's scores (per document: seed and index)
  // Rationale consistency: a second model of the same architecture (other
  // seed) explained by the same methods. Not owned; may be null.
  const Model* model2 = nullptr;
  const Tokenizer* tokenizer2 = nullptr;
  // input-marginalization's masked LM (ExplainRequest::masked_lm). Not owned; may be null.
  const Model* masked_lm = nullptr;
  const Tokenizer* masked_lm_tokenizer = nullptr;
};

// What one method gave on one document, and what the model did when the
// document's words were deleted in that method's order.
struct MethodRecord {
  std::vector<double> scores;        // per word, for the predicted class
  std::vector<double> true_scores;   // per word for the true class (misclassified documents, deletion)
  double seconds = 0;                // time of the explanation (predicted class)
  int64_t evaluations = 0;
  std::vector<int> deletion;         // predicted class after deleting deletion_steps[i] words (see below)
  std::vector<double> comprehensiveness, sufficiency;  // per eraser_percents
  std::vector<int> faithfulness;     // predicted class with the top 0, 10, ..., 100% of words deleted
  std::vector<double> confidence_features;  // per other class c: sum_w |s_w(pred) - s_w(c)|
  std::vector<double> docvec;        // sum_w score_w x_w (word embedding, mean of its tokens)
  std::vector<double> scores2;       // model2's scores (rationale consistency)
};
struct DocumentRecord {
  int64_t index = -1;  // position in the data set
  std::string id;
  // Not evaluated (a text without any token, ...): why. Such a record has
  // nothing else; summaries count it and leave it out.
  std::string error;
  int label = -1, predicted = -1;
  std::vector<float> probabilities, logits, logits2;
  std::vector<std::string> words;
  std::vector<uint8_t> rationale;  // per word: inside a human rationale (empty: none given)
  int tokens = 0;
  bool truncated = false;
  std::map<std::string, MethodRecord> methods;  // "random" included
  std::vector<double> uniform_docvec;           // sum_w x_w
};

// Explains `example` by every method and runs the perturbations (one batch
// of forward passes per method, batch_size copies at a time). `label` is
// the gold class id; `index` seeds the random control. Throws Error as
// explain() does.
DocumentRecord evaluate_document(const Model& model, const Tokenizer& tokenizer, const EvalExample& example, int label,
                                 int64_t index, const EvalOptions& options);

std::string record_to_json(const DocumentRecord& r);
// Throws Error on anything that is not a record this version wrote.
DocumentRecord record_from_json(const std::string& line);

// A results.jsonl read back: the good records in file order, and one
// message per bad line ("results.jsonl: line 7: ...").
struct RecordFile {
  std::vector<DocumentRecord> records;
  std::vector<std::string> errors;
};
RecordFile read_records(const std::string& path);

// ================================================================== summary, report
struct SummaryInfo {
  std::string model, data, deletion_mode, command;
  std::vector<std::string> label_names;
  int64_t dataset_size = 0;  // examples in the data (the run may cover fewer: --limit)
};
// results.json: every metric per method from the records (sorted by
// index), plus the ranking of the methods on every metric. Uses only the
// records, so a resumed run summarises exactly as an uninterrupted one.
std::string summarize(const std::vector<DocumentRecord>& records, const EvalOptions& options, const SummaryInfo& info);

// ================================================================== a run
struct EvalProgress {
  int64_t done = 0, total = 0;  // documents (done includes those resumed)
  int64_t resumed = 0;
  double seconds = 0;           // wall time of this process's run so far
  double eta_seconds = 0;       // estimate of the time left
};
struct EvalRunControl {
  std::function<void(const EvalProgress&)> progress;  // after each group of documents
  std::function<void(const std::string&)> warning;    // bad lines of a resumed results.jsonl
  const std::atomic<bool>* cancel = nullptr;          // checked between groups
  int64_t stop_after = -1;  // tests: stop (as if interrupted) once this many documents are done
};
struct EvalRunResult {
  int64_t evaluated = 0, resumed = 0;
  bool finished = false;           // every document of the run is in results.jsonl
  std::string results_json;        // summarize() of all records (when finished)
};
// The order in which a run takes the examples: a fixed permutation of
// [0, n) drawn from `seed` (splitmix64 Fisher-Yates, the same everywhere).
std::vector<int64_t> evaluation_order(int64_t n, uint64_t seed);
// Evaluates the first `limit` examples of evaluation_order(size, seed)
// (limit < 0: all; a data set sorted by class still gives every class, and
// a later, larger limit extends the same set) into out_dir:
//   run.json       the configuration; a resumed run must match it
//   results.jsonl  one DocumentRecord per line, appended a group at a time
//                  and flushed, so an interruption loses at most the group
//                  in flight; a torn or malformed line is reported through
//                  control.warning, dropped from the file (the good lines
//                  are kept) and its document redone
//   results.json   summarize(), when every document is done
// (report.html is the CLI's: native/report/evaluation_report.h)
EvalRunResult run_evaluation(const Model& model, const Tokenizer& tokenizer, const EvalDataset& data,
                             const EvalOptions& options, const SummaryInfo& info, const std::string& out_dir,
                             int64_t limit, const EvalRunControl& control = {});

// ------------------------------------------------------------------ its pieces
// run_evaluation() is these steps; a driver that spreads the documents over
// several processes (the CLI's MPI build, native/mpi_evaluate.cpp) calls
// them itself. Files only: nothing here knows of MPI. Such a run's
// processes append to <out>/results.rank-K.jsonl (one file per process K,
// the same line format); opening and finishing a run merge those files
// into results.jsonl, so a run resumes from them whatever the number of
// processes that wrote them (one included).

// The per-process result files in out_dir (results.rank-K.jsonl), by K.
std::vector<std::string> rank_record_files(const std::string& out_dir);
std::string rank_record_file(const std::string& out_dir, int rank);

struct EvalRunPlan {
  int64_t total = 0;              // documents of the run (limit applied)
  int64_t resumed = 0;            // of those, already done
  std::vector<int64_t> pending;   // still to do, in evaluation_order()
};
// Opens out_dir for a run (the caller holds its DirLock): refuses a run.json
// of another configuration; reads results.jsonl and every rank file, bad
// lines reported through `warning` (dropped, their documents redone);
// rewrites results.jsonl from the good records, each document once (the
// rank files' records after the file's own, in evaluation order), when
// anything was dropped or merged, and removes the rank files; writes
// run.json. Returns what is left to do.
EvalRunPlan open_evaluation_run(const EvalDataset& data, const EvalOptions& options, const SummaryInfo& info,
                                const std::string& out_dir, int64_t limit,
                                const std::function<void(const std::string&)>& warning);

// One document as a run records it: evaluate_document(), or a record with
// only `error` set when the methods cannot explain it (no token, ...), so
// that a resumed run does not retry it. Cancelled propagates.
DocumentRecord evaluate_example(const Model& model, const Tokenizer& tokenizer, const EvalDataset& data,
                                const std::vector<int>& labels, int64_t index, const EvalOptions& options);

// The examples indices[0, n) evaluated at once, one per worker of the
// default pool, as results.jsonl lines in that order; each one left out is
// reported through warning ("<source>: example K (id) left out: ..."). A
// plain run and an MPI rank write their groups with it.
std::string evaluate_examples_jsonl(const Model& model, const Tokenizer& tokenizer, const EvalDataset& data,
                                    const std::vector<int>& labels, const int64_t* indices, size_t n,
                                    const EvalOptions& options, const std::function<void(const std::string&)>& warning);

// Appends text to a file: each append() is written whole, then fsync'd, so
// a crash loses at most the append in flight (a torn last line, which a
// resumed run drops). Throws Error naming the file.
class LineAppender {
 public:
  explicit LineAppender(const std::string& path);
  ~LineAppender();
  LineAppender(const LineAppender&) = delete;
  LineAppender& operator=(const LineAppender&) = delete;
  void append(const std::string& text);

 private:
  std::string path_;
  int fd_ = -1;
};

// Ends a run: merges the rank files into results.jsonl as
// open_evaluation_run() does, then, when every document of the run is
// there, writes results.json (summarize()) and returns
// results.json's text. Otherwise returns "" and, when `missing` is given,
// fills it with the documents not done (indices, in evaluation order).
std::string finish_evaluation_run(const EvalDataset& data, const EvalOptions& options, const SummaryInfo& info,
                                  const std::string& out_dir, int64_t limit,
                                  const std::function<void(const std::string&)>& warning,
                                  std::vector<int64_t>* missing = nullptr);

}  // namespace wordlight
