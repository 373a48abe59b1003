#version 450
// One workgroup per row of C (rows strided over the groups).
// mode 0 forward: b1 = softmax(b0) (log: log_softmax).
// mode 1 backward: b2 (+)= scale * VJP with y = b0, gy = b1:
//   softmax: y (gy - sum(gy y)); log_softmax: gy - exp(y) sum(gy).
//   accumulate or overwrite (flag 2); masked attention entries have y = 0 and
//   get 0.
// mode 2 masked attention softmax in place on b0 (B, H, T, T) scores:
//   s = scale * b0 where key j is real (i3[b * T + j] != 0, or no mask) and,
//   causal, j <= i; probability exactly 0 elsewhere; a query with no key
//   gets a zero row.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 128) in;
#include "common.glsl"
#include "reduce.glsl"
layout(push_constant) uniform P { int R, C, mode, flags, H; float scale; } p;
// flags: 1 log, 2 accumulate, 4 has mask, 8 causal
bool keep(int row, int j) {
  if (p.mode != 2) return true;
  const int T = p.C, i = row % T, b = row / (p.H * T);
  if ((p.flags & 4) != 0 && i3[b * T + j] == 0) return false;
  if ((p.flags & 8) != 0 && j > i) return false;
  return true;
}
void main() {
  const int t = int(gl_LocalInvocationID.x);
  for (int row = int(gl_WorkGroupID.x); row < p.R; row += int(gl_NumWorkGroups.x)) {
    const int base = row * p.C;
    if (p.mode == 1) {
      float s = 0.0;
      for (int j = t; j < p.C; j += 128) s += (p.flags & 1) != 0 ? b1[base + j] : b1[base + j] * b0[base + j];
      s = wg_sum(s);
      for (int j = t; j < p.C; j += 128) {
        const float y = b0[base + j], gy = b1[base + j];
        float g = (p.flags & 1) != 0 ? gy - exp(y) * s : y * (gy - s);
        g *= p.scale;
        if ((p.flags & 2) != 0) b2[base + j] += g; else b2[base + j] = g;
      }
      continue;
    }
    const float sc = p.mode == 2 ? p.scale : 1.0;
    float mx = -3.402823466e38;
    bool any = false;
    for (int j = t; j < p.C; j += 128)
      if (keep(row, j)) { mx = max(mx, sc * b0[base + j]); any = true; }
    mx = wg_max(mx);
    const float anyf = wg_max(any ? 1.0 : 0.0);
    float s = 0.0;
    for (int j = t; j < p.C; j += 128)
      if (keep(row, j)) s += exp(sc * b0[base + j] - mx);
    s = wg_sum(s);
    if (p.mode == 2) {
      for (int j = t; j < p.C; j += 128)
        b0[base + j] = (anyf > 0.0 && keep(row, j)) ? exp(sc * b0[base + j] - mx) / s : 0.0;
    } else if ((p.flags & 1) != 0) {
      const float ls = log(s);
      for (int j = t; j < p.C; j += 128) b1[base + j] = b0[base + j] - mx - ls;
    } else {
      for (int j = t; j < p.C; j += 128) b1[base + j] = exp(b0[base + j] - mx) / s;
    }
  }
}
