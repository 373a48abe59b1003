// Embind bindings: the only code that includes Emscripten headers. Thin
// adapters from JS values to the core's C++ API (model_files.h, predict.h,
// explain.h); the JS package (wordlight.mjs, engine.mjs) wraps them.
//
// Errors: a C++ exception must not cross into JS (Emscripten 3.1.6 turns it
// into a bare pointer, and a JS exception thrown through wasm frames skips
// C++ destructors). So every fallible call catches everything, records the
// message (last_error(), last_error_kind()) and returns a failure value
// ("" or false); the JS side turns that into an Error. Nothing a failed call
// allocated outlives it (unique_ptrs, cleared staging).
//
// Bytes cross as typed arrays copied once, straight into C++ buffers: JS
// asks for a Uint8Array view of a buffer of the right size (stage(),
// input views) and fills it with .set().
#include <emscripten/bind.h>
#include <emscripten/heap.h>
#include <emscripten/val.h>
#include <malloc.h>

#include <atomic>
#include <cstdint>
#include <new>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "wordlight/gemm.h"
#include "wordlight/attention.h"
#include "wordlight/counterfactual.h"
#include "wordlight/error.h"
#include "wordlight/explain.h"
#include "wordlight/finite_check.h"
#include "wordlight/generate.h"
#include "wordlight/model_files.h"
#include "wordlight/predict.h"
#include "wordlight/thread_pool.h"

using emscripten::val;
using namespace wordlight;

namespace {

std::string g_error, g_error_kind;

// A request that cannot fit under the memory cap, refused before trying.
class OutOfMemory : public Error {
 public:
  explicit OutOfMemory(const std::string& what) : Error(what) {}
};

// Frees the message once JS has it (so an error leaves nothing allocated).
void clear_error() {
  std::string().swap(g_error);
  std::string().swap(g_error_kind);
}

std::string mib(double bytes) { return std::to_string(static_cast<long long>(bytes / (1 << 20))) + " MiB"; }

// Runs fn; on an exception records it and returns `failed`.
template <class R, class F>
R guarded(R failed, F&& fn) {
  clear_error();
  try {
    return fn();
  } catch (const OutOfMemory& e) {
    g_error = e.what();
    g_error_kind = "memory";
  } catch (const Cancelled& e) {
    g_error = e.what();
    g_error_kind = "cancelled";
  } catch (const std::bad_alloc&) {
    g_error = "out of memory: the WebAssembly heap reached its cap of " +
              std::to_string(emscripten_get_heap_max() >> 20) +
              " MiB (a smaller model, a shorter text or smaller option values may fit)";
    g_error_kind = "memory";
  } catch (const std::exception& e) {
    g_error = e.what();
    g_error_kind = "error";
  } catch (...) {
    g_error = "unknown C++ exception";
    g_error_kind = "error";
  }
  return failed;
}

// A JS typed array -> a C++ vector, one bulk copy.
template <class T>
void copy_in(const val& array, std::vector<T>& out) {
  if (array.isUndefined() || array.isNull()) {
    out.clear();
    return;
  }
  const size_t n = array["length"].as<size_t>();
  out.resize(n);
  if (n) val(emscripten::typed_memory_view(n, out.data())).call<void>("set", array);
}

const char* head_name(ModelHead h) {
  return h == ModelHead::SequenceClassification ? "sequence-classification"
         : h == ModelHead::CausalLM             ? "causal-lm"
                                                : "masked-lm";
}

class ModelHandle {
 public:
  // ------------------------------------------------------------ loading
  // A writable view of a new buffer of `size` bytes for file `name`, or
  // null (see last_error()) when it cannot fit under the memory cap; fill
  // it at once (a later allocation may move the heap under it).
  val stage(const std::string& name, double size) {
    std::string* s = nullptr;
    const bool ok = guarded(false, [&] {
      const double room = static_cast<double>(emscripten_get_heap_max()) - static_cast<double>(mallinfo().uordblks);
      if (!(size >= 0) || size > room)
        throw OutOfMemory(name + " (" + mib(size) + ") does not fit in the WebAssembly memory: its cap is " +
                          mib(static_cast<double>(emscripten_get_heap_max())) + ", " +
                          mib(static_cast<double>(mallinfo().uordblks)) + " of it in use");
      s = &staged_[name];
      s->assign(static_cast<size_t>(size), '\0');
      return true;
    });
    if (!ok) {
      unstage();
      return val::null();
    }
    return val(emscripten::typed_memory_view(s->size(), reinterpret_cast<uint8_t*>(&(*s)[0])));
  }
  void unstage() { ModelFiles().swap(staged_); }
  // Builds the model from the staged files (which are released either way).
  bool load(const std::string& name) {
    ModelFiles files;
    files.swap(staged_);
    return guarded(false, [&] {
      LoadedModel m = load_model_files(std::move(files), name);
      m_ = std::move(m);
      return true;
    });
  }
  bool loaded() const { return m_.model != nullptr; }

  // {"architecture", "model_type", "head", "num_labels", "labels", "max_length", "vocab_size",
  //  "embedding_dim", "parameters", "tokenizer"}
  std::string info() {
    return guarded(std::string(), [&] {
      need();
      const ModelConfig& c = m_.model->config();
      int64_t params = 0;
      for (const ModelParameter& p : m_.model->parameters()) params += p.numel();
      nlohmann::ordered_json j;
      j["architecture"] = c.architecture;
      j["architecture_group"] = architecture_group(c);  // "cnn", "bilstm", "transformer": the registry's facts
      j["model_type"] = c.model_type;
      j["head"] = head_name(c.head);
      j["num_labels"] = c.head == ModelHead::SequenceClassification ? c.num_labels : 0;
      j["labels"] = c.head == ModelHead::SequenceClassification ? c.id2label : std::vector<std::string>{};
      j["max_length"] = m_.tokenizer->model_max_length();
      j["vocab_size"] = c.vocab_size;
      j["embedding_dim"] = m_.model->embedding_dim();
      j["parameters"] = params;
      j["tokenizer"] = m_.tokenizer->kind();
      j["parts"] = m_.model->parts();  // learned parts (MethodInfo::requires_part): "diffmask", ...
      return j.dump();
    });
  }

  // The registry resolved for this model: its architecture group and its
  // learned parts (a method whose part it lacks: applicable false, why).
  std::string methods() {
    return guarded(std::string(), [&] {
      need();
      return explanation_methods_to_json(*m_.model);
    });
  }

  // ------------------------------------------------------------ running
  // text: the UTF-8 bytes (a Uint8Array from JS).
  std::string predict(const std::string& text, int max_length) {
    return guarded(std::string(), [&] {
      need();
      return prediction_to_json(wordlight::predict(*m_.model, *m_.tokenizer, text, max_length));
    });
  }

  // A transformer's attention weights per layer and head for one text
  // (attention.h: text_attention_to_json's text).
  std::string attention(const std::string& text, int max_length) {
    return guarded(std::string(), [&] {
      need();
      return text_attention_to_json(wordlight::text_attention(*m_.model, *m_.tokenizer, text, max_length));
    });
  }

  // options: "k=v,k=v" or a JSON object; target: a label name, a class id or
  // "" (the predicted class); progress: a JS function (done, total) -> bool
  // (true: cancel), or undefined. Returns explanation_to_json's text.
  std::string explain(const std::string& text, const std::string& method, const std::string& options,
                      const std::string& target, int max_length, val progress) {
    cancel_.store(false);
    return guarded(std::string(), [&] {
      need();
      ExplainRequest req = explain_request(method, options, target, max_length);
      req.control = control_for(progress);
      const Explanation e = wordlight::explain(*m_.model, *m_.tokenizer, text, req);
      check_explanation_finite(e);  // never a success with NaN (null in JSON)
      return explanation_to_json(e);
    });
  }
  // Many texts at once (predict_batch / explain_batch): texts as a JSON
  // array of strings; progress as explain's, in texts. Returns a JSON array,
  // one entry per text: prediction_to_json's object (explanation_to_json's
  // for explainBatch), or {"error": message} for a text that has none.
  std::string predict_batch(const std::string& texts, int max_length, int batch_size, val progress) {
    cancel_.store(false);
    return guarded(std::string(), [&] {
      need();
      const std::vector<BatchPrediction> r = wordlight::predict_batch(*m_.model, *m_.tokenizer, text_list(texts),
                                                                      max_length, batch_size, control_for(progress));
      return json_rows(r, [](const BatchPrediction& p) { return prediction_to_json(p.prediction); });
    });
  }
  // documentVectors: each explanation also carries "document_vector"
  // (explain_batch's: sum_w score_w x_w).
  std::string explain_batch(const std::string& texts, const std::string& method, const std::string& options,
                            const std::string& target, int max_length, bool document_vectors, val progress) {
    cancel_.store(false);
    return guarded(std::string(), [&] {
      need();
      ExplainRequest req = explain_request(method, options, target, max_length);
      const std::vector<BatchExplanation> r = wordlight::explain_batch(*m_.model, *m_.tokenizer, text_list(texts), req,
                                                                       control_for(progress), document_vectors);
      return json_rows(r, [&](const BatchExplanation& e) {
        check_explanation_finite(e.explanation);
        std::string j = explanation_to_json(e.explanation);
        if (document_vectors) {  // one more member of the object
          j.pop_back();
          j += ",\"document_vector\":" + nlohmann::json(e.document_vector).dump() + "}";
        }
        return j;
      });
    });
  }
  // Counterfactuals (core/src/counterfactual): generator, options as JSON or
  // "k=v,k=v", locked word indices as a JSON array, progress as explain's.
  // mlm-edits takes the masked LM set by setMaskedLm. Returns
  // counterfactuals_to_json's text.
  std::string counterfactuals(const std::string& text, const std::string& generator, const std::string& options,
                              const std::string& locked, int max_length, val progress) {
    cancel_.store(false);
    return guarded(std::string(), [&] {
      need();
      CounterfactualRequest req;
      req.generator = generator;
      const size_t first = options.find_first_not_of(" \t\r\n");
      req.options = first != std::string::npos && options[first] == '{' ? parse_option_json(options)
                                                                         : parse_option_list(options);
      if (!locked.empty()) {
        const nlohmann::json l = nlohmann::json::parse(locked);
        for (const auto& v : l) req.locked.push_back(v.get<int32_t>());
      }
      req.max_length = max_length;
      req.control = control_for(progress);
      if (mlm_ && mlm_->m_.model) {
        req.mlm = mlm_->m_.model.get();
        req.mlm_tokenizer = mlm_->m_.tokenizer.get();
      }
      return counterfactuals_to_json(find_counterfactuals(*m_.model, *m_.tokenizer, text, req));
    });
  }
  // Generation (generate.h). prompt: UTF-8 bytes; request: JSON
  // {maxNewTokens, sample, temperature, topK, topP, seed, stop: [strings],
  // stopIds: [ids], bos, ignoreEos, explain: {method, options, score,
  // contrast (a token id), batchRows (default true)} or null}; progress as explain's: (done, total,
  // the token as JSON) over the generated tokens, then (done, total) over
  // the explained ones. Returns
  // generation_to_json's text.
  std::string generate(const std::string& prompt, const std::string& request, val progress) {
    cancel_.store(false);
    return guarded(std::string(), [&] {
      need();
      const nlohmann::json r = nlohmann::json::parse(request);
      GenerateOptions o;
      o.max_new_tokens = r.value("maxNewTokens", 20);
      o.temperature = r.value("temperature", 1.0);
      o.top_k = r.value("topK", 0);
      o.top_p = r.value("topP", 1.0);
      o.seed = r.value("seed", static_cast<uint64_t>(0));
      o.sample = r.value("sample", r.contains("temperature") || r.contains("topK") || r.contains("topP") || r.contains("seed"));
      o.prepend_bos = r.value("bos", true);
      o.ignore_eos = r.value("ignoreEos", false);
      if (r.contains("stop")) o.stop = r["stop"].get<std::vector<std::string>>();
      if (r.contains("stopIds")) o.stop_ids = r["stopIds"].get<std::vector<int32_t>>();
      const bool has_progress = progress.typeOf().as<std::string>() == "function";
      o.cancel = &cancel_;
      if (has_progress)
        o.on_token = [&](int i, const GeneratedToken& t) {
          // The token rides along (JSON text) so that a page can show it as it comes.
          if (progress(static_cast<double>(i + 1), static_cast<double>(o.max_new_tokens), generated_token_to_json(t)).as<bool>())
            cancel_.store(true);
          return true;
        };
      const Generation gen = wordlight::generate(*m_.model, *m_.tokenizer, prompt, o);
      if (!r.contains("explain") || r["explain"].is_null()) return generation_to_json(gen);
      const nlohmann::json& e = r["explain"];
      GenerationExplainRequest er;
      er.method = e.value("method", std::string("gradient"));
      if (e.contains("options")) er.options = parse_option_json(e["options"].dump());
      er.score = e.value("score", std::string());
      er.contrast_id = e.value("contrast", -1);
      er.batch_rows = e.value("batchRows", true);
      er.cancel = &cancel_;
      if (has_progress)
        er.progress = [&](int done, int total) {
          if (progress(static_cast<double>(done), static_cast<double>(total)).as<bool>()) cancel_.store(true);
        };
      const GenerationExplanation ex = explain_generation(*m_.model, *m_.tokenizer, gen, er);
      return generation_to_json(gen, &ex);
    });
  }
  // ------------------------------------------------------------ helpers
  // An explain request from the bindings' arguments (options "k=v,k=v" or
  // JSON; target "" for the predicted class), with the masked LM set by
  // setMaskedLm (input-marginalization's).
  ExplainRequest explain_request(const std::string& method, const std::string& options, const std::string& target,
                                 int max_length) const {
    ExplainRequest req;
    req.method = method;
    const size_t first = options.find_first_not_of(" \t\r\n");
    req.options =
        first != std::string::npos && options[first] == '{' ? parse_option_json(options) : parse_option_list(options);
    req.target = target.empty() ? -1 : parse_target(m_.model->config(), target);
    req.max_length = max_length;
    if (mlm_ && mlm_->m_.model) {
      req.masked_lm = mlm_->m_.model.get();
      req.masked_lm_tokenizer = mlm_->m_.tokenizer.get();
    }
    return req;
  }
  // Progress to a JS function (done, total) -> bool (true: cancel), or none;
  // the cancel flag.
  ExplainControl control_for(val& progress) {
    ExplainControl c;
    if (progress.typeOf().as<std::string>() == "function")
      c.progress = [this, &progress](int64_t done, int64_t total) {
        if (progress(static_cast<double>(done), static_cast<double>(total)).as<bool>()) cancel_.store(true);
      };
    c.cancel = &cancel_;
    return c;
  }
  static std::vector<std::string> text_list(const std::string& texts) {
    const nlohmann::json j = nlohmann::json::parse(texts);
    if (!j.is_array()) throw Error("texts must be a JSON array of strings");
    std::vector<std::string> out;
    for (const auto& t : j) {
      if (!t.is_string()) throw Error("texts must be a JSON array of strings");
      out.push_back(t.get<std::string>());
    }
    return out;
  }
  template <class Row, class F>
  static std::string json_rows(const std::vector<Row>& rows, F&& ok_json) {
    std::string out = "[";
    for (size_t i = 0; i < rows.size(); ++i) {
      if (i) out += ',';
      if (rows[i].ok) {
        out += ok_json(rows[i]);
      } else {
        nlohmann::json e;
        e["error"] = rows[i].error;
        out += e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      }
    }
    return out + "]";
  }

  // Sets the cancel flag (read between batches). From JS this only helps
  // when called from the progress callback (the thread is busy otherwise);
  // the callback's return value does the same.
  void cancel() { cancel_.store(true); }
  // The masked LM (another loaded handle, or null) that explain() gives
  // input-marginalization; engine.mjs sets it before each explain call.
  void set_masked_lm(ModelHandle* other) { mlm_ = other; }

  // {"ids", "tokens", "offsets": [[begin, end] bytes], "word_ids", "special", "words": [[begin, end]],
  //  "truncated"[, "notice"]}
  std::string tokenize(const std::string& text, int max_length) {
    return guarded(std::string(), [&] {
      need();
      EncodeOptions eo;
      eo.max_length = max_length;
      const Encoding e = m_.tokenizer->encode(text, eo);
      nlohmann::ordered_json j;
      j["ids"] = e.ids;
      j["tokens"] = e.tokens;
      nlohmann::ordered_json offs = nlohmann::ordered_json::array(), words = nlohmann::ordered_json::array();
      for (const Span& s : e.offsets) offs.push_back({s.begin, s.end});
      for (const Span& s : e.words) words.push_back({s.begin, s.end});
      j["offsets"] = offs;
      j["word_ids"] = e.word_ids;
      j["special"] = e.special_mask;
      j["words"] = words;
      j["truncated"] = e.truncated;
      if (e.truncated) j["notice"] = e.notice;
      return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    });
  }

  // ids: Int32Array (B*T), mask: Uint8Array (B*T), targets: Int32Array (B) or
  // undefined. The results stay in the handle until the next call:
  // logits_view(), logits_shape(), input_gradient_view().
  bool forward(val ids, val mask, int B, int T, val targets) {
    return guarded(false, [&] {
      need();
      TokenBatch batch;
      batch.B = B;
      batch.T = T;
      copy_in(ids, batch.ids);
      copy_in(mask, batch.mask);
      std::vector<int32_t> tg;
      copy_in(targets, tg);
      last_ = BatchForward();
      last_ = forward_batch(*m_.model, batch, tg);
      return true;
    });
  }
  val logits_view() const { return val(emscripten::typed_memory_view(last_.logits.size(), last_.logits.data())); }
  val input_gradient_view() const {
    return val(emscripten::typed_memory_view(last_.input_gradient.size(), last_.input_gradient.data()));
  }
  std::string logits_shape() const { return nlohmann::json(last_.logits_shape).dump(); }
  void release_forward() { last_ = BatchForward(); }

 private:
  void need() const {
    if (!m_.model) throw Error("the model is not loaded (or was disposed)");
  }
  LoadedModel m_;
  ModelFiles staged_;
  std::atomic<bool> cancel_{false};
  ModelHandle* mlm_ = nullptr;
  BatchForward last_;
};

std::string last_error() { return g_error; }
std::string last_error_kind() { return g_error_kind; }

std::string methods_json() { return explanation_methods_to_json(); }
std::string counterfactual_generators_json() { return counterfactual_generators_to_json(); }
// The registry resolved for an architecture group ("" on a bad group, with lastError set).
std::string methods_json_for(const std::string& group) {
  return guarded(std::string(), [&] { return explanation_methods_to_json(group); });
}
std::string model_file_names_json() { return nlohmann::json(model_file_names()).dump(); }

bool set_threads(int n) {
  return guarded(false, [&] {
    set_num_threads(n);
    return true;
  });
}
int get_threads() { return num_threads(); }
// The GEMM kernel this thread runs ("wasm-relaxed-simd" where the JS engine
// validates relaxed SIMD, else "wasm-simd128") and, if not relaxed, why.
std::string gemm_kernel() { return wordlight::gemm_fast_name(); }
std::string relaxed_simd_status() { return wordlight::gemm_relaxed_status(); }

// Bytes of wasm memory (it only grows), its cap, and bytes malloc has handed
// out and not had back.
double heap_size() { return static_cast<double>(emscripten_get_heap_size()); }
double heap_max() { return static_cast<double>(emscripten_get_heap_max()); }
double heap_in_use() { return static_cast<double>(mallinfo().uordblks); }
bool threaded_build() {
#ifdef WORDLIGHT_THREADS
  return true;
#else
  return false;
#endif
}

}  // namespace

EMSCRIPTEN_BINDINGS(wordlight) {
  emscripten::class_<ModelHandle>("ModelHandle")
      .constructor<>()
      .function("stage", &ModelHandle::stage)
      .function("unstage", &ModelHandle::unstage)
      .function("load", &ModelHandle::load)
      .function("loaded", &ModelHandle::loaded)
      .function("info", &ModelHandle::info)
      .function("methods", &ModelHandle::methods)
      .function("predict", &ModelHandle::predict)
      .function("attention", &ModelHandle::attention)
      .function("explain", &ModelHandle::explain)
      .function("predictBatch", &ModelHandle::predict_batch)
      .function("explainBatch", &ModelHandle::explain_batch)
      .function("counterfactuals", &ModelHandle::counterfactuals)
      .function("generate", &ModelHandle::generate)
      .function("cancel", &ModelHandle::cancel)
      .function("setMaskedLm", &ModelHandle::set_masked_lm, emscripten::allow_raw_pointers())
      .function("tokenize", &ModelHandle::tokenize)
      .function("forward", &ModelHandle::forward)
      .function("logitsView", &ModelHandle::logits_view)
      .function("logitsShape", &ModelHandle::logits_shape)
      .function("inputGradientView", &ModelHandle::input_gradient_view)
      .function("releaseForward", &ModelHandle::release_forward);
  emscripten::function("lastError", &last_error);
  emscripten::function("lastErrorKind", &last_error_kind);
  emscripten::function("clearError", &clear_error);
  emscripten::function("methodsJson", &methods_json);
  emscripten::function("counterfactualGeneratorsJson", &counterfactual_generators_json);
  emscripten::function("methodsJsonFor", &methods_json_for);
  emscripten::function("modelFileNamesJson", &model_file_names_json);
  emscripten::function("setThreads", &set_threads);
  emscripten::function("getThreads", &get_threads);
  emscripten::function("gemmKernel", &gemm_kernel);
  emscripten::function("relaxedSimdStatus", &relaxed_simd_status);
  emscripten::function("heapSize", &heap_size);
  emscripten::function("heapMax", &heap_max);
  emscripten::function("heapInUse", &heap_in_use);
  emscripten::function("threadedBuild", &threaded_build);
}
