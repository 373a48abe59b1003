#version 450
// LayerNorm over rows of C, one workgroup per row (strided).
// mode 0 forward: b0 x, b1 gamma, b2 beta (flag 1), b3 y, b4 mean, b5 rstd.
// mode 1 backward of x: b0 x, b1 gamma, b4 mean, b5 rstd, b2 gy, b3 gx (+=):
//   gx += rstd (g - mean(g) - xhat mean(g xhat)), g = gy gamma.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 128) in;
#include "common.glsl"
#include "reduce.glsl"
layout(push_constant) uniform P { int R, C, mode, flags; float eps; } p;
void main() {
  const int t = int(gl_LocalInvocationID.x);
  for (int row = int(gl_WorkGroupID.x); row < p.R; row += int(gl_NumWorkGroups.x)) {
    const int base = row * p.C;
    if (p.mode == 0) {
      float s = 0.0;
      for (int j = t; j < p.C; j += 128) s += b0[base + j];
      const float mean = wg_sum(s) / float(p.C);
      float v = 0.0;
      for (int j = t; j < p.C; j += 128) { const float d = b0[base + j] - mean; v += d * d; }
      const float rstd = inversesqrt(wg_sum(v) / float(p.C) + p.eps);
      for (int j = t; j < p.C; j += 128) {
        float y = (b0[base + j] - mean) * rstd * b1[j];
        if ((p.flags & 1) != 0) y += b2[j];
        b3[base + j] = y;
      }
      if (t == 0) { b4[row] = mean; b5[row] = rstd; }
    } else {
      const float mean = b4[row], rstd = b5[row];
      float s1 = 0.0, s2 = 0.0;
      for (int j = t; j < p.C; j += 128) {
        const float g = b2[base + j] * b1[j], xh = (b0[base + j] - mean) * rstd;
        s1 += g;
        s2 += g * xh;
      }
      s1 = wg_sum(s1) / float(p.C);
      s2 = wg_sum(s2) / float(p.C);
      for (int j = t; j < p.C; j += 128) {
        const float g = b2[base + j] * b1[j], xh = (b0[base + j] - mean) * rstd;
        b3[base + j] += rstd * (g - s1 - xh * s2);
      }
    }
  }
}
