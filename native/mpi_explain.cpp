// explain --input FILE --out DIR, alone or over MPI ranks (see mpi_explain.h).
#include "mpi_explain.h"

#include <dirent.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "wordlight/dir_lock.h"
#include "wordlight/error.h"
#include "wordlight/evaluate.h"
#include "wordlight/finite_check.h"
#include "wordlight/json_limits.h"
#include "wordlight/thread_pool.h"
#include "wordlight/train.h"

namespace wordlight::mpi {

namespace {

using Json = nlohmann::ordered_json;

std::string join(const std::string& dir, const std::string& name) {
  return dir.empty() || dir.back() == '/' ? dir + name : dir + "/" + name;
}
std::string rank_file(const std::string& dir, int rank) {
  return join(dir, "explanations.rank-" + std::to_string(rank) + ".jsonl");
}
bool exists(const std::string& p) { return std::ifstream(p).good(); }

// The rank files in dir, by rank.
std::vector<std::string> rank_files(const std::string& dir) {
  std::vector<std::pair<long, std::string>> found;
  if (DIR* d = ::opendir(dir.c_str())) {
    const std::string pre = "explanations.rank-", post = ".jsonl";
    while (const dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name.size() <= pre.size() + post.size() || name.compare(0, pre.size(), pre) != 0 ||
          name.compare(name.size() - post.size(), post.size(), post) != 0)
        continue;
      const std::string k = name.substr(pre.size(), name.size() - pre.size() - post.size());
      if (k.size() > 9 || k.find_first_not_of("0123456789") != std::string::npos) continue;
      found.emplace_back(std::stol(k), join(dir, name));
    }
    ::closedir(d);
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

// The good lines of a file by input line number (the first of each), with
// one warning per bad line.
void read_lines(const std::string& path, std::map<size_t, std::string>& into, bool& dropped,
                const std::function<void(const std::string&)>& warning) {
  std::ifstream in(path, std::ios::binary);
  std::string line;
  size_t no = 0;
  while (std::getline(in, line)) {
    ++no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      check_json_depth(line, path);
      const Json j = Json::parse(line);
      const size_t n = j.at("line").get<size_t>();
      if (!j.contains("explanation") && !j.contains("error")) throw Error("neither explanation nor error");
      if (!into.emplace(n, line).second) dropped = true;
    } catch (const std::exception& e) {
      dropped = true;
      if (warning)
        warning(path + ": line " + std::to_string(no) + ": " + e.what() + " (dropped; that text is explained again)");
    }
  }
}

// explanations.jsonl and the rank files merged: the good lines by input line
// number; explanations.jsonl rewritten in input order (a temporary file
// renamed over it) when anything was dropped or merged, rank files removed.
std::map<size_t, std::string> merge(const std::string& dir, const std::function<void(const std::string&)>& warning) {
  const std::string main_path = join(dir, "explanations.jsonl");
  std::map<size_t, std::string> lines;
  bool rewrite = false;
  if (exists(main_path)) read_lines(main_path, lines, rewrite, warning);
  const std::vector<std::string> ranks = rank_files(dir);
  for (const std::string& p : ranks) read_lines(p, lines, rewrite, warning);
  if (rewrite || !ranks.empty()) {
    std::string text;
    for (const auto& kv : lines) text += kv.second + "\n";
    const std::string tmp = main_path + ".tmp";
    std::remove(tmp.c_str());
    {
      LineAppender w(tmp);
      w.append(text);
    }
    if (std::rename(tmp.c_str(), main_path.c_str()) != 0) throw Error(main_path + ": cannot replace");
    for (const std::string& p : ranks) std::remove(p.c_str());
  }
  return lines;
}

Json run_config(const ExplainRequest& r, const std::string& input_path, const std::string& model_dir) {
  Json j;
  j["model"] = model_dir;
  j["input"] = input_path;
  j["method"] = r.method;
  Json o = Json::object();
  for (const auto& kv : r.options) o[kv.first] = kv.second;
  j["options"] = o;
  j["target"] = r.target;
  j["max_length"] = r.max_length;
  return j;
}

}  // namespace

ExplainDirResult explain_to_dir(const Session& session, const Model& model, const Tokenizer& tokenizer,
                                const ExplainRequest& request, const std::vector<ExplainInput>& texts,
                                const std::string& input_path, const std::string& model_dir, const std::string& out_dir,
                                int64_t chunk, const std::function<void(const std::string&)>& warning,
                                const std::function<void(const WorkProgress&)>& progress) {
  ThreadPool& pool = default_pool();
  const size_t group = static_cast<size_t>(std::max(1, pool.threads())) * 2;
  std::unique_ptr<LineAppender> out;
  ExplainDirResult res;
  Work work;
  work.chunk = chunk;
  work.want = static_cast<int64_t>(group);
  work.process = [&](const std::vector<int64_t>& items, const std::function<void(const std::vector<int64_t>&)>& written) {
    if (!out) out = std::make_unique<LineAppender>(rank_file(out_dir, session.rank()));
    for (size_t first = 0; first < items.size(); first += group) {
      const size_t n = std::min(group, items.size() - first);
      std::vector<std::string> lines(n);
      pool.parallel_for(n, 1, [&](size_t b, size_t e) {
        for (size_t i = b; i < e; ++i) {
          const ExplainInput& in = texts[static_cast<size_t>(items[first + i])];
          Json err;
          err["line"] = in.line_no;
          if (!in.error.empty()) {
            err["error"] = in.error;
            lines[i] = err.dump(-1, ' ', false, Json::error_handler_t::replace);
            continue;
          }
          ExplainRequest r = request;
          r.control = {};
          try {
            const Explanation e = explain(model, tokenizer, in.text, r);
            check_explanation_finite(e);
            lines[i] = "{\"line\":" + std::to_string(in.line_no) + ",\"explanation\":" + explanation_to_json(e) + "}";
          } catch (const Cancelled&) {
            throw;
          } catch (const Error& e) {
            err["error"] = input_path + ": line " + std::to_string(in.line_no) + ": " + e.what();
            lines[i] = err.dump(-1, ' ', false, Json::error_handler_t::replace);
          }
        }
      });
      std::string text;
      for (const std::string& l : lines) text += l + "\n";
      out->append(text);
      res.explained += static_cast<int64_t>(n);
      written(std::vector<int64_t>(items.begin() + static_cast<std::ptrdiff_t>(first),
                                   items.begin() + static_cast<std::ptrdiff_t>(first + n)));
    }
  };
  auto name = [&](int64_t i) { return "line " + std::to_string(texts[static_cast<size_t>(i)].line_no); };
  if (session.rank() != 0) {
    distribute(session, work);
    res.finished = true;
    return res;
  }

  make_directories(out_dir);
  const DirLock lock(out_dir, warning);
  const std::string config_path = join(out_dir, "run.json");
  const Json config = run_config(request, input_path, model_dir);
  if (exists(config_path) && (exists(join(out_dir, "explanations.jsonl")) || !rank_files(out_dir).empty())) {
    Json old;
    try {
      std::ifstream f(config_path, std::ios::binary);
      const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      check_json_depth(text, config_path);
      old = Json::parse(text);
    } catch (const std::exception&) {
      throw Error(config_path + ": not valid JSON; remove the folder or give another --out");
    }
    if (old != config)
      throw Error(out_dir + " holds explanations of another run (run.json: " + old.dump() +
                  "); give another --out or remove it");
  }
  std::remove(unfinished_note_path(out_dir).c_str());
  std::map<size_t, std::string> done = merge(out_dir, warning);
  {
    std::remove((config_path + ".tmp").c_str());
    {
      LineAppender w(config_path + ".tmp");
      w.append(config.dump(1) + "\n");
    }
    if (std::rename((config_path + ".tmp").c_str(), config_path.c_str()) != 0) throw Error(config_path + ": cannot replace");
  }
  for (size_t i = 0; i < texts.size(); ++i) {
    if (done.count(texts[i].line_no))
      ++res.resumed;
    else
      work.items.push_back(static_cast<int64_t>(i));
  }
  const int64_t total = static_cast<int64_t>(texts.size());
  const int64_t resumed = res.resumed;
  work.progress = [&](const WorkProgress& p) {
    if (progress) progress({resumed + p.written, total, p.seconds, resumed});
  };
  work.on_terminate = [&](const std::vector<int64_t>& unconfirmed) {
    const std::string text = "the job was stopped (a rank died or was killed) with " +
                             std::to_string(unconfirmed.size()) + " input line(s) not confirmed written: " +
                             name_documents(unconfirmed, name) + "; every written group is saved in " + out_dir +
                             ": run the same command again to finish them";
    if (warning) warning(text);
    write_unfinished_note(out_dir, text);  // mpirun may drop a stopping rank's last output
  };
  const WorkOutcome outcome = distribute(session, work);
  res.explained = static_cast<int64_t>(work.items.size() - outcome.unconfirmed.size());
  done = merge(out_dir, warning);
  std::vector<int64_t> missing;
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto it = done.find(texts[i].line_no);
    if (it == done.end())
      missing.push_back(static_cast<int64_t>(i));
    else if (Json::parse(it->second).contains("error"))
      ++res.failed;
  }
  res.finished = missing.empty();
  if (!res.finished) {
    std::string ranks;
    for (int r : outcome.dead_ranks) ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
    res.failure = (ranks.empty() ? std::string("the run ended") : "rank(s) " + ranks + " stopped answering (died?)") +
                  " with " + std::to_string(missing.size()) + " of the " + std::to_string(texts.size()) +
                  " input lines not explained: " + name_documents(missing, name) + "; the others are saved in " +
                  out_dir + ": run the same command again (with any number of ranks) to finish them";
    write_unfinished_note(out_dir, res.failure);
  }
  return res;
}

}  // namespace wordlight::mpi
