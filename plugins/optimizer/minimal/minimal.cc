// SPDX-License-Identifier: Apache-2.0
#include "minimal.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

namespace aimass::plugins::optimizer {

namespace {

/// splitmix64: mixes two seeds into one well-spread 64-bit value.
std::uint64_t mixSeeds(std::uint64_t a, std::uint64_t b) {
  std::uint64_t z = a + 0x9e3779b97f4a7c15ull * (b + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::string describe(const SearchDimension& dimension, std::size_t index) {
  return "search dimension " + std::to_string(index) + " ('" + dimension.name + "')";
}

}  // namespace

Status RandomSearch::begin(const SearchSpace& space, std::uint64_t seed) {
  // Step 2: check the whole space up front and name the dimension that is wrong. Once begin()
  // succeeds, ask() can never fail on the space.
  if (space.empty()) {
    return invalidArgument("the search space has no dimensions");
  }
  for (std::size_t i = 0; i < space.size(); ++i) {
    const SearchDimension& d = space[i];
    if (d.type == SearchDimension::Type::kCategorical) {
      if (d.choices.empty()) {
        return invalidArgument(describe(d, i) + " is categorical but has no choices");
      }
      continue;
    }
    if (!std::isfinite(d.low) || !std::isfinite(d.high) || d.low > d.high) {
      return invalidArgument(describe(d, i) + " needs finite bounds with low <= high, got [" +
                             std::to_string(d.low) + ", " + std::to_string(d.high) + "]");
    }
    if (d.log_scale && d.low <= 0) {
      return invalidArgument(describe(d, i) + " is log-scaled, so low must be > 0, got " +
                             std::to_string(d.low));
    }
    if (d.type == SearchDimension::Type::kInt && std::ceil(d.low) > std::floor(d.high)) {
      return invalidArgument(describe(d, i) + " is an int range without integers: [" +
                             std::to_string(d.low) + ", " + std::to_string(d.high) + "]");
    }
  }
  return guard("optimizer.random_search begin", [&] {
    // Step 3: a new search forgets the old one's results but keeps counting ids.
    space_ = space;
    random_.seed(mixSeeds(seed_, seed));
    pending_.clear();
    told_.clear();
    history_.clear();
    best_.reset();
    begun_ = true;
  });
}

double RandomSearch::uniform() {
  // The top 53 bits of a 64-bit draw, scaled to [0, 1): exact doubles, platform independent.
  return static_cast<double>(random_() >> 11) * (1.0 / 9007199254740992.0);
}

double RandomSearch::sample(const SearchDimension& d) {
  // Step 4: draw each kind of dimension so that every allowed value is equally likely.
  switch (d.type) {
    case SearchDimension::Type::kFloat: {
      const double u = uniform();
      const double v = d.log_scale
                           ? std::exp(std::log(d.low) + u * (std::log(d.high) - std::log(d.low)))
                           : d.low + u * (d.high - d.low);
      return std::clamp(v, d.low, d.high);  // exp/log rounding may step just outside
    }
    case SearchDimension::Type::kInt: {
      // Widen the range by half a step on each side and round: each integer gets an equal
      // share (an equal share of log space when log-scaled).
      const double low = std::ceil(d.low);
      const double high = std::floor(d.high);
      const double u = uniform();
      double v;
      if (d.log_scale) {
        const double a = std::log(low - 0.5 > 0 ? low - 0.5 : low);
        const double b = std::log(high + 0.5);
        v = std::exp(a + u * (b - a));
      } else {
        v = (low - 0.5) + u * (high - low + 1);
      }
      return std::clamp(std::round(v), low, high);
    }
    case SearchDimension::Type::kCategorical: {
      const auto count = static_cast<double>(d.choices.size());
      return std::min(std::floor(uniform() * count), count - 1);
    }
  }
  return d.low;
}

Expected<std::vector<Candidate>> RandomSearch::ask(std::size_t n) {
  if (!begun_) {
    return failedPrecondition("optimizer.random_search: ask() before begin()");
  }
  std::vector<Candidate> candidates;
  Status status = guard("optimizer.random_search ask", [&] {
    candidates.reserve(n);
    for (std::size_t k = 0; k < n; ++k) {
      Candidate c;
      c.id = next_id_++;
      c.values.reserve(space_.size());
      for (const auto& dimension : space_) {
        c.values.push_back(sample(dimension));
      }
      // Step 5: remember what was handed out, so tell() can check ids and report the best.
      pending_.emplace(c.id, c.values);
      candidates.push_back(std::move(c));
    }
  });
  if (!status.ok()) {
    return status;
  }
  return candidates;
}

Status RandomSearch::tell(std::span<const Evaluation> results) {
  if (!begun_) {
    return failedPrecondition("optimizer.random_search: tell() before begin()");
  }
  // Step 6: validate every result before recording any, so a bad call changes nothing.
  std::set<std::uint64_t> seen;
  for (const auto& r : results) {
    if (told_.count(r.id) != 0 || !seen.insert(r.id).second) {
      return invalidArgument("candidate " + std::to_string(r.id) + " was already reported");
    }
    if (pending_.count(r.id) == 0) {
      return invalidArgument("unknown candidate id " + std::to_string(r.id) +
                             ": it was not proposed by ask() since the last begin()");
    }
  }
  return guard("optimizer.random_search tell", [&] {
    for (const auto& r : results) {
      auto it = pending_.find(r.id);
      if (!r.failed && std::isfinite(r.value) && (!best_ || r.value < best_->value)) {
        best_ = Best{Candidate{r.id, it->second}, r.value};
      }
      told_.insert(r.id);
      history_.push_back(r);
      pending_.erase(it);
    }
  });
}

}  // namespace aimass::plugins::optimizer
