// Add and multiply with numpy broadcasting.
//
// Both operands are viewed through the output's dimensions with element
// strides that are 0 along broadcast dimensions. Output dimensions of size 1
// are dropped and neighbours that are contiguous in a, b and y alike are
// merged, so that the innermost loop is as long as possible and its strides
// are 0 or 1; that loop is specialised on those strides so the compiler
// vectorises it. The backward passes reduce over broadcast dimensions by
// summing each run before adding it to the gradient.
//
// These loops are memory-bound and already vectorised: Backend::fast and
// Backend::reference run the same code.
#include <string>

#include "wordlight/error.h"
#include "wordlight/op_profile.h"
#include "wordlight/ops.h"

namespace wordlight::ops {
namespace {

const char* op_name(Binary op) { return op == Binary::add ? "binary add" : "binary mul"; }

struct Plan {
  int rank = 1;
  int64_t dims[Shape::kMaxRank] = {1};
  int64_t sa[Shape::kMaxRank] = {0};  // element strides of a per output dim (0: broadcast)
  int64_t sb[Shape::kMaxRank] = {0};
  int64_t na = 0, nb = 0, ny = 0;
};

Plan make_plan(Binary op, const Shape& as, const Shape& bs) {
  const Shape ys = broadcast_shapes(as, bs, op_name(op));
  Plan p;
  p.na = as.numel();
  p.nb = bs.numel();
  p.ny = ys.numel();
  // Row-major strides of a and b aligned to the output's trailing dims.
  const int r = ys.rank;
  int64_t stride_a[Shape::kMaxRank], stride_b[Shape::kMaxRank];
  int64_t acc_a = 1, acc_b = 1;
  for (int i = r - 1; i >= 0; --i) {
    const int ia = as.rank - r + i, ib = bs.rank - r + i;
    const int64_t da = ia >= 0 ? as.dims[ia] : 1, db = ib >= 0 ? bs.dims[ib] : 1;
    stride_a[i] = da == 1 ? 0 : acc_a;
    stride_b[i] = db == 1 ? 0 : acc_b;
    acc_a *= da;
    acc_b *= db;
  }
  int q = 0;
  for (int i = 0; i < r; ++i) {
    const int64_t d = ys.dims[i];
    if (d == 1) continue;
    if (q > 0 && p.sa[q - 1] == stride_a[i] * d && p.sb[q - 1] == stride_b[i] * d) {
      p.dims[q - 1] *= d;  // dim i continues dim q-1 in every operand
      p.sa[q - 1] = stride_a[i];
      p.sb[q - 1] = stride_b[i];
    } else {
      p.dims[q] = d;
      p.sa[q] = stride_a[i];
      p.sb[q] = stride_b[i];
      ++q;
    }
  }
  if (q == 0) {  // every output dim is 1: a single element
    p.dims[0] = 1;
    p.sa[0] = p.sb[0] = 0;
    q = 1;
  }
  p.rank = q;
  return p;
}

// Calls run(iy, ia, ib, n, sa, sb) for each innermost run of n outputs
// starting at y[iy], a[ia], b[ib], with inner strides sa, sb in {0, 1}.
template <class F>
void for_each_run(const Plan& p, F&& run) {
  if (p.ny == 0) return;
  const int last = p.rank - 1;
  const int64_t n = p.dims[last], outer = p.ny / n;
  int64_t idx[Shape::kMaxRank] = {0};
  int64_t ia = 0, ib = 0;
  for (int64_t o = 0; o < outer; ++o) {
    run(o * n, ia, ib, n, p.sa[last], p.sb[last]);
    for (int d = last - 1; d >= 0; --d) {
      ia += p.sa[d];
      ib += p.sb[d];
      if (++idx[d] < p.dims[d]) break;
      ia -= p.sa[d] * p.dims[d];
      ib -= p.sb[d] * p.dims[d];
      idx[d] = 0;
    }
  }
}

// f(j, ja, jb) for j in [0, n) with ja = j sa, jb = j sb; one loop per stride
// pattern so that each is a plain unit-stride (or broadcast) loop.
template <class F>
inline void run_loop(int64_t n, int64_t sa, int64_t sb, F&& f) {
  if (sa && sb)
    for (int64_t j = 0; j < n; ++j) f(j, j, j);
  else if (sa)
    for (int64_t j = 0; j < n; ++j) f(j, j, 0);
  else if (sb)
    for (int64_t j = 0; j < n; ++j) f(j, 0, j);
  else
    for (int64_t j = 0; j < n; ++j) f(j, 0, 0);
}

// out[j s] += v(j) for j in [0, n); with s = 0 the run is summed first, in
// double (a float sum of a long broadcast run would drift).
template <class T, class V>
inline void accumulate_run(T* out, int64_t n, int64_t s, V&& v) {
  if (s) {
    for (int64_t j = 0; j < n; ++j) out[j] += v(j);
  } else {
    double sum = 0;
    for (int64_t j = 0; j < n; ++j) sum += v(j);
    out[0] += static_cast<T>(sum);
  }
}

}  // namespace

template <class T>
void binary_forward(Backend, Binary op, const Shape& as, const Shape& bs, const T* a, const T* b, T* y) {
  OpScope prof("binary.fwd", 0, as.numel(), bs.numel());
  const Plan p = make_plan(op, as, bs);
  if (!y) return;
  for_each_run(p, [&](int64_t iy, int64_t ia, int64_t ib, int64_t n, int64_t sa, int64_t sb) {
    const T *ar = a + ia, *br = b + ib;
    T* yr = y + iy;
    if (op == Binary::add)
      run_loop(n, sa, sb, [&](int64_t j, int64_t ja, int64_t jb) { yr[j] = ar[ja] + br[jb]; });
    else
      run_loop(n, sa, sb, [&](int64_t j, int64_t ja, int64_t jb) { yr[j] = ar[ja] * br[jb]; });
  });
}

// a: as, b: bs; da: (K, as) or null, db: (K, bs) or null, dy: (K, ys)
//   add: dy = da + db      mul: dy = da b + a db
template <class T>
void binary_tangent(Backend, Binary op, const Shape& as, const Shape& bs, int K, const T* a, const T* b,
                    const T* da, const T* db, T* dy) {
  OpScope prof("binary.tangent", 0, int64_t(K) * as.numel(), bs.numel());
  const Plan p = make_plan(op, as, bs);
  if (!dy) return;
  const bool mul = op == Binary::mul;
  for (int k = 0; k < K; ++k) {
    const T* dak = da ? da + k * p.na : nullptr;
    const T* dbk = db ? db + k * p.nb : nullptr;
    T* dyk = dy + k * p.ny;
    for_each_run(p, [&](int64_t iy, int64_t ia, int64_t ib, int64_t n, int64_t sa, int64_t sb) {
      T* yr = dyk + iy;
      if (dak && dbk) {
        // One pass that writes dy (the tangent batches of Integrated
        // Hessians are K times the primal: zero-filling dy and adding each
        // term in its own pass read and wrote it three times).
        const T *dar = dak + ia, *br = b + ib, *dbr = dbk + ib, *ar = a + ia;
        if (mul)
          run_loop(n, sa, sb,
                   [&](int64_t j, int64_t ja, int64_t jb) { yr[j] = dar[ja] * br[jb] + ar[ja] * dbr[jb]; });
        else
          run_loop(n, sa, sb, [&](int64_t j, int64_t ja, int64_t jb) { yr[j] = dar[ja] + dbr[jb]; });
        return;
      }
      if (dak) {
        const T *dar = dak + ia, *br = b + ib;
        if (mul)
          run_loop(n, sa, sb, [&](int64_t j, int64_t ja, int64_t jb) { yr[j] = dar[ja] * br[jb]; });
        else
          run_loop(n, sa, sb, [&](int64_t j, int64_t ja, int64_t) { yr[j] = dar[ja]; });
        return;
      }
      if (dbk) {
        const T *dbr = dbk + ib, *ar = a + ia;
        if (mul)
          run_loop(n, sa, sb, [&](int64_t j, int64_t ja, int64_t jb) { yr[j] = ar[ja] * dbr[jb]; });
        else
          run_loop(n, sa, sb, [&](int64_t j, int64_t, int64_t jb) { yr[j] = dbr[jb]; });
        return;
      }
      for (int64_t j = 0; j < n; ++j) yr[j] = T(0);
    });
  }
}

// gy: ys; ga: as, gb: bs (accumulated; null skipped)
//   add: ga += sum gy       mul: ga += sum gy b,  gb += sum gy a
template <class T>
void binary_backward(Backend, Binary op, const Shape& as, const Shape& bs, const T* a, const T* b, const T* gy,
                     T* ga, T* gb) {
  OpScope prof("binary.bwd", 0, as.numel(), bs.numel());
  const Plan p = make_plan(op, as, bs);
  if (!gy) return;
  const bool mul = op == Binary::mul;
  for_each_run(p, [&](int64_t iy, int64_t ia, int64_t ib, int64_t n, int64_t sa, int64_t sb) {
    const T* g = gy + iy;
    if (ga) {
      if (mul)
        accumulate_run(ga + ia, n, sa, [&](int64_t j) { return g[j] * b[ib + j * sb]; });
      else
        accumulate_run(ga + ia, n, sa, [&](int64_t j) { return g[j]; });
    }
    if (gb) {
      if (mul)
        accumulate_run(gb + ib, n, sb, [&](int64_t j) { return g[j] * a[ia + j * sa]; });
      else
        accumulate_run(gb + ib, n, sb, [&](int64_t j) { return g[j]; });
    }
  });
}

// da: (K, as), db: (K, bs), dgy: (K, ys) (each may be null); dga: (K, as),
// dgb: (K, bs) accumulated.
//   add: dga += sum dgy                 (the backward is linear in gy alone)
//   mul: dga += sum (dgy b + gy db),    dgb += sum (dgy a + gy da)
template <class T>
void binary_backward_tangent(Backend, Binary op, const Shape& as, const Shape& bs, int K, const T* a,
                             const T* b, const T* da, const T* db, const T* gy, const T* dgy, T* dga, T* dgb) {
  OpScope prof("binary.bwd_tangent", 0, int64_t(K) * as.numel(), bs.numel());
  const Plan p = make_plan(op, as, bs);
  const bool mul = op == Binary::mul;
  for (int k = 0; k < K; ++k) {
    const T* dgyk = dgy ? dgy + k * p.ny : nullptr;
    // The gy term only exists for mul, and only with the other operand's tangent.
    const T* dak = mul && gy && da ? da + k * p.na : nullptr;
    const T* dbk = mul && gy && db ? db + k * p.nb : nullptr;
    T* dgak = dga ? dga + k * p.na : nullptr;
    T* dgbk = dgb ? dgb + k * p.nb : nullptr;
    for_each_run(p, [&](int64_t iy, int64_t ia, int64_t ib, int64_t n, int64_t sa, int64_t sb) {
      const T* g = gy ? gy + iy : nullptr;
      const T* dg = dgyk ? dgyk + iy : nullptr;
      if (dgak) {
        accumulate_run(dgak + ia, n, sa, [&](int64_t j) {
          T v = 0;
          if (dg) v += mul ? dg[j] * b[ib + j * sb] : dg[j];
          if (dbk) v += g[j] * dbk[ib + j * sb];
          return v;
        });
      }
      if (dgbk) {
        accumulate_run(dgbk + ib, n, sb, [&](int64_t j) {
          T v = 0;
          if (dg) v += mul ? dg[j] * a[ia + j * sa] : dg[j];
          if (dak) v += g[j] * dak[ia + j * sa];
          return v;
        });
      }
    });
  }
}

#define WL_INSTANTIATE(T)                                                                                      \
  template void binary_forward<T>(Backend, Binary, const Shape&, const Shape&, const T*, const T*, T*);        \
  template void binary_tangent<T>(Backend, Binary, const Shape&, const Shape&, int, const T*, const T*,        \
                                  const T*, const T*, T*);                                                     \
  template void binary_backward<T>(Backend, Binary, const Shape&, const Shape&, const T*, const T*, const T*, \
                                   T*, T*);                                                                    \
  template void binary_backward_tangent<T>(Backend, Binary, const Shape&, const Shape&, int, const T*,         \
                                           const T*, const T*, const T*, const T*, const T*, T*, T*);
WL_INSTANTIATE(float)
WL_INSTANTIATE(double)
#undef WL_INSTANTIATE

}  // namespace wordlight::ops
