// Training DiffMask's probes (wordlight/diffmask.h) on a frozen classifier,
// on our tape: per step one batch and one layer l; the model runs once on
// the text (the original prediction and the hidden states the probes
// read), the probes' gates 0 .. l are sampled (hard concrete), their
// product masks the word embeddings towards the placeholder, the model
// runs again on the masked input, and the Lagrangian
//   lambda_l (KL(p_orig || p_masked) - eps) + expected L0
// is differentiated by the tape's backward pass into the probes' weights
// (through weight normalisation by hand) and the placeholder. The
// multiplier lambda_l rises by gradient ascent (RMSprop, as the reference's
// optimiser of alpha) and stays in [0, 200].
#include <algorithm>
#include <chrono>
#include <cmath>

#include "wordlight/diffmask.h"
#include "wordlight/error.h"
#include "wordlight/splitmix64.h"
#include "wordlight/train.h"

namespace wordlight {

namespace {

// The trainable tensors of dm, in DiffMask::tensors() order: per probe
// g1, v1, b1, g2, v2, b2, bias; then the placeholder.
struct View {
  float* data;
  size_t n;
  int probe;  // -1: the placeholder
};
std::vector<View> views(DiffMask& dm) {
  std::vector<View> v;
  for (size_t i = 0; i < dm.probes.size(); ++i) {
    DiffMaskProbe& p = dm.probes[i];
    const int k = static_cast<int>(i);
    for (std::vector<float>* t : {&p.g1, &p.v1, &p.b1, &p.g2, &p.v2, &p.b2}) v.push_back({t->data(), t->size(), k});
    v.push_back({&p.bias, 1, k});
  }
  v.push_back({dm.placeholder.data(), dm.placeholder.size(), -1});
  return v;
}

// The gradient of w = g v / |v| (rows of I) back to g and v, from gw = dL/dw.
void weight_norm_backward(const std::vector<float>& g, const std::vector<float>& v, const float* gw, int O, int I,
                          float* dg, float* dv) {
  for (int o = 0; o < O; ++o) {
    double n2 = 0, dot = 0;
    for (int i = 0; i < I; ++i) n2 += double(v[size_t(o) * I + i]) * v[size_t(o) * I + i];
    const double n = std::max(std::sqrt(n2), 1e-12);
    for (int i = 0; i < I; ++i) dot += double(gw[size_t(o) * I + i]) * v[size_t(o) * I + i] / n;
    dg[o] = static_cast<float>(dot);
    for (int i = 0; i < I; ++i)
      dv[size_t(o) * I + i] =
          static_cast<float>(g[size_t(o)] / n * (gw[size_t(o) * I + i] - dot * v[size_t(o) * I + i] / n));
  }
}

TokenBatch pad_batch(const std::vector<std::vector<int32_t>>& texts, const std::vector<size_t>& rows, int32_t pad) {
  TokenBatch b;
  b.B = static_cast<int>(rows.size());
  for (size_t r : rows) b.T = std::max(b.T, static_cast<int>(texts[r].size()));
  b.ids.assign(size_t(b.B) * b.T, pad);
  b.mask.assign(size_t(b.B) * b.T, 0);
  for (int i = 0; i < b.B; ++i) {
    const std::vector<int32_t>& t = texts[rows[size_t(i)]];
    for (size_t k = 0; k < t.size(); ++k) {
      b.ids[size_t(i) * b.T + k] = t[k];
      b.mask[size_t(i) * b.T + k] = 1;
    }
  }
  return b;
}

struct BatchOut {
  std::vector<double> kl, l0, kept;  // per row: KL, mean expected L0, fraction of sampled gates > 0
  std::vector<int> agree;
};

// One batch at layer `layer`: the forward passes, the per-row measures and,
// with `leaves` (training), the loss's backward pass with multiplier lambda.
BatchOut run_batch(Graph<float>& g, const Model& model, const DiffMask& dm, const TokenBatch& batch, int layer,
                   SplitMix64& rng, double lambda, DiffMaskLeaves* leaves) {
  g.clear();
  const int B = batch.B, T = batch.T, C = model.embedding_dim();
  const HardConcrete& hc = dm.config.gate;
  std::vector<float> emb(size_t(B) * T * C);
  model.embed(batch, emb.data());
  Var x = g.input(Shape{B, T, C}, emb.data(), false);
  Var y0 = model.forward(g, x, batch);
  const int K = static_cast<int>(g.shape(y0)[1]);
  const std::vector<Var> hidden = diffmask_hidden_states(g, dm.config.layers);
  const std::vector<Var> la = diffmask_log_alphas(g, dm, hidden, layer, leaves);

  const float lo = static_cast<float>(hc.l), minus_one = -1.f;
  const float shift = static_cast<float>(-hc.beta * std::log(-hc.l / hc.r));
  Var c_lo = g.constant(Shape{1}, &lo), c_m1 = g.constant(Shape{1}, &minus_one), c_shift = g.constant(Shape{1}, &shift);
  Var z, p;
  std::vector<float> noise(size_t(B) * T);
  for (int i = 0; i <= layer; ++i) {
    for (float& n : noise) {
      const double u = std::min(std::max(rng.uniform(), 1e-6), 1 - 1e-6);
      n = static_cast<float>(std::log(u) - std::log1p(-u));
    }
    Var s = g.sigmoid(g.scale(g.add(la[size_t(i)], g.constant(Shape{B, T, 1}, noise.data())), static_cast<float>(1 / hc.beta)));
    Var st = g.add(g.scale(s, static_cast<float>(hc.r - hc.l)), c_lo);
    Var zi = g.add(g.relu(st), g.scale(g.relu(g.add(st, c_m1)), -1.f));  // clamp to [0, 1]
    Var pi = g.sigmoid(g.add(la[size_t(i)], c_shift));                    // P(z_i > 0)
    z = i == 0 ? zi : g.mul(z, zi);
    p = i == 0 ? pi : g.mul(p, pi);
  }
  Var ph = g.input(Shape{C}, dm.placeholder.data(), leaves != nullptr);
  if (leaves) leaves->placeholder = ph;
  Var xm = g.add(ph, g.mul(z, g.add(x, g.scale(ph, -1.f))));
  Var y1 = model.forward(g, xm, batch);
  Var lsm = g.log_softmax(y1);

  BatchOut out;
  out.kl.assign(size_t(B), 0);
  out.l0.assign(size_t(B), 0);
  out.kept.assign(size_t(B), 0);
  out.agree.assign(size_t(B), 0);
  const float* l0v = g.value(y0);
  const float* lmv = g.value(lsm);
  const float* pv = g.value(p);
  const float* zv = g.value(z);
  std::vector<float> w_kl(size_t(B) * K), w_l0(size_t(B) * T, 0.f);
  for (int b = 0; b < B; ++b) {
    double mx = -1e300;
    for (int k = 0; k < K; ++k) mx = std::max(mx, double(l0v[b * K + k]));
    double zsum = 0;
    for (int k = 0; k < K; ++k) zsum += std::exp(l0v[b * K + k] - mx);
    int a0 = 0, a1 = 0;
    for (int k = 0; k < K; ++k) {
      const double lp = l0v[b * K + k] - mx - std::log(zsum);
      out.kl[size_t(b)] += std::exp(lp) * (lp - lmv[b * K + k]);
      w_kl[size_t(b) * K + k] = static_cast<float>(-lambda * std::exp(lp) / B);
      if (l0v[b * K + k] > l0v[b * K + a0]) a0 = k;
      if (lmv[b * K + k] > lmv[b * K + a1]) a1 = k;
    }
    out.agree[size_t(b)] = a0 == a1;
    int len = 0;
    for (int t = 0; t < T; ++t) len += batch.mask[size_t(b) * T + t];
    for (int t = 0; t < T; ++t)
      if (batch.mask[size_t(b) * T + t]) {
        out.l0[size_t(b)] += pv[b * T + t] / len;
        out.kept[size_t(b)] += (zv[b * T + t] > 0 ? 1.0 : 0.0) / len;
        w_l0[size_t(b) * T + t] = 1.f / static_cast<float>(len * B);
      }
  }
  if (leaves) {
    // loss = sum_b lambda/B sum_k -p_orig log p_masked (+ const) + sum_b 1/B mean_t P(z_t > 0)
    Var loss = g.add(g.sum(g.mul(lsm, g.constant(Shape{B, K}, w_kl.data()))),
                     g.sum(g.mul(p, g.constant(Shape{B, T, 1}, w_l0.data()))));
    g.backward(loss);
  }
  return out;
}

// The uniforms, layer and batch of a step come from the seed and the step
// alone, so a resumed run continues as the uninterrupted one would.
SplitMix64 step_rng(uint64_t seed, int64_t step, uint64_t stream) {
  SplitMix64 r{seed * 0x9e3779b97f4a7c15ull ^ (static_cast<uint64_t>(step) * 0xd1b54a32d192ed03ull) ^ stream};
  r.next();
  return r;
}

}  // namespace

void train_diffmask(const Model& model, DiffMask& dm, const std::vector<std::vector<int32_t>>& texts, int32_t pad_id,
                    const DiffMaskTrainOptions& o, DiffMaskTrainState& st, const DiffMaskTrainCallbacks& cb) {
  if (texts.empty()) throw Error("train-diffmask: no training texts");
  if (o.batch_size < 1) throw Error("train-diffmask: batch size must be at least 1");
  const int G = dm.config.layers;
  dm.config.eps = o.eps;
  std::vector<View> vs = views(dm);
  if (st.lambdas.empty()) {
    st.lambdas.assign(size_t(G), 1.0);
    st.lambda_sq.assign(size_t(G), 0.0);
    st.run_kl.assign(size_t(G), 0.0);
    st.run_l0.assign(size_t(G), 1.0);
    st.run_agree.assign(size_t(G), 1.0);
    st.layer_steps.assign(size_t(G), 0);
  }
  if (st.m.size() != vs.size()) {
    st.m.clear();
    st.v.clear();
    for (const View& v : vs) {
      st.m.emplace_back(v.n, 0.f);
      st.v.emplace_back(v.n, 0.f);
    }
  }
  const size_t N = texts.size(), B = std::min(static_cast<size_t>(o.batch_size), N);
  const size_t per_epoch = (N + B - 1) / B;
  std::vector<size_t> lengths(N);
  for (size_t i = 0; i < N; ++i) lengths[i] = texts[i].size();
  Graph<float> g;
  const auto t0 = std::chrono::steady_clock::now();
  int64_t epoch_cached = -1;
  std::vector<size_t> order;
  AdamWOptions adam;
  adam.weight_decay = 0;
  const int H = dm.config.hidden_size, P = dm.config.probe_hidden;
  std::vector<float> dg, dv;
  while (st.step < o.max_steps) {
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (o.max_seconds > 0 && secs >= o.max_seconds) break;
    const int64_t epoch = st.step / static_cast<int64_t>(per_epoch);
    if (epoch != epoch_cached) {
      order = bucketed_order(shuffled_order(N, o.seed + static_cast<uint64_t>(epoch)), lengths, static_cast<int>(B), 50,
                             o.seed + 1000 + static_cast<uint64_t>(epoch));
      epoch_cached = epoch;
    }
    const size_t k = static_cast<size_t>(st.step % static_cast<int64_t>(per_epoch));
    std::vector<size_t> rows(order.begin() + static_cast<long>(k * B), order.begin() + static_cast<long>(std::min(N, (k + 1) * B)));
    const TokenBatch batch = pad_batch(texts, rows, pad_id);
    SplitMix64 rng = step_rng(o.seed, st.step, 1);
    const int layer = static_cast<int>(rng.below(size_t(G)));
    DiffMaskLeaves leaves;
    const BatchOut r = run_batch(g, model, dm, batch, layer, rng, st.lambdas[size_t(layer)], &leaves);

    // The probes' gradients (through weight normalisation) and the
    // placeholder's; probes above the layer took no part and are not
    // updated (torch skips parameters without a gradient).
    const double warm = o.warmup > 0 ? std::min(1.0, double(st.step + 1) / double(o.warmup)) : 1.0;
    std::vector<std::vector<float>> grads(vs.size());
    for (int i = 0; i <= layer; ++i) {
      const DiffMaskProbe& pr = dm.probes[size_t(i)];
      const size_t base = size_t(i) * 7;
      const float* gw1 = g.grad(leaves.w1[size_t(i)]);
      const float* gw2 = g.grad(leaves.w2[size_t(i)]);
      grads[base + 0].assign(pr.g1.size(), 0.f);
      grads[base + 1].assign(pr.v1.size(), 0.f);
      grads[base + 3].assign(pr.g2.size(), 0.f);
      grads[base + 4].assign(pr.v2.size(), 0.f);
      if (gw1) weight_norm_backward(pr.g1, pr.v1, gw1, P, 2 * H, grads[base + 0].data(), grads[base + 1].data());
      if (gw2) weight_norm_backward(pr.g2, pr.v2, gw2, 1, P, grads[base + 3].data(), grads[base + 4].data());
      auto take = [&](size_t slot, Var v, size_t n) {
        const float* gr = g.grad(v);
        grads[slot].assign(n, 0.f);
        if (gr) std::copy(gr, gr + n, grads[slot].begin());
      };
      take(base + 2, leaves.b1[size_t(i)], pr.b1.size());
      take(base + 5, leaves.b2[size_t(i)], pr.b2.size());
      take(base + 6, leaves.bias[size_t(i)], 1);
    }
    {
      const float* gp = g.grad(leaves.placeholder);
      grads.back().assign(dm.placeholder.size(), 0.f);
      if (gp) std::copy(gp, gp + dm.placeholder.size(), grads.back().begin());
    }
    ++st.layer_steps[size_t(layer)];
    for (size_t s = 0; s < vs.size(); ++s) {
      if (grads[s].empty()) continue;
      const bool ph = vs[s].probe < 0;
      // Adam's step count: the probe's own updates (the placeholder: every step).
      const int64_t n_updates = ph ? st.step + 1 : [&] {
        int64_t c = 0;
        for (int l = vs[s].probe; l < G; ++l) c += st.layer_steps[size_t(l)];
        return c;
      }();
      adamw_update(static_cast<int64_t>(vs[s].n), vs[s].data, grads[s].data(), st.m[s].data(), st.v[s].data(), n_updates,
                   (ph ? o.lr_placeholder : o.lr) * warm, adam, false);
    }
    // The multiplier: gradient ascent on lambda (d loss / d lambda = mean KL - eps).
    double kl = 0, l0 = 0, agree = 0;
    for (size_t b = 0; b < r.kl.size(); ++b) {
      kl += r.kl[b] / double(r.kl.size());
      l0 += r.l0[b] / double(r.kl.size());
      agree += r.agree[b] / double(r.kl.size());
    }
    const double gl = kl - o.eps;
    double& sq = st.lambda_sq[size_t(layer)];
    sq = 0.99 * sq + 0.01 * gl * gl;
    double& lam = st.lambdas[size_t(layer)];
    lam = std::min(200.0, std::max(0.0, lam + o.lr_lambda * gl / (std::sqrt(sq) + 1e-8)));
    st.run_kl[size_t(layer)] = 0.9 * st.run_kl[size_t(layer)] + 0.1 * kl;
    st.run_l0[size_t(layer)] = 0.9 * st.run_l0[size_t(layer)] + 0.1 * l0;
    st.run_agree[size_t(layer)] = 0.9 * st.run_agree[size_t(layer)] + 0.1 * agree;
    ++st.step;
    if (cb.on_step && (st.step % std::max(1, o.log_every) == 0 || st.step == o.max_steps)) {
      DiffMaskProgress pr;
      pr.step = st.step;
      pr.total = o.max_steps;
      pr.layer = layer;
      pr.kl = kl;
      pr.l0 = l0;
      pr.agreement = agree;
      pr.lambda = lam;
      pr.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      cb.on_step(pr, st);
    }
    if (cb.on_checkpoint && o.checkpoint_every > 0 && st.step % o.checkpoint_every == 0) cb.on_checkpoint(dm, st);
  }
}

std::vector<DiffMaskEvalLayer> evaluate_diffmask(const Model& model, const DiffMask& dm,
                                                 const std::vector<std::vector<int32_t>>& texts, int32_t pad_id,
                                                 int batch_size) {
  if (texts.empty()) throw Error("diffmask: no texts to evaluate on");
  const int G = dm.config.layers;
  std::vector<DiffMaskEvalLayer> out(static_cast<size_t>(G));
  Graph<float> g;
  const size_t N = texts.size(), B = static_cast<size_t>(std::max(1, batch_size));
  for (int l = 0; l < G; ++l) {
    for (size_t s = 0; s < N; s += B) {
      std::vector<size_t> rows;
      for (size_t i = s; i < std::min(N, s + B); ++i) rows.push_back(i);
      SplitMix64 rng = step_rng(12345, static_cast<int64_t>(s), static_cast<uint64_t>(l) + 7);
      const BatchOut r = run_batch(g, model, dm, pad_batch(texts, rows, pad_id), l, rng, 0, nullptr);
      for (size_t b = 0; b < rows.size(); ++b) {
        out[size_t(l)].kl += r.kl[b] / double(N);
        out[size_t(l)].l0 += r.l0[b] / double(N);
        out[size_t(l)].kept += r.kept[b] / double(N);
        out[size_t(l)].agreement += r.agree[b] / double(N);
      }
    }
  }
  return out;
}

}  // namespace wordlight
