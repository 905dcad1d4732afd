// SPDX-License-Identifier: Apache-2.0
#include "tpe.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

namespace aimass::plugins::optimizer {

namespace {
constexpr std::string_view kName = "optimizer.tpe";
constexpr std::string_view kStateTag = "TPE1";

/// Optuna's default weights for a group of `count` observations, oldest first: equal for the
/// newest 25, a ramp from 1/count up to 1 for older ones.
void recencyWeights(std::size_t count, std::vector<double>& weights) {
  weights.assign(count, 1.0);
  if (count <= 25) {
    return;
  }
  const std::size_t ramp = count - 25;
  const double n = static_cast<double>(count);
  for (std::size_t i = 0; i < ramp; ++i) {
    weights[i] = ramp == 1
                     ? 1 / n
                     : 1 / n + (1 - 1 / n) * static_cast<double>(i) / static_cast<double>(ramp - 1);
  }
}
// Whether every stored value lies in the space, NaN exactly where inactive: a corrupt state must
// not index past a category's kernel table.
bool fitsSpace(const SearchSpace& space, const std::vector<double>& values) {
  for (std::size_t i = 0; i < space.size(); ++i) {
    const double v = values[i];
    if (!dimensionActive(space, i, values)) {
      if (!std::isnan(v)) {
        return false;
      }
      continue;
    }
    const SearchDimension& d = space[i];
    const bool ok = d.type == SearchDimension::Type::kCategorical
                        ? v >= 0 && v < static_cast<double>(d.choices.size()) && v == std::floor(v)
                        : v >= d.low && v <= d.high;
    if (!ok) {
      return false;
    }
  }
  return true;
}
}  // namespace

std::vector<double> toModelCoordinates(const SearchSpace& space, std::span<const double> values) {
  std::vector<double> out(values.begin(), values.end());
  for (std::size_t i = 0; i < space.size(); ++i) {
    if (!std::isnan(out[i]) && space[i].type != SearchDimension::Type::kCategorical) {
      out[i] = toUnit(space[i], out[i]);
    }
  }
  return out;
}

Status TpeSearch::begin(const SearchSpace& space, std::uint64_t seed, std::size_t objectives) {
  AIMASS_RETURN_IF_ERROR(checkSingleObjective(kName, objectives));
  AIMASS_RETURN_IF_ERROR(checkSearchSpace(kName, space));
  return guard("optimizer.tpe begin", [&] {
    space_ = space;
    fingerprint_ = searchFingerprint(space, seed, objectives);
    random_.reseed(mixSeeds(options_.seed, seed));
    ledger_.reset();
    told_units_.clear();
    begun_ = true;
  });
}

std::size_t TpeSearch::gamma(std::size_t n) const {
  const double raw = options_.sqrt_gamma ? 0.25 * std::sqrt(static_cast<double>(n))
                                         : options_.gamma_fraction * static_cast<double>(n);
  const std::size_t most = std::max<std::size_t>(std::min(options_.gamma_max, n), 1);
  return std::clamp<std::size_t>(static_cast<std::size_t>(std::ceil(raw)), 1, most);
}

std::vector<double> TpeSearch::propose() {
  const auto& history = ledger_.history();
  for (std::size_t i = told_units_.size(); i < history.size(); ++i) {
    told_units_.push_back(toModelCoordinates(space_, history[i].values));
  }
  std::vector<std::size_t> good;  // successful results, best first (ties: older first)
  for (std::size_t i = 0; i < history.size(); ++i) {
    if (!history[i].failed) {
      good.push_back(i);
    }
  }
  if (good.size() < std::max<std::size_t>(options_.n_startup, 1)) {
    return sampleUniformly(space_, random_);
  }
  std::stable_sort(good.begin(), good.end(), [&](std::size_t a, std::size_t b) {
    return history[a].value < history[b].value ||
           (history[a].value == history[b].value && history[a].id < history[b].id);
  });
  const std::size_t n_below = gamma(good.size());
  // Each group oldest first, for the recency weights.
  auto byAge = [&](std::vector<std::size_t> group) {
    std::sort(group.begin(), group.end(),
              [&](std::size_t a, std::size_t b) { return history[a].id < history[b].id; });
    return group;
  };
  const auto below_rows =
      byAge({good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n_below)});
  const auto above_rows = byAge({good.begin() + static_cast<std::ptrdiff_t>(n_below), good.end()});
  // Failed results and (with the constant liar) outstanding candidates join the bad group.
  std::vector<std::vector<double>> pending_units;
  for (std::size_t i = 0; i < history.size(); ++i) {
    if (history[i].failed) {
      pending_units.push_back(told_units_[i]);
    }
  }
  if (options_.constant_liar) {
    for (const auto& [id, values] : ledger_.pending()) {
      pending_units.push_back(toModelCoordinates(space_, values));
    }
  }
  std::vector<double> below_weights, above_weights;
  recencyWeights(below_rows.size(), below_weights);
  recencyWeights(above_rows.size() + pending_units.size(), above_weights);

  // The observations of one group that are active in dimension `d` (all for d = npos).
  auto observations = [&](const std::vector<std::size_t>& rows, const std::vector<double>& weights,
                          bool with_pending, std::size_t d) {
    std::vector<ParzenObservation> out;
    auto add = [&](const std::vector<double>& values, double w) {
      if (d == std::string::npos || !std::isnan(values[d])) {
        out.push_back({&values, w});
      }
    };
    for (std::size_t k = 0; k < rows.size(); ++k) {
      add(told_units_[rows[k]], weights[k]);
    }
    for (std::size_t k = 0; with_pending && k < pending_units.size(); ++k) {
      add(pending_units[k], weights[rows.size() + k]);
    }
    return out;
  };

  const std::size_t dims = space_.size();
  if (options_.parzen.multivariate) {
    std::vector<std::size_t> all(dims);
    std::iota(all.begin(), all.end(), std::size_t{0});
    below_.resize(1);
    above_.resize(1);
    below_[0].fit(space_, all, observations(below_rows, below_weights, false, std::string::npos),
                  options_.parzen);
    above_[0].fit(space_, all, observations(above_rows, above_weights, true, std::string::npos),
                  options_.parzen);
  } else {
    below_.resize(dims);
    above_.resize(dims);
    for (std::size_t d = 0; d < dims; ++d) {
      const std::size_t one[1] = {d};
      below_[d].fit(space_, one, observations(below_rows, below_weights, false, d),
                    options_.parzen);
      above_[d].fit(space_, one, observations(above_rows, above_weights, true, d), options_.parzen);
    }
  }
  return bestCandidate();
}

std::vector<double> TpeSearch::bestCandidate() {
  std::vector<double> best, values(space_.size()), units;
  double best_score = -std::numeric_limits<double>::infinity();
  for (std::size_t k = 0; k < std::max<std::size_t>(options_.n_ei_candidates, 1); ++k) {
    std::fill(values.begin(), values.end(), std::numeric_limits<double>::quiet_NaN());
    for (const auto& estimator : below_) {
      estimator.sample(space_, random_, values);
    }
    units = toModelCoordinates(space_, values);
    double score = 0;
    for (std::size_t e = 0; e < below_.size(); ++e) {
      score += below_[e].logDensity(space_, units) - above_[e].logDensity(space_, units);
    }
    if (best.empty() || score > best_score) {
      best_score = score;
      best = values;
    }
  }
  return best;
}

Expected<std::vector<Candidate>> TpeSearch::ask(std::size_t n) {
  if (!begun_) {
    return failedPrecondition("optimizer.tpe: ask() before begin()");
  }
  std::vector<Candidate> candidates;
  Status status = guard("optimizer.tpe ask", [&] {
    candidates.reserve(n);
    for (std::size_t k = 0; k < n; ++k) {
      candidates.push_back(ledger_.issue(propose()));
    }
  });
  if (!status.ok()) {
    return status;
  }
  return candidates;
}

Status TpeSearch::tell(std::span<const Evaluation> results) {
  if (!begun_) {
    return failedPrecondition("optimizer.tpe: tell() before begin()");
  }
  return recordResults(ledger_, kName, results, 1);
}

Status TpeSearch::saveState(std::string& out) const {
  if (!begun_) {
    return failedPrecondition("optimizer.tpe: saveState() before begin()");
  }
  return guard("optimizer.tpe saveState",
               [&] { writeSearchPrefix(out, kStateTag, fingerprint_, random_, ledger_); });
}

Status TpeSearch::loadState(std::string_view state) {
  if (!begun_) {
    return failedPrecondition("optimizer.tpe: loadState() before begin()");
  }
  SearchRandom random;
  SearchLedger ledger;
  // Every told and outstanding point must fit the space (a category in range and so on).
  auto pointsFit = [&](ByteReader&) {
    bool valid = true;
    for (const auto& rec : ledger.history()) {
      valid = valid && fitsSpace(space_, rec.values);
    }
    for (const auto& [id, values] : ledger.pending()) {
      valid = valid && fitsSpace(space_, values);
    }
    return valid;
  };
  AIMASS_RETURN_IF_ERROR(readSearchState(state, kName, kStateTag, fingerprint_, space_.size(),
                                         random, ledger, pointsFit));
  return guard("optimizer.tpe loadState", [&] {
    random_ = random;
    ledger_ = std::move(ledger);
    told_units_.clear();
  });
}

}  // namespace aimass::plugins::optimizer
