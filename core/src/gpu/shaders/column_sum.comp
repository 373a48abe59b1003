#version 450
// b1[c] += sum_r b0[r * C + c]: one thread per column.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 64) in;
#include "common.glsl"
layout(push_constant) uniform P { int R, C; } p;
void main() {
  const int stride = int(gl_NumWorkGroups.x) * 64;
  for (int c = int(gl_GlobalInvocationID.x); c < p.C; c += stride) {
    float s = 0.0;
    for (int r = 0; r < p.R; ++r) s += b0[r * p.C + c];
    b1[c] += s;
  }
}
