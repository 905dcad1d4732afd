// SPDX-License-Identifier: Apache-2.0
#include "aimass/compute/precision.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>

#include "context_impl.h"

namespace aimass::compute {

std::string_view precisionName(Precision precision) noexcept {
  return precision == Precision::kBFloat16 ? "bf16" : "fp32";
}

std::optional<Precision> precisionFromName(std::string_view name) noexcept {
  if (name == "fp32") {
    return Precision::kFloat32;
  }
  if (name == "bf16") {
    return Precision::kBFloat16;
  }
  return std::nullopt;
}

namespace {

/// The effective ISA as dnnl_cpu_isa_t's bit mask: each ISA's value includes the bits of those
/// it extends, so "has bf16" is a mask test, true for AMX too.
unsigned effectiveIsa() noexcept {
  try {
    return static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  } catch (...) {
    return 0;
  }
}

}  // namespace

bool bfloat16Supported() noexcept {
  constexpr unsigned kBf16 = dnnl_cpu_isa_avx512_core_bf16;
  return (effectiveIsa() & kBf16) == kBf16;
}

std::string cpuIsaName() {
  switch (effectiveIsa()) {
    case dnnl_cpu_isa_sse41:
      return "sse41";
    case dnnl_cpu_isa_avx:
      return "avx";
    case dnnl_cpu_isa_avx2:
      return "avx2";
    case dnnl_cpu_isa_avx2_vnni:
      return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core:
      return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni:
      return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16:
      return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx:
      return "avx512_core_amx";
    default:
      return "isa mask " + std::to_string(effectiveIsa());
  }
}

namespace {

/// Sixteen values at a time with AVX512-BF16's own conversion (round to nearest even, NaN kept
/// quiet), the rest one by one.
__attribute__((target("avx512bf16,avx512f,avx512vl"))) std::int64_t toBFloat16Native(
    const float* src, std::uint16_t* out, std::int64_t n) noexcept {
  std::int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256bh packed = _mm512_cvtneps_pbh(_mm512_loadu_ps(src + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), reinterpret_cast<const __m256i&>(packed));
  }
  return i;
}

const bool kNativeBf16 = __builtin_cpu_supports("avx512bf16");

}  // namespace

// The loops are branch-free so GCC vectorises them for each clone; CPUs with AVX512-BF16 take
// its conversion instruction instead.
__attribute__((target_clones("avx512f", "avx2", "default"))) void toBFloat16(
    const float* src, BFloat16* dst, std::int64_t n) noexcept {
  static_assert(sizeof(BFloat16) == 2);
  std::uint16_t* out = reinterpret_cast<std::uint16_t*>(dst);
  const std::int64_t done = kNativeBf16 ? toBFloat16Native(src, out, n) : 0;
  for (std::int64_t i = done; i < n; ++i) {
    std::uint32_t bits;
    std::memcpy(&bits, src + i, 4);
    // Round to nearest, ties to even: add 0x7fff plus the lowest kept bit, then truncate. A NaN
    // keeps its sign and top bits and is made quiet, so rounding can never turn it into an
    // infinity.
    const std::uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
    const bool nan = (bits & 0x7fffffffu) > 0x7f800000u;
    out[i] = static_cast<std::uint16_t>(nan ? (bits >> 16) | 0x40u : rounded);
  }
}

void toBFloat16(const ComputeContext& context, const float* src, BFloat16* dst,
                std::int64_t n) noexcept {
  const int threads =
      std::min(context.threads(), threadLimit(static_cast<double>(n), kParallelConvertMinimum));
  if (threads <= 1) {
    toBFloat16(src, dst, n);
    return;
  }
  // Slices of whole 64-byte lines of the output, so no two threads write one line.
  const std::int64_t slice = ((n + threads - 1) / threads + 31) / 32 * 32;
#pragma omp parallel for num_threads(threads) schedule(static, 1)
  for (int t = 0; t < threads; ++t) {
    const std::int64_t begin = std::min(n, t * slice);
    toBFloat16(src + begin, dst + begin, std::min(n, begin + slice) - begin);
  }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void fromBFloat16(
    const BFloat16* src, float* dst, std::int64_t n) noexcept {
  const std::uint16_t* in = reinterpret_cast<const std::uint16_t*>(src);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::uint32_t bits = static_cast<std::uint32_t>(in[i]) << 16;
    std::memcpy(dst + i, &bits, 4);
  }
}

Expected<Precision> trainingPrecision(std::string_view value) {
  if (value == "auto") {
    return bfloat16Supported() ? Precision::kBFloat16 : Precision::kFloat32;
  }
  auto precision = precisionFromName(value);
  if (!precision) {
    return invalidArgument("precision must be fp32, bf16 or auto, got '" + std::string(value) +
                           "'");
  }
  if (*precision == Precision::kBFloat16 && !bfloat16Supported()) {
    return invalidArgument(
        "precision: bf16 needs a CPU with AVX512-BF16, but oneDNN's effective ISA here is " +
        cpuIsaName() + "; use fp32, or auto to pick bf16 only where the CPU has it");
  }
  return *precision;
}

std::string autoPrecisionNote(Precision chosen) {
  return "precision auto: training in " + std::string(precisionName(chosen)) +
         " (oneDNN's effective CPU ISA: " + cpuIsaName() + ")";
}

}  // namespace aimass::compute
