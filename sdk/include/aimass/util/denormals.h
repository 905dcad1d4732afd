// SPDX-License-Identifier: Apache-2.0
// Denormal floats read and written as zero for one scope, on the calling thread.
//
// Why: an optimizer's state decays geometrically wherever a gradient stays zero (Adam's moments
// by beta1 and beta2 per step, momentum buffers by the momentum). Fashion-MNIST's border pixels
// are zero in every image, so the first layer's rows for them get zero gradients, and within a
// few hundred steps their moments fall below FLT_MIN into the denormal range, where each
// operation on x86 takes a microcode assist of about a hundred cycles. W1's Adam update grew from
// a tenth to a third of an epoch that way, epoch after epoch (0.26 to 0.38 s/epoch over five
// epochs). Below FLT_MIN (1.2e-38) a value makes no difference to the parameters it updates:
// Adam's step is step_size * m / (sqrt(v) + eps) with eps >= 1e-8.
//
// Use: `aimass::DenormalsAsZero scope;` at the top of an element-wise update loop, on each
// thread that runs it (the setting is per thread: OpenMP workers need their own). x86-64 sets
// MXCSR's flush-to-zero and denormals-are-zero bits and puts back the caller's MXCSR on exit
// (exception flags raised inside the scope are not kept); on other architectures it does nothing.
// The results stay deterministic: the same inputs give the same bits, so resuming from a checkpoint
// still repeats an uninterrupted run.
#pragma once

#if defined(__x86_64__) || defined(_M_X64)
#include <xmmintrin.h>
#endif

namespace aimass {

class DenormalsAsZero {
 public:
#if defined(__x86_64__) || defined(_M_X64)
  DenormalsAsZero() noexcept : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kFlushToZero | kAsZero); }
  ~DenormalsAsZero() { _mm_setcsr(saved_); }
#else
  DenormalsAsZero() noexcept = default;
#endif
  DenormalsAsZero(const DenormalsAsZero&) = delete;
  DenormalsAsZero& operator=(const DenormalsAsZero&) = delete;

 private:
#if defined(__x86_64__) || defined(_M_X64)
  static constexpr unsigned kFlushToZero = 0x8000;  // MXCSR.FTZ: denormal results become 0
  static constexpr unsigned kAsZero = 0x0040;       // MXCSR.DAZ: denormal inputs read as 0
  unsigned saved_;
#endif
};

}  // namespace aimass
