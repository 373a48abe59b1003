#pragma once
// Reading the golden files that tests/golden/*.py wrote, and the few file
// steps the suites share (a fresh temp folder name, a file's text).
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>

#include "wordlight/model.h"

namespace wltest {

// A fresh folder name under the test temp dir, `prefix` and `name` in it
// (no std::system: the tests also run as wasm under node, without a shell).
inline std::string temp_dir(const std::string& prefix, const std::string& name) {
  static int counter = 0;
  const auto t = std::chrono::steady_clock::now().time_since_epoch().count();
  return ::testing::TempDir() + prefix + name + "_" + std::to_string(t) + "_" + std::to_string(++counter);
}

// JSON text parsed, with `key` left out of its top-level object (what may
// differ between two runs, as "time").
inline nlohmann::json json_without(const std::string& text, const std::string& key) {
  nlohmann::json j = nlohmann::json::parse(text);
  j.erase(key);
  return j;
}

// A file's bytes ("" when it cannot be read), and a file written whole.
inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
inline void spit(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

// tests/golden/<kind>/<name> in the source tree.
inline std::string golden_dir(const std::string& kind, const std::string& name) {
  return std::string(WORDLIGHT_SOURCE_DIR) + "/tests/golden/" + kind + "/" + name;
}

inline nlohmann::json read_json(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot open " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  return nlohmann::json::parse(ss.str());
}

// The (B, T) input_ids and attention_mask of a golden.json.
inline wordlight::TokenBatch golden_batch(const nlohmann::json& gold) {
  wordlight::TokenBatch batch;
  for (auto& row : gold["input_ids"]) {
    batch.T = static_cast<int>(row.size());
    for (auto& id : row) batch.ids.push_back(id.get<int32_t>());
  }
  for (auto& row : gold["attention_mask"])
    for (auto& m : row) batch.mask.push_back(static_cast<uint8_t>(m.get<int>()));
  batch.B = static_cast<int>(gold["input_ids"].size());
  return batch;
}

}  // namespace wltest
