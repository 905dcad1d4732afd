// SPDX-License-Identifier: Apache-2.0
#include "aimass/util/denormals.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstring>

namespace aimass {
namespace {

/// half * scale, computed at run time (volatile) so the compiler cannot fold it.
float product(float half, float scale) {
  volatile float a = half;
  volatile float b = scale;
  return a * b;
}

#if defined(__x86_64__) || defined(_M_X64)

TEST(DenormalsAsZeroTest, DenormalResultsAndInputsAreZeroInsideTheScope) {
  ASSERT_EQ(std::fpclassify(product(FLT_MIN, 0.5f)), FP_SUBNORMAL) << "the default keeps them";
  {
    const DenormalsAsZero scope;
    EXPECT_EQ(product(FLT_MIN, 0.5f), 0.0f);  // flush to zero: a denormal result
    // A denormal input (made from its bits: arithmetic here would flush it already).
    const unsigned bits = 0x00200000u;  // FLT_MIN / 4, a denormal
    float input;
    static_assert(sizeof input == sizeof bits);
    std::memcpy(&input, &bits, sizeof input);
    EXPECT_EQ(product(input, 1.0f), 0.0f);  // denormals are zero: a denormal input
    EXPECT_EQ(product(FLT_MIN, 2.0f), 2 * FLT_MIN) << "normal numbers are untouched";
  }
  EXPECT_EQ(std::fpclassify(product(FLT_MIN, 0.5f)), FP_SUBNORMAL) << "the caller's mode is back";
}

TEST(DenormalsAsZeroTest, NestedScopesRestoreWhatEachFound) {
  const unsigned before = _mm_getcsr();
  {
    const DenormalsAsZero outer;
    const unsigned inside = _mm_getcsr();
    EXPECT_NE(inside, before);
    {
      const DenormalsAsZero inner;
      EXPECT_EQ(_mm_getcsr(), inside);
    }
    EXPECT_EQ(_mm_getcsr(), inside);
    EXPECT_EQ(product(FLT_MIN, 0.5f), 0.0f);
  }
  EXPECT_EQ(_mm_getcsr(), before);
}

#else

TEST(DenormalsAsZeroTest, ElsewhereTheScopeChangesNothing) {
  const DenormalsAsZero scope;
  EXPECT_EQ(std::fpclassify(product(FLT_MIN, 0.5f)), FP_SUBNORMAL);
}

#endif

}  // namespace
}  // namespace aimass
