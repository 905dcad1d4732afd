// SPDX-License-Identifier: Apache-2.0
#include "sequences.h"

#include <algorithm>
#include <numeric>

#include "sobol_table.h"

namespace aimass::plugins::optimizer {

namespace {

std::uint32_t reverseBits(std::uint32_t x) {
  x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
  x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
  x = ((x >> 4) & 0x0f0f0f0fu) | ((x & 0x0f0f0f0fu) << 4);
  x = ((x >> 8) & 0x00ff00ffu) | ((x & 0x00ff00ffu) << 8);
  return (x >> 16) | (x << 16);
}

// Owen scrambling by hashing (Burley 2020, after Laine and Karras): on the bit-reversed value,
// each bit is flipped by a hash of the bits below it, that is of the higher digits of the
// point: a nested uniform scramble of the base-2 digits.
std::uint32_t owenScramble(std::uint32_t x, std::uint32_t seed) {
  x = reverseBits(x);
  x += seed;
  x ^= x * 0x6c50b47cu;
  x ^= x * 0xb82f1e52u;
  x ^= x * 0xc7afe638u;
  x ^= x * 0x8d22f6e6u;
  return reverseBits(x);
}

// The first primes, one per Halton dimension.
std::vector<std::uint32_t> firstPrimes(std::size_t count) {
  std::vector<std::uint32_t> primes;
  for (std::uint32_t candidate = 2; primes.size() < count; ++candidate) {
    bool prime = true;
    for (std::uint32_t p : primes) {
      if (p * p > candidate) {
        break;
      }
      prime = prime && candidate % p != 0;
    }
    if (prime) {
      primes.push_back(candidate);
    }
  }
  return primes;
}

constexpr std::size_t kHaltonDimensions = 256;

}  // namespace

bool isPrimitivePolynomial(std::uint32_t degree, std::uint32_t a) {
  if (degree == 0 || degree > 31) {
    return false;
  }
  const std::uint64_t poly = (std::uint64_t{1} << degree) | (std::uint64_t{a} << 1) | 1;
  const std::uint64_t order = (std::uint64_t{1} << degree) - 1;
  // x^k mod poly for k = 1 .. order: primitive iff it first returns to 1 at k = order.
  std::uint64_t value = 1;
  for (std::uint64_t k = 1; k <= order; ++k) {
    value <<= 1;
    if (value & (std::uint64_t{1} << degree)) {
      value ^= poly;
    }
    if (value == 1) {
      return k == order;
    }
  }
  return false;
}

SobolSequence::SobolSequence(std::size_t dimensions, bool scramble, SearchRandom& random) {
  dimensions = std::min(dimensions, maxDimensions());
  directions_.assign(dimensions, std::vector<std::uint32_t>(32));
  for (std::size_t d = 0; d < dimensions; ++d) {
    auto& v = directions_[d];
    if (d == 0) {
      for (std::uint32_t k = 0; k < 32; ++k) {
        v[k] = std::uint32_t{1} << (31 - k);
      }
      continue;
    }
    const sobol::SobolInit& init = sobol::kSobolInit[d - 1];
    const std::uint32_t s = init.degree;
    for (std::uint32_t k = 0; k < 32; ++k) {
      if (k < s) {
        v[k] = init.m[k] << (31 - k);
        continue;
      }
      std::uint32_t next = v[k - s] ^ (v[k - s] >> s);
      for (std::uint32_t i = 1; i < s; ++i) {
        if ((init.a >> (s - 1 - i)) & 1u) {
          next ^= v[k - i];
        }
      }
      v[k] = next;
    }
  }
  if (scramble) {
    for (std::size_t d = 0; d < dimensions; ++d) {
      scramble_seeds_.push_back(static_cast<std::uint32_t>(random.next() >> 32));
    }
  }
}

std::size_t SobolSequence::maxDimensions() { return sobol::kSobolDimensions; }

void SobolSequence::point(std::uint64_t index, std::vector<double>& out) const {
  const auto i = static_cast<std::uint32_t>(index);
  out.resize(directions_.size());
  for (std::size_t d = 0; d < directions_.size(); ++d) {
    std::uint32_t x = 0;
    for (std::uint32_t bit = 0; bit < 32 && (i >> bit) != 0; ++bit) {
      if ((i >> bit) & 1u) {
        x ^= directions_[d][bit];
      }
    }
    if (!scramble_seeds_.empty()) {
      x = owenScramble(x, scramble_seeds_[d]);
    }
    // The middle of the point's 2^-32 cell: strictly inside (0, 1).
    out[d] = (static_cast<double>(x) + 0.5) * (1.0 / 4294967296.0);
  }
}

HaltonSequence::HaltonSequence(std::size_t dimensions, bool scramble, SearchRandom& random) {
  bases_ = firstPrimes(std::min(dimensions, maxDimensions()));
  if (!scramble) {
    return;
  }
  for (std::uint32_t base : bases_) {
    std::vector<std::vector<std::uint16_t>> per_position;
    // Enough digit positions that the next one weighs less than 2^-52.
    for (double weight = 1.0 / base; weight > 0x1p-52; weight /= base) {
      std::vector<std::uint16_t> perm(base);
      std::iota(perm.begin(), perm.end(), std::uint16_t{0});
      for (std::size_t k = base - 1; k > 0; --k) {  // Fisher-Yates
        std::swap(perm[k], perm[random.below(k + 1)]);
      }
      per_position.push_back(std::move(perm));
    }
    permutations_.push_back(std::move(per_position));
  }
}

std::size_t HaltonSequence::maxDimensions() { return kHaltonDimensions; }

void HaltonSequence::point(std::uint64_t index, std::vector<double>& out) const {
  out.resize(bases_.size());
  for (std::size_t d = 0; d < bases_.size(); ++d) {
    const std::uint64_t base = bases_[d];
    const double inv = 1.0 / static_cast<double>(base);
    double weight = inv, value = 0;
    std::uint64_t rest = index;
    if (permutations_.empty()) {
      for (; rest != 0; rest /= base, weight *= inv) {
        value += static_cast<double>(rest % base) * weight;
      }
    } else {
      // Every position is permuted, also the leading zeros, so the scramble fills the cells
      // the plain sequence leaves at their corners.
      for (const auto& perm : permutations_[d]) {
        value += static_cast<double>(perm[rest % base]) * weight;
        rest /= base;
        weight *= inv;
      }
    }
    out[d] = std::min(value, 1.0 - 0x1p-53);
  }
}

}  // namespace aimass::plugins::optimizer
