// The shipped GPT-2 (models/gpt2-small, issue 21): its card's perplexity on
// the SST dev sentences is re-measured from the shipped files, and it
// generates words from a prompt (greedy, on the key/value cache).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include "wordlight/datasets.h"
#include "wordlight/generate.h"
#include "wordlight/model.h"
#include "wordlight/model_files.h"
#include "wordlight/pretrain.h"
#include "wordlight/tokenizer.h"

using namespace wordlight;

namespace {
const std::string kDir = std::string(WORDLIGHT_SOURCE_DIR) + "/models/gpt2-small";

// The number after "key: " in the card's front matter.
double card_value(const std::string& key) {
  std::ifstream f(kDir + "/README.md");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(key + ": ", 0) == 0) return std::stod(line.substr(key.size() + 2));
  ADD_FAILURE() << "the card has no '" << key << ":' line";
  return NAN;
}
}  // namespace

TEST(Gpt2Shipped, CardPerplexityIsRemeasured) {
  auto [model, tok] = load_model_directory(kDir);
  const TextDataset ds = read_data_spec("sst2:" + std::string(WORDLIGHT_SOURCE_DIR) + "/../shared/data/sst/stsa.fine.dev");
  const Segments segs = segment_causal_documents(*tok, ds.texts, 128, model->config().eos_token_id);
  const MaskedLMStats st = evaluate_causal_lm(*model, segs, 64);
  const double ppl = std::exp(st.loss);
  EXPECT_NEAR(ppl, card_value("perplexity"), 1e-3 * ppl);
  EXPECT_LT(ppl, 4096.0 / 4);  // far below a uniform guess over the vocabulary
}

TEST(Gpt2Shipped, GeneratesWords) {
  auto [model, tok] = load_model_directory(kDir);
  GenerateOptions o;
  o.max_new_tokens = 20;
  o.ignore_eos = true;
  const Generation g = generate(*model, *tok, "This movie was", o);
  ASSERT_EQ(g.tokens.size(), 20u);
  int spaces = 0;
  for (char c : g.text) spaces += c == ' ';
  EXPECT_GE(spaces, 5) << g.text;
}
