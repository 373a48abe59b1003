#pragma once
// The masked language model input-marginalization proposes its candidates
// with (issue 15), for the CLI's explain and evaluate: --mlm DIR, or by
// default models/sst2-bert-mlm (from the working directory, else next to
// the classifier's directory) when it exists.
#include <memory>
#include <string>

#include "cli.h"
#include "wordlight/model.h"
#include "wordlight/tokenizer.h"

namespace wordlight::cli {

struct MaskedLm {
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
  std::string dir;
};

// Loads the masked LM when `needed` (a method that uses one is run) or when
// --mlm is given; otherwise an empty MaskedLm. Throws when needed and none
// is found, saying where it looked.
MaskedLm load_masked_lm(const Args& a, const std::string& classifier_dir, bool needed);

}  // namespace wordlight::cli
