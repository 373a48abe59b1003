// wordlight evaluate  a model's accuracy on labelled data (JSON) and, with
// --methods, how good the explanation methods are on that data (word
// deletion, ERASER, plausibility, Atanasova et al.'s diagnostic
// properties, document vectors, top words): results.jsonl (resumable),
// results.json and report.html in --out. The metrics are in
// core/src/evaluate.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "masked_lm.h"
#include "evaluation_report.h"
#include "mpi_evaluate.h"
#include "mpi_work.h"
#include "wordlight/gpu.h"
#include "wordlight/datasets.h"
#include "wordlight/error.h"
#include "wordlight/evaluate.h"
#include "wordlight/model.h"
#include "wordlight/model_files.h"
#include "wordlight/pretrain.h"
#include "wordlight/thread_pool.h"
#include "wordlight/tokenizer.h"
#include "wordlight/train.h"
#include "wordlight/text_escape.h"

using namespace wordlight;
using namespace wordlight::cli;

namespace {

bool exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t e = s.find(sep, start);
    const std::string part = s.substr(start, e == std::string::npos ? std::string::npos : e - start);
    if (!part.empty()) out.push_back(part);
    if (e == std::string::npos) break;
    start = e + 1;
  }
  return out;
}

std::string shell_quote(const std::string& s) {
  if (s.find_first_of(" \t'\"$;&|<>*?()") == std::string::npos) return s;
  std::string o = "'";
  for (char c : s) o += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return o + "'";
}

// eraser:DIR/val.jsonl with no DIR/docs: unpack DIR/docs.tar.gz into the
// cache (WORDLIGHT_CACHE, default ~/.cache/wordlight) once, and point the
// spec there. The data stays where it is; only the unpacked copy is ours.
std::string resolve_eraser(const std::string& spec) {
  if (spec.rfind("eraser:", 0) != 0 || spec.find('@') != std::string::npos) return spec;
  const std::string jsonl = spec.substr(7);
  const size_t slash = jsonl.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : jsonl.substr(0, slash);
  if (exists(dir + "/docs")) return spec;
  const std::string tgz = dir + "/docs.tar.gz";
  if (!exists(tgz)) throw Error(spec + ": neither " + dir + "/docs nor " + tgz + " exists (give eraser:JSONL@DOCS_DIR)");
  const char* env = std::getenv("WORDLIGHT_CACHE");
  const char* home = std::getenv("HOME");
  const std::string cache = env && *env ? env : std::string(home ? home : ".") + "/.cache/wordlight";
  std::string name = dir.substr(dir.find_last_of('/') == std::string::npos ? 0 : dir.find_last_of('/') + 1);
  if (name.empty() || name == "." || name == "..") name = "eraser";
  const std::string dest = cache + "/" + name;
  if (!exists(dest + "/docs")) {
    make_directories(dest);
    std::fprintf(stderr, "evaluate: unpacking %s into %s\n", terminal_escape(tgz).c_str(), terminal_escape(dest).c_str());
    const std::string cmd = "tar xzf " + shell_quote(tgz) + " -C " + shell_quote(dest);
    if (std::system(cmd.c_str()) != 0 || !exists(dest + "/docs")) throw Error("could not unpack " + tgz + " into " + dest);
  }
  return spec + "@" + dest + "/docs";
}

int accuracy_only(const Args& a) {
  const std::string model_dir = a.need("model");
  const ModelConfig cfg = read_model_config_file(model_dir + "/config.json");
  const LoadedModel loaded = load_model_directory(model_dir);
  const std::unique_ptr<Model>& model = loaded.model;
  const std::unique_ptr<Tokenizer>& tok = loaded.tokenizer;
  const TextDataset ds = read_data_spec(a.need("data"));
  if (cfg.head == ModelHead::MaskedLM) {
    // A masked LM's accuracy: masked-token accuracy under BERT's masking
    // (15% of the pieces, 80/10/10) with a fixed seed, so the same files
    // give the same number (what `pretrain --dev` reports). n: masked
    // positions.
    const int model_max = cfg.max_position_embeddings - cfg.position_offset;
    const int max_length = static_cast<int>(a.integer("max-length", std::min(128, model_max)));
    size_t empty = 0;
    const Segments segs = segment_documents(*tok, ds.texts, max_length, &empty);
    if (segs.empty()) throw Error(a.need("data") + ": no text with a token to evaluate the masked LM on");
    const TokenMasker masker(*tok, MaskingOptions{});
    const MaskedLMStats st = evaluate_masked_lm(*model, segs, masker, static_cast<int>(a.integer("batch-size", 64)), 1);
    std::printf("{\"accuracy\": %.6f, \"n\": %lld, \"left_out\": %zu, \"metric\": \"masked-token accuracy\", "
                "\"loss\": %.6f}\n",
                st.predicted ? static_cast<double>(st.correct) / static_cast<double>(st.predicted) : 0.0,
                static_cast<long long>(st.predicted), empty, st.loss);
    return 0;
  }
  if (cfg.head == ModelHead::CausalLM) {
    // A causal LM (GPT-2): next-token accuracy over every position of each
    // text between end-of-text tokens (what `pretrain --dev` reports), with
    // the loss and its perplexity. n: predicted positions.
    if (cfg.eos_token_id < 0) throw Error(model_dir + "/config.json: a causal LM needs an eos_token_id to evaluate");
    const int max_length = static_cast<int>(a.integer("max-length", std::min(128, cfg.max_position_embeddings)));
    size_t empty = 0;
    const Segments segs = segment_causal_documents(*tok, ds.texts, max_length, cfg.eos_token_id, &empty);
    if (segs.empty()) throw Error(a.need("data") + ": no text with a token to evaluate the causal LM on");
    const MaskedLMStats st = evaluate_causal_lm(*model, segs, static_cast<int>(a.integer("batch-size", 64)));
    std::printf("{\"accuracy\": %.6f, \"n\": %lld, \"left_out\": %zu, \"metric\": \"next-token accuracy\", "
                "\"loss\": %.6f, \"perplexity\": %.4f}\n",
                st.predicted ? static_cast<double>(st.correct) / static_cast<double>(st.predicted) : 0.0,
                static_cast<long long>(st.predicted), empty, st.loss, std::exp(st.loss));
    return 0;
  }
  size_t dropped = 0;
  std::vector<size_t> kept;
  const EncodedSet set = encode_texts(*tok, ds.texts, label_ids(ds, cfg.id2label),
                                      static_cast<int>(a.integer("max-length", 0)), &dropped, &kept);
  std::vector<int32_t> predicted;
  const double acc = evaluate_accuracy(*model, set, static_cast<int>(a.integer("batch-size", 64)), &predicted);
  if (a.has("predictions")) {
    // One line per example of the data, in its order, so that a script can
    // score groups of examples (tests/models: the negation suite's pairs and
    // phenomena); a left-out example (no tokens) says so.
    std::vector<nlohmann::ordered_json> rows(ds.texts.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      rows[i]["index"] = i;
      rows[i]["label"] = ds.labels[i];
      rows[i]["left_out"] = true;
    }
    for (size_t k = 0; k < kept.size(); ++k) {
      nlohmann::ordered_json& r = rows[kept[k]];
      r.erase("left_out");
      r["label"] = cfg.id2label[static_cast<size_t>(set.labels[k])];
      r["predicted"] = cfg.id2label[static_cast<size_t>(predicted[k])];
      r["correct"] = predicted[k] == set.labels[k];
    }
    std::string out;
    for (const auto& r : rows) out += r.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
    write_text(a.get("predictions"), out);
  }
  std::printf("{\"accuracy\": %.6f, \"n\": %zu, \"left_out\": %zu}\n", acc, set.size(), dropped);
  return 0;
}

std::string hms(double s) {
  char buf[32];
  const long t = static_cast<long>(s + 0.5);
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
  else
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  return buf;
}

int evaluate_methods(const Args& a, const mpi::Session& session) {
  const std::string model_dir = a.need("model"), out_dir = a.need("out");
  // Under mpirun every rank resolves the spec itself (the cache is per
  // machine); docs/cluster.md says to unpack an ERASER set once beforehand,
  // as ranks on one machine would race on the first unpacking.
  const std::string spec = resolve_eraser(a.need("data"));
  // Under mpirun the ranks on one machine share its cores.
  if (!a.has("threads")) set_num_threads(session.default_threads());
  if (a.has("chunk") && !session.distributed())
    throw Error("option --chunk applies to runs under mpirun (more than one rank)");

  EvalOptions o;
  for (const std::string& m : split(a.get("methods"), ',')) {
    if (m != "random") method_info(m);  // an unknown method fails here, listing the known ones
    if (std::find(o.methods.begin(), o.methods.end(), m) == o.methods.end()) o.methods.push_back(m);
  }
  if (std::find(o.methods.begin(), o.methods.end(), "random") == o.methods.end()) o.methods.push_back("random");
  // --options "lrp:rule=epsilon,epsilon=0.01;integrated-gradients:steps=16"
  for (const std::string& group : split(a.get("options"), ';')) {
    const size_t colon = group.find(':');
    if (colon == std::string::npos) throw Error("option --options: '" + group + "' is not METHOD:k=v,k=v");
    const std::string m = group.substr(0, colon);
    if (std::find(o.methods.begin(), o.methods.end(), m) == o.methods.end())
      throw Error("option --options: '" + m + "' is not one of --methods");
    MethodOptions given = parse_option_list(group.substr(colon + 1));
    resolve_options(m, given);  // fail early on a wrong option
    o.method_options[m] = given;
  }
  // --memory-mb N: every method's memory-mb (unless --options gives one)
  // and the deletion passes' budget.
  if (a.has("memory-mb")) {
    const std::string mb = a.get("memory-mb");
    o.memory_mb = a.num("memory-mb", 0);
    if (!(o.memory_mb >= 0)) throw Error("option --memory-mb: '" + mb + "' is not a number of MiB >= 0");
    for (const std::string& m : o.methods)
      if (m != "random" && !o.method_options[m].count("memory-mb")) o.method_options[m]["memory-mb"] = mb;
  }
  for (const std::string& m : o.methods)
    if (m != "random") resolve_options(m, o.method_options[m]);

  const LoadedModel loaded = load_model_directory(model_dir);
  const std::unique_ptr<Model>& model = loaded.model;
  const std::unique_ptr<Tokenizer>& tok = loaded.tokenizer;
  const EvalDataset data = read_eval_data(spec);
  if (a.has("metrics")) {
    for (const std::string& m : split(a.get("metrics"), ',')) {
      const auto& known = evaluation_metric_names();
      if (m == "all") {
        o.metrics.insert(known.begin(), known.end());
        continue;
      }
      if (std::find(known.begin(), known.end(), m) == known.end()) {
        std::string list;
        for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
        throw Error("option --metrics: unknown metric '" + m + "' (known: " + list + ", all)");
      }
      o.metrics.insert(m);
    }
  } else {
    const auto& known = evaluation_metric_names();
    o.metrics.insert(known.begin(), known.end());
  }
  if (!data.has_rationales) o.metrics.erase("plausibility");
  o.deletion = parse_deletion_mode(a.get("deletion", "auto"), model->config());
  if (a.has("deletion-steps")) {
    o.deletion_steps.clear();
    for (const std::string& s : split(a.get("deletion-steps"), ',')) {
      char* end = nullptr;
      const long k = std::strtol(s.c_str(), &end, 10);
      if (*end || k < 0) throw Error("option --deletion-steps: '" + s + "' is not a word count");
      o.deletion_steps.push_back(static_cast<int>(k));
    }
  }
  o.max_length = static_cast<int>(a.integer("max-length", -1));
  o.device = a.has("device") ? gpu::parse_device(a.get("device"), "--device").str() : gpu::device_from_env().str();
  o.batch_size = static_cast<int>(a.integer("batch-size", 32));
  o.seed = static_cast<uint64_t>(a.integer("seed", 1));
  LoadedModel second;
  const std::unique_ptr<Model>& model2 = second.model;
  const std::unique_ptr<Tokenizer>& tok2 = second.tokenizer;
  if (a.has("model2")) {
    second = load_model_directory(a.get("model2"));
    if (model2->config().architecture != model->config().architecture)
      throw Error("--model2 is a " + model2->config().architecture + ", --model a " + model->config().architecture +
                  " (rationale consistency compares two models of one architecture)");
    o.model2 = model2.get();
    o.tokenizer2 = tok2.get();
  }
  const MaskedLm mlm = load_masked_lm(
      a, model_dir, std::find(o.methods.begin(), o.methods.end(), "input-marginalization") != o.methods.end());
  o.masked_lm = mlm.model.get();
  o.masked_lm_tokenizer = mlm.tokenizer.get();

  SummaryInfo info;
  info.model = model_dir;
  info.data = a.need("data");
  info.deletion_mode = deletion_mode_name(o.deletion);
  info.label_names = model->config().id2label;
  info.dataset_size = static_cast<int64_t>(data.examples.size());
  std::string cmd = "wordlight evaluate";
  for (const auto& kv : a.values)
    if (kv.first != "threads" && kv.first != "chunk")
      cmd += " --" + kv.first + " " + shell_quote(kv.second);  // threads and chunks change no number
  info.command = cmd;
  const int64_t limit = a.integer("limit", -1);

  const bool tty = stderr_is_tty();
  auto last = std::chrono::steady_clock::now();
  EvalRunControl control;
  const std::string who = session.distributed() ? "evaluate: rank " + std::to_string(session.rank()) : "evaluate";
  control.warning = [&](const std::string& w) {
    std::fprintf(stderr, "%s: warning: %s\n", who.c_str(), terminal_escape(w).c_str());
  };
  bool first = true;
  control.progress = [&](const EvalProgress& p) {
    const auto now = std::chrono::steady_clock::now();
    const bool end = p.done >= p.total;
    if (!tty && !end && !first && std::chrono::duration<double>(now - last).count() < 30) return;
    first = false;
    last = now;
    char line[256];
    const double rate = p.seconds > 0 ? static_cast<double>(p.done - p.resumed) / p.seconds : 0;
    std::snprintf(line, sizeof line, "evaluate: %lld/%lld documents (%lld resumed), %.2f documents/s, %s elapsed, about %s left",
                  static_cast<long long>(p.done), static_cast<long long>(p.total), static_cast<long long>(p.resumed),
                  rate, hms(p.seconds).c_str(), hms(p.eta_seconds).c_str());
    if (tty)
      std::fprintf(stderr, "\r%s\x1b[K%s", line, end ? "\n" : "");
    else
      std::fprintf(stderr, "%s\n", line);
  };
  if (session.rank() == 0) {
    std::fprintf(stderr, "evaluate: %s on %s: %zu examples%s, methods", terminal_escape(model_dir).c_str(),
                 terminal_escape(spec).c_str(), data.examples.size(),
                 limit >= 0 ? (" (--limit " + std::to_string(limit) + ")").c_str() : "");
    for (const std::string& m : o.methods) std::fprintf(stderr, " %s", m.c_str());
    std::fprintf(stderr, "; %d threads", num_threads());
    if (session.distributed()) std::fprintf(stderr, " per rank, %d ranks", session.size());
    std::fprintf(stderr, "; deletion %s\n", deletion_mode_name(o.deletion));
  }
  if (session.distributed()) {
    std::string failure;
    mpi::DistributedStats stats;
    const EvalRunResult r = mpi::run_evaluation_distributed(session, *model, *tok, data, o, info, out_dir, limit,
                                                            a.integer("chunk", 0), control, &failure, &stats);
    if (session.rank() != 0) return 0;  // rank 0 reports for the job
    if (!r.finished) {
      // MPI_Abort: a rank declared dead may be hung rather than gone. (Open
      // MPI 4's mpirun --enable-recovery exits 0 even so; srun reports it.)
      std::fprintf(stderr, "wordlight evaluate: %s\n", terminal_escape(failure).c_str());
      session.abort(1);
    }
    write_evaluation_report(out_dir, r.results_json);
    nlohmann::ordered_json done;
    done["out"] = out_dir;
    done["evaluated"] = r.evaluated;
    done["resumed"] = r.resumed;
    done["ranks"] = session.size();
    done["seconds"] = stats.seconds;              // handing out and doing the documents
    done["messages"] = stats.messages;            // received by rank 0
    done["merge_seconds"] = stats.merge_seconds;  // merging the rank files, results.json, report.html
    done["results"] = out_dir + "/results.json";
    done["report"] = out_dir + "/report.html";
    std::printf("%s\n", done.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
    return 0;
  }
  const auto t_run = std::chrono::steady_clock::now();
  const EvalRunResult r = run_evaluation(*model, *tok, data, o, info, out_dir, limit, control);
  if (!r.finished) throw Error("stopped before the end; run the same command again to resume");
  write_evaluation_report(out_dir, r.results_json);
  const double run_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_run).count();
  std::remove(mpi::unfinished_note_path(out_dir).c_str());  // an earlier MPI run's note: now done
  {
    // A run in which every document was left out (each with its warning
    // above) measured nothing: say so with a failing exit, not a report of
    // zero documents and exit 0.
    const nlohmann::json summary = nlohmann::json::parse(r.results_json);
    if (summary.value("n", 0) == 0 && summary.value("left_out", 0) > 0)
      throw Error("every document was left out (" + std::to_string(summary.value("left_out", 0)) +
                  ", see the warnings above); nothing was evaluated (results in " + out_dir + ")");
  }
  // Through nlohmann: a folder name with quotes or control characters stays
  // valid JSON (control characters as \u escapes, harmless on a terminal).
  nlohmann::ordered_json done;
  done["out"] = out_dir;
  done["evaluated"] = r.evaluated;
  done["resumed"] = r.resumed;
  done["seconds"] = run_seconds;  // the documents, results.json and the report (not loading the model and data)
  done["results"] = out_dir + "/results.json";
  done["report"] = out_dir + "/report.html";
  std::printf("%s\n", done.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
  return 0;
}

int cmd_evaluate(const Args& a) {
  if (!a.has("methods")) {
    for (const char* k : {"out", "metrics", "limit", "options", "deletion", "deletion-steps", "model2", "seed", "chunk",
                        "memory-mb"})
      if (a.has(k)) throw Error(std::string("option --") + k + " needs --methods (without it, evaluate prints the accuracy)");
    return accuracy_only(a);
  }
  if (a.has("predictions")) throw Error("option --predictions goes with the accuracy (without --methods)");
  mpi::Session session;  // size 1 unless started by mpirun / srun
  if (!session.distributed()) return evaluate_methods(a, session);
  try {
    return evaluate_methods(a, session);
  } catch (const std::exception& e) {
    // One rank's error ends the whole job, so that no rank waits for it.
    std::fprintf(stderr, "wordlight evaluate: rank %d: %s\n", session.rank(), terminal_escape(e.what()).c_str());
    session.abort(1);
  }
}

const RegisterCommand reg_evaluate(
    {"evaluate",
     "evaluate --model DIR --data SPEC [--batch-size N] [--max-length N] [--predictions FILE]\n"
     "prints {\"accuracy\": ..., \"n\": ..., \"left_out\": ...}; --predictions: one JSON line per\n"
     "example ({\"index\", \"label\", \"predicted\", \"correct\"}, or \"left_out\": true)\n"
     "evaluate --model DIR --data SPEC --methods a,b,c --out DIR [--metrics m,m|all] [--limit N]\n"
     "[--options 'method:k=v,k=v;method:k=v'] [--deletion auto|zero|remove|mask|unk] [--deletion-steps 0,1,2,5]\n"
     "[--model2 DIR] [--mlm DIR] [--seed N] [--batch-size N] [--max-length N] [--memory-mb N]\n"
     "[--device cpu|vulkan|vulkan:N|auto] (where the explanations run; the deletion passes: the CPU)\n"
     "how good explanation methods are on a data set (\"random\" is always added as the control):\n"
     "metrics deletion, eraser, plausibility, confidence, faithfulness, consistency, docvectors,\n"
     "topwords, time (default: all; plausibility needs rationales); writes DIR/results.jsonl (one\n"
     "line per document, appended as they finish: run the same command again to resume),\n"
     "DIR/results.json and DIR/report.html; uses every core unless --threads is given;\n"
     "SPEC also: eraser:DIR/val.jsonl[@DOCS] (ERASER; DIR/docs.tar.gz is unpacked into the cache),\n"
     "jsonl:PATH with {\"text\", \"label\", \"rationales\": [[begin, end], ...] byte offsets};\n"
     "under mpirun (MPI build): mpirun -np N wordlight evaluate ... [--chunk N]: the documents are spread\n"
     "over the ranks (each writes DIR/results.rank-K.jsonl; rank 0 merges): see docs/cluster.md",
     {"model", "data", "batch-size", "max-length", "methods", "metrics", "out", "limit", "options", "deletion",
      "deletion-steps", "model2", "seed", "chunk", "mlm", "memory-mb", "predictions", "device"},
     {},
     cmd_evaluate,
     30});

}  // namespace
