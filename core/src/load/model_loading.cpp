// The one place where a model is loaded: its files (io: config.json,
// safetensors, the tokenizer's files) made into a Model (nn) and a
// Tokenizer. This unit sits above io and nn so that neither depends on the
// other's loading: io reads files, nn builds networks from parsed weights.
// Every shell loads through here: the CLI, the benches and the tests
// (load_model_directory), the wasm module (load_model_files).
#include "wordlight/model_files.h"

#include "../io/io_util.h"
#include "wordlight/diffmask.h"
#include "wordlight/error.h"
#include "wordlight/model.h"
#include "wordlight/model_config.h"
#include "wordlight/safetensors.h"

namespace wordlight {

namespace {

// A checkpoint without model.safetensors: say what it has instead and how
// to convert it, rather than "missing file". PyTorch's pytorch_model.bin is
// a pickle (loading one runs code), so it is refused, never read.
// has(name): whether the checkpoint holds that file.
template <class Has>
void check_weights_file(const std::string& where, Has has) {
  if (has("model.safetensors")) return;
  if (has("model.safetensors.index.json"))
    throw Error(where + ": model.safetensors is missing; this checkpoint is sharded (model.safetensors.index.json and "
                "model-0000N-of-0000M.safetensors), which is not supported: save it as one file, e.g. with "
                "transformers: AutoModelForSequenceClassification.from_pretrained(DIR).save_pretrained(OUT, "
                "max_shard_size=\"100GB\")");
  const std::string transformers =
      "with transformers: AutoModel...from_pretrained(DIR).save_pretrained(DIR, safe_serialization=True)";
  if (has("pytorch_model.bin"))
    throw Error(where +
                ": model.safetensors is missing; pytorch_model.bin is there, which wordlight does not read (a PyTorch "
                "pickle can run code when it is loaded). Convert it once, in that folder: python3 -c \"import torch; "
                "from safetensors.torch import save_file; sd = torch.load('pytorch_model.bin', map_location='cpu', "
                "weights_only=True); save_file({k: v.contiguous().clone() for k, v in sd.items()}, "
                "'model.safetensors', metadata={'format': 'pt'})\" (or " + transformers + ")");
  for (const char* other : {"tf_model.h5", "flax_model.msgpack"})
    if (has(other))
      throw Error(where + ": model.safetensors is missing; only " + other +
                  " is there, which wordlight does not read: convert it once " + transformers +
                  " (from_tf=True or from_flax=True)");
}

// Learned parts in files next to the model (Model::parts()): DiffMask's
// probes. Trained for other weights, or unreadable: the model loads
// without them, and the part's refusal says why (the diffmask method then
// tells it). read(name) gives a file's bytes.
template <class Has, class Read>
void attach_parts(Model& model, const std::string& where, Has has, Read read) {
  if (!has("diffmask.safetensors") && !has("diffmask.json")) return;
  try {
    if (!has("diffmask.safetensors") || !has("diffmask.json"))
      throw Error(where + ": diffmask.safetensors and diffmask.json go together; only one of them is there");
    model.attach_part("diffmask", read_diffmask(read("diffmask.safetensors"), read("diffmask.json"), model, where));
  } catch (const Error& e) {
    model.refuse_part("diffmask", e.what());
  }
}

}  // namespace

std::vector<std::string> model_file_names() {
  std::vector<std::string> names = {"config.json", "model.safetensors"};
  for (const std::string& n : tokenizer_file_names()) names.push_back(n);
  // Learned parts (optional): DiffMask's probes.
  names.push_back("diffmask.safetensors");
  names.push_back("diffmask.json");
  return names;
}

LoadedModel load_model_files(ModelFiles files, const std::string& name) {
  auto path = [&](const std::string& n) { return io::join_path(name, n); };
  auto need = [&](const std::string& n) -> std::string& {
    auto it = files.find(n);
    if (it == files.end()) throw Error(name + ": " + n + " is missing (a model needs config.json and model.safetensors)");
    return it->second;
  };
  const ModelConfig config = parse_model_config(need("config.json"), path("config.json"));
  check_weights_file(name, [&](const char* n) { return files.count(n) > 0; });
  std::string& st_bytes = need("model.safetensors");
  // The tokenizer first: it is cheap and its errors need no weights.
  std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(files, config, name);
  std::unique_ptr<Model> model;
  {
    const SafetensorsFile weights = load_safetensors(reinterpret_cast<const uint8_t*>(st_bytes.data()),
                                                     st_bytes.size(), path("model.safetensors"));
    std::string().swap(st_bytes);  // the float32 copy is all make_model needs
    model = make_model(config, weights);
  }
  attach_parts(
      *model, name, [&](const char* n) { return files.count(n) > 0; },
      [&](const char* n) -> const std::string& { return files.at(n); });
  return LoadedModel{std::move(model), std::move(tokenizer)};
}

LoadedModel load_model_directory(const std::string& dir) {
  // From the files themselves (not read into memory first as
  // load_model_files needs them): the weights are mapped, and the errors
  // name the file's path. The model first: the tokenizer's reader needs
  // its config.
  const ModelConfig cfg = read_model_config_file(io::join_path(dir, "config.json"));
  check_weights_file(dir, [&](const char* n) { return io::file_exists(io::join_path(dir, n)); });
  LoadedModel m;
  m.model = make_model(cfg, load_safetensors_file(io::join_path(dir, "model.safetensors")));
  m.tokenizer = load_tokenizer_dir(dir, m.model->config());
  attach_parts(
      *m.model, dir, [&](const char* n) { return io::file_exists(io::join_path(dir, n)); },
      [&](const char* n) { return io::read_file(io::join_path(dir, n)); });
  return m;
}

}  // namespace wordlight
