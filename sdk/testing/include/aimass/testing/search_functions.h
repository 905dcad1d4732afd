// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The test functions of benchmark W7 (../shared/BENCHMARKS.md) and the loop that searches
/// them, shared by the search optimizers' tests and bench/: Branin (2-D, minimum 0.397887),
/// Hartmann6 (6-D, minimum -3.32237) and a categorical function (two categories and a float,
/// minimum 0). searchBest() asks and tells one function through any SearchOptimizer, the way
/// the tuner does, and returns the best value found.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "aimass/optimizer.h"

namespace aimass::testing {

/// A black-box function over a search space, with its known minimum.
struct SearchFunction {
  std::string name;
  SearchSpace space;
  double minimum = 0;
  std::function<double(const std::vector<double>&)> evaluate;
};

/// Branin-Hoo on x1 in [-5, 10], x2 in [0, 15]: three global minima of 0.397887.
inline SearchFunction branin() {
  SearchFunction f;
  f.name = "branin";
  f.minimum = 0.397887;
  f.space.resize(2);
  f.space[0] = {"x1", SearchDimension::Type::kFloat, -5, 10, false, {}, {}, {}};
  f.space[1] = {"x2", SearchDimension::Type::kFloat, 0, 15, false, {}, {}, {}};
  f.evaluate = [](const std::vector<double>& v) {
    constexpr double kPi = 3.14159265358979323846;
    const double b = 5.1 / (4 * kPi * kPi), c = 5 / kPi, t = 1 / (8 * kPi);
    const double x1 = v[0], x2 = v[1];
    const double q = x2 - b * x1 * x1 + c * x1 - 6;
    return q * q + 10 * (1 - t) * std::cos(x1) + 10;
  };
  return f;
}

/// Hartmann6 on [0, 1]^6: one global minimum of -3.32237 and several local ones.
inline SearchFunction hartmann6() {
  SearchFunction f;
  f.name = "hartmann6";
  f.minimum = -3.32237;
  for (int i = 0; i < 6; ++i) {
    f.space.push_back(
        {"x" + std::to_string(i + 1), SearchDimension::Type::kFloat, 0, 1, false, {}, {}, {}});
  }
  f.evaluate = [](const std::vector<double>& x) {
    static constexpr double kAlpha[4] = {1.0, 1.2, 3.0, 3.2};
    static constexpr double kA[4][6] = {{10, 3, 17, 3.5, 1.7, 8},
                                        {0.05, 10, 17, 0.1, 8, 14},
                                        {3, 3.5, 1.7, 10, 17, 8},
                                        {17, 8, 0.05, 10, 0.1, 14}};
    static constexpr double kP[4][6] = {{1312, 1696, 5569, 124, 8283, 5886},
                                        {2329, 4135, 8307, 3736, 1004, 9991},
                                        {2348, 1451, 3522, 2883, 3047, 6650},
                                        {4047, 8828, 8732, 5743, 1091, 381}};
    double sum = 0;
    for (int i = 0; i < 4; ++i) {
      double inner = 0;
      for (int j = 0; j < 6; ++j) {
        const double d = x[j] - kP[i][j] * 1e-4;
        inner += kA[i][j] * d * d;
      }
      sum += kAlpha[i] * std::exp(-inner);
    }
    return -sum;
  };
  return f;
}

/// Two categories of 6 choices ("optimizer", "activation") and a log-scaled rate in
/// [1e-5, 1]: a table of per-pair offsets (0 only for choices 3 and 4) plus a bowl in
/// log10(rate) whose centre depends on the first category. Minimum 0 at (3, 4, 10^-2.5).
inline SearchFunction categoricalBowl() {
  SearchFunction f;
  f.name = "categorical";
  f.minimum = 0;
  const std::vector<std::string> six = {"a", "b", "c", "d", "e", "f"};
  f.space.push_back({"optimizer", SearchDimension::Type::kCategorical, 0, 1, false, six, {}, {}});
  f.space.push_back({"activation", SearchDimension::Type::kCategorical, 0, 1, false, six, {}, {}});
  f.space.push_back({"rate", SearchDimension::Type::kFloat, 1e-5, 1, true, {}, {}, {}});
  f.evaluate = [](const std::vector<double>& v) {
    static constexpr double kOffset[6][6] = {{2.1, 1.7, 2.6, 1.2, 1.9, 2.8},
                                             {1.5, 2.3, 1.1, 2.0, 1.4, 2.5},
                                             {2.7, 1.3, 2.2, 1.6, 0.9, 2.4},
                                             {1.8, 1.0, 2.9, 1.5, 0.0, 2.2},
                                             {2.4, 1.9, 1.6, 2.6, 1.2, 1.7},
                                             {2.0, 2.5, 1.4, 1.9, 0.8, 2.3}};
    const auto a = static_cast<int>(v[0]), b = static_cast<int>(v[1]);
    const double centre = -1 - 0.5 * a;  // -2.5 for a = 3
    const double d = std::log10(v[2]) - centre;
    return kOffset[a][b] + d * d;
  };
  return f;
}

/// Searches `f` with `optimizer` for `evaluations` evaluations, asking `batch` candidates at a
/// time and telling their values back (as a tuner with `batch` parallel trials does). Returns
/// the best value found (fewer evaluations when the optimizer runs out of candidates); NaN when
/// the optimizer failed (its error in `error`, when given).
inline double searchBest(SearchOptimizer& optimizer, const SearchFunction& f,
                         std::size_t evaluations, std::uint64_t seed, std::size_t batch = 1,
                         std::string* error = nullptr) {
  auto failed = [&](const Status& s) {
    if (error != nullptr) {
      *error = s.toString();
    }
    return std::nan("");
  };
  if (Status s = optimizer.begin(f.space, seed, 1); !s.ok()) {
    return failed(s);
  }
  double best = INFINITY;
  for (std::size_t done = 0; done < evaluations;) {
    auto asked = optimizer.ask(std::min(batch, evaluations - done));
    if (!asked.ok()) {
      return failed(asked.status());
    }
    if (asked->empty()) {
      break;  // nothing more to propose (a finished grid)
    }
    std::vector<Evaluation> results;
    for (const auto& c : *asked) {
      const double value = f.evaluate(c.values);
      best = std::min(best, value);
      results.push_back({c.id, value, false, {}});
    }
    if (Status s = optimizer.tell(results); !s.ok()) {
      return failed(s);
    }
    done += asked->size();
  }
  return best;
}

/// The median of searchBest() over seeds 0 .. seeds - 1 (W7 takes 5).
inline double medianBest(SearchOptimizer& optimizer, const SearchFunction& f,
                         std::size_t evaluations, std::uint64_t seeds, std::size_t batch = 1) {
  std::vector<double> bests;
  for (std::uint64_t seed = 0; seed < seeds; ++seed) {
    bests.push_back(searchBest(optimizer, f, evaluations, seed, batch));
  }
  std::sort(bests.begin(), bests.end());
  return bests[bests.size() / 2];
}

}  // namespace aimass::testing
