// SPDX-License-Identifier: Apache-2.0
#pragma once

// optimizer.random_search — the narrated example optimizer.
//
// Random search is the honest baseline of hyper-parameter tuning (and hard to beat in high
// dimensions). It is also the smallest complete SearchOptimizer, so it is the example to copy:
// read minimal.h, minimal.cc and plugin.cc; the comments number the steps.
//
// Step 1: a search optimizer implements begin() / ask() / tell(). The tuner owns the loop: it
// asks for candidates, evaluates them (maybe in parallel, maybe losing some) and tells the
// results back in any order. The optimizer only proposes and records.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/optimizer.h"
#include "aimass/util/search_support.h"

namespace aimass::plugins::optimizer {

/// Proposes points drawn independently and uniformly from the search space: kFloat uniformly in
/// [low, high] (in log space when log_scale), kInt uniformly among the integers in [low, high]
/// (log-uniformly when log_scale), kCategorical uniformly among the choice indices; inactive
/// conditional dimensions are NaN.
///
/// Seeding: the stream comes from a SearchRandom (aimass/util/search_support.h) seeded by
/// mixing the node's `seed` parameter with the seed begin() receives, so the same pair always
/// proposes the same points, on every platform.
///
/// Ids: every candidate gets a fresh id, increasing over the optimizer's life (also across
/// begin() calls), so results from an old search can never be mistaken for a new one's.
///
/// Threading: not thread-safe; the tuner serialises calls.
class RandomSearch final : public SearchOptimizer {
 public:
  /// The best reported candidate so far.
  struct Best {
    Candidate candidate;
    double value = 0;
  };

  explicit RandomSearch(std::uint64_t seed) : seed_(seed) {}

  /// kInvalidArgument, naming the dimension, for a space checkSearchSpace() refuses, or for
  /// more than one objective.
  Status begin(const SearchSpace& space, std::uint64_t seed, std::size_t objectives) override;
  /// kFailedPrecondition before begin().
  Expected<std::vector<Candidate>> ask(std::size_t n) override;
  /// Records results. kInvalidArgument (and nothing recorded) when an id was never asked for in
  /// this search or was already reported. Failed or non-finite results count as reported but
  /// never become the best.
  Status tell(std::span<const Evaluation> results) override;
  /// The random stream and the ledger (outstanding candidates, history).
  Status saveState(std::string& out) const override;
  Status loadState(std::string_view state) override;

  /// The best candidate reported since begin(), if any succeeded.
  std::optional<Best> best() const;
  /// Results reported since begin(), in the order they were told.
  const std::vector<SearchRecord>& history() const noexcept { return ledger_.history(); }

 private:
  const std::uint64_t seed_;
  bool begun_ = false;
  SearchSpace space_;
  std::uint64_t fingerprint_ = 0;
  SearchRandom random_;
  SearchLedger ledger_;
};

}  // namespace aimass::plugins::optimizer
