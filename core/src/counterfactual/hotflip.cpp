// HotFlip (Ebrahimi et al. 2018), as LIT's hotflip.py: one backward pass of
// the margin m = logit(predicted) - logit(runner-up) with respect to the
// word embeddings; a replacement v for word w changes m by about
// (e_v - e_w)^T grad_w (first token of the word), so the candidate is
// argmax_v (e_v - e_w)^T (-grad_w) over whole vocabulary words other than
// the word itself; words are ranked by |grad_w|^2 (all their tokens) and
// the top `positions` (not locked, gradient not exactly 0) are combined,
// up to max-flips at once, fewest first.
#include <algorithm>
#include <cctype>
#include <numeric>
#include <unordered_map>

#include "counterfactual_internal.h"

namespace wordlight::cf_detail {

namespace {
std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

void run_hotflip(Search& s) {
  const Model& model = s.model;
  CounterfactualResult& r = s.r;
  const int T = static_cast<int>(s.enc.size()), D = model.embedding_dim();
  const int pred = r.prediction.label;
  int runner = pred == 0 ? 1 : 0;
  for (int c = 0; c < model.output_dim(); ++c)
    if (c != pred && r.prediction.logits[static_cast<size_t>(c)] > r.prediction.logits[static_cast<size_t>(runner)])
      runner = c;
  s.planned = 1 + search_size(static_cast<int>(s.integer("positions")), 1, static_cast<int>(s.integer("max-flips")));

  // The margin's gradient at the text's word embeddings: (T, D).
  TokenBatch b;
  b.B = 1;
  b.T = T;
  b.ids = s.enc.ids;
  b.mask.assign(s.enc.ids.size(), 1);
  std::vector<float> emb(static_cast<size_t>(T) * D);
  model.embed(b, emb.data());
  std::vector<float> grad;
  {
    s.check_cancel();
    Graph<float> g;
    Var x = g.input(Shape{1, T, D}, emb.data(), true);
    Var logits = model.forward(g, x, b);
    const int32_t pi = pred, ri = runner;
    Var margin = g.add(g.pick(logits, &pi), g.scale(g.pick(logits, &ri), -1.f));
    g.backward(g.sum(margin));
    const float* gr = g.grad(x);
    grad.assign(gr, gr + static_cast<size_t>(T) * D);
    r.model_evaluations += 1;
    s.progress();
  }

  // Rank the unlocked words by |grad|^2 over their tokens.
  for (WordScore& w : r.words) {
    double sq = 0;
    for (int32_t t : w.tokens)
      for (int d = 0; d < D; ++d) {
        const double v = grad[static_cast<size_t>(t) * D + d];
        sq += v * v;
      }
    w.score = sq;
  }
  r.ranking = "squared gradient of the margin (predicted logit - runner-up logit)";
  std::vector<int32_t> order;
  for (size_t w = 0; w < r.words.size(); ++w)
    if (!s.locked(static_cast<int32_t>(w)) && r.words[w].score > 0 && !r.words[w].tokens.empty())
      order.push_back(static_cast<int32_t>(w));
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t c) { return r.words[static_cast<size_t>(a)].score > r.words[static_cast<size_t>(c)].score; });
  if (order.size() > static_cast<size_t>(s.integer("positions"))) order.resize(static_cast<size_t>(s.integer("positions")));

  // The vocabulary's embeddings, in chunks.
  const int32_t V = std::min(s.tokenizer.vocab_size(), model.config().vocab_size);
  std::vector<float> table(static_cast<size_t>(V) * D);
  for (int32_t v0 = 0; v0 < V; v0 += 4096) {
    TokenBatch tb;
    tb.B = 1;
    tb.T = std::min<int32_t>(4096, V - v0);
    tb.ids.resize(static_cast<size_t>(tb.T));
    std::iota(tb.ids.begin(), tb.ids.end(), v0);
    tb.mask.assign(tb.ids.size(), 1);
    model.embed(tb, table.data() + static_cast<size_t>(v0) * D);
  }
  std::unordered_map<int32_t, std::string> whole;
  auto word_text = [&](int32_t id) -> const std::string& {
    auto it = whole.find(id);
    if (it == whole.end()) it = whole.emplace(id, whole_word_text(s.tokenizer, id)).first;
    return it->second;
  };
  std::vector<int32_t> positions;
  std::vector<std::vector<std::string>> options;
  std::vector<double> score(static_cast<size_t>(V));
  std::vector<int32_t> ids(static_cast<size_t>(V));
  for (int32_t w : order) {
    const WordScore& ws = r.words[static_cast<size_t>(w)];
    const int32_t t = ws.tokens[0];
    const float* g = grad.data() + static_cast<size_t>(t) * D;
    for (int32_t v = 0; v < V; ++v) {
      const float* e = table.data() + static_cast<size_t>(v) * D;
      double acc = 0;
      for (int d = 0; d < D; ++d) acc -= static_cast<double>(e[d]) * g[d];
      score[static_cast<size_t>(v)] = acc;  // (e_v - e_w)^T (-g) up to a constant of w
    }
    std::iota(ids.begin(), ids.end(), 0);
    const std::string original = lower(ws.text);
    // Best first (ties: the smaller id); walk until a whole word that is not the word itself.
    auto better = [&](int32_t a, int32_t c) {
      return score[static_cast<size_t>(a)] != score[static_cast<size_t>(c)] ? score[static_cast<size_t>(a)] > score[static_cast<size_t>(c)]
                                                                            : a < c;
    };
    std::string best;
    size_t done = 0;
    while (best.empty() && done < ids.size()) {
      const size_t chunk = std::min<size_t>(ids.size() - done, 256);
      std::partial_sort(ids.begin() + static_cast<long>(done), ids.begin() + static_cast<long>(done + chunk), ids.end(), better);
      for (size_t i = done; i < done + chunk && best.empty(); ++i) {
        const int32_t v = ids[i];
        if (v == s.enc.ids[static_cast<size_t>(t)]) continue;
        const std::string& wt = word_text(v);
        if (!wt.empty() && lower(wt) != original) best = wt;
      }
      done += chunk;
    }
    if (best.empty()) continue;
    positions.push_back(w);
    options.push_back({best});
    r.candidates.push_back({best});
  }
  r.positions = positions;
  r.search_size = search_size(static_cast<int>(positions.size()), 1, static_cast<int>(s.integer("max-flips")));
  s.planned = r.model_evaluations + r.search_size;
  search(s, positions, options, static_cast<int>(s.integer("max-flips")), static_cast<int>(s.integer("max-counterfactuals")),
         false, r.search_size);
}

}  // namespace wordlight::cf_detail
