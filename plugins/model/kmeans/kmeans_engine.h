// SPDX-License-Identifier: Apache-2.0
#pragma once

// The numeric core of model.kmeans (model.gmm compiles it in too for its k-means start):
// squared Euclidean distances by the expansion ||x||^2 - 2 x.c + ||c||^2 with a vectorised
// row-times-centres kernel, k-means++ seeding, and full-batch iterations (Lloyd, Elkan,
// Hamerly) that read rows straight from one row-major FP32 matrix.
//
// Threading: every function here is reentrant; those taking `threads` split the rows into that
// many contiguous ranges, run them on std::threads they start and join before returning, and
// give results that depend on `threads` only through the order of double sums.

#include <cstdint>
#include <functional>
#include <random>
#include <string_view>
#include <vector>

#include "aimass/model.h"

namespace aimass::plugins::model {

/// Rows to cluster: `rows` x `features` FP32, row-major, with each row's squared norm.
struct PointSet {
  const float* x = nullptr;
  std::int64_t rows = 0;
  std::int64_t features = 0;
  const double* norms = nullptr;  ///< ||x_i||^2, one per row
};

/// Every row of a dataset in memory, with the squared norms: what a full-batch fit works on.
struct DenseRows {
  std::vector<float> x;
  std::vector<double> norms;
  std::int64_t rows = 0;
  std::int64_t features = 0;
  PointSet view() const { return {x.data(), rows, features, norms.data()}; }
};

/// kInvalidArgument, naming `model`, unless the data has FP32 rows of shape [F] with F >= 1.
/// Labels are not looked at.
Status checkClusteringData(std::string_view model, const DatasetSchema& schema);

/// Reads the rows `indices` of `data` into `out` (resized), with their norms: kInvalidArgument
/// naming `model` and the row for a NaN or infinite value or a batch whose shape is not what
/// the schema says.
Status readRows(std::string_view model, const Dataset& data,
                const std::vector<std::uint64_t>& indices, DenseRows& out);

/// Reads every row of `data` (checkClusteringData first) in batches.
Expected<DenseRows> readAllRows(std::string_view model, const Dataset& data);

/// The mean over features of the rows' variance (scikit-learn scales its tol by it).
double meanVariance(const PointSet& points);

/// Index of the smallest of `count` values, the first one on ties.
std::int32_t nearestCentre(const double* squared_distances, std::int64_t count);

/// Which full-batch algorithm runs the iterations. All three give Lloyd's assignments (up to
/// ties within float rounding); Elkan and Hamerly skip distances their bounds rule out.
enum class KMeansAlgorithm { kLloyd, kElkan, kHamerly };

/// What `algorithm: auto` picks for k clusters: Elkan (k bounds a row, the fewest distances)
/// up to kElkanMaxClusters, Hamerly (one bound a row, less memory) beyond.
inline constexpr std::int64_t kElkanMaxClusters = 32;
inline KMeansAlgorithm automaticAlgorithm(std::int64_t clusters) {
  return clusters <= kElkanMaxClusters ? KMeansAlgorithm::kElkan : KMeansAlgorithm::kHamerly;
}

/// Settings of one full-batch run.
struct FullBatchSettings {
  KMeansAlgorithm algorithm = KMeansAlgorithm::kHamerly;
  std::int64_t max_iterations = 300;
  /// Stop when the summed squared centre shift is at most this (absolute; sklearn's tol times
  /// the mean feature variance). Negative: run every iteration unless the labels stop changing.
  double shift_tolerance = 0;
  int threads = 1;
};

/// What a full-batch run ends with: centres assigned to their final labels.
struct FullBatchResult {
  std::vector<float> centres;  ///< k x features
  double inertia = 0;          ///< sum of squared distances to the final centres
  std::int64_t iterations = 0;
  bool stopped = false;  ///< the observer asked to stop
};

/// Runs `work(range_index, begin, end)` over [0, rows) split into `threads` contiguous ranges,
/// the first on the calling thread. Rethrows the first exception after joining.
void parallelRows(int threads, std::int64_t rows,
                  const std::function<void(int, std::int64_t, std::int64_t)>& work);

/// ||v||^2 in double.
double squaredNorm(const float* v, std::int64_t n);

/// Squared norms of the k rows of `centres`.
std::vector<double> centreNorms(const std::vector<float>& centres, std::int64_t features);

/// out[j] = squared distance from row `x` (norm `x_norm`) to centre j, for the `count` centres
/// listed in `which` (null: centres 0..count-1). The same centre gives the same bits whichever
/// others are computed with it, so Lloyd and the bounded algorithms agree exactly.
void squaredDistances(const float* x, double x_norm, std::int64_t features, const float* centres,
                      const double* centre_norms, const std::int32_t* which, std::int64_t count,
                      double* out);

/// Greedy k-means++ (Arthur & Vassilvitskii; scikit-learn's variant with 2 + log(k) local
/// trials per centre): k centres chosen among the rows. Needs rows >= 1.
std::vector<float> kmeansPlusPlus(const PointSet& points, std::int64_t k, std::mt19937_64& rng,
                                  int threads);

/// k distinct rows chosen uniformly (rows may repeat when there are fewer than k).
std::vector<float> randomRows(const PointSet& points, std::int64_t k, std::mt19937_64& rng);

/// Full-batch k-means from `centres` (k x features). Reports the inertia of each iteration's
/// assignment to the observer (iteration numbers continue from `first_iteration`); a true
/// return stops after that iteration. An empty cluster keeps its centre.
FullBatchResult runFullBatch(const PointSet& points, std::vector<float> centres,
                             const FullBatchSettings& settings, FitObserver& observer,
                             std::uint64_t first_iteration = 1);

}  // namespace aimass::plugins::model
