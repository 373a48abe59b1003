#pragma once
// Tiny random models for the explanation tests: any model config with
// random_checkpoint's weights (biases and LayerNorm betas zero) and a toy
// tokenizer that fits a 12-entry vocabulary: WordPiece for transformers
// ("unbelievable" splits into three pieces), word-level for our CNN and
// BiLSTM. Each test file keeps its own configs (sizes, labels, kernels).
#include <cstdint>
#include <memory>

#include "wordlight/model.h"
#include "wordlight/model_config.h"
#include "wordlight/tokenizer.h"

namespace wltest {

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

}  // namespace wltest
