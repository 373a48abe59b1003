// Readers for labelled text data sets (datasets.h).
#include "wordlight/datasets.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "io_util.h"
#include "wordlight/error.h"
#include "wordlight/text_lines.h"
#include "wordlight/json_limits.h"
#include "wordlight/model_config.h"

namespace wordlight {
namespace {

bool blank(const std::string& s) { return blank_line(s); }

[[noreturn]] void fail_line(const std::string& path, size_t line, const std::string& what) {
  throw Error(path + ":" + std::to_string(line) + ": " + what);
}

std::vector<std::string> split_tabs(const std::string& s) {
  std::vector<std::string> f;
  size_t start = 0;
  for (;;) {
    const size_t tab = s.find('\t', start);
    f.push_back(s.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos) return f;
    start = tab + 1;
  }
}

// Entries of a directory (no "." or ".." or hidden names), sorted.
std::vector<std::string> list_dir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) throw Error(dir + ": cannot open the directory");
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') names.push_back(e->d_name);
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

bool is_dir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// scikit-learn's strip_newsgroup_header: text.partition("\n\n")[2], which is
// empty when there is no blank line.
// The header of a post and its body: the header ends at the first blank
// line. Some copies of the archive (the one in ../shared/data among them)
// have every line break of a post replaced by a tab, so that a post is one
// line; the blank line is then "\t\t". Without a blank line, everything is
// header (as scikit-learn has it).
std::pair<std::string, std::string> split_header(const std::string& text) {
  size_t p = text.find("\n\n");
  if (p == std::string::npos) p = text.find("\t\t");
  if (p == std::string::npos) return {text, std::string()};
  return {text.substr(0, p), text.substr(p + 2)};
}

// The value of the header's "Subject:" line ("" when none).
std::string subject_of(const std::string& header) {
  size_t p = 0;
  while (p < header.size()) {
    const size_t e = std::min(header.find('\n', p), header.find('\t', p));
    const std::string line = header.substr(p, e == std::string::npos ? std::string::npos : e - p);
    if (line.rfind("Subject:", 0) == 0) {
      const size_t v = line.find_first_not_of(' ', 8);
      return v == std::string::npos ? std::string() : line.substr(v);
    }
    if (e == std::string::npos) break;
    p = e + 1;
  }
  return std::string();
}

std::string news_text(const std::string& text, NewsHeaders headers) {
  if (headers == NewsHeaders::keep) return text;
  auto [header, body] = split_header(text);
  if (headers == NewsHeaders::subject_only) {
    const std::string subject = subject_of(header);
    if (!subject.empty()) return subject + "\n\n" + body;
  }
  return body;
}

// An integer label written as text ("0", "3"), or -1.
long parse_index(const std::string& s) {
  if (!all_digits(s) || s.size() > 9) return -1;
  return std::stol(s);
}

}  // namespace

TextDataset read_sst_lines(const std::string& path) {
  TextDataset ds;
  ds.source = path;
  const std::vector<std::string> lines = split_lines(io::read_file(path));
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    if (blank(l)) continue;
    const size_t sp = l.find(' ');
    if (sp == std::string::npos || sp == 0 || !all_digits(l.substr(0, sp)))
      fail_line(path, i + 1, "expected 'label sentence' with an integer label, got '" + l.substr(0, 60) + "'");
    const std::string text = l.substr(sp + 1);
    if (blank(text)) fail_line(path, i + 1, "the sentence is empty");
    ds.labels.push_back(l.substr(0, sp));
    ds.texts.push_back(text);
  }
  return ds;
}

TextDataset read_tsv(const std::string& path) {
  TextDataset ds;
  ds.source = path;
  const std::vector<std::string> lines = split_lines(io::read_file(path));
  if (lines.empty()) throw Error(path + ": the file is empty (expected a header with 'sentence' or 'text' and 'label')");
  const std::vector<std::string> header = split_tabs(lines[0]);
  int text_col = -1, label_col = -1;
  for (size_t c = 0; c < header.size(); ++c) {
    if (header[c] == "sentence" || header[c] == "text") text_col = static_cast<int>(c);
    if (header[c] == "label") label_col = static_cast<int>(c);
  }
  if (text_col < 0 || label_col < 0)
    fail_line(path, 1, "the header must name a 'sentence' (or 'text') column and a 'label' column");
  for (size_t i = 1; i < lines.size(); ++i) {
    if (blank(lines[i])) continue;
    const std::vector<std::string> f = split_tabs(lines[i]);
    if (f.size() != header.size())
      fail_line(path, i + 1, "has " + std::to_string(f.size()) + " tab-separated fields, the header " +
                                 std::to_string(header.size()));
    if (f[label_col].empty()) fail_line(path, i + 1, "the label is empty");
    ds.texts.push_back(f[text_col]);
    ds.labels.push_back(f[label_col]);
  }
  return ds;
}

namespace {

// AG News as distributed (Zhang et al. 2015's CSV turned into TSV): its
// texts carry the remains of HTML entities whose '&' was lost (" #39;s",
// " quot;", " amp;", "#36;") and "\\" where the source had a line break.
// They are read as the characters they stood for, so that text a user
// types ("It's", "AT&T", "$5") is tokenized like the training text.
std::string clean_agnews(const std::string& t) {
  static const std::pair<const char*, const char*> kEntities[] = {
      {" #39;", "'"}, {"#39;", "'"},   {" quot;", " \""}, {"quot;", "\""}, {" amp;", "&"}, {"&amp;", "&"},
      {"&lt;", "<"},  {"&gt;", ">"},   {"#36;", "$"},
      {"#38;", "&"},  {"#038;", "&"},  {" #151;", " -"},  {"#151;", "-"},  {"#146;", "'"}, {"#147;", "\""},
      {"#148;", "\""}, {"#8211;", "-"}, {"#8212;", "-"},   {"#8217;", "'"}, {"#8221;", "\""}, {"#160;", " "},
      {"\\\\", " "}, {"\"\"", "\""}};
  std::string out;
  out.reserve(t.size());
  for (size_t i = 0; i < t.size();) {
    bool hit = false;
    for (const auto& [from, to] : kEntities) {
      const size_t n = std::char_traits<char>::length(from);
      if (t.compare(i, n, from) == 0) {
        out += to;
        i += n;
        hit = true;
        break;
      }
    }
    if (!hit) out += t[i++];
  }
  return out;
}

}  // namespace

TextDataset read_agnews(const std::string& path) {
  TextDataset ds;
  ds.source = path;
  const std::vector<std::string> lines = split_lines(io::read_file(path));
  for (size_t i = 0; i < lines.size(); ++i) {
    if (blank(lines[i])) continue;
    const std::vector<std::string> f = split_tabs(lines[i]);
    if (f.size() != 2) fail_line(path, i + 1, "expected 'text<TAB>label', got " + std::to_string(f.size()) + " fields");
    if (f[1].empty()) fail_line(path, i + 1, "the label is empty");
    if (blank(f[0])) fail_line(path, i + 1, "the text is empty");
    ds.texts.push_back(clean_agnews(f[0]));
    ds.labels.push_back(f[1]);
  }
  return ds;
}

TextDataset read_jsonl(const std::string& path) {
  TextDataset ds;
  ds.source = path;
  const std::vector<std::string> lines = split_lines(io::read_file(path));
  for (size_t i = 0; i < lines.size(); ++i) {
    if (blank(lines[i])) continue;
    nlohmann::json j;
    check_json_depth(lines[i], path + ": line " + std::to_string(i + 1));
    try {
      j = nlohmann::json::parse(lines[i]);
    } catch (const std::exception& e) {
      fail_line(path, i + 1, std::string("not valid JSON (") + e.what() + ")");
    }
    if (!j.is_object()) fail_line(path, i + 1, "expected a JSON object with \"text\" and \"label\"");
    auto t = j.find("text");
    if (t == j.end() || !t->is_string()) fail_line(path, i + 1, "\"text\" is missing or not a string");
    auto l = j.find("label");
    if (l == j.end()) fail_line(path, i + 1, "\"label\" is missing");
    if (l->is_string())
      ds.labels.push_back(l->get<std::string>());
    else if (l->is_number_integer() && l->get<long long>() >= 0)
      ds.labels.push_back(std::to_string(l->get<long long>()));
    else
      fail_line(path, i + 1, std::string("\"label\" must be a string or a non-negative integer, got ") +
                                 (l->is_number() ? l->dump() : l->type_name()));
    ds.texts.push_back(t->get<std::string>());
  }
  return ds;
}

TextDataset read_class_dirs(const std::string& root, NewsHeaders headers) {
  const bool posts = headers != NewsHeaders::keep;
  TextDataset ds;
  ds.source = root;
  for (const std::string& cls : list_dir(root)) {
    const std::string cdir = io::join_path(root, cls);
    if (!is_dir(cdir)) continue;  // stray files next to the class folders
    for (const std::string& name : list_dir(cdir)) {
      const std::string file = io::join_path(cdir, name);
      if (is_dir(file) || (posts && !all_digits(name))) continue;
      const std::string text = io::read_file(file);
      ds.texts.push_back(news_text(text, headers));
      ds.labels.push_back(cls);
    }
  }
  if (ds.texts.empty()) throw Error(root + ": no class folder with files (expected <root>/<class name>/<files>)");
  return ds;
}

TextDataset read_imdb(const std::string& root) {
  TextDataset ds;
  ds.source = root;
  for (const char* cls : {"neg", "pos"}) {
    const std::string cdir = io::join_path(root, cls);
    if (!is_dir(cdir))
      throw Error(root + ": no '" + cls + "' folder (expected an IMDB split with pos/ and neg/, e.g. data/aclImdb/train)");
    for (const std::string& name : list_dir(cdir)) {
      const std::string file = io::join_path(cdir, name);
      if (is_dir(file)) continue;
      std::string text = io::read_file(file);
      // The reviews mark line breaks with HTML tags.
      static const std::string br = "<br />";
      for (size_t p = text.find(br); p != std::string::npos; p = text.find(br, p + 1)) text.replace(p, br.size(), " ");
      ds.texts.push_back(std::move(text));
      ds.labels.push_back(cls);
    }
  }
  return ds;
}

namespace {

TextDataset read_kind_path(const std::string& spec);

// "KIND:PATH@first=N": the first N examples of KIND:PATH (a fixed slice,
// e.g. for a model card's quick re-measurement).
TextDataset read_one_spec(const std::string& spec) {
  const size_t at = spec.rfind("@first=");
  if (at == std::string::npos) return read_kind_path(spec);
  const std::string n_text = spec.substr(at + 7);
  if (!all_digits(n_text) || n_text.size() > 9 || std::stol(n_text) == 0)
    throw Error("data '" + spec + "': @first= needs a positive whole number of examples, got '" + n_text + "'");
  const size_t n = static_cast<size_t>(std::stol(n_text));
  TextDataset d = read_kind_path(spec.substr(0, at));
  if (d.size() < n)
    throw Error("data '" + spec + "': asks for the first " + n_text + " examples, but " + d.source + " has " +
                std::to_string(d.size()));
  d.texts.resize(n);
  d.labels.resize(n);
  return d;
}

TextDataset read_kind_path(const std::string& spec) {
  const size_t colon = spec.find(':');
  const std::string kind = colon == std::string::npos ? "" : spec.substr(0, colon);
  const std::string path = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (path.empty())
    throw Error("data '" + spec + "': expected KIND:PATH with KIND one of sst2, tsv, agnews, jsonl, dir, newsgroups, newsgroups-subject, imdb");
  auto ends_with = [&](const char* suf) {
    const std::string s(suf);
    return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0;
  };
  if (kind == "sst2") return ends_with(".tsv") ? read_tsv(path) : read_sst_lines(path);
  if (kind == "tsv") return read_tsv(path);
  if (kind == "jsonl") return read_jsonl(path);
  if (kind == "dir") return read_class_dirs(path, NewsHeaders::keep);
  if (kind == "newsgroups") return read_class_dirs(path, NewsHeaders::drop);
  if (kind == "newsgroups-subject") return read_class_dirs(path, NewsHeaders::subject_only);
  if (kind == "imdb") return read_imdb(path);
  if (kind == "agnews") return read_agnews(path);
  throw Error("data '" + spec + "': unknown kind '" + kind + "' (sst2, tsv, agnews, jsonl, dir, newsgroups, newsgroups-subject, imdb)");
}

}  // namespace

TextDataset read_data_spec(const std::string& spec) {
  if (spec.find(',') == std::string::npos) return read_one_spec(spec);
  TextDataset all;
  all.source = spec;
  size_t start = 0;
  while (true) {
    const size_t comma = spec.find(',', start);
    const std::string one = spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (one.empty()) throw Error("data '" + spec + "': an empty entry in the comma-separated list");
    TextDataset d = read_one_spec(one);
    all.texts.insert(all.texts.end(), std::make_move_iterator(d.texts.begin()), std::make_move_iterator(d.texts.end()));
    all.labels.insert(all.labels.end(), std::make_move_iterator(d.labels.begin()),
                      std::make_move_iterator(d.labels.end()));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return all;
}

std::vector<int32_t> label_ids(const TextDataset& data, const std::vector<std::string>& names) {
  std::vector<int32_t> ids;
  ids.reserve(data.labels.size());
  for (size_t i = 0; i < data.labels.size(); ++i) {
    const std::string& l = data.labels[i];
    const auto it = std::find(names.begin(), names.end(), l);
    if (it != names.end()) {
      ids.push_back(static_cast<int32_t>(it - names.begin()));
      continue;
    }
    const long k = parse_index(l);
    if (k < 0 || k >= static_cast<long>(names.size())) {
      std::string known;
      for (size_t c = 0; c < names.size() && c < 8; ++c) known += (c ? ", " : "") + names[c];
      throw Error(data.source + ": example " + std::to_string(i + 1) + " has label '" + l +
                  "', which is neither a label name (" + known + ") nor an index below " +
                  std::to_string(names.size()));
    }
    ids.push_back(static_cast<int32_t>(k));
  }
  return ids;
}

std::vector<std::string> choose_label_names(const TextDataset& train, const ModelConfig& config) {
  try {
    label_ids(train, config.id2label);
    return config.id2label;
  } catch (const Error&) {
    // The data names its classes differently: take its own names.
  }
  const std::set<std::string> distinct(train.labels.begin(), train.labels.end());
  if (static_cast<int>(distinct.size()) != config.num_labels) {
    std::string list;
    for (const std::string& s : distinct) list += (list.empty() ? "" : ", ") + s;
    throw Error(train.source + ": the data has " + std::to_string(distinct.size()) + " classes (" + list.substr(0, 200) +
                ") but " + config.source + " has num_labels " + std::to_string(config.num_labels));
  }
  return std::vector<std::string>(distinct.begin(), distinct.end());
}

}  // namespace wordlight
