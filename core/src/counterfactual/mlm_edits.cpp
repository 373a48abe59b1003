// MLM-guided minimal edits (ours, the step after input marginalization):
// rank the words by an explanation method, mask the top k (not locked) at
// once in a masked LM, take its top m whole-word fills at each, and try the
// combinations of positions in order of size, each with every combination
// of fills: sum_j C(k, j) m^j edited texts, capped by max-evaluations (the
// result says so). The flips (all minimal) are ordered by size, then by fluency,
// the MLM's pseudo-log-likelihood of the edited text (Salazar et al. 2020),
// measured for the first fluency-pool of them.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <numeric>
#include <unordered_map>

#include "counterfactual_internal.h"

namespace wordlight {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The MLM's ids of `text` with each span's tokens replaced by one mask
// token; *mask_pos gets the position of each span's mask.
std::vector<int32_t> masked_ids(const Tokenizer& tok, const std::string& text, const std::vector<Span>& spans,
                                std::vector<int>* mask_pos) {
  const SpecialTokens& sp = tok.special_tokens();
  if (!spans.empty() && sp.mask_id < 0) throw Error("mlm-edits: the masked LM's tokenizer has no mask token");
  std::vector<int32_t> ids(sp.prefix_ids.begin(), sp.prefix_ids.end());
  mask_pos->assign(spans.size(), -1);
  for (const RawToken& t : tok.tokenize(text)) {
    int k = -1;
    for (size_t i = 0; i < spans.size() && k < 0; ++i)
      if (t.span.begin < spans[i].end && t.span.end > spans[i].begin) k = static_cast<int>(i);
    if (k < 0) {
      ids.push_back(t.id);
    } else if ((*mask_pos)[static_cast<size_t>(k)] < 0) {
      (*mask_pos)[static_cast<size_t>(k)] = static_cast<int>(ids.size());
      ids.push_back(sp.mask_id);
    }
  }
  ids.insert(ids.end(), sp.suffix_ids.begin(), sp.suffix_ids.end());
  for (size_t i = 0; i < spans.size(); ++i)
    if ((*mask_pos)[i] < 0) throw Error("mlm-edits: the masked LM's tokenizer reads nothing of a masked word");
  if (tok.model_max_length() > 0 && static_cast<int>(ids.size()) > tok.model_max_length())
    throw Error("mlm-edits: the text is " + std::to_string(ids.size()) + " tokens for the masked LM, longer than its " +
                std::to_string(tok.model_max_length()));
  return ids;
}

// Logits (P, V) of the MLM at `positions` (flat b * T + t) of a batch.
std::vector<float> mlm_logits(const Model& mlm, const TokenBatch& b, const std::vector<int32_t>& positions) {
  const int D = mlm.embedding_dim();
  std::vector<float> emb(static_cast<size_t>(b.B) * b.T * D);
  mlm.embed(b, emb.data());
  Graph<float> g;
  Var x = g.input(Shape{b.B, b.T, D}, emb.data(), false);
  Var y = mlm.forward_masked_lm(g, x, b, positions);
  return std::vector<float>(g.value(y), g.value(y) + g.numel(y));
}

}  // namespace

std::vector<std::vector<std::string>> mlm_fills(const Model& mlm, const Tokenizer& tok, const std::string& text,
                                                const std::vector<Span>& spans, int m, int64_t* evaluations) {
  if (spans.empty()) return {};
  std::vector<int> pos;
  TokenBatch b;
  b.ids = masked_ids(tok, text, spans, &pos);
  b.B = 1;
  b.T = static_cast<int>(b.ids.size());
  b.mask.assign(b.ids.size(), 1);
  const std::vector<int32_t> positions(pos.begin(), pos.end());
  const std::vector<float> logits = mlm_logits(mlm, b, positions);
  if (evaluations) *evaluations += 1;
  const int V = mlm.output_dim();
  const int32_t Vt = std::min(V, tok.vocab_size());
  std::unordered_map<int32_t, std::string> whole;
  std::vector<std::vector<std::string>> out(spans.size());
  std::vector<int32_t> ids(static_cast<size_t>(Vt));
  for (size_t k = 0; k < spans.size(); ++k) {
    const float* l = logits.data() + k * static_cast<size_t>(V);
    const std::string original = lower(text.substr(spans[k].begin, spans[k].end - spans[k].begin));
    std::iota(ids.begin(), ids.end(), 0);
    auto better = [&](int32_t a, int32_t c) { return l[a] != l[c] ? l[a] > l[c] : a < c; };
    size_t done = 0;
    while (static_cast<int>(out[k].size()) < m && done < ids.size()) {
      const size_t chunk = std::min<size_t>(ids.size() - done, 256);
      std::partial_sort(ids.begin() + static_cast<long>(done), ids.begin() + static_cast<long>(done + chunk), ids.end(), better);
      for (size_t i = done; i < done + chunk && static_cast<int>(out[k].size()) < m; ++i) {
        auto it = whole.find(ids[i]);
        if (it == whole.end()) it = whole.emplace(ids[i], whole_word_text(tok, ids[i])).first;
        const std::string& w = it->second;
        if (w.empty() || lower(w) == original) continue;
        if (std::find(out[k].begin(), out[k].end(), w) == out[k].end()) out[k].push_back(w);
      }
      done += chunk;
    }
  }
  return out;
}

double pseudo_log_likelihood(const Model& mlm, const Tokenizer& tok, const std::string& text, int batch_size,
                             int* tokens, int64_t* evaluations) {
  std::vector<int> none;
  const std::vector<int32_t> ids = masked_ids(tok, text, {}, &none);
  const SpecialTokens& sp = tok.special_tokens();
  if (sp.mask_id < 0) throw Error("pseudo-log-likelihood: the masked LM's tokenizer has no mask token");
  const int T = static_cast<int>(ids.size());
  const int first = static_cast<int>(sp.prefix_ids.size()), last = T - static_cast<int>(sp.suffix_ids.size());
  const int V = mlm.output_dim();
  double pll = 0;
  for (int p0 = first; p0 < last; p0 += batch_size) {
    const int nb = std::min(batch_size, last - p0);
    TokenBatch b;
    b.B = nb;
    b.T = T;
    std::vector<int32_t> positions;
    for (int j = 0; j < nb; ++j) {
      std::vector<int32_t> row = ids;
      row[static_cast<size_t>(p0 + j)] = sp.mask_id;
      b.ids.insert(b.ids.end(), row.begin(), row.end());
      positions.push_back(j * T + p0 + j);
    }
    b.mask.assign(b.ids.size(), 1);
    const std::vector<float> l = mlm_logits(mlm, b, positions);
    for (int j = 0; j < nb; ++j) {
      const float* row = l.data() + static_cast<size_t>(j) * V;
      const float mx = *std::max_element(row, row + V);
      double z = 0;
      for (int v = 0; v < V; ++v) z += std::exp(static_cast<double>(row[v]) - mx);
      pll += static_cast<double>(row[ids[static_cast<size_t>(p0 + j)]]) - mx - std::log(z);
    }
    if (evaluations) *evaluations += nb;
  }
  if (tokens) *tokens = std::max(0, last - first);
  return pll;
}

namespace cf_detail {

void run_mlm_edits(Search& s) {
  CounterfactualResult& r = s.r;
  const int k = static_cast<int>(s.integer("positions")), m = static_cast<int>(s.integer("fills"));
  const int64_t cap = s.integer("max-evaluations");
  const int max_cf = static_cast<int>(s.integer("max-counterfactuals"));
  s.planned = 1 + std::min(cap, search_size(k, m, k));
  const std::vector<int32_t> order = s.most_relevant_unlocked(s.str("method"), k);
  std::vector<Span> spans;
  for (int32_t w : order) spans.push_back(r.words[static_cast<size_t>(w)].span);
  s.check_cancel();
  const std::vector<std::vector<std::string>> fills =
      mlm_fills(*s.request.mlm, *s.request.mlm_tokenizer, s.text, spans, m, &r.mlm_evaluations);
  r.positions = order;
  r.candidates = fills;
  r.search_size = search_size(static_cast<int>(order.size()), m, static_cast<int>(order.size()));
  s.planned = r.model_evaluations + std::min(cap, r.search_size);
  search(s, order, fills, static_cast<int>(order.size()), max_cf, true, cap);

  // Fluency of the flips (the first fluency-pool; every one is minimal), fewest edits first, then the fluent ones.
  const int batch = static_cast<int>(s.integer("batch-size"));
  int n_tok = 0;
  r.fluency = pseudo_log_likelihood(*s.request.mlm, *s.request.mlm_tokenizer, s.text, batch, &n_tok, &r.mlm_evaluations);
  r.fluency_per_token = n_tok ? r.fluency / n_tok : 0;
  r.has_fluency = true;
  std::vector<Counterfactual>& cfs = r.counterfactuals;
  std::vector<Counterfactual> pool;
  for (Counterfactual& c : cfs)
    if (static_cast<long long>(pool.size()) < s.integer("fluency-pool")) pool.push_back(std::move(c));
  for (Counterfactual& c : pool) {
    s.check_cancel();
    int nt = 0;
    c.fluency = pseudo_log_likelihood(*s.request.mlm, *s.request.mlm_tokenizer, c.text, batch, &nt, &r.mlm_evaluations);
    c.fluency_per_token = nt ? c.fluency / nt : 0;
    c.has_fluency = true;
  }
  std::stable_sort(pool.begin(), pool.end(), [](const Counterfactual& a, const Counterfactual& b) {
    return a.edits.size() != b.edits.size() ? a.edits.size() < b.edits.size() : a.fluency > b.fluency;
  });
  if (pool.size() > static_cast<size_t>(max_cf)) pool.resize(static_cast<size_t>(max_cf));
  cfs = std::move(pool);
}

}  // namespace cf_detail
}  // namespace wordlight
