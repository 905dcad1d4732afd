// SPDX-License-Identifier: Apache-2.0
#include "allocation_counter.h"

#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<long> g_allocations{0};
std::atomic<long> g_bytes{0};
std::atomic<long> g_peak{0};

void* counted(void* p) {
  if (p == nullptr) {
    throw std::bad_alloc();
  }
  ++g_allocations;
  const long now = g_bytes += static_cast<long>(malloc_usable_size(p));
  long peak = g_peak.load(std::memory_order_relaxed);
  while (now > peak && !g_peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
  return p;
}

void release(void* p) {
  if (p != nullptr) {
    g_bytes -= static_cast<long>(malloc_usable_size(p));
    std::free(p);
  }
}
}  // namespace

// GCC sees free() on memory from operator new once these replacements are inlined; they are a
// matched pair, so the warning does not apply.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) { return counted(std::malloc(size ? size : 1)); }
void* operator new(std::size_t size, std::align_val_t alignment) {
  const auto align = static_cast<std::size_t>(alignment);
  // aligned_alloc wants a size that is a multiple of the alignment.
  return counted(std::aligned_alloc(align, ((size ? size : 1) + align - 1) / align * align));
}
void operator delete(void* p) noexcept { release(p); }
void operator delete(void* p, std::size_t) noexcept { release(p); }
void operator delete(void* p, std::align_val_t) noexcept { release(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { release(p); }
#pragma GCC diagnostic pop

namespace aimass::testing {

long heapAllocations() { return g_allocations.load(); }

long heapBytesInUse() { return g_bytes.load(); }

long heapPeakBytes() { return g_peak.load(); }

void resetHeapPeak() { g_peak.store(g_bytes.load()); }

}  // namespace aimass::testing
