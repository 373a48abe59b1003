#pragma once
// Loading a model: the one path every shell takes (core/src/load/, above
// io and nn). A model and its tokenizer from the files of a Hugging Face
// style model directory: held in memory (file name -> bytes: what the wasm
// build receives from the page, fetched or dropped by the user) or on disk
// (the CLI, the benches, the tests).
//
//   ModelFiles files;                       // "config.json", "model.safetensors",
//   files["config.json"] = ...;             // "vocab.txt" / "tokenizer.json" / ...
//   LoadedModel m = load_model_files(std::move(files), "my-model");
//   explain(*m.model, *m.tokenizer, text, request);
#include <memory>
#include <string>

#include "wordlight/model.h"
#include "wordlight/tokenizer.h"

namespace wordlight {

struct LoadedModel {
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
};

// Builds the model (config.json + model.safetensors) and its tokenizer (the
// files load_tokenizer looks for) from `files`. `name` is what errors call
// the directory (files are named "name/config.json", ...). The files are
// taken by value so that the safetensors bytes can be released as soon as
// they are converted (the wasm build holds everything in one address
// space). Throws Error naming a missing file, or whatever the config,
// safetensors, model or tokenizer readers find wrong.
LoadedModel load_model_files(ModelFiles files, const std::string& name);

// The same from a directory on disk (config.json, model.safetensors, then
// the tokenizer for its config: load_tokenizer_dir). Errors name the file.
// Every load of a model's files goes through this unit (core/src/load/).
LoadedModel load_model_directory(const std::string& dir);

// The file names load_model_files reads: config.json, model.safetensors,
// then tokenizer_file_names().
std::vector<std::string> model_file_names();

}  // namespace wordlight
