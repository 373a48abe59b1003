// wordlight train-diffmask   trains DiffMask's probes (wordlight/diffmask.h)
//                            for a frozen classifier; writes
//                            diffmask.safetensors + diffmask.json
// wordlight diffmask-eval    the paper's selection criteria per layer on a
//                            data set (KL, expected L0, kept, agreement)
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "wordlight/datasets.h"
#include "wordlight/diffmask.h"
#include "wordlight/error.h"
#include "wordlight/model.h"
#include "wordlight/model_files.h"
#include "wordlight/safetensors.h"
#include "wordlight/text_escape.h"
#include "wordlight/tokenizer.h"
#include "wordlight/train.h"

using namespace wordlight;
using namespace wordlight::cli;

namespace {

std::vector<std::vector<int32_t>> load_texts(const std::string& spec, const Tokenizer& tok, long long limit,
                                             const char* what) {
  TextDataset ds = read_data_spec(spec);
  if (limit > 0 && ds.texts.size() > static_cast<size_t>(limit)) ds.texts.resize(static_cast<size_t>(limit));
  std::vector<std::vector<int32_t>> out;
  for (const std::string& t : ds.texts) {
    Encoding e = tok.encode(t, EncodeOptions{});
    bool any = false;
    for (int32_t w : e.word_ids) any = any || w >= 0;
    if (any) out.push_back(std::move(e.ids));
  }
  std::fprintf(stderr, "%s: %zu texts from %s\n", what, out.size(), terminal_escape(spec).c_str());
  if (out.empty()) throw Error(spec + ": no text with a token in it");
  return out;
}

// Where the optimiser state goes (--state; default beside --out).
std::string g_state_path;
std::string state_path(const std::string& out) { return g_state_path.empty() ? out + ".state.safetensors" : g_state_path; }

// The optimiser state beside the probes: Adam's moments as tensors, the
// rest as JSON in the metadata.
void write_state(const std::string& out, const DiffMaskTrainState& st, const DiffMaskTrainOptions& o) {
  std::vector<TensorToWrite> t;
  for (size_t k = 0; k < st.m.size(); ++k) {
    t.push_back({"m." + std::to_string(k), {static_cast<int64_t>(st.m[k].size())}, st.m[k].data()});
    t.push_back({"v." + std::to_string(k), {static_cast<int64_t>(st.v[k].size())}, st.v[k].data()});
  }
  nlohmann::json j = {{"step", st.step},         {"lambdas", st.lambdas},     {"lambda_sq", st.lambda_sq},
                      {"run_kl", st.run_kl},     {"run_l0", st.run_l0},       {"run_agree", st.run_agree},
                      {"layer_steps", st.layer_steps}, {"seed", o.seed}};
  write_safetensors_file(state_path(out) + ".tmp", t, {{"state", j.dump()}});
  if (std::rename((state_path(out) + ".tmp").c_str(), state_path(out).c_str()) != 0)
    throw Error(state_path(out) + ": cannot be renamed into place");
}

DiffMaskTrainState read_state(const std::string& out, size_t tensors) {
  const SafetensorsFile f = load_safetensors_file(state_path(out));
  auto it = f.metadata.find("state");
  if (it == f.metadata.end()) throw Error(state_path(out) + ": no \"state\" in its metadata");
  const nlohmann::json j = nlohmann::json::parse(it->second);
  DiffMaskTrainState st;
  st.step = j.at("step").get<int64_t>();
  st.lambdas = j.at("lambdas").get<std::vector<double>>();
  st.lambda_sq = j.at("lambda_sq").get<std::vector<double>>();
  st.run_kl = j.at("run_kl").get<std::vector<double>>();
  st.run_l0 = j.at("run_l0").get<std::vector<double>>();
  st.run_agree = j.at("run_agree").get<std::vector<double>>();
  st.layer_steps = j.at("layer_steps").get<std::vector<int64_t>>();
  for (size_t k = 0; k < tensors; ++k) {
    st.m.push_back(f.get("m." + std::to_string(k)).values);
    st.v.push_back(f.get("v." + std::to_string(k)).values);
  }
  return st;
}

std::string layers_json(const std::vector<DiffMaskEvalLayer>& ev) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (size_t l = 0; l < ev.size(); ++l)
    a.push_back({{"layer", l == 0 ? std::string("embeddings") : "layer." + std::to_string(l - 1)},
                 {"kl", ev[l].kl},
                 {"expected_l0", ev[l].l0},
                 {"kept", ev[l].kept},
                 {"agreement", ev[l].agreement}});
  return a.dump();
}

void print_eval(const std::vector<DiffMaskEvalLayer>& ev) {
  std::fprintf(stderr, "%-11s %8s %12s %8s %10s\n", "gates 0..", "KL", "expected L0", "kept", "agreement");
  for (size_t l = 0; l < ev.size(); ++l)
    std::fprintf(stderr, "%-11s %8.4f %12.4f %8.4f %10.4f\n",
                 (l == 0 ? std::string("embeddings") : "layer." + std::to_string(l - 1)).c_str(), ev[l].kl, ev[l].l0,
                 ev[l].kept, ev[l].agreement);
}

int cmd_train_diffmask(const Args& a) {
  const std::string model_dir = a.need("model"), out = a.get("out", a.need("model") + "/diffmask.safetensors");
  const std::string suffix = ".safetensors";
  if (out.size() <= suffix.size() || out.compare(out.size() - suffix.size(), suffix.size(), suffix) != 0)
    throw Error("option --out: '" + out + "' must end in .safetensors (the JSON goes beside it)");
  g_state_path = a.get("state");
  LoadedModel loaded = load_model_directory(model_dir);
  Model& model = *loaded.model;
  const Tokenizer& tok = *loaded.tokenizer;
  DiffMaskTrainOptions o;
  o.batch_size = static_cast<int>(a.integer("batch-size", 32));
  o.lr = a.num("lr", 3e-4);
  o.lr_placeholder = a.num("lr-placeholder", 1e-3);
  o.lr_lambda = a.num("lr-lambda", 0.3);
  o.eps = a.num("eps", 0.1);
  o.warmup = a.integer("warmup", 100);
  o.max_steps = a.integer("steps", 2000);
  o.max_seconds = 60.0 * a.num("max-minutes", 0);
  o.seed = static_cast<uint64_t>(a.integer("seed", 1));
  o.log_every = static_cast<int>(a.integer("log-every", 20));
  o.checkpoint_every = static_cast<int>(a.integer("checkpoint-every", 100));
  if (o.batch_size < 1 || o.max_steps < 1 || o.max_seconds < 0 || !(o.eps > 0))
    throw Error("train-diffmask: --batch-size and --steps must be >= 1, --max-minutes >= 0, --eps > 0");
  const int32_t pad = tok.special_tokens().pad_id >= 0 ? tok.special_tokens().pad_id : model.config().pad_token_id;
  const std::vector<std::vector<int32_t>> train = load_texts(a.need("data"), tok, a.integer("limit", 0), "data");
  const std::string hash = diffmask_weights_hash(model);

  DiffMask dm;
  DiffMaskTrainState st;
  if (a.flag("resume")) {
    dm = *read_diffmask_files(out, out.substr(0, out.size() - suffix.size()) + ".json", model);
    st = read_state(out, dm.tensors().size());
    std::fprintf(stderr, "resumed from %s at step %lld\n", terminal_escape(out).c_str(), static_cast<long long>(st.step));
  } else {
    dm = DiffMask::fresh(model, tok.special_tokens().mask_id, o.seed);
  }
  dm.config.model_hash = hash;
  const bool tty = stderr_is_tty();
  auto record = [&](const DiffMaskTrainState& s, double seconds) {
    nlohmann::ordered_json j;
    j["model"] = model_dir;
    j["trained"] = {{"data", a.need("data")}, {"steps", s.step}, {"batch_size", o.batch_size},
                    {"lr", o.lr},             {"lr_placeholder", o.lr_placeholder}, {"lr_lambda", o.lr_lambda},
                    {"seed", o.seed},         {"seconds_this_run", seconds}};
    j["lambdas"] = s.lambdas;
    j["running_kl"] = s.run_kl;
    j["running_expected_l0"] = s.run_l0;
    j["running_agreement"] = s.run_agree;
    return j.dump();
  };
  double last_seconds = 0;
  DiffMaskTrainCallbacks cb;
  cb.on_step = [&](const DiffMaskProgress& p, const DiffMaskTrainState& s) {
    last_seconds = p.seconds;
    std::string lams;
    for (double l : s.lambdas) lams += (lams.empty() ? "" : " ") + std::to_string(l).substr(0, 6);
    char line[512];
    std::snprintf(line, sizeof line,
                  "step %lld/%lld  layer %d  KL %.4f  L0 %.3f  agree %.2f  lambda [%s]  %.0f s", static_cast<long long>(p.step),
                  static_cast<long long>(p.total), p.layer, p.kl, p.l0, p.agreement, lams.c_str(), p.seconds);
    std::fprintf(stderr, tty ? "\r%s\033[K" : "%s\n", line);
  };
  cb.on_checkpoint = [&](const DiffMask& d, const DiffMaskTrainState& s) {
    write_diffmask_files(d, out, record(s, last_seconds));
    write_state(out, s, o);
  };
  train_diffmask(model, dm, train, pad, o, st, cb);
  if (tty) std::fprintf(stderr, "\n");
  write_diffmask_files(dm, out, record(st, last_seconds));
  write_state(out, st, o);
  std::fprintf(stderr, "train-diffmask: %lld steps; wrote %s (+ .json; the optimiser state for --resume in %s)\n",
               static_cast<long long>(st.step), terminal_escape(out).c_str(), terminal_escape(state_path(out)).c_str());
  nlohmann::ordered_json res = {{"steps", st.step}, {"out", out}, {"lambdas", st.lambdas}, {"running_kl", st.run_kl},
                                {"running_expected_l0", st.run_l0}, {"running_agreement", st.run_agree}};
  if (a.has("dev")) {
    const std::vector<std::vector<int32_t>> dev = load_texts(a.get("dev"), tok, a.integer("dev-limit", 0), "dev");
    const std::vector<DiffMaskEvalLayer> ev = evaluate_diffmask(model, dm, dev, pad, o.batch_size);
    print_eval(ev);
    res["dev"] = nlohmann::ordered_json::parse(layers_json(ev));
  }
  std::printf("%s\n", res.dump().c_str());
  return 0;
}

int cmd_diffmask_eval(const Args& a) {
  LoadedModel loaded = load_model_directory(a.need("model"));
  Model& model = *loaded.model;
  const DiffMask* dm = model.part_as<DiffMask>("diffmask");
  if (!dm) {
    const std::string why = model.part_refused("diffmask");
    throw Error(a.need("model") + ": " + (why.empty() ? "no diffmask.safetensors + diffmask.json (train them with "
                                                        "wordlight train-diffmask)"
                                                      : why));
  }
  const Tokenizer& tok = *loaded.tokenizer;
  const int32_t pad = tok.special_tokens().pad_id >= 0 ? tok.special_tokens().pad_id : model.config().pad_token_id;
  const std::vector<std::vector<int32_t>> texts = load_texts(a.need("data"), tok, a.integer("limit", 0), "data");
  const std::vector<DiffMaskEvalLayer> ev = evaluate_diffmask(model, *dm, texts, pad, static_cast<int>(a.integer("batch-size", 32)));
  print_eval(ev);
  std::printf("{\"texts\": %zu, \"eps\": %g, \"layers\": %s}\n", texts.size(), dm->config.eps, layers_json(ev).c_str());
  return 0;
}

const RegisterCommand reg_train_diffmask(
    {"train-diffmask",
     "train-diffmask --model DIR --data SPEC [--out DIR/diffmask.safetensors] [--dev SPEC] [--steps N (2000)]\n"
     "[--max-minutes X] [--batch-size N (32)] [--lr X (3e-4)] [--lr-placeholder X (1e-3)] [--lr-lambda X (0.3)]\n"
     "[--eps X (0.1)] [--warmup N (100)] [--seed N] [--limit N] [--dev-limit N] [--log-every N] [--checkpoint-every N]\n"
     "[--state FILE] [--resume]\n"
     "DiffMask's probes (De Cao et al. 2020) for a frozen transformer classifier: written as --out and\n"
     "the .json beside it (with a hash of the model's weights: they load on this model only; beside the\n"
     "model they give it the diffmask method). Checkpoints every --checkpoint-every steps (with the\n"
     "optimiser state in --state, default OUT.state.safetensors); --resume continues from them; --dev\n"
     "prints the selection criteria per layer at the end (as diffmask-eval)",
     {"model", "data", "out", "dev", "steps", "max-minutes", "batch-size", "lr", "lr-placeholder", "lr-lambda", "eps",
      "warmup", "seed", "limit", "dev-limit", "log-every", "checkpoint-every", "state"},
     {"resume"}, cmd_train_diffmask, 25});
const RegisterCommand reg_diffmask_eval(
    {"diffmask-eval",
     "diffmask-eval --model DIR --data SPEC [--limit N] [--batch-size N]\n"
     "the DiffMask probes beside the model on a data set, per layer (gates 0..l sampled, seeded):\n"
     "KL(p_orig || p_masked), expected L0, fraction of tokens kept, agreement of the predictions",
     {"model", "data", "limit", "batch-size"}, {}, cmd_diffmask_eval, 26});

}  // namespace
