// SPDX-License-Identifier: Apache-2.0
#pragma once

// The genetic optimizer's variation and selection operators, on genomes in which a numeric
// gene is its dimension's position in [0, 1] (toUnit) and a categorical gene a choice index:
// Deb and Agrawal's simulated binary crossover (SBX) and Deb's polynomial mutation in their
// bounded forms (as in the NSGA-II reference code), uniform crossover and random reset for
// categories, and NSGA-II's fast non-dominated sorting and crowding distance.

#include <cstddef>
#include <span>
#include <vector>

#include "aimass/util/search_support.h"

namespace aimass::plugins::optimizer {

/// Crosses two parents in place into two children. Numeric genes (where `choices[i]` is 0):
/// SBX with index `eta`, each gene with probability 1/2; categorical genes (choices[i] > 0):
/// swapped with probability 1/2.
void crossover(std::vector<double>& a, std::vector<double>& b, std::span<const std::size_t> choices,
               double eta, SearchRandom& random);

/// Mutates each gene with probability `rate`: polynomial mutation with index `eta` for numeric
/// genes, a uniformly drawn choice for categorical ones.
void mutate(std::vector<double>& genome, std::span<const std::size_t> choices, double rate,
            double eta, SearchRandom& random);

/// Whether objective vector `a` Pareto-dominates `b` (no worse in all, better in one; minimised).
bool dominates(std::span<const double> a, std::span<const double> b);

/// NSGA-II's fast non-dominated sorting: the front index (0 = non-dominated) of each point.
/// An empty objective vector (a failed evaluation) is dominated by every other point.
std::vector<std::size_t> nondominatedRanks(std::span<const std::vector<double>> objectives);

/// NSGA-II's crowding distance of each point within its front (`ranks`): infinite at a front's
/// extremes, else the normalised side lengths of the cuboid of its neighbours.
std::vector<double> crowdingDistances(std::span<const std::vector<double>> objectives,
                                      std::span<const std::size_t> ranks);

}  // namespace aimass::plugins::optimizer
