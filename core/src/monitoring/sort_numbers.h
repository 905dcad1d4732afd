// SPDX-License-Identifier: Apache-2.0
#pragma once

// Sorting a window's column of numbers for the drift tests: a least-significant-digit radix
// sort of the values' bit patterns, linear in the column (std::sort's n log n comparisons were
// most of a batch report's time on columns of 10^5 values and more).

#include <cstdint>
#include <vector>

namespace aimass::core {

/// Scratch a caller keeps between sorts (one per thread), so a sort allocates nothing once it
/// has grown to the longest column.
struct SortScratch {
  std::vector<std::uint64_t> keys, swap64;
  std::vector<std::uint32_t> keys32, swap32;
  std::vector<std::size_t> counts;  ///< the radix passes' histograms
};

/// Sorts `values` (no NaN) increasing: the order std::sort gives, but for -0 and +0, which
/// compare equal and come -0 first. Columns whose every value is a float (what CSV cells parse
/// to) sort by 32-bit keys, others by 64-bit ones; columns of fewer than 256 values use
/// std::sort.
void sortNumbers(std::vector<double>& values, SortScratch& scratch);

/// The values of `column` other than NaN, sorted as sortNumbers() sorts them, into `sorted`
/// (as doubles); returns how many were NaN. A float column goes to its 32-bit keys directly.
std::size_t sortPresent(const std::vector<double>& column, std::vector<double>& sorted,
                        SortScratch& scratch);
std::size_t sortPresent(const std::vector<float>& column, std::vector<double>& sorted,
                        SortScratch& scratch);

}  // namespace aimass::core
