#pragma once
// Tiny random models for the explanation tests: any model config with
// random_checkpoint's weights (biases and LayerNorm betas zero) and a toy
// tokenizer that fits a 12-entry vocabulary: WordPiece for transformers
// ("unbelievable" splits into three pieces), word-level for our CNN and
// BiLSTM. The configs most explanation suites use are here; a suite that
// needs other sizes, labels or kernels keeps its own. Also the few steps
// those suites share: explain() with options written as text, one row of
// ids as a batch, its word embeddings, a check by name.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "wordlight/explain.h"
#include "wordlight/model.h"
#include "wordlight/model_config.h"
#include "wordlight/tokenizer.h"

namespace wltest {

// A 2-class CNN (kernels 1 and 2), a 3-class BiLSTM and a 1-layer,
// 2-class BERT over the toy vocabularies.
inline const char* const kTinyCnn = R"({"model_type": "wordlight-cnn", "vocab_size": 12, "embedding_dim": 8,
  "num_filters": 6, "kernel_size": [1, 2], "num_labels": 2, "max_length": 16})";
inline const char* const kTinyBiLstm = R"({"model_type": "wordlight-bilstm", "vocab_size": 12, "embedding_dim": 8,
  "hidden_size": 6, "num_labels": 3, "max_length": 16, "id2label": {"0": "neg", "1": "neu", "2": "pos"}})";
inline const char* const kTinyBert = R"({"architectures": ["BertForSequenceClassification"], "model_type": "bert",
  "vocab_size": 12, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
  "intermediate_size": 32, "max_position_embeddings": 16, "hidden_dropout_prob": 0.0, "num_labels": 2})";

inline const char* const kTinyWordVocab = "<pad>\n<unk>\nthe\nfilm\nis\ngood\nbad\nnot\na\nvery\n,\n!\n";
inline const char* const kTinyPieceVocab =
    "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\nfilm\nis\nun\n##believ\n##able\ngood\n";

struct Tiny {
  std::unique_ptr<wordlight::Model> model;
  std::unique_ptr<wordlight::Tokenizer> tok;
};

inline Tiny tiny_model(const char* config, uint64_t seed) {
  using namespace wordlight;
  const ModelConfig cfg = parse_model_config(config, "test config");
  Tiny t;
  t.model = make_model(cfg, random_checkpoint(cfg, seed));
  if (cfg.is_transformer())
    t.tok = make_wordpiece_from_vocab_txt(kTinyPieceVocab, WordPieceOptions{}, "test vocab.txt");
  else
    t.tok = make_word_level_from_vocab(kTinyWordVocab, WordLevelOptions{}, "test vocab.txt");
  return t;
}

// explain() on `model` and `tok` with `options` as the CLI writes them
// ("steps=8,rule=left"); target -1: the predicted class; max_length -1: the
// model's.
inline wordlight::Explanation explain_text(const wordlight::Model& model, const wordlight::Tokenizer& tok,
                                           const std::string& text, const std::string& method,
                                           const std::string& options = "", int target = -1, int max_length = -1) {
  wordlight::ExplainRequest r;
  r.method = method;
  r.options = wordlight::parse_option_list(options);
  r.target = target;
  r.max_length = max_length;
  return wordlight::explain(model, tok, text, r);
}

// One row of token ids as a batch, every position attended.
inline wordlight::TokenBatch one_row(const std::vector<int32_t>& ids) {
  wordlight::TokenBatch b;
  b.B = 1;
  b.T = static_cast<int>(ids.size());
  b.ids = ids;
  b.mask.assign(ids.size(), 1);
  return b;
}

// The word embeddings (T, D) of one row of ids.
inline std::vector<float> embed_ids(const wordlight::Model& m, const std::vector<int32_t>& ids) {
  std::vector<float> e(ids.size() * static_cast<size_t>(m.embedding_dim()));
  m.embed(one_row(ids), e.data());
  return e;
}

// The explanation's check called `name`, or nullptr.
inline const wordlight::ExplanationCheck* find_check(const wordlight::Explanation& e, const std::string& name) {
  for (const wordlight::ExplanationCheck& c : e.checks)
    if (c.name == name) return &c;
  return nullptr;
}

}  // namespace wltest
