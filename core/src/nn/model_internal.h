#pragma once
// Private to core/src/nn: the builders of each architecture and the
// checkpoint and batch checks they share (defined in model.cpp).
#include <memory>
#include <string>
#include <vector>

#include "wordlight/model.h"

namespace wordlight {

std::unique_ptr<Model> make_transformer_model(const ModelConfig& config, const SafetensorsFile& weights);
std::unique_ptr<Model> make_cnn_model(const ModelConfig& config, const SafetensorsFile& weights);
std::unique_ptr<Model> make_bilstm_model(const ModelConfig& config, const SafetensorsFile& weights);
std::unique_ptr<Model> make_gpt2_model(const ModelConfig& config, const SafetensorsFile& weights);

namespace detail {
struct TensorSpec;
}
// The tensors each builder reads, with the names and shapes it expects.
std::vector<detail::TensorSpec> transformer_layout(const ModelConfig& config);
std::vector<detail::TensorSpec> cnn_layout(const ModelConfig& config);
std::vector<detail::TensorSpec> bilstm_layout(const ModelConfig& config);
std::vector<detail::TensorSpec> gpt2_layout(const ModelConfig& config);
// The VMASK layer's four tensors (none without the config key), added to the CNN's and BiLSTM's.
namespace detail {
std::vector<TensorSpec> vmask_layout(const ModelConfig& config);
}

namespace detail {

// How a fresh tensor is drawn (random_checkpoint): `weight` and `embedding`
// are random, biases zero, LayerNorm scales one.
enum class TensorInit { weight, embedding, zeros, ones };

// One tensor of an architecture's checkpoint, for random initialisation.
// Names ending in "bias" are zeros whatever `init` says.
struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  TensorInit init = TensorInit::weight;
};

// The tensor `name` of `shape`; throws naming the checkpoint, the tensor and
// the expected shape.
std::vector<float> take_tensor(const SafetensorsFile& st, const ModelConfig& cfg, const std::string& name,
                               const std::vector<int64_t>& shape);
// ModelConfig can be filled by hand as well as parsed, so the builders check
// again what parse_model_config checks, in its words.
void require_at_least(const ModelConfig& cfg, const char* key, long long value, long long lo);
void check_token_batch(const TokenBatch& b);
// A row whose mask is all 0 is refused (no prediction without tokens).
void check_rows_have_tokens(const TokenBatch& b);
// table: (V, D) -> out: (B, T, D)
void embed_ids(const ModelConfig& cfg, const std::vector<float>& table, int V, int D, const TokenBatch& batch,
               float* out);
void check_word_emb(const Graph<float>& g, Var word_emb, const TokenBatch& batch, int D);

// The attention probabilities of a forward, recorded only while
// attention_probabilities() (attention.h) runs one: the builders call
// record_attention() next to each g.attention(), which does nothing when no
// sink is set (every other forward), so recording never changes a forward.
struct AttentionSink {
  std::vector<std::vector<float>> layers;  // each (B, H, T, T)
  int B = 0, H = 0, T = 0;
};
AttentionSink*& attention_sink();  // thread-local; null unless recording
void record_attention(const Graph<float>& g, Var q, Var k, Var v, int heads, const uint8_t* key_mask, bool causal);

}  // namespace detail
}  // namespace wordlight
