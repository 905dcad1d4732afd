// SPDX-License-Identifier: Apache-2.0
#pragma once

namespace aimass::testing {

/// Heap allocations made through operator new since the program started. Linking the
/// `aimass_allocation_counter` object library replaces the global operator new/delete, so a
/// test can prove that a hot path (an optimizer step, a predict) allocates nothing:
///
///     const long before = heapAllocations();
///     optimizer.step(params);
///     EXPECT_EQ(heapAllocations(), before);
long heapAllocations();

}  // namespace aimass::testing
