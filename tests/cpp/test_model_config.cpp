// config.json: every supported family read into ModelConfig, Hugging Face
// defaults, label maps, and the errors for bad files (each naming the file
// and the key).
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "check_util.h"
#include "wordlight/error.h"
#include "wordlight/model_config.h"

using namespace wordlight;

namespace {

// The config.json of bert-base-uncased fine-tuned for SST-2, trimmed to what
// matters (values as in the Hugging Face hub files).
const char* kBert = R"({
  "architectures": ["BertForSequenceClassification"],
  "attention_probs_dropout_prob": 0.1,
  "hidden_act": "gelu",
  "hidden_dropout_prob": 0.1,
  "hidden_size": 768,
  "id2label": {"0": "negative", "1": "positive"},
  "initializer_range": 0.02,
  "intermediate_size": 3072,
  "label2id": {"negative": 0, "positive": 1},
  "layer_norm_eps": 1e-12,
  "max_position_embeddings": 512,
  "model_type": "bert",
  "num_attention_heads": 12,
  "num_hidden_layers": 12,
  "pad_token_id": 0,
  "position_embedding_type": "absolute",
  "problem_type": "single_label_classification",
  "torch_dtype": "float32",
  "transformers_version": "4.36.2",
  "type_vocab_size": 2,
  "use_cache": true,
  "vocab_size": 30522
})";

const char* kDistilBert = R"({
  "activation": "gelu",
  "architectures": ["DistilBertForMaskedLM"],
  "attention_dropout": 0.1,
  "dim": 768,
  "dropout": 0.1,
  "hidden_dim": 3072,
  "initializer_range": 0.02,
  "max_position_embeddings": 512,
  "model_type": "distilbert",
  "n_heads": 12,
  "n_layers": 6,
  "pad_token_id": 0,
  "qa_dropout": 0.1,
  "seq_classif_dropout": 0.2,
  "sinusoidal_pos_embds": false,
  "tie_weights_": true,
  "vocab_size": 30522
})";

const char* kRoberta = R"({
  "architectures": ["RobertaForSequenceClassification"],
  "attention_probs_dropout_prob": 0.1,
  "bos_token_id": 0,
  "eos_token_id": 2,
  "hidden_act": "gelu",
  "hidden_size": 768,
  "id2label": {"0": "NEG", "1": "NEU", "2": "POS"},
  "intermediate_size": 3072,
  "label2id": {"NEG": 0, "NEU": 1, "POS": 2},
  "layer_norm_eps": 1e-05,
  "max_position_embeddings": 514,
  "model_type": "roberta",
  "num_attention_heads": 12,
  "num_hidden_layers": 12,
  "pad_token_id": 1,
  "type_vocab_size": 1,
  "vocab_size": 50265
})";

// `base` with its first `from` replaced by `to` (`from` must be in it).
std::string edited(const std::string& base, const std::string& from, const std::string& to) {
  const size_t at = base.find(from);
  if (at == std::string::npos) throw std::logic_error("edited: '" + from + "' is not in the config");
  return std::string(base).replace(at, from.size(), to);
}

}  // namespace

TEST(ModelConfig, BertSequenceClassification) {
  const ModelConfig c = parse_model_config(kBert);
  EXPECT_EQ(c.architecture, "BertForSequenceClassification");
  EXPECT_EQ(c.family, ModelFamily::Bert);
  EXPECT_EQ(c.head, ModelHead::SequenceClassification);
  EXPECT_TRUE(c.is_transformer());
  EXPECT_EQ(c.vocab_size, 30522);
  EXPECT_EQ(c.hidden_size, 768);
  EXPECT_EQ(c.num_hidden_layers, 12);
  EXPECT_EQ(c.num_attention_heads, 12);
  EXPECT_EQ(c.intermediate_size, 3072);
  EXPECT_EQ(c.max_position_embeddings, 512);
  EXPECT_EQ(c.type_vocab_size, 2);
  EXPECT_FLOAT_EQ(c.layer_norm_eps, 1e-12f);
  EXPECT_EQ(c.hidden_act, "gelu");
  EXPECT_EQ(c.pad_token_id, 0);
  EXPECT_EQ(c.position_offset, 0);
  EXPECT_EQ(c.max_length, 512);
  EXPECT_EQ(c.num_labels, 2);
  EXPECT_EQ(c.id2label, (std::vector<std::string>{"negative", "positive"}));
  EXPECT_EQ(c.label2id.at("positive"), 1);
  EXPECT_EQ(c.problem_type, "single_label_classification");
}

TEST(ModelConfig, DistilBertKeysMapToTheCommonFields) {
  const ModelConfig c = parse_model_config(kDistilBert);
  EXPECT_EQ(c.family, ModelFamily::DistilBert);
  EXPECT_EQ(c.head, ModelHead::MaskedLM);
  EXPECT_EQ(c.hidden_size, 768);
  EXPECT_EQ(c.num_hidden_layers, 6);
  EXPECT_EQ(c.num_attention_heads, 12);
  EXPECT_EQ(c.intermediate_size, 3072);
  EXPECT_EQ(c.type_vocab_size, 0);
  EXPECT_EQ(c.hidden_act, "gelu");
  EXPECT_FALSE(c.sinusoidal_pos_embds);
  EXPECT_FLOAT_EQ(c.layer_norm_eps, 1e-12f);
  EXPECT_EQ(c.max_length, 512);
  // No labels in a masked-LM config: PretrainedConfig's default of two.
  EXPECT_EQ(c.num_labels, 2);
  EXPECT_EQ(c.id2label, (std::vector<std::string>{"LABEL_0", "LABEL_1"}));

  EXPECT_TRUE(
      parse_model_config(edited(kDistilBert, "\"sinusoidal_pos_embds\": false", "\"sinusoidal_pos_embds\": true"))
          .sinusoidal_pos_embds);
}

TEST(ModelConfig, RobertaPositionOffset) {
  const ModelConfig c = parse_model_config(kRoberta);
  EXPECT_EQ(c.family, ModelFamily::Roberta);
  EXPECT_EQ(c.pad_token_id, 1);
  EXPECT_EQ(c.position_offset, 2);  // positions start at padding_idx + 1
  EXPECT_EQ(c.max_length, 512);     // 514 - 2
  EXPECT_EQ(c.type_vocab_size, 1);
  EXPECT_FLOAT_EQ(c.layer_norm_eps, 1e-5f);
  EXPECT_EQ(c.num_labels, 3);
  EXPECT_EQ(c.id2label[2], "POS");
  EXPECT_EQ(parse_model_config(R"({"architectures":["RobertaForMaskedLM"],"vocab_size":10,"hidden_size":4,
      "num_hidden_layers":1,"num_attention_heads":1,"intermediate_size":8,"max_position_embeddings":12})")
                .pad_token_id,
            1);  // RoBERTa's default pad id
}

TEST(ModelConfig, DefaultsOfOptionalKeys) {
  const ModelConfig c = parse_model_config(R"({"architectures":["BertForMaskedLM"],"vocab_size":100,
      "hidden_size":8,"num_hidden_layers":2,"num_attention_heads":2,"intermediate_size":16,
      "max_position_embeddings":32,"problem_type":null,"pad_token_id":null})");
  EXPECT_EQ(c.type_vocab_size, 2);
  EXPECT_FLOAT_EQ(c.layer_norm_eps, 1e-12f);
  EXPECT_EQ(c.hidden_act, "gelu");
  EXPECT_EQ(c.pad_token_id, 0);
  EXPECT_EQ(c.problem_type, "");
  EXPECT_EQ(c.model_type, "bert");
}

TEST(ModelConfig, WordlightCnnAndBiLstm) {
  const ModelConfig cnn = parse_model_config(R"({"model_type":"wordlight-cnn","vocab_size":16000,
      "embedding_dim":300,"num_filters":100,"kernel_size":[3,4,5],"num_labels":2,
      "id2label":{"0":"negative","1":"positive"}})");
  EXPECT_EQ(cnn.family, ModelFamily::WordlightCnn);
  EXPECT_EQ(cnn.architecture, "wordlight-cnn");
  EXPECT_FALSE(cnn.is_transformer());
  EXPECT_EQ(cnn.embedding_dim, 300);
  EXPECT_EQ(cnn.num_filters, 100);
  EXPECT_EQ(cnn.kernel_sizes, (std::vector<int>{3, 4, 5}));
  EXPECT_EQ(cnn.num_labels, 2);
  EXPECT_EQ(cnn.max_length, 512);
  EXPECT_TRUE(cnn.lowercase);
  EXPECT_EQ(cnn.pad_token_id, 0);
  EXPECT_EQ(parse_model_config(R"({"architectures":["wordlight-cnn"],"vocab_size":10,"embedding_dim":4,
      "num_filters":2,"kernel_size":3,"num_labels":2,"max_length":64,"lowercase":false})")
                .kernel_sizes,
            std::vector<int>{3});

  const ModelConfig lstm = parse_model_config(R"({"model_type":"wordlight-bilstm","vocab_size":16000,
      "embedding_dim":300,"hidden_size":150,"num_labels":5})");
  EXPECT_EQ(lstm.family, ModelFamily::WordlightBiLstm);
  EXPECT_EQ(lstm.lstm_hidden_size, 150);
  EXPECT_EQ(lstm.num_labels, 5);
  EXPECT_EQ(lstm.id2label[4], "LABEL_4");
}

TEST(ModelConfig, LabelMaps) {
  const std::string base = R"({"architectures":["BertForSequenceClassification"],"vocab_size":10,
      "hidden_size":4,"num_hidden_layers":1,"num_attention_heads":1,"intermediate_size":8,
      "max_position_embeddings":12,)";
  // Keys out of order are placed by id.
  const ModelConfig c = parse_model_config(base + R"("id2label":{"1":"b","0":"a","2":"c"}})");
  EXPECT_EQ(c.id2label, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(c.label2id.at("c"), 2);
  EXPECT_EQ(parse_model_config(base + R"("_num_labels":4})").num_labels, 4);
  EXPECT_EQ(parse_model_config(base + R"("num_labels":1,"problem_type":"regression"})").num_labels, 1);
  EXPECT_ERROR_CONTAINS(parse_model_config(base + R"("num_labels":3,"id2label":{"0":"a","1":"b"}})"),
                        "config.json: key 'num_labels' is 3 but id2label has 2 labels");
  EXPECT_ERROR_CONTAINS(parse_model_config(base + R"("id2label":{"0":"a","2":"b"}})"),
                        "key 'id2label' has key '2'; keys must be the ids 0..1");
  EXPECT_ERROR_CONTAINS(parse_model_config(base + R"("id2label":{"zero":"a"}})"), "has key 'zero'");
  EXPECT_ERROR_CONTAINS(parse_model_config(base + R"("id2label":{"0":1}})"), "value for id 0 must be a string");
  EXPECT_ERROR_CONTAINS(parse_model_config(base + R"("id2label":["a"]})"), "key 'id2label' must be an object");
  EXPECT_ERROR_CONTAINS(parse_model_config(base + R"("label2id":{"a":5}})"), "maps 'a' to 5, past the 2 labels");
  EXPECT_ERROR_CONTAINS(parse_model_config(base + R"("problem_type":"ranking"})"),
                        "key 'problem_type' is 'ranking'");
}

TEST(ModelConfigErrors, UnknownArchitecture) {
  EXPECT_ERROR_CONTAINS(parse_model_config(R"({"architectures":["LlamaForCausalLM"],"model_type":"llama"})"),
                        "config.json: unknown architecture 'LlamaForCausalLM' in 'architectures' (supported: "
                        "BertForSequenceClassification");
  EXPECT_ERROR_CONTAINS(parse_model_config(R"({"model_type":"bert","vocab_size":3})"),
                        "config.json: missing required key 'architectures' (model_type 'bert'");
  EXPECT_ERROR_CONTAINS(parse_model_config("{}"), "missing required key 'architectures'");
  EXPECT_ERROR_CONTAINS(parse_model_config(R"({"architectures":[]})"), "key 'architectures' must be a non-empty list");
  EXPECT_ERROR_CONTAINS(parse_model_config(R"({"architectures":["RobertaForMaskedLM"],"model_type":"bert"})"),
                        "key 'model_type' is 'bert' but architecture 'RobertaForMaskedLM' is a roberta model");
}

TEST(ModelConfigErrors, MissingRequiredKey) {
  EXPECT_ERROR_CONTAINS(parse_model_config(edited(kBert, "\"hidden_size\": 768,", ""), "models/sst2/config.json"),
                        "models/sst2/config.json: missing required key 'hidden_size'");
  EXPECT_ERROR_CONTAINS(parse_model_config(edited(kDistilBert, "\"n_layers\": 6,", "")),
                        "config.json: missing required key 'n_layers'");
  EXPECT_ERROR_CONTAINS(parse_model_config(R"({"model_type":"wordlight-cnn","vocab_size":10,"embedding_dim":4,
      "num_filters":2,"num_labels":2})"),
                        "missing required key 'kernel_size'");
  EXPECT_ERROR_CONTAINS(parse_model_config(R"({"model_type":"wordlight-bilstm","vocab_size":10,"embedding_dim":4,
      "hidden_size":2})"),
                        "missing required key 'num_labels' (or 'id2label')");
}

TEST(ModelConfigErrors, WrongJsonTypes) {
  EXPECT_ERROR_CONTAINS(parse_model_config(edited(kBert, "\"hidden_size\": 768", "\"hidden_size\": \"768\"")),
                        "config.json: key 'hidden_size' must be an integer, got a string");
  EXPECT_ERROR_CONTAINS(parse_model_config(edited(kBert, "\"num_hidden_layers\": 12", "\"num_hidden_layers\": 12.5")),
                        "key 'num_hidden_layers' must be an integer, got a non-integer number");
  EXPECT_ERROR_CONTAINS(parse_model_config(edited(kBert, "\"layer_norm_eps\": 1e-12", "\"layer_norm_eps\": \"small\"")),
                        "key 'layer_norm_eps' must be a number, got a string");
  EXPECT_ERROR_CONTAINS(parse_model_config(edited(kBert, "\"hidden_act\": \"gelu\"", "\"hidden_act\": [\"gelu\"]")),
                        "key 'hidden_act' must be a string, got an array");
  EXPECT_ERROR_CONTAINS(
      parse_model_config(edited(kDistilBert, "\"sinusoidal_pos_embds\": false", "\"sinusoidal_pos_embds\": 0")),
      "key 'sinusoidal_pos_embds' must be true or false");
}

TEST(ModelConfigErrors, OutOfRangeValues) {
  EXPECT_ERROR_CONTAINS(parse_model_config(edited(kBert, "\"num_attention_heads\": 12", "\"num_attention_heads\": 5")),
                        "config.json: hidden size 768 is not divisible by the number of "
                        "attention heads 5");
  EXPECT_ERROR_CONTAINS(parse_model_config(edited(kBert, "\"vocab_size\": 30522", "\"vocab_size\": -3")),
                        "key 'vocab_size' is -3; it must be between 1 and");
  EXPECT_ERROR_CONTAINS(
      parse_model_config(edited(kBert, "\"vocab_size\": 30522", "\"vocab_size\": 18446744073709551615")),
      "key 'vocab_size' is 18446744073709551615");
  EXPECT_ERROR_CONTAINS(parse_model_config(edited(kBert, "\"pad_token_id\": 0", "\"pad_token_id\": 40000")),
                        "key 'pad_token_id' is 40000");
  EXPECT_ERROR_CONTAINS(parse_model_config(edited(kBert, "\"layer_norm_eps\": 1e-12", "\"layer_norm_eps\": 0")),
                        "key 'layer_norm_eps' is");
  EXPECT_ERROR_CONTAINS(
      parse_model_config(edited(kRoberta, "\"max_position_embeddings\": 514", "\"max_position_embeddings\": 2")),
      "key 'max_position_embeddings' is 2, leaving no room");
}

TEST(ModelConfigErrors, NotJsonOrNotAnObject) {
  EXPECT_ERROR_CONTAINS(parse_model_config("{\"architectures\": [", "dir/config.json"),
                        "dir/config.json: not valid JSON");
  EXPECT_ERROR_CONTAINS(parse_model_config(""), "config.json: not valid JSON");
  EXPECT_ERROR_CONTAINS(parse_model_config("[1, 2]"), "config.json: must hold a JSON object, got an array");
}

TEST(ModelConfig, ReadsTheGoldenFileAndNamesMissingFiles) {
  const std::string dir = std::string(WORDLIGHT_SOURCE_DIR) + "/tests/golden/io/";
  const ModelConfig c = read_model_config_file(dir + "bert_tiny/config.json");
  EXPECT_EQ(c.source, dir + "bert_tiny/config.json");
  EXPECT_EQ(c.vocab_size, 42);
  EXPECT_EQ(c.max_length, 16);
  EXPECT_ERROR_CONTAINS(read_model_config_file(dir + "nowhere/config.json"), dir + "nowhere/config.json");
}
