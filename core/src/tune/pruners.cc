// SPDX-License-Identifier: Apache-2.0
// job.tune's pruners: median stopping, asynchronous successive halving (ASHA) and Hyperband.
// Every decision is recomputed from the curves (see Pruner in pruners.h); the semantics follow
// Optuna's MedianPruner, SuccessiveHalvingPruner and HyperbandPruner, with the differences
// documented at each class.
#include "tune/pruners.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace aimass::core {
namespace {

using Kind = PrunerSettings::Kind;

const TrialCurve* findTrial(const std::vector<TrialCurve>& trials, std::uint64_t number) {
  for (const TrialCurve& trial : trials) {
    if (trial.number == number) return &trial;
  }
  return nullptr;
}

std::string plural(std::uint64_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

/// The median of `values` (not empty), averaging the middle two of an even count (numpy's
/// percentile 50 with linear interpolation, as Optuna computes it).
double median(std::vector<double> values) {
  const std::size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid), values.end());
  const double upper = values[mid];
  if (values.size() % 2 == 1) return upper;
  const double lower =
      *std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid));
  return lower + (upper - lower) / 2;
}

// ---------------------------------------------------------------------------------------------
// Median stopping.

/// Optuna's MedianPruner (percentile 50, interval 1, at least one trial to compare with):
///  - no pruning while fewer than `startup_trials` trials of the study are complete;
///  - no pruning at steps 1..warmup_steps of a trial (the first judged step is warmup_steps+1,
///    as Optuna's 0-based "step < n_warmup_steps" skips the first n_warmup_steps reports);
///  - otherwise the trial is pruned when its best value over steps 1..`step` is worse (strictly
///    greater) than the median of the values reported at `step` by the *completed* trials (as
///    in Optuna; running, pruned and failed trials do not count, so the median is that of
///    trials that ran to the end). No completed trial reported `step`: no pruning.
class MedianPruner final : public Pruner {
 public:
  explicit MedianPruner(const PrunerSettings& settings)
      : startup_trials_(settings.startup_trials), warmup_steps_(settings.warmup_steps) {}

  bool shouldPrune(const std::vector<TrialCurve>& trials, std::uint64_t number,
                   std::uint64_t step) const override {
    if (step <= warmup_steps_) return false;
    const TrialCurve* trial = findTrial(trials, number);
    if (trial == nullptr) return false;
    std::optional<double> best;
    for (const auto& [s, value] : trial->values) {
      if (s > step) break;
      if (!best || value < *best) best = value;
    }
    if (!best) return false;
    std::uint64_t complete = 0;
    std::vector<double> others;
    for (const TrialCurve& other : trials) {
      if (other.state != TrialCurve::State::kComplete || other.number == number) continue;
      ++complete;
      if (auto it = other.values.find(step); it != other.values.end()) {
        others.push_back(it->second);
      }
    }
    if (complete < startup_trials_ || others.empty()) return false;
    return *best > median(std::move(others));
  }

  std::string describe() const override {
    return "median (" + plural(startup_trials_, "startup trial") + ", " +
           plural(warmup_steps_, "warm-up step") + ")";
  }

 private:
  std::uint64_t startup_trials_;
  std::uint64_t warmup_steps_;
};

// ---------------------------------------------------------------------------------------------
// Successive halving, shared by ASHA and Hyperband.

/// The rung steps of a successive-halving bracket: min_resource * eta^(rate + k), k = 0, 1, ...,
/// those below max_resource (a trial that reaches max_resource is done; no rung there).
std::vector<std::uint64_t> rungSteps(const PrunerSettings& settings, std::uint64_t rate) {
  constexpr std::uint64_t kMax = ~std::uint64_t{0};
  const std::uint64_t eta = settings.reduction_factor;
  std::uint64_t rung = settings.min_resource;
  for (std::uint64_t i = 0; i < rate; ++i) {
    if (rung > kMax / eta) return {};
    rung *= eta;
  }
  std::vector<std::uint64_t> rungs;
  while (rung < settings.max_resource) {
    rungs.push_back(rung);
    if (rung > kMax / eta) break;
    rung *= eta;
  }
  return rungs;
}

/// ASHA's decision for a trial that reported `value` at the rung `step`: promoted when the value
/// is within the best 1/eta of every value recorded at that step by the trials that `compete`
/// accepts (this one included, whatever their state: a pruned or failed trial's value was
/// recorded all the same, as Optuna keeps it). With k values the trial must be at most the
/// floor(k/eta)-th smallest; while k < eta (the first trials at a rung) it must be the smallest
/// so far, Optuna's bootstrap. Ties promote.
template <typename Compete>
bool promotedAtRung(const std::vector<TrialCurve>& trials, std::uint64_t step, double value,
                    std::uint64_t eta, Compete&& compete) {
  std::vector<double> competing;
  for (const TrialCurve& trial : trials) {
    if (!compete(trial)) continue;
    if (auto it = trial.values.find(step); it != trial.values.end()) {
      competing.push_back(it->second);
    }
  }
  if (competing.empty()) return true;
  std::size_t index = competing.size() / eta;
  index = index == 0 ? 0 : index - 1;
  std::nth_element(competing.begin(), competing.begin() + static_cast<std::ptrdiff_t>(index),
                   competing.end());
  return value <= competing[index];
}

/// The value the trial `number` reported at `step` when `step` is one of `rungs`; nothing when
/// the step is not a rung (steps between rungs never prune) or the trial is not in `trials`.
std::optional<double> valueAtRung(const std::vector<TrialCurve>& trials, std::uint64_t number,
                                  std::uint64_t step, const std::vector<std::uint64_t>& rungs) {
  if (!std::binary_search(rungs.begin(), rungs.end(), step)) return std::nullopt;
  const TrialCurve* trial = findTrial(trials, number);
  if (trial == nullptr) return std::nullopt;
  auto it = trial->values.find(step);
  if (it == trial->values.end()) return std::nullopt;
  return it->second;
}

std::string listRungs(const std::vector<std::uint64_t>& rungs) {
  if (rungs.empty()) return "none";
  std::string text;
  for (std::uint64_t rung : rungs) text += (text.empty() ? "" : ", ") + std::to_string(rung);
  return text;
}

/// Asynchronous successive halving (Li et al. 2020; Optuna's SuccessiveHalvingPruner with
/// min_early_stopping_rate 0 and bootstrap_count 0): a trial is judged only at the rung steps
/// min_resource * eta^k below max_resource, against every trial of the study that reported that
/// step (see promotedAtRung). A rung step a trial never reported (its curve skips it) is never
/// judged; the trial's value at the rung itself is judged, not its best so far.
class SuccessiveHalvingPruner final : public Pruner {
 public:
  explicit SuccessiveHalvingPruner(const PrunerSettings& settings)
      : settings_(settings), rungs_(rungSteps(settings, 0)) {}

  bool shouldPrune(const std::vector<TrialCurve>& trials, std::uint64_t number,
                   std::uint64_t step) const override {
    const std::optional<double> value = valueAtRung(trials, number, step, rungs_);
    if (!value) return false;
    return !promotedAtRung(trials, step, *value, settings_.reduction_factor,
                           [](const TrialCurve&) { return true; });
  }

  std::string describe() const override {
    return "successive halving (rungs at epochs " + listRungs(rungs_) + " of " +
           std::to_string(settings_.max_resource) + ", reduction factor " +
           std::to_string(settings_.reduction_factor) + ")";
  }

 private:
  PrunerSettings settings_;
  std::vector<std::uint64_t> rungs_;
};

// ---------------------------------------------------------------------------------------------
// Hyperband.

/// Hyperband (Li et al. 2018) run asynchronously as Optuna's HyperbandPruner does: brackets
/// s = 0..s_max, s_max = floor(log_eta(max_resource / min_resource)) (computed exactly in
/// integers); bracket s runs successive halving with min early-stopping rate s, so its rungs are
/// min_resource * eta^(s + k) below max_resource (bracket s_max usually has none: its trials
/// always run to the end), and its trials compete only with trials of the same bracket.
///
/// Bracket of a trial: from its number alone, weighted by the bracket's budget as in Optuna,
/// ceil(n * eta^(n-1-s) / (n-s)) for n = s_max + 1 brackets (the most aggressive bracket gets
/// the most trials). Optuna draws by a CRC32 of the study name and number; here the number
/// walks a Weyl sequence, u = frac(number * (sqrt(5) - 1) / 2) taken from the top 53 bits of
/// number * 0x9E3779B97F4A7C15 mod 2^64, and the trial goes to the bracket whose share of the
/// total budget covers u. That is deterministic on every platform, needs no study name, and
/// spreads consecutive trials evenly over the brackets (every bracket gets its share early in a
/// study, not only in the long run). Trial 0 is in bracket 0.
class HyperbandPruner final : public Pruner {
 public:
  explicit HyperbandPruner(const PrunerSettings& settings) : settings_(settings) {
    std::uint64_t brackets = 1;
    for (std::uint64_t span = settings.max_resource / settings.min_resource;
         span >= settings.reduction_factor; span /= settings.reduction_factor) {
      ++brackets;
    }
    const double eta = static_cast<double>(settings.reduction_factor);
    const double n = static_cast<double>(brackets);
    double total = 0;
    for (std::uint64_t s = 0; s < brackets; ++s) {
      double scale = 1;
      for (std::uint64_t i = s + 1; i < brackets; ++i) scale *= eta;
      total += std::ceil(n * scale / static_cast<double>(brackets - s));
      cumulative_budget_.push_back(total);
      rungs_.push_back(rungSteps(settings, s));
    }
  }

  std::size_t bracketOf(std::uint64_t number) const {
    const std::uint64_t weyl = number * 0x9E3779B97F4A7C15ull;
    const double u = static_cast<double>(weyl >> 11) * 0x1p-53 * cumulative_budget_.back();
    for (std::size_t s = 0; s < cumulative_budget_.size(); ++s) {
      if (u < cumulative_budget_[s]) return s;
    }
    return cumulative_budget_.size() - 1;
  }

  bool shouldPrune(const std::vector<TrialCurve>& trials, std::uint64_t number,
                   std::uint64_t step) const override {
    const std::size_t bracket = bracketOf(number);
    const std::optional<double> value = valueAtRung(trials, number, step, rungs_[bracket]);
    if (!value) return false;
    return !promotedAtRung(
        trials, step, *value, settings_.reduction_factor,
        [&](const TrialCurve& trial) { return bracketOf(trial.number) == bracket; });
  }

  std::string describe() const override {
    return "hyperband (" + plural(rungs_.size(), "bracket") + ", epochs " +
           std::to_string(settings_.min_resource) + " to " +
           std::to_string(settings_.max_resource) + ", reduction factor " +
           std::to_string(settings_.reduction_factor) + ")";
  }

 private:
  PrunerSettings settings_;
  std::vector<double> cumulative_budget_;          ///< by bracket, running sum of budgets
  std::vector<std::vector<std::uint64_t>> rungs_;  ///< by bracket
};

const char* kindName(Kind kind) {
  switch (kind) {
    case Kind::kNone:
      return "none";
    case Kind::kMedian:
      return "median";
    case Kind::kSuccessiveHalving:
      return "successive_halving";
    case Kind::kHyperband:
      return "hyperband";
  }
  return "unknown";
}

Status checkResources(const PrunerSettings& settings) {
  const std::string who = std::string(kindName(settings.kind)) + " pruner: ";
  if (settings.reduction_factor < 2) {
    return invalidArgument(who + "reduction_factor must be at least 2, got " +
                           std::to_string(settings.reduction_factor));
  }
  if (settings.min_resource == 0) {
    return invalidArgument(who + "min_resource must be at least 1, got 0");
  }
  if (settings.min_resource > settings.max_resource) {
    return invalidArgument(who + "min_resource must not exceed max_resource (" +
                           std::to_string(settings.max_resource) + "), got " +
                           std::to_string(settings.min_resource));
  }
  return okStatus();
}

}  // namespace

Expected<std::unique_ptr<Pruner>> makePruner(const PrunerSettings& settings) {
  std::unique_ptr<Pruner> pruner;
  Status status = guard("makePruner", [&]() -> Status {
    switch (settings.kind) {
      case Kind::kNone:
        return okStatus();
      case Kind::kMedian:
        pruner = std::make_unique<MedianPruner>(settings);
        return okStatus();
      case Kind::kSuccessiveHalving:
        AIMASS_RETURN_IF_ERROR(checkResources(settings));
        pruner = std::make_unique<SuccessiveHalvingPruner>(settings);
        return okStatus();
      case Kind::kHyperband:
        AIMASS_RETURN_IF_ERROR(checkResources(settings));
        pruner = std::make_unique<HyperbandPruner>(settings);
        return okStatus();
    }
    return invalidArgument("pruner: unknown kind " +
                           std::to_string(static_cast<int>(settings.kind)));
  });
  if (!status.ok()) return status;
  return pruner;
}

}  // namespace aimass::core
