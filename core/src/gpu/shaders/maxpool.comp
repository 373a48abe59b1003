#version 450
// Max pooling along the sequence: x (B, T, C) -> y (B, To, C), windows of
// `window` every `stride`; argmax (B, To, C) int32: the winning t (first on
// ties; a NaN wins its window, as the CPU op).
// mode 0 forward: b0 x, b1 y, i3 argmax; one thread per output.
// mode 1 backward: b1 gy, b0 gx += at the winners (i3), one thread per
//   (b, c) walking the outputs in order (overlapping windows do not race).
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 256) in;
#include "common.glsl"
layout(push_constant) uniform P { int B, T, C, window, stride, To, mode; } p;
void main() {
  const int gstride = int(gl_NumWorkGroups.x) * 256;
  if (p.mode == 0) {
    for (int e = int(gl_GlobalInvocationID.x); e < p.B * p.To * p.C; e += gstride) {
      const int c = e % p.C, t = (e / p.C) % p.To, b = e / (p.C * p.To);
      const int t0 = t * p.stride;
      int best = t0;
      float m = b0[(b * p.T + t0) * p.C + c];
      for (int j = 1; j < p.window; ++j) {
        const float v = b0[(b * p.T + t0 + j) * p.C + c];
        if (v > m || isnan(v)) { m = v; best = t0 + j; }
      }
      b1[e] = m;
      i3[e] = best;
    }
  } else {
    for (int e = int(gl_GlobalInvocationID.x); e < p.B * p.C; e += gstride) {
      const int c = e % p.C, b = e / p.C;
      for (int t = 0; t < p.To; ++t) {
        const int o = (b * p.To + t) * p.C + c;
        b0[(b * p.T + i3[o]) * p.C + c] += b1[o];
      }
    }
  }
}
