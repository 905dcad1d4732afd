// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "aimass/status.h"

namespace aimass::core {

/// Clustering metrics over every row seen, defined as scikit-learn defines them.
struct ClusteringReport {
  std::uint64_t rows = 0;
  std::int64_t clusters = 0;       ///< clusters the model has (k)
  std::int64_t clusters_used = 0;  ///< clusters that at least one row was assigned to
  /// Sum over rows of the squared distance to the assigned cluster's centre. With the model's
  /// "distances" output (k-means) the centre is the model's: the squared distance to the
  /// assigned cluster. Without it (a mixture model) the centre is the mean of the evaluated rows
  /// assigned to that cluster.
  double inertia = 0;
  bool inertia_from_distances = false;  ///< which of the two definitions `inertia` used
  /// Mean silhouette coefficient of the sampled rows (scikit-learn's silhouette_score on that
  /// sample); nullopt when the sample has fewer than 2 clusters or every row is its own cluster.
  std::optional<double> silhouette;
  std::uint64_t silhouette_rows = 0;  ///< rows in the silhouette sample
  /// Davies-Bouldin index with the evaluated rows' centroids per cluster (lower is better);
  /// nullopt when fewer than 2 clusters are used or every row is its own cluster.
  std::optional<double> davies_bouldin;
  /// Agreement with the dataset's class labels, when it has some: adjusted Rand index and
  /// normalised mutual information (arithmetic-mean normalisation).
  std::optional<double> adjusted_rand;
  std::optional<double> nmi;
};

/// Up to `sample` distinct row indices of [0, total), sorted, chosen uniformly by a generator
/// seeded with `seed` (the same seed picks the same rows); every row when sample is 0 or
/// sample >= total.
std::vector<std::uint64_t> sampleRows(std::uint64_t total, std::uint64_t sample,
                                      std::uint64_t seed);

/// Mean silhouette coefficient of `rows` (row-major [n, features]) with cluster indices
/// `clusters` (any non-negative values), computed like scikit-learn's silhouette_score with
/// Euclidean distances: a row in a cluster of one scores 0. nullopt when fewer than 2 distinct
/// clusters occur or every row has its own cluster (scikit-learn raises there).
/// Time O(n^2 features). Memory O(n x clusters) while that many doubles fit `table_budget`
/// (each distance is computed once), else O(n + clusters) at twice the time.
/// kInvalidArgument for mismatched sizes or a negative cluster.
Expected<std::optional<double>> silhouetteScore(std::span<const float> rows, std::int64_t features,
                                                std::span<const std::int64_t> clusters,
                                                std::size_t table_budget = std::size_t{1} << 22);

/// Adjusted Rand index of a contingency table (counts[class][cluster]), as scikit-learn's
/// adjusted_rand_score computes it from its pair confusion matrix: 1 for identical
/// partitions (also when both put every row in one group), around 0 for chance.
double adjustedRandIndex(const std::vector<std::vector<std::uint64_t>>& counts);

/// Normalised mutual information of a contingency table (counts[class][cluster]) with the
/// arithmetic mean of the two entropies as normaliser, as scikit-learn's
/// normalized_mutual_info_score: 1 when both have a single group, 0 when the mutual
/// information is 0.
double normalizedMutualInformation(const std::vector<std::vector<std::uint64_t>>& counts);

/// Accumulates a clustering over every row, in two passes over the same rows in any batching:
/// the first (add()) gathers per-cluster sums and counts, inertia from distances and the
/// contingency table with class labels; the second (addSpread()) measures each row's distance
/// to its cluster's centroid, which Davies-Bouldin (and inertia without distances) needs.
/// Memory O(clusters x (features + classes)); rows are not kept. Not thread-safe.
class ClusteringMetrics {
 public:
  /// `classes` is the number of class labels (0: the data has none, no ARI/NMI).
  ClusteringMetrics(std::int64_t features, std::int64_t clusters, std::int64_t classes);

  /// First pass: one batch of features (row-major [n, features]), assigned clusters [n], the
  /// model's distances to every centre ([n, clusters], or empty) and class labels ([n], or
  /// empty without classes). Either every batch has distances or none does. kInvalidArgument
  /// (naming the row within the batch) for a cluster or class outside its range, mismatched
  /// sizes, a non-finite value; nothing is added then.
  Status add(std::span<const float> features, std::span<const std::int64_t> clusters,
             std::span<const float> distances, std::span<const std::int64_t> classes);

  /// Second pass, after every add(): the same rows' features and clusters again. Rows whose
  /// cluster got no row in the first pass are an error (kInvalidArgument).
  Status addSpread(std::span<const float> features, std::span<const std::int64_t> clusters);

  /// kFailedPrecondition when no row was added, or when the second pass did not see as many
  /// rows as the first. `silhouette` (and its sample size) is copied into the report.
  Expected<ClusteringReport> report(std::optional<double> silhouette,
                                    std::uint64_t silhouette_rows) const;

 private:
  Status checkBatch(std::span<const float> features, std::span<const std::int64_t> clusters) const;

  std::int64_t features_;
  std::int64_t clusters_;
  std::vector<std::uint64_t> counts_;                    // rows per cluster
  std::vector<double> sums_;                             // [clusters, features] feature sums
  std::vector<std::vector<std::uint64_t>> contingency_;  // [classes][clusters]
  std::optional<bool> with_distances_;
  double distance_inertia_ = 0;
  std::vector<double> spread_;     // per cluster: sum of distances to its centroid
  double centroid_inertia_ = 0;    // sum of squared distances to the rows' centroids
  std::vector<double> centroids_;  // [clusters, features], made by the first addSpread()
  std::uint64_t rows_ = 0;
  std::uint64_t spread_rows_ = 0;
};

}  // namespace aimass::core
