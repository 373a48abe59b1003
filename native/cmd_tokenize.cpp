// wordlight tokenize  a model directory's tokenizer on texts: ids, tokens,
// and where each token came from in the text
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli.h"
#include "wordlight/error.h"
#include "wordlight/text_lines.h"
#include "wordlight/model_config.h"
#include "wordlight/tokenizer.h"
#include "wordlight/json_limits.h"
#include "wordlight/text_escape.h"

using namespace wordlight;
using namespace wordlight::cli;

namespace {

using Json = nlohmann::json;

std::string read_input(const std::string& path) {
  if (path != "-") return read_text(path);
  std::stringstream ss;
  ss << std::cin.rdbuf();
  return ss.str();
}

// Texts of a JSON-lines file: each line a JSON string, or an object with a
// string "text"; blank lines are skipped.
std::vector<std::string> jsonl_texts(const std::string& content, const std::string& path) {
  std::vector<std::string> texts;
  const std::vector<std::string> lines = split_lines(content);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find_first_not_of(" \t") == std::string::npos) continue;
    const std::string where = path + ": line " + std::to_string(i + 1);
    Json j;
    check_json_depth(lines[i], where);
    try {
      j = Json::parse(lines[i]);
    } catch (const nlohmann::json::exception& e) {
      throw Error(where + " is not valid JSON (" + e.what() + ")");
    }
    if (j.is_object() && j.contains("text")) j = j["text"];
    if (!j.is_string()) throw Error(where + " must be a JSON string or an object with a string \"text\"");
    texts.push_back(j.get<std::string>());
  }
  return texts;
}

// The length of the UTF-8 sequence at `i`, or 1 where it is invalid (as the
// tokenizers read it: an invalid byte is one U+FFFD).
size_t utf8_len(const std::string& s, size_t i) {
  const auto u = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = u(i);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (n <= 1 || i + n > s.size()) return 1;
  uint32_t cp = c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    if ((u(i + k) & 0xC0) != 0x80) return 1;
    cp = (cp << 6) | (u(i + k) & 0x3F);
  }
  static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 1;
  return n;
}

// For each byte position of `text`, the number of code points before it
// (inside a code point: the index of that code point).
std::vector<size_t> char_index(const std::string& text) {
  std::vector<size_t> at(text.size() + 1, 0);
  size_t chars = 0;
  for (size_t i = 0; i < text.size();) {
    const size_t n = utf8_len(text, i);
    for (size_t k = 0; k < n; ++k) at[i + k] = chars;
    ++chars;
    i += n;
  }
  at[text.size()] = chars;
  return at;
}

std::string quoted(const std::string& s) {
  // JSON escapes C0 controls; C1 controls and DEL need the terminal's escape.
  return terminal_escape(Json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void print_plain(size_t index, const std::string& text, const Encoding& e) {
  std::printf("text %zu: %zu tokens%s\n", index, e.size(), e.truncated ? " (truncated)" : "");
  std::string ids;
  for (size_t i = 0; i < e.size(); ++i) ids += (i ? " " : "") + std::to_string(e.ids[i]);
  std::printf("  ids: %s\n", ids.c_str());
  for (size_t i = 0; i < e.size(); ++i) {
    const Span s = e.offsets[i];
    if (e.special_mask[i]) {
      std::printf("  %6d  %-20s  (special)\n", e.ids[i], quoted(e.tokens[i]).c_str());
    } else {
      std::printf("  %6d  %-20s  bytes [%zu, %zu)  %s\n", e.ids[i], quoted(e.tokens[i]).c_str(), s.begin, s.end,
                  quoted(text.substr(s.begin, s.end - s.begin)).c_str());
    }
  }
  if (e.truncated) std::printf("  %s\n", terminal_escape(e.notice).c_str());
}

void print_json(size_t index, const std::string& text, const Encoding& e) {
  const std::vector<size_t> ci = char_index(text);
  Json offsets = Json::array(), chars = Json::array();
  for (const Span& s : e.offsets) {
    offsets.push_back({s.begin, s.end});
    chars.push_back({ci[s.begin], ci[s.end]});
  }
  Json words = Json::array();
  for (const Span& s : e.words) words.push_back({s.begin, s.end});
  Json out = {{"index", index},
              {"ids", e.ids},
              {"tokens", e.tokens},
              {"offsets", offsets},
              {"char_offsets", chars},
              {"word_ids", e.word_ids},
              {"special_mask", e.special_mask},
              {"words", words},
              {"truncated", e.truncated}};
  if (e.truncated) {
    out["num_dropped"] = e.num_dropped;
    out["kept_bytes"] = e.kept_bytes;
    out["notice"] = e.notice;
  }
  std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

int cmd_tokenize(const Args& a) {
  const std::string model_dir = a.need("model");
  const ModelConfig cfg = read_model_config_file(model_dir + "/config.json");
  auto tok = load_tokenizer_dir(model_dir, cfg);

  const int given = (a.has("text") ? 1 : 0) + (a.has("file") ? 1 : 0) + (a.has("jsonl") ? 1 : 0);
  if (given != 1) throw Error("give exactly one of --text, --file and --jsonl");
  std::vector<std::string> texts;
  if (a.has("text")) texts.push_back(a.get("text"));
  if (a.has("file")) texts = split_lines(read_input(a.get("file")));
  if (a.has("jsonl")) texts = jsonl_texts(read_input(a.get("jsonl")), a.get("jsonl"));

  EncodeOptions o;
  o.max_length = static_cast<int>(a.integer("max-length", -1));
  if (o.max_length < -1) throw Error("option --max-length: " + a.get("max-length") + " (0: no limit)");
  if (o.max_length > 0 && tok->model_max_length() > 0 && o.max_length > tok->model_max_length())
    throw Error("option --max-length: " + std::to_string(o.max_length) + " exceeds the model's maximum of " +
                std::to_string(tok->model_max_length()) + " tokens");
  o.add_special_tokens = !a.flag("no-special-tokens");
  const bool json = a.flag("json");
  if (!json)
    std::printf("%s tokenizer from %s, %d ids, at most %d tokens\n", tok->kind().c_str(), terminal_escape(tok->source()).c_str(),
                tok->vocab_size(), tok->model_max_length());
  for (size_t i = 0; i < texts.size(); ++i) {
    const Encoding e = tok->encode(texts[i], o);
    if (json)
      print_json(i, texts[i], e);
    else
      print_plain(i, texts[i], e);
  }
  return 0;
}

const RegisterCommand reg_tokenize(
    {"tokenize",
     "tokenize --model DIR (--text STR | --file FILE | --jsonl FILE) [--max-length N]\n"
     "[--no-special-tokens] [--json]\n"
     "the model's tokenizer on each text: ids, tokens and the bytes of the text\n"
     "each token came from. --file: one text per line; --jsonl: one JSON string\n"
     "(or {\"text\": ...}) per line; FILE '-' reads stdin. --max-length: the model's\n"
     "maximum by default, 0 for none. --json: one object per text and line, with\n"
     "byte \"offsets\" and \"char_offsets\" in code points (as Hugging Face's\n"
     "offset_mapping); special tokens have [0, 0]",
     {"model", "text", "file", "jsonl", "max-length"},
     {"json", "no-special-tokens"},
     cmd_tokenize,
     40});

}  // namespace
