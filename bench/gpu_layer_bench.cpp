// The GPU path's benchmark (issue 23) until the tape runs on the device: a
// stack of BERT encoder layers (q/k/v/out linear, attention with a padding
// mask, residual adds, LayerNorm, GELU feed-forward), forward and backward
// to the input embeddings (what gradients, IG and LRP need; no weight
// gradients), batch B of T tokens, random weights. The same ops run on the
// Vulkan device (weights uploaded once, activations never leave it, one
// submission per pass) and on the CPU's fast path (ops.h, OpenBLAS), and
// the two input gradients are compared. bench/gpu_layer_torch.py times the
// same computation in PyTorch. IG-50 on B texts costs 50 such passes.
//
//   gpu_layer_bench [--device vulkan|cpu|both] [--B 8] [--T 64] [--hidden 768] [--heads 12]
//                   [--ffn 3072] [--layers 12] [--reps 3] [--out file.jsonl]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "wordlight/error.h"
#include "wordlight/gpu.h"
#include "wordlight/ops.h"

using namespace wordlight;
using Clock = std::chrono::steady_clock;

namespace {

struct Cfg {
  int64_t B = 8, T = 64, D = 768, H = 12, F = 3072, L = 12;
  int reps = 3;
};

struct LayerW {
  std::vector<float> wq, wk, wv, wo, w1, w2, bq, bk, bv, bo, b1, b2, g1, be1, g2, be2;
};

std::vector<float> rnd(int64_t n, std::mt19937& g, float s) {
  std::uniform_real_distribution<float> u(-s, s);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = u(g);
  return v;
}

std::vector<LayerW> make_weights(const Cfg& c) {
  std::mt19937 g(42);
  std::vector<LayerW> ws(static_cast<size_t>(c.L));
  const float sd = 1.0f / std::sqrt(static_cast<float>(c.D)), sf = 1.0f / std::sqrt(static_cast<float>(c.F));
  for (auto& w : ws) {
    w.wq = rnd(c.D * c.D, g, sd), w.wk = rnd(c.D * c.D, g, sd), w.wv = rnd(c.D * c.D, g, sd);
    w.wo = rnd(c.D * c.D, g, sd), w.w1 = rnd(c.F * c.D, g, sd), w.w2 = rnd(c.D * c.F, g, sf);
    w.bq = rnd(c.D, g, 0.1f), w.bk = rnd(c.D, g, 0.1f), w.bv = rnd(c.D, g, 0.1f), w.bo = rnd(c.D, g, 0.1f);
    w.b1 = rnd(c.F, g, 0.1f), w.b2 = rnd(c.D, g, 0.1f);
    w.g1 = rnd(c.D, g, 0.2f), w.g2 = rnd(c.D, g, 0.2f), w.be1 = rnd(c.D, g, 0.1f), w.be2 = rnd(c.D, g, 0.1f);
    for (auto& x : w.g1) x += 1.0f;
    for (auto& x : w.g2) x += 1.0f;
  }
  return ws;
}

// Activations of one layer (CPU: vectors; device: buffers).
template <class Buf>
struct Acts {
  Buf x, q, k, v, probs, a, r1, m1, s1, h1, f1, g, r2, m2, s2, y;
};

// ------------------------------------------------------------ CPU (ops.h fast path)
struct Cpu {
  const Cfg& c;
  const std::vector<LayerW>& w;
  std::vector<Acts<std::vector<float>>> acts;
  std::vector<uint8_t> mask;
  Cpu(const Cfg& c_, const std::vector<LayerW>& w_, const std::vector<uint8_t>& m) : c(c_), w(w_), mask(m) {
    const int64_t R = c.B * c.T;
    acts.resize(static_cast<size_t>(c.L));
    for (auto& a : acts) {
      for (auto* v : {&a.x, &a.q, &a.k, &a.v, &a.a, &a.r1, &a.h1, &a.r2, &a.y}) v->assign(R * c.D, 0.0f);
      for (auto* v : {&a.f1, &a.g}) v->assign(R * c.F, 0.0f);
      for (auto* v : {&a.m1, &a.s1, &a.m2, &a.s2}) v->assign(R, 0.0f);
      a.probs.assign(c.B * c.H * c.T * c.T, 0.0f);
    }
  }
  void pass(const std::vector<float>& x0, std::vector<float>& gx0) {
    const Backend be = Backend::fast;
    const int64_t R = c.B * c.T, D = c.D, F = c.F;
    ops::AttentionDims ad;
    ad.B = c.B, ad.T = c.T, ad.H = c.H, ad.Dh = c.D / c.H;
    const std::vector<float>* in = &x0;
    for (int64_t l = 0; l < c.L; ++l) {
      auto& a = acts[l];
      const auto& W = w[l];
      a.x = *in;
      ops::linear_forward<float>(be, R, D, D, a.x.data(), W.wq.data(), W.bq.data(), a.q.data());
      ops::linear_forward<float>(be, R, D, D, a.x.data(), W.wk.data(), W.bk.data(), a.k.data());
      ops::linear_forward<float>(be, R, D, D, a.x.data(), W.wv.data(), W.bv.data(), a.v.data());
      ops::attention_forward<float>(be, ad, a.q.data(), a.k.data(), a.v.data(), mask.data(), a.probs.data(),
                                    a.a.data());
      ops::linear_forward<float>(be, R, D, D, a.a.data(), W.wo.data(), W.bo.data(), a.r1.data());
      for (int64_t i = 0; i < R * D; ++i) a.r1[i] += a.x[i];
      ops::layernorm_forward<float>(be, R, D, 1e-12f, a.r1.data(), W.g1.data(), W.be1.data(), a.h1.data(),
                                    a.m1.data(), a.s1.data());
      ops::linear_forward<float>(be, R, D, F, a.h1.data(), W.w1.data(), W.b1.data(), a.f1.data());
      ops::unary_forward<float>(be, {ops::Unary::gelu, 1.0}, R * F, a.f1.data(), a.g.data());
      ops::linear_forward<float>(be, R, F, D, a.g.data(), W.w2.data(), W.b2.data(), a.r2.data());
      for (int64_t i = 0; i < R * D; ++i) a.r2[i] += a.h1[i];
      ops::layernorm_forward<float>(be, R, D, 1e-12f, a.r2.data(), W.g2.data(), W.be2.data(), a.y.data(),
                                    a.m2.data(), a.s2.data());
      in = &a.y;
    }
    // backward, seed: ones on the last layer's output
    std::vector<float> gy(R * D, 1.0f), gr2(R * D), gg(R * F), gf1(R * F), gh1(R * D), gr1(R * D), ga(R * D);
    std::vector<float> gq(R * D), gk(R * D), gv(R * D), gx(R * D);
    for (int64_t l = c.L - 1; l >= 0; --l) {
      auto& a = acts[l];
      const auto& W = w[l];
      std::fill(gr2.begin(), gr2.end(), 0.0f);
      ops::layernorm_backward<float>(be, R, D, a.r2.data(), W.g2.data(), a.m2.data(), a.s2.data(), gy.data(),
                                     gr2.data(), nullptr, nullptr);
      std::fill(gg.begin(), gg.end(), 0.0f);
      ops::linear_backward<float>(be, R, F, D, a.g.data(), W.w2.data(), gr2.data(), gg.data(), nullptr, nullptr);
      std::fill(gf1.begin(), gf1.end(), 0.0f);
      ops::unary_backward<float>(be, {ops::Unary::gelu, 1.0}, R * F, a.f1.data(), a.g.data(), gg.data(),
                                 gf1.data());
      gh1 = gr2;
      ops::linear_backward<float>(be, R, D, F, a.h1.data(), W.w1.data(), gf1.data(), gh1.data(), nullptr, nullptr);
      std::fill(gr1.begin(), gr1.end(), 0.0f);
      ops::layernorm_backward<float>(be, R, D, a.r1.data(), W.g1.data(), a.m1.data(), a.s1.data(), gh1.data(),
                                     gr1.data(), nullptr, nullptr);
      std::fill(ga.begin(), ga.end(), 0.0f);
      ops::linear_backward<float>(be, R, D, D, a.a.data(), W.wo.data(), gr1.data(), ga.data(), nullptr, nullptr);
      std::fill(gq.begin(), gq.end(), 0.0f);
      std::fill(gk.begin(), gk.end(), 0.0f);
      std::fill(gv.begin(), gv.end(), 0.0f);
      ops::attention_backward<float>(be, ad, a.q.data(), a.k.data(), a.v.data(), a.probs.data(), ga.data(),
                                     gq.data(), gk.data(), gv.data());
      gx = gr1;
      ops::linear_backward<float>(be, R, D, D, a.x.data(), W.wq.data(), gq.data(), gx.data(), nullptr, nullptr);
      ops::linear_backward<float>(be, R, D, D, a.x.data(), W.wk.data(), gk.data(), gx.data(), nullptr, nullptr);
      ops::linear_backward<float>(be, R, D, D, a.x.data(), W.wv.data(), gv.data(), gx.data(), nullptr, nullptr);
      gy = gx;
    }
    gx0 = gy;
  }
};

// ------------------------------------------------------------ Vulkan
struct Vk {
  const Cfg& c;
  gpu::Device& d;
  struct WB {
    gpu::Buffer wq, wk, wv, wo, w1, w2, bq, bk, bv, bo, b1, b2, g1, be1, g2, be2;
  };
  std::vector<WB> w;
  std::vector<Acts<gpu::Buffer>> acts;
  gpu::Buffer mask, x0, gy, gr2, gg, gf1, gh1, gr1, ga, gq, gk, gv, gx;
  gpu::Buffer up(const std::vector<float>& v) {
    gpu::Buffer b = d.alloc(static_cast<int64_t>(v.size()));
    d.upload(b, v.data(), static_cast<int64_t>(v.size()));
    return b;
  }
  Vk(const Cfg& c_, gpu::Device& d_, const std::vector<LayerW>& W, const std::vector<uint8_t>& m) : c(c_), d(d_) {
    for (const auto& l : W)  // weights uploaded once
      w.push_back({up(l.wq), up(l.wk), up(l.wv), up(l.wo), up(l.w1), up(l.w2), up(l.bq), up(l.bk), up(l.bv),
                   up(l.bo), up(l.b1), up(l.b2), up(l.g1), up(l.be1), up(l.g2), up(l.be2)});
    const int64_t R = c.B * c.T;
    acts.resize(static_cast<size_t>(c.L));
    for (auto& a : acts) {
      for (auto* v : {&a.q, &a.k, &a.v, &a.a, &a.r1, &a.h1, &a.r2, &a.y}) *v = d.alloc(R * c.D);
      for (auto* v : {&a.f1, &a.g}) *v = d.alloc(R * c.F);
      for (auto* v : {&a.m1, &a.s1, &a.m2, &a.s2}) *v = d.alloc(R);
      a.probs = d.alloc(c.B * c.H * c.T * c.T);
    }
    std::vector<int32_t> mi(m.begin(), m.end());
    mask = d.alloc(R);
    d.upload(mask, mi.data(), R);
    x0 = d.alloc(R * c.D);
    for (auto* v : {&gy, &gr2, &gh1, &gr1, &ga, &gq, &gk, &gv, &gx}) *v = d.alloc(R * c.D);
    for (auto* v : {&gg, &gf1}) *v = d.alloc(R * c.F);
  }
  void pass(const std::vector<float>& xin, std::vector<float>& gx0) {
    const int64_t R = c.B * c.T, D = c.D, F = c.F;
    ops::AttentionDims ad;
    ad.B = c.B, ad.T = c.T, ad.H = c.H, ad.Dh = c.D / c.H;
    d.upload(x0, xin.data(), R * D);  // only the input crosses ...
    const gpu::Buffer* in = &x0;
    for (int64_t l = 0; l < c.L; ++l) {
      auto& a = acts[l];
      const auto& W = w[l];
      a.x = *in;
      d.linear_forward(R, D, D, a.x, W.wq, &W.bq, a.q);
      d.linear_forward(R, D, D, a.x, W.wk, &W.bk, a.k);
      d.linear_forward(R, D, D, a.x, W.wv, &W.bv, a.v);
      d.attention_forward(ad, a.q, a.k, a.v, &mask, a.probs, a.a);
      d.linear_forward(R, D, D, a.a, W.wo, &W.bo, a.r1);
      d.add_to(a.x, a.r1, R * D);
      d.layernorm_forward(R, D, 1e-12f, a.r1, W.g1, &W.be1, a.h1, a.m1, a.s1);
      d.linear_forward(R, D, F, a.h1, W.w1, &W.b1, a.f1);
      d.unary_forward({ops::Unary::gelu, 1.0}, R * F, a.f1, a.g);
      d.linear_forward(R, F, D, a.g, W.w2, &W.b2, a.r2);
      d.add_to(a.h1, a.r2, R * D);
      d.layernorm_forward(R, D, 1e-12f, a.r2, W.g2, &W.be2, a.y, a.m2, a.s2);
      in = &a.y;
    }
    d.fill(gy, R * D, 1.0f);
    for (int64_t l = c.L - 1; l >= 0; --l) {
      auto& a = acts[l];
      const auto& W = w[l];
      d.fill(gr2, R * D, 0.0f);
      d.layernorm_backward(R, D, a.r2, W.g2, a.m2, a.s2, gy, &gr2, nullptr, nullptr);
      d.fill(gg, R * F, 0.0f);
      d.linear_backward(R, F, D, a.g, W.w2, gr2, &gg, nullptr, nullptr);
      d.fill(gf1, R * F, 0.0f);
      d.unary_backward({ops::Unary::gelu, 1.0}, R * F, a.f1, gg, gf1);
      d.fill(gh1, R * D, 0.0f);
      d.add_to(gr2, gh1, R * D);
      d.linear_backward(R, D, F, a.h1, W.w1, gf1, &gh1, nullptr, nullptr);
      d.fill(gr1, R * D, 0.0f);
      d.layernorm_backward(R, D, a.r1, W.g1, a.m1, a.s1, gh1, &gr1, nullptr, nullptr);
      d.fill(ga, R * D, 0.0f);
      d.linear_backward(R, D, D, a.a, W.wo, gr1, &ga, nullptr, nullptr);
      for (auto* b : {&gq, &gk, &gv}) d.fill(*b, R * D, 0.0f);
      d.attention_backward(ad, a.q, a.k, a.v, a.probs, ga, &gq, &gk, &gv);
      d.fill(gx, R * D, 0.0f);
      d.add_to(gr1, gx, R * D);
      d.linear_backward(R, D, D, a.x, W.wq, gq, &gx, nullptr, nullptr);
      d.linear_backward(R, D, D, a.x, W.wk, gk, &gx, nullptr, nullptr);
      d.linear_backward(R, D, D, a.x, W.wv, gv, &gx, nullptr, nullptr);
      d.fill(gy, R * D, 0.0f);
      d.add_to(gx, gy, R * D);
    }
    gx0.resize(static_cast<size_t>(R * D));
    d.download(gy, gx0.data(), R * D);  // ... and the gradient comes back: one submission
  }
};

double now_s() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

}  // namespace

int main(int argc, char** argv) {
  Cfg c;
  std::string device = "both", out;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--device") device = v;
    else if (a == "--B") c.B = std::atoll(v.c_str());
    else if (a == "--T") c.T = std::atoll(v.c_str());
    else if (a == "--hidden") c.D = std::atoll(v.c_str());
    else if (a == "--heads") c.H = std::atoll(v.c_str());
    else if (a == "--ffn") c.F = std::atoll(v.c_str());
    else if (a == "--layers") c.L = std::atoll(v.c_str());
    else if (a == "--reps") c.reps = std::atoi(v.c_str());
    else if (a == "--out") out = v;
    else {
      std::fprintf(stderr, "gpu_layer_bench: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (c.D % c.H) {
    std::fprintf(stderr, "gpu_layer_bench: hidden %lld not divisible by heads %lld\n", (long long)c.D,
                 (long long)c.H);
    return 2;
  }
  const auto W = make_weights(c);
  std::mt19937 g(7);
  const auto x0 = rnd(c.B * c.T * c.D, g, 1.0f);
  std::vector<uint8_t> mask(static_cast<size_t>(c.B * c.T), 1);
  for (int64_t b = 1; b < c.B; b += 2)  // every other text ends in padding (a quarter of its length)
    for (int64_t t = c.T - c.T / 4; t < c.T; ++t) mask[b * c.T + t] = 0;
  const std::string shape = "B=" + std::to_string(c.B) + " T=" + std::to_string(c.T) + " layers=" +
                            std::to_string(c.L) + " hidden=" + std::to_string(c.D) + " heads=" +
                            std::to_string(c.H) + " ffn=" + std::to_string(c.F);
  std::vector<float> g_cpu, g_vk;
  double t_cpu = -1, t_vk = -1;
  std::string dev_name;
  // The best of c.reps passes after a warm-up (pipelines, caches).
  auto best_of = [&](auto& impl, std::vector<float>& g) {
    impl.pass(x0, g);
    double best = 1e30;
    for (int r = 0; r < c.reps; ++r) {
      const double t0 = now_s();
      impl.pass(x0, g);
      best = std::min(best, now_s() - t0);
    }
    return best;
  };
  try {
    if (device == "cpu" || device == "both") {
      Cpu cpu(c, W, mask);
      t_cpu = best_of(cpu, g_cpu);
    }
    if (device == "vulkan" || device == "both") {
      auto dev = gpu::Device::open(-1);
      for (char ch : dev->info().name)  // a driver's name, written into JSON
        if (ch != '"' && ch != '\\' && static_cast<unsigned char>(ch) >= 0x20) dev_name += ch;
      Vk vk(c, *dev, W, mask);
      const uint64_t s0 = dev->submissions();
      t_vk = best_of(vk, g_vk);
      std::printf("vulkan: %s, %.1f submissions per pass (uploads included, warm-up too), %.1f MB on the device\n",
                  dev_name.c_str(), double(dev->submissions() - s0) / (c.reps + 1), dev->bytes_allocated() / 1e6);
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "gpu_layer_bench: %s\n", e.what());
    return 1;
  }
  double rel = -1;
  if (!g_cpu.empty() && !g_vk.empty()) {
    double num = 0, den = 0;
    for (size_t i = 0; i < g_cpu.size(); ++i) {
      num = std::max(num, static_cast<double>(std::fabs(g_cpu[i] - g_vk[i])));
      den = std::max(den, static_cast<double>(std::fabs(g_cpu[i])));
    }
    rel = num / (den > 0 ? den : 1);
  }
  std::printf("encoder fwd+bwd to the input, %s\n", shape.c_str());
  if (t_cpu >= 0) std::printf("  cpu (ops.h fast path)  %9.2f ms/pass   IG-50 on B texts ~ %8.2f s\n", t_cpu * 1e3, 50 * t_cpu);
  if (t_vk >= 0) std::printf("  vulkan                 %9.2f ms/pass   IG-50 on B texts ~ %8.2f s\n", t_vk * 1e3, 50 * t_vk);
  if (t_cpu >= 0 && t_vk >= 0) std::printf("  cpu / vulkan = %.2fx\n", t_cpu / t_vk);
  if (rel >= 0) std::printf("  input gradient: max |vulkan - cpu| / max |cpu| = %.2e\n", rel);
  if (!out.empty()) {
    std::ofstream f(out, std::ios::app);
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "{\"bench\":\"gpu_layer\",\"B\":%lld,\"T\":%lld,\"layers\":%lld,\"hidden\":%lld,\"heads\":%lld,"
                  "\"ffn\":%lld,\"cpu_ms\":%.3f,\"vulkan_ms\":%.3f,\"device\":\"%s\",\"grad_rel_err\":%.3e}\n",
                  (long long)c.B, (long long)c.T, (long long)c.L, (long long)c.D, (long long)c.H, (long long)c.F,
                  t_cpu * 1e3, t_vk * 1e3, dev_name.c_str(), rel);
    f << buf;
  }
  return rel > 1e-3 ? 3 : 0;
}
