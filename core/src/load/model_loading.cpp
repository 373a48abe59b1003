// A model and its tokenizer from in-memory model files (the wasm build) or a
// directory.
#include "wordlight/model_files.h"

#include "io_util.h"
#include "wordlight/error.h"
#include "wordlight/model_config.h"
#include "wordlight/safetensors.h"

namespace wordlight {

std::vector<std::string> model_file_names() {
  std::vector<std::string> names = {"config.json", "model.safetensors"};
  for (const std::string& n : tokenizer_file_names()) names.push_back(n);
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
  return LoadedModel{std::move(model), std::move(tokenizer)};
}

LoadedModel load_model_directory(const std::string& dir) {
  ModelFiles files = read_tokenizer_files(dir);
  for (const char* n : {"config.json", "model.safetensors"}) {
    const std::string p = io::join_path(dir, n);
    if (io::file_exists(p)) files[n] = io::read_file(p);
  }
  return load_model_files(std::move(files), dir);
}

}  // namespace wordlight
