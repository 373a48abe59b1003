// Writing a trained model in the Hugging Face layout (train.h).
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "../io/io_util.h"
#include "wordlight/error.h"
#include "wordlight/safetensors.h"
#include "wordlight/tokenizer.h"
#include "wordlight/train.h"
#include "wordlight/json_limits.h"

namespace wordlight {

void make_directories(const std::string& dir) {
  if (dir.empty()) throw Error("make_directories: empty path");
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    const std::string part = dir.substr(0, pos);
    struct stat st;
    if (::stat(part.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) throw Error(part + ": exists and is not a directory");
      continue;
    }
    if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST)
      throw Error(part + ": cannot create the directory (" + std::strerror(errno) + ")");
  }
}

namespace {

std::string updated_config(const std::string& text, const std::vector<std::string>& label_names, bool f16) {
  nlohmann::json j;
  check_json_depth(text, "save_checkpoint: the config");
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw Error(std::string("save_checkpoint: the config is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw Error("save_checkpoint: the config is not a JSON object");
  if (!label_names.empty()) {
    nlohmann::json id2label = nlohmann::json::object(), label2id = nlohmann::json::object();
    for (size_t i = 0; i < label_names.size(); ++i) {
      id2label[std::to_string(i)] = label_names[i];
      label2id[label_names[i]] = static_cast<int>(i);
    }
    j["id2label"] = id2label;
    j["label2id"] = label2id;
    j["num_labels"] = static_cast<int>(label_names.size());
  }
  j["torch_dtype"] = f16 ? "float16" : "float32";
  return j.dump(2) + "\n";
}

}  // namespace

void save_checkpoint(Model& model, const std::string& config_json_text, const std::vector<std::string>& label_names,
                     const std::string& tokenizer_dir, const std::string& dir, bool f16) {
  make_directories(dir);
  const std::string cfg = updated_config(config_json_text, label_names, f16);
  io::write_file(io::join_path(dir, "config.json"), cfg.data(), cfg.size());
  write_safetensors_file(io::join_path(dir, "model.safetensors"), checkpoint_tensors(model, f16 ? DType::F16 : DType::F32),
                         {{"format", "pt"}});
  if (tokenizer_dir.empty() || tokenizer_dir == dir) return;
  for (const std::string& name : tokenizer_file_names()) {
    const std::string src = io::join_path(tokenizer_dir, name);
    if (!io::file_exists(src)) continue;
    const std::string bytes = io::read_file(src);
    io::write_file(io::join_path(dir, name), bytes.data(), bytes.size());
  }
}

}  // namespace wordlight
