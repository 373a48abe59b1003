// GEMM fast path for WebAssembly SIMD128: gemm_fast, pack_b, gemm_packed.
// Same contract as gemm.h (row-major, trans flags, leading dimensions,
// alpha, beta; beta == 0 ignores the old C, which may hold NaN).
//
// Scheme (Goto/BLIS style, sized for V8's 16 x 128-bit registers on x64):
//   - micro-kernel: a 4 x 8 tile of C in 8 f32x4 accumulators. Per k step:
//     load one row of the B panel (2 x f32x4) and the 4 packed A values
//     (1 x f32x4), broadcast each A lane with a shuffle, 8 mul + 8 add (wasm
//     SIMD has no FMA). 12 live registers: V8 keeps it all in registers and
//     the loop is bound by the machine's vector mul + add issue rate (2 FP
//     ops per cycle on the x86 cores here). In V8's code for the other
//     shapes tried, 4 x 12, 4 x 16, 6 x 8 and 8 x 8 spill accumulators to
//     the stack in the inner loop, and so does a 4-step source unroll; 5 x 8
//     and 2 x 16 do not but are bound by the same rate. Broadcasting A with
//     v128.load32_splat instead of shuffles gives an equally clean loop.
//   - B is packed into column panels of NR = 8 columns: panel p (columns
//     [8p, 8p + 8)) is a (K x 8) row-major block at data[p*K*8], the columns
//     past N of the last panel zero-filled. The rows [k0, k0 + kc) of a panel
//     are then the contiguous run data[p*K*8 + k0*8, ... + kc*8): one layout
//     whatever the k-blocking, so pack_b needs no blocking choice. This is
//     PackedB::data.
//   - A is packed per call (M*K floats, thread_local, only grows): for each
//     k-block, tiles of 4 rows with the 4 values of one k step adjacent
//     (pack_a). Packing makes every kernel load a constant offset from one
//     pointer, and handles a transposed A for free.
//   - loops, outermost first: k-blocks of KC = 256 (the 256 x 8 panel block,
//     8 KiB, stays in L1 while the row tiles pass over it), m-blocks of
//     MC = 256 rows (256 KiB of packed A stay in L2), panels, 4-row tiles.
//   - edge tiles: the last 1-3 rows use the same kernel instantiated for
//     that many rows (no wasted work for M = 1); columns past N are computed
//     from the zero padding into a stack tile, and only valid ones stored.
//   - threads: panels (or 4-row tiles when there are few panels) are split
//     over default_pool() when the product is big enough to pay for the
//     hand-off (kMinParallelFlops); with 1 thread the loops run directly,
//     with no std::function and no pool call. K is never split, so the
//     result does not depend on the thread count.
// gemm_fast packs B on the fly, block by block (at most NCP panels x KC
// rows), into a thread_local buffer that only grows; each thread packs only
// the panels it computes. For at most 4 rows (M <= 4, the GEMV shape) with
// B not transposed, B is not packed but streamed in place a row at a time
// (stream_rows): each element of B is used once per row of A, so packing
// would only add a pass over B.
#ifdef __EMSCRIPTEN__

#include <wasm_simd128.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <vector>

#include "wordlight/gemm.h"
#include "wordlight/op_profile.h"
#include "wordlight/thread_pool.h"

namespace wordlight {
namespace {

constexpr int MR = 4;       // rows of C per micro-tile: one f32x4 of packed A per k step
constexpr int NV = 2;       // f32x4 vectors per micro-tile row
constexpr int NR = 4 * NV;  // columns per micro-tile = packed panel width
constexpr int KC = 256;     // k-block: the kc x NR panel block (8 KiB) stays in L1
constexpr int MC = 256;     // m-block: MC x KC floats of packed A (256 KiB) stay in L2
constexpr int NCP = 48;     // gemm_fast packs at most this many panels at a time (384 KiB)
static_assert(MR == 4, "the kernel broadcasts the lanes of one f32x4 of packed A");

// Products below this many flops (2*M*N*K) run on one thread: a hand-off to
// the pool costs a few microseconds (more when its workers sleep).
constexpr double kMinParallelFlops = 1 << 20;
// Each chunk handed to a thread should carry at least this much work.
constexpr double kMinChunkFlops = 1 << 18;

#define WL_INLINE inline __attribute__((always_inline))

// Whether compute_block may hand its blocks to the relaxed-SIMD kernel.
std::atomic<bool> relaxed_enabled{true};

}  // namespace
}  // namespace wordlight

#ifdef WORDLIGHT_RELAXED_KERNEL
// Imports from the JS library that carries the relaxed-SIMD kernel
// (core/src/ops/wasm_relaxed/make_library.js): 1 if it ran the block (or is
// available), 0 where this thread's JS engine lacks relaxed SIMD.
extern "C" int wl_relaxed_compute_block(int m0, int m1, int p0, int p1, int N, int kc, const float* ap,
                                        const float* bp, int pstride, float* C, int ldc, float alpha, float beta);
extern "C" int wl_relaxed_available();

namespace {
// Whether this thread's JS engine runs the kernel: asked once per thread, so
// an engine without relaxed SIMD pays no JS call per block.
bool relaxed_here() {
  thread_local int available = -1;
  if (available < 0) available = wl_relaxed_available() ? 1 : 0;
  return available == 1;
}
}  // namespace
#endif

namespace wordlight {
namespace {

size_t panels_of(int N) { return static_cast<size_t>((N + NR - 1) / NR); }

// C (M x N) = beta * C, or 0 where beta == 0 (old contents ignored).
void scale_c(int M, int N, float beta, float* C, int ldc) {
  for (int i = 0; i < M; ++i) {
    float* c = C + static_cast<size_t>(i) * ldc;
    if (beta == 0.f)
      std::fill(c, c + N, 0.f);
    else if (beta != 1.f)
      for (int j = 0; j < N; ++j) c[j] *= beta;
  }
}

// dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols, by 4x4 blocks.
void transpose(const float* src, int lds, int rows, int cols, float* dst, int ldd) {
  int r = 0;
  for (; r + 4 <= rows; r += 4) {
    const float* s = src + static_cast<size_t>(r) * lds;
    int c = 0;
    for (; c + 4 <= cols; c += 4) {
      v128_t r0 = wasm_v128_load(s + c), r1 = wasm_v128_load(s + lds + c);
      v128_t r2 = wasm_v128_load(s + 2 * static_cast<size_t>(lds) + c);
      v128_t r3 = wasm_v128_load(s + 3 * static_cast<size_t>(lds) + c);
      v128_t t0 = wasm_i32x4_shuffle(r0, r1, 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(r0, r1, 2, 6, 3, 7);
      v128_t t2 = wasm_i32x4_shuffle(r2, r3, 0, 4, 1, 5), t3 = wasm_i32x4_shuffle(r2, r3, 2, 6, 3, 7);
      float* d = dst + static_cast<size_t>(c) * ldd + r;
      wasm_v128_store(d, wasm_i32x4_shuffle(t0, t2, 0, 1, 4, 5));
      wasm_v128_store(d + ldd, wasm_i32x4_shuffle(t0, t2, 2, 3, 6, 7));
      wasm_v128_store(d + 2 * static_cast<size_t>(ldd), wasm_i32x4_shuffle(t1, t3, 0, 1, 4, 5));
      wasm_v128_store(d + 3 * static_cast<size_t>(ldd), wasm_i32x4_shuffle(t1, t3, 2, 3, 6, 7));
    }
    for (; c < cols; ++c)
      for (int i = 0; i < 4; ++i) dst[static_cast<size_t>(c) * ldd + r + i] = s[static_cast<size_t>(i) * lds + c];
  }
  for (; r < rows; ++r)
    for (int c = 0; c < cols; ++c)
      dst[static_cast<size_t>(c) * ldd + r] = src[static_cast<size_t>(r) * lds + c];
}

// Packs rows [k0, k0+kc) of panels [p0, p1) of op(B) (K x N): panel p goes to
// dst + (p - p0) * pstride, its row k at + k * NR, columns past N set to 0.
void pack_panels(bool trans_b, const float* B, int ldb, int N, int k0, int kc, size_t p0, size_t p1, float* dst,
                 size_t pstride) {
  for (size_t p = p0; p < p1; ++p) {
    float* d = dst + (p - p0) * pstride;
    const int col = static_cast<int>(p) * NR;
    const int cols = std::min(NR, N - col);
    if (!trans_b) {
      const float* s = B + static_cast<size_t>(k0) * ldb + col;
      if (cols == NR) {
        for (int k = 0; k < kc; ++k, s += ldb, d += NR)
          for (int v = 0; v < NV; ++v) wasm_v128_store(d + 4 * v, wasm_v128_load(s + 4 * v));
      } else {
        for (int k = 0; k < kc; ++k, s += ldb, d += NR) {
          int j = 0;
          for (; j < cols; ++j) d[j] = s[j];
          for (; j < NR; ++j) d[j] = 0.f;
        }
      }
    } else {
      // op(B)(k, j) = B[j * ldb + k]: the panel is a transposed (cols x kc) block.
      transpose(B + static_cast<size_t>(col) * ldb + k0, ldb, cols, kc, d, NR);
      if (cols < NR)
        for (int k = 0; k < kc; ++k)
          for (int j = cols; j < NR; ++j) d[static_cast<size_t>(k) * NR + j] = 0.f;
    }
  }
}

// acc (R x NR) -> C (R x cols): C = alpha * acc + beta * C (beta == 0: C ignored).
template <int R>
WL_INLINE void store_tile(v128_t (&acc)[R][NV], float* c, int ldc, int cols, float alpha, float beta) {
  if (alpha != 1.f) {
    const v128_t va = wasm_f32x4_splat(alpha);
#pragma clang loop unroll(full)
    for (int r = 0; r < R; ++r)
#pragma clang loop unroll(full)
      for (int v = 0; v < NV; ++v) acc[r][v] = wasm_f32x4_mul(acc[r][v], va);
  }
  if (cols == NR) {
    const v128_t vb = wasm_f32x4_splat(beta);
#pragma clang loop unroll(full)
    for (int r = 0; r < R; ++r) {
      float* cr = c + static_cast<size_t>(r) * ldc;
#pragma clang loop unroll(full)
      for (int v = 0; v < NV; ++v) {
        v128_t x = acc[r][v];
        if (beta == 1.f)
          x = wasm_f32x4_add(x, wasm_v128_load(cr + 4 * v));
        else if (beta != 0.f)
          x = wasm_f32x4_add(x, wasm_f32x4_mul(vb, wasm_v128_load(cr + 4 * v)));
        wasm_v128_store(cr + 4 * v, x);
      }
    }
  } else {
    float tile[R][NR];
#pragma clang loop unroll(full)
    for (int r = 0; r < R; ++r)
#pragma clang loop unroll(full)
      for (int v = 0; v < NV; ++v) wasm_v128_store(&tile[r][4 * v], acc[r][v]);
    for (int r = 0; r < R; ++r) {
      float* cr = c + static_cast<size_t>(r) * ldc;
      if (beta == 0.f)
        for (int j = 0; j < cols; ++j) cr[j] = tile[r][j];
      else
        for (int j = 0; j < cols; ++j) cr[j] = tile[r][j] + beta * cr[j];
    }
  }
}

// Packs rows [i0, i0 + rows) x columns [k0, k0 + kc) of op(A) into MR-row
// micro-panels: the tile of rows i0 + t*MR .. (R rows: MR, fewer for the
// last) starts at dst + t*MR*kc and holds element (r, k) at [k*R + r], so
// the kernel reads the R values of one k step from consecutive floats.
void pack_a(bool trans_a, const float* A, int lda, int i0, int rows, int k0, int kc, float* dst) {
  for (int t = 0; t < rows; t += MR) {
    const int R = std::min(MR, rows - t);
    float* d = dst + static_cast<size_t>(t) * kc;
    if (!trans_a) {
      // op(A)(i, k) = A[i*lda + k]: a transposed (R x kc) block.
      transpose(A + static_cast<size_t>(i0 + t) * lda + k0, lda, R, kc, d, R);
    } else {
      // op(A)(i, k) = A[k*lda + i]: R consecutive floats per k.
      const float* s = A + static_cast<size_t>(k0) * lda + i0 + t;
      if (R == 4) {
        for (int k = 0; k < kc; ++k, s += lda, d += 4) wasm_v128_store(d, wasm_v128_load(s));
      } else {
        for (int k = 0; k < kc; ++k, s += lda, d += R)
          for (int r = 0; r < R; ++r) d[r] = s[r];
      }
    }
  }
}

WL_INLINE v128_t lane_splat(v128_t v, int r) {
  switch (r) {
    case 0: return wasm_i32x4_shuffle(v, v, 0, 0, 0, 0);
    case 1: return wasm_i32x4_shuffle(v, v, 1, 1, 1, 1);
    case 2: return wasm_i32x4_shuffle(v, v, 2, 2, 2, 2);
    default: return wasm_i32x4_shuffle(v, v, 3, 3, 3, 3);
  }
}

// All of op(A) (M x K), k-block by k-block: the block of columns
// [k0, k0 + kc) at dst + M*k0, laid out by pack_a (tile of rows [i, i + R)
// at + i*kc). M*K floats in all. Packed once per call and shared read-only
// by the threads.
void pack_a_all(bool trans_a, const float* A, int lda, int M, int K, float* dst) {
  for (int k0 = 0; k0 < K; k0 += KC)
    pack_a(trans_a, A, lda, 0, M, k0, std::min(KC, K - k0), dst + static_cast<size_t>(M) * k0);
}

// One R x NR tile of C over a k-block of length kc:
//   a: packed A micro-panel, R floats per k step
//   b: packed B panel, NR floats per k step
template <int R>
WL_INLINE void kernel_tile(int kc, const float* a, const float* b, float* c, int ldc, int cols, float alpha,
                           float beta) {
  v128_t acc[R][NV];
#pragma clang loop unroll(full)
  for (int r = 0; r < R; ++r)
#pragma clang loop unroll(full)
    for (int v = 0; v < NV; ++v) acc[r][v] = wasm_f32x4_splat(0.f);

  // One k step. The MR values of packed A come as one vector whose lanes are
  // broadcast by shuffles (they issue on a port the FP mul/add do not use);
  // tails of fewer rows broadcast scalars.
  auto step = [&](const float* ak, const float* bk) {
    v128_t bv[NV];
#pragma clang loop unroll(full)
    for (int v = 0; v < NV; ++v) bv[v] = wasm_v128_load(bk + 4 * v);
    const v128_t a4 = R == 4 ? wasm_v128_load(ak) : wasm_f32x4_splat(0.f);
#pragma clang loop unroll(full)
    for (int r = 0; r < R; ++r) {
      const v128_t av = R == 4 ? lane_splat(a4, r) : wasm_f32x4_splat(ak[r]);
#pragma clang loop unroll(full)
      for (int v = 0; v < NV; ++v) acc[r][v] = wasm_f32x4_add(acc[r][v], wasm_f32x4_mul(av, bv[v]));
    }
  };
  // Not unrolled here: V8 unrolls this small loop itself, and a 4x source
  // unroll made LLVM hoist the loads of four steps, which V8 then spilled.
#pragma clang loop unroll(disable)
  for (int k = 0; k < kc; ++k, a += R, b += NR) step(a, b);
  store_tile<R>(acc, c, ldc, cols, alpha, beta);
}

// The tail rows (fewer than MR) of a row block, dispatched to kernel_tile<R>.
template <int R>
WL_INLINE void tail_tile(int rows, int kc, const float* a, const float* b, float* c, int ldc, int cols, float alpha,
                         float beta) {
  if constexpr (R > 0) {
    if (rows == R)
      kernel_tile<R>(kc, a, b, c, ldc, cols, alpha, beta);
    else
      tail_tile<R - 1>(rows, kc, a, b, c, ldc, cols, alpha, beta);
  }
}

// Per-thread scratch that only grows: op(A) packed by every call (on the
// calling thread), B blocks packed by gemm_fast (on each thread).
struct Scratch {
  std::vector<float> a, b;
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}
float* grow(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

// C rows [m0, m1) x panels [p0, p1) over one k-block of length kc.
//   ap: this k-block of the packed A (see pack_a_all): the tile of rows
//       [i, i + MR) at ap + i*kc
//   bp: panel p0 at this k-block; panel p at bp + (p - p0) * pstride
//   C:  C at row 0, column 0; beta applied as given (1 for later k-blocks)
void compute_block(int m0, int m1, size_t p0, size_t p1, int N, int kc, const float* ap, const float* bp,
                   size_t pstride, float* C, int ldc, float alpha, float beta) {
#ifdef WORDLIGHT_RELAXED_KERNEL
  // The same block by the relaxed-SIMD kernel where this thread has it (one
  // call into the kernel module per block, through a JS import).
  if (relaxed_enabled.load(std::memory_order_relaxed) && relaxed_here()) {
    wl_relaxed_compute_block(m0, m1, static_cast<int>(p0), static_cast<int>(p1), N, kc, ap, bp,
                             static_cast<int>(pstride), C, ldc, alpha, beta);
    return;
  }
#endif
  for (int i0 = m0; i0 < m1; i0 += MC) {
    const int i1 = std::min(m1, i0 + MC);
    for (size_t p = p0; p < p1; ++p) {
      const float* b = bp + (p - p0) * pstride;
      const int col = static_cast<int>(p) * NR;
      const int cols = std::min(NR, N - col);
      int i = i0;
      for (; i + MR <= i1; i += MR)
        kernel_tile<MR>(kc, ap + static_cast<size_t>(i) * kc, b, C + static_cast<size_t>(i) * ldc + col, ldc, cols,
                        alpha, beta);
      if (i < i1)
        tail_tile<MR - 1>(i1 - i, kc, ap + static_cast<size_t>(i) * kc, b, C + static_cast<size_t>(i) * ldc + col,
                          ldc, cols, alpha, beta);
    }
  }
}

// C (R x columns [n0, n1)) for R <= MR rows with B not transposed, B read in
// place a row at a time: each element of B is used once per row of A, so
// instead of packing B (which reads and writes it once more), whole rows of
// B are streamed in order, which the hardware prefetcher follows. Sums for
// NB columns at a time stay in L1 (8 KiB); U rows of B per pass keep U*R
// broadcast values of A in registers.
//   ap: the packed A, for R rows simply op(A)^T: element (r, k) at ap[k*R + r]
template <int R>
void stream_rows(int K, int n0, int n1, const float* ap, const float* B, int ldb, float* C, int ldc, float alpha,
                 float beta) {
  constexpr int U = R <= 2 ? 4 : 2;
  constexpr int NB = 2048 / R / 4 * 4;
  alignas(16) float t[R][NB];
  for (int j0 = n0; j0 < n1; j0 += NB) {
    const int nb = std::min(NB, n1 - j0), nv = nb / 4 * 4;
    for (int r = 0; r < R; ++r) std::fill(t[r], t[r] + nb, 0.f);
    const float* brow = B + j0;
    int k = 0;
    for (; k + U <= K; k += U, brow += static_cast<size_t>(U) * ldb) {
      v128_t a[U][R];
#pragma clang loop unroll(full)
      for (int u = 0; u < U; ++u)
#pragma clang loop unroll(full)
        for (int r = 0; r < R; ++r) a[u][r] = wasm_f32x4_splat(ap[static_cast<size_t>(k + u) * R + r]);
      for (int j = 0; j < nv; j += 4) {
        v128_t bv[U];
#pragma clang loop unroll(full)
        for (int u = 0; u < U; ++u) bv[u] = wasm_v128_load(brow + static_cast<size_t>(u) * ldb + j);
#pragma clang loop unroll(full)
        for (int r = 0; r < R; ++r) {
          v128_t sum = wasm_v128_load(&t[r][j]);
#pragma clang loop unroll(full)
          for (int u = 0; u < U; ++u) sum = wasm_f32x4_add(sum, wasm_f32x4_mul(a[u][r], bv[u]));
          wasm_v128_store(&t[r][j], sum);
        }
      }
      for (int j = nv; j < nb; ++j)
        for (int r = 0; r < R; ++r)
          for (int u = 0; u < U; ++u)
            t[r][j] += ap[static_cast<size_t>(k + u) * R + r] * brow[static_cast<size_t>(u) * ldb + j];
    }
    for (; k < K; ++k, brow += ldb)
      for (int r = 0; r < R; ++r) {
        const float a = ap[static_cast<size_t>(k) * R + r];
        const v128_t av = wasm_f32x4_splat(a);
        int j = 0;
        for (; j < nv; j += 4)
          wasm_v128_store(&t[r][j],
                          wasm_f32x4_add(wasm_v128_load(&t[r][j]), wasm_f32x4_mul(av, wasm_v128_load(brow + j))));
        for (; j < nb; ++j) t[r][j] += a * brow[j];
      }
    for (int r = 0; r < R; ++r) {
      float* c = C + static_cast<size_t>(r) * ldc + j0;
      if (beta == 0.f)
        for (int j = 0; j < nb; ++j) c[j] = alpha * t[r][j];
      else
        for (int j = 0; j < nb; ++j) c[j] = alpha * t[r][j] + beta * c[j];
    }
  }
}

void stream_rows_any(int R, int K, int n0, int n1, const float* ap, const float* B, int ldb, float* C, int ldc,
                     float alpha, float beta) {
  switch (R) {
    case 1: return stream_rows<1>(K, n0, n1, ap, B, ldb, C, ldc, alpha, beta);
    case 2: return stream_rows<2>(K, n0, n1, ap, B, ldb, C, ldc, alpha, beta);
    case 3: return stream_rows<3>(K, n0, n1, ap, B, ldb, C, ldc, alpha, beta);
    default: return stream_rows<4>(K, n0, n1, ap, B, ldb, C, ldc, alpha, beta);
  }
}

// Runs body(m0, m1, p0, p1) over all of C, split across the pool when the
// product is big enough: over panels when there are enough of them for
// every thread, else over MR-row tiles.
template <class Body>
void split_work(int M, int N, int K, const Body& body) {
  const size_t np = panels_of(N);
  ThreadPool& pool = default_pool();
  const double flops = 2.0 * M * N * K;
  const int threads = pool.threads();
  if (threads <= 1 || flops < kMinParallelFlops) {
    body(0, M, size_t(0), np);
    return;
  }
  const size_t mt = static_cast<size_t>((M + MR - 1) / MR);
  // The tasks capture one pointer, which std::function stores without
  // allocating.
  struct Split {
    const Body* body;
    int M;
    size_t np;
  } split{&body, M, np};
  if (np >= 2 * static_cast<size_t>(threads) || np >= mt) {
    const double per_panel = 2.0 * M * K * NR;
    const size_t grain = static_cast<size_t>(std::max(1.0, kMinChunkFlops / per_panel));
    pool.parallel_for(np, grain, [s = &split](size_t b, size_t e) { (*s->body)(0, s->M, b, e); });
  } else {
    const double per_tile = 2.0 * MR * N * K;
    const size_t grain = static_cast<size_t>(std::max(1.0, kMinChunkFlops / per_tile));
    pool.parallel_for(mt, grain, [s = &split](size_t b, size_t e) {
      (*s->body)(static_cast<int>(b) * MR, std::min(s->M, static_cast<int>(e) * MR), size_t(0), s->np);
    });
  }
}

}  // namespace

PackedB pack_b(bool trans_b, int K, int N, const float* B, int ldb) {
  PackedB p;
  p.K = K;
  p.N = N;
  if (K <= 0 || N <= 0) return p;
  const size_t np = panels_of(N), pstride = static_cast<size_t>(K) * NR;
  p.data.resize(np * pstride);
  pack_panels(trans_b, B, ldb, N, 0, K, 0, np, p.data.data(), pstride);
  return p;
}

void gemm_packed(bool trans_a, int M, float alpha, const float* A, int lda, const PackedB& B, float beta, float* C,
                 int ldc) {
  const int N = B.N, K = B.K;
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.f) return scale_c(M, N, beta, C, ldc);
  float* ap = grow(scratch().a, static_cast<size_t>(M) * K);
  {
    OpScope prof("gemm.pack_a", 0, M, K);
    pack_a_all(trans_a, A, lda, M, K, ap);
  }
  const float* data = B.data.data();
  const size_t pstride = static_cast<size_t>(K) * NR;
  split_work(M, N, K, [&](int m0, int m1, size_t p0, size_t p1) {
    for (int k0 = 0; k0 < K; k0 += KC)
      compute_block(m0, m1, p0, p1, N, std::min(KC, K - k0), ap + static_cast<size_t>(M) * k0,
                    data + p0 * pstride + static_cast<size_t>(k0) * NR, pstride, C, ldc, alpha, k0 == 0 ? beta : 1.f);
  });
}

void gemm_fast(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
               int ldb, float beta, float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.f) return scale_c(M, N, beta, C, ldc);
  float* ap = grow(scratch().a, static_cast<size_t>(M) * K);
  {
    OpScope prof("gemm.pack_a", 0, M, K);
    pack_a_all(trans_a, A, lda, M, K, ap);
  }
  if (!trans_b && M <= MR) {
    split_work(M, N, K, [&](int, int, size_t p0, size_t p1) {
      stream_rows_any(M, K, static_cast<int>(p0) * NR, std::min(N, static_cast<int>(p1) * NR), ap, B, ldb, C, ldc,
                      alpha, beta);
    });
    return;
  }
  split_work(M, N, K, [&](int m0, int m1, size_t p0, size_t p1) {
    for (size_t q0 = p0; q0 < p1; q0 += NCP) {
      const size_t q1 = std::min(p1, q0 + NCP);
      for (int k0 = 0; k0 < K; k0 += KC) {
        const int kc = std::min(KC, K - k0);
        const size_t pstride = static_cast<size_t>(kc) * NR;
        float* t = grow(scratch().b, (q1 - q0) * pstride);
        {
          OpScope prof("gemm.pack_b", 0, kc, static_cast<int64_t>(q1 - q0) * NR);
          pack_panels(trans_b, B, ldb, N, k0, kc, q0, q1, t, pstride);
        }
        compute_block(m0, m1, q0, q1, N, kc, ap + static_cast<size_t>(M) * k0, t, pstride, C, ldc, alpha,
                      k0 == 0 ? beta : 1.f);
      }
    }
  });
}

bool set_gemm_relaxed(bool on) { return relaxed_enabled.exchange(on); }

bool gemm_relaxed_active() {
#ifdef WORDLIGHT_RELAXED_KERNEL
  return relaxed_enabled.load() && relaxed_here();
#else
  return false;
#endif
}

const char* gemm_relaxed_status() {
#ifdef WORDLIGHT_RELAXED_KERNEL
  if (!relaxed_enabled.load()) return "turned off (set_gemm_relaxed(false))";
  return relaxed_here() ? "active" : "this JS engine does not validate relaxed SIMD";
#else
  return "this build has no relaxed-SIMD kernel (WORDLIGHT_RELAXED_SIMD=OFF)";
#endif
}

const char* gemm_fast_name() { return gemm_relaxed_active() ? "wasm-relaxed-simd" : "wasm-simd128"; }

}  // namespace wordlight

#endif  // __EMSCRIPTEN__
