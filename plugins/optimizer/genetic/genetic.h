// SPDX-License-Identifier: Apache-2.0
#pragma once

// optimizer.genetic — a real-coded genetic algorithm, NSGA-II for several objectives (see
// README.md).

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/optimizer.h"
#include "aimass/util/search_support.h"

namespace aimass::plugins::optimizer {

struct GeneticOptions {
  std::size_t population = 20;  ///< individuals per generation, >= 2
  std::size_t elites = 2;       ///< best parents kept each generation (one objective), < population
  double crossover_rate = 0.9;  ///< probability that a pair of parents is crossed
  double crossover_eta = 15;    ///< SBX distribution index
  double mutation_rate = 0;     ///< per-gene mutation probability; 0: 1 / dimensions
  double mutation_eta = 20;     ///< polynomial mutation distribution index
  std::uint64_t seed = 0;       ///< mixed with begin()'s seed
};

/// A generational genetic algorithm over genomes of unit-cube positions (numeric dimensions,
/// through toUnit()/fromUnit(); ints round) and choice indices (categorical dimensions). The
/// first `population` candidates are uniform random; once a generation's results are in, the
/// next one is bred by binary tournaments, SBX crossover and polynomial mutation (uniform
/// crossover and random reset for categories). One objective: the new population is the
/// `elites` best parents plus the population - elites newest results. Several objectives
/// (NSGA-II): parents and newest results are sorted into non-dominated fronts and cut to the
/// population by crowding distance; tournaments compare front, then crowding.
///
/// With parallel trials: a generation is replaced as soon as enough results came back (from any
/// candidates, also older ones told late: steady-state flavour); asking before that breeds more
/// children from the current parents. Failed results count as the worst.
///
/// Threading: not thread-safe; the tuner serialises calls. Errors: Status, never exceptions.
class Genetic final : public SearchOptimizer {
 public:
  /// One evaluated individual. `objectives` is empty for a failed evaluation.
  struct Member {
    std::uint64_t id = 0;
    std::vector<double> genome;
    std::vector<double> objectives;
  };

  /// kInvalidArgument for a population below 2, elites >= population, rates outside [0, 1] or
  /// negative distribution indices.
  static Expected<std::unique_ptr<Genetic>> create(const GeneticOptions& options);
  explicit Genetic(const GeneticOptions& options) : options_(options) {}

  /// kInvalidArgument for a space checkSearchSpace() refuses or objectives outside
  /// [1, maxObjectives()].
  Status begin(const SearchSpace& space, std::uint64_t seed, std::size_t objectives) override;
  /// kFailedPrecondition before begin().
  Expected<std::vector<Candidate>> ask(std::size_t n) override;
  /// kInvalidArgument (nothing recorded) for unknown or repeated ids, or a multi-objective
  /// result without its objective values.
  Status tell(std::span<const Evaluation> results) override;
  std::size_t maxObjectives() const noexcept override { return 8; }
  /// Ledger, random stream, generation, parents, the results since the last replacement, the
  /// children not yet handed out and the outstanding candidates' genomes.
  Status saveState(std::string& out) const override;
  Status loadState(std::string_view state) override;

  /// The told records no other told record dominates (one objective: those with the best
  /// value), failed ones left out, in the order they were told.
  std::vector<SearchRecord> paretoFront() const;
  /// The current parents (empty during the first generation).
  const std::vector<Member>& population() const noexcept { return population_; }
  std::uint64_t generation() const noexcept { return generation_; }

 private:
  std::vector<double> randomGenome();
  std::vector<double> decode(const std::vector<double>& genome) const;
  void breed();
  std::size_t tournament();
  void replace();
  void rankPopulation();
  void writeState(ByteWriter& out) const;
  bool readState(ByteReader& in);
  void writeMembers(ByteWriter& out, const std::vector<Member>& members) const;
  bool readMembers(ByteReader& in, std::vector<Member>& members) const;
  bool readGenome(ByteReader& in, std::vector<double>& genome) const;

  const GeneticOptions options_;
  bool begun_ = false;
  SearchSpace space_;
  std::vector<std::size_t> choices_;  // per dimension: its number of choices, 0 if numeric
  std::size_t objectives_ = 1;
  double mutation_rate_ = 0;
  std::uint64_t fingerprint_ = 0;
  SearchRandom random_;
  SearchLedger ledger_;
  std::uint64_t generation_ = 0;
  std::vector<Member> population_;
  std::vector<std::size_t> ranks_;  // of population_ (one objective: position by value)
  std::vector<double> crowding_;    // of population_, several objectives only
  std::vector<Member> fresh_;       // results since the last replacement
  std::deque<std::vector<double>> children_;
  std::map<std::uint64_t, std::vector<double>> genomes_;  // outstanding candidates
};

}  // namespace aimass::plugins::optimizer
