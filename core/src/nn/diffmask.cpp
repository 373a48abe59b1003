// DiffMask's probes (wordlight/diffmask.h): the hard concrete gate, the
// probe network on the tape, the files (diffmask.safetensors +
// diffmask.json) and the hash that ties them to one model's weights.
#include "wordlight/diffmask.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "wordlight/error.h"
#include "wordlight/json_limits.h"
#include "wordlight/model_config.h"

namespace wordlight {

// ------------------------------------------------------------------ hard concrete
namespace {
double sigmoid(double x) { return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x)); }
double logit(double p) { return std::log(p) - std::log1p(-p); }
// P(s <= c) for the binary concrete s: P(logit(u) <= beta logit(c) - log_alpha).
double concrete_cdf(double c, double log_alpha, const HardConcrete& hc) {
  if (c <= 0) return 0;
  if (c >= 1) return 1;
  return sigmoid(hc.beta * logit(c) - log_alpha);
}
}  // namespace

double hard_concrete_sample(double log_alpha, double u, const HardConcrete& hc) {
  const double s = sigmoid((logit(u) + log_alpha) / hc.beta);
  return std::min(1.0, std::max(0.0, hc.l + (hc.r - hc.l) * s));
}

double hard_concrete_p_zero(double log_alpha, const HardConcrete& hc) {
  return concrete_cdf(-hc.l / (hc.r - hc.l), log_alpha, hc);
}

double hard_concrete_p_nonzero(double log_alpha, const HardConcrete& hc) {
  // 1 - P(z = 0) = sigmoid(log_alpha - beta log(-l / r)), written so for precision.
  return sigmoid(log_alpha - hc.beta * std::log(-hc.l / hc.r));
}

double hard_concrete_p_one(double log_alpha, const HardConcrete& hc) {
  if (hc.r <= 1) return 0;
  return 1 - concrete_cdf((1 - hc.l) / (hc.r - hc.l), log_alpha, hc);
}

double hard_concrete_mean(double log_alpha, const HardConcrete& hc) {
  // E[z] = int_0^1 P(z > t) dt, P(z > t) = 1 - P(s <= (t - l) / (r - l));
  // the integrand is smooth inside (0, 1): composite Gauss-Legendre on
  // 256 panels of 4 points.
  static const double x4[4] = {-0.8611363115940526, -0.3399810435848563, 0.3399810435848563, 0.8611363115940526};
  static const double w4[4] = {0.3478548451374538, 0.6521451548625461, 0.6521451548625461, 0.3478548451374538};
  const int panels = 256;
  double acc = 0;
  for (int p = 0; p < panels; ++p) {
    const double a = double(p) / panels, h = 1.0 / panels;
    for (int k = 0; k < 4; ++k) {
      const double t = a + h * (x4[k] + 1) / 2;
      acc += w4[k] * h / 2 * (1 - concrete_cdf((t - hc.l) / (hc.r - hc.l), log_alpha, hc));
    }
  }
  return acc;
}

// ------------------------------------------------------------------ the probes
namespace {

std::string hex64(uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

void require_encoder(const Model& model, const char* who) {
  const ModelConfig& c = model.config();
  if (!c.is_transformer() || c.family == ModelFamily::Gpt2 || c.head != ModelHead::SequenceClassification)
    throw Error(std::string(who) + ": DiffMask's probes read a transformer encoder classifier's layers (BERT, "
                "DistilBERT, RoBERTa); " + c.architecture + " is not one");
}

std::string probe_name(int i, const char* rest) { return "gate.g_hat." + std::to_string(i) + "." + rest; }

}  // namespace

std::string diffmask_weights_hash(Model& model) {
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&](const void* p, size_t n) {
    const unsigned char* b = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) {
      h ^= b[i];
      h *= 1099511628211ULL;
    }
  };
  for (const ModelParameter& p : model.parameters()) {
    mix(p.name.data(), p.name.size());
    for (int64_t d : p.shape) mix(&d, sizeof d);
    mix(p.data, static_cast<size_t>(p.numel()) * sizeof(float));
  }
  return hex64(h);
}

std::vector<float> DiffMask::weight_normed(const std::vector<float>& g, const std::vector<float>& v, int O, int I) {
  std::vector<float> w(static_cast<size_t>(O) * I);
  for (int o = 0; o < O; ++o) {
    double n2 = 0;
    for (int i = 0; i < I; ++i) n2 += double(v[size_t(o) * I + i]) * v[size_t(o) * I + i];
    const double s = g[size_t(o)] / std::max(std::sqrt(n2), 1e-12);
    for (int i = 0; i < I; ++i) w[size_t(o) * I + i] = static_cast<float>(v[size_t(o) * I + i] * s);
  }
  return w;
}

DiffMask DiffMask::fresh(const Model& model, int32_t mask_id, uint64_t seed) {
  require_encoder(model, "train-diffmask");
  DiffMask dm;
  const ModelConfig& c = model.config();
  const int H = c.hidden_size, P = std::max(1, H / 4);
  dm.config.layers = c.num_hidden_layers + 1;
  dm.config.hidden_size = H;
  dm.config.probe_hidden = P;
  std::mt19937_64 rng(seed);
  auto uniform = [&](std::vector<float>& w, size_t n, int fan_in) {
    const double b = 1.0 / std::sqrt(double(fan_in));
    w.resize(n);
    for (float& x : w) x = static_cast<float>((double(rng() >> 11) * (1.0 / 9007199254740992.0) * 2 - 1) * b);
  };
  auto row_norms = [](const std::vector<float>& v, int O, int I) {
    std::vector<float> g(static_cast<size_t>(O));
    for (int o = 0; o < O; ++o) {
      double n2 = 0;
      for (int i = 0; i < I; ++i) n2 += double(v[size_t(o) * I + i]) * v[size_t(o) * I + i];
      g[size_t(o)] = static_cast<float>(std::sqrt(n2));
    }
    return g;
  };
  for (int i = 0; i < dm.config.layers; ++i) {
    DiffMaskProbe p;
    uniform(p.v1, size_t(P) * 2 * H, 2 * H);
    uniform(p.b1, size_t(P), 2 * H);
    p.g1 = row_norms(p.v1, P, 2 * H);
    uniform(p.v2, size_t(P), P);
    uniform(p.b2, 1, P);
    p.g2 = row_norms(p.v2, 1, P);
    p.bias = 5.f;
    dm.probes.push_back(std::move(p));
  }
  if (mask_id < 0 || mask_id >= c.vocab_size)
    throw Error("train-diffmask: the tokenizer has no mask token to start the placeholder from");
  dm.placeholder.resize(size_t(H));
  TokenBatch b;
  b.B = 1;
  b.T = 1;
  b.ids = {mask_id};
  b.mask = {1};
  model.embed(b, dm.placeholder.data());
  return dm;
}

std::vector<TensorToWrite> DiffMask::tensors() const {
  const int H = config.hidden_size, P = config.probe_hidden;
  std::vector<TensorToWrite> t;
  for (int i = 0; i < config.layers; ++i) {
    const DiffMaskProbe& p = probes[size_t(i)];
    t.push_back({probe_name(i, "f.0.weight_g"), {P, 1}, p.g1.data()});
    t.push_back({probe_name(i, "f.0.weight_v"), {P, 2 * H}, p.v1.data()});
    t.push_back({probe_name(i, "f.0.bias"), {P}, p.b1.data()});
    t.push_back({probe_name(i, "f.2.weight_g"), {1, 1}, p.g2.data()});
    t.push_back({probe_name(i, "f.2.weight_v"), {1, P}, p.v2.data()});
    t.push_back({probe_name(i, "f.2.bias"), {1}, p.b2.data()});
    t.push_back({probe_name(i, "bias"), {}, &p.bias});
  }
  t.push_back({"gate.placeholder", {1, 1, H}, placeholder.data()});
  return t;
}

std::string DiffMask::config_json(const std::string& extra) const {
  nlohmann::ordered_json j;
  j["method"] = "diffmask";
  j["variant"] = "input";
  j["layers"] = config.layers;
  j["hidden_size"] = config.hidden_size;
  j["probe_hidden"] = config.probe_hidden;
  j["temperature"] = config.gate.beta;
  j["stretch"] = {config.gate.l, config.gate.r};
  j["max_activation"] = config.max_activation;
  j["eps"] = config.eps;
  j["model_weights_hash"] = config.model_hash;
  if (!extra.empty()) {
    const nlohmann::ordered_json e = nlohmann::ordered_json::parse(extra);
    for (auto it = e.begin(); it != e.end(); ++it) j[it.key()] = it.value();
  }
  return j.dump(2) + "\n";
}

std::shared_ptr<DiffMask> read_diffmask(const std::string& st_bytes, const std::string& json_text, Model& model,
                                        const std::string& where) {
  require_encoder(model, where.c_str());
  check_json_depth(json_text, where + "/diffmask.json");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + "/diffmask.json: not valid JSON (" + e.what() + ")");
  }
  auto dm = std::make_shared<DiffMask>();
  DiffMaskConfig& c = dm->config;
  try {
    if (!j.is_object() || j.value("method", "") != "diffmask" || j.value("variant", "") != "input")
      throw Error("not a DiffMask file (\"method\": \"diffmask\", \"variant\": \"input\")");
    c.layers = j.at("layers").get<int>();
    c.hidden_size = j.at("hidden_size").get<int>();
    c.probe_hidden = j.at("probe_hidden").get<int>();
    c.gate.beta = j.at("temperature").get<double>();
    c.gate.l = j.at("stretch").at(0).get<double>();
    c.gate.r = j.at("stretch").at(1).get<double>();
    c.max_activation = j.at("max_activation").get<double>();
    c.eps = j.value("eps", 0.1);
    c.model_hash = j.at("model_weights_hash").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + "/diffmask.json: " + e.what());
  } catch (const Error& e) {
    throw Error(where + "/diffmask.json: " + e.what());
  }
  if (!(c.gate.beta > 0 && c.gate.l < 0 && c.gate.r >= 1 && c.probe_hidden > 0))
    throw Error(where + "/diffmask.json: temperature must be > 0, the stretch (l < 0, r >= 1), probe_hidden > 0");
  const ModelConfig& mc = model.config();
  const std::string retrain = "; train one for this model: wordlight train-diffmask --model DIR --data SPEC --out "
                              "DIR/diffmask.safetensors (models/recipes/sst2-bert-diffmask.sh)";
  if (c.layers != mc.num_hidden_layers + 1 || c.hidden_size != mc.hidden_size)
    throw Error(where + "/diffmask.json: its probes are for " + std::to_string(c.layers - 1) + " layers of width " +
                std::to_string(c.hidden_size) + ", the model has " + std::to_string(mc.num_hidden_layers) +
                " of width " + std::to_string(mc.hidden_size) + retrain);
  const std::string mine = diffmask_weights_hash(model);
  if (c.model_hash != mine)
    throw Error(where + "/diffmask.safetensors was trained for another model (weights hash " + c.model_hash +
                "; this model's is " + mine + ")" + retrain);
  const SafetensorsFile st = load_safetensors(reinterpret_cast<const uint8_t*>(st_bytes.data()), st_bytes.size(),
                                              where + "/diffmask.safetensors");
  const int H = c.hidden_size, P = c.probe_hidden;
  auto take = [&](const std::string& name, const std::vector<int64_t>& shape) {
    if (!st.has(name)) throw Error(where + "/diffmask.safetensors: missing tensor '" + name + "'");
    const LoadedTensor& t = st.get(name);
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    if (static_cast<int64_t>(t.values.size()) != n)
      throw Error(where + "/diffmask.safetensors: tensor '" + name + "' has " + std::to_string(t.values.size()) +
                  " values, expected " + std::to_string(n));
    for (float x : t.values)
      if (!std::isfinite(x)) throw Error(where + "/diffmask.safetensors: tensor '" + name + "' is not finite");
    return t.values;
  };
  for (int i = 0; i < c.layers; ++i) {
    DiffMaskProbe p;
    p.g1 = take(probe_name(i, "f.0.weight_g"), {P, 1});
    p.v1 = take(probe_name(i, "f.0.weight_v"), {P, 2 * H});
    p.b1 = take(probe_name(i, "f.0.bias"), {P});
    p.g2 = take(probe_name(i, "f.2.weight_g"), {1, 1});
    p.v2 = take(probe_name(i, "f.2.weight_v"), {1, P});
    p.b2 = take(probe_name(i, "f.2.bias"), {1});
    p.bias = take(probe_name(i, "bias"), {})[0];
    dm->probes.push_back(std::move(p));
  }
  dm->placeholder = take("gate.placeholder", {1, 1, H});
  return dm;
}

namespace {
std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot be read");
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}
std::string dir_of(const std::string& path) {
  const size_t k = path.find_last_of('/');
  return k == std::string::npos ? "." : path.substr(0, k);
}
}  // namespace

std::shared_ptr<DiffMask> read_diffmask_files(const std::string& st_path, const std::string& json_path, Model& model) {
  return read_diffmask(slurp(st_path), slurp(json_path), model, dir_of(st_path));
}

void write_diffmask_files(const DiffMask& dm, const std::string& st_path, const std::string& extra_json) {
  std::string json_path = st_path;
  const std::string suffix = ".safetensors";
  if (json_path.size() > suffix.size() && json_path.compare(json_path.size() - suffix.size(), suffix.size(), suffix) == 0)
    json_path = json_path.substr(0, json_path.size() - suffix.size());
  json_path += ".json";
  // Write to temporary names, then rename: a reader never sees half a file.
  write_safetensors_file(st_path + ".tmp", dm.tensors(),
                         {{"format", "pt"}, {"wordlight", "diffmask"}, {"model_weights_hash", dm.config.model_hash}});
  {
    std::ofstream f(json_path + ".tmp", std::ios::binary);
    f << dm.config_json(extra_json);
    if (!f) throw Error(json_path + ": cannot be written");
  }
  if (std::rename((st_path + ".tmp").c_str(), st_path.c_str()) != 0 ||
      std::rename((json_path + ".tmp").c_str(), json_path.c_str()) != 0)
    throw Error(st_path + ": cannot be renamed into place");
}

// ------------------------------------------------------------------ running them
std::vector<Var> diffmask_hidden_states(const Graph<float>& g, int layers) {
  std::vector<Var> h(static_cast<size_t>(layers));
  std::vector<bool> seen(static_cast<size_t>(layers), false);
  for (const auto& m : g.marks()) {
    int i = -1;
    if (m.layer == "embeddings") i = 0;
    else if (m.layer.compare(0, 6, "layer.") == 0) i = 1 + std::atoi(m.layer.c_str() + 6);
    if (i >= 0 && i < layers && !seen[size_t(i)]) {
      h[size_t(i)] = m.v;
      seen[size_t(i)] = true;
    }
  }
  for (int i = 0; i < layers; ++i)
    if (!seen[size_t(i)])
      throw Error("diffmask: the model's forward pass marked no " +
                  (i == 0 ? std::string("embeddings") : "layer." + std::to_string(i - 1)) + " output");
  return h;
}

std::vector<Var> diffmask_log_alphas(Graph<float>& g, const DiffMask& dm, const std::vector<Var>& hidden, int last,
                                     DiffMaskLeaves* params) {
  const int H = dm.config.hidden_size, P = dm.config.probe_hidden;
  const bool grad = params != nullptr;
  std::vector<Var> out;
  for (int i = 0; i <= last; ++i) {
    const DiffMaskProbe& p = dm.probes[size_t(i)];
    const std::vector<float> w1 = DiffMask::weight_normed(p.g1, p.v1, P, 2 * H);
    const std::vector<float> w2 = DiffMask::weight_normed(p.g2, p.v2, 1, P);
    Var vw1 = g.input(Shape{P, 2 * H}, w1.data(), grad), vb1 = g.input(Shape{P}, p.b1.data(), grad);
    Var vw2 = g.input(Shape{1, P}, w2.data(), grad), vb2 = g.input(Shape{1}, p.b2.data(), grad);
    Var vbias = g.input(Shape{1}, &p.bias, grad);
    if (params) {
      params->w1.push_back(vw1);
      params->b1.push_back(vb1);
      params->w2.push_back(vw2);
      params->b2.push_back(vb2);
      params->bias.push_back(vbias);
    }
    Var in = g.concat({hidden[0], hidden[size_t(i)]}, 2);                  // (B, T, 2H)
    Var a = g.tanh(g.linear(in, vw1, vb1));                                // (B, T, P)
    Var o = g.tanh(g.linear(a, vw2, vb2));                                 // (B, T, 1)
    out.push_back(g.add(g.scale(o, static_cast<float>(dm.config.max_activation)), vbias));
  }
  return out;
}

std::vector<std::vector<double>> diffmask_keep_probabilities(const Model& model, const DiffMask& dm,
                                                             const std::vector<int32_t>& ids) {
  TokenBatch b;
  b.B = 1;
  b.T = static_cast<int>(ids.size());
  b.ids = ids;
  b.mask.assign(ids.size(), 1);
  const int T = b.T, G = dm.config.layers;
  std::vector<float> emb(size_t(T) * model.embedding_dim());
  model.embed(b, emb.data());
  Graph<float> g;
  Var x = g.input(Shape{1, T, model.embedding_dim()}, emb.data(), false);
  model.forward(g, x, b);
  const std::vector<Var> hidden = diffmask_hidden_states(g, G);
  const std::vector<Var> la = diffmask_log_alphas(g, dm, hidden, G - 1);
  std::vector<std::vector<double>> keep(static_cast<size_t>(G), std::vector<double>(static_cast<size_t>(T)));
  for (int t = 0; t < T; ++t) {
    double acc = 1;
    for (int i = 0; i < G; ++i) {
      acc *= hard_concrete_p_nonzero(g.value(la[size_t(i)])[t], dm.config.gate);
      keep[size_t(i)][size_t(t)] = acc;
    }
  }
  return keep;
}

}  // namespace wordlight
