// The per-op profile (wordlight/op_profile.h): exclusive wall time per
// (op, shape), a thread-local stack of open scopes, one map under a mutex
// (only touched while profiling).
#include "wordlight/op_profile.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace wordlight {
namespace detail {
bool g_op_profile_on = false;
}

namespace {

// Keyed by the name's pointer (a string literal per call site: no string
// is built while profiling); entries of equal names are merged when read.
using Key = std::tuple<const char*, int64_t, int64_t, int64_t>;
struct Acc {
  int64_t calls = 0;
  double seconds = 0, flops = 0;
};
// Never destroyed: WORDLIGHT_PROFILE's exit handler reads them after the
// function-local statics that were built later are gone.
std::mutex& mu() {
  static std::mutex* m = new std::mutex;
  return *m;
}
std::map<Key, Acc>& table() {
  static auto* t = new std::map<Key, Acc>;
  return *t;
}
thread_local OpScope* tl_top = nullptr;

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// WORDLIGHT_PROFILE=1 (any value but "" or "0"): on from the start, the
// table printed to stderr at exit.
struct FromEnvironment {
  FromEnvironment() {
    const char* e = std::getenv("WORDLIGHT_PROFILE");
    if (e && *e && std::string(e) != "0") {
      mu();
      table();
      detail::g_op_profile_on = true;
      std::atexit([] {
        const std::string t = op_profile_table();
        std::fprintf(stderr, "%s", t.c_str());
      });
    }
  }
} from_environment;

}  // namespace

void op_profile_enable(bool on) { detail::g_op_profile_on = on; }

void op_profile_reset() {
  std::lock_guard<std::mutex> lock(mu());
  table().clear();
}

void OpScope::begin(const char* op, double flops, int64_t m, int64_t k, int64_t n) {
  active_ = true;
  op_ = op;
  flops_ = flops;
  m_ = m;
  k_ = k;
  n_ = n;
  parent_ = tl_top;
  tl_top = this;
  start_ = now();
}

void OpScope::end() {
  const double total = now() - start_;
  tl_top = parent_;
  if (parent_) parent_->child_ += total;
  std::lock_guard<std::mutex> lock(mu());
  Acc& a = table()[Key{op_, m_, k_, n_}];
  a.calls += 1;
  a.seconds += std::max(0.0, total - child_);
  a.flops += flops_;
}

std::vector<OpProfileEntry> op_profile_entries() {
  std::map<std::tuple<std::string, int64_t, int64_t, int64_t>, Acc> merged;
  {
    std::lock_guard<std::mutex> lock(mu());
    for (const auto& [key, a] : table()) {
      Acc& m = merged[{std::get<0>(key), std::get<1>(key), std::get<2>(key), std::get<3>(key)}];
      m.calls += a.calls;
      m.seconds += a.seconds;
      m.flops += a.flops;
    }
  }
  std::vector<OpProfileEntry> v;
  for (const auto& [key, a] : merged) {
    OpProfileEntry e;
    e.op = std::get<0>(key);
    e.m = std::get<1>(key);
    e.k = std::get<2>(key);
    e.n = std::get<3>(key);
    e.calls = a.calls;
    e.seconds = a.seconds;
    e.flops = a.flops;
    v.push_back(std::move(e));
  }
  std::sort(v.begin(), v.end(), [](const OpProfileEntry& a, const OpProfileEntry& b) { return a.seconds > b.seconds; });
  return v;
}

std::string op_profile_json_lines(const std::string& extra) {
  std::string out;
  char buf[512];
  for (const OpProfileEntry& e : op_profile_entries()) {
    std::snprintf(buf, sizeof buf,
                  "{\"op\":\"%s\",\"m\":%lld,\"k\":%lld,\"n\":%lld,\"calls\":%lld,\"seconds\":%.6g,\"flops\":%.6g,"
                  "\"gflops\":%.4g",
                  e.op.c_str(), static_cast<long long>(e.m), static_cast<long long>(e.k),
                  static_cast<long long>(e.n), static_cast<long long>(e.calls), e.seconds, e.flops,
                  e.seconds > 0 ? e.flops / e.seconds / 1e9 : 0.0);
    out += buf;
    out += extra;
    out += "}\n";
  }
  return out;
}

std::string op_profile_table() {
  const std::vector<OpProfileEntry> v = op_profile_entries();
  double total = 0;
  for (const OpProfileEntry& e : v) total += e.seconds;
  std::string out = "op profile (exclusive time per op and shape; GFLOP/s where the op multiplies)\n";
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-28s %-18s %7s %10s %6s %9s\n", "op", "shape", "calls", "ms", "%", "GFLOP/s");
  out += buf;
  for (const OpProfileEntry& e : v) {
    char shape[64];
    if (e.n)
      std::snprintf(shape, sizeof shape, "%lldx%lldx%lld", static_cast<long long>(e.m), static_cast<long long>(e.k),
                    static_cast<long long>(e.n));
    else
      std::snprintf(shape, sizeof shape, "%lldx%lld", static_cast<long long>(e.m), static_cast<long long>(e.k));
    std::snprintf(buf, sizeof buf, "%-28s %-18s %7lld %10.3f %6.1f %9.2f\n", e.op.c_str(), shape,
                  static_cast<long long>(e.calls), e.seconds * 1e3, total > 0 ? 100 * e.seconds / total : 0.0,
                  e.seconds > 0 && e.flops > 0 ? e.flops / e.seconds / 1e9 : 0.0);
    out += buf;
  }
  std::snprintf(buf, sizeof buf, "%-28s %-18s %7s %10.3f\n", "total", "", "", total * 1e3);
  out += buf;
  return out;
}

}  // namespace wordlight
