#version 450
// LRP reductions, one workgroup per row of (R, C):
//   mode 0: u = b0[c] * b1[r] * b2[r, c]; b3[r, c] += u - mean(u)   LayerNorm's epsilon rule
//           (b0 gamma, b1 rstd, b2 the scaled G(y), b3 G(x))
//   mode 1: b2[slot] += sum_c b0[c] * b1[c]                          a dot product (R = 1)
//   mode 2: b2[slot] += sum_c b1 b0 e / (b0 + e), e = eps sign b0    the epsilon stabiliser's share
//           (b0 y, b1 G(y); R = 1)
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 128) in;
#include "common.glsl"
#include "reduce.glsl"
layout(push_constant) uniform P { int R, C, mode, slot; float eps; } p;
void main() {
  const int t = int(gl_LocalInvocationID.x);
  if (p.mode == 0) {
    for (int r = int(gl_WorkGroupID.x); r < p.R; r += int(gl_NumWorkGroups.x)) {
      const int o = r * p.C;
      const float rstd = b1[r];
      float part = 0.0;
      for (int c = t; c < p.C; c += 128) part += b0[c] * rstd * b2[o + c];
      const float mean = wg_sum(part) / float(p.C);
      for (int c = t; c < p.C; c += 128) b3[o + c] += b0[c] * rstd * b2[o + c] - mean;
    }
    return;
  }
  float part = 0.0;
  for (int c = t; c < p.C; c += 128) {
    const float y = b0[c], g = b1[c];
    if (p.mode == 1) {
      part += y * g;
    } else {
      const float e = y >= 0.0 ? p.eps : -p.eps;
      part += g * y * e / (y + e);
    }
  }
  const float s = wg_sum(part);
  if (t == 0) b2[p.slot] += s;
}
