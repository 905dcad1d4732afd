// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "aimass/status.h"

namespace aimass::core {

/// A language model's next-token predictions over every token of a dataset.
struct LanguageModelReport {
  std::uint64_t rows = 0;
  std::uint64_t tokens = 0;    ///< predicted tokens (rows x sequence length)
  std::int64_t vocabulary = 0;
  bool byte_tokens = false;    ///< the tokens are bytes (bits per byte), else characters
  double loss = 0;             ///< mean cross-entropy, nats per token: mean -ln p(next token)
  double perplexity = 0;       ///< exp(loss)
  double bits_per_token = 0;   ///< loss / ln 2: bits per character (or per byte)
  double token_accuracy = 0;   ///< share of tokens whose most probable prediction is right
};

/// Accumulates LanguageModelReport batch by batch. Probabilities below 1e-15 count as 1e-15
/// (as log-loss clips), so one impossible token costs at most 34.5 nats. Not thread-safe.
class LanguageModelMetrics {
 public:
  /// `vocabulary`: the size of each predicted distribution.
  explicit LanguageModelMetrics(std::int64_t vocabulary);

  /// Adds one batch: the true next tokens (any number of positions) and, per position, the
  /// model's distribution over the vocabulary, row-major [positions, vocabulary]; `rows` counts
  /// the rows the positions came from. kInvalidArgument (naming the position) for mismatched
  /// sizes, a token outside [0, vocabulary), a negative or non-finite probability; nothing is
  /// added then. A tie for the most probable token goes to the lowest id.
  Status add(std::span<const std::int64_t> next_tokens, std::span<const float> probabilities,
             std::uint64_t rows);

  /// kFailedPrecondition when no token was added.
  Expected<LanguageModelReport> report(bool byte_tokens) const;

 private:
  std::int64_t vocabulary_;
  std::uint64_t rows_ = 0;
  std::uint64_t tokens_ = 0;
  std::uint64_t correct_ = 0;
  double nats_ = 0;
};

/// A forecaster's errors and those of the naive-seasonal baseline on the same windows. Errors
/// pool every predicted value (each step of the horizon and each target series).
struct ForecastReport {
  std::uint64_t rows = 0;      ///< windows
  std::uint64_t values = 0;    ///< predicted values: rows x horizon x targets
  std::int64_t horizon = 0;
  std::int64_t targets = 0;    ///< target series per step
  std::int64_t season = 1;
  double mae = 0;
  double rmse = 0;
  /// Mean |error| / |true value| as a fraction (0.05 = 5%, as scikit-learn's
  /// mean_absolute_percentage_error), over the values whose true value is not 0; nullopt when
  /// every true value is 0.
  std::optional<double> mape;
  std::uint64_t mape_values = 0;   ///< values MAPE averages over
  std::uint64_t mape_skipped = 0;  ///< values left out of MAPE: true value 0
  double baseline_mae = 0;         ///< of the naive-seasonal forecast
  double baseline_rmse = 0;
  /// mae / baseline_mae (below 1: better than the baseline); nullopt when the baseline is exact.
  std::optional<double> mase;
};

/// Accumulates ForecastReport batch by batch. Not thread-safe.
///
/// The naive-seasonal forecast of a window: for step h (0-based) after the window of W steps,
/// the target's value at input step W - season + (h mod season): the last value `season` steps
/// (or a multiple of them) before the forecast time that the window holds; season 1 repeats
/// the last value. The targets are the first `targets` feature columns of each input step.
class ForecastMetrics {
 public:
  /// The layout: windows of `window` steps of `features` columns, `horizon` steps of `targets`
  /// series ahead. kInvalidArgument from add() unless 1 <= targets <= features,
  /// 1 <= season <= window and horizon >= 1.
  ForecastMetrics(std::int64_t window, std::int64_t features, std::int64_t horizon,
                  std::int64_t targets, std::int64_t season);

  /// Adds one batch: inputs row-major [rows, window, features], true values and predictions
  /// [rows, horizon x targets] step-major. kInvalidArgument for sizes that do not fit the
  /// layout or non-finite values (naming the row); nothing is added then.
  Status add(std::span<const float> inputs, std::span<const float> truth,
             std::span<const float> predicted);

  /// The naive-seasonal forecasts of `inputs`, [rows, horizon x targets].
  std::vector<float> baseline(std::span<const float> inputs) const;

  /// kFailedPrecondition when no row was added.
  Expected<ForecastReport> report() const;

 private:
  Status layoutProblem() const;

  std::int64_t window_, features_, horizon_, targets_, season_;
  std::uint64_t rows_ = 0;
  double absolute_ = 0, squared_ = 0;
  double baseline_absolute_ = 0, baseline_squared_ = 0;
  double percentage_ = 0;
  std::uint64_t percentage_values_ = 0, zero_values_ = 0;
};

}  // namespace aimass::core
