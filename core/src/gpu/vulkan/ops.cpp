// The ops of wordlight/gpu.h as recorded dispatches of the shaders in
// core/src/gpu/shaders. Linear layers and attention are compositions of the
// one strided, batched GEMM; their backward passes are GEMMs with the
// operands' strides swapped. Shapes in comments as in ops.h.
#include <algorithm>
#include <climits>
#include <cmath>

#include "vulkan_internal.h"

namespace wordlight::gpu {

namespace {
int32_t i32(int64_t v, const char* op) {
  if (v < INT32_MIN || v > INT32_MAX)
    throw Error(std::string("vulkan ") + op + ": a size or offset (" + std::to_string(v) +
                ") does not fit the shaders' 32-bit indices");
  return static_cast<int32_t>(v);
}
uint32_t groups(int64_t n, int64_t per) {
  const int64_t g = (n + per - 1) / per;
  return static_cast<uint32_t>(std::clamp<int64_t>(g, n > 0 ? 1 : 0, 65535));
}
void need(const Buffer& b, int64_t n, const char* op, const char* name) {
  if (!b.valid()) throw Error(std::string("vulkan ") + op + ": " + name + " is not a buffer");
  if (b.size() < n)
    throw Error(std::string("vulkan ") + op + ": " + name + " holds " + std::to_string(b.size()) +
                " elements, needs " + std::to_string(n));
}
void need(const Buffer* b, int64_t n, const char* op, const char* name) {
  if (b) need(*b, n, op, name);
}
}  // namespace

void Device::fill(const Buffer& y, int64_t n, float value, int64_t offset) {
  need(y, offset + n, "fill", "y");
  struct { int32_t n, mode, x_off, y_off; float value; } p{i32(n, "fill"), 0, 0, i32(offset, "fill"), value};
  if (n == 0) return;
  impl_->core->dispatch("elementwise", {nullptr, &y}, &p, sizeof p, groups(n, 256));
}

void Device::add_to(const Buffer& x, const Buffer& y, int64_t n, int64_t x_offset, int64_t y_offset) {
  need(x, x_offset + n, "add_to", "x");
  need(y, y_offset + n, "add_to", "y");
  struct { int32_t n, mode, x_off, y_off; float value; } p{i32(n, "add_to"), 1, i32(x_offset, "add_to"),
                                                             i32(y_offset, "add_to"), 0.0f};
  impl_->core->dispatch("elementwise", {&x, &y}, &p, sizeof p, groups(n, 256));
}

void Device::gemm(const GemmArgs& g, const Buffer& A, const Buffer& B, const Buffer& C, const Buffer* bias) {
  if (g.M < 0 || g.N < 0 || g.K < 0 || g.batch < 1 || g.inner < 1)
    throw Error("vulkan gemm: bad dimensions M=" + std::to_string(g.M) + " N=" + std::to_string(g.N) +
                " K=" + std::to_string(g.K) + " batch=" + std::to_string(g.batch));
  if (!A.valid() || !B.valid() || !C.valid()) throw Error("vulkan gemm: an operand is not a buffer");
  if (g.M == 0 || g.N == 0) return;
  if (g.batch > 65535) throw Error("vulkan gemm: batch " + std::to_string(g.batch) + " over 65535");
  const char* op = "gemm";
  struct {
    int32_t M, N, K, inner;
    int32_t a[5], b[5], c[5];
    int32_t bias_off, flags;
    float alpha;
  } p;
  p.M = i32(g.M, op);
  p.N = i32(g.N, op);
  p.K = i32(g.K, op);
  p.inner = i32(g.inner, op);
  const GemmView* v[3] = {&g.a, &g.b, &g.c};
  int32_t* dst[3] = {p.a, p.b, p.c};
  for (int k = 0; k < 3; ++k) {
    dst[k][0] = i32(v[k]->offset, op);
    dst[k][1] = i32(v[k]->sb, op);
    dst[k][2] = i32(v[k]->sh, op);
    dst[k][3] = i32(v[k]->sr, op);
    dst[k][4] = i32(v[k]->sc, op);
  }
  p.bias_off = i32(g.bias_offset, op);
  p.flags = (bias && bias->valid() ? 1 : 0) | (g.accumulate ? 2 : 0);
  p.alpha = g.alpha;
  const uint32_t gx = static_cast<uint32_t>((g.N + 63) / 64), gy = static_cast<uint32_t>((g.M + 63) / 64);
  if (gx > 65535 || gy > 65535) throw Error("vulkan gemm: matrix too large (" + std::to_string(g.M) + " x " +
                                            std::to_string(g.N) + ")");
  impl_->core->dispatch("gemm", {&A, &B, &C, bias}, &p, sizeof p, gx, gy, static_cast<uint32_t>(g.batch));
}

void Device::column_sum(int64_t R, int64_t C, const Buffer& x, const Buffer& y) {
  need(x, R * C, "column_sum", "x");
  need(y, C, "column_sum", "y");
  struct { int32_t R, C; } p{i32(R, "column_sum"), i32(C, "column_sum")};
  impl_->core->dispatch("column_sum", {&x, &y}, &p, sizeof p, groups(C, 64));
}

// ------------------------------------------------------------ linear
void Device::linear_forward(int64_t R, int64_t I, int64_t O, const Buffer& x, const Buffer& w, const Buffer* b,
                            const Buffer& y) {
  need(x, R * I, "linear_forward", "x");
  need(w, O * I, "linear_forward", "w");
  need(b, O, "linear_forward", "b");
  need(y, R * O, "linear_forward", "y");
  GemmArgs g;  // y (R, O) = x (R, I) w^T (I, O)
  g.M = R, g.N = O, g.K = I;
  g.a.sr = I, g.a.sc = 1;
  g.b.sr = 1, g.b.sc = I;
  g.c.sr = O, g.c.sc = 1;
  if (I == 0) {
    fill(y, R * O, 0.0f);
    if (b && b->valid()) g.accumulate = true;
    else return;
  }
  gemm(g, x, w, y, b);
}

void Device::linear_backward(int64_t R, int64_t I, int64_t O, const Buffer& x, const Buffer& w, const Buffer& gy,
                             const Buffer* gx, const Buffer* gw, const Buffer* gb) {
  need(x, R * I, "linear_backward", "x");
  need(w, O * I, "linear_backward", "w");
  need(gy, R * O, "linear_backward", "gy");
  need(gx, R * I, "linear_backward", "gx");
  need(gw, O * I, "linear_backward", "gw");
  need(gb, O, "linear_backward", "gb");
  if (gx && gx->valid()) {  // gx (R, I) += gy (R, O) w (O, I)
    GemmArgs g;
    g.M = R, g.N = I, g.K = O, g.accumulate = true;
    g.a.sr = O, g.a.sc = 1;
    g.b.sr = I, g.b.sc = 1;
    g.c.sr = I, g.c.sc = 1;
    gemm(g, gy, w, *gx);
  }
  if (gw && gw->valid()) {  // gw (O, I) += gy^T (O, R) x (R, I)
    GemmArgs g;
    g.M = O, g.N = I, g.K = R, g.accumulate = true;
    g.a.sr = 1, g.a.sc = O;
    g.b.sr = I, g.b.sc = 1;
    g.c.sr = I, g.c.sc = 1;
    gemm(g, gy, x, *gw);
  }
  if (gb && gb->valid()) column_sum(R, O, gy, *gb);
}

// ------------------------------------------------------------ element-wise
namespace {
struct ElementwisePush {
  int32_t n, mode, x_off, y_off;
  float value;
};
}  // namespace

void Device::scale_forward(int64_t n, float s, const Buffer& x, const Buffer& y) {
  need(x, n, "scale_forward", "x");
  need(y, n, "scale_forward", "y");
  ElementwisePush p{i32(n, "scale_forward"), 3, 0, 0, s};
  impl_->core->dispatch("elementwise", {&x, &y}, &p, sizeof p, groups(n, 256));
}

void Device::scale_backward(int64_t n, float s, const Buffer& gy, const Buffer& gx) {
  need(gy, n, "scale_backward", "gy");
  need(gx, n, "scale_backward", "gx");
  ElementwisePush p{i32(n, "scale_backward"), 4, 0, 0, s};
  impl_->core->dispatch("elementwise", {&gy, &gx}, &p, sizeof p, groups(n, 256));
}

void Device::sum_forward(int64_t n, const Buffer& x, const Buffer& y) {
  need(x, n, "sum_forward", "x");
  need(y, 1, "sum_forward", "y");
  fill(y, 1, 0.0f);
  column_sum(n, 1, x, y);
}

void Device::sum_backward(int64_t n, const Buffer& gy, const Buffer& gx) {
  need(gy, 1, "sum_backward", "gy");
  need(gx, n, "sum_backward", "gx");
  ElementwisePush p{i32(n, "sum_backward"), 2, 0, 0, 1.0f};
  impl_->core->dispatch("elementwise", {&gy, &gx}, &p, sizeof p, groups(n, 256));
}

namespace {
struct BinaryPush {
  int32_t r, n, op, mode, xmask;
  int32_t yd[6], as[6], bs[6];
};
// Right-aligned strides of x over the output dims ys (0 where x broadcasts)
// and the mask of those dims.
void broadcast_strides(const Shape& xs, const Shape& ys, int32_t* st, int32_t* mask, const char* op) {
  *mask = 0;
  int64_t stride = 1;
  for (int d = ys.rank - 1; d >= 0; --d) {
    const int dx = xs.rank - ys.rank + d;
    const int64_t len = dx >= 0 ? xs.dims[dx] : 1;
    const bool bc = len == 1 && ys.dims[d] != 1;
    st[d] = bc ? 0 : i32(stride, op);
    if (bc) *mask |= 1 << d;
    stride *= len;
  }
}
}  // namespace

void Device::binary_forward(ops::Binary op, const Shape& as, const Shape& bs, const Buffer& a, const Buffer& b,
                            const Buffer& y) {
  const char* fn = "binary_forward";
  const Shape ys = broadcast_shapes(as, bs, fn);
  need(a, as.numel(), fn, "a");
  need(b, bs.numel(), fn, "b");
  need(y, ys.numel(), fn, "y");
  BinaryPush p{};
  p.r = ys.rank, p.n = i32(ys.numel(), fn), p.op = op == ops::Binary::add ? 0 : 1, p.mode = 0;
  int32_t m;
  for (int d = 0; d < ys.rank; ++d) p.yd[d] = i32(ys.dims[d], fn);
  broadcast_strides(as, ys, p.as, &m, fn);
  broadcast_strides(bs, ys, p.bs, &m, fn);
  impl_->core->dispatch("binary", {&a, &b, &y}, &p, sizeof p, groups(ys.numel(), 256));
}

void Device::binary_backward(ops::Binary op, const Shape& as, const Shape& bs, const Buffer& a, const Buffer& b,
                             const Buffer& gy, const Buffer* ga, const Buffer* gb) {
  const char* fn = "binary_backward";
  const Shape ys = broadcast_shapes(as, bs, fn);
  need(a, as.numel(), fn, "a");
  need(b, bs.numel(), fn, "b");
  need(gy, ys.numel(), fn, "gy");
  need(ga, as.numel(), fn, "ga");
  need(gb, bs.numel(), fn, "gb");
  BinaryPush p{};
  p.r = ys.rank, p.op = op == ops::Binary::add ? 0 : 1;
  for (int d = 0; d < ys.rank; ++d) p.yd[d] = i32(ys.dims[d], fn);
  int32_t ma, mb;
  broadcast_strides(as, ys, p.as, &ma, fn);
  broadcast_strides(bs, ys, p.bs, &mb, fn);
  if (ga && ga->valid()) {
    BinaryPush q = p;
    q.mode = 1, q.xmask = ma, q.n = i32(as.numel(), fn);
    impl_->core->dispatch("binary", {&a, &b, &gy, ga}, &q, sizeof q, groups(as.numel(), 256));
  }
  if (gb && gb->valid()) {
    BinaryPush q = p;
    q.mode = 2, q.xmask = mb, q.n = i32(bs.numel(), fn);
    impl_->core->dispatch("binary", {&a, &b, &gy, gb}, &q, sizeof q, groups(bs.numel(), 256));
  }
}

// ------------------------------------------------------------ slice, concat, pick
namespace {
struct BlockPush {
  int32_t outer, lx, ly, inner, start, mode, acc;
};
int axis_of(const Shape& s, int axis, const char* fn) {
  if (axis < -s.rank || axis >= s.rank)
    throw Error(std::string("vulkan ") + fn + ": axis " + std::to_string(axis) + " is out of range for shape " +
                s.str());
  return axis < 0 ? axis + s.rank : axis;
}
}  // namespace

void Device::slice_forward(const Shape& xs, int axis, int64_t start, int64_t end, const Buffer& x, const Buffer& y) {
  const char* fn = "slice_forward";
  const int a = axis_of(xs, axis, fn);
  if (start < 0 || start > end || end > xs.dims[a])
    throw Error("vulkan slice_forward: [" + std::to_string(start) + ", " + std::to_string(end) +
                ") is out of range for axis " + std::to_string(a) + " of shape " + xs.str());
  const int64_t outer = xs.prod(0, a), inner = xs.prod(a + 1, xs.rank);
  need(x, xs.numel(), fn, "x");
  need(y, outer * (end - start) * inner, fn, "y");
  // y is the block (outer, end - start, inner); x the full (outer, len, inner)
  BlockPush p{i32(outer, fn), i32(end - start, fn), i32(xs.dims[a], fn), i32(inner, fn), i32(start, fn), 1, 0};
  impl_->core->dispatch("block", {&y, &x}, &p, sizeof p, groups(outer * (end - start) * inner, 256));
}

void Device::slice_backward(const Shape& xs, int axis, int64_t start, int64_t end, const Buffer& gy,
                            const Buffer& gx) {
  const char* fn = "slice_backward";
  const int a = axis_of(xs, axis, fn);
  if (start < 0 || start > end || end > xs.dims[a])
    throw Error("vulkan slice_backward: [" + std::to_string(start) + ", " + std::to_string(end) +
                ") is out of range for axis " + std::to_string(a) + " of shape " + xs.str());
  const int64_t outer = xs.prod(0, a), inner = xs.prod(a + 1, xs.rank);
  need(gy, outer * (end - start) * inner, fn, "gy");
  need(gx, xs.numel(), fn, "gx");
  BlockPush p{i32(outer, fn), i32(end - start, fn), i32(xs.dims[a], fn), i32(inner, fn), i32(start, fn), 0, 1};
  impl_->core->dispatch("block", {&gy, &gx}, &p, sizeof p, groups(outer * (end - start) * inner, 256));
}

namespace {
void concat_check(const std::vector<Shape>& shapes, int axis, size_t n_bufs, int* a, int64_t* total,
                  const char* fn) {
  if (shapes.empty() || shapes.size() != n_bufs)
    throw Error(std::string("vulkan ") + fn + ": " + std::to_string(shapes.size()) + " shapes for " +
                std::to_string(n_bufs) + " buffers");
  *a = axis_of(shapes[0], axis, fn);
  *total = 0;
  for (size_t i = 0; i < shapes.size(); ++i) {
    bool same = shapes[i].rank == shapes[0].rank;
    for (int d = 0; same && d < shapes[i].rank; ++d) same = d == *a || shapes[i].dims[d] == shapes[0].dims[d];
    if (!same)
      throw Error(std::string("vulkan ") + fn + ": input " + std::to_string(i) + " has shape " + shapes[i].str() +
                  " but input 0 has " + shapes[0].str());
    *total += shapes[i].dims[*a];
  }
}
// concat's forward copies each part into its block of the whole; its
// backward adds each block of the whole's gradient into that part's (absent
// parts, which need no gradient, are skipped): one "block" dispatch a part.
void concat_blocks(detail::Core& core, const std::vector<Shape>& shapes, int axis,
                   const std::vector<const Buffer*>& parts, const Buffer& whole, bool forward) {
  const char* fn = forward ? "concat_forward" : "concat_backward";
  int a;
  int64_t total;
  concat_check(shapes, axis, parts.size(), &a, &total, fn);
  const int64_t outer = shapes[0].prod(0, a), inner = shapes[0].prod(a + 1, shapes[0].rank);
  need(whole, outer * total * inner, fn, forward ? "y" : "gy");
  int64_t start = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const int64_t len = shapes[i].dims[a];
    if (parts[i] && parts[i]->valid()) {
      need(*parts[i], shapes[i].numel(), fn, forward ? "an input" : "an input's gradient");
      const int32_t back = forward ? 0 : 1;
      BlockPush p{i32(outer, fn), i32(len, fn), i32(total, fn), i32(inner, fn), i32(start, fn), back, back};
      core.dispatch("block", {parts[i], &whole}, &p, sizeof p, groups(outer * len * inner, 256));
    } else if (forward) {
      throw Error("vulkan concat_forward: input " + std::to_string(i) + " is not a buffer");
    }
    start += len;
  }
}
}  // namespace

void Device::concat_forward(const std::vector<Shape>& shapes, int axis, const std::vector<const Buffer*>& xs,
                            const Buffer& y) {
  concat_blocks(*impl_->core, shapes, axis, xs, y, true);
}

void Device::concat_backward(const std::vector<Shape>& shapes, int axis, const Buffer& gy,
                             const std::vector<const Buffer*>& gxs) {
  concat_blocks(*impl_->core, shapes, axis, gxs, gy, false);
}

void Device::pick_forward(int64_t R, int64_t C, const Buffer& index, const Buffer& x, const Buffer& y) {
  const char* fn = "pick_forward";
  need(index, R, fn, "index");
  need(x, R * C, fn, "x");
  need(y, R, fn, "y");
  BlockPush p{i32(R, fn), i32(C, fn), 0, 1, 0, 2, 0};
  impl_->core->dispatch("block", {&x, &y, nullptr, &index}, &p, sizeof p, groups(R, 256));
}

void Device::pick_backward(int64_t R, int64_t C, const Buffer& index, const Buffer& gy, const Buffer& gx) {
  const char* fn = "pick_backward";
  need(index, R, fn, "index");
  need(gy, R, fn, "gy");
  need(gx, R * C, fn, "gx");
  BlockPush p{i32(R, fn), i32(C, fn), 0, 1, 0, 3, 1};
  impl_->core->dispatch("block", {&gx, &gy, nullptr, &index}, &p, sizeof p, groups(R, 256));
}

// ------------------------------------------------------------ conv1d, max pooling
// conv1d as one GEMM per filter tap j over the output steps t whose input
// step t + j - pad lies inside the sequence (the padding contributes zero):
//   y[b, t, :] += x[b, t + j - pad, :] w[:, j, :]^T
namespace {
void check_conv(const ops::Conv1dDims& d, const char* fn) {
  if (d.B < 0 || d.T < 0 || d.Cin < 0 || d.Cout < 0 || d.W < 1 || d.pad < 0 || d.t_out() < 0)
    throw Error(std::string("vulkan ") + fn + ": bad dimensions (B=" + std::to_string(d.B) + ", T=" +
                std::to_string(d.T) + ", W=" + std::to_string(d.W) + ", pad=" + std::to_string(d.pad) + ")");
}
}  // namespace

void Device::conv1d_forward(const ops::Conv1dDims& d, const Buffer& x, const Buffer& w, const Buffer* b,
                            const Buffer& y) {
  const char* fn = "conv1d_forward";
  check_conv(d, fn);
  const int64_t To = d.t_out();
  need(x, d.B * d.T * d.Cin, fn, "x");
  need(w, d.Cout * d.W * d.Cin, fn, "w");
  need(b, d.Cout, fn, "b");
  need(y, d.B * To * d.Cout, fn, "y");
  fill(y, d.B * To * d.Cout, 0.0f);
  if (b && b->valid()) {  // y += bias: a GEMM with K = 0 adds only its bias
    GemmArgs g;
    g.M = d.B * To, g.N = d.Cout, g.K = 0, g.accumulate = true;
    g.c.sr = d.Cout;
    gemm(g, x, w, y, b);
  }
  for (int64_t j = 0; j < d.W; ++j) {
    const int64_t t0 = std::max<int64_t>(0, d.pad - j), t1 = std::min<int64_t>(To, d.T + d.pad - j);
    if (t1 <= t0 || d.B == 0) continue;
    GemmArgs g;
    g.M = t1 - t0, g.N = d.Cout, g.K = d.Cin, g.batch = d.B, g.accumulate = true;
    g.a.offset = (t0 + j - d.pad) * d.Cin, g.a.sb = d.T * d.Cin, g.a.sr = d.Cin, g.a.sc = 1;
    g.b.offset = j * d.Cin, g.b.sr = 1, g.b.sc = d.W * d.Cin;
    g.c.offset = t0 * d.Cout, g.c.sb = To * d.Cout, g.c.sr = d.Cout, g.c.sc = 1;
    gemm(g, x, w, y);
  }
}

void Device::conv1d_backward(const ops::Conv1dDims& d, const Buffer& x, const Buffer& w, const Buffer& gy,
                             const Buffer* gx, const Buffer* gw, const Buffer* gb) {
  const char* fn = "conv1d_backward";
  check_conv(d, fn);
  const int64_t To = d.t_out();
  need(x, d.B * d.T * d.Cin, fn, "x");
  need(w, d.Cout * d.W * d.Cin, fn, "w");
  need(gy, d.B * To * d.Cout, fn, "gy");
  need(gx, d.B * d.T * d.Cin, fn, "gx");
  need(gw, d.Cout * d.W * d.Cin, fn, "gw");
  need(gb, d.Cout, fn, "gb");
  for (int64_t j = 0; j < d.W; ++j) {
    const int64_t t0 = std::max<int64_t>(0, d.pad - j), t1 = std::min<int64_t>(To, d.T + d.pad - j);
    if (t1 <= t0 || d.B == 0) continue;
    if (gx && gx->valid()) {  // gx[b, t + j - pad, :] += gy[b, t, :] w[:, j, :]
      GemmArgs g;
      g.M = t1 - t0, g.N = d.Cin, g.K = d.Cout, g.batch = d.B, g.accumulate = true;
      g.a.offset = t0 * d.Cout, g.a.sb = To * d.Cout, g.a.sr = d.Cout, g.a.sc = 1;
      g.b.offset = j * d.Cin, g.b.sr = d.W * d.Cin, g.b.sc = 1;
      g.c.offset = (t0 + j - d.pad) * d.Cin, g.c.sb = d.T * d.Cin, g.c.sr = d.Cin, g.c.sc = 1;
      gemm(g, gy, w, *gx);
    }
    if (gw && gw->valid())  // gw[:, j, :] += sum_b gy[b, t, :]^T x[b, t + j - pad, :]
      for (int64_t bb = 0; bb < d.B; ++bb) {
        GemmArgs g;
        g.M = d.Cout, g.N = d.Cin, g.K = t1 - t0, g.accumulate = true;
        g.a.offset = (bb * To + t0) * d.Cout, g.a.sr = 1, g.a.sc = d.Cout;
        g.b.offset = (bb * d.T + t0 + j - d.pad) * d.Cin, g.b.sr = d.Cin, g.b.sc = 1;
        g.c.offset = j * d.Cin, g.c.sr = d.W * d.Cin, g.c.sc = 1;
        gemm(g, gy, x, *gw);
      }
  }
  if (gb && gb->valid()) column_sum(d.B * To, d.Cout, gy, *gb);
}

namespace {
struct PoolPush {
  int32_t B, T, C, window, stride, To, mode;
};
PoolPush pool_push(const ops::PoolDims& d, int mode, const char* fn) {
  if (d.B < 0 || d.T < 0 || d.C < 0 || d.window < 1 || d.stride < 1 || d.window > d.T)
    throw Error(std::string("vulkan ") + fn + ": bad dimensions (T=" + std::to_string(d.T) + ", window=" +
                std::to_string(d.window) + ", stride=" + std::to_string(d.stride) + ")");
  return PoolPush{i32(d.B, fn), i32(d.T, fn), i32(d.C, fn), i32(d.window, fn), i32(d.stride, fn), i32(d.t_out(), fn),
                  mode};
}
}  // namespace

void Device::maxpool_forward(const ops::PoolDims& d, const Buffer& x, const Buffer& y, const Buffer& argmax) {
  const char* fn = "maxpool_forward";
  const PoolPush p = pool_push(d, 0, fn);
  need(x, d.B * d.T * d.C, fn, "x");
  need(y, d.B * d.t_out() * d.C, fn, "y");
  need(argmax, d.B * d.t_out() * d.C, fn, "argmax");
  impl_->core->dispatch("maxpool", {&x, &y, nullptr, &argmax}, &p, sizeof p, groups(d.B * d.t_out() * d.C, 256));
}

void Device::maxpool_backward(const ops::PoolDims& d, const Buffer& argmax, const Buffer& gy, const Buffer& gx) {
  const char* fn = "maxpool_backward";
  const PoolPush p = pool_push(d, 1, fn);
  need(argmax, d.B * d.t_out() * d.C, fn, "argmax");
  need(gy, d.B * d.t_out() * d.C, fn, "gy");
  need(gx, d.B * d.T * d.C, fn, "gx");
  impl_->core->dispatch("maxpool", {&gx, &gy, nullptr, &argmax}, &p, sizeof p, groups(d.B * d.C, 256));
}

void Device::unary_forward(ops::UnaryParams p, int64_t n, const Buffer& x, const Buffer& y) {
  need(x, n, "unary_forward", "x");
  need(y, n, "unary_forward", "y");
  if (p.kind == ops::Unary::softplus && !(p.beta > 0 && std::isfinite(p.beta)))
    throw Error("vulkan unary_forward (softplus): beta must be positive and finite, got " + std::to_string(p.beta));
  struct { int32_t n, mode, kind; float beta; } pc{i32(n, "unary_forward"), 0, static_cast<int32_t>(p.kind),
                                                   static_cast<float>(p.beta)};
  impl_->core->dispatch("unary", {&x, &y}, &pc, sizeof pc, groups(n, 256));
}

void Device::unary_backward(ops::UnaryParams p, int64_t n, const Buffer& x, const Buffer& gy, const Buffer& gx) {
  need(x, n, "unary_backward", "x");
  need(gy, n, "unary_backward", "gy");
  need(gx, n, "unary_backward", "gx");
  struct { int32_t n, mode, kind; float beta; } pc{i32(n, "unary_backward"), 1, static_cast<int32_t>(p.kind),
                                                   static_cast<float>(p.beta)};
  impl_->core->dispatch("unary", {&x, &gy, &gx}, &pc, sizeof pc, groups(n, 256));
}

// ------------------------------------------------------------ softmax
namespace {
struct SoftmaxPush {
  int32_t R, C, mode, flags, H;
  float scale;
};
}  // namespace

void Device::softmax_forward(bool log, int64_t R, int64_t C, const Buffer& x, const Buffer& y) {
  need(x, R * C, "softmax_forward", "x");
  need(y, R * C, "softmax_forward", "y");
  SoftmaxPush p{i32(R, "softmax_forward"), i32(C, "softmax_forward"), 0, log ? 1 : 0, 1, 1.0f};
  impl_->core->dispatch("softmax", {&x, &y}, &p, sizeof p, groups(R, 1));
}

void Device::softmax_backward(bool log, int64_t R, int64_t C, const Buffer& y, const Buffer& gy, const Buffer& gx) {
  need(y, R * C, "softmax_backward", "y");
  need(gy, R * C, "softmax_backward", "gy");
  need(gx, R * C, "softmax_backward", "gx");
  SoftmaxPush p{i32(R, "softmax_backward"), i32(C, "softmax_backward"), 1, (log ? 1 : 0) | 2, 1, 1.0f};
  impl_->core->dispatch("softmax", {&y, &gy, &gx}, &p, sizeof p, groups(R, 1));
}

// ------------------------------------------------------------ layer norm
namespace {
struct LayerNormPush {
  int32_t R, C, mode, flags;
  float eps;
};
}  // namespace

void Device::layernorm_forward(int64_t R, int64_t C, float eps, const Buffer& x, const Buffer& gamma,
                               const Buffer* beta, const Buffer& y, const Buffer& mean, const Buffer& rstd) {
  const char* op = "layernorm_forward";
  need(x, R * C, op, "x");
  need(gamma, C, op, "gamma");
  need(beta, C, op, "beta");
  need(y, R * C, op, "y");
  need(mean, R, op, "mean");
  need(rstd, R, op, "rstd");
  if (C < 1) throw Error("vulkan layernorm_forward: rows must have at least one element");
  LayerNormPush p{i32(R, op), i32(C, op), 0, beta && beta->valid() ? 1 : 0, eps};
  impl_->core->dispatch("layernorm", {&x, &gamma, beta, &y, &mean, &rstd}, &p, sizeof p, groups(R, 1));
}

void Device::layernorm_backward(int64_t R, int64_t C, const Buffer& x, const Buffer& gamma, const Buffer& mean,
                                const Buffer& rstd, const Buffer& gy, const Buffer* gx, const Buffer* ggamma,
                                const Buffer* gbeta) {
  const char* op = "layernorm_backward";
  need(x, R * C, op, "x");
  need(gamma, C, op, "gamma");
  need(mean, R, op, "mean");
  need(rstd, R, op, "rstd");
  need(gy, R * C, op, "gy");
  need(gx, R * C, op, "gx");
  need(ggamma, C, op, "ggamma");
  need(gbeta, C, op, "gbeta");
  if (gx && gx->valid()) {
    LayerNormPush p{i32(R, op), i32(C, op), 1, 0, 0.0f};
    impl_->core->dispatch("layernorm", {&x, &gamma, &gy, gx, &mean, &rstd}, &p, sizeof p, groups(R, 1));
  }
  const int flags = (ggamma && ggamma->valid() ? 1 : 0) | (gbeta && gbeta->valid() ? 2 : 0);
  if (flags) {
    struct { int32_t R, C, flags; } p{i32(R, op), i32(C, op), flags};
    impl_->core->dispatch("layernorm_params", {&x, ggamma, &gy, gbeta, &mean, &rstd}, &p, sizeof p, groups(C, 64));
  }
}

// ------------------------------------------------------------ embedding
namespace {
// Forward (gather: from the table (V, D) into y (n, D), one thread per
// output element) or backward (scatter-add: from gy (n, D) into the
// table's gradient, one thread per column, so that repeated ids add up
// without atomics).
void embedding_dispatch(detail::Core& core, bool backward, int64_t n, const Buffer& ids, int64_t V, int64_t D,
                        const Buffer& from, const Buffer& to) {
  const char* op = backward ? "embedding_backward" : "embedding_forward";
  need(ids, n, op, "ids");
  need(from, (backward ? n : V) * D, op, backward ? "gy" : "table");
  need(to, (backward ? V : n) * D, op, backward ? "gtable" : "y");
  struct { int32_t n, V, D, mode; } p{i32(n, op), i32(V, op), i32(D, op), backward ? 1 : 0};
  i32((backward ? V : n) * D, op);
  core.dispatch("embedding", {&ids, &from, &to}, &p, sizeof p, groups(backward ? D : n * D, 256));
}
}  // namespace

void Device::embedding_forward(int64_t n, const Buffer& ids, int64_t V, int64_t D, const Buffer& table,
                               const Buffer& y) {
  embedding_dispatch(*impl_->core, false, n, ids, V, D, table, y);
}

void Device::embedding_backward(int64_t n, const Buffer& ids, int64_t V, int64_t D, const Buffer& gy,
                                const Buffer& gtable) {
  embedding_dispatch(*impl_->core, true, n, ids, V, D, gy, gtable);
}

// ------------------------------------------------------------ attention
// Per (b, h): S = s q k^T, P = masked softmax(S), out = P v, with the head's
// columns of the (B, T, H*Dh) layout addressed by strides.
namespace {
void check_attention(const ops::AttentionDims& d, const char* op) {
  if (d.B < 0 || d.T < 0 || d.H < 1 || d.Dh < 1)
    throw Error(std::string("vulkan ") + op + ": bad dimensions B=" + std::to_string(d.B) + " T=" +
                std::to_string(d.T) + " H=" + std::to_string(d.H) + " Dh=" + std::to_string(d.Dh));
  i32(d.B * d.H * d.T * d.T, op);
  i32(d.B * d.T * d.H * d.Dh, op);
}
// View of head h of x (B, T, H*Dh) as a (T, Dh) matrix (or its transpose).
GemmView head_view(const ops::AttentionDims& d, bool transpose) {
  const int64_t HD = d.H * d.Dh;
  GemmView v;
  v.sb = d.T * HD;
  v.sh = d.Dh;
  v.sr = transpose ? 1 : HD;
  v.sc = transpose ? HD : 1;
  return v;
}
// View of probs (B, H, T, T) per (b, h) as a (T, T) matrix (or its transpose).
GemmView probs_view(const ops::AttentionDims& d, bool transpose) {
  GemmView v;
  v.sb = d.H * d.T * d.T;
  v.sh = d.T * d.T;
  v.sr = transpose ? 1 : d.T;
  v.sc = transpose ? d.T : 1;
  return v;
}
}  // namespace

void Device::attention_forward(const ops::AttentionDims& d, const Buffer& q, const Buffer& k, const Buffer& v,
                               const Buffer* key_mask, const Buffer& probs, const Buffer& out) {
  const char* op = "attention_forward";
  check_attention(d, op);
  const int64_t n = d.B * d.T * d.H * d.Dh;
  need(q, n, op, "q");
  need(k, n, op, "k");
  need(v, n, op, "v");
  need(key_mask, d.B * d.T, op, "key_mask");
  need(probs, d.B * d.H * d.T * d.T, op, "probs");
  need(out, n, op, "out");
  if (d.B == 0 || d.T == 0) return;
  GemmArgs s;  // S (T, T) = q (T, Dh) k^T (Dh, T), scaled in the softmax
  s.M = d.T, s.N = d.T, s.K = d.Dh, s.batch = d.B * d.H, s.inner = d.H;
  s.a = head_view(d, false);
  s.b = head_view(d, true);
  s.c = probs_view(d, false);
  gemm(s, q, k, probs);
  const bool masked = key_mask && key_mask->valid();
  SoftmaxPush p{i32(d.B * d.H * d.T, op), i32(d.T, op), 2, (masked ? 4 : 0) | (d.causal ? 8 : 0), i32(d.H, op),
                static_cast<float>(1.0 / std::sqrt(static_cast<double>(d.Dh)))};
  impl_->core->dispatch("softmax", {&probs, nullptr, nullptr, key_mask}, &p, sizeof p, groups(d.B * d.H * d.T, 1));
  GemmArgs o;  // out (T, Dh) = P (T, T) v (T, Dh)
  o.M = d.T, o.N = d.Dh, o.K = d.T, o.batch = d.B * d.H, o.inner = d.H;
  o.a = probs_view(d, false);
  o.b = head_view(d, false);
  o.c = head_view(d, false);
  gemm(o, probs, v, out);
}

void Device::attention_backward(const ops::AttentionDims& d, const Buffer& q, const Buffer& k, const Buffer& v,
                                const Buffer& probs, const Buffer& gout, const Buffer* gq, const Buffer* gk,
                                const Buffer* gv) {
  const char* op = "attention_backward";
  check_attention(d, op);
  const int64_t n = d.B * d.T * d.H * d.Dh, np = d.B * d.H * d.T * d.T;
  need(q, n, op, "q");
  need(k, n, op, "k");
  need(v, n, op, "v");
  need(probs, np, op, "probs");
  need(gout, n, op, "gout");
  need(gq, n, op, "gq");
  need(gk, n, op, "gk");
  need(gv, n, op, "gv");
  if (d.B == 0 || d.T == 0) return;
  if (gv && gv->valid()) {  // gv (T, Dh) += P^T (T, T) gout (T, Dh)
    GemmArgs g;
    g.M = d.T, g.N = d.Dh, g.K = d.T, g.batch = d.B * d.H, g.inner = d.H, g.accumulate = true;
    g.a = probs_view(d, true);
    g.b = head_view(d, false);
    g.c = head_view(d, false);
    gemm(g, probs, gout, *gv);
  }
  const bool want_qk = (gq && gq->valid()) || (gk && gk->valid());
  if (!want_qk) return;
  Buffer* scratch = impl_->scratch;
  for (int j = 0; j < 2; ++j)
    if (scratch[j].size() < np) scratch[j] = alloc(np);
  {  // dP (T, T) = gout (T, Dh) v^T (Dh, T)
    GemmArgs g;
    g.M = d.T, g.N = d.T, g.K = d.Dh, g.batch = d.B * d.H, g.inner = d.H;
    g.a = head_view(d, false);
    g.b = head_view(d, true);
    g.c = probs_view(d, false);
    gemm(g, gout, v, scratch[0]);
  }
  // dS = s P (dP - sum(dP P)): the softmax backward, scaled, overwriting
  SoftmaxPush p{i32(d.B * d.H * d.T, op), i32(d.T, op), 1, 0, 1,
                static_cast<float>(1.0 / std::sqrt(static_cast<double>(d.Dh)))};
  impl_->core->dispatch("softmax", {&probs, &scratch[0], &scratch[1]}, &p, sizeof p, groups(d.B * d.H * d.T, 1));
  if (gq && gq->valid()) {  // gq (T, Dh) += dS (T, T) k (T, Dh)
    GemmArgs g;
    g.M = d.T, g.N = d.Dh, g.K = d.T, g.batch = d.B * d.H, g.inner = d.H, g.accumulate = true;
    g.a = probs_view(d, false);
    g.b = head_view(d, false);
    g.c = head_view(d, false);
    gemm(g, scratch[1], k, *gq);
  }
  if (gk && gk->valid()) {  // gk (T, Dh) += dS^T (T, T) q (T, Dh)
    GemmArgs g;
    g.M = d.T, g.N = d.Dh, g.K = d.T, g.batch = d.B * d.H, g.inner = d.H, g.accumulate = true;
    g.a = probs_view(d, true);
    g.b = head_view(d, false);
    g.c = head_view(d, false);
    gemm(g, scratch[1], q, *gk);
  }
}

}  // namespace wordlight::gpu

// ------------------------------------------------------------ LRP rules
namespace wordlight::gpu {

namespace {
struct LrpPush {
  int32_t n, mode;
  float eps, d0;
};
struct LrpRowsPush {
  int32_t R, C, mode, slot;
  float eps;
};
}  // namespace

void Device::lrp_epsilon_scale(int64_t n, float eps, const Buffer& y, const Buffer& gy, const Buffer& s) {
  const char* op = "lrp_epsilon_scale";
  need(y, n, op, "y");
  need(gy, n, op, "gy");
  need(s, n, op, "s");
  LrpPush p{i32(n, op), 0, eps, 0.f};
  if (n) impl_->core->dispatch("lrp", {&y, &gy, &s}, &p, sizeof p, groups(n, 256));
}

void Device::lrp_identity(int64_t n, bool relu, float d0, const Buffer& x, const Buffer& y, const Buffer& gy,
                          const Buffer& gx) {
  const char* op = "lrp_identity";
  need(x, n, op, "x");
  need(y, n, op, "y");
  need(gy, n, op, "gy");
  need(gx, n, op, "gx");
  LrpPush p{i32(n, op), relu ? 2 : 1, 0.f, d0};
  if (n) impl_->core->dispatch("lrp", {&x, &y, &gy, &gx}, &p, sizeof p, groups(n, 256));
}

void Device::lrp_layernorm(int64_t R, int64_t C, const Buffer& gamma, const Buffer& rstd, const Buffer& s,
                           const Buffer& gx) {
  const char* op = "lrp_layernorm";
  need(gamma, C, op, "gamma");
  need(rstd, R, op, "rstd");
  need(s, R * C, op, "s");
  need(gx, R * C, op, "gx");
  LrpRowsPush p{i32(R, op), i32(C, op), 0, 0, 0.f};
  if (R && C) impl_->core->dispatch("lrp_rows", {&gamma, &rstd, &s, &gx}, &p, sizeof p, groups(R, 1));
}

void Device::lrp_sum(int64_t n, const Buffer& y, const Buffer& g, const Buffer& out, int64_t slot, float eps) {
  const char* op = "lrp_sum";
  need(y, n, op, "y");
  need(g, n, op, "g");
  need(out, slot + 1, op, "out");
  LrpRowsPush p{1, i32(n, op), eps < 0 ? 1 : 2, i32(slot, op), eps};
  impl_->core->dispatch("lrp_rows", {&y, &g, &out}, &p, sizeof p, 1);
}

}  // namespace wordlight::gpu
