// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/model.h"

namespace aimass::plugins::model {

/// The shape of each component's covariance.
enum class CovarianceType : std::uint8_t {
  kFull = 1,  ///< a full d x d matrix per component
  kDiag = 2,  ///< one variance per feature per component
};

/// How EM starts.
enum class GmmInit {
  kKMeans,  ///< responsibilities one-hot from k-means (k-means++ then Lloyd iterations)
  kRandom,  ///< random responsibilities, normalised per row
};

/// Hyper-parameters of model.gmm.
struct GmmOptions {
  std::int64_t components = 1;
  CovarianceType covariance = CovarianceType::kFull;
  std::int64_t max_iterations = 100;
  double tolerance = 1e-3;  ///< stop when the mean log-likelihood gains less than this
  double reg_covar = 1e-6;  ///< added to every covariance's diagonal
  GmmInit init = GmmInit::kKMeans;
  std::int64_t n_init = 1;
  std::int64_t seed = -1;  ///< -1: the seed fit() is given
  int threads = 1;
};

/// The parameters of a fitted mixture, in double precision.
struct GmmParameters {
  std::int64_t components = 0;
  std::int64_t features = 0;
  CovarianceType covariance = CovarianceType::kFull;
  std::vector<double> weights;      ///< k, positive, summing to 1
  std::vector<double> means;        ///< k x d
  std::vector<double> covariances;  ///< k x d x d (full) or k x d (diag)
  /// Derived: lower Cholesky factors of the covariances (full) or standard deviations (diag),
  /// and per component log(weight) - log det(covariance)/2 - d log(2 pi)/2.
  std::vector<double> factors;
  std::vector<double> log_constants;
};

/// Gaussian mixture clustering fitted by expectation-maximisation (Task::kClustering).
///
/// fit() ignores labels, reads every row into memory and runs EM: the E-step computes each
/// row's log-likelihood under each component in log-sum-exp form (Cholesky factors for full
/// covariances), the M-step the weights, means and covariances (+ reg_covar on the diagonal).
/// Each iteration reports the mean log-likelihood per row; EM stops when it gains less than
/// `tolerance`. A covariance that is not positive definite even with reg_covar fails the fit,
/// naming the component. The restart (n_init) with the highest log-likelihood is kept.
///
/// I/O: input "input" FP32 [-1, F]; outputs "cluster" INT64 [-1] (the most responsible
/// component) and "responsibilities" FP32 [-1, k] (posterior probabilities, rows sum to 1).
///
/// Threading: predict() is const and keeps no mutable state. fit() and load() need exclusive
/// access.
///
/// Payload (formatVersion 1), little-endian: u64 k, u64 F, u8 covariance (1 full, 2 diag),
/// f64 mean log-likelihood, k f64 weights, k*F f64 means, then k*F*F (full) or k*F (diag) f64
/// covariances.
class GaussianMixture final : public Model, public SelfTraining {
 public:
  static constexpr std::uint32_t kFormatVersion = 1;

  explicit GaussianMixture(GmmOptions options);

  ModelSchema schema() const override;
  bool ready() const override { return parameters_.features > 0; }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions& options) const override;
  SelfTraining* selfTraining() override { return this; }

  std::uint32_t formatVersion() const override { return kFormatVersion; }
  Status save(std::string& payload) const override;
  /// kInvalidArgument for an unknown format version; kDataLoss for a payload whose sizes do
  /// not add up, holds non-finite numbers, weights that are not a distribution or covariances
  /// that are not positive definite. The model is unchanged on failure.
  Status load(std::string_view payload, std::uint32_t format_version) override;

  /// kInvalidArgument for data that is not FP32 rows [F], has fewer rows than components,
  /// holds NaN or infinity, or gives a covariance that is not positive definite. The model is
  /// unchanged on failure.
  Status fit(const Dataset& data, std::uint64_t seed, FitObserver& observer) override;

  const GmmOptions& options() const noexcept { return options_; }
  const GmmParameters& parameters() const noexcept { return parameters_; }
  /// Mean log-likelihood per training row of the kept fit.
  double logLikelihood() const noexcept { return log_likelihood_; }

 private:
  GmmOptions options_;
  GmmParameters parameters_;
  double log_likelihood_ = 0;
};

}  // namespace aimass::plugins::model
