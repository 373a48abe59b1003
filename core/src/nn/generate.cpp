// Generation with a causal language model (generate.h): the decoding loop
// on the key/value cache, greedy or sampled, with stop conditions.
#include "wordlight/generate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "wordlight/error.h"
#include "wordlight/splitmix64.h"

namespace wordlight {
namespace {

// The same draws on every platform (std distributions are not).
using Rng = SplitMix64;

// GPT-2's bytes_to_unicode() undone: character -> byte, -1 for others.
int char_to_byte(char32_t c) {
  static const std::vector<int> table = [] {
    std::vector<int> t(512, -1);
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      const bool self = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      t[static_cast<size_t>(self ? b : 256 + n++)] = b;
    }
    return t;
  }();
  return c < 512 ? table[c] : -1;
}

// One code point from UTF-8 at s[i]; advances i. Invalid bytes: -1.
long next_code_point(const std::string& s, size_t& i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (len == 0 || i + static_cast<size_t>(len) > s.size()) {
    ++i;
    return -1;
  }
  long cp = len == 1 ? c : c & (0x7F >> len);
  for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + static_cast<size_t>(k)]) & 0x3F);
  i += static_cast<size_t>(len);
  return cp;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

std::vector<int32_t> Generation::ids() const {
  std::vector<int32_t> all = prompt_ids;
  for (const GeneratedToken& t : tokens) all.push_back(t.id);
  return all;
}

std::string token_bytes(const Tokenizer& tok, int32_t id) {
  const std::string& s = tok.id_to_token(id);
  if (tok.kind() != "bpe") return s;
  // An added token (<|endoftext|>) is its own text.
  for (const AddedToken& a : tok.added_tokens())
    if (a.id == id) return s;
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const size_t start = i;
    const long cp = next_code_point(s, i);
    const int b = cp >= 0 ? char_to_byte(static_cast<char32_t>(cp)) : -1;
    if (b >= 0)
      out.push_back(static_cast<char>(b));
    else
      out.append(s, start, i - start);  // not a byte character: as written
  }
  return out;
}

std::vector<float> full_logits(const Model& model, const std::vector<int32_t>& ids) {
  if (model.config().head != ModelHead::CausalLM)
    throw Error(model.config().architecture + " is not a causal language model");
  if (ids.empty()) throw Error("full_logits: no tokens");
  TokenBatch b;
  b.B = 1;
  b.T = static_cast<int>(ids.size());
  b.ids = ids;
  b.mask.assign(ids.size(), 1);
  const int D = model.embedding_dim();
  std::vector<float> emb(ids.size() * static_cast<size_t>(D));
  model.embed(b, emb.data());
  Graph<float> g;
  Var y = model.forward(g, g.input(Shape{1, b.T, D}, emb.data(), false), b);
  return std::vector<float>(g.value(y), g.value(y) + g.numel(y));
}

Generation generate(const Model& model, const Tokenizer& tok, const std::string& prompt, const GenerateOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  const ModelConfig& cfg = model.config();
  if (cfg.head != ModelHead::CausalLM)
    throw Error("generate: " + cfg.architecture + " is not a causal language model (GPT2LMHeadModel)");
  if (o.max_new_tokens < 0) throw Error("generate: max new tokens must be >= 0, got " + std::to_string(o.max_new_tokens));
  if (o.sample) {
    if (!(o.temperature > 0) || !std::isfinite(o.temperature))
      throw Error("generate: the temperature must be positive, got " + std::to_string(o.temperature));
    if (o.top_k < 0) throw Error("generate: top-k must be >= 0 (0: all tokens), got " + std::to_string(o.top_k));
    if (!(o.top_p > 0 && o.top_p <= 1)) throw Error("generate: top-p must be in (0, 1], got " + std::to_string(o.top_p));
  }
  const int V = model.output_dim();
  for (int32_t s : o.stop_ids)
    if (s < 0 || s >= V) throw Error("generate: stop token id " + std::to_string(s) + " is outside the vocabulary");
  for (const std::string& s : o.stop)
    if (s.empty()) throw Error("generate: an empty stop string");

  Generation gen;
  gen.prompt = prompt;
  const int bos = cfg.bos_token_id;
  if (o.prepend_bos && bos >= 0 && bos < V) {
    gen.prompt_ids.push_back(bos);
    gen.prompt_tokens.push_back(tok.id_to_token(bos));
    gen.prompt_spans.push_back(Span{});
    gen.bos = true;
  }
  if (!prompt.empty()) {
    EncodeOptions eo;
    eo.max_length = cfg.max_position_embeddings;
    const Encoding enc = tok.encode(prompt, eo);
    if (enc.truncated) throw Error("generate: the prompt is longer than the model's " +
                                   std::to_string(cfg.max_position_embeddings) + " positions");
    for (size_t i = 0; i < enc.size(); ++i) {
      gen.prompt_ids.push_back(enc.ids[i]);
      gen.prompt_tokens.push_back(enc.tokens[i]);
      gen.prompt_spans.push_back(enc.offsets[i]);
    }
  }
  if (gen.prompt_ids.empty()) throw Error("generate: the prompt has no tokens (and the model no BOS token)");
  if (static_cast<int>(gen.prompt_ids.size()) > cfg.max_position_embeddings)
    throw Error("generate: the prompt is longer than the model's " + std::to_string(cfg.max_position_embeddings) +
                " positions");

  std::unique_ptr<DecoderState> dec = model.start_decoding();
  std::vector<float> logits(static_cast<size_t>(V));
  std::vector<double> p(static_cast<size_t>(V));
  std::vector<int32_t> order(static_cast<size_t>(V));
  Rng rng{o.seed ^ 0x5851f42d4c957f2dull};
  dec->append(gen.prompt_ids.data(), static_cast<int>(gen.prompt_ids.size()), logits.data());
  std::string bytes;  // generated so far
  for (int step = 0;; ++step) {
    if (step >= o.max_new_tokens) {
      gen.stopped_by = "max_new_tokens";
      break;
    }
    if (o.cancel && o.cancel->load()) {
      gen.stopped_by = "cancelled";
      break;
    }
    // The model's distribution (temperature 1) for the step scores.
    const float mx = *std::max_element(logits.begin(), logits.end());
    double z = 0;
    for (int v = 0; v < V; ++v) z += (p[static_cast<size_t>(v)] = std::exp(static_cast<double>(logits[static_cast<size_t>(v)]) - mx));
    double entropy = 0;
    for (int v = 0; v < V; ++v) {
      double& q = p[static_cast<size_t>(v)];
      q /= z;
      if (q > 0) entropy -= q * std::log(q);
    }
    int32_t id = 0;
    if (!o.sample) {
      id = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    } else {
      std::vector<double> w(static_cast<size_t>(V));
      double zt = 0;
      for (int v = 0; v < V; ++v)
        zt += (w[static_cast<size_t>(v)] =
                   std::exp((static_cast<double>(logits[static_cast<size_t>(v)]) - mx) / o.temperature));
      for (double& x : w) x /= zt;
      std::iota(order.begin(), order.end(), 0);
      // Most probable first; ties by id, so the order is the same everywhere.
      std::stable_sort(order.begin(), order.end(),
                       [&](int32_t a, int32_t b) { return w[static_cast<size_t>(a)] > w[static_cast<size_t>(b)]; });
      size_t keep = o.top_k > 0 ? std::min<size_t>(static_cast<size_t>(o.top_k), order.size()) : order.size();
      if (o.top_p < 1) {
        double c = 0;
        size_t k = 0;
        while (k < keep) {
          c += w[static_cast<size_t>(order[k])];
          ++k;
          if (c >= o.top_p) break;
        }
        keep = std::max<size_t>(1, k);
      }
      double kept = 0;
      for (size_t k = 0; k < keep; ++k) kept += w[static_cast<size_t>(order[k])];
      double u = rng.uniform() * kept;
      id = order[keep - 1];
      for (size_t k = 0; k < keep; ++k) {
        u -= w[static_cast<size_t>(order[k])];
        if (u < 0) {
          id = order[k];
          break;
        }
      }
    }
    GeneratedToken t;
    t.id = id;
    t.token = tok.id_to_token(id);
    t.text = token_bytes(tok, id);
    t.probability = p[static_cast<size_t>(id)];
    t.logprob = std::log(std::max(t.probability, 1e-300));
    t.entropy = entropy;
    gen.tokens.push_back(t);
    bytes += t.text;
    if (o.on_token && !o.on_token(step, gen.tokens.back())) {
      gen.stopped_by = "callback";
      break;
    }
    if (!o.ignore_eos && cfg.eos_token_id >= 0 && id == cfg.eos_token_id) {
      gen.stopped_by = "eos";
      break;
    }
    if (std::find(o.stop_ids.begin(), o.stop_ids.end(), id) != o.stop_ids.end()) {
      gen.stopped_by = "stop_id";
      break;
    }
    size_t cut = std::string::npos;
    for (const std::string& s : o.stop) cut = std::min(cut, bytes.find(s));
    if (cut != std::string::npos) {
      bytes.resize(cut);
      gen.stopped_by = "stop";
      break;
    }
    if (dec->length() >= cfg.max_position_embeddings) {
      gen.stopped_by = "max_positions";
      break;
    }
    if (step + 1 < o.max_new_tokens) dec->append(&id, 1, logits.data());
  }
  gen.text = bytes;
  gen.seconds = seconds_since(t0);
  return gen;
}

}  // namespace wordlight
