#version 450
// i0 ids (n); mode 0 gather: b2 (n, D) = b1 table (V, D) rows (zero row for
// an id out of range); mode 1 backward: b2 gtable (V, D) += b1 gy (n, D)
// rows, one thread per column d walking the ids in order (no atomics).
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 256) in;
#include "common.glsl"
layout(push_constant) uniform P { int n, V, D, mode; } p;
void main() {
  const int stride = int(gl_NumWorkGroups.x) * 256;
  if (p.mode == 0) {
    for (int e = int(gl_GlobalInvocationID.x); e < p.n * p.D; e += stride) {
      const int t = e / p.D, d = e % p.D, id = i0[t];
      b2[e] = (id >= 0 && id < p.V) ? b1[id * p.D + d] : 0.0;
    }
  } else {
    for (int d = int(gl_GlobalInvocationID.x); d < p.D; d += stride)
      for (int t = 0; t < p.n; ++t) {
        const int id = i0[t];
        if (id >= 0 && id < p.V) b2[id * p.D + d] += b1[t * p.D + d];
      }
  }
}
