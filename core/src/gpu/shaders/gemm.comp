#version 450
// C = alpha op(A) op(B) (+ C) (+ bias), strided and batched (see GemmArgs in
// wordlight/gpu.h). 64 x 64 output tile per workgroup of 16 x 16 threads,
// each thread 4 x 4 outputs; K in steps of 16 through shared memory. Tiles
// past the matrix edge load zeros, so any M, N, K works.
// b0: A, b1: B, b2: C, b3: bias
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 16, local_size_y = 16) in;
#include "common.glsl"
layout(push_constant) uniform P {
  int M, N, K, inner;
  int a_off, a_sb, a_sh, a_sr, a_sc;
  int b_off, b_sb, b_sh, b_sr, b_sc;
  int c_off, c_sb, c_sh, c_sr, c_sc;
  int bias_off, flags;  // 1: bias, 2: accumulate
  float alpha;
} p;
const int BM = 64, BN = 64, BK = 16;
shared float As[BK][BM + 1];
shared float Bs[BK][BN + 1];
void main() {
  const int tx = int(gl_LocalInvocationID.x), ty = int(gl_LocalInvocationID.y);
  const int tid = ty * 16 + tx;
  const int n0 = int(gl_WorkGroupID.x) * BN, m0 = int(gl_WorkGroupID.y) * BM;
  const int z = int(gl_WorkGroupID.z), zb = z / p.inner, zh = z % p.inner;
  const int abase = p.a_off + zb * p.a_sb + zh * p.a_sh;
  const int bbase = p.b_off + zb * p.b_sb + zh * p.b_sh;
  const int cbase = p.c_off + zb * p.c_sb + zh * p.c_sh;
  float acc[4][4];
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) acc[i][j] = 0.0;
  for (int k0 = 0; k0 < p.K; k0 += BK) {
    for (int e = 0; e < 4; ++e) {
      const int l = tid + 256 * e;
      int m, k;
      if (p.a_sc == 1) { k = l % BK; m = l / BK; } else { m = l % BM; k = l / BM; }
      const int gm = m0 + m, gk = k0 + k;
      As[k][m] = (gm < p.M && gk < p.K) ? b0[abase + gm * p.a_sr + gk * p.a_sc] : 0.0;
      int n;
      if (p.b_sc == 1) { n = l % BN; k = l / BN; } else { k = l % BK; n = l / BK; }
      const int gn = n0 + n, gk2 = k0 + k;
      Bs[k][n] = (gn < p.N && gk2 < p.K) ? b1[bbase + gk2 * p.b_sr + gn * p.b_sc] : 0.0;
    }
    barrier();
    for (int k = 0; k < BK; ++k) {
      float a[4], b[4];
      for (int i = 0; i < 4; ++i) a[i] = As[k][ty + 16 * i];
      for (int j = 0; j < 4; ++j) b[j] = Bs[k][tx + 16 * j];
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) acc[i][j] = fma(a[i], b[j], acc[i][j]);
    }
    barrier();
  }
  for (int i = 0; i < 4; ++i) {
    const int m = m0 + ty + 16 * i;
    if (m >= p.M) continue;
    for (int j = 0; j < 4; ++j) {
      const int n = n0 + tx + 16 * j;
      if (n >= p.N) continue;
      const int at = cbase + m * p.c_sr + n * p.c_sc;
      float v = p.alpha * acc[i][j];
      if ((p.flags & 1) != 0) v += b3[p.bias_off + n];
      if ((p.flags & 2) != 0) v += b2[at];
      b2[at] = v;
    }
  }
}
