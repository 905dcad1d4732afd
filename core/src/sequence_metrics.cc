// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/sequence_metrics.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace aimass::core {

namespace {
constexpr double kMinProbability = 1e-15;
}  // namespace

LanguageModelMetrics::LanguageModelMetrics(std::int64_t vocabulary) : vocabulary_(vocabulary) {}

Status LanguageModelMetrics::add(std::span<const std::int64_t> next_tokens,
                                 std::span<const float> probabilities, std::uint64_t rows) {
  if (vocabulary_ < 1) {
    return invalidArgument("the vocabulary is empty");
  }
  const auto v = static_cast<std::size_t>(vocabulary_);
  if (probabilities.size() != next_tokens.size() * v) {
    return invalidArgument(std::to_string(probabilities.size()) + " probabilities for " +
                           std::to_string(next_tokens.size()) + " tokens of a vocabulary of " +
                           std::to_string(v));
  }
  double nats = 0;
  std::uint64_t correct = 0;
  for (std::size_t i = 0; i < next_tokens.size(); ++i) {
    const std::int64_t token = next_tokens[i];
    if (token < 0 || token >= vocabulary_) {
      return invalidArgument("position " + std::to_string(i) + ": token " +
                             std::to_string(token) + " is outside the vocabulary [0, " +
                             std::to_string(v) + ")");
    }
    const float* p = probabilities.data() + i * v;
    std::size_t best = 0;
    for (std::size_t k = 0; k < v; ++k) {
      if (!std::isfinite(p[k]) || p[k] < 0) {
        return invalidArgument("position " + std::to_string(i) + ": probability " +
                               std::to_string(p[k]) + " of token " + std::to_string(k) +
                               " is not a finite number >= 0");
      }
      best = p[k] > p[best] ? k : best;
    }
    nats -= std::log(std::max<double>(p[token], kMinProbability));
    correct += best == static_cast<std::size_t>(token) ? 1 : 0;
  }
  nats_ += nats;
  correct_ += correct;
  tokens_ += next_tokens.size();
  rows_ += rows;
  return Status();
}

Expected<LanguageModelReport> LanguageModelMetrics::report(bool byte_tokens) const {
  if (tokens_ == 0) {
    return failedPrecondition("no predictions to evaluate: no tokens were added");
  }
  LanguageModelReport r;
  r.rows = rows_;
  r.tokens = tokens_;
  r.vocabulary = vocabulary_;
  r.byte_tokens = byte_tokens;
  r.loss = nats_ / static_cast<double>(tokens_);
  r.perplexity = std::exp(r.loss);
  r.bits_per_token = r.loss / std::log(2.0);
  r.token_accuracy = static_cast<double>(correct_) / static_cast<double>(tokens_);
  return r;
}

ForecastMetrics::ForecastMetrics(std::int64_t window, std::int64_t features, std::int64_t horizon,
                                 std::int64_t targets, std::int64_t season)
    : window_(window), features_(features), horizon_(horizon), targets_(targets),
      season_(season) {}

Status ForecastMetrics::layoutProblem() const {
  if (targets_ < 1 || targets_ > features_ || horizon_ < 1 || window_ < 1) {
    return invalidArgument(std::to_string(targets_) + " target series do not fit windows of " +
                           std::to_string(window_) + " steps of " + std::to_string(features_) +
                           " features with a horizon of " + std::to_string(horizon_));
  }
  if (season_ < 1 || season_ > window_) {
    return invalidArgument("the naive-seasonal baseline with season " + std::to_string(season_) +
                           " needs windows of at least " + std::to_string(season_) +
                           " steps, but the windows have " + std::to_string(window_) +
                           "; lower `season` or widen the dataset's `window`");
  }
  return Status();
}

std::vector<float> ForecastMetrics::baseline(std::span<const float> inputs) const {
  const auto w = static_cast<std::size_t>(window_), f = static_cast<std::size_t>(features_);
  const auto h = static_cast<std::size_t>(horizon_), k = static_cast<std::size_t>(targets_);
  const auto s = static_cast<std::size_t>(season_);
  const std::size_t rows = inputs.size() / (w * f);
  std::vector<float> out(rows * h * k);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t step = 0; step < h; ++step) {
      const std::size_t from = w - s + step % s;
      for (std::size_t j = 0; j < k; ++j) {
        out[(r * h + step) * k + j] = inputs[(r * w + from) * f + j];
      }
    }
  }
  return out;
}

Status ForecastMetrics::add(std::span<const float> inputs, std::span<const float> truth,
                            std::span<const float> predicted) {
  AIMASS_RETURN_IF_ERROR(layoutProblem());
  const auto per_row = static_cast<std::size_t>(horizon_ * targets_);
  const auto per_window = static_cast<std::size_t>(window_ * features_);
  const std::size_t rows = truth.size() / per_row;
  if (truth.size() != rows * per_row || predicted.size() != truth.size() ||
      inputs.size() != rows * per_window) {
    return invalidArgument(std::to_string(inputs.size()) + " inputs, " +
                           std::to_string(truth.size()) + " true values and " +
                           std::to_string(predicted.size()) + " predictions do not form rows of " +
                           std::to_string(window_) + "x" + std::to_string(features_) +
                           " inputs and " + std::to_string(per_row) + " values");
  }
  for (std::size_t i = 0; i < truth.size(); ++i) {
    if (!std::isfinite(truth[i]) || !std::isfinite(predicted[i])) {
      return invalidArgument("row " + std::to_string(i / per_row) + ": " +
                             (std::isfinite(truth[i]) ? "prediction" : "true value") +
                             " is not finite");
    }
  }
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!std::isfinite(inputs[i])) {
      return invalidArgument("row " + std::to_string(i / per_window) + ": an input is not finite");
    }
  }
  const std::vector<float> naive = baseline(inputs);
  for (std::size_t i = 0; i < truth.size(); ++i) {
    const double y = truth[i];
    const double error = static_cast<double>(predicted[i]) - y;
    const double naive_error = static_cast<double>(naive[i]) - y;
    absolute_ += std::fabs(error);
    squared_ += error * error;
    baseline_absolute_ += std::fabs(naive_error);
    baseline_squared_ += naive_error * naive_error;
    if (y != 0) {
      percentage_ += std::fabs(error) / std::fabs(y);
      ++percentage_values_;
    } else {
      ++zero_values_;
    }
  }
  rows_ += rows;
  return Status();
}

Expected<ForecastReport> ForecastMetrics::report() const {
  if (rows_ == 0) {
    return failedPrecondition("no forecasts to evaluate: no rows were added");
  }
  ForecastReport r;
  r.rows = rows_;
  r.horizon = horizon_;
  r.targets = targets_;
  r.season = season_;
  r.values = rows_ * static_cast<std::uint64_t>(horizon_ * targets_);
  const double n = static_cast<double>(r.values);
  r.mae = absolute_ / n;
  r.rmse = std::sqrt(squared_ / n);
  r.baseline_mae = baseline_absolute_ / n;
  r.baseline_rmse = std::sqrt(baseline_squared_ / n);
  if (percentage_values_ > 0) {
    r.mape = percentage_ / static_cast<double>(percentage_values_);
  }
  r.mape_values = percentage_values_;
  r.mape_skipped = zero_values_;
  if (r.baseline_mae > 0) {
    r.mase = r.mae / r.baseline_mae;
  }
  return r;
}

}  // namespace aimass::core
