// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace aimass::plugins::collective {

/// bfloat16 (its 16 bits, the top half of an fp32) to fp32, exactly.
float widenBf16(std::uint16_t bits);
/// fp32 to bfloat16, rounding to nearest, ties to even. NaN stays NaN (quiet); infinities and
/// values that round past the largest finite bfloat16 become infinities.
std::uint16_t roundToBf16(float value);

/// The fp32 scratch a collective reduces bfloat16 buffers in: summing 16-bit values hop by hop
/// (an MPI user-defined op, NCCL's own bf16 type) rounds at every hop, so the result would
/// depend on the number of ranks and the order of the ring. Widening to fp32 once, reducing in
/// fp32 and rounding once at the end gives what Collective::allreduceBf16 promises.
///
/// Threading: not synchronised; one per collective, used by the thread that calls it.
/// Allocation: the buffer grows to the largest span seen and is then reused.
class Bf16Scratch {
 public:
  /// Widens `bits` into the scratch and returns it (bits.size() floats).
  std::span<float> widen(std::span<const std::uint16_t> bits);
  /// Rounds the first bits.size() floats of the scratch (after `scale`, e.g. 1/size for a mean,
  /// applied in fp32) back into `bits`.
  void narrow(std::span<std::uint16_t> bits, float scale = 1.0f) const;

 private:
  std::vector<float> values_;
};

}  // namespace aimass::plugins::collective
