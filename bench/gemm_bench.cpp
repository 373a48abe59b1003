// GEMM throughput: GFLOP/s (2*M*N*K / seconds) of the products a transformer
// layer runs, C (M x N) = A (M x K) * B (K x N), for 1 and 2 threads.
//
// Implementations:
//   native: ours-native   gemm_packed, the path the model's linear layers use
//                         (B packed once at load; natively it calls OpenBLAS)
//           openblas      cblas_sgemm directly, on the same operands
//   wasm:   ours-wasm     gemm_packed (our SIMD128 kernel, B packed once)
//           ours-wasm-unpacked
//                         gemm_fast, B not packed beforehand (packed on the
//                         fly on every call, or streamed for M <= 4), as
//                         attention and weight-gradient products use it
//           scalar        gemm_reference<float>, single-threaded (timed for
//                         the 1-thread column only: it does not use the pool)
//
// Every GEMM call sits in a function that is called many times: V8 runs a
// hot loop inside a function that is called only once on its baseline
// compiler for the whole run, so the timed loop only calls functions. Each
// measurement: warm-up (at least ~0.3 s, which also lets V8 tier the kernel
// up), then the best of 5 repetitions (2 with --quick) of enough calls to
// last ~0.15 s (~0.03 s with --quick). The repetitions of one case go
// round-robin over the implementations and thread counts, so interference
// from other work on a shared machine is spread over all of them.
//
// First it measures the f32x4 mul+add bound of the machine as it is now
// (metric "muladd_peak"): the ceiling of a wasm SIMD128 kernel, and a gauge
// of how much of the CPU the run got on a shared machine.
//
// Usage: gemm_bench [--out FILE] [--threads 1,2] [--quick]
//                   [--impl NAME,...] [--cases MxKxN,...]
//   --out appends one JSON object per measurement (one per line).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "wordlight/gemm.h"
#include "wordlight/thread_pool.h"

#ifdef WORDLIGHT_OPENBLAS
#include <cblas.h>
#endif

namespace {

using Clock = std::chrono::steady_clock;

struct Case {
  int M, K, N;
  std::string name() const { return std::to_string(M) + "x" + std::to_string(K) + "x" + std::to_string(N); }
};

struct Options {
  std::string out;
  std::vector<int> threads{1, 2};
  bool quick = false;
  std::vector<std::string> impls;  // empty: all of this build's
  std::vector<Case> cases{{1, 768, 768}, {64, 768, 768}, {64, 768, 3072}, {64, 3072, 768}, {128, 256, 256}};
};

#ifdef __EMSCRIPTEN__
const char* const kPlatform = "wasm";
const std::vector<std::string> kImpls{"ours-wasm", "ours-wasm-unpacked", "scalar"};
#else
const char* const kPlatform = "native";
const std::vector<std::string> kImpls{"ours-native", "openblas"};
#endif

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr,
               "gemm_bench: %s\nusage: gemm_bench [--out FILE] [--threads 1,2] [--quick] [--impl NAME,...] "
               "[--cases MxKxN,...]\n",
               msg);
  std::exit(2);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep))
    if (!item.empty()) parts.push_back(item);
  return parts;
}

int parse_positive(const std::string& s, const char* what) {
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || v < 1 || v > 1000000) usage((std::string("bad ") + what + ": '" + s + "'").c_str());
  return static_cast<int>(v);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage((a + " needs a value").c_str());
      return argv[++i];
    };
    if (a == "--out") {
      o.out = value();
    } else if (a == "--threads") {
      o.threads.clear();
      for (auto& t : split(value(), ',')) o.threads.push_back(parse_positive(t, "thread count"));
      if (o.threads.empty()) usage("--threads needs at least one count");
    } else if (a == "--quick") {
      o.quick = true;
    } else if (a == "--impl") {
      o.impls = split(value(), ',');
      for (auto& n : o.impls)
        if (std::find(kImpls.begin(), kImpls.end(), n) == kImpls.end())
          usage(("unknown impl '" + n + "' for this build").c_str());
    } else if (a == "--cases") {
      o.cases.clear();
      for (auto& c : split(value(), ',')) {
        auto d = split(c, 'x');
        if (d.size() != 3) usage(("bad case '" + c + "', expected MxKxN").c_str());
        o.cases.push_back({parse_positive(d[0], "M"), parse_positive(d[1], "K"), parse_positive(d[2], "N")});
      }
    } else if (a == "--help" || a == "-h") {
      usage("help");
    } else {
      usage(("unknown argument '" + a + "'").c_str());
    }
  }
  if (o.impls.empty()) o.impls = kImpls;
  return o;
}

// Operands of one case: C (M x N) = A (M x K) * B (K x N), all row-major.
struct Problem {
  Case c;
  std::vector<float> A, B, C;
  wordlight::PackedB packed;
};

// One GEMM call per implementation. noinline: each is a function called
// many times (see the header comment).
__attribute__((noinline)) void call_ours_packed(Problem& p) {
  wordlight::gemm_packed(false, p.c.M, 1.f, p.A.data(), p.c.K, p.packed, 0.f, p.C.data(), p.c.N);
}
__attribute__((noinline)) void call_ours_unpacked(Problem& p) {
  wordlight::gemm_fast(false, false, p.c.M, p.c.N, p.c.K, 1.f, p.A.data(), p.c.K, p.B.data(), p.c.N, 0.f, p.C.data(),
                       p.c.N);
}
__attribute__((noinline)) void call_scalar(Problem& p) {
  wordlight::gemm_reference<float>(false, false, p.c.M, p.c.N, p.c.K, 1.f, p.A.data(), p.c.K, p.B.data(), p.c.N, 0.f,
                                   p.C.data(), p.c.N);
}
#ifdef WORDLIGHT_OPENBLAS
__attribute__((noinline)) void call_openblas(Problem& p) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p.c.M, p.c.N, p.c.K, 1.f, p.A.data(), p.c.K, p.B.data(),
              p.c.N, 0.f, p.C.data(), p.c.N);
}
#endif

using Call = void (*)(Problem&);
Call call_of(const std::string& impl) {
  if (impl == "ours-native" || impl == "ours-wasm") return call_ours_packed;
  if (impl == "ours-wasm-unpacked") return call_ours_unpacked;
  if (impl == "scalar") return call_scalar;
#ifdef WORDLIGHT_OPENBLAS
  if (impl == "openblas") return call_openblas;
#endif
  return nullptr;
}

// The bound our wasm kernel works against: f32x4 multiply + add (wasm SIMD
// has no FMA), one mul and one add per step on each of 10 independent
// accumulators (few enough for V8 to keep in registers), so the loop runs at
// the machine's issue rate for 128-bit mul and add. Counted like GEMM flops:
// 2 per lane per mul+add. Written with vector extensions, so the native
// build measures the same 128-bit operations (SSE) for comparison.
typedef float f32x4 __attribute__((vector_size(16)));
constexpr int kPeakAcc = 10;
__attribute__((noinline)) float muladd_loop(long iters, float w) {
  f32x4 a[kPeakAcc];
  for (int i = 0; i < kPeakAcc; ++i) a[i] = f32x4{1.f + i, 2.f + i, 3.f + i, 4.f + i};
  const f32x4 wv = f32x4{w, w, w, w};
  for (long it = 0; it < iters; ++it) {
    // a_i += w * a_{i+1} (old values): independent mul+add pairs.
    const f32x4 a0 = a[0];
    for (int i = 0; i + 1 < kPeakAcc; ++i) a[i] = a[i] + wv * a[i + 1];
    a[kPeakAcc - 1] = a[kPeakAcc - 1] + wv * a0;
  }
  f32x4 s = a[0];
  for (int i = 1; i < kPeakAcc; ++i) s = s + a[i];
  return s[0] + s[1] + s[2] + s[3];
}

#if defined(__x86_64__) && !defined(__EMSCRIPTEN__)
// The native ceiling (issue 20): 8-lane fused multiply-add (AVX2 FMA), the
// instruction OpenBLAS's kernels issue, on 10 independent accumulators;
// 2 flops per lane. Compiled for AVX2+FMA whatever the build's baseline;
// called only when the CPU has them.
typedef float f32x8 __attribute__((vector_size(32)));
__attribute__((noinline, target("avx2,fma"))) float fma_loop(long iters, float w) {
  f32x8 a[kPeakAcc];
  for (int i = 0; i < kPeakAcc; ++i) a[i] = f32x8{1.f + i, 2.f + i, 3.f + i, 4.f + i, 5.f, 6.f, 7.f, 8.f};
  const f32x8 wv = f32x8{w, w, w, w, w, w, w, w};
  for (long it = 0; it < iters; ++it) {
    const f32x8 a0 = a[0];
    for (int i = 0; i + 1 < kPeakAcc; ++i) a[i] = __builtin_ia32_vfmaddps256(wv, a[i + 1], a[i]);
    a[kPeakAcc - 1] = __builtin_ia32_vfmaddps256(wv, a0, a[kPeakAcc - 1]);
  }
  f32x8 s = a[0];
  for (int i = 1; i < kPeakAcc; ++i) s = s + a[i];
  return s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
}
constexpr int kFmaLanes = 8;
bool have_fma() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
#endif

// GFLOP/s of loop (muladd_loop: 4 lanes; fma_loop: 8): best of 5 runs of ~0.05 s after a warm-up.
double loop_peak(bool quick, float (*loop)(long, float), int lanes) {
  const long iters = 20000;  // per call; the timed loop calls it many times
  // volatile in and out: the compiler may neither merge nor drop the calls
  volatile float w = 0.5f, sink = 0;
  auto run = [&](long calls) {
    auto t0 = Clock::now();
    for (long c = 0; c < calls; ++c) sink = sink + loop(iters, w);
    return std::chrono::duration<double>(Clock::now() - t0).count();
  };
  double spent = 0;
  long calls = 1, done = 0;
  while (spent < (quick ? 0.05 : 0.2)) {
    spent += run(calls);
    done += calls;
    calls *= 2;
  }
  const long per_rep = std::max(1L, static_cast<long>(0.05 / (spent / done)));
  double best = 1e300;
  for (int r = 0; r < (quick ? 2 : 5); ++r) best = std::min(best, run(per_rep));
  return 2.0 * lanes * kPeakAcc * static_cast<double>(iters) * per_rep / best / 1e9;
}
double muladd_peak(bool quick) { return loop_peak(quick, muladd_loop, 4); }

#ifdef WORDLIGHT_RELAXED_KERNEL
// The relaxed-SIMD ceiling (issue 20): the same 10-chain loop with
// f32x4.relaxed_madd, run in the relaxed kernel's module (NaN where this JS
// engine lacks relaxed SIMD; node needs --experimental-wasm-relaxed-simd).
extern "C" float wl_relaxed_peak(int iters, float w);
float relaxed_loop(long iters, float w) { return wl_relaxed_peak(static_cast<int>(iters), w); }
#endif

__attribute__((noinline)) double time_calls(Call call, Problem& p, long iters) {
  auto t0 = Clock::now();
  for (long i = 0; i < iters; ++i) call(p);
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Largest |C - reference| over a few rows, relative to sum |a||b| of the row
// (the scale float rounding errors grow with): a benchmark of a wrong
// kernel is worthless, so every measurement is checked.
double check_rows(const Problem& p) {
  const Case& c = p.c;
  double worst = 0;
  for (int i : {0, c.M / 2, c.M - 1}) {
    std::vector<double> ref(c.N, 0.0), mag(c.N, 0.0);
    for (int k = 0; k < c.K; ++k) {
      const double a = p.A[static_cast<size_t>(i) * c.K + k];
      const float* b = &p.B[static_cast<size_t>(k) * c.N];
      for (int j = 0; j < c.N; ++j) {
        ref[j] += a * b[j];
        mag[j] += std::fabs(a * b[j]);
      }
    }
    for (int j = 0; j < c.N; ++j)
      worst = std::max(worst, std::fabs(p.C[static_cast<size_t>(i) * c.N + j] - ref[j]) / (mag[j] + 1e-30));
  }
  return worst;
}

// One implementation at one thread count, measured on one case.
struct Config {
  std::string impl;
  int threads;
  Call call;
  long iters = 0;      // calls per timed repetition
  double best = 1e300; // best time of one repetition, seconds
  double err = 0;      // check_rows after the warm-up
};

// Warm-up (which also lets V8 tier the code up) and the time of one call.
double warm_up(Call call, Problem& p, double seconds) {
  long n = 0;
  double spent = 0, batch = 1;
  while (spent < seconds) {
    const long b = static_cast<long>(batch);
    spent += time_calls(call, p, b);
    n += b;
    batch = std::min(batch * 2, 1e6);
  }
  return spent / n;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  FILE* out = nullptr;
  if (!o.out.empty()) {
    out = std::fopen(o.out.c_str(), "a");
    if (!out) {
      std::fprintf(stderr, "gemm_bench: cannot open %s for appending\n", o.out.c_str());
      return 1;
    }
  }
  std::printf("gemm bench (%s, fast path: %s)%s\n", kPlatform, wordlight::gemm_fast_name(),
              o.quick ? " --quick" : "");
  std::printf("%-18s %-20s %7s %10s %10s %8s\n", "case (MxKxN)", "impl", "threads", "GFLOP/s", "ms/call",
              "max err");
  {
    wordlight::set_num_threads(1);
    const double peak = muladd_peak(o.quick);
    std::printf("f32x4 mul+add bound of this machine now (1 thread, %s): %.2f GFLOP/s\n", kPlatform, peak);
    if (out)
      std::fprintf(out,
                   "{\"bench\":\"gemm\",\"platform\":\"%s\",\"impl\":\"f32x4-mul+add\",\"case\":\"%s\","
                   "\"threads\":1,\"metric\":\"muladd_peak\",\"value\":%.3f,\"unit\":\"GFLOP/s\","
                   "\"quick\":%s}\n",
                   kPlatform, kPlatform, peak, o.quick ? "true" : "false");
#ifdef WORDLIGHT_RELAXED_KERNEL
    if (wordlight::gemm_relaxed_active()) {
      const double rp = loop_peak(o.quick, relaxed_loop, 4);
      std::printf("f32x4 relaxed_madd bound (1 thread, wasm; the GEMMs below use the relaxed kernel): %.2f GFLOP/s\n",
                  rp);
      if (out)
        std::fprintf(out,
                     "{\"bench\":\"gemm\",\"platform\":\"wasm\",\"impl\":\"f32x4-relaxed-madd\",\"case\":\"wasm\","
                     "\"threads\":1,\"metric\":\"relaxed_peak\",\"value\":%.3f,\"unit\":\"GFLOP/s\",\"quick\":%s}\n",
                     rp, o.quick ? "true" : "false");
    } else {
      std::printf("relaxed SIMD: %s\n", wordlight::gemm_relaxed_status());
    }
#endif
#if defined(__x86_64__) && !defined(__EMSCRIPTEN__)
    if (have_fma()) {
      const double fma = loop_peak(o.quick, fma_loop, kFmaLanes);
      std::printf("f32x8 FMA bound (AVX2, OpenBLAS's instruction; 1 thread, native): %.2f GFLOP/s\n", fma);
      if (out)
        std::fprintf(out,
                     "{\"bench\":\"gemm\",\"platform\":\"native\",\"impl\":\"f32x8-fma\",\"case\":\"native\","
                     "\"threads\":1,\"metric\":\"fma_peak\",\"value\":%.3f,\"unit\":\"GFLOP/s\",\"quick\":%s}\n",
                     fma, o.quick ? "true" : "false");
    }
#endif
  }
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  bool bad = false;
  for (const Case& c : o.cases) {
    Problem p;
    p.c = c;
    p.A.resize(static_cast<size_t>(c.M) * c.K);
    p.B.resize(static_cast<size_t>(c.K) * c.N);
    p.C.assign(static_cast<size_t>(c.M) * c.N, 0.f);
    for (auto& x : p.A) x = u(rng);
    for (auto& x : p.B) x = u(rng);
    p.packed = wordlight::pack_b(false, c.K, c.N, p.B.data(), c.N);
    std::vector<Config> configs;
    for (const std::string& impl : o.impls)
      for (int t : o.threads) {
        if (impl == "scalar" && t != 1) continue;  // single-threaded by construction
        wordlight::set_num_threads(t);
        if (wordlight::num_threads() != t) {
          std::printf("%-18s %-20s %7d   (this build runs %d thread(s); skipped)\n", c.name().c_str(), impl.c_str(),
                      t, wordlight::num_threads());
          continue;
        }
        configs.push_back({impl, t, call_of(impl)});
      }
    const double warm_s = o.quick ? 0.1 : 0.3, rep_s = o.quick ? 0.03 : 0.15;
    const int reps = o.quick ? 2 : 5;
    for (Config& g : configs) {
      wordlight::set_num_threads(g.threads);
      std::fill(p.C.begin(), p.C.end(), 0.f);
      const double per_call = warm_up(g.call, p, warm_s);
      g.iters = std::max(1L, static_cast<long>(rep_s / std::max(per_call, 1e-9)));
      g.err = check_rows(p);
    }
    // Repetitions round-robin over the configurations, so that a stretch of
    // interference from other work on the machine hits all of them alike.
    for (int r = 0; r < reps; ++r)
      for (Config& g : configs) {
        wordlight::set_num_threads(g.threads);
        g.best = std::min(g.best, time_calls(g.call, p, g.iters));
      }
    const double flops = 2.0 * c.M * c.N * c.K;
    for (const Config& g : configs) {
      const double gflops = flops * g.iters / g.best / 1e9, ms = g.best / g.iters * 1e3;
      // float accumulation over K terms: relative error ~ eps * sqrt(K) typically
      const bool ok = g.err < 1e-5 * std::sqrt(static_cast<double>(c.K)) + 1e-6;
      bad = bad || !ok;
      std::printf("%-18s %-20s %7d %10.2f %10.4f %8.1e%s\n", c.name().c_str(), g.impl.c_str(), g.threads, gflops, ms,
                  g.err, ok ? "" : "  WRONG RESULT");
      if (out && ok)
        std::fprintf(out,
                     "{\"bench\":\"gemm\",\"platform\":\"%s\",\"impl\":\"%s\",\"case\":\"%s\",\"M\":%d,\"K\":%d,"
                     "\"N\":%d,\"threads\":%d,\"metric\":\"gflops\",\"value\":%.3f,\"unit\":\"GFLOP/s\","
                     "\"ms_per_call\":%.5f,\"reps\":%d,\"iters\":%ld,\"quick\":%s,\"fast_path\":\"%s\"}\n",
                     kPlatform, g.impl.c_str(), c.name().c_str(), c.M, c.K, c.N, g.threads, gflops, ms, reps, g.iters,
                     o.quick ? "true" : "false", wordlight::gemm_fast_name());
    }
    std::fflush(stdout);
    if (out) std::fflush(out);
  }
  wordlight::set_num_threads(1);
  if (out) std::fclose(out);
  if (bad) {
    std::fprintf(stderr, "gemm_bench: some results were wrong (see WRONG RESULT above)\n");
    return 1;
  }
  return 0;
}
