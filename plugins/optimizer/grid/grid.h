// SPDX-License-Identifier: Apache-2.0
#pragma once

// optimizer.grid — exhaustive grid search over every valid combination of per-dimension values.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/optimizer.h"
#include "aimass/util/search_support.h"

namespace aimass::plugins::optimizer {

/// The node's parameters.
struct GridOptions {
  std::size_t points = 5;  ///< values per float dimension (and at most per int dimension)
  bool shuffle = false;    ///< visit the grid in a seeded random order
  std::uint64_t seed = 0;
};

/// Proposes every point of a grid once: `points` values per kFloat dimension spread evenly in
/// toUnit() space including both bounds (one point: the middle), every integer of a kInt range
/// when there are at most `points` of them (otherwise `points` evenly spread ones), every choice
/// of a kCategorical one. Conditional dimensions are NaN where inactive and are not multiplied
/// into the grid there: only valid combinations are enumerated.
///
/// Order: the last dimension varies fastest; with `shuffle`, a seeded bijection (a Feistel
/// network walked over the grid's index range) visits the same points in a random order without
/// storing them. Exhaustion: once every point was proposed, ask() returns fewer candidates than
/// asked, and then none; the tuner stops when ask() returns none.
///
/// begin() fails with kInvalidArgument when the grid has more than 2^40 points (naming the size)
/// or more than 2^20 combinations of the categorical dimensions that others depend on.
/// tell() only records. Threading: not thread-safe; the tuner serialises calls.
class GridSearch final : public SearchOptimizer {
 public:
  explicit GridSearch(GridOptions options) : options_(options) {}

  Status begin(const SearchSpace& space, std::uint64_t seed, std::size_t objectives) override;
  /// kFailedPrecondition before begin(); fewer than `n` candidates once the grid runs out.
  Expected<std::vector<Candidate>> ask(std::size_t n) override;
  Status tell(std::span<const Evaluation> results) override;
  /// The position in the grid and the ledger (the grid itself is rebuilt by begin()).
  Status saveState(std::string& out) const override;
  Status loadState(std::string_view state) override;

  /// Points in the grid of the current search.
  std::uint64_t size() const noexcept { return total_; }
  const std::vector<SearchRecord>& history() const noexcept { return ledger_.history(); }

 private:
  /// One assignment of the parent (categorical, depended-on) dimensions, NaN where inactive,
  /// and the number of grid points under it.
  struct Pattern {
    std::vector<double> parents;  ///< per dimension; only parent dimensions are meaningful
    std::uint64_t start = 0;      ///< first grid index of the block
    std::uint64_t size = 0;
  };

  Status build(const SearchSpace& space);
  std::vector<double> pointAt(std::uint64_t index) const;
  std::uint64_t permute(std::uint64_t index) const;

  const GridOptions options_;
  bool begun_ = false;
  SearchSpace space_;
  std::uint64_t fingerprint_ = 0;
  std::vector<std::vector<double>> values_;  ///< per dimension, its grid values
  std::vector<bool> is_parent_;
  std::vector<Pattern> patterns_;
  std::uint64_t total_ = 0;
  std::uint64_t position_ = 0;  ///< how many points were proposed
  std::uint64_t shuffle_key_ = 0;
  unsigned half_bits_ = 0;  ///< the Feistel network works on 2 * half_bits_ bits
  SearchLedger ledger_;
};

/// The grid values of one dimension (see GridSearch).
std::vector<double> gridValues(const SearchDimension& d, std::size_t points);

}  // namespace aimass::plugins::optimizer
