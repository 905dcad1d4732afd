// SPDX-License-Identifier: Apache-2.0
#include "allocation_counter.h"

#include <gtest/gtest.h>

#include <memory>
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

}  // namespace
}  // namespace aimass::testing
