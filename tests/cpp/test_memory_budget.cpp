// The memory budget (issue 14): the per-row estimate against the arena's
// measured high water, the rows chosen against the budget, and the refusal
// of a text whose one row does not fit (memory_budget.h). The CLI under
// `ulimit -v` is tests/cli/test_memory_budget.sh (ctest cli_memory_budget).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "check_util.h"
#include "wordlight/error.h"
#include "wordlight/explain.h"
#include "wordlight/graph.h"
#include "wordlight/memory_budget.h"
#include "wordlight/model.h"
#include "wordlight/model_files.h"
#include "wordlight/model_config.h"
#include "wordlight/tokenizer.h"

using namespace wordlight;

namespace {

using wltest::error_of;

std::string model_dir(const std::string& name) { return std::string(WORDLIGHT_SOURCE_DIR) + "/models/" + name; }

// Arena bytes of one pass over N rows of T tokens (a fresh graph).
size_t arena_bytes(const Model& m, int T, int N, RowPass pass) {
  Graph<float> g;
  const int D = m.embedding_dim();
  std::vector<float> x(static_cast<size_t>(N) * T * D, 0.01f);
  TokenBatch b;
  b.B = N;
  b.T = T;
  for (int i = 0; i < N * T; ++i) b.ids.push_back(5 + i % 40);
  b.mask.assign(b.ids.size(), 1);
  Var xv = g.input(Shape{N, T, D}, x.data(), pass == RowPass::backward);
  const std::vector<int32_t> idx(static_cast<size_t>(N), 0);
  Var y = g.sum(g.pick(m.forward(g, xv, b), idx.data()));
  if (pass == RowPass::backward) g.backward(y);
  return g.arena_bytes_reserved();
}

// What one more row costs: the arena's growth from 1 to N rows over N - 1,
// N large enough that the 1 MiB chunks do not blur it.
double measured_row_bytes(const Model& m, int T, RowPass pass) {
  const double est = static_cast<double>(row_bytes(m.config(), T, pass));
  const int N = std::clamp(static_cast<int>(std::ceil(32.0 * 1048576.0 / est)), 4, 512);
  return static_cast<double>(arena_bytes(m, T, N, pass) - arena_bytes(m, T, 1, pass)) / (N - 1);
}

struct Case {
  std::string name;
  std::unique_ptr<Model> model;
  SafetensorsFile weights;  // random ones (tiny configs)
};

std::vector<Case> cases() {
  std::vector<Case> out;
  for (const char* name : {"sst2-bert", "sst2-bilstm", "20news-cnn"}) {
    Case c;
    c.name = name;
    c.model = load_model_directory(model_dir(name)).model;
    out.push_back(std::move(c));
  }
  // Families and shapes no shipped model has: DistilBERT, RoBERTa, GPT-2,
  // and a wide feed-forward with many heads.
  const char* configs[] = {
      R"({"architectures":["DistilBertForSequenceClassification"],"model_type":"distilbert","dim":64,"hidden_dim":256,
          "n_heads":4,"n_layers":2,"max_position_embeddings":160,"vocab_size":60,"pad_token_id":0})",
      R"({"architectures":["RobertaForSequenceClassification"],"model_type":"roberta","hidden_size":32,
          "intermediate_size":256,"num_attention_heads":8,"num_hidden_layers":2,"max_position_embeddings":170,
          "vocab_size":60,"type_vocab_size":1,"pad_token_id":1})",
      R"({"architectures":["GPT2ForSequenceClassification"],"model_type":"gpt2","vocab_size":60,"n_positions":160,
          "n_embd":48,"n_layer":2,"n_head":4,"pad_token_id":0,"num_labels":3})",
  };
  for (const char* cfg_text : configs) {
    Case c;
    const ModelConfig cfg = parse_model_config(cfg_text, "test config");
    c.name = cfg.model_type;
    c.weights = random_checkpoint(cfg, 1);
    c.model = make_model(cfg, c.weights);
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace

// The estimate is an upper bound of what a row really takes, and not a
// wild one (within 3x), for every family, both passes and short to long
// texts: batches use the budget without passing it.
TEST(MemoryBudget, RowEstimateBoundsTheMeasuredArena) {
  for (const Case& c : cases())
    for (int T : {8, 48, 128})
      for (RowPass pass : {RowPass::forward, RowPass::backward}) {
        const double measured = measured_row_bytes(*c.model, T, pass);
        const double est = static_cast<double>(row_bytes(c.model->config(), T, pass));
        const std::string where = c.name + " T=" + std::to_string(T) +
                                  (pass == RowPass::forward ? " forward" : " backward") +
                                  ": estimate " + std::to_string(est) + " B, measured " + std::to_string(measured);
        EXPECT_GT(measured, 0) << where;
        EXPECT_GE(est, measured) << where;
        EXPECT_LE(est, 3.0 * measured) << where;
      }
}

// Rows grow with the budget (doubling it doubles them, up to rounding),
// batch-size caps them, and a longer text gets fewer.
TEST(MemoryBudget, RowsScaleWithTheBudget) {
  const ModelConfig cfg = read_model_config_file(model_dir("sst2-bert") + "/config.json");
  const double row = static_cast<double>(row_bytes(cfg, 64, RowPass::backward));
  int prev = 0;
  for (double mb : {64.0, 128.0, 256.0, 512.0, 1024.0}) {
    const int rows = rows_that_fit(cfg, 64, RowPass::backward, mb, 4096, "test");
    EXPECT_EQ(rows, static_cast<int>(std::floor(mb * 1048576.0 / (1.5 * row)))) << mb;
    if (prev > 0) {
      EXPECT_GE(rows, 2 * prev) << mb;
      EXPECT_LE(rows, 2 * prev + 1) << mb;
    }
    prev = rows;
  }
  EXPECT_GT(prev, 16);
  EXPECT_EQ(rows_that_fit(cfg, 64, RowPass::backward, 1024, 16, "test"), 16);  // batch-size: a cap
  EXPECT_LT(rows_that_fit(cfg, 128, RowPass::backward, 1024, 4096, "test"), prev);
  EXPECT_GT(rows_that_fit(cfg, 64, RowPass::forward, 1024, 4096, "test"), prev);
  // 0: the machine's default, half of what is free, at least 16 MiB.
  EXPECT_GE(default_memory_mb(), 16.0);
  EXPECT_EQ(memory_budget_bytes(0), static_cast<size_t>(default_memory_mb() * 1048576.0));
  EXPECT_EQ(memory_budget_bytes(3), size_t(3) << 20);
}

// A budget too small for one row is refused before any pass, saying what a
// row needs; every method has the option.
TEST(MemoryBudget, TooSmallForOneRowSaysSo) {
  const LoadedModel bert = load_model_directory(model_dir("sst2-bert"));
  const std::unique_ptr<Model>& model = bert.model;
  const std::unique_ptr<Tokenizer>& tok = bert.tokenizer;
  std::string text;
  for (int i = 0; i < 60; ++i) text += "a wonderfully acted and deeply moving film ";
  for (const MethodInfo& m : explanation_methods()) {
    if (!method_applies(m, *model)) continue;  // a learned part it lacks is said first (test_diffmask.cpp)
    ExplainRequest req;
    req.method = m.name;
    req.options = {{"memory-mb", "0.5"}};
    const std::string msg = error_of([&] { explain(*model, *tok, text, req); });
    EXPECT_NE(msg.find(m.name + ": one row of 128 tokens needs about"), std::string::npos) << msg;
    EXPECT_NE(msg.find("budget of 0.5 MiB (memory-mb)"), std::string::npos) << msg;
  }
}

// The largest options under a small budget finish, in more batches, with
// the scores of a large budget.
TEST(MemoryBudget, LargeBatchesUnderASmallBudgetGiveTheSameScores) {
  const LoadedModel bert = load_model_directory(model_dir("sst2-bert"));
  const std::unique_ptr<Model>& model = bert.model;
  const std::unique_ptr<Tokenizer>& tok = bert.tokenizer;
  const std::string text = "a wonderfully acted and deeply moving film";
  const double one_row_mb = 1.5 * static_cast<double>(row_bytes(model->config(), 10, RowPass::backward)) / 1048576.0;
  for (const char* method : {"integrated-gradients", "smoothgrad", "occlusion", "kernel-shap"}) {
    ExplainRequest req;
    req.method = method;
    req.options = {{"batch-size", "4096"}};
    if (std::string(method) == "integrated-gradients") req.options["adaptive"] = "false";
    if (std::string(method) == "integrated-gradients") req.options["steps"] = "64";
    const Explanation big = explain(*model, *tok, text, req);
    req.options["memory-mb"] = std::to_string(3 * one_row_mb);  // 3 rows a batch
    const Explanation small = explain(*model, *tok, text, req);
    ASSERT_EQ(big.words.size(), small.words.size());
    for (size_t w = 0; w < big.words.size(); ++w)
      EXPECT_NEAR(big.words[w].score, small.words[w].score, 1e-4 * (1 + std::fabs(big.words[w].score)))
          << method << " word " << w;
  }
}
