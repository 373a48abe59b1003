#version 450
// LayerNorm's parameter gradients, one thread per column:
// b0 x, b4 mean, b5 rstd, b2 gy; b1 ggamma += sum_r gy xhat (flag 1),
// b3 gbeta += sum_r gy (flag 2).
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 64) in;
#include "common.glsl"
layout(push_constant) uniform P { int R, C, flags; } p;
void main() {
  const int stride = int(gl_NumWorkGroups.x) * 64;
  for (int c = int(gl_GlobalInvocationID.x); c < p.C; c += stride) {
    float sg = 0.0, sb = 0.0;
    for (int r = 0; r < p.R; ++r) {
      const float gy = b2[r * p.C + c];
      sg += gy * (b0[r * p.C + c] - b4[r]) * b5[r];
      sb += gy;
    }
    if ((p.flags & 1) != 0) b1[c] += sg;
    if ((p.flags & 2) != 0) b3[c] += sb;
  }
}
