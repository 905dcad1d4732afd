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
#include <map>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <vector>

#include "aimass/optimizer.h"

namespace aimass::plugins::optimizer {

/// Proposes points drawn independently and uniformly from the search space: kFloat uniformly in
/// [low, high] (in log space when log_scale), kInt uniformly among the integers in [low, high]
/// (log-uniformly when log_scale), kCategorical uniformly among the choice indices.
///
/// Seeding: the stream comes from a std::mt19937_64 seeded by mixing the node's `seed`
/// parameter with the seed begin() receives, so the same pair always proposes the same points.
/// The draws are turned into values by hand (not std::*_distribution), so they are the same
/// on every platform.
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

  /// kInvalidArgument, naming the dimension, for an empty space, non-finite or reversed bounds,
  /// a log scale that does not start above 0, an int range holding no integer, or a
  /// categorical dimension without choices.
  Status begin(const SearchSpace& space, std::uint64_t seed) override;
  /// kFailedPrecondition before begin().
  Expected<std::vector<Candidate>> ask(std::size_t n) override;
  /// Records results. kInvalidArgument (and nothing recorded) when an id was never asked for in
  /// this search or was already reported. Failed or non-finite results count as reported but
  /// never become the best.
  Status tell(std::span<const Evaluation> results) override;

  /// The best candidate reported since begin(), if any succeeded.
  const std::optional<Best>& best() const noexcept { return best_; }
  /// Results reported since begin(), in the order they were told.
  const std::vector<Evaluation>& history() const noexcept { return history_; }

 private:
  double uniform();  // in [0, 1)
  double sample(const SearchDimension& dimension);

  const std::uint64_t seed_;
  bool begun_ = false;
  SearchSpace space_;
  std::mt19937_64 random_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, std::vector<double>> pending_;  // asked, not yet told
  std::set<std::uint64_t> told_;                          // reported since begin()
  std::vector<Evaluation> history_;
  std::optional<Best> best_;
};

}  // namespace aimass::plugins::optimizer
