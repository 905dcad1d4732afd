// SPDX-License-Identifier: Apache-2.0
#include "operators.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace aimass::plugins::optimizer {

namespace {

/// SBX's spread factor for a child on the side with distance ratio `beta` to its bound.
double sbxSpread(double beta, double eta, double u) {
  const double alpha = 2 - std::pow(beta, -(eta + 1));
  return u <= 1 / alpha ? std::pow(u * alpha, 1 / (eta + 1))
                        : std::pow(1 / (2 - u * alpha), 1 / (eta + 1));
}

}  // namespace

void crossover(std::vector<double>& a, std::vector<double>& b, std::span<const std::size_t> choices,
               double eta, SearchRandom& random) {
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (random.uniform() >= 0.5) {
      continue;
    }
    if (choices[i] > 0) {
      std::swap(a[i], b[i]);
      continue;
    }
    const double y1 = std::min(a[i], b[i]), y2 = std::max(a[i], b[i]);
    if (y2 - y1 < 1e-14) {
      continue;
    }
    const double u = random.uniform();
    const double low = 0.5 * ((y1 + y2) - sbxSpread(1 + 2 * y1 / (y2 - y1), eta, u) * (y2 - y1));
    const double high =
        0.5 * ((y1 + y2) + sbxSpread(1 + 2 * (1 - y2) / (y2 - y1), eta, u) * (y2 - y1));
    const bool swap = random.uniform() < 0.5;
    a[i] = std::clamp(swap ? high : low, 0.0, 1.0);
    b[i] = std::clamp(swap ? low : high, 0.0, 1.0);
  }
}

void mutate(std::vector<double>& genome, std::span<const std::size_t> choices, double rate,
            double eta, SearchRandom& random) {
  for (std::size_t i = 0; i < genome.size(); ++i) {
    if (random.uniform() >= rate) {
      continue;
    }
    if (choices[i] > 0) {
      genome[i] = static_cast<double>(random.below(choices[i]));
      continue;
    }
    const double y = genome[i], u = random.uniform(), power = 1 / (eta + 1);
    double delta;
    if (u <= 0.5) {
      const double v = 2 * u + (1 - 2 * u) * std::pow(1 - y, eta + 1);
      delta = std::pow(v, power) - 1;
    } else {
      const double v = 2 * (1 - u) + 2 * (u - 0.5) * std::pow(y, eta + 1);
      delta = 1 - std::pow(v, power);
    }
    genome[i] = std::clamp(y + delta, 0.0, 1.0);
  }
}

bool dominates(std::span<const double> a, std::span<const double> b) {
  if (a.empty()) {
    return false;
  }
  if (b.empty()) {
    return true;
  }
  bool better = false;
  for (std::size_t k = 0; k < a.size(); ++k) {
    if (a[k] > b[k]) {
      return false;
    }
    better = better || a[k] < b[k];
  }
  return better;
}

std::vector<std::size_t> nondominatedRanks(std::span<const std::vector<double>> objectives) {
  const std::size_t n = objectives.size();
  std::vector<std::vector<std::size_t>> dominated(n);
  std::vector<std::size_t> count(n, 0), ranks(n, 0), front;
  for (std::size_t p = 0; p < n; ++p) {
    for (std::size_t q = 0; q < n; ++q) {
      if (dominates(objectives[p], objectives[q])) {
        dominated[p].push_back(q);
      } else if (dominates(objectives[q], objectives[p])) {
        ++count[p];
      }
    }
    if (count[p] == 0) {
      front.push_back(p);
    }
  }
  for (std::size_t rank = 0; !front.empty(); ++rank) {
    std::vector<std::size_t> next;
    for (std::size_t p : front) {
      ranks[p] = rank;
      for (std::size_t q : dominated[p]) {
        if (--count[q] == 0) {
          next.push_back(q);
        }
      }
    }
    front = std::move(next);
  }
  return ranks;
}

std::vector<double> crowdingDistances(std::span<const std::vector<double>> objectives,
                                      std::span<const std::size_t> ranks) {
  const std::size_t n = objectives.size();
  constexpr double kInfinity = std::numeric_limits<double>::infinity();
  std::vector<double> distance(n, 0.0);
  const std::size_t fronts = n == 0 ? 0 : *std::max_element(ranks.begin(), ranks.end()) + 1;
  for (std::size_t rank = 0; rank < fronts; ++rank) {
    std::vector<std::size_t> members;
    for (std::size_t i = 0; i < n; ++i) {
      if (ranks[i] == rank) {
        members.push_back(i);
      }
    }
    const std::size_t m = objectives[members[0]].size();
    if (m == 0) {
      continue;  // the failed ones' front: no geometry
    }
    for (std::size_t k = 0; k < m; ++k) {
      std::stable_sort(members.begin(), members.end(), [&](std::size_t a, std::size_t b) {
        return objectives[a][k] < objectives[b][k];
      });
      const double low = objectives[members.front()][k], high = objectives[members.back()][k];
      distance[members.front()] = kInfinity;
      distance[members.back()] = kInfinity;
      if (!(high > low)) {
        continue;
      }
      for (std::size_t j = 1; j + 1 < members.size(); ++j) {
        distance[members[j]] +=
            (objectives[members[j + 1]][k] - objectives[members[j - 1]][k]) / (high - low);
      }
    }
  }
  return distance;
}

}  // namespace aimass::plugins::optimizer
