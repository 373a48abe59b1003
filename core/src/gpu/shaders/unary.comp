#version 450
// Element-wise non-linearities, kinds numbered as ops::Unary: 0 relu,
// 1 softplus (beta), 2 gelu (erf form), 3 tanh, 4 sigmoid, 5 gelu_tanh.
// mode 0: b1 = f(b0); mode 1: b2 += f'(b0) * b1 (x, gy, gx). The formulas are
// those of the scalar reference (core/src/ops/unary.cpp): split on the sign
// so that exp never overflows.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 256) in;
#include "common.glsl"
layout(push_constant) uniform P { int n, mode, kind; float beta; } p;
// erfc with fractional error < 1.2e-7 (Numerical Recipes' erfcc).
float erfc_(float x) {
  const float z = abs(x), t = 1.0 / (1.0 + 0.5 * z);
  const float r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
                  t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
                  t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0.0 ? r : 2.0 - r;
}
float sigm(float x) {
  const float e = exp(-abs(x));
  return x >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}
float value(float x) {
  if (p.kind == 0) return x < 0.0 ? 0.0 : x;
  if (p.kind == 1) { const float u = p.beta * x; return (max(u, 0.0) + log(1.0 + exp(-abs(u)))) / p.beta; }
  if (p.kind == 2) return x * 0.5 * erfc_(-x * 0.70710678118654752440);
  if (p.kind == 3) { const float e = exp(-2.0 * abs(x)); return sign(x) * (1.0 - e) / (1.0 + e); }
  if (p.kind == 4) return sigm(x);
  const float u2 = 1.59576912160573071176 * x * (1.0 + 0.044715 * x * x);
  return x * sigm(u2);
}
float deriv(float x) {
  if (p.kind == 0) return x > 0.0 ? 1.0 : 0.0;
  if (p.kind == 1) return sigm(p.beta * x);
  if (p.kind == 2) return 0.5 * erfc_(-x * 0.70710678118654752440) + x * 0.39894228040143267794 * exp(-0.5 * x * x);
  if (p.kind == 3) { const float e = exp(-2.0 * abs(x)), r = 1.0 / (1.0 + e); return 4.0 * e * r * r; }
  if (p.kind == 4) { const float e = exp(-abs(x)), r = 1.0 / (1.0 + e); return e * r * r; }
  const float c = 0.79788456080286535588, a = 0.044715;
  const float u = c * x * (1.0 + a * x * x), du = c * (1.0 + 3.0 * a * x * x);
  const float e = exp(-2.0 * abs(u)), r = 1.0 / (1.0 + e);
  const float sech2 = 4.0 * e * r * r;
  float f1 = u >= 0.0 ? r : e * r;  // sigmoid(2u)
  if (sech2 > 0.0) f1 += 0.5 * x * sech2 * du;
  return f1;
}
void main() {
  const int stride = int(gl_NumWorkGroups.x) * 256;
  for (int i = int(gl_GlobalInvocationID.x); i < p.n; i += stride) {
    if (p.mode == 0) b1[i] = value(b0[i]);
    else b2[i] += deriv(b0[i]) * b1[i];
  }
}
