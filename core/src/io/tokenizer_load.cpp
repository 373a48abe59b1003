// Building tokenizers from a model directory's files: vocab.txt,
// vocab.json + merges.txt, tokenizer.json, tokenizer_config.json and
// special_tokens_map.json, and picking among them for a model.
#include <nlohmann/json.hpp>

#include "io_util.h"
#include "json_kind.h"
#include "tokenizer_impl.h"
#include "wordlight/error.h"
#include "wordlight/text_lines.h"
#include "wordlight/json_limits.h"
#include "wordlight/model_config.h"

namespace wordlight {

namespace {

using Json = nlohmann::json;

const char* json_kind(const Json& j) { return io::json_kind(j, io::JsonNumbers::any); }

Json parse_json(const std::string& text, const std::string& src) {
  check_json_depth(text, src);
  try {
    return Json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(src + ": not valid JSON (" + e.what() + ")");
  }
}

// Typed access to an object's keys with messages naming the file and the
// key path ("model.vocab").
struct Obj {
  const Json& j;
  std::string src, path;

  std::string where(const std::string& key) const { return src + ": '" + (path.empty() ? key : path + "." + key) + "'"; }
  const Json* find(const std::string& key) const {
    if (!j.is_object()) return nullptr;
    auto it = j.find(key);
    return it == j.end() || it->is_null() ? nullptr : &*it;
  }
  const Json& require(const std::string& key) const {
    const Json* v = find(key);
    if (!v) throw Error(where(key) + " is missing");
    return *v;
  }
  Obj object(const std::string& key) const {
    const Json& v = require(key);
    if (!v.is_object()) throw Error(where(key) + " must be an object, got " + json_kind(v));
    return Obj{v, src, path.empty() ? key : path + "." + key};
  }
  std::string str(const std::string& key, const std::string& def) const {
    const Json* v = find(key);
    if (!v) return def;
    if (!v->is_string()) throw Error(where(key) + " must be a string, got " + json_kind(*v));
    return v->get<std::string>();
  }
  bool boolean(const std::string& key, bool def) const {
    const Json* v = find(key);
    if (!v) return def;
    if (!v->is_boolean()) throw Error(where(key) + " must be true or false, got " + json_kind(*v));
    return v->get<bool>();
  }
  int integer(const std::string& key, int def, int lo, int hi) const {
    const Json* v = find(key);
    if (!v) return def;
    if (!v->is_number_integer()) throw Error(where(key) + " must be an integer, got " + json_kind(*v));
    // Compare huge unsigned values before they could wrap to negative.
    const bool too_big = v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(hi);
    const int64_t x = v->get<int64_t>();
    if (too_big || x < lo || x > hi)
      throw Error(where(key) + " must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    return static_cast<int>(x);
  }
};

constexpr int kMaxId = 100000000;

int32_t token_id(const Json& v, const std::string& what) {
  if (!v.is_number_integer()) throw Error(what + " must be an integer id, got " + json_kind(v));
  const bool too_big = v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(kMaxId);
  const int64_t x = v.get<int64_t>();
  if (too_big || x < 0 || x > kMaxId) throw Error(what + " is out of range");
  return static_cast<int32_t>(x);
}

// Token strings are UTF-8 (the JSON files are checked by the parser); a
// line that is not would show as garbage and never match a typed word.
void check_utf8_lines(const std::vector<std::string>& lines, const std::string& src) {
  for (size_t i = 0; i < lines.size(); ++i) {
    const long long bad = first_invalid_utf8(lines[i].data(), lines[i].size());
    if (bad >= 0)
      throw Error(src + ": line " + std::to_string(i + 1) + " is not valid UTF-8 (byte " + std::to_string(bad + 1) +
                  " of the line)");
  }
}

std::map<std::string, int32_t> vocab_from_lines(const std::string& text, const std::string& src) {
  std::map<std::string, int32_t> vocab;
  const std::vector<std::string> lines = split_lines(text);
  if (lines.empty()) throw Error(src + ": the vocabulary is empty");
  if (lines.size() > static_cast<size_t>(kMaxId)) throw Error(src + ": too many lines for a vocabulary");
  check_utf8_lines(lines, src);
  // Index = line number; a repeated token keeps its last line, as in
  // Hugging Face's load_vocab.
  for (size_t i = 0; i < lines.size(); ++i) vocab[lines[i]] = static_cast<int32_t>(i);
  return vocab;
}

std::map<std::string, int32_t> vocab_from_json(const Json& v, const std::string& what) {
  if (!v.is_object()) throw Error(what + " must be an object of token -> id, got " + json_kind(v));
  if (v.empty()) throw Error(what + " is empty");
  std::map<std::string, int32_t> vocab;
  std::map<int32_t, std::string> by_id;
  for (auto it = v.begin(); it != v.end(); ++it) {
    const int32_t id = token_id(*it, what + " entry '" + it.key() + "'");
    // Two tokens with one id: decoding that id would be ambiguous, and the
    // model would read two different words as the same one.
    auto ins = by_id.emplace(id, it.key());
    if (!ins.second)
      throw Error(what + ": id " + std::to_string(id) + " is given to both '" + ins.first->second + "' and '" +
                  it.key() + "'");
    vocab[it.key()] = id;
  }
  return vocab;
}

// Special token ids for the given strings; a prefix or suffix token missing
// from the vocabulary is an error (the model could not be fed without it).
void fill_special(SpecialTokens& s, const Tokenizer& t, const std::vector<std::string>& prefix,
                  const std::vector<std::string>& suffix, const std::string& src) {
  auto need = [&](const std::string& tok) {
    const int32_t id = t.token_to_id(tok);
    if (id < 0) throw Error(src + ": the vocabulary has no '" + tok + "' token");
    return id;
  };
  s.prefix = prefix;
  s.suffix = suffix;
  s.prefix_ids.clear();
  s.suffix_ids.clear();
  for (const auto& p : prefix) s.prefix_ids.push_back(need(p));
  for (const auto& p : suffix) s.suffix_ids.push_back(need(p));
  // An empty name means "none" (a blank vocabulary line must not become one).
  auto id_or_none = [&](const std::string& tok) { return tok.empty() ? -1 : t.token_to_id(tok); };
  s.pad_id = id_or_none(s.pad);
  s.unk_id = id_or_none(s.unk);
  s.mask_id = id_or_none(s.mask);
}

// Special tokens present in the vocabulary, matched in the text as typed.
std::vector<AddedToken> specials_as_added(const Tokenizer& t, const std::vector<std::string>& names,
                                          const std::string& lstrip_token) {
  std::vector<AddedToken> out;
  for (const auto& n : names) {
    const int32_t id = t.token_to_id(n);
    if (id < 0 || n.empty()) continue;
    bool dup = false;
    for (const auto& a : out) dup = dup || a.content == n;
    if (dup) continue;
    AddedToken a;
    a.content = n;
    a.id = id;
    a.lstrip = n == lstrip_token;
    out.push_back(a);
  }
  return out;
}

// A special token in tokenizer_config.json / special_tokens_map.json: a
// string or {"content": "..."}.
std::string special_string(const Obj& o, const std::string& key, const std::string& def) {
  const Json* v = o.find(key);
  if (!v) return def;
  if (v->is_string()) return v->get<std::string>();
  if (v->is_object()) return Obj{*v, o.src, key}.str("content", def);
  throw Error(o.where(key) + " must be a string or an object with 'content', got " + json_kind(*v));
}

struct VocabRouteSettings {
  std::string cls, sep, pad, unk, mask;
};

void read_special_names(const Json* config, const std::string& config_src, const Json* map,
                        const std::string& map_src, VocabRouteSettings& s) {
  for (auto src : {std::make_pair(config, config_src), std::make_pair(map, map_src)}) {
    if (!src.first) continue;
    const Obj o{*src.first, src.second, ""};
    // RoBERTa names its cls/sep bos/eos too; cls_token/sep_token win.
    s.cls = special_string(o, "cls_token", special_string(o, "bos_token", s.cls));
    s.sep = special_string(o, "sep_token", special_string(o, "eos_token", s.sep));
    s.pad = special_string(o, "pad_token", s.pad);
    s.unk = special_string(o, "unk_token", s.unk);
    s.mask = special_string(o, "mask_token", s.mask);
  }
}

// ---------------------------------------------------------------- tokenizer.json

struct PostProcessor {
  bool present = false;
  std::vector<std::string> prefix, suffix;
  std::vector<int32_t> prefix_ids, suffix_ids;
  int trim_offsets = -1;  // -1: not said
};

void read_post_processor(const Obj& pp, PostProcessor& out) {
  const std::string type = pp.str("type", "");
  if (type == "Sequence") {
    const Json& list = pp.require("processors");
    if (!list.is_array()) throw Error(pp.where("processors") + " must be an array");
    for (size_t i = 0; i < list.size(); ++i) {
      if (!list[i].is_object()) throw Error(pp.where("processors") + " entries must be objects");
      read_post_processor(Obj{list[i], pp.src, pp.path + ".processors[" + std::to_string(i) + "]"}, out);
    }
    return;
  }
  if (type == "ByteLevel") {
    out.trim_offsets = pp.boolean("trim_offsets", true) ? 1 : 0;
    return;
  }
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    auto pair = [&](const char* key, std::string& tok, int32_t& id) {
      const Json& v = pp.require(key);
      if (!v.is_array() || v.size() != 2 || !v[0].is_string())
        throw Error(pp.where(key) + " must be [token, id], got " + json_kind(v));
      tok = v[0].get<std::string>();
      id = token_id(v[1], pp.where(key) + " id");
    };
    std::string cls, sep;
    int32_t cls_id = 0, sep_id = 0;
    pair("cls", cls, cls_id);
    pair("sep", sep, sep_id);
    out.present = true;
    out.prefix = {cls};
    out.prefix_ids = {cls_id};
    out.suffix = {sep};
    out.suffix_ids = {sep_id};
    if (type == "RobertaProcessing") out.trim_offsets = pp.boolean("trim_offsets", true) ? 1 : 0;
    return;
  }
  if (type == "TemplateProcessing") {
    const Json& single = pp.require("single");
    if (!single.is_array()) throw Error(pp.where("single") + " must be an array");
    const Obj specials = pp.object("special_tokens");
    bool seen_sequence = false;
    out.present = true;
    for (const Json& item : single) {
      if (!item.is_object()) throw Error(pp.where("single") + " entries must be objects");
      if (item.contains("Sequence")) {
        seen_sequence = true;
        continue;
      }
      const Obj st{item, pp.src, pp.path + ".single"};
      const Obj tok = st.object("SpecialToken");
      const std::string name = tok.str("id", "");
      const Obj def = specials.object(name);
      const Json& ids = def.require("ids");
      const Json& toks = def.require("tokens");
      if (!ids.is_array() || !toks.is_array() || ids.size() != toks.size())
        throw Error(def.where("ids") + " and 'tokens' must be arrays of the same length");
      for (size_t i = 0; i < ids.size(); ++i) {
        if (!toks[i].is_string()) throw Error(def.where("tokens") + " entries must be strings");
        (seen_sequence ? out.suffix : out.prefix).push_back(toks[i].get<std::string>());
        (seen_sequence ? out.suffix_ids : out.prefix_ids).push_back(token_id(ids[i], def.where("ids")));
      }
    }
    if (!seen_sequence) throw Error(pp.where("single") + " has no Sequence entry");
    return;
  }
  throw Error(pp.where("type") + " is '" + type +
              "': post-processor not supported (TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, "
              "Sequence are)");
}

// BertNormalizer, or a Sequence of NFD / Lowercase / StripAccents (what some
// BERT-like tokenizers write instead).
void read_wordpiece_normalizer(const Obj& n, WordPieceOptions& o) {
  const std::string type = n.str("type", "");
  if (type == "BertNormalizer") {
    o.clean_text = n.boolean("clean_text", true);
    o.handle_chinese_chars = n.boolean("handle_chinese_chars", true);
    o.lowercase = n.boolean("lowercase", true);
    const Json* sa = n.find("strip_accents");
    if (sa && !sa->is_boolean()) throw Error(n.where("strip_accents") + " must be true, false or null");
    o.strip_accents = sa ? (sa->get<bool>() ? 1 : 0) : -1;
    return;
  }
  if (type == "Sequence") {
    o.clean_text = o.handle_chinese_chars = o.lowercase = false;
    o.strip_accents = 0;
    bool nfd = false, strip = false;
    const Json& list = n.require("normalizers");
    if (!list.is_array()) throw Error(n.where("normalizers") + " must be an array");
    for (size_t i = 0; i < list.size(); ++i) {
      const Obj e{list[i], n.src, n.path + ".normalizers[" + std::to_string(i) + "]"};
      if (!list[i].is_object()) throw Error(e.where("type") + ": entries must be objects");
      const std::string t = e.str("type", "");
      if (t == "NFD") nfd = true;
      else if (t == "Lowercase") o.lowercase = true;
      else if (t == "StripAccents") strip = true;
      else if (t == "BertNormalizer") read_wordpiece_normalizer(e, o);
      else throw Error(e.where("type") + " is '" + t + "': normalizer not supported for WordPiece");
    }
    if (strip) {
      if (!nfd) throw Error(n.where("normalizers") + ": StripAccents without NFD is not supported");
      o.strip_accents = 1;
    }
    return;
  }
  throw Error(n.where("type") + " is '" + type + "': normalizer not supported for WordPiece (BertNormalizer is)");
}

void check_pre_tokenizer(const Obj& p, const char* expected) {
  const std::string type = p.str("type", "");
  if (type == expected) return;
  if (type == "Sequence") {
    const Json& list = p.require("pretokenizers");
    if (!list.is_array() || list.size() != 1 || !list[0].is_object())
      throw Error(p.where("pretokenizers") + ": only a Sequence of one " + expected + " is supported");
    check_pre_tokenizer(Obj{list[0], p.src, p.path + ".pretokenizers[0]"}, expected);
    return;
  }
  throw Error(p.where("type") + " is '" + type + "': pre-tokenizer not supported here (" + expected + " is)");
}

const Json* byte_level_pre_tokenizer(const Json& p) {
  if (!p.is_object()) return nullptr;
  const auto type = p.find("type");
  if (type == p.end() || !type->is_string()) return nullptr;
  if (*type == "ByteLevel") return &p;
  if (*type == "Sequence") {
    const auto list = p.find("pretokenizers");
    if (list != p.end() && list->is_array() && list->size() == 1) return byte_level_pre_tokenizer((*list)[0]);
  }
  return nullptr;
}

std::string first_present(const Tokenizer& t, std::initializer_list<const char*> names, const std::string& def) {
  for (const char* n : names)
    if (t.token_to_id(n) >= 0) return n;
  return def;
}

}  // namespace

namespace {

const VocabRouteSettings kBertNames{"[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]"};
const VocabRouteSettings kRobertaNames{"<s>", "</s>", "<pad>", "<unk>", "<mask>"};

std::unique_ptr<Tokenizer> build_wordpiece(const std::string& vocab_txt, const WordPieceOptions& o,
                                           const std::string& source, const VocabRouteSettings& names) {
  auto t = std::make_unique<WordPieceTokenizer>(o);
  t->set_vocab(vocab_from_lines(vocab_txt, source), source);
  SpecialTokens s;
  s.pad = names.pad;
  s.unk = names.unk;
  s.mask = names.mask;
  fill_special(s, *t, {names.cls}, {names.sep}, source);
  t->set_special_tokens(s);
  t->set_added_tokens(specials_as_added(*t, {names.pad, names.unk, names.cls, names.sep, names.mask}, ""));
  return t;
}

// names.cls / names.sep empty: no special tokens around the text (GPT-2).
// `extra_added`: more special tokens matched in the text as typed (GPT-2's
// <|endoftext|>), where the vocabulary has them.
std::unique_ptr<Tokenizer> build_bpe(const std::string& vocab_json, const std::string& merges_txt,
                                     const ByteLevelBpeOptions& o, const std::string& vocab_source,
                                     const std::string& merges_source, const VocabRouteSettings& names,
                                     const std::vector<std::string>& extra_added = {}) {
  auto t = std::make_unique<ByteLevelBpeTokenizer>(o);
  t->set_vocab(vocab_from_json(parse_json(vocab_json, vocab_source), vocab_source), vocab_source);
  std::vector<std::pair<std::string, std::string>> merges;
  const std::vector<std::string> lines = split_lines(merges_txt);
  check_utf8_lines(lines, merges_source);
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (line.empty() || (i == 0 && line.rfind("#version", 0) == 0)) continue;
    const size_t sp = line.find(' ');
    if (sp == std::string::npos || sp == 0 || sp + 1 >= line.size() || line.find(' ', sp + 1) != std::string::npos)
      throw Error(merges_source + ": line " + std::to_string(i + 1) + " is not two symbols separated by one space");
    merges.emplace_back(line.substr(0, sp), line.substr(sp + 1));
  }
  t->set_merges(merges, merges_source);
  SpecialTokens s;
  s.pad = names.pad;
  s.unk = names.unk;
  s.mask = names.mask;
  auto listed = [](const std::string& n) { return n.empty() ? std::vector<std::string>{} : std::vector<std::string>{n}; };
  fill_special(s, *t, listed(names.cls), listed(names.sep), vocab_source);
  t->set_special_tokens(s);
  t->set_unk_token(s.unk);
  // RoBERTa's <mask> absorbs the space before it (lstrip), as in
  // RobertaTokenizer.
  std::vector<std::string> specials = {names.cls, names.pad, names.sep, names.unk, names.mask};
  specials.insert(specials.end(), extra_added.begin(), extra_added.end());
  t->set_added_tokens(specials_as_added(*t, specials, names.mask));
  return t;
}

}  // namespace

std::unique_ptr<Tokenizer> make_wordpiece_from_vocab_txt(const std::string& vocab_txt, const WordPieceOptions& o,
                                                         const std::string& source) {
  return build_wordpiece(vocab_txt, o, source, kBertNames);
}

std::unique_ptr<Tokenizer> make_bpe_from_files(const std::string& vocab_json, const std::string& merges_txt,
                                               const ByteLevelBpeOptions& o, const std::string& vocab_source,
                                               const std::string& merges_source) {
  return build_bpe(vocab_json, merges_txt, o, vocab_source, merges_source, kRobertaNames);
}

std::unique_ptr<Tokenizer> make_word_level_from_vocab(const std::string& vocab_txt, const WordLevelOptions& o,
                                                      const std::string& source) {
  auto t = std::make_unique<WordLevelTokenizer>(o);
  std::map<std::string, int32_t> vocab = vocab_from_lines(vocab_txt, source);
  const std::vector<std::string> lines = split_lines(vocab_txt);
  if (lines.size() < 2 || lines[0] != "<pad>" || lines[1] != "<unk>")
    throw Error(source + ": a word vocabulary must start with '<pad>' on line 1 and '<unk>' on line 2");
  t->set_vocab(std::move(vocab), source);
  SpecialTokens s;
  s.pad = "<pad>";
  s.unk = "<unk>";
  s.mask = "";
  fill_special(s, *t, {}, {}, source);
  t->set_special_tokens(s);
  return t;
}

std::unique_ptr<Tokenizer> make_tokenizer_from_json(const std::string& tokenizer_json, const std::string& source) {
  const Json root = parse_json(tokenizer_json, source);
  if (!root.is_object()) throw Error(source + ": must hold a JSON object, got " + json_kind(root));
  const Obj top{root, source, ""};
  const Obj model = top.object("model");
  std::string type = model.str("type", "");
  if (type.empty()) {
    // Files written before the "type" key existed: tell the models apart by
    // their keys.
    if (model.find("merges")) type = "BPE";
    else if (model.find("max_input_chars_per_word")) type = "WordPiece";
  }
  std::map<std::string, int32_t> vocab = vocab_from_json(model.require("vocab"), model.where("vocab"));

  // Added tokens join the vocabulary and are matched in the text as typed.
  std::vector<AddedToken> added;
  if (const Json* at = top.find("added_tokens")) {
    std::map<int32_t, std::string> by_id;
    for (const auto& kv : vocab) by_id.emplace(kv.second, kv.first);
    if (!at->is_array()) throw Error(top.where("added_tokens") + " must be an array, got " + json_kind(*at));
    for (size_t i = 0; i < at->size(); ++i) {
      const Obj a{(*at)[i], source, "added_tokens[" + std::to_string(i) + "]"};
      if (!(*at)[i].is_object()) throw Error(a.where("id") + ": entries must be objects");
      AddedToken tok;
      tok.content = a.str("content", "");
      if (tok.content.empty()) throw Error(a.where("content") + " is missing or empty");
      tok.id = token_id(a.require("id"), a.where("id"));
      tok.lstrip = a.boolean("lstrip", false);
      tok.rstrip = a.boolean("rstrip", false);
      tok.single_word = a.boolean("single_word", false);
      // An added token repeats a vocabulary entry (same text, same id) or
      // adds a new one; an id that already names another token is an error.
      auto same = vocab.find(tok.content);
      if (same != vocab.end() && same->second != tok.id)
        throw Error(a.where("id") + ": '" + tok.content + "' has id " + std::to_string(tok.id) + " here but " +
                    std::to_string(same->second) + " in the vocabulary");
      if (same == vocab.end()) {
        auto owner = by_id.emplace(tok.id, tok.content);
        if (!owner.second)
          throw Error(a.where("id") + ": id " + std::to_string(tok.id) + " of '" + tok.content +
                      "' already belongs to '" + owner.first->second + "'");
      }
      vocab.emplace(tok.content, tok.id);
      added.push_back(tok);
    }
  }

  PostProcessor post;
  if (const Json* pp = top.find("post_processor")) {
    if (!pp->is_object()) throw Error(top.where("post_processor") + " must be an object");
    read_post_processor(Obj{*pp, source, "post_processor"}, post);
  }

  std::unique_ptr<Tokenizer> t;
  SpecialTokens s;
  if (type == "WordPiece") {
    WordPieceOptions o;
    o.clean_text = o.handle_chinese_chars = o.lowercase = false;  // no normalizer: none of these
    o.strip_accents = 0;
    if (const Json* n = top.find("normalizer")) {
      if (!n->is_object()) throw Error(top.where("normalizer") + " must be an object");
      read_wordpiece_normalizer(Obj{*n, source, "normalizer"}, o);
    }
    if (const Json* p = top.find("pre_tokenizer")) {
      if (!p->is_object()) throw Error(top.where("pre_tokenizer") + " must be an object");
      check_pre_tokenizer(Obj{*p, source, "pre_tokenizer"}, "BertPreTokenizer");
    } else {
      throw Error(top.where("pre_tokenizer") + " is missing (WordPiece needs BertPreTokenizer)");
    }
    o.continuing_subword_prefix = model.str("continuing_subword_prefix", "##");
    o.max_input_chars_per_word = model.integer("max_input_chars_per_word", 100, 1, 1000000);
    auto wp = std::make_unique<WordPieceTokenizer>(o);
    wp->set_vocab(std::move(vocab), source);
    s.unk = model.str("unk_token", "[UNK]");
    t = std::move(wp);
    s.pad = first_present(*t, {"[PAD]", "<pad>"}, "[PAD]");
    s.mask = first_present(*t, {"[MASK]", "<mask>"}, "[MASK]");
  } else if (type == "BPE") {
    ByteLevelBpeOptions o;
    if (const Json* n = top.find("normalizer"))
      throw Error(top.where("normalizer") + " is set (" + Obj{*n, source, "normalizer"}.str("type", "?") +
                  "): byte-level BPE with a normalizer is not supported");
    const Json* p = top.find("pre_tokenizer");
    const Json* bl = p ? byte_level_pre_tokenizer(*p) : nullptr;
    if (!bl) throw Error(top.where("pre_tokenizer") + " must be ByteLevel for a BPE model (only byte-level BPE is supported)");
    const Obj blo{*bl, source, "pre_tokenizer"};
    o.add_prefix_space = blo.boolean("add_prefix_space", false);
    if (!blo.boolean("use_regex", true))
      throw Error(blo.where("use_regex") + " is false: only the GPT-2 regex split is supported");
    o.trim_offsets = post.trim_offsets != 0;
    o.ignore_merges = model.boolean("ignore_merges", false);
    if (!model.str("continuing_subword_prefix", "").empty() || !model.str("end_of_word_suffix", "").empty())
      throw Error(model.where("continuing_subword_prefix") + ": BPE with subword prefixes or suffixes is not supported");
    if (model.boolean("byte_fallback", false))
      throw Error(model.where("byte_fallback") + " is true: not supported (byte-level BPE needs none)");
    // dropout is a training-time regulariser; encoding ignores it.
    const Json& merges_json = model.require("merges");
    if (!merges_json.is_array()) throw Error(model.where("merges") + " must be an array");
    std::vector<std::pair<std::string, std::string>> merges;
    for (size_t i = 0; i < merges_json.size(); ++i) {
      const Json& m = merges_json[i];
      const std::string what = model.where("merges") + " entry " + std::to_string(i);
      if (m.is_string()) {
        const std::string& line = m.get_ref<const std::string&>();
        const size_t sp = line.find(' ');
        if (sp == std::string::npos || sp == 0 || sp + 1 >= line.size() || line.find(' ', sp + 1) != std::string::npos)
          throw Error(what + " is not two symbols separated by one space");
        merges.emplace_back(line.substr(0, sp), line.substr(sp + 1));
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
      } else {
        throw Error(what + " must be \"a b\" or [\"a\", \"b\"]");
      }
    }
    auto bpe = std::make_unique<ByteLevelBpeTokenizer>(o);
    bpe->set_vocab(std::move(vocab), source);
    bpe->set_merges(merges, source);
    s.unk = model.str("unk_token", "<unk>");
    bpe->set_unk_token(s.unk);
    t = std::move(bpe);
    s.pad = first_present(*t, {"<pad>", "[PAD]"}, "<pad>");
    s.mask = first_present(*t, {"<mask>", "[MASK]"}, "<mask>");
  } else {
    throw Error(model.where("type") + " is '" + type + "': only WordPiece and BPE models are supported");
  }
  if (const Json* pad = top.find("padding")) {
    if (pad->is_object()) s.pad = Obj{*pad, source, "padding"}.str("pad_token", s.pad);
  }

  s.prefix = post.prefix;
  s.suffix = post.suffix;
  s.prefix_ids = post.prefix_ids;
  s.suffix_ids = post.suffix_ids;
  for (int32_t id : s.prefix_ids)
    if (id >= t->vocab_size()) throw Error(source + ": post-processor token id " + std::to_string(id) + " is not in the vocabulary");
  for (int32_t id : s.suffix_ids)
    if (id >= t->vocab_size()) throw Error(source + ": post-processor token id " + std::to_string(id) + " is not in the vocabulary");
  s.pad_id = t->token_to_id(s.pad);
  s.unk_id = t->token_to_id(s.unk);
  s.mask_id = t->token_to_id(s.mask);
  t->set_special_tokens(s);
  t->set_added_tokens(std::move(added));
  return t;
}

const std::vector<std::string>& tokenizer_file_names() {
  static const std::vector<std::string> names = {"tokenizer.json", "tokenizer_config.json", "vocab.txt",
                                                 "vocab.json",     "merges.txt",            "special_tokens_map.json"};
  return names;
}

ModelFiles read_tokenizer_files(const std::string& dir) {
  ModelFiles files;
  for (const std::string& n : tokenizer_file_names()) {
    const std::string path = io::join_path(dir, n);
    if (io::file_exists(path)) files[n] = io::read_file(path);
  }
  return files;
}

std::unique_ptr<Tokenizer> load_tokenizer(const ModelFiles& files, const ModelConfig& config,
                                          const std::string& dir_name) {
  auto path = [&](const std::string& n) { return io::join_path(dir_name, n); };
  auto get = [&](const std::string& n) -> const std::string* {
    auto it = files.find(n);
    return it == files.end() ? nullptr : &it->second;
  };

  // tokenizer_config.json and special_tokens_map.json refine the plain
  // vocabulary routes (tokenizer.json describes itself completely).
  Json tok_config, special_map;
  const Json* tc = nullptr;
  const Json* sm = nullptr;
  if (const std::string* f = get("tokenizer_config.json")) {
    tok_config = parse_json(*f, path("tokenizer_config.json"));
    if (!tok_config.is_object()) throw Error(path("tokenizer_config.json") + ": must hold a JSON object");
    tc = &tok_config;
  }
  if (const std::string* f = get("special_tokens_map.json")) {
    special_map = parse_json(*f, path("special_tokens_map.json"));
    if (!special_map.is_object()) throw Error(path("special_tokens_map.json") + ": must hold a JSON object");
    sm = &special_map;
  }
  static const Json kEmpty = Json::object();
  const Obj cfg{tc ? *tc : kEmpty, path("tokenizer_config.json"), ""};

  std::unique_ptr<Tokenizer> t;
  const std::string family = family_name(config.family);
  // vocab.json and merges.txt of the byte-level BPE families (GPT-2,
  // RoBERTa), and the options tokenizer_config.json sets.
  const std::string *bpe_vocab = nullptr, *bpe_merges = nullptr;
  ByteLevelBpeOptions bpe_options;
  auto read_bpe_files = [&]() {
    bpe_vocab = get("vocab.json");
    bpe_merges = get("merges.txt");
    if (!bpe_vocab && !bpe_merges)
      throw Error(dir_name + ": no tokenizer found for this " + family +
                  " model: looked for tokenizer.json, and vocab.json with merges.txt");
    if (!bpe_vocab) throw Error(dir_name + ": merges.txt is there but vocab.json is missing");
    if (!bpe_merges) throw Error(dir_name + ": vocab.json is there but merges.txt is missing");
    bpe_options.add_prefix_space = cfg.boolean("add_prefix_space", false);
    bpe_options.trim_offsets = cfg.boolean("trim_offsets", true);
  };
  if (config.is_transformer() && get("tokenizer.json")) {
    t = make_tokenizer_from_json(*get("tokenizer.json"), path("tokenizer.json"));
  } else if (config.family == ModelFamily::Bert || config.family == ModelFamily::DistilBert) {
    const std::string* vocab = get("vocab.txt");
    if (!vocab)
      throw Error(dir_name + ": no tokenizer found for this " + family +
                  " model: looked for tokenizer.json and vocab.txt");
    WordPieceOptions o;
    o.lowercase = cfg.boolean("do_lower_case", true);
    if (const Json* sa = cfg.find("strip_accents")) {
      if (!sa->is_boolean()) throw Error(cfg.where("strip_accents") + " must be true, false or null");
      o.strip_accents = sa->get<bool>() ? 1 : 0;
    }
    o.handle_chinese_chars = cfg.boolean("tokenize_chinese_chars", true);
    VocabRouteSettings names = kBertNames;
    read_special_names(tc, path("tokenizer_config.json"), sm, path("special_tokens_map.json"), names);
    t = build_wordpiece(*vocab, o, path("vocab.txt"), names);
  } else if (config.family == ModelFamily::Gpt2) {
    // GPT2Tokenizer: byte-level BPE with no special tokens around the text
    // (add_bos_token false), no unknown token (every byte is a symbol) and
    // no pad token unless tokenizer_config.json / special_tokens_map.json
    // names one; <|endoftext|> typed in the text is that token.
    read_bpe_files();
    VocabRouteSettings read{"", "", "", "", ""};
    read_special_names(tc, path("tokenizer_config.json"), sm, path("special_tokens_map.json"), read);
    VocabRouteSettings names{"", "", read.pad, "", ""};
    if (cfg.boolean("add_bos_token", false)) names.cls = read.cls.empty() ? "<|endoftext|>" : read.cls;
    t = build_bpe(*bpe_vocab, *bpe_merges, bpe_options, path("vocab.json"), path("merges.txt"), names,
                  {"<|endoftext|>", read.cls, read.sep});
  } else if (config.family == ModelFamily::Roberta) {
    read_bpe_files();
    VocabRouteSettings names = kRobertaNames;
    read_special_names(tc, path("tokenizer_config.json"), sm, path("special_tokens_map.json"), names);
    t = build_bpe(*bpe_vocab, *bpe_merges, bpe_options, path("vocab.json"), path("merges.txt"), names);
  } else {
    const std::string* vocab = get("vocab.txt");
    if (!vocab)
      throw Error(dir_name + ": no tokenizer found for this " + family + " model: looked for vocab.txt (one word per line)");
    WordLevelOptions o;
    o.lowercase = config.lowercase;
    t = make_word_level_from_vocab(*vocab, o, path("vocab.txt"));
  }

  // The longest input: the model's, unless tokenizer_config.json says less
  // (its model_max_length is sometimes a huge "no limit" placeholder).
  int max_len = config.max_length;
  if (tc) {
    if (const Json* m = cfg.find("model_max_length")) {
      if (!m->is_number()) throw Error(cfg.where("model_max_length") + " must be a number, got " + json_kind(*m));
      const double v = m->get<double>();
      if (v >= 1 && v < max_len) max_len = static_cast<int>(v);
    }
  }
  t->set_model_max_length(max_len);

  // Every id the tokenizer can produce must index the model's embeddings.
  if (t->vocab_size() > config.vocab_size) {
    const int32_t id = t->vocab_size() - 1;
    throw Error(t->source() + ": token '" + t->id_to_token(id) + "' has id " + std::to_string(id) + ", but " +
                config.source + " says vocab_size is " + std::to_string(config.vocab_size));
  }
  return t;
}

std::unique_ptr<Tokenizer> load_tokenizer_dir(const std::string& dir, const ModelConfig& config) {
  return load_tokenizer(read_tokenizer_files(dir), config, dir);
}

}  // namespace wordlight
