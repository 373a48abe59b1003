// Whole explanations on the device (ExplainRequest::device = vulkan) equal
// the CPU's to 1e-4 on each shipped classifier with a device path:
// sst2-bert (the encoder), gpt2-sst2 (the decoder: causal attention,
// gelu_new, last-token pooling) and 20news-cnn, by integrated gradients (a
// batched forward and backward per step batch), LRP (the backward mode and
// its absorbed account) and occlusion (batched forwards). Short texts and
// few steps keep them to seconds on lavapipe. Device errors (no driver, out
// of device memory) come through explain() as errors naming the device, and
// only auto falls back to the CPU. Skipped with the reason when no Vulkan
// device exists, failed then under CI=true.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "wordlight/device_tape.h"
#include "wordlight/error.h"
#include "wordlight/explain.h"
#include "wordlight/generate.h"
#include "wordlight/gpu.h"
#include "wordlight/model_files.h"
#include "gpu_test_util.h"

using namespace wordlight;

namespace {

const LoadedModel& shipped(const std::string& name) {
  static std::map<std::string, LoadedModel> m;
  auto it = m.find(name);
  if (it == m.end()) it = m.emplace(name, load_model_directory(std::string(WORDLIGHT_SOURCE_DIR) + "/models/" + name)).first;
  return it->second;
}

Explanation run(const std::string& model, const std::string& text, const std::string& method, MethodOptions opts,
                const std::string& device) {
  const LoadedModel& m = shipped(model);
  ExplainRequest r;
  r.method = method;
  r.options = std::move(opts);
  r.device = device;
  return explain(*m.model, *m.tokenizer, text, r);
}

// Token scores, the prediction and the method's checks within 1e-4 of the
// CPU's, relative to the largest |score| (and |value| for the checks).
void expect_same(const Explanation& dev, const Explanation& cpu, const std::string& what) {
  EXPECT_EQ(dev.device.rfind("vulkan:", 0), 0u) << what << ": ran on " << dev.device;
  EXPECT_EQ(cpu.device, "cpu") << what;
  ASSERT_EQ(dev.tokens.size(), cpu.tokens.size()) << what;
  double scale = 0;
  for (const auto& t : cpu.tokens) scale = std::max(scale, std::fabs(t.score));
  ASSERT_GT(scale, 0) << what;
  for (size_t i = 0; i < cpu.tokens.size(); ++i)
    EXPECT_NEAR(dev.tokens[i].score, cpu.tokens[i].score, 1e-4 * scale) << what << ": token " << i << " '"
                                                                         << cpu.tokens[i].token << "'";
  ASSERT_EQ(dev.prediction.logits.size(), cpu.prediction.logits.size());
  for (size_t c = 0; c < cpu.prediction.logits.size(); ++c)
    EXPECT_NEAR(dev.prediction.logits[c], cpu.prediction.logits[c], 1e-4 * (1 + std::fabs(cpu.prediction.logits[c])))
        << what;
  EXPECT_EQ(dev.prediction.label, cpu.prediction.label) << what;
  // Checks by name; LRP's absorbed:* kinds that only float rounding fed
  // (an op absorbing 1e-9) may be listed on one side only, and count as 0.
  std::map<std::string, std::pair<double, double>> checks;
  double ref = 0;
  for (const auto& c : cpu.checks) {
    checks[c.name].second = c.value;
    ref = std::max(ref, std::fabs(c.reference));
  }
  for (const auto& c : dev.checks) checks[c.name].first = c.value;
  for (const auto& [name, v] : checks)
    EXPECT_NEAR(v.first, v.second, 1e-4 * (scale + ref)) << what << ": check " << name;
  EXPECT_EQ(dev.model_evaluations, cpu.model_evaluations) << what;
}

struct Case {
  const char* model;
  const char* text;
};
const Case kCases[] = {{"sst2-bert", "a gripping, funny and moving film"},
                       {"20news-cnn", "the rocket launch was delayed by nasa engineers"},
                       {"gpt2-sst2", "a gripping, funny and moving film"}};

}  // namespace

TEST(GpuExplain, IntegratedGradientsOnTheDeviceEqualsTheCpu) {
  NEED_DEVICE();
  for (const Case& c : kCases) {
    const MethodOptions o{{"steps", "8"}, {"adaptive", "false"}, {"batch-size", "8"}};
    const Explanation cpu = run(c.model, c.text, "integrated-gradients", o, "cpu");
    const Explanation on = run(c.model, c.text, "integrated-gradients", o, "vulkan");
    expect_same(on, cpu, std::string(c.model) + " integrated-gradients");
    EXPECT_EQ(on.device.find("on the CPU"), std::string::npos) << on.device;  // every op on the device
  }
}

TEST(GpuExplain, LrpOnTheDeviceEqualsTheCpu) {
  NEED_DEVICE();
  for (const Case& c : kCases) {
    const Explanation cpu = run(c.model, c.text, "lrp", {}, "cpu");
    const Explanation on = run(c.model, c.text, "lrp", {}, "vulkan");
    expect_same(on, cpu, std::string(c.model) + " lrp");
  }
  // The CNN's z-plus rule has no shader: its linear and conv1d nodes run on
  // the CPU one by one, and the result is still the CPU's.
  const Case& cnn = kCases[1];
  const Explanation cpu = run(cnn.model, cnn.text, "lrp", {{"rule", "z-plus"}}, "cpu");
  const Explanation on = run(cnn.model, cnn.text, "lrp", {{"rule", "z-plus"}}, "vulkan");
  expect_same(on, cpu, "20news-cnn lrp z-plus");
  EXPECT_NE(on.device.find("(z-plus)"), std::string::npos) << on.device;
}

TEST(GpuExplain, BatchedForwardsOnTheDeviceEqualTheCpu) {
  NEED_DEVICE();
  for (const Case& c : kCases) {
    const Explanation cpu = run(c.model, c.text, "occlusion", {}, "cpu");
    const Explanation on = run(c.model, c.text, "occlusion", {}, "vulkan");
    expect_same(on, cpu, std::string(c.model) + " occlusion");
  }
}

// Layer relevance runs on the CPU from the prediction's graph, which the
// device computed and hands over (DeviceTape::to_host).
TEST(GpuExplain, CpuPassesOnTheDevicesGraphEqualTheCpu) {
  NEED_DEVICE();
  const Case& cnn = kCases[1];
  const Explanation cpu = run(cnn.model, cnn.text, "layer-relevance", {}, "cpu");
  const Explanation on = run(cnn.model, cnn.text, "layer-relevance", {}, "vulkan");
  expect_same(on, cpu, "20news-cnn layer-relevance");
}

TEST(GpuExplain, NoDeviceIsAnErrorUnlessAuto) {
  NEED_DEVICE();
  std::string msg;
  Explanation fell;
  {
    gpu_test::ScopedEnv no_driver("VK_ICD_FILENAMES", "/nonexistent/wordlight_no_driver.json");
    try {
      run("20news-cnn", kCases[1].text, "gradient", {}, "vulkan");
    } catch (const Error& e) {
      msg = e.what();
    }
    fell = run("20news-cnn", kCases[1].text, "gradient", {}, "auto");
  }
  EXPECT_NE(msg.find("explain: device vulkan"), std::string::npos) << msg;
  EXPECT_EQ(fell.device.rfind("cpu (auto: ", 0), 0u) << fell.device;
  const Explanation cpu = run("20news-cnn", kCases[1].text, "gradient", {}, "cpu");
  for (size_t i = 0; i < cpu.tokens.size(); ++i) EXPECT_EQ(fell.tokens[i].score, cpu.tokens[i].score);
}

TEST(GpuExplain, OutOfDeviceMemoryIsAnErrorUnlessAuto) {
  NEED_DEVICE();
  std::string msg;
  Explanation fell;
  {
    // below sst2-bert's weights (about 2.6 M floats)
    gpu_test::ScopedEnv tiny("WORDLIGHT_VULKAN_MEMORY_LIMIT", "256k");
    try {
      run("sst2-bert", kCases[0].text, "gradient", {}, "vulkan");
    } catch (const gpu::DeviceError& e) {
      msg = e.what();
    } catch (const Error& e) {
      msg = std::string("not a DeviceError: ") + e.what();
    }
    fell = run("sst2-bert", kCases[0].text, "gradient", {}, "auto");
  }
  EXPECT_NE(msg.find("out of device memory"), std::string::npos) << msg;
  EXPECT_NE(msg.find("WORDLIGHT_VULKAN_MEMORY_LIMIT"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--device auto"), std::string::npos) << msg;
  EXPECT_EQ(fell.device.rfind("cpu (auto: ", 0), 0u) << fell.device;
  EXPECT_NE(fell.device.find("out of device memory"), std::string::npos) << fell.device;
  const Explanation cpu = run("sst2-bert", kCases[0].text, "gradient", {}, "cpu");
  for (size_t i = 0; i < cpu.tokens.size(); ++i) EXPECT_EQ(fell.tokens[i].score, cpu.tokens[i].score);
}

// Explaining what gpt2-small generates (explain_generation) on the device:
// the batched rows (gradient x input and LRP, several target positions in
// one pass on the device tape) and the per-row methods (IG through
// explain() with the request's device) give the CPU's matrix to 1e-4 of
// its largest cell, and say where they ran.
TEST(GpuExplain, GenerationExplanationsOnTheDeviceEqualTheCpu) {
  NEED_DEVICE();
  const LoadedModel& lm = shipped("gpt2-small");
  GenerateOptions o;
  o.max_new_tokens = 4;
  o.ignore_eos = true;
  const Generation gen = generate(*lm.model, *lm.tokenizer, "The film was", o);
  for (const char* method : {"gradient-x-input", "lrp", "integrated-gradients"}) {
    GenerationExplainRequest r;
    r.method = method;
    if (std::string(method) == "integrated-gradients") r.options = {{"steps", "8"}, {"adaptive", "false"}};
    r.device = "cpu";
    const GenerationExplanation cpu = explain_generation(*lm.model, *lm.tokenizer, gen, r);
    r.device = "vulkan";
    const GenerationExplanation on = explain_generation(*lm.model, *lm.tokenizer, gen, r);
    EXPECT_EQ(cpu.device, "cpu") << method;
    EXPECT_EQ(on.device.rfind("vulkan:", 0), 0u) << method << ": ran on " << on.device;
    ASSERT_EQ(on.matrix.size(), cpu.matrix.size()) << method;
    double scale = 0;
    for (double v : cpu.matrix) scale = std::max(scale, std::fabs(v));
    ASSERT_GT(scale, 0) << method;
    for (size_t i = 0; i < cpu.matrix.size(); ++i)
      EXPECT_NEAR(on.matrix[i], cpu.matrix[i], 1e-4 * scale) << method << ": cell " << i;
    ASSERT_EQ(on.explained.size(), cpu.explained.size()) << method;
    for (size_t i = 0; i < cpu.explained.size(); ++i)
      EXPECT_NEAR(on.explained[i], cpu.explained[i], 1e-4 * (1 + std::fabs(cpu.explained[i]))) << method;
    EXPECT_EQ(on.backward_passes, cpu.backward_passes) << method;
  }
}
