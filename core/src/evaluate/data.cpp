// Labelled texts with human rationales for evaluate.h: ERASER splits,
// JSON lines with rationale spans, and every read_data_spec() kind.
#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "../io/io_util.h"
#include "wordlight/datasets.h"
#include "wordlight/error.h"
#include "wordlight/text_lines.h"
#include "wordlight/evaluate.h"
#include "wordlight/json_limits.h"

namespace wordlight {

namespace {

using Json = nlohmann::json;

// Calls fn(line_no, line) for each non-blank line (1-based numbers).
template <class Fn>
void for_each_line(const std::string& content, Fn fn) {
  const std::vector<std::string> lines = split_lines(content);
  for (size_t i = 0; i < lines.size(); ++i)
    if (!blank_line(lines[i])) fn(i + 1, lines[i]);
}

Json parse_line(const std::string& line, const std::string& where) {
  check_json_depth(line, where);
  try {
    return Json::parse(line);
  } catch (const Json::exception& e) {
    throw Error(where + ": not valid JSON (" + e.what() + ")");
  }
}

std::string label_text(const Json& v, const std::string& where) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<long long>());
  throw Error(where + ": \"label\" must be a string or an integer");
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

EvalDataset read_eraser(const std::string& jsonl_path, const std::string& docs_dir) {
  EvalDataset ds;
  ds.source = jsonl_path;
  ds.has_rationales = true;
  const std::string content = io::read_file(jsonl_path);
  for_each_line(content, [&](size_t line_no, const std::string& line) {
    const std::string where = jsonl_path + ": line " + std::to_string(line_no);
    const Json j = parse_line(line, where);
    if (!j.is_object() || !j.contains("annotation_id") || !j["annotation_id"].is_string() ||
        !j.contains("classification") || !j["classification"].is_string())
      throw Error(where + ": an ERASER line needs string \"annotation_id\" and \"classification\"");
    EvalExample ex;
    ex.id = j["annotation_id"].get<std::string>();
    ex.label = j["classification"].get<std::string>();
    std::string docid = ex.id;
    // The evidences name their document (one per annotation in Movies).
    if (j.contains("evidences") && j["evidences"].is_array())
      for (const Json& group : j["evidences"])
        if (group.is_array() && !group.empty() && group[0].is_object() && group[0].contains("docid") &&
            group[0]["docid"].is_string())
          docid = group[0]["docid"].get<std::string>();
    const std::string doc_path = io::join_path(docs_dir, docid);
    std::string doc;
    try {
      doc = io::read_file(doc_path);
    } catch (const Error& e) {
      throw Error(where + ": document " + docid + ": " + e.what());
    }
    // Tokens split on white space; sentences (lines) joined by newlines.
    std::vector<Span> token_spans;
    size_t i = 0;
    while (i < doc.size()) {
      while (i < doc.size() && std::isspace(static_cast<unsigned char>(doc[i]))) {
        if (doc[i] == '\n' && !ex.text.empty() && ex.text.back() != '\n') ex.text.back() = '\n';
        ++i;
      }
      if (i >= doc.size()) break;
      const size_t b = i;
      while (i < doc.size() && !std::isspace(static_cast<unsigned char>(doc[i]))) ++i;
      Span s;
      s.begin = ex.text.size();
      ex.text.append(doc, b, i - b);
      s.end = ex.text.size();
      token_spans.push_back(s);
      ex.text.push_back(' ');
    }
    if (!ex.text.empty()) ex.text.pop_back();
    if (j.contains("evidences") && j["evidences"].is_array())
      for (const Json& group : j["evidences"]) {
        if (!group.is_array()) continue;
        for (const Json& ev : group) {
          if (!ev.is_object() || !ev.contains("start_token") || !ev.contains("end_token")) continue;
          if (!ev["start_token"].is_number_integer() || !ev["end_token"].is_number_integer())
            throw Error(where + ": evidence start_token and end_token must be integers");
          const long long a = ev["start_token"].get<long long>(), b = ev["end_token"].get<long long>();
          if (a < 0 || b <= a || b > static_cast<long long>(token_spans.size()))
            throw Error(where + ": evidence tokens [" + std::to_string(a) + ", " + std::to_string(b) +
                        ") outside the document's " + std::to_string(token_spans.size()) + " tokens");
          Span s;
          s.begin = token_spans[static_cast<size_t>(a)].begin;
          s.end = token_spans[static_cast<size_t>(b - 1)].end;
          ex.rationales.push_back(s);
        }
      }
    ds.examples.push_back(std::move(ex));
  });
  return ds;
}

EvalDataset read_eval_jsonl(const std::string& path) {
  EvalDataset ds;
  ds.source = path;
  const std::string content = io::read_file(path);
  for_each_line(content, [&](size_t line_no, const std::string& line) {
    const std::string where = path + ": line " + std::to_string(line_no);
    const Json j = parse_line(line, where);
    if (!j.is_object() || !j.contains("text") || !j["text"].is_string() || !j.contains("label"))
      throw Error(where + ": needs an object with a string \"text\" and a \"label\"");
    EvalExample ex;
    ex.text = j["text"].get<std::string>();
    ex.label = label_text(j["label"], where);
    ex.id = j.contains("id") ? (j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump())
                             : std::to_string(ds.examples.size());
    if (j.contains("rationales")) {
      const Json& r = j["rationales"];
      if (!r.is_array()) throw Error(where + ": \"rationales\" must be a list of [begin, end] byte offsets");
      for (const Json& s : r) {
        if (!s.is_array() || s.size() != 2 || !s[0].is_number_integer() || !s[1].is_number_integer())
          throw Error(where + ": each rationale must be [begin, end] (byte offsets into \"text\")");
        const long long b = s[0].get<long long>(), e = s[1].get<long long>();
        if (b < 0 || e < b || e > static_cast<long long>(ex.text.size()))
          throw Error(where + ": rationale [" + std::to_string(b) + ", " + std::to_string(e) +
                      ") is outside the text's " + std::to_string(ex.text.size()) + " bytes");
        ex.rationales.push_back(Span{static_cast<size_t>(b), static_cast<size_t>(e)});
      }
      ds.has_rationales = true;
    }
    ds.examples.push_back(std::move(ex));
  });
  return ds;
}

EvalDataset read_eval_data(const std::string& spec) {
  const size_t colon = spec.find(':');
  const std::string kind = colon == std::string::npos ? "" : spec.substr(0, colon);
  const std::string rest = colon == std::string::npos ? spec : spec.substr(colon + 1);
  if (kind == "eraser") {
    const size_t at = rest.find('@');
    const std::string jsonl = rest.substr(0, at);
    std::string docs;
    if (at != std::string::npos) {
      docs = rest.substr(at + 1);
    } else {
      const size_t slash = jsonl.find_last_of('/');
      docs = (slash == std::string::npos ? std::string(".") : jsonl.substr(0, slash)) + "/docs";
    }
    return read_eraser(jsonl, docs);
  }
  if (kind == "jsonl") return read_eval_jsonl(rest);
  const TextDataset td = read_data_spec(spec);
  EvalDataset ds;
  ds.source = td.source;
  for (size_t i = 0; i < td.size(); ++i) {
    EvalExample ex;
    ex.id = std::to_string(i);
    ex.text = td.texts[i];
    ex.label = td.labels[i];
    ds.examples.push_back(std::move(ex));
  }
  return ds;
}

std::vector<int> eval_label_ids(const EvalDataset& data, const std::vector<std::string>& names) {
  std::vector<int> ids;
  ids.reserve(data.examples.size());
  for (size_t i = 0; i < data.examples.size(); ++i) {
    const std::string& l = data.examples[i].label;
    int id = -1;
    for (size_t c = 0; c < names.size() && id < 0; ++c)
      if (names[c] == l) id = static_cast<int>(c);
    if (id < 0 && !l.empty() && std::all_of(l.begin(), l.end(), [](char ch) { return ch >= '0' && ch <= '9'; }) &&
        l.size() < 9) {
      const int k = std::stoi(l);
      if (k < static_cast<int>(names.size())) id = k;
    }
    if (id < 0 && !l.empty()) {
      int found = -1, count = 0;
      for (size_t c = 0; c < names.size(); ++c)
        if (lower(names[c]).rfind(lower(l), 0) == 0) {
          found = static_cast<int>(c);
          ++count;
        }
      if (count == 1) id = found;
    }
    if (id < 0) {
      std::string list;
      for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
      throw Error(data.source + ": example " + std::to_string(i + 1) + " (" + data.examples[i].id + ") has label '" +
                  l + "', which is not one of the model's labels (" + list + ") nor a class id");
    }
    ids.push_back(id);
  }
  return ids;
}

}  // namespace wordlight
