// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "aimass/compute/export.h"
#include "aimass/status.h"

namespace aimass::compute {

class ComputeContext;

/// A bfloat16 number: the top 16 bits of an IEEE binary32 (8 exponent bits, 7 mantissa bits).
/// A distinct type so a bf16 buffer is never passed where floats are expected.
struct BFloat16 {
  std::uint16_t bits = 0;
};

/// What the matrix products of an op read: kFloat32 everywhere, or kBFloat16 sources and weights
/// (results, accumulation, biases and everything element-wise stay FP32).
enum class Precision { kFloat32, kBFloat16 };

/// "fp32", "bf16".
AIMASS_COMPUTE_API std::string_view precisionName(Precision precision) noexcept;
/// The precision named `name` ("fp32" or "bf16"); nullopt otherwise ("auto" is the caller's
/// to resolve, with bfloat16Supported()).
AIMASS_COMPUTE_API std::optional<Precision> precisionFromName(std::string_view name) noexcept;

/// Whether oneDNN runs bf16 products with native instructions on this CPU: its effective ISA
/// (which ONEDNN_MAX_CPU_ISA can lower) includes avx512_core_bf16 (AVX512-BF16; AMX too).
/// Elsewhere oneDNN would emulate them at a fraction of FP32's speed, so callers treat bf16 as
/// unavailable. Thread-safe; the answer is fixed for the process.
AIMASS_COMPUTE_API bool bfloat16Supported() noexcept;
/// oneDNN's effective ISA, for messages and logs: "avx512_core_bf16", "avx2", ...
AIMASS_COMPUTE_API std::string cpuIsaName();

/// The training precision a CPU model's `precision` parameter names: fp32, bf16, or auto (bf16
/// where bfloat16Supported(), else fp32). kInvalidArgument for another value ("precision must
/// be fp32, bf16 or auto, got 'x'"), and for bf16 on a CPU without AVX512-BF16 (naming oneDNN's
/// effective ISA and the alternatives).
AIMASS_COMPUTE_API Expected<Precision> trainingPrecision(std::string_view value);
/// What a node logs when `auto` chose `chosen`: "precision auto: training in bf16 (oneDNN's
/// effective CPU ISA: avx512_core_bf16)".
AIMASS_COMPUTE_API std::string autoPrecisionNote(Precision chosen);

/// dst[i] = src[i] rounded to the nearest bfloat16 (ties to even); NaN stays a (quiet) NaN,
/// infinities stay infinite. Vectorised (AVX-512, AVX2 or plain x86-64, chosen at load time);
/// `src` and `dst` must not overlap. Thread-safe.
AIMASS_COMPUTE_API void toBFloat16(const float* src, BFloat16* dst, std::int64_t n) noexcept;
/// The same, split over `context`'s threads when `n` is large enough to gain from it (a team of
/// threads that has just run an op wakes in far less time than it takes to convert a batch's
/// activations on one). For the caller's thread only: not with another op of the context.
AIMASS_COMPUTE_API void toBFloat16(const ComputeContext& context, const float* src, BFloat16* dst,
                                   std::int64_t n) noexcept;
/// dst[i] = src[i] exactly (every bfloat16 is a float).
AIMASS_COMPUTE_API void fromBFloat16(const BFloat16* src, float* dst, std::int64_t n) noexcept;

}  // namespace aimass::compute
