// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/model.h"
#include "kmeans_engine.h"

namespace aimass::plugins::model {

/// How model.kmeans picks its starting centres.
enum class KMeansInit {
  kPlusPlus,  ///< greedy k-means++ over the rows (seeded)
  kRandom,    ///< k distinct rows chosen at random (seeded)
  kGiven,     ///< the rows of KMeansOptions::given_centres
};

/// Hyper-parameters of model.kmeans.
struct KMeansOptions {
  std::int64_t clusters = 8;
  KMeansInit init = KMeansInit::kPlusPlus;
  /// init kGiven: clusters x F starting centres, row-major (F checked against the data at fit).
  std::vector<float> given_centres;
  std::int64_t n_init = 0;  ///< restarts; 0: 1 for k-means++ and given centres, 10 for random
  std::int64_t max_iterations = 300;
  double tolerance = 1e-4;  ///< full batch: relative to the mean feature variance (sklearn's tol)
  KMeansAlgorithm algorithm = KMeansAlgorithm::kElkan;  ///< the plugin maps `auto` by k
  std::int64_t batch_size = 0;  ///< 0: full batch; > 0: mini-batch steps of that many rows
  std::int64_t seed = -1;       ///< -1: the seed fit() is given
  int threads = 1;              ///< threads of fit(); predict() runs on its caller's thread
};

/// Reads a CSV of starting centres (one centre a row, numbers only, with or without a header
/// line): kInvalidArgument naming the file, line and column of a bad value, a ragged row or a
/// row count other than `clusters`.
Expected<std::vector<float>> readCentresCsv(const std::string& path, std::int64_t clusters);

/// k-means clustering (Task::kClustering).
///
/// fit() ignores labels. Full batch (batch_size 0) copies every row into memory once, keeps
/// each row's squared norm, and runs Lloyd's iterations (or Elkan's or Hamerly's, which give
/// the same assignments with fewer distances) on `threads` threads; each iteration reports its
/// inertia (sum of squared distances of the rows to the centres they were assigned to).
/// Mini-batch (batch_size > 0, Sculley 2010 with per-centre learning rates) reads random
/// batches through Dataset::read and never holds all rows; an iteration is one batch, its
/// objective the batch's inertia scaled to the dataset's size, and it runs max_iterations
/// batches (a batch's centre shift shrinks with the rows already taken, so it would stop a
/// tolerance test too early). An empty cluster keeps its centre. The restart (n_init) with
/// the lowest final inertia is kept.
///
/// I/O: input "input" FP32 [-1, F]; outputs "cluster" INT64 [-1] (the nearest centre) and
/// "distances" FP32 [-1, k] (Euclidean distance to every centre, like scikit-learn's
/// transform).
///
/// Threading: predict() is const and keeps no mutable state: any number of threads may call
/// it once the model is ready. fit() and load() need exclusive access.
///
/// Payload (formatVersion 1), little-endian: u64 k, u64 F, f64 inertia, u64 iterations,
/// k*F f32 centres (row-major).
class KMeans final : public Model, public SelfTraining {
 public:
  static constexpr std::uint32_t kFormatVersion = 1;

  explicit KMeans(KMeansOptions options);

  ModelSchema schema() const override;
  bool ready() const override { return features_ > 0; }
  /// kFailedPrecondition before fit() or load(); kInvalidArgument for a wrong input.
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions& options) const override;
  SelfTraining* selfTraining() override { return this; }

  std::uint32_t formatVersion() const override { return kFormatVersion; }
  Status save(std::string& payload) const override;
  /// kInvalidArgument for an unknown format version; kDataLoss for a payload whose sizes do
  /// not add up or that holds non-finite numbers. The model is unchanged on failure.
  Status load(std::string_view payload, std::uint32_t format_version) override;

  /// kInvalidArgument for data that is not FP32 rows of shape [F], has fewer rows than
  /// clusters, holds NaN or infinity (naming the row), or does not match given centres. The
  /// model is unchanged on failure; stopped by the observer, it keeps what it reached.
  Status fit(const Dataset& data, std::uint64_t seed, FitObserver& observer) override;

  const KMeansOptions& options() const noexcept { return options_; }
  /// The centres, k x F row-major (empty before training).
  const std::vector<float>& centres() const noexcept { return centres_; }
  /// Sum of squared distances of the training rows to their nearest centre (full batch), or
  /// the last mini-batch's estimate of it.
  double inertia() const noexcept { return inertia_; }
  /// Iterations the kept run made.
  std::int64_t iterations() const noexcept { return iterations_; }

 private:
  struct Fitted {
    std::vector<float> centres;
    double inertia = 0;
    std::int64_t iterations = 0;
    bool stopped = false;
  };
  Expected<Fitted> fitFullBatch(const Dataset& data, std::uint64_t seed, FitObserver& observer);
  Expected<Fitted> fitMiniBatch(const Dataset& data, std::uint64_t seed, FitObserver& observer);
  std::vector<float> startingCentres(const PointSet& points, std::mt19937_64& rng) const;
  std::int64_t restarts() const;

  KMeansOptions options_;
  std::int64_t features_ = 0;  // 0 until trained or loaded
  std::vector<float> centres_;
  std::vector<double> centre_norms_;
  double inertia_ = 0;
  std::int64_t iterations_ = 0;
};

}  // namespace aimass::plugins::model
