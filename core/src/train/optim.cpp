// The numeric pieces of training: AdamW, the learning-rate schedule,
// gradient clipping and class weights (train.h).
#include <cmath>
#include <string>

#include "wordlight/error.h"
#include "wordlight/train.h"

namespace wordlight {

void adamw_update(int64_t n, float* param, const float* grad, float* m, float* v, int64_t step, double lr,
                  const AdamWOptions& o, bool decay) {
  if (step < 1) throw Error("adamw: step must count from 1, got " + std::to_string(step));
  const double c1 = 1.0 - std::pow(o.beta1, static_cast<double>(step));
  const double c2 = 1.0 - std::pow(o.beta2, static_cast<double>(step));
  const double shrink = decay ? 1.0 - lr * o.weight_decay : 1.0;
  for (int64_t i = 0; i < n; ++i) {
    const double g = grad[i];
    const double mi = o.beta1 * m[i] + (1.0 - o.beta1) * g;
    const double vi = o.beta2 * v[i] + (1.0 - o.beta2) * g * g;
    m[i] = static_cast<float>(mi);
    v[i] = static_cast<float>(vi);
    // Decoupled decay: shrink the weight itself, not the gradient.
    const double p = param[i] * shrink;
    param[i] = static_cast<float>(p - lr * (mi / c1) / (std::sqrt(vi / c2) + o.eps));
  }
}

bool default_weight_decay(const std::string& name) {
  auto ends_with = [&](const char* s) {
    const std::string suf(s);
    return name.size() >= suf.size() && name.compare(name.size() - suf.size(), suf.size(), suf) == 0;
  };
  if (ends_with("bias")) return false;
  for (const char* norm : {"LayerNorm", "layer_norm", "layernorm"})
    if (name.find(norm) != std::string::npos) return false;
  return true;
}

double linear_schedule(int64_t step, int64_t warmup, int64_t total, double base_lr) {
  if (step < warmup) return base_lr * static_cast<double>(step + 1) / static_cast<double>(warmup);
  if (total <= warmup) return base_lr;
  const double left = static_cast<double>(total - step) / static_cast<double>(total - warmup);
  return base_lr * (left > 0 ? left : 0.0);
}

double clip_grad_norm(const std::vector<float*>& grads, const std::vector<int64_t>& sizes, double max_norm) {
  if (grads.size() != sizes.size()) throw Error("clip_grad_norm: " + std::to_string(grads.size()) + " buffers but " +
                                                std::to_string(sizes.size()) + " sizes");
  double sq = 0;
  for (size_t k = 0; k < grads.size(); ++k)
    for (int64_t i = 0; i < sizes[k]; ++i) sq += static_cast<double>(grads[k][i]) * grads[k][i];
  const double norm = std::sqrt(sq);
  if (max_norm > 0 && norm > max_norm) {
    // torch.nn.utils.clip_grad_norm_ adds 1e-6 to the norm as well.
    const float s = static_cast<float>(max_norm / (norm + 1e-6));
    for (size_t k = 0; k < grads.size(); ++k)
      for (int64_t i = 0; i < sizes[k]; ++i) grads[k][i] *= s;
  }
  return norm;
}

std::vector<float> balanced_class_weights(const std::vector<int32_t>& labels, int C) {
  std::vector<int64_t> count(static_cast<size_t>(C), 0);
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= C)
      throw Error("class weights: label " + std::to_string(labels[i]) + " of example " + std::to_string(i) +
                  " is outside [0, " + std::to_string(C) + ")");
    ++count[labels[i]];
  }
  std::vector<float> w(static_cast<size_t>(C), 1.f);
  for (int c = 0; c < C; ++c)
    if (count[c] > 0)
      w[c] = static_cast<float>(static_cast<double>(labels.size()) / (static_cast<double>(C) * count[c]));
  return w;
}

}  // namespace wordlight
