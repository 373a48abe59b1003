// Input marginalization (Kim, Yi, Kim & Yoon, "Interpretation of NLP models
// through input marginalization", EMNLP 2020): instead of replacing a word
// by a placeholder the model never saw in training (occlusion's [PAD] or
// [MASK]), marginalize it out over what a masked language model would put
// there:
//   p(y | x without w) = sum_c p_MLM(c | x with w masked) p(y | x with c)
//                        / sum_c p_MLM(c | x with w masked),
// the sum over the candidates c kept (p_MLM(c) > sigma, at most
// max-candidates of the most probable, optionally without the word itself),
// renormalised over them; a word's score is the weight of evidence
//   log2 odds p(y | x) - log2 odds p(y | x without w)
// (probabilities clamped to [1e-15, 1 - 1e-15]; y the explained class).
// Positive: the word makes y more likely than the words the MLM expects there.
//
// What is done, precisely:
// - Features are the classifier's words (all their sub-word tokens). The
//   MLM reads the text as its own tokenizer splits it; every MLM token that
//   overlaps the word's characters is masked, and all of them together are
//   replaced by ONE [MASK]: a multi-piece word ("un ##believ ##able") is
//   masked whole and the candidates are whole words (the MLM's vocabulary
//   entries that are not continuation pieces "##..." nor special tokens
//   "[...]" / "<...>"). A candidate then replaces all the word's tokens in
//   the classifier's input by the classifier's tokenization of the
//   candidate's text, so the input may get shorter or longer.
// - Candidates the classifier cannot read (its tokenizer gives the unknown
//   token: our CNN and BiLSTM have word vocabularies that lack many of the
//   MLM's words) are dropped; the MLM probability they had (above sigma)
//   is reported as the check "mapping-lost-mass".
// - exclude-original drops the word itself (Pham et al. 2021, "Double
//   Trouble": BERT often proposes the word it sees masked, which drives
//   predictable words towards 0).
// - The check "kept-mass" is the mean over words of the MLM probability of
//   the candidates used (of the whole distribution): what the
//   marginalization covers. "words-without-candidates" counts words that got
//   none (every candidate under sigma or unreadable, or the word past the
//   MLM's maximum length): their score is 0.
// - Deterministic (no sampling). Batched: the masked texts go through the
//   MLM batch-size at a time, the candidate texts through the classifier
//   the same way, identical candidate texts once; progress and cancel
//   between batches. Model evaluations count MLM and classifier rows.
// - The explained output is always the probability of the class (the
//   weight of evidence is defined on it): the registry gives option output
//   the one choice probability (registry.cpp, option_facts).
// The masked LM comes with the request (ExplainRequest::masked_lm): the
// CLI's --mlm DIR (default models/sst2-bert-mlm when it exists), in JS a
// second loaded model.
#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <unordered_map>

#include "explain_internal.h"
#include "method_entry.h"

namespace wordlight::explain_detail {

namespace {

double log2_odds(double p) {
  const double q = std::min(std::max(p, 1e-15), 1 - 1e-15);
  return std::log2(q / (1 - q));
}

// The text a whole-word MLM token stands for, or "" when it is not one.
std::string whole_word_text(const Tokenizer& mtok, int32_t id) {
  const std::string& s = mtok.id_to_token(id);
  if (s.empty()) return "";
  if (s.size() >= 2 && ((s.front() == '[' && s.back() == ']') || (s.front() == '<' && s.back() == '>'))) return "";
  if (s.rfind("##", 0) == 0) return "";
  if (s.rfind("\xC4\xA0", 0) == 0) return s.size() > 2 ? s.substr(2) : "";          // byte-level BPE: "Ġword"
  if (s.rfind("\xE2\x96\x81", 0) == 0) return s.size() > 3 ? s.substr(3) : "";      // SentencePiece: "▁word"
  return s;
}

void run(MethodContext& ctx, Explanation& e) {
  if (!ctx.masked_lm || !ctx.masked_lm_tokenizer)
    throw Error(
        "input-marginalization needs a masked language model: the CLI's --mlm DIR (default models/sst2-bert-mlm), "
        "in JS a second loaded model");
  const Model& mlm = *ctx.masked_lm;
  const Tokenizer& mtok = *ctx.masked_lm_tokenizer;
  if (mlm.config().head != ModelHead::MaskedLM)
    throw Error("input-marginalization: the masked LM given (" + mlm.config().architecture +
                ") has no masked-LM head");
  const int32_t mask_id = mtok.special_tokens().mask_id;
  if (mask_id < 0) throw Error("input-marginalization: the masked LM's tokenizer has no mask token");
  const double sigma = ctx.opts.number("sigma");
  const bool exclude_original = ctx.opts.boolean("exclude-original");
  const int max_candidates = static_cast<int>(ctx.opts.integer("max-candidates"));
  const int show = static_cast<int>(ctx.opts.integer("show-candidates"));
  const int B = static_cast<int>(ctx.opts.integer("batch-size"));
  const int V = std::min(mlm.output_dim(), mtok.vocab_size());

  // The class's probability (output=probability, the option's one choice).
  if (ctx.opts.str("output") != "probability") throw Error("input-marginalization: internal: output is not probability");
  ModelTarget* t = &ctx.target;
  const double p_full = t->f_input();
  const int W = static_cast<int>(e.words.size());

  // ---- the MLM: one masked text per word.
  EncodeOptions meo;
  const Encoding menc = mtok.encode(ctx.text, meo);
  struct Masked {
    std::vector<int32_t> ids;
    int position = -1;      // of the [MASK]
    int32_t original = -1;  // the word's own MLM id when it is one whole-word token
  };
  std::vector<Masked> masked(static_cast<size_t>(W));
  for (int w = 0; w < W; ++w) {
    const Span sp = e.words[static_cast<size_t>(w)].span;
    Masked& m = masked[static_cast<size_t>(w)];
    std::vector<int32_t> covered;
    for (size_t i = 0; i < menc.size(); ++i)
      if (menc.word_ids[i] >= 0 && menc.offsets[i].begin < sp.end && menc.offsets[i].end > sp.begin)
        covered.push_back(static_cast<int32_t>(i));
    if (covered.empty()) continue;  // past the MLM's maximum length
    if (covered.size() == 1) m.original = menc.ids[static_cast<size_t>(covered[0])];
    for (size_t i = 0; i < menc.size(); ++i) {
      if (static_cast<int32_t>(i) == covered.front()) {
        m.position = static_cast<int>(m.ids.size());
        m.ids.push_back(mask_id);
      } else if (std::find(covered.begin(), covered.end(), static_cast<int32_t>(i)) == covered.end()) {
        m.ids.push_back(menc.ids[i]);
      }
    }
  }
  std::vector<int> todo;
  for (int w = 0; w < W; ++w)
    if (masked[static_cast<size_t>(w)].position >= 0) todo.push_back(w);
  t->set_total(static_cast<int64_t>(todo.size()));

  // Whole-word candidates and their classifier tokens, looked up once per id.
  std::vector<int8_t> readable(static_cast<size_t>(V), -1);  // -1 unknown yet, 0 no, 1 yes
  std::unordered_map<int32_t, std::vector<int32_t>> cls_ids;
  const int32_t cls_unk = ctx.tokenizer.special_tokens().unk_id;
  auto classifier_ids = [&](int32_t c) -> const std::vector<int32_t>* {
    auto it = cls_ids.find(c);
    if (it != cls_ids.end()) return it->second.empty() ? nullptr : &it->second;
    std::vector<int32_t> ids;
    const std::string txt = whole_word_text(mtok, c);
    bool ok = !txt.empty();
    if (ok)
      for (const RawToken& r : ctx.tokenizer.tokenize(txt)) {
        if (r.id == cls_unk) ok = false;
        ids.push_back(r.id);
      }
    if (!ok || ids.empty()) ids.clear();
    auto& slot = cls_ids[c] = std::move(ids);
    return slot.empty() ? nullptr : &slot;
  };
  std::vector<uint8_t> whole(static_cast<size_t>(V));
  for (int32_t c = 0; c < V; ++c) whole[static_cast<size_t>(c)] = whole_word_text(mtok, c).empty() ? 0 : 1;

  struct Cand {
    int32_t id;
    double p;
    int row = -1;  // classifier text
  };
  std::vector<std::vector<Cand>> cands(static_cast<size_t>(W));
  std::vector<double> kept_mass(static_cast<size_t>(W), 0.0), lost_mass(static_cast<size_t>(W), 0.0);
  const int D = mlm.embedding_dim();
  for (size_t s = 0; s < todo.size(); s += static_cast<size_t>(B)) {
    t->check_cancel();
    const size_t nb = std::min(static_cast<size_t>(B), todo.size() - s);
    TokenBatch b;
    b.B = static_cast<int>(nb);
    b.T = 1;
    for (size_t j = 0; j < nb; ++j) b.T = std::max(b.T, static_cast<int>(masked[static_cast<size_t>(todo[s + j])].ids.size()));
    std::vector<int32_t> positions;
    for (size_t j = 0; j < nb; ++j) {
      const Masked& m = masked[static_cast<size_t>(todo[s + j])];
      for (int i = 0; i < b.T; ++i) {
        const bool real = i < static_cast<int>(m.ids.size());
        b.ids.push_back(real ? m.ids[static_cast<size_t>(i)] : mlm.config().pad_token_id);
        b.mask.push_back(real ? 1 : 0);
      }
      positions.push_back(static_cast<int32_t>(j) * b.T + m.position);
    }
    std::vector<float> emb(nb * static_cast<size_t>(b.T) * static_cast<size_t>(D));
    mlm.embed(b, emb.data());
    Graph<float> g;
    Var x = g.input(Shape{b.B, b.T, D}, emb.data(), false);
    const float* logits = g.value(mlm.forward_masked_lm(g, x, b, positions));
    const int Vm = mlm.output_dim();
    for (size_t j = 0; j < nb; ++j) {
      const int w = todo[s + j];
      const float* l = logits + j * static_cast<size_t>(Vm);
      const double mx = *std::max_element(l, l + Vm);
      double z = 0;
      for (int c = 0; c < Vm; ++c) z += std::exp(static_cast<double>(l[c]) - mx);
      std::vector<Cand> keep;
      double lost = 0;
      for (int32_t c = 0; c < V; ++c) {
        if (!whole[static_cast<size_t>(c)]) continue;
        const double p = std::exp(static_cast<double>(l[c]) - mx) / z;
        if (!(p > sigma)) continue;
        if (exclude_original && c == masked[static_cast<size_t>(w)].original) continue;
        if (readable[static_cast<size_t>(c)] < 0) readable[static_cast<size_t>(c)] = classifier_ids(c) ? 1 : 0;
        if (!readable[static_cast<size_t>(c)]) {
          lost += p;
          continue;
        }
        keep.push_back({c, p, -1});
      }
      std::sort(keep.begin(), keep.end(), [](const Cand& a, const Cand& c) { return a.p != c.p ? a.p > c.p : a.id < c.id; });
      if (max_candidates > 0 && static_cast<int>(keep.size()) > max_candidates) keep.resize(static_cast<size_t>(max_candidates));
      for (const Cand& c : keep) kept_mass[static_cast<size_t>(w)] += c.p;
      lost_mass[static_cast<size_t>(w)] = lost;
      cands[static_cast<size_t>(w)] = std::move(keep);
    }
    ctx.target.add_evaluations(static_cast<int64_t>(nb));
    t->advance(static_cast<int64_t>(nb));
  }

  // ---- the classifier: the text with each word replaced by each candidate.
  std::map<std::vector<int32_t>, int> row_of;
  std::vector<std::vector<int32_t>> rows;
  const std::vector<int32_t>& ids = t->ids();
  for (int w = 0; w < W; ++w) {
    const std::vector<int32_t>& wt = e.words[static_cast<size_t>(w)].tokens;
    if (wt.empty()) continue;
    for (Cand& c : cands[static_cast<size_t>(w)]) {
      const std::vector<int32_t>& rep = *classifier_ids(c.id);
      std::vector<int32_t> seq;
      bool placed = false;
      for (int i = 0; i < static_cast<int>(ids.size()); ++i) {
        if (std::find(wt.begin(), wt.end(), i) == wt.end()) {
          seq.push_back(ids[static_cast<size_t>(i)]);
        } else if (!placed) {
          seq.insert(seq.end(), rep.begin(), rep.end());
          placed = true;
        }
      }
      if (seq == ids) {
        c.row = -2;  // the text itself: p_full
        continue;
      }
      auto it = row_of.find(seq);
      if (it == row_of.end()) {
        it = row_of.emplace(seq, static_cast<int>(rows.size())).first;
        rows.push_back(std::move(seq));
      }
      c.row = it->second;
    }
  }
  t->set_total(static_cast<int64_t>(todo.size() + rows.size()));
  std::vector<double> out(rows.size());
  for (size_t s = 0; s < rows.size(); s += static_cast<size_t>(B)) {
    t->check_cancel();
    const size_t nb = std::min(static_cast<size_t>(B), rows.size() - s);
    std::vector<std::vector<int32_t>> batch(rows.begin() + static_cast<long>(s), rows.begin() + static_cast<long>(s + nb));
    t->eval_ids(batch, out.data() + s);
    t->advance(static_cast<int64_t>(nb));
  }

  // ---- scores.
  int without = 0;
  double kept_sum = 0, lost_sum = 0, n_cands = 0;
  const double lo_full = log2_odds(p_full);
  for (int w = 0; w < W; ++w) {
    WordScore& ws = e.words[static_cast<size_t>(w)];
    const std::vector<Cand>& cs = cands[static_cast<size_t>(w)];
    kept_sum += kept_mass[static_cast<size_t>(w)];
    lost_sum += lost_mass[static_cast<size_t>(w)];
    n_cands += static_cast<double>(cs.size());
    ws.score = 0;
    if (cs.empty() || kept_mass[static_cast<size_t>(w)] <= 0) {
      ++without;
    } else {
      double num = 0;
      for (const Cand& c : cs) num += c.p * (c.row == -2 ? p_full : out[static_cast<size_t>(c.row)]);
      const double p_marg = num / kept_mass[static_cast<size_t>(w)];
      ws.score = lo_full - log2_odds(p_marg);
      for (size_t k = 0; k < cs.size() && static_cast<int>(k) < show; ++k) {
        WordCandidate wc;
        wc.text = whole_word_text(mtok, cs[k].id);
        wc.weight = cs[k].p / kept_mass[static_cast<size_t>(w)];
        wc.probability = cs[k].p;
        wc.output = cs[k].row == -2 ? p_full : out[static_cast<size_t>(cs[k].row)];
        ws.candidates.push_back(wc);
      }
    }
    for (int32_t tok : ws.tokens) e.tokens[static_cast<size_t>(tok)].score = ws.score / static_cast<double>(ws.tokens.size());
  }
  const double Wd = std::max(W, 1);
  // Masses and counts: never negative, so each relative is value / reference.
  e.checks.push_back(make_check("kept-mass", kept_sum / Wd, 1,
                                "mean over the words of the masked LM's probability covered by the candidates used "
                                "(above sigma, within max-candidates, readable by the classifier); the rest is left "
                                "out of the marginalization"));
  if (lost_sum > 0 || architecture_group(ctx.model.config()) != "transformer")
    e.checks.push_back(make_check("mapping-lost-mass", lost_sum / Wd, 1,
                                  "mean over the words of the masked LM's probability (above sigma) on candidates "
                                  "the classifier's vocabulary does not have"));
  e.checks.push_back(make_check("candidates-per-word", n_cands / Wd, max_candidates,
                                "candidate words per word (reference: max-candidates)"));
  if (without > 0)
    e.checks.push_back(make_check("words-without-candidates", without, W,
                                  "words with no candidate (all under sigma or unreadable, or past the masked LM's "
                                  "length): score 0"));
}

}  // namespace

std::vector<MethodEntry> input_marginalization_methods() {
  MethodEntry m;
  m.info.name = "input-marginalization";
  m.info.description =
      "input marginalization (Kim et al. 2020): log-odds drop when a word is replaced by what a masked language model "
      "expects there (its candidates weighted by their probability) instead of a placeholder; needs a masked LM "
      "(CLI --mlm DIR, default models/sst2-bert-mlm; JS: a second loaded model)";
  m.info.word_level = true;
  m.info.check = "kept-mass";
  m.info.options = {
      num_option("sigma", 1e-5, 0, 1, "candidates with a masked-LM probability above sigma are kept (Kim et al.: 1e-5)"),
      bool_option("exclude-original", false,
                  "leave the word itself out of its candidates (Pham et al. 2021: BERT often proposes the masked word)"),
      int_option("max-candidates", 100, 0, 1000000,
                 "at most this many of the most probable candidates per word (0: no cap); the kept mass is reported"),
      int_option("show-candidates", 10, 0, 1000, "candidates per word kept in the result (for the page's hover)"),
      int_option("batch-size", 32, 1, 4096, "texts run through the masked LM and the classifier at once (bounds memory)"),
  };
  m.run = run;
  return {m};
}

}  // namespace wordlight::explain_detail
