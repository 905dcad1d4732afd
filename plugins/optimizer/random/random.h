// SPDX-License-Identifier: Apache-2.0
#pragma once

// optimizer.random — random and quasi-random search: independent uniform points, or the
// low-discrepancy Sobol and Halton sequences (scrambled by default), mapped into the space.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/optimizer.h"
#include "aimass/util/search_support.h"
#include "sequences.h"

namespace aimass::plugins::optimizer {

enum class RandomSequence { kUniform, kSobol, kHalton };

/// The node's parameters.
struct RandomOptions {
  RandomSequence sequence = RandomSequence::kSobol;
  bool scramble = true;
  std::uint64_t seed = 0;
};

/// Proposes point k of the chosen sequence as the k-th candidate of a search, every coordinate
/// mapped through fromUnit() (log scales, integers and categories included); coordinates of
/// inactive conditional dimensions are dropped to NaN (markInactive), so a dimension keeps its
/// own coordinate of the sequence whether or not it is active.
///
/// Sobol covers the first 65 dimensions and Halton the first 256; dimensions beyond those take
/// independent uniform numbers. Unscrambled, both sequences start at index 0 (the lower corner
/// for Sobol), so the first 2^m Sobol points form a net. Scrambling (and the uniform sequence)
/// is seeded by mixing the node's `seed` with begin()'s seed.
///
/// tell() only records (the sequence does not depend on results); outstanding and failed
/// candidates change nothing. Threading: not thread-safe; the tuner serialises calls.
class RandomSearchSequence final : public SearchOptimizer {
 public:
  explicit RandomSearchSequence(RandomOptions options) : options_(options) {}

  /// kInvalidArgument, naming the dimension, for a space checkSearchSpace() refuses, or for
  /// more than one objective.
  Status begin(const SearchSpace& space, std::uint64_t seed, std::size_t objectives) override;
  /// kFailedPrecondition before begin().
  Expected<std::vector<Candidate>> ask(std::size_t n) override;
  /// kInvalidArgument (and nothing recorded) for an unknown or repeated id.
  Status tell(std::span<const Evaluation> results) override;
  /// The sequence position, the random stream and the ledger (the scramble is rebuilt by
  /// begin() from the seeds).
  Status saveState(std::string& out) const override;
  Status loadState(std::string_view state) override;

  const std::vector<SearchRecord>& history() const noexcept { return ledger_.history(); }

 private:
  std::vector<double> next();

  const RandomOptions options_;
  bool begun_ = false;
  SearchSpace space_;
  std::uint64_t fingerprint_ = 0;
  std::uint64_t index_ = 0;  ///< the sequence position of the next candidate
  SearchRandom random_;
  SearchLedger ledger_;
  std::unique_ptr<SobolSequence> sobol_;
  std::unique_ptr<HaltonSequence> halton_;
  std::vector<double> point_;  ///< scratch
};

}  // namespace aimass::plugins::optimizer
