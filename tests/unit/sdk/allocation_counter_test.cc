// SPDX-License-Identifier: Apache-2.0
#include "allocation_counter.h"

#include <gtest/gtest.h>

#include <memory>
#include <new>
#include <vector>

namespace aimass::testing {
namespace {

// The no-allocation checks of the optimizer tests rely on the counter seeing every allocation.
TEST(AllocationCounter, CountsEveryOperatorNew) {
  const long before = heapAllocations();
  auto one = std::make_unique<int>(7);
  std::vector<double> values(1000);
  EXPECT_GE(heapAllocations(), before + 2);
  const long after = heapAllocations();
  values.assign(10, 1.0);  // fits in the existing buffer: no new allocation
  EXPECT_EQ(heapAllocations(), after);
}

// The decoder memory tests rely on the peak seeing a block that is gone by the time they look.
TEST(AllocationCounter, PeakBytesKeepTheLargestUseSinceTheReset) {
  resetHeapPeak();
  const long base = heapBytesInUse();
  {
    std::vector<char> big(1 << 20);
    EXPECT_GE(heapBytesInUse() - base, 1 << 20);
    auto* aligned = static_cast<char*>(::operator new(1 << 16, std::align_val_t(64)));
    EXPECT_GE(heapBytesInUse() - base, (1 << 20) + (1 << 16));
    ::operator delete(aligned, std::align_val_t(64));
  }
  EXPECT_LT(heapBytesInUse() - base, 1 << 16);
  EXPECT_GE(heapPeakBytes() - base, (1 << 20) + (1 << 16));
  resetHeapPeak();
  EXPECT_LT(heapPeakBytes() - base, 1 << 16);
}

}  // namespace
}  // namespace aimass::testing
