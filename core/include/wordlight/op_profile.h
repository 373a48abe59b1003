#pragma once
// Per-op profile of the tape's work (issue 20): where a forward or an
// explanation spends its time, by op kind and shape, with the flops each
// part does, so that GFLOP/s per op kind can be set against the machine's
// ceiling.
//
// Off by default and then free but for one load and branch per op call
// (no clock is read). On with WORDLIGHT_PROFILE=1 in the environment
// (natively; the table goes to stderr at exit) or op_profile_enable(true)
// (the benches: bench/explain_bench --profile).
//
// The ops in core/src/ops open an OpScope around each part of their work
// (a linear's GEMM and its bias add, attention's per-head products and its
// softmax, a GEMM's packing of A, ...). Times are exclusive: a scope's
// time excludes the scopes opened inside it on the same thread, so the
// entries add up to the time spent in ops. Scopes on pool threads (the
// per-head work of attention split across threads) add their thread's
// time: with more than one thread the entries are CPU time, and can sum
// to more than the wall clock. Profile with one thread for a wall-clock
// breakdown.
#include <cstdint>
#include <string>
#include <vector>

namespace wordlight {

namespace detail {
extern bool g_op_profile_on;
}

inline bool op_profile_enabled() { return detail::g_op_profile_on; }
void op_profile_enable(bool on);
void op_profile_reset();

struct OpProfileEntry {
  std::string op;   // e.g. "linear.fwd.gemm", "attention.fwd.qk", "layernorm.fwd"
  int64_t m = 0, k = 0, n = 0;  // the GEMM's M x K x N, or (rows, cols, 0) for row ops
  int64_t calls = 0;
  double seconds = 0;  // exclusive
  double flops = 0;    // multiply-adds count 2
};
// Everything recorded since the last reset, largest time first.
std::vector<OpProfileEntry> op_profile_entries();
// One JSON object per entry ({"op", "m", "k", "n", "calls", "seconds",
// "flops", "gflops"} plus `extra`, a string of ',"key":value' pairs).
std::string op_profile_json_lines(const std::string& extra = "");
// A readable table (op, shape, calls, ms, % of the profiled time, GFLOP/s).
std::string op_profile_table();

// RAII: times the enclosing block as `op` (a string literal: kept by pointer).
class OpScope {
 public:
  OpScope(const char* op, double flops, int64_t m = 0, int64_t k = 0, int64_t n = 0) {
    if (detail::g_op_profile_on) begin(op, flops, m, k, n);
  }
  ~OpScope() {
    if (active_) end();
  }
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;

 private:
  void begin(const char* op, double flops, int64_t m, int64_t k, int64_t n);
  void end();
  bool active_ = false;
  const char* op_ = nullptr;
  double flops_ = 0;
  int64_t m_ = 0, k_ = 0, n_ = 0;
  double start_ = 0, child_ = 0;
  OpScope* parent_ = nullptr;
};

}  // namespace wordlight
