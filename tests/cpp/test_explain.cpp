// Explanations (core/src/explain): the registry and its errors, the word
// merge, the quadrature rules and Integrated Gradients on analytic
// functions (exact on linear ones, the completeness gap falling with the
// steps, Gauss-Legendre beating the trapezoid rule), and every method on
// tiny random BERT, CNN and BiLSTM models made in the test: gradients
// against finite differences, occlusion against logit changes computed by
// hand, IG's completeness, progress and cancelling.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "check_util.h"
#include "wordlight/explain.h"
#include "wordlight/model.h"
#include "tiny_models.h"
#include "wordlight/tokenizer.h"

using namespace wordlight;

namespace {

// ------------------------------------------------------------ tiny models
using wltest::kTinyBert, wltest::kTinyBiLstm, wltest::kTinyCnn;  // the shared tiny configs

using wltest::Tiny;
Tiny tiny(const char* config, uint64_t seed) { return wltest::tiny_model(config, seed); }

// The target output for word embeddings `emb` (T, D) of token ids `ids`,
// computed here independently of the explain code.
double output_at(const Model& m, const std::vector<int32_t>& ids, const std::vector<float>& emb, int target,
                 bool probability = false) {
  const TokenBatch b = wltest::one_row(ids);
  Graph<float> g;
  Var x = g.input(Shape{1, b.T, m.embedding_dim()}, emb.data(), false);
  const float* l = g.value(m.forward(g, x, b));
  if (!probability) return l[target];
  double z = 0;
  for (int c = 0; c < m.output_dim(); ++c) z += std::exp(static_cast<double>(l[c]));
  return std::exp(static_cast<double>(l[target])) / z;
}

using wltest::embed_ids;

Explanation run(const Tiny& t, const std::string& text, const std::string& method, const std::string& options = "",
                int target = -1) {
  return wltest::explain_text(*t.model, *t.tok, text, method, options, target);
}

std::vector<int32_t> ids_of(const Explanation& e) {
  std::vector<int32_t> ids;
  for (const TokenScore& t : e.tokens) ids.push_back(t.id);
  return ids;
}

using wltest::error_of;

// ------------------------------------------------------------ registry
TEST(ExplainRegistry, ListsMethodsWithOptionsAndDescriptions) {
  std::vector<std::string> names;
  for (const MethodInfo& m : explanation_methods()) {
    names.push_back(m.name);
    EXPECT_FALSE(m.description.empty()) << m.name;
    bool has_output = false, has_merge = false;
    for (const OptionSpec& o : m.options) {
      EXPECT_FALSE(o.description.empty()) << m.name << " " << o.name;
      has_output = has_output || o.name == "output";
      has_merge = has_merge || o.name == "merge";
    }
    EXPECT_TRUE(has_output && has_merge) << m.name;
    // Defaults are valid values.
    EXPECT_NO_THROW(resolve_options(m.name, {})) << m.name;
  }
  const std::vector<std::string> expected = {
      "gradient",   "saliency",           "gradient-x-input", "integrated-gradients", "integrated-hessians",
      "smoothgrad", "smoothgrad-squared", "occlusion",        "lrp",                  "layer-relevance",
      "neuron-relevance", "kernel-shap", "shapley-sampling", "lime", "partition-shap", "input-marginalization",
      "diffmask", "vmask"};
  EXPECT_EQ(names, expected);
  EXPECT_EQ(method_info("integrated-gradients").check, "completeness-gap");
  EXPECT_TRUE(method_info("occlusion").word_level);

  const MethodOptions o = resolve_options("integrated-gradients", {{"steps", "64"}, {"rule", "trapezoid"}});
  EXPECT_EQ(o.at("steps"), "64");
  EXPECT_EQ(o.at("rule"), "trapezoid");
  EXPECT_EQ(o.at("baseline"), "zero");
  EXPECT_EQ(o.at("output"), "logit");
  EXPECT_EQ(resolve_options("smoothgrad", {{"noise", "0.25"}}).at("noise"), "0.25");
  EXPECT_EQ(resolve_options("smoothgrad", {{"noise", "2.5e-1"}}).at("noise"), "0.25");
}

TEST(ExplainRegistry, ErrorsAreClear) {
  std::string m = error_of([] { method_info("nope"); });
  EXPECT_NE(m.find("unknown explanation method 'nope'"), std::string::npos) << m;
  EXPECT_NE(m.find("integrated-gradients"), std::string::npos) << m;
  m = error_of([] { resolve_options("integrated-gradients", {{"stpes", "4"}}); });
  EXPECT_NE(m.find("integrated-gradients has no option 'stpes'"), std::string::npos) << m;
  EXPECT_NE(m.find("steps"), std::string::npos) << m;
  m = error_of([] { resolve_options("integrated-gradients", {{"steps", "0"}}); });
  EXPECT_NE(m.find("steps = '0' is out of range [1, 4096]"), std::string::npos) << m;
  m = error_of([] { resolve_options("integrated-gradients", {{"steps", "2.5"}}); });
  EXPECT_NE(m.find("is not an integer"), std::string::npos) << m;
  m = error_of([] { resolve_options("smoothgrad", {{"noise", "lots"}}); });
  EXPECT_NE(m.find("noise = 'lots' is not a number"), std::string::npos) << m;
  m = error_of([] { resolve_options("integrated-gradients", {{"rule", "simpson"}}); });
  EXPECT_NE(m.find("is not one of left, right, midpoint, trapezoid, gauss-legendre"), std::string::npos) << m;
  m = error_of([] { parse_option_list("steps=4,rule"); });
  EXPECT_NE(m.find("'rule' is not of the form name=value"), std::string::npos) << m;
  m = error_of([] { parse_option_list("steps=4,steps=5"); });
  EXPECT_NE(m.find("given twice"), std::string::npos) << m;
  EXPECT_EQ(parse_option_list("steps=4, rule=left").size(), 2u);

  const Tiny t = tiny(kTinyBiLstm, 3);
  EXPECT_EQ(parse_target(t.model->config(), "pos"), 2);
  EXPECT_EQ(parse_target(t.model->config(), "1"), 1);
  m = error_of([&] { parse_target(t.model->config(), "happy"); });
  EXPECT_NE(m.find("0 neg, 1 neu, 2 pos"), std::string::npos) << m;
  m = error_of([&] { run(t, "the film", "gradient", "", 5); });
  EXPECT_NE(m.find("target class 5 is out of range [0, 2]"), std::string::npos) << m;
  m = error_of([&] { run(t, "   ", "gradient"); });
  EXPECT_NE(m.find("no tokens"), std::string::npos) << m;
  m = error_of([&] { run(t, "the film", "occlusion", "mode=mask"); });
  // A word-level model has no mask token: the choice is not offered there.
  EXPECT_NE(m.find("option mode = 'mask' does not apply to BiLSTM models; there it is one of remove, unk, pad, zero"),
            std::string::npos)
      << m;
}

// ------------------------------------------------------------ word merge
TEST(ExplainWords, SubWordScoresMergeBackToTheWordsWithOffsets) {
  auto tok = make_wordpiece_from_vocab_txt(wltest::kTinyPieceVocab, WordPieceOptions{}, "test vocab.txt");
  const std::string text = "The  unbelievable film, is good";
  const Encoding enc = tok->encode(text);
  std::vector<TokenScore> tokens(enc.size());
  for (size_t i = 0; i < enc.size(); ++i) {
    tokens[i].score = 0.25 * static_cast<double>(i + 1) * (i % 2 ? -1 : 1);
    tokens[i].word = enc.word_ids[i];
  }
  std::vector<WordScore> words = words_of(enc, text);
  // "the", "unbelievable" (3 pieces), "film", ",", "is", "good"
  ASSERT_EQ(words.size(), 6u);
  EXPECT_EQ(words[1].text, "unbelievable");
  EXPECT_EQ(words[1].tokens.size(), 3u);
  EXPECT_EQ(words[3].text, ",");  // [UNK]
  size_t covered = 0;
  for (const WordScore& w : words) {
    EXPECT_EQ(text.substr(w.span.begin, w.span.end - w.span.begin), w.text);
    covered += w.tokens.size();
  }
  EXPECT_EQ(covered, enc.size() - 2);  // all but [CLS] and [SEP]
  merge_word_scores(tokens, words, "sum");
  double total_words = 0, total_text_tokens = 0;
  for (const WordScore& w : words) {
    double s = 0;
    for (int32_t t : w.tokens) s += tokens[static_cast<size_t>(t)].score;
    EXPECT_DOUBLE_EQ(w.score, s) << w.text;
    total_words += w.score;
  }
  for (size_t i = 0; i < enc.size(); ++i)
    if (enc.word_ids[i] >= 0) total_text_tokens += tokens[i].score;
  EXPECT_NEAR(total_words, total_text_tokens, 1e-12);
  const auto& u = words[1].tokens;  // tokens 2, 3, 4: scores 0.75, -1.0, 1.25
  merge_word_scores(tokens, words, "mean");
  EXPECT_DOUBLE_EQ(words[1].score, (tokens[u[0]].score + tokens[u[1]].score + tokens[u[2]].score) / 3);
  merge_word_scores(tokens, words, "max-abs");
  EXPECT_DOUBLE_EQ(words[1].score, 1.25);
  EXPECT_THROW(merge_word_scores(tokens, words, "median"), Error);
}

// ------------------------------------------------------------ IG on analytic functions
TEST(ExplainIg, QuadratureRules) {
  for (IgRule r : {IgRule::left, IgRule::right, IgRule::midpoint, IgRule::trapezoid, IgRule::gauss_legendre}) {
    for (int n : {2, 3, 7, 50}) {
      const Quadrature q = ig_quadrature(r, n);
      ASSERT_EQ(q.alphas.size(), static_cast<size_t>(n));
      double s = 0;
      for (size_t k = 0; k < q.weights.size(); ++k) {
        s += q.weights[k];
        EXPECT_GE(q.alphas[k], 0.0);
        EXPECT_LE(q.alphas[k], 1.0);
      }
      EXPECT_NEAR(s, 1.0, 1e-13);
    }
  }
  // Gauss-Legendre with n points integrates a^(2n-1) exactly.
  for (int n : {1, 2, 5, 12}) {
    const Quadrature q = ig_quadrature(IgRule::gauss_legendre, n);
    double s = 0;
    for (size_t k = 0; k < q.weights.size(); ++k) s += q.weights[k] * std::pow(q.alphas[k], 2 * n - 1);
    EXPECT_NEAR(s, 1.0 / (2 * n), 1e-13) << n;
  }
  EXPECT_THROW(ig_quadrature(IgRule::trapezoid, 1), Error);
  EXPECT_EQ(parse_ig_rule("gauss-legendre"), IgRule::gauss_legendre);
  EXPECT_THROW(parse_ig_rule("simpson"), Error);
}

TEST(ExplainIg, LinearFunctionGivesWeightTimesInputMinusBaseline) {
  const int n = 10;
  const std::vector<float> w = wltest::random_vecf(n, 1), x = wltest::random_vecf(n, 2), b = wltest::random_vecf(n, 3);
  int calls = 0;
  BatchFunction f = [&](int N, const float* xs, double* out, float* grad) {
    ++calls;
    for (int i = 0; i < N; ++i) {
      double s = 0.5;
      for (int j = 0; j < n; ++j) {
        s += double(w[j]) * xs[i * n + j];
        if (grad) grad[i * n + j] = w[j];
      }
      out[i] = s;
    }
  };
  for (IgRule r : {IgRule::left, IgRule::right, IgRule::midpoint, IgRule::trapezoid, IgRule::gauss_legendre}) {
    calls = 0;
    const IgResult res = integrated_gradients(f, n, x.data(), b.data(), r, 7, 3);
    EXPECT_EQ(calls, 1 + 3);  // ends, then 3 + 3 + 1 path points
    EXPECT_EQ(res.evaluations, 2 + 7);
    for (int j = 0; j < n; ++j) EXPECT_NEAR(res.attributions[j], double(w[j]) * (double(x[j]) - b[j]), 1e-7);
    EXPECT_NEAR(res.gap, 0.0, 1e-6);
  }
  // The same through a Graph (a linear layer with a bias).
  Graph<float> g;
  BatchFunction gf = [&](int N, const float* xs, double* out, float* grad) {
    g.clear();
    Var xv = g.input(Shape{N, n}, xs, grad != nullptr);
    const float bias = 0.5f;
    Var y = g.linear(xv, g.parameter(Shape{1, n}, w.data()), g.parameter(Shape{1}, &bias));
    for (int i = 0; i < N; ++i) out[i] = g.value(y)[i];
    if (grad) {
      g.backward(g.sum(y));
      std::copy(g.grad(xv), g.grad(xv) + N * n, grad);
    }
  };
  const IgResult res = integrated_gradients(gf, n, x.data(), b.data(), IgRule::gauss_legendre, 5, 16);
  for (int j = 0; j < n; ++j) EXPECT_NEAR(res.attributions[j], double(w[j]) * (double(x[j]) - b[j]), 1e-6);
}

// A smooth non-polynomial function: sum_j tanh(c_j x_j) + 0.3 sin(sum_j x_j).
BatchFunction smooth_function(int n, std::vector<float> c) {
  return [n, c](int N, const float* xs, double* out, float* grad) {
    for (int i = 0; i < N; ++i) {
      double s = 0, t = 0;
      for (int j = 0; j < n; ++j) {
        s += std::tanh(c[j] * double(xs[i * n + j]));
        t += xs[i * n + j];
      }
      out[i] = s + 0.3 * std::sin(t);
      if (grad)
        for (int j = 0; j < n; ++j) {
          const double th = std::tanh(c[j] * double(xs[i * n + j]));
          grad[i * n + j] = static_cast<float>(c[j] * (1 - th * th) + 0.3 * std::cos(t));
        }
    }
  };
}

TEST(ExplainIg, CompletenessGapFallsWithStepsAndGaussLegendreWins) {
  const int n = 6;
  const std::vector<float> c = wltest::random_vecf(n, 4, 0.5f, 1.5f), x = wltest::random_vecf(n, 5, -1.f, 1.f);
  const std::vector<float> b(n, 0.f);
  const BatchFunction f = smooth_function(n, c);
  auto gap = [&](IgRule r, int steps) {
    return std::fabs(integrated_gradients(f, n, x.data(), b.data(), r, steps, 16).gap);
  };
  double prev = 1e9;
  for (int steps : {4, 8, 16, 32, 64}) {
    const double g = gap(IgRule::trapezoid, steps);
    EXPECT_LT(g, prev) << steps;
    prev = g;
  }
  // Second order: doubling the steps divides the trapezoid gap by about 4
  // (intervals are steps - 1).
  const double r = gap(IgRule::trapezoid, 17) / gap(IgRule::trapezoid, 33);
  EXPECT_GT(r, 3.0);
  EXPECT_LT(r, 5.0);
  // Left Riemann is first order.
  EXPECT_GT(gap(IgRule::left, 16), gap(IgRule::trapezoid, 16));
  for (int steps : {6, 8, 12})
    EXPECT_LT(gap(IgRule::gauss_legendre, steps), gap(IgRule::trapezoid, steps) / 20) << steps;
  EXPECT_LT(gap(IgRule::gauss_legendre, 16), 1e-5);
}

TEST(ExplainIg, ProgressAndCancel) {
  const int n = 4;
  const std::vector<float> x(n, 1.f), b(n, 0.f);
  const BatchFunction f = smooth_function(n, std::vector<float>(n, 1.f));
  std::vector<std::pair<int64_t, int64_t>> seen;
  ExplainControl ctl;
  ctl.progress = [&](int64_t done, int64_t total) { seen.emplace_back(done, total); };
  integrated_gradients(f, n, x.data(), b.data(), IgRule::midpoint, 10, 4, ctl);
  const std::vector<std::pair<int64_t, int64_t>> expected = {{2, 12}, {6, 12}, {10, 12}, {12, 12}};
  EXPECT_EQ(seen, expected);
  std::atomic<bool> cancel{false};
  ctl.cancel = &cancel;
  ctl.progress = [&](int64_t done, int64_t) {
    if (done >= 6) cancel = true;
  };
  EXPECT_THROW(integrated_gradients(f, n, x.data(), b.data(), IgRule::midpoint, 10, 4, ctl), Cancelled);
}

// ------------------------------------------------------------ methods on tiny models
struct Case {
  const char* name;
  const char* config;
  const char* text;
};
const Case kCases[] = {
    {"bert", kTinyBert, "the unbelievable film is good"},
    {"cnn", kTinyCnn, "the film is not very good !"},
    {"bilstm", kTinyBiLstm, "a very bad , bad film"},
};

TEST(ExplainMethods, GradientMethodsMatchFiniteDifferences) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    const Tiny t = tiny(c.config, 7);
    const bool transformer = t.model->config().is_transformer();
    for (const char* output : {"logit", "probability"}) {
      SCOPED_TRACE(output);
      const bool prob = std::string(output) == "probability";
      const std::string opt = std::string("output=") + output;
      const Explanation g = run(t, c.text, "gradient", opt, 1);
      const Explanation gsum = run(t, c.text, "gradient", opt + ",reduce=sum", 1);
      const Explanation gl2 = run(t, c.text, "gradient", opt + ",reduce=l2", 1);
      const Explanation gx = run(t, c.text, "gradient-x-input", opt, 1);
      const Explanation sal = run(t, c.text, "saliency", opt, 1);
      EXPECT_EQ(g.model_evaluations, 1);
      EXPECT_EQ(g.prediction.target, 1);
      const std::vector<int32_t> ids = ids_of(g);
      const std::vector<float> emb = embed_ids(*t.model, ids);
      const int D = t.model->embedding_dim();
      EXPECT_NEAR(g.prediction.explained_value, output_at(*t.model, ids, emb, 1, prob), 1e-5);
      auto max_abs = [](const Explanation& e) {
        double m = 0;
        for (const TokenScore& ts : e.tokens) m = std::max(m, std::fabs(ts.score));
        return m;
      };
      const double scale = max_abs(g), scale_x = max_abs(gx), scale_l2 = max_abs(gl2);
      // Central differences along a direction of token i's embedding: all
      // ones (reduce=sum), the embedding itself (gradient x input) and its
      // unit vector (the default reduce=along-input).
      const float eps = 2e-3f;
      for (size_t i = 0; i < ids.size(); ++i) {
        double norm = 0;
        for (int d = 0; d < D; ++d) norm += double(emb[i * D + d]) * emb[i * D + d];
        norm = std::sqrt(norm);
        auto fd = [&](int dir) {
          auto at = [&](float e) {
            std::vector<float> p = emb;
            for (int d = 0; d < D; ++d) {
              const float x = emb[i * D + d];
              p[i * D + d] += dir == 0 ? e : dir == 1 ? e * x : static_cast<float>(e * x / norm);
            }
            return output_at(*t.model, ids, p, 1, prob);
          };
          return (at(eps) - at(-eps)) / (2 * eps);
        };
        if (transformer) {  // LayerNorm: shifting every dimension alike changes nothing
          EXPECT_NEAR(gsum.tokens[i].score, 0.0, 1e-4 * scale_l2) << "token " << i;
        } else {
          EXPECT_NEAR(gsum.tokens[i].score, fd(0), 2e-2 * max_abs(gsum) + 1e-7) << "token " << i;
        }
        EXPECT_NEAR(gx.tokens[i].score, fd(1), 2e-2 * scale_x + 1e-7) << "token " << i;
        if (norm > 0) {
          EXPECT_NEAR(g.tokens[i].score, fd(2), 2e-2 * scale + 1e-7) << "token " << i;
        }
        EXPECT_NEAR(g.tokens[i].score * norm, gx.tokens[i].score, 1e-9 + 1e-6 * scale_x);
        EXPECT_NEAR(gl2.tokens[i].score * gl2.tokens[i].score, sal.tokens[i].score, 1e-6 * sal.tokens[i].score + 1e-15);
        EXPECT_GE(sal.tokens[i].score, 0.0);
      }
    }
  }
}

TEST(ExplainMethods, SaliencyIsTheSquaredGradientNorm) {
  const Tiny t = tiny(kTinyCnn, 8);
  const Explanation sal = run(t, "the film is good", "saliency");
  const std::vector<int32_t> ids = ids_of(sal);
  const std::vector<float> emb = embed_ids(*t.model, ids);
  const int D = t.model->embedding_dim();
  // The gradient coordinate by coordinate, by central differences. The
  // CNN is piecewise linear, so they are exact away from kinks.
  for (size_t i = 0; i < ids.size(); ++i) {
    double s = 0;
    for (int d = 0; d < D; ++d) {
      std::vector<float> p = emb, m = emb;
      p[i * D + d] += 1e-3f;
      m[i * D + d] -= 1e-3f;
      const double gd =
          (output_at(*t.model, ids, p, sal.prediction.target) - output_at(*t.model, ids, m, sal.prediction.target)) /
          2e-3;
      s += gd * gd;
    }
    EXPECT_NEAR(sal.tokens[i].score, s, 1e-2 * s + 1e-6) << "token " << i;
  }
}

TEST(ExplainMethods, IntegratedGradientsCompleteness) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    const Tiny t = tiny(c.config, 9);
    // The CNN's gradient jumps along the path (ReLU and max-pooling kinks),
    // so quadrature converges only at first order there: more steps.
    const bool cnn = std::string(c.name) == "cnn";
    const int steps = cnn ? 512 : 64;
    for (const char* baseline : {"zero", "pad", "unk"}) {
      SCOPED_TRACE(baseline);
      const Explanation e =
          run(t, c.text, "integrated-gradients",
              "adaptive=false,steps=" + std::to_string(steps) + ",baseline=" + baseline);
      ASSERT_EQ(e.checks.size(), 1u);
      const ExplanationCheck& k = e.checks[0];
      EXPECT_EQ(k.name, "completeness-gap");
      EXPECT_EQ(e.model_evaluations, 1 + 1 + steps);  // the prediction, the baseline, the path
      // The baseline at alpha = 0 is computed independently here.
      std::vector<int32_t> ids = ids_of(e), base_ids = ids;
      std::vector<float> base = embed_ids(*t.model, ids);
      const int D = t.model->embedding_dim();
      const int32_t repl =
          std::string(baseline) == "unk" ? t.tok->special_tokens().unk_id : t.model->config().pad_token_id;
      for (size_t i = 0; i < ids.size(); ++i)
        if (!e.tokens[i].special) base_ids[i] = repl;
      if (std::string(baseline) != "zero") base = embed_ids(*t.model, base_ids);
      for (size_t i = 0; i < ids.size(); ++i)
        if (!e.tokens[i].special && std::string(baseline) == "zero")
          std::fill(base.begin() + i * D, base.begin() + (i + 1) * D, 0.f);
      const double f_base = output_at(*t.model, ids, base, e.prediction.target);
      EXPECT_NEAR(k.reference, e.prediction.explained_value - f_base, 1e-4 + 1e-4 * std::fabs(k.reference));
      double sum = 0;
      for (const TokenScore& ts : e.tokens) {
        sum += ts.score;
        if (ts.special) {
          EXPECT_EQ(ts.score, 0.0);  // the baseline keeps special tokens
        }
      }
      EXPECT_NEAR(k.value, sum - k.reference, 1e-9);
      EXPECT_LT(std::fabs(k.value), (cnn ? 0.03 : 0.01) * std::fabs(k.reference) + 1e-5);
      // Words sum to the tokens they came from.
      double words = 0;
      for (const WordScore& w : e.words) words += w.score;
      EXPECT_NEAR(words, sum, 1e-9);
    }
    // The gap falls with the steps; batch size changes nothing but memory.
    const Explanation few = run(t, c.text, "integrated-gradients", "adaptive=false,steps=2,rule=trapezoid");
    const Explanation many = run(t, c.text, "integrated-gradients", "adaptive=false,steps=64,rule=trapezoid");
    EXPECT_LE(std::fabs(many.checks[0].value), std::fabs(few.checks[0].value) + 1e-6);
    const Explanation b1 = run(t, c.text, "integrated-gradients", "steps=8,batch-size=1");
    const Explanation b8 = run(t, c.text, "integrated-gradients", "steps=8,batch-size=8");
    for (size_t i = 0; i < b1.tokens.size(); ++i) EXPECT_NEAR(b1.tokens[i].score, b8.tokens[i].score, 1e-5);
    // Expected gradients: several random-word baselines, reproducible.
    const Explanation eg = run(t, c.text, "integrated-gradients", "adaptive=false,steps=16,baseline=random-words,baseline-samples=3");
    EXPECT_EQ(eg.model_evaluations, 1 + 3 * (1 + 16));  // the prediction, then each baseline and its path
    if (!cnn) {
      EXPECT_LT(std::fabs(eg.checks[0].value), 0.02 * std::fabs(eg.checks[0].reference) + 1e-4);
    }
    const Explanation eg2 = run(t, c.text, "integrated-gradients", "adaptive=false,steps=16,baseline=random-words,baseline-samples=3");
    for (size_t i = 0; i < eg.tokens.size(); ++i) EXPECT_EQ(eg.tokens[i].score, eg2.tokens[i].score);
  }
}

TEST(ExplainMethods, OcclusionEqualsLogitChangesByHand) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    const Tiny t = tiny(c.config, 11);
    const bool bert = std::string(c.name) == "bert";
    for (const char* mode : {"remove", "unk", "zero", "mask"}) {
      if (std::string(mode) == "mask" && !bert) continue;
      SCOPED_TRACE(mode);
      const Explanation e = run(t, c.text, "occlusion", std::string("mode=") + mode);
      const std::vector<int32_t> ids = ids_of(e);
      const int target = e.prediction.target, D = t.model->embedding_dim();
      const double f = output_at(*t.model, ids, embed_ids(*t.model, ids), target);
      EXPECT_EQ(e.model_evaluations, 1 + static_cast<int64_t>(e.words.size()));
      for (const WordScore& w : e.words) {
        std::vector<int32_t> v;
        std::vector<float> emb;
        for (size_t i = 0; i < ids.size(); ++i) {
          const bool in = std::find(w.tokens.begin(), w.tokens.end(), static_cast<int32_t>(i)) != w.tokens.end();
          if (!in || std::string(mode) == "zero")
            v.push_back(ids[i]);
          else if (std::string(mode) == "unk")
            v.push_back(t.tok->special_tokens().unk_id);
          else if (std::string(mode) == "mask")
            v.push_back(t.tok->special_tokens().mask_id);
        }
        emb = embed_ids(*t.model, v);
        if (std::string(mode) == "zero")
          for (int32_t i : w.tokens) std::fill(emb.begin() + i * D, emb.begin() + (i + 1) * D, 0.f);
        const double by_hand = f - output_at(*t.model, v, emb, target);
        EXPECT_NEAR(w.score, by_hand, 1e-5 + 1e-4 * std::fabs(by_hand)) << w.text;
        double tok_sum = 0;
        for (int32_t i : w.tokens) tok_sum += e.tokens[static_cast<size_t>(i)].score;
        EXPECT_NEAR(tok_sum, w.score, 1e-12);
      }
    }
    // Windows of 2 words: a word's score is the mean drop of its windows.
    const Explanation w1 = run(t, c.text, "occlusion", "mode=unk,window=1");
    const Explanation w2 = run(t, c.text, "occlusion", "mode=unk,window=2");
    const std::vector<int32_t> ids = ids_of(w2);
    const int target = w2.prediction.target;
    const double f = output_at(*t.model, ids, embed_ids(*t.model, ids), target);
    const size_t W = w2.words.size();
    std::vector<double> drop(W - 1);
    for (size_t s = 0; s + 1 < W; ++s) {
      std::vector<int32_t> v = ids;
      for (size_t k = s; k < s + 2; ++k)
        for (int32_t i : w2.words[k].tokens) v[static_cast<size_t>(i)] = t.tok->special_tokens().unk_id;
      drop[s] = f - output_at(*t.model, v, embed_ids(*t.model, v), target);
    }
    EXPECT_NEAR(w2.words[0].score, drop[0], 1e-5);
    EXPECT_NEAR(w2.words[1].score, (drop[0] + drop[1]) / 2, 1e-5);
    EXPECT_NEAR(w2.words[W - 1].score, drop[W - 2], 1e-5);
    EXPECT_EQ(w2.model_evaluations, 1 + static_cast<int64_t>(W - 1));
    EXPECT_NE(w1.words[1].score, w2.words[1].score);
  }
}

TEST(ExplainMethods, SmoothGradWithoutNoiseIsTheGradient) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    const Tiny t = tiny(c.config, 13);
    const Explanation g = run(t, c.text, "gradient");
    const Explanation sal = run(t, c.text, "saliency");
    const Explanation sg0 = run(t, c.text, "smoothgrad", "noise=0,samples=3");
    const Explanation sq0 = run(t, c.text, "smoothgrad-squared", "noise=0,samples=3");
    EXPECT_EQ(sg0.model_evaluations, 1 + 3);
    for (size_t i = 0; i < g.tokens.size(); ++i) {
      EXPECT_NEAR(sg0.tokens[i].score, g.tokens[i].score, 1e-5 + 1e-4 * std::fabs(g.tokens[i].score));
      EXPECT_NEAR(sq0.tokens[i].score, sal.tokens[i].score, 1e-7 + 1e-4 * sal.tokens[i].score);
    }
    // With noise: reproducible for a seed, different for another, batch
    // size only changes memory.
    const Explanation a = run(t, c.text, "smoothgrad", "noise=0.2,samples=8,seed=5");
    const Explanation b = run(t, c.text, "smoothgrad", "noise=0.2,samples=8,seed=5,batch-size=3");
    const Explanation d = run(t, c.text, "smoothgrad", "noise=0.2,samples=8,seed=6");
    bool differs = false;
    for (size_t i = 0; i < a.tokens.size(); ++i) {
      EXPECT_NEAR(a.tokens[i].score, b.tokens[i].score, 1e-5 + 1e-4 * std::fabs(a.tokens[i].score));
      differs = differs || a.tokens[i].score != d.tokens[i].score;
    }
    EXPECT_TRUE(differs);
  }
}

TEST(ExplainMethods, ResultShapeProgressCancelAndJson) {
  const Tiny t = tiny(kTinyBert, 15);
  const std::string text = "the unbelievable film";
  ExplainRequest r;
  r.method = "integrated-gradients";
  r.options = {{"steps", "10"}, {"batch-size", "4"}, {"adaptive", "false"}};
  int64_t last_done = 0, last_total = 0;
  int calls = 0;
  r.control.progress = [&](int64_t done, int64_t total) {
    EXPECT_GT(done, last_done);
    last_done = done;
    last_total = total;
    ++calls;
  };
  const Explanation e = explain(*t.model, *t.tok, text, r);
  EXPECT_EQ(last_done, 11);  // the baseline, then the 10 path points
  EXPECT_EQ(last_total, 11);
  EXPECT_EQ(calls, 4);
  EXPECT_GT(e.seconds, 0.0);
  EXPECT_EQ(e.options.at("steps"), "10");
  EXPECT_EQ(e.options.at("rule"), "gauss-legendre");
  ASSERT_EQ(e.tokens.size(), 7u);  // [CLS] the un ##believ ##able film [SEP]
  EXPECT_TRUE(e.tokens[0].special);
  EXPECT_EQ(e.tokens[0].token, "[CLS]");
  EXPECT_EQ(e.tokens[0].word, -1);
  ASSERT_EQ(e.words.size(), 3u);
  EXPECT_EQ(e.words[1].text, "unbelievable");
  EXPECT_EQ(e.words[1].tokens, (std::vector<int32_t>{2, 3, 4}));
  double p = 0;
  for (float v : e.prediction.probabilities) p += v;
  EXPECT_NEAR(p, 1.0, 1e-6);
  EXPECT_EQ(e.prediction.target, e.prediction.label);
  EXPECT_EQ(e.prediction.label_name, "LABEL_" + std::to_string(e.prediction.label));

  std::atomic<bool> cancel{false};
  r.control.cancel = &cancel;
  r.control.progress = [&](int64_t done, int64_t) {
    if (done >= 6) cancel = true;
  };
  EXPECT_THROW(explain(*t.model, *t.tok, text, r), Cancelled);
  r.method = "smoothgrad";
  r.options = {{"samples", "10"}, {"batch-size", "2"}};
  cancel = false;
  EXPECT_THROW(explain(*t.model, *t.tok, text, r), Cancelled);

  const nlohmann::json j = nlohmann::json::parse(explanation_to_json(e));
  EXPECT_EQ(j["method"], "integrated-gradients");
  EXPECT_EQ(j["words"][1]["text"], "unbelievable");
  EXPECT_EQ(j["words"][1]["begin"], 4);
  EXPECT_EQ(j["words"][1]["end"], 16);
  EXPECT_EQ(j["tokens"].size(), 7u);
  EXPECT_EQ(j["checks"][0]["name"], "completeness-gap");
  EXPECT_EQ(j["model_evaluations"], 12);
  EXPECT_EQ(j["prediction"]["output"], "logit");
}

}  // namespace
