/* The relaxed-SIMD GEMM kernel (issue 20): gemm_wasm_simd.cpp's compute_block
 * with f32x4.relaxed_madd (one fused multiply-add where the CPU has FMA)
 * instead of f32x4.mul + f32x4.add.
 *
 * Built apart from the engine, by clang-19 + wasm-ld-19 (build_kernel.sh),
 * into a module of a few KiB that imports the engine's memory and is
 * instantiated by the engine's JS (library_relaxed.js) only where
 * WebAssembly.validate accepts relaxed SIMD (Chrome/Edge 114+, node with
 * --experimental-wasm-relaxed-simd); elsewhere the engine keeps its SIMD128
 * kernel. Emscripten 3.1.6's LLVM and binaryen 108 do not know the final
 * relaxed opcodes, which is why this is a separate module, not a third build.
 *
 * Same layout as gemm_wasm_simd.cpp (read that file's comment): A packed in
 * 4-row micro-panels (R floats per k step), B in 8-column panels (8 floats
 * per k step), C row-major; beta applied as given. The code must not use
 * the shadow stack (it shares the engine's memory but has no stack of its
 * own there): no arrays, no calls; build_kernel.sh refuses a build whose
 * code touches __stack_pointer. */
#include <wasm_simd128.h>

#define NR 8
#define MR 4
#define MC 256
#define INL static inline __attribute__((always_inline))

typedef unsigned long usize;

INL v128_t fma4(v128_t a, v128_t b, v128_t c) { return wasm_f32x4_relaxed_madd(a, b, c); } /* a*b + c */

INL float lane_out(float x, float old, float beta) { return beta == 0.f ? x : x + beta * old; }

/* C[0..n) = x + beta * C (beta == 0: C ignored), n in 0..4. */
INL void store4(float* c, v128_t x, int n, float beta) {
  if (n >= 4) {
    if (beta == 1.f)
      x = wasm_f32x4_add(x, wasm_v128_load(c));
    else if (beta != 0.f)
      x = fma4(wasm_f32x4_splat(beta), wasm_v128_load(c), x);
    wasm_v128_store(c, x);
    return;
  }
  if (n > 0) c[0] = lane_out(wasm_f32x4_extract_lane(x, 0), c[0], beta);
  if (n > 1) c[1] = lane_out(wasm_f32x4_extract_lane(x, 1), c[1], beta);
  if (n > 2) c[2] = lane_out(wasm_f32x4_extract_lane(x, 2), c[2], beta);
}

INL v128_t splat_lane(v128_t v, int r) {
  switch (r) {
    case 0: return wasm_i32x4_shuffle(v, v, 0, 0, 0, 0);
    case 1: return wasm_i32x4_shuffle(v, v, 1, 1, 1, 1);
    case 2: return wasm_i32x4_shuffle(v, v, 2, 2, 2, 2);
    default: return wasm_i32x4_shuffle(v, v, 3, 3, 3, 3);
  }
}

/* One R x 8 tile of C over kc steps; R is a constant after inlining. */
#define ROW(r)                                                                         \
  if (R > r) {                                                                         \
    const v128_t av = R == 4 ? splat_lane(a4, r) : wasm_f32x4_splat(a[r]);             \
    c##r##0 = fma4(av, b0, c##r##0);                                                   \
    c##r##1 = fma4(av, b1, c##r##1);                                                   \
  }
#define OUT(r)                                                                         \
  if (R > r) {                                                                         \
    float* cr = c + (usize)(r) * ldc;                                                  \
    if (alpha != 1.f) {                                                                \
      c##r##0 = wasm_f32x4_mul(c##r##0, va);                                           \
      c##r##1 = wasm_f32x4_mul(c##r##1, va);                                           \
    }                                                                                  \
    store4(cr, c##r##0, cols >= 4 ? 4 : cols, beta);                                   \
    store4(cr + 4, c##r##1, cols >= 8 ? 4 : cols - 4, beta);                           \
  }

INL void tile(const int R, int kc, const float* a, const float* b, float* c, int ldc, int cols, float alpha,
              float beta) {
  v128_t c00 = wasm_f32x4_splat(0.f), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
#pragma clang loop unroll(disable)
  for (int k = 0; k < kc; ++k, a += R, b += NR) {
    const v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
    const v128_t a4 = R == 4 ? wasm_v128_load(a) : b0;
    ROW(0) ROW(1) ROW(2) ROW(3)
  }
  const v128_t va = wasm_f32x4_splat(alpha);
  OUT(0) OUT(1) OUT(2) OUT(3)
}

/* C rows [m0, m1) x panels [p0, p1) over one k-block of length kc; the
 * arguments of gemm_wasm_simd.cpp's compute_block. */
__attribute__((export_name("compute_block"))) void compute_block(int m0, int m1, int p0, int p1, int N, int kc,
                                                                 const float* ap, const float* bp, int pstride,
                                                                 float* C, int ldc, float alpha, float beta) {
  for (int i0 = m0; i0 < m1; i0 += MC) {
    const int i1 = m1 < i0 + MC ? m1 : i0 + MC;
    for (int p = p0; p < p1; ++p) {
      const float* b = bp + (usize)(p - p0) * (usize)pstride;
      const int col = p * NR;
      const int cols = N - col < NR ? N - col : NR;
      int i = i0;
      for (; i + MR <= i1; i += MR)
        tile(4, kc, ap + (usize)i * kc, b, C + (usize)i * ldc + col, ldc, cols, alpha, beta);
      switch (i1 - i) {
        case 3: tile(3, kc, ap + (usize)i * kc, b, C + (usize)i * ldc + col, ldc, cols, alpha, beta); break;
        case 2: tile(2, kc, ap + (usize)i * kc, b, C + (usize)i * ldc + col, ldc, cols, alpha, beta); break;
        case 1: tile(1, kc, ap + (usize)i * kc, b, C + (usize)i * ldc + col, ldc, cols, alpha, beta); break;
        default: break;
      }
    }
  }
}

/* The relaxed-SIMD ceiling for bench/gemm_bench (metric "relaxed_peak"):
 * iters steps of 10 independent f32x4.relaxed_madd chains (8 flops each),
 * as gemm_bench's muladd_loop does with mul + add. */
__attribute__((export_name("madd_peak"))) float madd_peak(int iters, float w) {
  v128_t a0 = wasm_f32x4_make(1.f, 2.f, 3.f, 4.f), a1 = wasm_f32x4_add(a0, a0), a2 = wasm_f32x4_add(a1, a0),
         a3 = wasm_f32x4_add(a2, a0), a4 = wasm_f32x4_add(a3, a0), a5 = wasm_f32x4_add(a4, a0),
         a6 = wasm_f32x4_add(a5, a0), a7 = wasm_f32x4_add(a6, a0), a8 = wasm_f32x4_add(a7, a0),
         a9 = wasm_f32x4_add(a8, a0);
  const v128_t wv = wasm_f32x4_splat(w);
#pragma clang loop unroll(disable)
  for (int it = 0; it < iters; ++it) {
    const v128_t t = a0;
    a0 = fma4(wv, a1, a0); a1 = fma4(wv, a2, a1); a2 = fma4(wv, a3, a2); a3 = fma4(wv, a4, a3);
    a4 = fma4(wv, a5, a4); a5 = fma4(wv, a6, a5); a6 = fma4(wv, a7, a6); a7 = fma4(wv, a8, a7);
    a8 = fma4(wv, a9, a8); a9 = fma4(wv, t, a9);
  }
  v128_t s = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_add(a0, a1), wasm_f32x4_add(a2, a3)),
                            wasm_f32x4_add(wasm_f32x4_add(a4, a5), wasm_f32x4_add(a6, a7)));
  s = wasm_f32x4_add(s, wasm_f32x4_add(a8, a9));
  return wasm_f32x4_extract_lane(s, 0) + wasm_f32x4_extract_lane(s, 1) + wasm_f32x4_extract_lane(s, 2) +
         wasm_f32x4_extract_lane(s, 3);
}
