#version 450
// b0 x, b1 y, n elements at offsets:
//   mode 0: y = value               (fill)
//   mode 1: y += x                  (add_to)
//   mode 2: y += value * x[x_off]   (one element broadcast: the backward of sum)
//   mode 3: y = value * x           (scale)
//   mode 4: y += value * x          (the backward of scale)
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 256) in;
#include "common.glsl"
layout(push_constant) uniform P { int n, mode, x_off, y_off; float value; } p;
void main() {
  const int stride = int(gl_NumWorkGroups.x) * 256;
  for (int i = int(gl_GlobalInvocationID.x); i < p.n; i += stride) {
    const int y = p.y_off + i;
    if (p.mode == 0) b1[y] = p.value;
    else if (p.mode == 1) b1[y] += b0[p.x_off + i];
    else if (p.mode == 2) b1[y] += p.value * b0[p.x_off];
    else if (p.mode == 3) b1[y] = p.value * b0[p.x_off + i];
    else b1[y] += p.value * b0[p.x_off + i];
  }
}
