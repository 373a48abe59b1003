#version 450
// LRP rules element-wise (graph.h's LrpOptions), n elements:
//   mode 0: b2 = b1 * b0 / (b0 + eps sign b0)   the epsilon rule's scaled G: b0 y, b1 G(y) (eps 0: b2 = b1)
//   mode 1: b3 += b2 * (b0 != 0 ? b1 / b0 : d0) the identity rule: b0 x, b1 y = f(x), b2 G(y), b3 G(x)
//   mode 2: b3 += b0 > 0 ? b2 : 0               the identity rule on relu
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 256) in;
#include "common.glsl"
layout(push_constant) uniform P { int n, mode; float eps, d0; } p;
void main() {
  const int stride = int(gl_NumWorkGroups.x) * 256;
  for (int i = int(gl_GlobalInvocationID.x); i < p.n; i += stride) {
    if (p.mode == 0) {
      const float y = b0[i];
      b2[i] = p.eps == 0.0 ? b1[i] : b1[i] * y / (y + (y >= 0.0 ? p.eps : -p.eps));
    } else if (p.mode == 1) {
      const float x = b0[i];
      b3[i] += b2[i] * (x != 0.0 ? b1[i] / x : p.d0);
    } else {
      b3[i] += b0[i] > 0.0 ? b2[i] : 0.0;
    }
  }
}
