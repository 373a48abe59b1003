// What real Hugging Face checkpoints contain, beyond what our own writer
// produces (issue 17): the fixtures of tests/fixtures/checkpoints/ (written
// by make_checkpoints.py from the documented formats; the tokenizers also
// compared with @huggingface/transformers in tests/js/) and the golden
// PyTorch checkpoints with their tensors renamed as a bare encoder saves
// them.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "check_util.h"
#include "golden_util.h"
#include "wordlight/error.h"
#include "wordlight/model.h"
#include "wordlight/model_config.h"
#include "wordlight/model_files.h"
#include "wordlight/predict.h"
#include "wordlight/safetensors.h"
#include "wordlight/tokenizer.h"

using namespace wordlight;
using wltest::all_close;

namespace {

std::string fixture(const std::string& name) {
  return std::string(WORDLIGHT_SOURCE_DIR) + "/tests/fixtures/checkpoints/" + name;
}

ModelConfig config_of(const std::string& name) { return read_model_config_file(fixture(name) + "/config.json"); }

std::vector<int32_t> ids_of(const Tokenizer& t, const std::string& text) { return t.encode(text).ids; }

}  // namespace

TEST(CheckpointQuirks, ConfigKeysOfRealCheckpoints) {
  // id2label keys out of order, problem_type, torch_dtype, and keys we do
  // not know (a nested one among them) are read or ignored.
  const ModelConfig bert = config_of("bert_uncased");
  EXPECT_EQ(bert.architecture, "BertForSequenceClassification");
  EXPECT_EQ(bert.id2label, (std::vector<std::string>{"NEGATIVE", "POSITIVE"}));
  EXPECT_EQ(bert.label2id.at("POSITIVE"), 1);
  EXPECT_EQ(bert.problem_type, "single_label_classification");
  EXPECT_EQ(bert.vocab_size, 64);

  const ModelConfig cased = config_of("bert_cased");
  EXPECT_EQ(cased.head, ModelHead::MaskedLM);
  EXPECT_EQ(cased.family, ModelFamily::Bert);

  // DistilBERT's own key names (dim, n_layers, n_heads, hidden_dim).
  const ModelConfig distil = config_of("distilbert_uncased");
  EXPECT_EQ(distil.family, ModelFamily::DistilBert);
  EXPECT_EQ(distil.hidden_size, 8);
  EXPECT_EQ(distil.num_hidden_layers, 1);
  EXPECT_EQ(distil.num_attention_heads, 2);
  EXPECT_EQ(distil.intermediate_size, 16);

  const ModelConfig roberta = config_of("roberta_base");
  EXPECT_EQ(roberta.id2label, (std::vector<std::string>{"world", "business", "sports"}));
  EXPECT_EQ(roberta.num_labels, 3);
  EXPECT_EQ(roberta.problem_type, "multi_label_classification");
  EXPECT_EQ(roberta.position_offset, 2);
  EXPECT_EQ(roberta.max_length, 16);
}

TEST(CheckpointQuirks, TokenizerConfigAndAddedTokens) {
  // model_max_length 12 (below the model's 16) is the limit.
  const auto bert = load_tokenizer_dir(fixture("bert_uncased"), config_of("bert_uncased"));
  EXPECT_EQ(bert->model_max_length(), 12);
  // The user-added "<film>" (id 63, past vocab.txt's 63 entries) is matched
  // as typed; normalized: false, so "<FILM>" is not it and is lower-cased
  // into "<", "film", ">" (unknown "<" and ">").
  const int32_t cls = bert->token_to_id("[CLS]"), sep = bert->token_to_id("[SEP]"), unk = bert->token_to_id("[UNK]");
  const int32_t film = bert->token_to_id("film"), added = bert->token_to_id("<film>");
  EXPECT_EQ(added, 63);
  EXPECT_EQ(ids_of(*bert, "the <film> film"), (std::vector<int32_t>{cls, bert->token_to_id("the"), added, film, sep}));
  EXPECT_EQ(ids_of(*bert, "<FILM>"), (std::vector<int32_t>{cls, unk, film, unk, sep}));
  // Lower-cased, accents stripped (strip_accents null follows lowercase),
  // Chinese characters split one by one.
  EXPECT_EQ(ids_of(*bert, "CAFÉ 北京"), (std::vector<int32_t>{cls, bert->token_to_id("cafe"), bert->token_to_id("北"),
                                                             bert->token_to_id("京"), sep}));

  // Cased: neither lower-cased nor stripped of accents.
  const auto cased = load_tokenizer_dir(fixture("bert_cased"), config_of("bert_cased"));
  EXPECT_EQ(ids_of(*cased, "Café café CAFÉ"),
            (std::vector<int32_t>{cased->token_to_id("[CLS]"), cased->token_to_id("Café"), cased->token_to_id("café"),
                                  cased->token_to_id("[UNK]"), cased->token_to_id("[SEP]")}));
  EXPECT_EQ(cased->model_max_length(), 16);  // 512 in tokenizer_config.json, 16 positions in the model

  // vocab.txt + tokenizer_config.json: do_lower_case, and the 1e30 "no
  // limit" placeholder leaves the model's own maximum.
  const auto distil = load_tokenizer_dir(fixture("distilbert_uncased"), config_of("distilbert_uncased"));
  EXPECT_EQ(distil->model_max_length(), 16);
  EXPECT_EQ(ids_of(*distil, "The FILM"), (std::vector<int32_t>{distil->token_to_id("[CLS]"), distil->token_to_id("the"),
                                                               distil->token_to_id("film"), distil->token_to_id("[SEP]")}));

  // RoBERTa: <s> ... </s>, and <mask> takes the space before it.
  const auto roberta = load_tokenizer_dir(fixture("roberta_base"), config_of("roberta_base"));
  const std::vector<int32_t> with_space = ids_of(*roberta, "the film <mask>");
  const std::vector<int32_t> without = ids_of(*roberta, "the film<mask>");
  EXPECT_EQ(with_space, without);
  EXPECT_EQ(with_space.front(), 0);
  EXPECT_EQ(with_space.back(), 2);
  EXPECT_EQ(with_space[with_space.size() - 2], roberta->token_to_id("<mask>"));
}

TEST(CheckpointQuirks, PytorchWeightsAreRefusedWithHowToConvert) {
  // From a folder (the CLI) and from files in memory (the wasm module): the
  // message names the file and the conversion; the file is never opened
  // (it is not a pickle at all).
  for (int from_memory = 0; from_memory < 2; ++from_memory) {
    SCOPED_TRACE(from_memory ? "load_model_files" : "load_model_directory");
    try {
      if (from_memory) {
        ModelFiles files;
        for (const char* n : {"config.json", "vocab.txt", "pytorch_model.bin"})
          files[n] = wltest::slurp(fixture("pytorch_only") + "/" + n);
        load_model_files(std::move(files), "pytorch_only");
      } else {
        load_model_directory(fixture("pytorch_only"));
      }
      ADD_FAILURE() << "a checkpoint with only pytorch_model.bin loaded";
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("model.safetensors is missing; pytorch_model.bin is there"), std::string::npos) << m;
      EXPECT_NE(m.find("from safetensors.torch import save_file"), std::string::npos) << m;
      EXPECT_NE(m.find("safe_serialization=True"), std::string::npos) << m;
    }
  }
  // Sharded safetensors and TensorFlow weights say so too.
  ModelFiles sharded{{"config.json", wltest::slurp(fixture("pytorch_only") + "/config.json")},
                     {"model.safetensors.index.json", "{}"}};
  EXPECT_ERROR_CONTAINS(load_model_files(sharded, "sharded"), "this checkpoint is sharded");
  ModelFiles tf{{"config.json", wltest::slurp(fixture("pytorch_only") + "/config.json")}, {"tf_model.h5", "x"}};
  EXPECT_ERROR_CONTAINS(load_model_files(tf, "tf"), "only tf_model.h5 is there");
}

namespace {

// The golden checkpoint `name` with its tensors renamed by `rename` (""
// keeps a name), loaded from memory; *renamed: the names it changed.
template <class Rename>
std::unique_ptr<Model> load_renamed(const std::string& name, Rename rename, std::vector<std::string>* renamed) {
  const std::string dir = wltest::golden_dir("transformers", name);
  const SafetensorsFile st = load_safetensors_file(dir + "/model.safetensors");
  std::vector<TensorToWrite> out;
  for (const std::string& n : st.names) {
    const LoadedTensor& t = st.get(n);
    const std::string to = rename(n);
    if (!to.empty()) renamed->push_back(n);
    out.push_back({to.empty() ? n : to, t.shape, t.values.data(), DType::F32});
  }
  const std::vector<uint8_t> bytes = write_safetensors(out);
  ModelFiles files;
  files["config.json"] = wltest::slurp(dir + "/config.json");
  files["model.safetensors"] = std::string(bytes.begin(), bytes.end());
  for (const char* n : {"vocab.txt", "vocab.json", "merges.txt"})
    if (!wltest::slurp(dir + "/" + n).empty()) files[n] = wltest::slurp(dir + "/" + n);
  return load_model_files(std::move(files), name + " renamed").model;
}

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

void expect_golden_logits(const std::string& name, const Model& model) {
  const auto gold = wltest::read_json(wltest::golden_dir("transformers", name) + "/golden.json");
  EXPECT_TRUE(all_close(forward_batch(model, wltest::golden_batch(gold)).logits,
                        gold["logits"].get<std::vector<double>>(), 1e-5, 2e-6));
}

}  // namespace

TEST(CheckpointQuirks, EncoderTensorsWithoutTheFamilyPrefix) {
  // "bert.embeddings..." or "embeddings...", as a bare encoder's
  // save_pretrained writes them (transformers loads such a file into a
  // model with a head by dropping the prefix from the names it expects):
  // the same weights give PyTorch's logits either way (the golden files of
  // make_transformers.py).
  for (const auto& c : {std::make_pair("bert-cls", "bert."), std::make_pair("distilbert-cls", "distilbert."),
                        std::make_pair("roberta-cls", "roberta."), std::make_pair("bert-mlm", "bert.")}) {
    SCOPED_TRACE(c.first);
    const std::string prefix = c.second;
    std::vector<std::string> renamed;
    const std::unique_ptr<Model> model = load_renamed(
        c.first, [&](const std::string& n) { return starts_with(n, prefix) ? n.substr(prefix.size()) : ""; }, &renamed);
    EXPECT_GT(renamed.size(), 10u);  // the encoder's tensors were there under the prefix
    expect_golden_logits(c.first, *model);
  }
}

TEST(CheckpointQuirks, LayerNormGammaAndBeta) {
  // LayerNorm.gamma / LayerNorm.beta (BERT checkpoints converted from
  // TensorFlow) for LayerNorm.weight / LayerNorm.bias: PyTorch's logits.
  std::vector<std::string> renamed;
  const std::unique_ptr<Model> model = load_renamed(
      "bert-cls",
      [](const std::string& n) -> std::string {
        const std::string w = "LayerNorm.weight", b = "LayerNorm.bias";
        if (n.size() > w.size() && n.compare(n.size() - w.size(), w.size(), w) == 0)
          return n.substr(0, n.size() - 6) + "gamma";
        if (n.size() > b.size() && n.compare(n.size() - b.size(), b.size(), b) == 0)
          return n.substr(0, n.size() - 4) + "beta";
        return "";
      },
      &renamed);
  EXPECT_EQ(renamed.size(), 2u * (1 + 2 * 2));  // the embeddings' and each of 2 layers' two norms
  expect_golden_logits("bert-cls", *model);
}
