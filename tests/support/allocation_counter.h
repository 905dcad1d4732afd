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

/// Bytes allocated through operator new (plain and aligned) and not yet deleted, as the C
/// library sizes the blocks (malloc_usable_size: the request rounded up a little). Counts every
/// thread's allocations.
long heapBytesInUse();

/// The most heapBytesInUse() has been since the last resetHeapPeak() (or since the start).
/// Measures what a call needs at its worst, even when it frees everything before returning:
///
///     resetHeapPeak();
///     const long base = heapBytesInUse();
///     decode(body);
///     EXPECT_LT(heapPeakBytes() - base, 1 << 20);
long heapPeakBytes();

/// Starts a new peak at the bytes in use now.
void resetHeapPeak();

}  // namespace aimass::testing
