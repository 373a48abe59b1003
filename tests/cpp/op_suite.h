#pragma once
// The names every op suite (test_ops_*.cpp) uses, brought in at once by
// `using namespace wltest::op_suite;`.
#include "check_util.h"
#include "wordlight/ops.h"

namespace wltest::op_suite {

using wltest::all_close;
using wltest::float_atol;
using wltest::kFloatRtol;
using wltest::random_vec;
using wltest::random_vecf;
using wordlight::Backend;
namespace ops = wordlight::ops;
using Ins = wltest::OpUnderTest::Ins;
using Outs = wltest::OpUnderTest::Outs;

}  // namespace wltest::op_suite
