// Model construction by architecture, and loading from a directory; plus the
// checkpoint and batch checks that the architectures share (model_internal.h).
#include "wordlight/model.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "wordlight/error.h"
#include "model_internal.h"

namespace wordlight {

namespace detail {

namespace {
std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "(";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + ")";
}
}  // namespace

std::vector<float> take_tensor(const SafetensorsFile& st, const ModelConfig& cfg, const std::string& name,
                               const std::vector<int64_t>& shape) {
  if (!st.has(name))
    throw Error(st.source + ": missing tensor '" + name + "' of shape " + shape_str(shape) + " for " +
                cfg.architecture);
  const LoadedTensor& t = st.get(name);
  if (t.shape != shape)
    throw Error(st.source + ": tensor '" + name + "' has shape " + shape_str(t.shape) + ", expected " +
                shape_str(shape) + " from " + cfg.source);
  return t.values;
}

void require_at_least(const ModelConfig& cfg, const char* key, long long value, long long lo) {
  if (value < lo)
    throw Error(cfg.source + ": key '" + key + "' is " + std::to_string(value) + "; it must be at least " +
                std::to_string(lo));
}

void check_token_batch(const TokenBatch& b) {
  if (b.B < 1 || b.T < 1) throw Error("model: empty batch (" + std::to_string(b.B) + " x " + std::to_string(b.T) + ")");
  if (b.ids.size() != static_cast<size_t>(b.B) * b.T || b.mask.size() != b.ids.size())
    throw Error("model: batch of " + std::to_string(b.B) + " x " + std::to_string(b.T) + " has " +
                std::to_string(b.ids.size()) + " ids and " + std::to_string(b.mask.size()) + " mask entries");
}

// Our models have no prediction for a text without tokens (the CNN has no
// window to pool), so such a row is refused rather than given a made-up one.
void check_rows_have_tokens(const TokenBatch& b) {
  for (int r = 0; r < b.B; ++r) {
    const auto row = b.mask.begin() + static_cast<size_t>(r) * b.T;
    if (std::all_of(row, row + b.T, [](uint8_t m) { return m == 0; }))
      throw Error("forward: text " + std::to_string(r) + " of the batch has no real token (its mask is all 0)");
  }
}

// table: (V, D) -> out: (B, T, D)
void embed_ids(const ModelConfig& cfg, const std::vector<float>& table, int V, int D, const TokenBatch& batch,
               float* out) {
  check_token_batch(batch);
  for (size_t i = 0; i < batch.ids.size(); ++i) {
    const int32_t id = batch.ids[i];
    if (id < 0 || id >= V)
      throw Error(cfg.source + ": token id " + std::to_string(id) + " at position " + std::to_string(i) +
                  " is outside the vocabulary of " + std::to_string(V));
    std::copy(table.begin() + static_cast<size_t>(id) * D, table.begin() + static_cast<size_t>(id + 1) * D,
              out + i * D);
  }
}

void check_word_emb(const Graph<float>& g, Var word_emb, const TokenBatch& batch, int D) {
  if (g.shape(word_emb) != Shape{batch.B, batch.T, D})
    throw Error("forward: word embeddings " + g.shape(word_emb).str() + " do not match the batch (" +
                std::to_string(batch.B) + ", " + std::to_string(batch.T) + ", " + std::to_string(D) + ")");
}

}  // namespace detail

std::vector<std::string> Model::parts() const {
  std::vector<std::string> names;
  for (const auto& kv : parts_) names.push_back(kv.first);
  return names;
}

const ModelPart* Model::part(const std::string& name) const {
  auto it = parts_.find(name);
  return it == parts_.end() ? nullptr : it->second.get();
}

void Model::attach_part(const std::string& name, std::shared_ptr<const ModelPart> data) {
  parts_[name] = std::move(data);
  refused_parts_.erase(name);
}

void Model::refuse_part(const std::string& name, const std::string& why) {
  parts_.erase(name);
  refused_parts_[name] = why;
}

std::string Model::part_refused(const std::string& name) const {
  auto it = refused_parts_.find(name);
  return it == refused_parts_.end() ? std::string() : it->second;
}

std::unique_ptr<Model> make_model(const ModelConfig& config, const SafetensorsFile& weights) {
  if (config.family == ModelFamily::Gpt2) return make_gpt2_model(config, weights);
  if (config.is_transformer()) return make_transformer_model(config, weights);
  if (config.family == ModelFamily::WordlightCnn) return make_cnn_model(config, weights);
  if (config.family == ModelFamily::WordlightBiLstm) return make_bilstm_model(config, weights);
  throw Error(config.source + ": architecture '" + config.architecture + "' has no model builder");
}

namespace {

// Draws from the 64-bit Mersenne Twister's raw output (fully specified by
// the standard), not std::*_distribution (whose algorithms differ between
// standard libraries), so a seed gives the same model natively and in wasm.
struct InitRng {
  std::mt19937_64 bits;
  explicit InitRng(uint64_t seed) : bits(seed) {}
  double uniform01() { return static_cast<double>(bits() >> 11) * (1.0 / 9007199254740992.0); }
  double normal() {  // Box-Muller
    const double u1 = 1.0 - uniform01(), u2 = uniform01();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Transformers: N(0, 0.02) as the Hugging Face _init_weights. Ours: PyTorch's
// defaults, N(0, 1) embeddings and U(-1/sqrt(fan_in), 1/sqrt(fan_in)) weights.
std::vector<float> draw_tensor(const ModelConfig& cfg, const detail::TensorSpec& spec, InitRng& rng) {
  int64_t numel = 1;
  for (int64_t d : spec.shape) numel *= d;
  std::vector<float> v(static_cast<size_t>(numel), 0.f);
  if (ends_with(spec.name, "bias") || spec.init == detail::TensorInit::zeros) return v;
  if (spec.init == detail::TensorInit::ones) {
    std::fill(v.begin(), v.end(), 1.f);
    return v;
  }
  if (cfg.is_transformer()) {
    for (float& x : v) x = static_cast<float>(0.02 * rng.normal());
  } else if (spec.init == detail::TensorInit::embedding) {
    for (float& x : v) x = static_cast<float>(rng.normal());
  } else {
    const double bound = 1.0 / std::sqrt(static_cast<double>(numel / spec.shape[0]));
    for (float& x : v) x = static_cast<float>(bound * (2.0 * rng.uniform01() - 1.0));
  }
  // The padding token's word embedding starts at zero (nn.Embedding's
  // padding_idx); position tables have no padding row.
  if (spec.init == detail::TensorInit::embedding && spec.shape[0] == cfg.vocab_size &&
      spec.name.find("position") == std::string::npos && spec.name.find("token_type") == std::string::npos) {
    const int64_t D = spec.shape[1];
    std::fill(v.begin() + cfg.pad_token_id * D, v.begin() + (cfg.pad_token_id + 1) * D, 0.f);
  }
  return v;
}

}  // namespace

SafetensorsFile random_checkpoint(const ModelConfig& config, uint64_t seed) {
  std::vector<detail::TensorSpec> layout;
  if (config.family == ModelFamily::Gpt2)
    layout = gpt2_layout(config);
  else if (config.is_transformer())
    layout = transformer_layout(config);
  else if (config.family == ModelFamily::WordlightCnn)
    layout = cnn_layout(config);
  else
    layout = bilstm_layout(config);
  SafetensorsFile st;
  st.source = "random initialisation (seed " + std::to_string(seed) + ")";
  InitRng rng(seed);
  for (const detail::TensorSpec& spec : layout) {
    LoadedTensor t;
    t.shape = spec.shape;
    t.values = draw_tensor(config, spec, rng);
    st.names.push_back(spec.name);
    st.tensors[spec.name] = std::move(t);
  }
  return st;
}

std::vector<TensorToWrite> checkpoint_tensors(Model& model, DType dtype) {
  std::vector<TensorToWrite> out;
  for (const ModelParameter& p : model.parameters()) out.push_back(TensorToWrite{p.name, p.shape, p.data, dtype});
  return out;
}

}  // namespace wordlight
