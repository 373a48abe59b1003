// Shared by the GPT-2 generation tests (test_gpt2_generate.cpp and
// test_gpt2_explain_generation.cpp): the tiny golden GPT2LMHeadModel of
// tests/golden/transformers/gpt2-lm, loaded through the one loading path,
// and a double-precision log-softmax of one row of logits.
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "golden_util.h"
#include "wordlight/generate.h"
#include "wordlight/model.h"
#include "wordlight/model_files.h"
#include "wordlight/tokenizer.h"

namespace wltest {

struct Lm {
  wordlight::ModelConfig cfg;
  std::unique_ptr<wordlight::Model> model;
  std::unique_ptr<wordlight::Tokenizer> tok;
};

inline Lm load_golden_lm() {
  wordlight::LoadedModel m = wordlight::load_model_directory(golden_dir("transformers", "gpt2-lm"));
  Lm l;
  l.model = std::move(m.model);
  l.tok = std::move(m.tokenizer);
  l.cfg = l.model->config();
  return l;
}

// Greedy decoding of n tokens, the model's EOS ignored.
inline wordlight::Generation greedy(const Lm& l, const std::string& prompt, int n) {
  wordlight::GenerateOptions o;
  o.max_new_tokens = n;
  o.ignore_eos = true;
  return wordlight::generate(*l.model, *l.tok, prompt, o);
}

inline std::vector<double> log_softmax_row(const float* x, int V) {
  double mx = *std::max_element(x, x + V), z = 0;
  for (int v = 0; v < V; ++v) z += std::exp(x[v] - mx);
  std::vector<double> out(static_cast<size_t>(V));
  for (int v = 0; v < V; ++v) out[static_cast<size_t>(v)] = x[v] - mx - std::log(z);
  return out;
}

}  // namespace wltest
