#pragma once
// config.json of a model directory (the Hugging Face layout), read into a
// plain struct. Supported architectures:
//   BertForSequenceClassification, BertForMaskedLM,
//   DistilBertForSequenceClassification, DistilBertForMaskedLM,
//   RobertaForSequenceClassification, RobertaForMaskedLM,
//   GPT2LMHeadModel, GPT2ForSequenceClassification (n_embd, n_layer, n_head,
//   n_inner, n_positions, layer_norm_epsilon, activation_function and
//   resid_pdrop are stored in the common fields below),
//   and our own "wordlight-cnn" and "wordlight-bilstm" (their keys are
//   documented in models/README.md).
// The architecture comes from "architectures"[0]; our own models may give
// only "model_type". Each family's keys are read under their Hugging Face
// names (DistilBERT's dim / n_layers / n_heads / hidden_dim are mapped to the
// common fields). Shape-defining keys are required; the others take the
// defaults of the Hugging Face config classes. Any problem throws
// wordlight::Error naming the file and the key.
#include <map>
#include <string>
#include <vector>

namespace wordlight {

enum class ModelFamily { Bert, DistilBert, Roberta, WordlightCnn, WordlightBiLstm, Gpt2 };
// CausalLM: next-token logits at every position (GPT2LMHeadModel).
enum class ModelHead { SequenceClassification, MaskedLM, CausalLM };

const char* family_name(ModelFamily f);  // "bert", "distilbert", "roberta", "wordlight-cnn", "wordlight-bilstm", "gpt2"

struct ModelConfig {
  std::string source;        // the name errors use ("config.json" or a path)
  std::string architecture;  // e.g. "BertForSequenceClassification", or "wordlight-cnn"
  std::string model_type;    // "bert", "distilbert", "roberta", "wordlight-cnn", "wordlight-bilstm"
  ModelFamily family = ModelFamily::Bert;
  ModelHead head = ModelHead::SequenceClassification;

  // All families.
  int vocab_size = 0;
  int pad_token_id = 0;  // BERT/DistilBERT 0, RoBERTa 1, ours 0 (<pad>)

  // Transformers (BERT, DistilBERT, RoBERTa). DistilBERT: dim, n_layers,
  // n_heads, hidden_dim are stored here as hidden_size, num_hidden_layers,
  // num_attention_heads, intermediate_size.
  int hidden_size = 0;
  int num_hidden_layers = 0;
  int num_attention_heads = 0;
  int intermediate_size = 0;
  int max_position_embeddings = 0;
  int type_vocab_size = 0;  // 0 for DistilBERT (no token type embeddings)
  float layer_norm_eps = 1e-12f;
  std::string hidden_act = "gelu";  // DistilBERT's "activation"
  bool sinusoidal_pos_embds = false;  // DistilBERT
  // RoBERTa numbers positions from pad_token_id + 1 (position ids are
  // padding_idx + 1 + index); 0 for the others.
  int position_offset = 0;

  // GPT-2. bos / eos: -1 where the config's id (default 50256) is outside
  // the vocabulary. pad_token_id, when the config has none, is eos_token_id
  // (0 if that is -1): only padding uses it, and padding is masked.
  int bos_token_id = -1;
  int eos_token_id = -1;
  bool scale_attn_weights = true;               // scores / sqrt(head size)
  bool scale_attn_by_inverse_layer_idx = false;  // and / (layer index + 1)
  bool tie_word_embeddings = true;               // lm_head is wte

  // Our CNN and BiLSTM.
  int embedding_dim = 0;
  int num_filters = 0;            // CNN: filters per kernel size
  std::vector<int> kernel_sizes;  // CNN: "kernel_size", one int or a list
  int lstm_hidden_size = 0;       // BiLSTM: "hidden_size", per direction
  int vmask_hidden = 0;           // CNN, BiLSTM: "vmask": {"hidden": H}, the VMASK layer's width; 0: none
  bool lowercase = true;          // word-level tokenizer lower-cases (our models)

  // Dropout probability while training (never in explanations):
  // transformers' hidden_dropout_prob (DistilBERT: dropout), default 0.1;
  // ours: "dropout", default 0.
  float dropout = 0.f;

  // The longest input the model takes, in tokens including special tokens:
  // max_position_embeddings - position_offset for transformers, "max_length"
  // for ours.
  int max_length = 0;

  // Classification head. id2label has num_labels entries (label names from
  // "id2label", else "LABEL_0", "LABEL_1", ...).
  int num_labels = 2;
  std::vector<std::string> id2label;
  std::map<std::string, int> label2id;
  std::string problem_type;  // "" (unset), "single_label_classification", ...

  bool is_transformer() const {
    return family == ModelFamily::Bert || family == ModelFamily::DistilBert || family == ModelFamily::Roberta ||
           family == ModelFamily::Gpt2;
  }
  // Causal (left-to-right) transformers: GPT-2.
  bool is_decoder() const { return family == ModelFamily::Gpt2; }
};

// Parses config.json text. `name` is what error messages call the file.
ModelConfig parse_model_config(const std::string& json_text, const std::string& name = "config.json");
// Reads and parses a file; errors name `path`.
ModelConfig read_model_config_file(const std::string& path);

}  // namespace wordlight
