// Shapes, broadcasting and the arena.
#include <gtest/gtest.h>

#include "check_util.h"
#include "wordlight/arena.h"
#include "wordlight/shape.h"

using namespace wordlight;

TEST(Shape, BasicsAndPrinting) {
  Shape s{2, 3, 4};
  EXPECT_EQ(s.rank, 3);
  EXPECT_EQ(s.numel(), 24);
  EXPECT_EQ(s[-1], 4);
  EXPECT_EQ(s.prod(1, 3), 12);
  EXPECT_EQ(s.str(), "(2, 3, 4)");
  EXPECT_EQ(Shape{5}.str(), "(5,)");
  EXPECT_EQ(Shape{}.numel(), 1);
  EXPECT_EQ(Shape{}.str(), "()");
  EXPECT_ERROR_CONTAINS((Shape{1, 2, 3, 4, 5, 6, 7}), "Shape: rank 7 exceeds 6");
  EXPECT_ERROR_CONTAINS((Shape{2, -1}), "Shape: negative dimension -1");
}

TEST(Shape, Broadcasting) {
  EXPECT_EQ(broadcast_shapes({2, 3, 4}, {4}, "t"), (Shape{2, 3, 4}));
  EXPECT_EQ(broadcast_shapes({2, 1, 4}, {3, 1}, "t"), (Shape{2, 3, 4}));
  EXPECT_EQ(broadcast_shapes({}, {3, 2}, "t"), (Shape{3, 2}));
  EXPECT_EQ(broadcast_shapes({1}, {1}, "t"), (Shape{1}));
  EXPECT_ERROR_CONTAINS(broadcast_shapes({2, 3}, {2}, "mul"), "mul: shapes (2, 3) and (2,) do not broadcast");
}

TEST(Arena, AlignedReusableAndMergesChunks) {
  Arena a(1024);
  float* p = a.alloc<float>(10);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
  double* z = a.alloc<double>(300, true);  // outgrows the first chunk
  for (int i = 0; i < 300; ++i) EXPECT_EQ(z[i], 0.0);
  float* big = a.alloc<float>(5000);
  big[4999] = 1.f;
  const size_t used = a.bytes_in_use();
  EXPECT_GE(used, (10 + 600 + 5000) * 4u);
  a.reset();
  EXPECT_EQ(a.bytes_in_use(), 0u);
  const size_t reserved = a.bytes_reserved();
  EXPECT_GE(reserved, used) << "after reset one chunk holds the whole previous pass";
  // The same pass again fits without new memory.
  a.alloc<float>(10);
  a.alloc<double>(300);
  a.alloc<float>(5000);
  EXPECT_EQ(a.bytes_reserved(), reserved);
}
