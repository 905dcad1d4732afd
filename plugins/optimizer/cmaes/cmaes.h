// SPDX-License-Identifier: Apache-2.0
#pragma once

// optimizer.cmaes — CMA-ES with IPOP restarts for search spaces (see README.md).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/optimizer.h"
#include "aimass/util/search_support.h"
#include "cma_distribution.h"

namespace aimass::plugins::optimizer {

struct CmaesOptions {
  double sigma0 = 0.3;         ///< initial step size in the unit cube, in (0, 1]
  std::size_t population = 0;  ///< lambda of the first run; 0: 4 + floor(3 ln dimensions)
  std::size_t restarts = 9;    ///< the most IPOP restarts that double the population
  std::uint64_t seed = 0;      ///< mixed with begin()'s seed
};

/// CMA-ES (Hansen's 2016 tutorial) over the unit cube that toUnit()/fromUnit() map every
/// numeric dimension onto; ints round through fromUnit(). Categorical dimensions are drawn from
/// one categorical distribution each, moved towards the choices of each generation's selected
/// points (weighted like the recombination). A generation is complete once `lambda` results of
/// candidates drawn from the current distribution came back (failed ones rank last); asking
/// beyond that draws more from the same distribution; results for candidates of an older
/// generation are recorded but do not steer. IPOP: a run that stalls (step size below 1e-11,
/// condition number above 1e14, flat generation, or no improvement for 10 + 30 n / lambda
/// generations) restarts from a random mean with sigma0 and, for the first `restarts` restarts,
/// twice the population.
///
/// Threading: not thread-safe; the tuner serialises calls. Errors: Status, never exceptions.
class Cmaes final : public SearchOptimizer {
 public:
  /// kInvalidArgument for sigma0 outside (0, 1] or a population of 1.
  static Expected<std::unique_ptr<Cmaes>> create(const CmaesOptions& options);
  explicit Cmaes(const CmaesOptions& options) : options_(options) {}

  /// kInvalidArgument for a space checkSearchSpace() refuses or objectives != 1.
  Status begin(const SearchSpace& space, std::uint64_t seed, std::size_t objectives) override;
  /// kFailedPrecondition before begin().
  Expected<std::vector<Candidate>> ask(std::size_t n) override;
  /// kInvalidArgument (nothing recorded) for unknown or repeated ids.
  Status tell(std::span<const Evaluation> results) override;
  /// Ledger, random stream, distribution (mean, sigma, C, B, D, paths), category
  /// probabilities, the generation's results and the outstanding candidates' samples.
  Status saveState(std::string& out) const override;
  Status loadState(std::string_view state) override;

  /// The best successful record since begin().
  std::optional<SearchRecord> best() const;
  const CmaDistribution& distribution() const noexcept { return distribution_; }
  std::size_t restartsDone() const noexcept { return restarts_done_; }
  std::uint64_t generation() const noexcept { return generation_; }
  /// Choice probabilities of categorical dimension `index` (empty for other dimensions).
  std::vector<double> choiceProbabilities(std::size_t index) const;

 private:
  /// One sample: the unit-cube point of the numeric dimensions and every categorical
  /// dimension's choice (also inactive ones), with the generation that drew it.
  struct Sample {
    std::uint64_t generation = 0;
    std::vector<double> x;
    std::vector<double> choices;
  };
  struct Result {
    Sample sample;
    double value = 0;  ///< +inf for failed
  };

  void startRun(bool restart);
  Sample draw();
  std::vector<double> decode(const Sample& s) const;
  void finishGeneration();
  void updateChoices(std::span<const Result* const> selected);
  bool stalled(double generation_best, double generation_worst);
  void writeState(ByteWriter& out) const;
  bool readState(ByteReader& in);

  const CmaesOptions options_;
  bool begun_ = false;
  SearchSpace space_;
  std::vector<std::size_t> numeric_, categorical_;  // dimension indices
  std::uint64_t fingerprint_ = 0;
  SearchRandom random_;
  SearchLedger ledger_;
  CmaDistribution distribution_;
  std::vector<std::vector<double>> probabilities_;  // per categorical dimension
  std::size_t lambda_ = 0, restarts_done_ = 0;
  std::uint64_t generation_ = 0;  // counts updates and restarts
  double run_best_ = 0;
  std::uint64_t stall_ = 0;
  std::map<std::uint64_t, Sample> samples_;  // outstanding candidates
  std::vector<Result> results_;              // this generation's
};

}  // namespace aimass::plugins::optimizer
