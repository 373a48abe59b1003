// The per-op profile (wordlight/op_profile.h): off, nothing is recorded;
// on, each op part is counted with its shape and flops, times are exclusive
// (a scope's time leaves out the scopes inside it), reset clears.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "wordlight/op_profile.h"
#include "wordlight/ops.h"

using namespace wordlight;

namespace {

const OpProfileEntry* find(const std::vector<OpProfileEntry>& v, const std::string& op) {
  for (const OpProfileEntry& e : v)
    if (e.op == op) return &e;
  return nullptr;
}

// Restores the profile's state whatever a test does.
struct ProfileOff {
  ~ProfileOff() {
    op_profile_enable(false);
    op_profile_reset();
  }
};

}  // namespace

TEST(OpProfile, OffRecordsNothing) {
  ProfileOff guard;
  op_profile_enable(false);
  op_profile_reset();
  std::vector<float> x(6 * 4, 0.5f), w(3 * 4, 0.25f), b(3, 1.f), y(6 * 3);
  ops::linear_forward<float>(Backend::fast, 6, 4, 3, x.data(), w.data(), b.data(), y.data());
  EXPECT_TRUE(op_profile_entries().empty());
}

TEST(OpProfile, CountsCallsShapesAndFlopsOfEachPart) {
  ProfileOff guard;
  op_profile_reset();
  op_profile_enable(true);
  std::vector<float> x(6 * 4, 0.5f), w(3 * 4, 0.25f), b(3, 1.f), y(6 * 3);
  for (int i = 0; i < 2; ++i)
    ops::linear_forward<float>(Backend::fast, 6, 4, 3, x.data(), w.data(), b.data(), y.data());
  op_profile_enable(false);
  const auto v = op_profile_entries();
  const OpProfileEntry* gemm = find(v, "linear.fwd.gemm");
  const OpProfileEntry* bias = find(v, "linear.fwd.bias");
  ASSERT_NE(gemm, nullptr);
  ASSERT_NE(bias, nullptr);
  EXPECT_EQ(gemm->calls, 2);
  EXPECT_EQ(gemm->m, 6);
  EXPECT_EQ(gemm->k, 4);
  EXPECT_EQ(gemm->n, 3);
  EXPECT_DOUBLE_EQ(gemm->flops, 2 * 2.0 * 6 * 4 * 3);
  EXPECT_EQ(bias->calls, 2);
  EXPECT_DOUBLE_EQ(bias->flops, 0);
  for (float yi : y) EXPECT_FLOAT_EQ(yi, 1.f + 4 * 0.5f * 0.25f);  // the op still computes
  const std::string json = op_profile_json_lines(",\"tag\":1");
  EXPECT_NE(json.find("\"op\":\"linear.fwd.gemm\",\"m\":6,\"k\":4,\"n\":3,\"calls\":2"), std::string::npos) << json;
  EXPECT_NE(json.find(",\"tag\":1}"), std::string::npos);
  EXPECT_NE(op_profile_table().find("linear.fwd.gemm"), std::string::npos);
  op_profile_reset();
  EXPECT_TRUE(op_profile_entries().empty());
}

TEST(OpProfile, TimesAreExclusiveOfInnerScopes) {
  ProfileOff guard;
  op_profile_reset();
  op_profile_enable(true);
  const auto t0 = std::chrono::steady_clock::now();
  {
    OpScope outer("test.outer", 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    {
      OpScope inner("test.inner", 10, 1, 2, 3);
      std::this_thread::sleep_for(std::chrono::milliseconds(40));
    }
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  op_profile_enable(false);
  const auto v = op_profile_entries();
  const OpProfileEntry* outer = find(v, "test.outer");
  const OpProfileEntry* inner = find(v, "test.inner");
  ASSERT_NE(outer, nullptr);
  ASSERT_NE(inner, nullptr);
  EXPECT_GE(inner->seconds, 0.039);
  EXPECT_GE(outer->seconds, 0.004);
  // Exclusive: the two add up to the wall time at most; were the inner
  // scope's 40 ms also counted in the outer one, they would exceed it by that.
  EXPECT_LE(outer->seconds + inner->seconds, wall + 0.001);
  EXPECT_DOUBLE_EQ(inner->flops, 10);
  EXPECT_EQ(inner->n, 3);
}
