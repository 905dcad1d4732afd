// SPDX-License-Identifier: Apache-2.0
#pragma once

// The point sequences of optimizer.random: Sobol (Joe-Kuo direction numbers, optionally with a
// hash-based Owen scramble) and Halton (radical inverses in the first primes, optionally with
// random digit permutations). Both give point `index` of the sequence directly, so a search
// only keeps a counter. Dimensions beyond a sequence's table are reported by dimensions().
//
// Threading: a built sequence is read-only.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "aimass/util/search_support.h"

namespace aimass::plugins::optimizer {

/// Sobol points in [0, 1) with 32-bit direction numbers: the first 2^m points of any two
/// dimensions form a (t, m, 2)-net, dimensions 1 and 2 a (0, m, 2)-net (one point in every
/// elementary interval of volume 2^-m). Indices wrap after 2^32 points.
class SobolSequence {
 public:
  /// `dimensions` up to maxDimensions(); `scramble` draws each dimension's Owen-scramble seed
  /// from `random` (nothing is drawn otherwise).
  SobolSequence(std::size_t dimensions, bool scramble, SearchRandom& random);
  static std::size_t maxDimensions();
  /// Writes point `index` into `out` (size dimensions()).
  void point(std::uint64_t index, std::vector<double>& out) const;
  std::size_t dimensions() const noexcept { return directions_.size(); }

 private:
  std::vector<std::vector<std::uint32_t>> directions_;  ///< per dimension, 32 direction numbers
  std::vector<std::uint32_t> scramble_seeds_;           ///< empty without scrambling
};

/// Halton points in [0, 1): dimension k is the radical inverse in the k-th prime. Scrambled, each
/// digit position of each dimension permutes the digits by its own random permutation (which
/// keeps the stratification of the plain sequence).
class HaltonSequence {
 public:
  HaltonSequence(std::size_t dimensions, bool scramble, SearchRandom& random);
  static std::size_t maxDimensions();
  void point(std::uint64_t index, std::vector<double>& out) const;
  std::size_t dimensions() const noexcept { return bases_.size(); }

 private:
  std::vector<std::uint32_t> bases_;
  /// Per dimension, per digit position, a permutation of the base's digits (empty: identity).
  std::vector<std::vector<std::vector<std::uint16_t>>> permutations_;
};

/// Whether x^degree + (bits of a) + 1 is a primitive polynomial over GF(2) (the order of x
/// modulo it is 2^degree - 1). For the table's test.
bool isPrimitivePolynomial(std::uint32_t degree, std::uint32_t a);

}  // namespace aimass::plugins::optimizer
