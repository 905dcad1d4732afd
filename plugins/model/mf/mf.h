// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/model.h"
#include "mf_state.h"

namespace aimass::plugins::model {

/// Hyper-parameters of model.mf (the plugin's parameters; see README.md).
struct MfOptions {
  std::int64_t rank = 32;
  MfFeedback feedback = MfFeedback::kExplicit;
  /// nullopt: adam for explicit feedback, als for implicit.
  std::optional<MfSolver> solver = std::nullopt;
  std::int64_t epochs = 20;
  double learning_rate = 0.01;
  std::int64_t batch_size = 1024;
  /// nullopt: the solver's default (defaultL2Factors()).
  std::optional<double> l2_factors = std::nullopt;
  std::optional<double> l2_biases = std::nullopt;
  /// adam: the factor weight of the first 70% of the epochs; nullopt: 2.5 * l2_factors.
  std::optional<double> l2_factors_start = std::nullopt;
  double alpha = 40;
  double init_std = 0.1;
  /// nullopt: fit()'s seed.
  std::optional<std::uint64_t> seed = std::nullopt;
  /// ALS threads; 0: the machine's cores.
  std::int64_t threads = 0;
};

/// The solver actually used for `options` (the default of its feedback when not set).
MfSolver solverOf(const MfOptions& options);
/// The L2 weights actually used (the solver's defaults when not set).
double l2FactorsOf(const MfOptions& options);
double l2BiasesOf(const MfOptions& options);
double l2FactorsStartOf(const MfOptions& options);
/// kInvalidArgument when the options do not go together (explicit + bpr, implicit + adam/sgd,
/// rank < 1, ...), naming the parameter.
Status checkOptions(const MfOptions& options);

/// Matrix factorisation recommender: explicit ratings by biased MF (score = mu + b_u + b_i +
/// p_u.q_i) trained by mini-batch Adam, SGD or ALS, or implicit feedback by the weighted ALS of
/// Hu, Koren and Volinsky (2008) or BPR. Serves pair scores and top-k, and learns new
/// interactions while serving by folding in the affected users (OnlineLearning).
///
/// Users and items are named by their original ids (the dataset's id_names) in every request;
/// only users and items with at least one training interaction are known.
///
/// Threading: predict() and learn() may run from many threads at once: the state sits behind
/// a std::shared_mutex (predict shared, learn exclusive). fit() and load() need exclusive
/// access to the model as the Model contract says, and take the lock too.
class MatrixFactorization final : public Model, public SelfTraining, public OnlineLearning {
 public:
  static constexpr std::uint32_t kFormatVersion = 1;
  /// The largest top_k a request may ask for.
  static constexpr std::int64_t kMaxTopK = 10000;

  explicit MatrixFactorization(MfOptions options);

  ModelSchema schema() const override;
  bool ready() const override;
  /// Pair scoring (top_k == 0): "user" and "item" BYTES [n] -> "score" FP32 [n], "known" BOOL
  /// [n]. Top-k (top_k = k > 0): "user" BYTES [n] and optional request-wide "candidates" ->
  /// "items" BYTES [n, k], "scores" FP32 [n, k], "fallback" BOOL [n]. See README.md for the
  /// fallbacks, padding and every kInvalidArgument.
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions& options) const override;

  SelfTraining* selfTraining() override { return this; }
  OnlineLearning* onlineLearning() const override { return const_cast<MatrixFactorization*>(this); }
  /// Trains on every row of `data`: INT64 [rows, 2] (user, item) features, FP32 [rows, 1]
  /// ratings for explicit feedback. One observer call per epoch with the epoch's training loss
  /// (explicit: mean squared error of the epoch's rows; implicit ALS: the HKV objective per
  /// interaction; BPR: mean -log sigmoid of the sampled triples). On error the model keeps
  /// what it had.
  Status fit(const Dataset& data, std::uint64_t seed, FitObserver& observer) override;

  /// "user", "item" BYTES [n] and, for explicit feedback, "rating" FP32 [n].
  std::vector<TensorSpec> observationInputs() const override;
  /// Checks every row (known item, non-empty user, finite rating), then appends the
  /// interactions, adds new users, and re-solves each affected user's factors and bias
  /// against the fixed item factors over all of that user's interactions. Unknown items are
  /// refused (kInvalidArgument naming the row): they would need retraining.
  Status learn(const TensorMap& observations) override;

  std::uint32_t formatVersion() const override { return kFormatVersion; }
  Status save(std::string& payload) const override;
  Status load(std::string_view payload, std::uint32_t format_version) override;

 private:
  MfOptions options_;
  mutable std::shared_mutex mutex_;
  std::unique_ptr<MfState> state_;  // null until trained or loaded
};

}  // namespace aimass::plugins::model
