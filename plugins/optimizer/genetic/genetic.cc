// SPDX-License-Identifier: Apache-2.0
#include "genetic.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "operators.h"

namespace aimass::plugins::optimizer {

namespace {
constexpr std::string_view kName = "optimizer.genetic";

/// Positions of `members` sorted by (front, crowding descending), stable.
std::vector<std::size_t> crowdedOrder(const std::vector<std::size_t>& ranks,
                                      const std::vector<double>& crowding) {
  std::vector<std::size_t> order(ranks.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return ranks[a] != ranks[b] ? ranks[a] < ranks[b] : crowding[a] > crowding[b];
  });
  return order;
}

std::vector<std::vector<double>> objectivesOf(const std::vector<Genetic::Member>& members) {
  std::vector<std::vector<double>> objectives;
  objectives.reserve(members.size());
  for (const auto& m : members) {
    objectives.push_back(m.objectives);
  }
  return objectives;
}
}  // namespace

Expected<std::unique_ptr<Genetic>> Genetic::create(const GeneticOptions& options) {
  if (options.population < 2) {
    return invalidArgument("optimizer.genetic: population must be at least 2");
  }
  if (options.elites >= options.population) {
    return invalidArgument("optimizer.genetic: elites must be below the population (" +
                           std::to_string(options.population) + "), got " +
                           std::to_string(options.elites));
  }
  if (!(options.crossover_rate >= 0 && options.crossover_rate <= 1) ||
      !(options.mutation_rate >= 0 && options.mutation_rate <= 1)) {
    return invalidArgument("optimizer.genetic: crossover_rate and mutation_rate must be in [0, 1]");
  }
  if (!(options.crossover_eta >= 0) || !(options.mutation_eta >= 0)) {
    return invalidArgument("optimizer.genetic: crossover_eta and mutation_eta must be >= 0");
  }
  std::unique_ptr<Genetic> genetic;
  AIMASS_RETURN_IF_ERROR(
      guard("optimizer.genetic create", [&] { genetic = std::make_unique<Genetic>(options); }));
  return genetic;
}

Status Genetic::begin(const SearchSpace& space, std::uint64_t seed, std::size_t objectives) {
  if (objectives < 1 || objectives > maxObjectives()) {
    return invalidArgument(std::string(kName) + " minimises 1 to " +
                           std::to_string(maxObjectives()) + " objectives, not " +
                           std::to_string(objectives));
  }
  AIMASS_RETURN_IF_ERROR(checkSearchSpace(kName, space));
  return guard("optimizer.genetic begin", [&] {
    space_ = space;
    choices_.clear();
    for (const auto& d : space) {
      choices_.push_back(d.type == SearchDimension::Type::kCategorical ? d.choices.size() : 0);
    }
    objectives_ = objectives;
    mutation_rate_ = options_.mutation_rate > 0 ? options_.mutation_rate
                                                : 1.0 / static_cast<double>(space.size());
    fingerprint_ = searchFingerprint(space, seed, objectives);
    random_.reseed(mixSeeds(options_.seed, seed));
    ledger_.reset();
    generation_ = 0;
    population_.clear();
    ranks_.clear();
    crowding_.clear();
    fresh_.clear();
    children_.clear();
    genomes_.clear();
    begun_ = true;
  });
}

std::vector<double> Genetic::randomGenome() {
  std::vector<double> genome(space_.size());
  for (std::size_t i = 0; i < genome.size(); ++i) {
    genome[i] =
        choices_[i] > 0 ? static_cast<double>(random_.below(choices_[i])) : random_.uniform();
  }
  return genome;
}

std::vector<double> Genetic::decode(const std::vector<double>& genome) const {
  std::vector<double> values(space_.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    values[i] = choices_[i] > 0 ? genome[i] : fromUnit(space_[i], genome[i]);
  }
  markInactive(space_, values);
  return values;
}

Expected<std::vector<Candidate>> Genetic::ask(std::size_t n) {
  if (!begun_) {
    return failedPrecondition("optimizer.genetic: ask() before begin()");
  }
  std::vector<Candidate> candidates;
  AIMASS_RETURN_IF_ERROR(guard("optimizer.genetic ask", [&] {
    candidates.reserve(n);
    for (std::size_t k = 0; k < n; ++k) {
      std::vector<double> genome;
      if (population_.empty()) {
        genome = randomGenome();  // the first generation
      } else {
        if (children_.empty()) {
          breed();
        }
        genome = std::move(children_.front());
        children_.pop_front();
      }
      candidates.push_back(ledger_.issue(decode(genome)));
      genomes_.emplace(candidates.back().id, std::move(genome));
    }
  }));
  return candidates;
}

std::size_t Genetic::tournament() {
  const std::size_t a = random_.below(population_.size());
  std::size_t b = random_.below(population_.size() - 1);
  b += b >= a ? 1 : 0;
  if (ranks_[a] != ranks_[b]) {
    return ranks_[a] < ranks_[b] ? a : b;
  }
  return crowding_[b] > crowding_[a] ? b : a;
}

void Genetic::breed() {
  const std::size_t count =
      objectives_ > 1 ? options_.population : options_.population - options_.elites;
  while (children_.size() < count) {
    std::vector<double> a = population_[tournament()].genome;
    std::vector<double> b = population_[tournament()].genome;
    if (random_.uniform() < options_.crossover_rate) {
      crossover(a, b, choices_, options_.crossover_eta, random_);
    }
    mutate(a, choices_, mutation_rate_, options_.mutation_eta, random_);
    mutate(b, choices_, mutation_rate_, options_.mutation_eta, random_);
    children_.push_back(std::move(a));
    children_.push_back(std::move(b));
  }
}

Status Genetic::tell(std::span<const Evaluation> results) {
  if (!begun_) {
    return failedPrecondition("optimizer.genetic: tell() before begin()");
  }
  return recordResults(ledger_, kName, results, objectives_, [&](const SearchRecord& rec) {
    auto it = genomes_.find(rec.id);
    Member member{rec.id, std::move(it->second), {}};
    genomes_.erase(it);
    if (!rec.failed) {
      member.objectives = objectives_ > 1 ? rec.objectives : std::vector<double>{rec.value};
    }
    fresh_.push_back(std::move(member));
    const std::size_t needed = population_.empty() || objectives_ > 1
                                   ? options_.population
                                   : options_.population - options_.elites;
    if (fresh_.size() >= needed) {
      replace();
    }
  });
}

void Genetic::replace() {
  std::vector<Member> pool;
  if (objectives_ == 1 && !population_.empty()) {
    // The elites (population_ is kept in crowded order, best first), then the newest results.
    pool.assign(population_.begin(),
                population_.begin() + static_cast<std::ptrdiff_t>(options_.elites));
    pool.insert(pool.end(), std::make_move_iterator(fresh_.begin()),
                std::make_move_iterator(fresh_.end()));
  } else {
    pool = std::move(population_);
    pool.insert(pool.end(), std::make_move_iterator(fresh_.begin()),
                std::make_move_iterator(fresh_.end()));
  }
  const auto objectives = objectivesOf(pool);
  const auto ranks = nondominatedRanks(objectives);
  const auto order = crowdedOrder(ranks, crowdingDistances(objectives, ranks));
  population_.clear();
  for (std::size_t k = 0; k < order.size() && k < options_.population; ++k) {
    population_.push_back(std::move(pool[order[k]]));
  }
  fresh_.clear();
  children_.clear();
  ++generation_;
  rankPopulation();
}

void Genetic::rankPopulation() {
  const auto objectives = objectivesOf(population_);
  ranks_ = nondominatedRanks(objectives);
  crowding_ = crowdingDistances(objectives, ranks_);
}

std::vector<SearchRecord> Genetic::paretoFront() const {
  std::vector<SearchRecord> front;
  const auto& history = ledger_.history();
  auto objectivesOfRecord = [&](const SearchRecord& r) {
    return objectives_ > 1 ? r.objectives : std::vector<double>{r.value};
  };
  for (const auto& candidate : history) {
    if (candidate.failed) {
      continue;
    }
    const auto mine = objectivesOfRecord(candidate);
    bool dominated = false;
    for (const auto& other : history) {
      if (!other.failed && dominates(objectivesOfRecord(other), mine)) {
        dominated = true;
        break;
      }
    }
    if (!dominated) {
      front.push_back(candidate);
    }
  }
  return front;
}

}  // namespace aimass::plugins::optimizer
