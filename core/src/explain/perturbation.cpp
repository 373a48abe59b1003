// The perturbation family's shared machinery: coalitions evaluated once
// each in batches, the model's output on a coalition of words (or tokens)
// with the absent ones masked, the common options, a small PSD solver.
#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_map>

#include "perturbation_internal.h"
#include "wordlight/memory_budget.h"
#include "wordlight/predict.h"

namespace wordlight {

int64_t evaluate_coalitions(const CoalitionFunction& f, int M, const std::vector<uint8_t>& masks,
                            const CoalitionRun& run, std::vector<double>& out) {
  const size_t m = static_cast<size_t>(M);
  const size_t N = m ? masks.size() / m : 0;
  out.assign(N, 0.0);
  // Distinct coalitions in order of first appearance (the full one aside
  // when known): the batches, and so the result, depend only on the masks.
  std::unordered_map<std::string, size_t> index;
  std::vector<size_t> first;       // row of each distinct coalition
  std::vector<size_t> which(N);    // distinct coalition of each row
  std::vector<uint8_t> is_full;    // per distinct coalition
  for (size_t r = 0; r < N; ++r) {
    std::string key(reinterpret_cast<const char*>(masks.data() + r * m), m);
    auto it = index.find(key);
    if (it == index.end()) {
      it = index.emplace(std::move(key), first.size()).first;
      first.push_back(r);
      bool full = true;
      for (size_t i = 0; i < m && full; ++i) full = masks[r * m + i] != 0;
      is_full.push_back(full ? 1 : 0);
    }
    which[r] = it->second;
  }
  std::vector<double> value(first.size(), 0.0);
  std::vector<size_t> todo;
  for (size_t u = 0; u < first.size(); ++u) {
    if (run.have_full && is_full[u])
      value[u] = run.f_full;
    else
      todo.push_back(u);
  }
  // Batches of coalitions with about as many words present: when absent
  // words are removed (absent=remove) a batch is padded to its longest text,
  // and KernelSHAP draws a coalition with its complement, so in first-seen
  // order nearly every batch would hold a full-length text (about half the
  // model's work is saved on sampled coalitions). Stable, so the order, the
  // batches and the result still depend only on the masks; with same-length
  // inputs (mask, pad, zero, ...) the order changes nothing but that.
  {
    std::vector<size_t> present(first.size(), 0);
    for (size_t u : todo)
      for (size_t i = 0; i < m; ++i) present[u] += masks[first[u] * m + i] != 0;
    std::stable_sort(todo.begin(), todo.end(), [&](size_t a, size_t b) { return present[a] < present[b]; });
  }
  const int64_t total = static_cast<int64_t>(todo.size());
  const size_t B = static_cast<size_t>(std::max(1, run.batch_size));
  std::vector<uint8_t> batch;
  std::vector<double> res;
  for (size_t s = 0; s < todo.size(); s += B) {
    if (run.control.cancel && run.control.cancel->load()) throw Cancelled();
    const size_t nb = std::min(B, todo.size() - s);
    batch.resize(nb * m);
    for (size_t j = 0; j < nb; ++j)
      std::copy(masks.begin() + static_cast<long>(first[todo[s + j]] * m),
                masks.begin() + static_cast<long>((first[todo[s + j]] + 1) * m), batch.begin() + static_cast<long>(j * m));
    res.assign(nb, 0.0);
    f(static_cast<int>(nb), batch.data(), res.data());
    for (size_t j = 0; j < nb; ++j) value[todo[s + j]] = res[j];
    if (run.control.progress) run.control.progress(static_cast<int64_t>(s + nb), total);
  }
  for (size_t r = 0; r < N; ++r) out[r] = value[which[r]];
  return total;
}

namespace explain_detail {

Features make_features(const Explanation& e, const std::string& features, bool bow) {
  Features f;
  if (features == "tokens") {
    if (bow) throw Error("bow=true groups words: it needs features=words");
    f.by_token = true;
    for (size_t t = 0; t < e.tokens.size(); ++t)
      if (!e.tokens[t].special && e.tokens[t].word >= 0) {
        f.tokens.push_back({static_cast<int32_t>(t)});
        f.words.push_back({});
      }
    return f;
  }
  if (features != "words") throw Error("features='" + features + "' is not one of words, tokens");
  std::unordered_map<std::string, size_t> by_text;
  for (size_t w = 0; w < e.words.size(); ++w) {
    if (e.words[w].tokens.empty()) continue;
    size_t k = f.tokens.size();
    if (bow) {
      auto it = by_text.find(e.words[w].text);
      if (it != by_text.end())
        k = it->second;
      else
        by_text.emplace(e.words[w].text, k);
    }
    if (k == f.tokens.size()) {
      f.tokens.emplace_back();
      f.words.emplace_back();
    }
    for (int32_t t : e.words[w].tokens) f.tokens[k].push_back(t);
    f.words[k].push_back(static_cast<int32_t>(w));
  }
  return f;
}

CoalitionInput coalition_input(const ModelTarget& t, const Tokenizer& tok, const Features& feats,
                               const std::string& absent, const uint8_t* coalition) {
  const int T = t.T();
  std::vector<uint8_t> present(static_cast<size_t>(T), 1);
  for (int k = 0; k < feats.size(); ++k)
    if (!coalition[k])
      for (int32_t tk : feats.tokens[static_cast<size_t>(k)]) present[static_cast<size_t>(tk)] = 0;
  CoalitionInput in;
  if (absent == "zero" || absent == "attention-off") {
    in.ids = t.ids();
    in.mask.assign(static_cast<size_t>(T), 1);
    if (absent == "zero") in.zeroed.assign(present.size(), 0);
    for (size_t i = 0; i < present.size(); ++i) {
      if (present[i]) continue;
      if (absent == "zero")
        in.zeroed[i] = 1;
      else
        in.mask[i] = 0;
    }
    return in;
  }
  int32_t replace = -1;
  if (absent == "mask" || absent == "unk" || absent == "pad") {
    replace = placeholder_token(absent, tok, t.model().config());
    if (replace < 0) throw Error("absent=" + absent + " needs a " + absent + " token; this tokenizer has none");
  } else if (absent != "remove") {
    throw Error("absent='" + absent + "' is not one of mask, unk, pad, remove, zero, attention-off");
  }
  for (int i = 0; i < T; ++i) {
    if (present[static_cast<size_t>(i)])
      in.ids.push_back(t.ids()[static_cast<size_t>(i)]);
    else if (absent != "remove")
      in.ids.push_back(replace);
  }
  in.mask.assign(in.ids.size(), 1);
  return in;
}

CoalitionFunction model_coalitions(MethodContext& ctx, const Features& feats, const std::string& absent) {
  ModelTarget* tp = &ctx.target;
  const Tokenizer* tok = &ctx.tokenizer;
  const bool probability = ctx.opts.str("output") == "probability";
  if (absent == "attention-off" && architecture_group(ctx.model.config()) != "transformer")
    throw Error("absent=attention-off applies to transformers only");
  // Fail early on a missing token rather than inside the first batch.
  if (feats.size() > 0) {
    std::vector<uint8_t> none(static_cast<size_t>(feats.size()), 0);
    coalition_input(*tp, *tok, feats, absent, none.data());
  }
  return [tp, tok, feats, absent, probability](int N, const uint8_t* masks, double* out) {
    ModelTarget& t = *tp;
    const int M = feats.size(), T = t.T(), D = t.D();
    if (absent == "zero") {
      std::vector<float> xs(static_cast<size_t>(N) * T * D);
      for (int j = 0; j < N; ++j) {
        const CoalitionInput in = coalition_input(t, *tok, feats, absent, masks + static_cast<size_t>(j) * M);
        float* xj = xs.data() + static_cast<size_t>(j) * T * D;
        std::copy(t.embeddings().begin(), t.embeddings().end(), xj);
        for (int i = 0; i < T; ++i)
          if (in.zeroed[static_cast<size_t>(i)])
            std::fill(xj + static_cast<size_t>(i) * D, xj + static_cast<size_t>(i + 1) * D, 0.f);
      }
      t.eval(N, xs.data(), out, nullptr);
      return;
    }
    if (absent == "attention-off") {
      TokenBatch b;
      b.B = N;
      b.T = T;
      for (int j = 0; j < N; ++j) {
        const CoalitionInput in = coalition_input(t, *tok, feats, absent, masks + static_cast<size_t>(j) * M);
        b.ids.insert(b.ids.end(), in.ids.begin(), in.ids.end());
        b.mask.insert(b.mask.end(), in.mask.begin(), in.mask.end());
      }
      std::vector<float> emb(static_cast<size_t>(N) * T * D);
      for (int j = 0; j < N; ++j)
        std::copy(t.embeddings().begin(), t.embeddings().end(), emb.begin() + static_cast<long>(j) * T * D);
      Graph<float> g;
      Var x = g.input(Shape{N, T, D}, emb.data(), false);
      const float* l = g.value(t.model().forward(g, x, b));
      const int C = t.model().output_dim(), target = t.prediction().target;
      for (int j = 0; j < N; ++j) {
        const float* lj = l + static_cast<size_t>(j) * C;
        out[j] = probability ? label_probabilities(t.model().config(), lj, C)[static_cast<size_t>(target)] : lj[target];
      }
      t.add_evaluations(N);
      return;
    }
    std::vector<std::vector<int32_t>> seqs(static_cast<size_t>(N));
    for (int j = 0; j < N; ++j)
      seqs[static_cast<size_t>(j)] = coalition_input(t, *tok, feats, absent, masks + static_cast<size_t>(j) * M).ids;
    t.eval_ids(seqs, out);
  };
}

CoalitionGame coalition_game(MethodContext& ctx, const Explanation& e, bool bow) {
  CoalitionGame g;
  g.feats = make_features(e, ctx.opts.str("features"), bow);
  g.f = model_coalitions(ctx, g.feats, ctx.opts.str("absent"));
  g.run = coalition_run(ctx);
  return g;
}

void set_efficiency_gap(ShapleyResult& r) {
  double sum = 0;
  for (double v : r.values) sum += v;
  r.gap = sum - (r.f_full - r.f_empty);
}

CoalitionRun coalition_run(MethodContext& ctx) {
  CoalitionRun run;
  run.batch_size = rows_that_fit(ctx.target.model().config(), ctx.target.T(), RowPass::forward,
                                 ctx.opts.number("memory-mb"), static_cast<int>(ctx.opts.integer("batch-size")),
                                 "perturbation");
  run.control = ctx.target.control();
  run.have_full = true;
  run.f_full = ctx.target.f_input();
  return run;
}

void set_feature_scores(MethodContext& ctx, Explanation& e, const Features& feats, const std::vector<double>& values) {
  for (TokenScore& t : e.tokens) t.score = 0;
  for (WordScore& w : e.words) w.score = 0;
  if (feats.by_token) {
    for (int k = 0; k < feats.size(); ++k)
      e.tokens[static_cast<size_t>(feats.tokens[static_cast<size_t>(k)][0])].score = values[static_cast<size_t>(k)];
    merge_word_scores(e.tokens, e.words, ctx.opts.str("merge"));
    return;
  }
  for (int k = 0; k < feats.size(); ++k)
    for (int32_t w : feats.words[static_cast<size_t>(k)]) {
      WordScore& ws = e.words[static_cast<size_t>(w)];
      ws.score = values[static_cast<size_t>(k)];
      for (int32_t tok : ws.tokens)
        e.tokens[static_cast<size_t>(tok)].score = ws.score / static_cast<double>(ws.tokens.size());
    }
}

std::vector<OptionSpec> perturbation_options() {
  return {
      choice_option("features", "words", {"words", "tokens"},
                    "what is switched on and off: the text's words (all their sub-word tokens together) or single tokens"),
      choice_option("absent", "mask", {"mask", "unk", "pad", "remove", "zero", "attention-off"},
                    "how an absent word is given to the model: [MASK] / <unk> / <pad> token, removed (shorter text), "
                    "zero embedding, or not attended (transformers). Defaults: [MASK] for transformers (the "
                    "placeholder they were pre-trained to read, positions unchanged), <pad> for the CNN and BiLSTM "
                    "(trained with <pad>, a zero embedding)"),
      int_option("batch-size", 32, 1, 4096, "perturbed texts run through the model at once (bounds memory)"),
      int_option("seed", 1, 0, 2147483647, "seed of the sampled coalitions (the same seed gives the same answer)"),
  };
}

std::vector<OptionSpec> perturbation_options(std::vector<OptionSpec> own, bool seeded) {
  for (OptionSpec& o : perturbation_options())
    if (seeded || o.name != "seed") own.push_back(std::move(o));
  return own;
}

std::vector<double> solve_psd(std::vector<double> A, std::vector<double> b, int n) {
  if (n <= 0) return {};
  double mean_diag = 0;
  for (int i = 0; i < n; ++i) mean_diag += A[static_cast<size_t>(i) * n + i];
  mean_diag = std::max(mean_diag / n, 1e-300);
  const std::vector<double> A0 = A;
  for (double ridge = 0;; ridge = ridge == 0 ? 1e-12 * mean_diag : ridge * 10) {
    A = A0;
    for (int i = 0; i < n; ++i) A[static_cast<size_t>(i) * n + i] += ridge;
    bool ok = true;
    // Cholesky A = L L^T in place (lower triangle).
    for (int j = 0; j < n && ok; ++j) {
      double d = A[static_cast<size_t>(j) * n + j];
      for (int k = 0; k < j; ++k) d -= A[static_cast<size_t>(j) * n + k] * A[static_cast<size_t>(j) * n + k];
      if (!(d > 1e-13 * (mean_diag + ridge))) {
        ok = false;
        break;
      }
      const double ljj = std::sqrt(d);
      A[static_cast<size_t>(j) * n + j] = ljj;
      for (int i = j + 1; i < n; ++i) {
        double s = A[static_cast<size_t>(i) * n + j];
        for (int k = 0; k < j; ++k) s -= A[static_cast<size_t>(i) * n + k] * A[static_cast<size_t>(j) * n + k];
        A[static_cast<size_t>(i) * n + j] = s / ljj;
      }
    }
    if (!ok) {
      if (ridge > 1e6 * mean_diag) throw Error("internal: the least-squares system could not be solved");
      continue;
    }
    std::vector<double> x = b;
    for (int i = 0; i < n; ++i) {
      double s = x[static_cast<size_t>(i)];
      for (int k = 0; k < i; ++k) s -= A[static_cast<size_t>(i) * n + k] * x[static_cast<size_t>(k)];
      x[static_cast<size_t>(i)] = s / A[static_cast<size_t>(i) * n + i];
    }
    for (int i = n - 1; i >= 0; --i) {
      double s = x[static_cast<size_t>(i)];
      for (int k = i + 1; k < n; ++k) s -= A[static_cast<size_t>(k) * n + i] * x[static_cast<size_t>(k)];
      x[static_cast<size_t>(i)] = s / A[static_cast<size_t>(i) * n + i];
    }
    return x;
  }
}

ExplanationCheck efficiency_check(const ShapleyResult& r, const std::string& how) {
  return make_check("efficiency-gap", r.gap, r.f_full - r.f_empty,
                    "sum of the values minus (f(text) - f(every word absent)); " + how);
}

ExplanationCheck f_empty_check(const ShapleyResult& r) {
  return make_check("f-empty", r.f_empty, r.f_full, "the output with every word absent (reference: with the text)");
}

ExplanationCheck flag_check(const std::string& name, bool on, const std::string& description) {
  return make_check(name, on ? 1 : 0, 1, description);
}

ExplanationCheck samples_per_feature_check(int64_t samples, int M) {
  const double per_feature = M > 0 ? static_cast<double>(samples) / M : 0;
  return make_check("samples-per-feature", per_feature, 2,
                    per_feature < 2 ? "few coalitions per feature (under 2): the estimate is rough; raise the budget"
                                    : "coalitions evaluated per feature");
}

}  // namespace explain_detail
}  // namespace wordlight
