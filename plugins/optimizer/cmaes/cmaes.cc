// SPDX-License-Identifier: Apache-2.0
#include "cmaes.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace aimass::plugins::optimizer {

namespace {
constexpr std::string_view kName = "optimizer.cmaes";
constexpr double kInfinity = std::numeric_limits<double>::infinity();
/// How far each generation moves a categorical distribution towards its elites' choices, and
/// the share of the uniform probability every choice keeps (so none is ever ruled out).
constexpr double kChoiceRate = 0.4;
constexpr double kChoiceFloor = 0.2;
}  // namespace

Expected<std::unique_ptr<Cmaes>> Cmaes::create(const CmaesOptions& options) {
  if (!(options.sigma0 > 0 && options.sigma0 <= 1)) {
    return invalidArgument("optimizer.cmaes: sigma0 must be in (0, 1], got " +
                           std::to_string(options.sigma0));
  }
  if (options.population == 1) {
    return invalidArgument("optimizer.cmaes: population must be 0 (automatic) or at least 2");
  }
  std::unique_ptr<Cmaes> cmaes;
  AIMASS_RETURN_IF_ERROR(
      guard("optimizer.cmaes create", [&] { cmaes = std::make_unique<Cmaes>(options); }));
  return cmaes;
}

Status Cmaes::begin(const SearchSpace& space, std::uint64_t seed, std::size_t objectives) {
  AIMASS_RETURN_IF_ERROR(checkSingleObjective(kName, objectives));
  AIMASS_RETURN_IF_ERROR(checkSearchSpace(kName, space));
  return guard("optimizer.cmaes begin", [&] {
    space_ = space;
    numeric_.clear();
    categorical_.clear();
    for (std::size_t i = 0; i < space.size(); ++i) {
      (space[i].type == SearchDimension::Type::kCategorical ? categorical_ : numeric_).push_back(i);
    }
    fingerprint_ = searchFingerprint(space, seed, objectives);
    random_.reseed(mixSeeds(options_.seed, seed));
    ledger_.reset();
    samples_.clear();
    lambda_ = options_.population != 0 ? options_.population
                                       : 4 + static_cast<std::size_t>(std::floor(
                                                 3 * std::log(static_cast<double>(space.size()))));
    restarts_done_ = 0;
    generation_ = 0;
    startRun(false);
    begun_ = true;
  });
}

void Cmaes::startRun(bool restart) {
  std::vector<double> mean(numeric_.size(), 0.5);
  if (restart) {
    if (restarts_done_ < options_.restarts) {
      lambda_ *= 2;
      ++restarts_done_;
    }
    ++generation_;
    for (double& m : mean) {
      m = random_.uniform();
    }
  }
  distribution_.reset(numeric_.size(), lambda_, options_.sigma0, std::move(mean));
  probabilities_.clear();
  for (std::size_t d : categorical_) {
    const std::size_t k = space_[d].choices.size();
    probabilities_.emplace_back(k, 1.0 / static_cast<double>(k));
  }
  run_best_ = kInfinity;
  stall_ = 0;
  results_.clear();
}

Cmaes::Sample Cmaes::draw() {
  Sample s;
  s.generation = generation_;
  s.x = distribution_.sample(random_);
  for (const auto& p : probabilities_) {
    double u = random_.uniform();
    std::size_t choice = 0;
    while (choice + 1 < p.size() && u >= p[choice]) {
      u -= p[choice++];
    }
    s.choices.push_back(static_cast<double>(choice));
  }
  return s;
}

std::vector<double> Cmaes::decode(const Sample& s) const {
  std::vector<double> values(space_.size());
  for (std::size_t k = 0; k < numeric_.size(); ++k) {
    values[numeric_[k]] = fromUnit(space_[numeric_[k]], s.x[k]);
  }
  for (std::size_t k = 0; k < categorical_.size(); ++k) {
    values[categorical_[k]] = s.choices[k];
  }
  markInactive(space_, values);
  return values;
}

Expected<std::vector<Candidate>> Cmaes::ask(std::size_t n) {
  if (!begun_) {
    return failedPrecondition("optimizer.cmaes: ask() before begin()");
  }
  std::vector<Candidate> candidates;
  AIMASS_RETURN_IF_ERROR(guard("optimizer.cmaes ask", [&] {
    candidates.reserve(n);
    for (std::size_t k = 0; k < n; ++k) {
      Sample s = draw();
      candidates.push_back(ledger_.issue(decode(s)));
      samples_.emplace(candidates.back().id, std::move(s));
    }
  }));
  return candidates;
}

Status Cmaes::tell(std::span<const Evaluation> results) {
  if (!begun_) {
    return failedPrecondition("optimizer.cmaes: tell() before begin()");
  }
  return recordResults(ledger_, kName, results, 1, [&](const SearchRecord& rec) {
    auto it = samples_.find(rec.id);
    Sample sample = std::move(it->second);
    samples_.erase(it);
    if (sample.generation != generation_) {
      return;  // drawn from an older distribution: recorded, not used
    }
    results_.push_back({std::move(sample), rec.failed ? kInfinity : rec.value});
    if (results_.size() >= lambda_) {
      finishGeneration();
    }
  });
}

void Cmaes::finishGeneration() {
  std::stable_sort(results_.begin(), results_.end(),
                   [](const Result& a, const Result& b) { return a.value < b.value; });
  std::vector<const Result*> selected;
  std::vector<const std::vector<double>*> points;
  double worst = -kInfinity;
  for (const auto& r : results_) {
    if (std::isfinite(r.value)) {
      worst = r.value;
      if (selected.size() < distribution_.mu()) {
        selected.push_back(&r);
        points.push_back(&r.sample.x);
      }
    }
  }
  distribution_.update(points);
  updateChoices(selected);
  const double best = results_.front().value;
  ++generation_;
  const bool restart = stalled(best, worst);
  results_.clear();
  if (restart) {
    startRun(true);
  }
}

void Cmaes::updateChoices(std::span<const Result* const> selected) {
  const auto& weights = distribution_.weights();
  std::vector<std::vector<double>> decoded;
  for (const Result* r : selected) {
    decoded.push_back(decode(r->sample));
  }
  for (std::size_t j = 0; j < categorical_.size(); ++j) {
    std::vector<double>& p = probabilities_[j];
    std::vector<double> share(p.size(), 0.0);
    double total = 0;
    for (std::size_t k = 0; k < selected.size(); ++k) {
      if (!std::isnan(decoded[k][categorical_[j]])) {
        share[static_cast<std::size_t>(selected[k]->sample.choices[j])] += weights[k];
        total += weights[k];
      }
    }
    if (total == 0) {
      continue;  // inactive in every elite: nothing learnt
    }
    // The elites' weighted shares, mixed with uniform so that every choice keeps at least
    // kChoiceFloor / K.
    const double uniform = 1.0 / static_cast<double>(p.size());
    for (std::size_t c = 0; c < p.size(); ++c) {
      const double moved = (1 - kChoiceRate) * p[c] + kChoiceRate * share[c] / total;
      p[c] = (1 - kChoiceFloor) * moved + kChoiceFloor * uniform;
    }
  }
}

bool Cmaes::stalled(double generation_best, double generation_worst) {
  if (std::isfinite(generation_best) &&
      (!std::isfinite(run_best_) ||
       generation_best < run_best_ - 1e-12 * std::max(1.0, std::abs(run_best_)))) {
    run_best_ = generation_best;
    stall_ = 0;
  } else {
    ++stall_;
  }
  const double n = static_cast<double>(std::max<std::size_t>(numeric_.size(), 1));
  const double patience = 10 + std::ceil(30 * n / static_cast<double>(lambda_));
  const bool flat =
      std::isfinite(generation_best) && stall_ > 0 &&
      generation_worst - generation_best <= 1e-12 * std::max(1.0, std::abs(generation_best));
  const bool collapsed = !numeric_.empty() && (distribution_.largestStep() < 1e-11 ||
                                               distribution_.conditionNumber() > 1e14);
  return static_cast<double>(stall_) > patience || flat || collapsed;
}

std::optional<SearchRecord> Cmaes::best() const {
  std::optional<SearchRecord> best;
  for (const auto& rec : ledger_.history()) {
    if (!rec.failed && (!best || rec.value < best->value)) {
      best = rec;
    }
  }
  return best;
}

std::vector<double> Cmaes::choiceProbabilities(std::size_t index) const {
  for (std::size_t j = 0; j < categorical_.size(); ++j) {
    if (categorical_[j] == index) {
      return probabilities_[j];
    }
  }
  return {};
}

}  // namespace aimass::plugins::optimizer
