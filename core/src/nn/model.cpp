// Model construction by architecture, and loading from a directory.
#include "wordlight/model.h"

#include "wordlight/error.h"

namespace wordlight {

std::unique_ptr<Model> make_transformer_model(const ModelConfig& config, const SafetensorsFile& weights);

std::unique_ptr<Model> make_model(const ModelConfig& config, const SafetensorsFile& weights) {
  if (config.is_transformer()) return make_transformer_model(config, weights);
  throw Error(config.source + ": architecture '" + config.architecture +
              "' has no model builder in this version (transformers only: BERT, DistilBERT, RoBERTa)");
}

std::unique_ptr<Model> load_model_dir(const std::string& dir) {
  const ModelConfig cfg = read_model_config_file(dir + "/config.json");
  const SafetensorsFile st = load_safetensors_file(dir + "/model.safetensors");
  return make_model(cfg, st);
}

}  // namespace wordlight
