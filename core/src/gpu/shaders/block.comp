#version 450
// Copies between a block of x viewed as (outer, lx, inner) and rows
// [start, start + len) of the middle axis of y viewed as (outer, ly, inner):
//   mode 0: y[o, start + j, i] (+)= x[o, j, i]  (concat's forward, slice's backward)
//   mode 1: x[o, j, i] (+)= y[o, start + j, i]  (slice's forward, concat's backward)
// with j < lx; flag 1: accumulate. b0 x, b1 y.
// mode 2 pick: b1 y[r] (+)= b0 x[r, i3[r]] over R rows of lx (= C) columns;
// mode 3 pick backward: b0 gx[r, i3[r]] (+)= b1 gy[r].
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 256) in;
#include "common.glsl"
layout(push_constant) uniform P { int outer, lx, ly, inner, start, mode, acc; } p;
void main() {
  const int stride = int(gl_NumWorkGroups.x) * 256;
  if (p.mode >= 2) {
    for (int r = int(gl_GlobalInvocationID.x); r < p.outer; r += stride) {
      const int c = i3[r];
      if (c < 0 || c >= p.lx) {  // the caller checks indices; a bad one reads as 0
        if (p.mode == 2 && p.acc == 0) b1[r] = 0.0;
        continue;
      }
      if (p.mode == 2) b1[r] = (p.acc != 0 ? b1[r] : 0.0) + b0[r * p.lx + c];
      else b0[r * p.lx + c] += b1[r];
    }
    return;
  }
  const int n = p.outer * p.lx * p.inner;
  for (int e = int(gl_GlobalInvocationID.x); e < n; e += stride) {
    const int i = e % p.inner, j = (e / p.inner) % p.lx, o = e / (p.inner * p.lx);
    const int iy = (o * p.ly + p.start + j) * p.inner + i;
    if (p.mode == 0) b1[iy] = (p.acc != 0 ? b1[iy] : 0.0) + b0[e];
    else b0[e] = (p.acc != 0 ? b0[e] : 0.0) + b1[iy];
  }
}
