// safetensors: round trips through the writer and reader, exact dtype
// conversions, and every kind of bad file with the message it must give.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "check_util.h"
#include "wordlight/error.h"
#include "wordlight/safetensors.h"

using namespace wordlight;

namespace {

std::vector<uint8_t> make_file(const std::string& header, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out;
  out.reserve(8 + header.size() + data.size());
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.push_back(uint8_t(n >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

SafetensorsView parse(const std::vector<uint8_t>& b, const std::string& name = "model.safetensors") {
  return parse_safetensors(b.data(), b.size(), name);
}

uint32_t bits_of(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

}  // namespace

TEST(Safetensors, F32RoundTripKeepsShapesOrderAndMetadata) {
  const std::vector<float> a = {1.5f, -2.f, 3.25f, 0.f, -0.f, 1e-30f};
  const std::vector<float> scalar = {42.f};
  std::vector<TensorToWrite> ts = {
      {"encoder.weight", {2, 3}, a.data(), DType::F32},
      {"bias", {}, scalar.data(), DType::F32},
      {"empty", {0, 4}, nullptr, DType::F32},
  };
  const auto bytes = write_safetensors(ts, {{"format", "pt"}});
  const SafetensorsFile f = load_safetensors(bytes.data(), bytes.size(), "ckpt.safetensors");
  EXPECT_EQ(f.names, (std::vector<std::string>{"encoder.weight", "bias", "empty"}));
  EXPECT_EQ(f.metadata.at("format"), "pt");
  EXPECT_EQ(f.get("encoder.weight").shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(f.get("encoder.weight").stored_dtype, DType::F32);
  const auto& v = f.get("encoder.weight").values;
  ASSERT_EQ(v.size(), 6u);
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(bits_of(v[i]), bits_of(a[i])) << i;
  EXPECT_TRUE(f.get("bias").shape.empty());
  EXPECT_EQ(f.get("bias").values, scalar);
  EXPECT_EQ(f.get("empty").values.size(), 0u);
  EXPECT_ERROR_CONTAINS(f.get("missing"), "ckpt.safetensors: no tensor named 'missing'");
}

TEST(Safetensors, HeaderIsPaddedAndDataAlignedForEveryDtype) {
  const std::vector<float> x = {1, 2, 3};
  const auto bytes = write_safetensors({{"h", {3}, x.data(), DType::F16},
                                        {"f", {3}, x.data(), DType::F32},
                                        {"d", {1}, x.data(), DType::F64},
                                        {"b", {3}, x.data(), DType::BF16}});
  const SafetensorsView v = parse(bytes);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
  EXPECT_EQ(n % 8, 0u);
  for (const auto& e : v.entries) EXPECT_EQ((e.begin - 8 - n) % dtype_size(e.dtype), 0u) << e.name;
  EXPECT_EQ(v.read_f32("h"), x);
  EXPECT_EQ(v.read_f32("b"), x);
  EXPECT_EQ(v.read_f32("d"), std::vector<float>{1});
}

TEST(Safetensors, F16ConversionIsExactForEveryHalf) {
  // Every non-NaN half converts to float32 and back to itself.
  int nans = 0;
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = f16_to_f32(uint16_t(h));
    if (std::isnan(f)) {
      ++nans;
      EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(f))));
      continue;
    }
    ASSERT_EQ(f32_to_f16(f), h) << "half 0x" << std::hex << h;
  }
  EXPECT_EQ(nans, 2 * 1023);
}

TEST(Safetensors, F16KnownValuesSubnormalsInfAndRounding) {
  EXPECT_EQ(f16_to_f32(0x3C00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xC000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x7BFF), 65504.0f);
  EXPECT_EQ(f16_to_f32(0x0400), std::ldexp(1.0f, -14));  // smallest normal
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(f16_to_f32(0x03FF), std::ldexp(1023.0f, -24));
  EXPECT_EQ(f16_to_f32(0x8001), -std::ldexp(1.0f, -24));
  EXPECT_EQ(f16_to_f32(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(f16_to_f32(0xFC00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7E00)));
  EXPECT_EQ(bits_of(f16_to_f32(0x8000)), 0x80000000u);  // -0 stays -0

  // Round to nearest, ties to even.
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);      // tie -> even (down)
  EXPECT_EQ(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);  // tie -> even (up)
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.2f, -11)), 0x3C01);      // past the tie
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7BFF);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7C00);  // rounds to infinity
  EXPECT_EQ(f32_to_f16(1e9f), 0x7C00);
  EXPECT_EQ(f32_to_f16(-1e9f), 0xFC00);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);      // half the smallest subnormal: tie -> 0
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -25)), 0x0002);      // 1.5 units: tie -> even
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -26)), 0x0000);
  EXPECT_EQ(f32_to_f16(std::ldexp(2047.0f, -25)), 0x0400);  // rounds up into the first normal
  EXPECT_EQ(f32_to_f16(std::numeric_limits<float>::denorm_min()), 0x0000);
  EXPECT_EQ(f32_to_f16(std::numeric_limits<float>::quiet_NaN()) & 0x7C00, 0x7C00);
  EXPECT_NE(f32_to_f16(std::numeric_limits<float>::quiet_NaN()) & 0x03FF, 0);
}

TEST(Safetensors, Bf16ConversionIsExactAndRoundsToNearestEven) {
  for (uint32_t b = 0; b < 65536; ++b) {
    const float f = bf16_to_f32(uint16_t(b));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(f))));
      continue;
    }
    ASSERT_EQ(f32_to_bf16(f), b) << "bf16 0x" << std::hex << b;
  }
  EXPECT_EQ(bf16_to_f32(0x3F80), 1.0f);
  EXPECT_EQ(f32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3F80);      // tie -> even
  EXPECT_EQ(f32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3F82);  // tie -> even
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::infinity()), 0x7F80);
  EXPECT_EQ(f32_to_bf16(3.4e38f), 0x7F80);  // past the largest bf16: infinity
}

TEST(Safetensors, HalfPrecisionFilesRoundTripRepresentableValues) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> vals = {0.f, -0.f, 1.f, -2.5f, 65504.f, std::ldexp(1.f, -24), std::ldexp(5.f, -24),
                                   std::ldexp(1.f, -14), inf, -inf, std::nanf("")};
  const std::vector<float> bvals = {0.f, 1.f, -3.f, 0.5f, 3.3895314e38f, inf, -inf, std::nanf(""), std::ldexp(1.f, -133)};
  const auto bytes = write_safetensors({{"h", {11}, vals.data(), DType::F16}, {"b", {9}, bvals.data(), DType::BF16}});
  // The view reads every value, infinities and NaN included;
  // load_safetensors (model weights) refuses them (test_hostile_inputs.cpp).
  const SafetensorsView view = parse(bytes, "half.safetensors");
  EXPECT_EQ(view.entry("h").dtype, DType::F16);
  EXPECT_EQ(view.entry("b").dtype, DType::BF16);
  const std::vector<float> h = view.read_f32("h");
  const std::vector<float> b = view.read_f32("b");
  for (size_t i = 0; i + 1 < vals.size(); ++i) EXPECT_EQ(bits_of(h[i]), bits_of(vals[i])) << i;
  EXPECT_TRUE(std::isnan(h.back()));
  for (size_t i = 0; i < bvals.size(); ++i) {
    if (std::isnan(bvals[i])) {
      EXPECT_TRUE(std::isnan(b[i]));
    } else {
      EXPECT_EQ(bits_of(b[i]), bits_of(bvals[i])) << i;
    }
  }
}

TEST(Safetensors, F64IsConvertedAndIntegerTensorsAreSkipped) {
  // A hand-made file: an F64 vector and an I64 "position_ids" buffer.
  std::vector<uint8_t> data(16 + 16);
  const double d[2] = {0.1, -1e300};
  std::memcpy(data.data(), d, 16);
  const int64_t ids[2] = {0, 1};
  std::memcpy(data.data() + 16, ids, 16);
  const auto bytes = make_file(
      R"({"w":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},)"
      R"("position_ids":{"dtype":"I64","shape":[1,2],"data_offsets":[16,32]}})",
      data);
  // -1e300 is past float32's range: the view reads it as -infinity, and
  // load_safetensors refuses it as a model weight.
  EXPECT_EQ(parse(bytes, "m.safetensors").read_f32("w")[1], -std::numeric_limits<float>::infinity());
  EXPECT_ERROR_CONTAINS(load_safetensors(bytes.data(), bytes.size(), "m.safetensors"),
                        "m.safetensors: tensor 'w' holds -infinity at index [1]");
  std::memcpy(data.data(), d, 8);  // (unchanged 0.1)
  const double small = -1e30;
  std::memcpy(data.data() + 8, &small, 8);
  const auto ok = make_file(
      R"({"w":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},)"
      R"("position_ids":{"dtype":"I64","shape":[1,2],"data_offsets":[16,32]}})",
      data);
  const SafetensorsFile f = load_safetensors(ok.data(), ok.size(), "m.safetensors");
  EXPECT_EQ(f.get("w").values[0], 0.1f);
  EXPECT_EQ(f.get("w").values[1], -1e30f);
  EXPECT_EQ(f.skipped, std::vector<std::string>{"position_ids"});
  EXPECT_FALSE(f.has("position_ids"));
  EXPECT_ERROR_CONTAINS(parse(bytes, "m.safetensors").read_f32("position_ids"),
                        "m.safetensors: tensor 'position_ids' has dtype I64, which does not convert to float32");
}

TEST(Safetensors, FileRoundTrip) {
  const std::string path = ::testing::TempDir() + "wordlight_test_roundtrip.safetensors";
  const std::vector<float> x = wltest::random_vecf(37, 7);
  write_safetensors_file(path, {{"x", {37}, x.data(), DType::F32}});
  const SafetensorsFile f = load_safetensors_file(path);
  EXPECT_EQ(f.get("x").values, x);
  EXPECT_EQ(f.source, path);
  std::remove(path.c_str());
  EXPECT_ERROR_CONTAINS(load_safetensors_file(path), path);
}

TEST(Safetensors, WriterRejectsBadInput) {
  const float x = 1;
  EXPECT_ERROR_CONTAINS(write_safetensors({{"", {1}, &x}}), "invalid tensor name");
  EXPECT_ERROR_CONTAINS(write_safetensors({{"__metadata__", {1}, &x}}), "invalid tensor name");
  EXPECT_ERROR_CONTAINS(write_safetensors({{"a", {1}, &x}, {"a", {1}, &x}}), "tensor 'a' given twice");
  EXPECT_ERROR_CONTAINS(write_safetensors({{"a", {-1}, &x}}), "negative dimension");
  EXPECT_ERROR_CONTAINS(write_safetensors({{"a", {2}, nullptr}}), "has no data");
  EXPECT_ERROR_CONTAINS(write_safetensors({{"a", {1}, &x, DType::I32}}), "can write only");
  EXPECT_ERROR_CONTAINS(write_safetensors({{"bad\xff", {1}, &x}}), "not valid UTF-8");
}

// ---------------------------------------------------------------- bad files

TEST(SafetensorsBadFiles, TooShortForTheLength) {
  const std::vector<uint8_t> b = {1, 2, 3};
  EXPECT_ERROR_CONTAINS(parse(b), "model.safetensors: the file is 3 bytes, too short");
}

TEST(SafetensorsBadFiles, HeaderLengthLargerThanTheFile) {
  auto b = make_file("{}", {});
  b[0] = 200;
  EXPECT_ERROR_CONTAINS(parse(b), "model.safetensors: header length 200 is larger than the file (10 bytes)");
  for (int i = 0; i < 8; ++i) b[i] = 0xFF;  // 2^64 - 1: must not overflow into "fits"
  EXPECT_ERROR_CONTAINS(parse(b), "is larger than the file");
}

TEST(SafetensorsBadFiles, TruncatedFile) {
  const std::vector<float> x = wltest::random_vecf(10, 3);
  auto b = write_safetensors({{"layer.weight", {2, 5}, x.data()}});
  b.resize(b.size() - 4);
  EXPECT_ERROR_CONTAINS(parse(b, "bert/model.safetensors"),
                        "bert/model.safetensors: tensor 'layer.weight': data_offsets [0, 40] reach past the end of "
                        "the data section (36 bytes)");
  b.resize(12);  // inside the header
  EXPECT_ERROR_CONTAINS(parse(b, "bert/model.safetensors"), "bert/model.safetensors: header length");
}

TEST(SafetensorsBadFiles, OffsetPastTheEnd) {
  const auto b = make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", std::vector<uint8_t>(8));
  EXPECT_ERROR_CONTAINS(parse(b), "tensor 'a': data_offsets [8, 12] reach past the end of the data section (8 bytes)");
  const auto huge = make_file(
      R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551612,18446744073709551615]}})", {});
  EXPECT_ERROR_CONTAINS(parse(huge), "reach past the end");
}

TEST(SafetensorsBadFiles, BeginAfterEnd) {
  const auto b = make_file(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}})", std::vector<uint8_t>(4));
  EXPECT_ERROR_CONTAINS(parse(b), "tensor 'a': data_offsets [4, 0] have begin > end");
}

TEST(SafetensorsBadFiles, HeaderThatLiesAboutAShape) {
  const auto b = make_file(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})", std::vector<uint8_t>(20));
  EXPECT_ERROR_CONTAINS(parse(b), "model.safetensors: tensor 'w': shape [2, 3] of F32 needs 24 bytes but "
                                  "data_offsets [0, 20] hold 20");
  const auto h = make_file(R"({"w":{"dtype":"BF16","shape":[3],"data_offsets":[0,8]}})", std::vector<uint8_t>(8));
  EXPECT_ERROR_CONTAINS(parse(h), "shape [3] of BF16 needs 6 bytes");
}

TEST(SafetensorsBadFiles, OverlappingAndDuplicateTensors) {
  const auto o = make_file(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                           R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                           std::vector<uint8_t>(16));
  EXPECT_ERROR_CONTAINS(parse(o), "tensors 'a' [0, 16) and 'b' [8, 16) overlap");
  const auto d = make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                           R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                           std::vector<uint8_t>(8));
  EXPECT_ERROR_CONTAINS(parse(d), "tensor 'a' appears twice in the header");
  // Empty tensors may share an offset with anything.
  const auto e = make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                           R"("z":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}})",
                           std::vector<uint8_t>(4));
  EXPECT_EQ(parse(e).entries.size(), 2u);
}

TEST(SafetensorsBadFiles, HeaderNotAnObjectOrNotJson) {
  EXPECT_ERROR_CONTAINS(parse(make_file("[1, 2]", {})), "the header must be a JSON object, got an array");
  EXPECT_ERROR_CONTAINS(parse(make_file("{\"a\": ", {})), "model.safetensors: the header is not valid JSON");
  EXPECT_ERROR_CONTAINS(parse(make_file("{\"a\": 1}", {})), "tensor 'a': header entry must be an object");
  EXPECT_ERROR_CONTAINS(parse(make_file("{\"a\xff\": {}}", {})), "not valid JSON");
}

TEST(SafetensorsBadFiles, UnknownDtypeAndMissingFields) {
  EXPECT_ERROR_CONTAINS(parse(make_file(R"({"a":{"dtype":"F17","shape":[1],"data_offsets":[0,4]}})",
                                        std::vector<uint8_t>(4))),
                        "tensor 'a': unknown dtype 'F17'");
  EXPECT_ERROR_CONTAINS(parse(make_file(R"({"a":{"dtype":7,"shape":[1],"data_offsets":[0,4]}})", {})),
                        "'dtype' must be a string");
  EXPECT_ERROR_CONTAINS(parse(make_file(R"({"a":{"shape":[1],"data_offsets":[0,4]}})", {})), "missing 'dtype'");
  EXPECT_ERROR_CONTAINS(parse(make_file(R"({"a":{"dtype":"F32","data_offsets":[0,4]}})", {})), "missing 'shape'");
  EXPECT_ERROR_CONTAINS(parse(make_file(R"({"a":{"dtype":"F32","shape":[1]}})", {})), "missing 'data_offsets'");
  EXPECT_ERROR_CONTAINS(parse(make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", {})),
                        "'data_offsets' must be two non-negative integers");
  EXPECT_ERROR_CONTAINS(parse(make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,-4]}})", {})),
                        "'data_offsets' must be two non-negative integers");
}

TEST(SafetensorsBadFiles, NegativeFractionalAndAbsurdDimensions) {
  EXPECT_ERROR_CONTAINS(parse(make_file(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", {})),
                        "tensor 'a': shape [-1] has a dimension that is a negative integer");
  EXPECT_ERROR_CONTAINS(parse(make_file(R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", {})),
                        "a non-integer number");
  EXPECT_ERROR_CONTAINS(parse(make_file(R"({"a":{"dtype":"F32","shape":"12","data_offsets":[0,4]}})", {})),
                        "'shape' must be an array");
  EXPECT_ERROR_CONTAINS(
      parse(make_file(R"({"a":{"dtype":"F32","shape":[4611686018427387905],"data_offsets":[0,4]}})", {})),
      "has an absurd dimension");
  EXPECT_ERROR_CONTAINS(
      parse(make_file(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", {})),
      "has more elements than fit in 64 bits");
  // 2^62 elements of 4 bytes overflow the byte count.
  EXPECT_ERROR_CONTAINS(
      parse(make_file(R"({"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,4]}})", {})),
      "has more elements than fit in 64 bits");
  // A zero dimension makes an overflowing product empty.
  EXPECT_EQ(parse(make_file(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}})", {}))
                .entry("a")
                .numel,
            0u);
}

TEST(SafetensorsBadFiles, BadMetadata) {
  EXPECT_ERROR_CONTAINS(parse(make_file(R"({"__metadata__":[1]})", {})), "'__metadata__' must be an object");
  EXPECT_ERROR_CONTAINS(parse(make_file(R"({"__metadata__":{"format":3}})", {})),
                        "'__metadata__' value of 'format' must be a string");
}
