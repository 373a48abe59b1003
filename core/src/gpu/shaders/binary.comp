#version 450
// Add / multiply with numpy broadcasting, shapes right-aligned to rank r of
// the output y (dims yd); as, bs: the element strides of a and b per output
// dim (0 where that operand broadcasts).
// mode 0 forward: b2 y = b0 a (op) b1 b, one thread per output element.
// mode 1 backward of a (2: of b): b3 gx += sum over the dims where x
//   broadcasts of gy (b2) * (mul ? the other operand : 1), one thread per
//   element of x; n = numel(x), xmask: bit d set where x broadcasts.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 256) in;
#include "common.glsl"
layout(push_constant) uniform P {
  int r, n, op, mode, xmask;
  int yd[6];
  int as_[6];
  int bs_[6];
} p;
void main() {
  const int stride = int(gl_NumWorkGroups.x) * 256;
  for (int e = int(gl_GlobalInvocationID.x); e < p.n; e += stride) {
    if (p.mode == 0) {
      int rem = e, ia = 0, ib = 0;
      for (int d = p.r - 1; d >= 0; --d) {
        const int c = rem % p.yd[d];
        rem /= p.yd[d];
        ia += c * p.as_[d];
        ib += c * p.bs_[d];
      }
      b2[e] = p.op == 0 ? b0[ia] + b1[ib] : b0[ia] * b1[ib];
      continue;
    }
    // coordinates of x's element e over x's own dims (1 where it broadcasts)
    int xc[6];
    int rem = e, reps = 1;
    for (int d = p.r - 1; d >= 0; --d) {
      const bool bc = ((p.xmask >> d) & 1) != 0;
      const int dim = bc ? 1 : p.yd[d];
      xc[d] = rem % dim;
      rem /= dim;
      if (bc) reps *= p.yd[d];
    }
    float s = 0.0;
    for (int k = 0; k < reps; ++k) {
      int kr = k, iy = 0, io = 0, ys = 1;
      for (int d = p.r - 1; d >= 0; --d) {
        int c = xc[d];
        if (((p.xmask >> d) & 1) != 0) { c = kr % p.yd[d]; kr /= p.yd[d]; }
        iy += c * ys;
        ys *= p.yd[d];
        io += c * (p.mode == 1 ? p.bs_[d] : p.as_[d]);
      }
      const float g = b2[iy];
      s += p.op == 0 ? g : g * (p.mode == 1 ? b1[io] : b0[io]);
    }
    b3[e] += s;
  }
}
