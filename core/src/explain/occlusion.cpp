// Occlusion / leave-one-out (Li et al. 2016; Zeiler & Fergus 2014 for the
// sliding windows): the drop of the output when words are occluded,
//   score(window) = f(x) - f(x with the window's words occluded),
// over every window of `window` consecutive words; a word's score is the
// mean over the windows that contain it (with window=1: its own drop).
// Occluding a word means, for all its tokens (mode):
//   remove  delete them (the text gets shorter)
//   mask    replace each by the [MASK] token
//   unk     replace each by the unknown-word token
//   pad     replace each by the padding token (as a real, attended token)
//   zero    set their word embeddings to zero
// Word-level: token scores are the word's score shared evenly by its tokens.
#include <algorithm>
#include <cmath>

#include "explain_internal.h"
#include "method_entry.h"
#include "wordlight/memory_budget.h"

namespace wordlight::explain_detail {

namespace {

void run(MethodContext& ctx, Explanation& e) {
  ModelTarget& t = ctx.target;
  const std::string mode = ctx.opts.str("mode");
  const int W = static_cast<int>(e.words.size());
  const int k = std::min(W, static_cast<int>(ctx.opts.integer("window")));
  const int B = rows_that_fit(t.model().config(), t.T(), RowPass::forward, ctx.opts.number("memory-mb"),
                              static_cast<int>(ctx.opts.integer("batch-size")), "occlusion");
  const int n_windows = W - k + 1;
  int32_t replace = -1;
  if (mode == "mask" || mode == "unk" || mode == "pad") {
    replace = placeholder_token(mode, ctx.tokenizer, t.model().config());
    if (replace < 0) throw Error("occlusion: mode=" + mode + " needs a " + mode + " token; this tokenizer has none");
  }
  const int T = t.T(), D = t.D();
  // Token positions occluded by window s.
  auto occluded = [&](int s) {
    std::vector<uint8_t> m(static_cast<size_t>(T), 0);
    for (int w = s; w < s + k; ++w)
      for (int32_t tok : e.words[static_cast<size_t>(w)].tokens) m[static_cast<size_t>(tok)] = 1;
    return m;
  };
  t.set_total(n_windows);
  std::vector<double> drop(static_cast<size_t>(n_windows));
  for (int s0 = 0; s0 < n_windows; s0 += B) {
    t.check_cancel();
    const int nb = std::min(B, n_windows - s0);
    std::vector<double> out(static_cast<size_t>(nb));
    if (mode == "zero") {
      std::vector<float> xs(static_cast<size_t>(nb) * T * D);
      for (int j = 0; j < nb; ++j) {
        const std::vector<uint8_t> m = occluded(s0 + j);
        float* xj = xs.data() + static_cast<size_t>(j) * T * D;
        std::copy(t.embeddings().begin(), t.embeddings().end(), xj);
        for (int i = 0; i < T; ++i)
          if (m[static_cast<size_t>(i)])
            std::fill(xj + static_cast<size_t>(i) * D, xj + static_cast<size_t>(i + 1) * D, 0.f);
      }
      t.eval(nb, xs.data(), out.data(), nullptr);
    } else {
      std::vector<std::vector<int32_t>> seqs(static_cast<size_t>(nb));
      for (int j = 0; j < nb; ++j) {
        const std::vector<uint8_t> m = occluded(s0 + j);
        for (int i = 0; i < T; ++i) {
          const int32_t id = t.ids()[static_cast<size_t>(i)];
          if (!m[static_cast<size_t>(i)])
            seqs[static_cast<size_t>(j)].push_back(id);
          else if (mode != "remove")
            seqs[static_cast<size_t>(j)].push_back(replace);
        }
      }
      t.eval_ids(seqs, out.data());
    }
    for (int j = 0; j < nb; ++j) drop[static_cast<size_t>(s0 + j)] = t.f_input() - out[static_cast<size_t>(j)];
    t.advance(nb);
  }
  for (int w = 0; w < W; ++w) {
    double sum = 0;
    int count = 0;
    for (int s = std::max(0, w - k + 1); s <= std::min(w, n_windows - 1); ++s) {
      sum += drop[static_cast<size_t>(s)];
      ++count;
    }
    WordScore& ws = e.words[static_cast<size_t>(w)];
    ws.score = count ? sum / count : 0;
    for (int32_t tok : ws.tokens)
      e.tokens[static_cast<size_t>(tok)].score = ws.score / static_cast<double>(ws.tokens.size());
  }
}

}  // namespace

std::vector<MethodEntry> occlusion_methods() {
  return {method_entry(
      "occlusion", "occlusion / leave-one-out: how much the output drops when a word (or a window of words) is occluded",
      run,
      {
          choice_option("mode", "remove", {"remove", "mask", "unk", "pad", "zero"},
                        "how a word is occluded: removed, replaced by [MASK] / <unk> / [PAD], or its embedding zeroed"),
          int_option("window", 1, 1, 64,
                     "words occluded together (sliding window); a word's score averages its windows"),
          int_option("batch-size", 16, 1, 4096, "occluded texts run through the model at once (bounds memory)"),
      },
      "", ScoredBy::word)};
}

}  // namespace wordlight::explain_detail
