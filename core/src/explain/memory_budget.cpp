// The memory budget: per-row cost estimates from a model's dimensions, the
// machine's default and the rows of a batch that fit (memory_budget.h).
#include "wordlight/memory_budget.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "wordlight/error.h"
#include "wordlight/thread_pool.h"

#ifdef __EMSCRIPTEN__
#include <emscripten/heap.h>
#include <unistd.h>
#else
#include <sys/resource.h>
#endif

namespace wordlight {

namespace {

constexpr double kMiB = 1048576.0;
constexpr double kArenaSlack = 1.5;

// Floats a row's forward pass keeps on the tape, by family. The
// coefficients count the tape's nodes per layer (each linear layer, add,
// LayerNorm, activation, the attention's scores and probabilities per
// head) with some room; test_memory_budget.cpp checks them against the
// arena on the shipped models and on tiny ones of every family.
double forward_floats(const ModelConfig& c, double T) {
  switch (c.family) {
    case ModelFamily::WordlightCnn: {
      double per_token = 2.0 * c.embedding_dim;
      for (int k : c.kernel_sizes) per_token += 4.0 * c.num_filters + 0.0 * k;
      return T * per_token + 4.0 * c.num_filters * static_cast<double>(c.kernel_sizes.size()) + 4.0 * c.num_labels;
    }
    case ModelFamily::WordlightBiLstm:
      // Per token and direction: the input projection (4 h), the recurrent
      // one (4 h), gates and their activations (4 h each), cell and hidden
      // states and their products (measured: ~30 h).
      return T * (2.0 * c.embedding_dim + 2.0 * 36.0 * c.lstm_hidden_size) + 8.0 * c.lstm_hidden_size +
             4.0 * c.num_labels;
    default: {
      // Transformers (encoders and GPT-2): per layer, q k v, the context,
      // the attention output, residual adds and LayerNorms (~12 T C), the
      // feed-forward's inner layer and its activation (~3 T I), and per head
      // the attention scores, their masked/scaled copy and the softmax
      // (~3 T^2 per head); the embeddings and head (~8 T C).
      const double C = c.hidden_size, I = c.intermediate_size > 0 ? c.intermediate_size : 4.0 * C;
      const double H = std::max(1, c.num_attention_heads), L = std::max(1, c.num_hidden_layers);
      return L * (14.0 * T * C + 3.0 * T * I + 3.0 * H * T * T) + 8.0 * T * C + 4.0 * C + 4.0 * c.num_labels;
    }
  }
}

#ifndef __EMSCRIPTEN__
// A field of /proc/<...> in kB ("MemAvailable:", "VmSize:"); -1 if absent.
double proc_kb(const char* file, const char* field) {
  std::ifstream in(file);
  std::string line;
  const std::string key = field;
  while (std::getline(in, line))
    if (line.compare(0, key.size(), key) == 0) {
      std::istringstream s(line.substr(key.size()));
      double kb = -1;
      s >> kb;
      return kb;
    }
  return -1;
}
#endif

}  // namespace

size_t row_bytes(const ModelConfig& config, int T, RowPass pass) {
  const double t = std::max(1, T);
  // The backward pass adds a gradient per kept value, and the batch's
  // input (and its gradient) besides the tape.
  // (The BiLSTM's backward keeps more per step: each gate's derivative.)
  const double backward = config.family == ModelFamily::WordlightBiLstm ? 2.5 : 2.0;
  const double floats = forward_floats(config, t) * (pass == RowPass::backward ? backward : 1.0) +
                        2.0 * t * std::max({config.hidden_size, config.embedding_dim, 1});
  return static_cast<size_t>(std::ceil(floats * sizeof(float)));
}

double default_memory_mb() {
  double free_bytes;
#ifdef __EMSCRIPTEN__
  const double cap = static_cast<double>(emscripten_get_heap_max());
  const double used = static_cast<double>(reinterpret_cast<uintptr_t>(sbrk(0)));
  free_bytes = std::max(0.0, cap - used);
#else
  const double avail_kb = proc_kb("/proc/meminfo", "MemAvailable:");
  free_bytes = avail_kb > 0 ? avail_kb * 1024.0 : 4096.0 * kMiB;
  // An address-space limit (ulimit -v): the room left under it.
  struct rlimit lim;
  if (getrlimit(RLIMIT_AS, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    const double vm_kb = proc_kb("/proc/self/status", "VmSize:");
    free_bytes = std::min(free_bytes, static_cast<double>(lim.rlim_cur) - std::max(0.0, vm_kb) * 1024.0);
  }
#endif
  const double workers = std::max(1, default_pool().threads());
  return std::max(16.0, std::floor(free_bytes / 2.0 / workers / kMiB));
}

size_t memory_budget_bytes(double memory_mb) {
  const double mb = memory_mb > 0 ? memory_mb : default_memory_mb();
  return static_cast<size_t>(mb * kMiB);
}

int rows_that_fit(const ModelConfig& config, int T, RowPass pass, double memory_mb, int cap, const std::string& who) {
  const double budget = static_cast<double>(memory_budget_bytes(memory_mb));
  // The arena's chunks are not all in use at the peak: when a pass outgrows
  // them they are merged into one chunk of the high-water size, and a batch
  // vector or two live beside the tape: measured, the process's peak RSS
  // grows by ~1.45x the rows' tape bytes (sst2-bilstm, IG, 16 to 1024 MiB).
  const double row = kArenaSlack * static_cast<double>(row_bytes(config, T, pass));
  const double fit = std::floor(budget / row);
  if (fit < 1) {
    char msg[512];
    std::snprintf(msg, sizeof msg,
                  "%s: one row of %d tokens needs about %.3g MiB of working memory, more than the budget of %.3g MiB "
                  "(memory-mb%s); raise memory-mb or explain a shorter text (max length)",
                  who.c_str(), T, row / kMiB, budget / kMiB, memory_mb > 0 ? "" : ", from the free memory");
    throw Error(msg);
  }
  return static_cast<int>(std::min<double>(std::max(1, cap), fit));
}

}  // namespace wordlight
