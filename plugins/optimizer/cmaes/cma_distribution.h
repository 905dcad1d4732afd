// SPDX-License-Identifier: Apache-2.0
#pragma once

// The multivariate normal search distribution of CMA-ES (Hansen, "The CMA Evolution Strategy:
// A Tutorial", 2016), on the unit cube [0, 1]^n: sampling, the update from a generation's
// selected points (weighted recombination, cumulative step-size adaptation, rank-one and
// rank-mu covariance updates) and the eigendecomposition of C, done lazily every few
// generations by a cyclic Jacobi solver. No ledger, no categories, no restarts: cmaes.h
// drives it.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "aimass/byte_io.h"
#include "aimass/util/search_support.h"

namespace aimass::plugins::optimizer {

/// Eigendecomposition of the symmetric n x n matrix `a` (row-major; only symmetric input is
/// meaningful) by cyclic Jacobi rotations: `values` gets the eigenvalues, `vectors` (row-major)
/// the eigenvectors as columns, so a = V diag(values) V^T. Deterministic; O(n^3) per sweep.
void jacobiEigen(std::vector<double> a, std::size_t n, std::vector<double>& values,
                 std::vector<double>& vectors);

/// Writes `values` as f64s, without a count.
void writeDoubles(ByteWriter& out, const std::vector<double>& values);
/// Reads `size` f64s into `values`; false when the bytes run out.
bool readDoubles(ByteReader& in, std::vector<double>& values, std::size_t size);

/// Reflects `v` into [0, 1] (periodically: 1.2 -> 0.8, -0.3 -> 0.3, 2.4 -> 0.4).
double mirrorIntoUnit(double v);

/// CMA-ES's distribution N(mean, sigma^2 C) over [0, 1]^n with the tutorial's default
/// constants for n dimensions and population lambda (positive recombination weights only).
/// n may be 0 (a space of categories only): then sampling gives empty points and updates only
/// count generations. Not thread-safe.
class CmaDistribution {
 public:
  /// A new run: C = I, zero paths, the given mean (size n) and step size.
  void reset(std::size_t n, std::size_t lambda, double sigma, std::vector<double> mean);

  /// A point x = mean + sigma * B D z, z standard normal, mirrored into the cube.
  std::vector<double> sample(SearchRandom& random) const;
  /// The tutorial's update from the generation's best points, best first (at most mu; fewer
  /// when some evaluations failed, with the weights renormalised). Empty: nothing changes but
  /// the generation count.
  void update(std::span<const std::vector<double>* const> selected);

  std::size_t dimensions() const noexcept { return n_; }
  std::size_t lambda() const noexcept { return lambda_; }
  std::size_t mu() const noexcept { return weights_.size(); }
  /// Recombination weights of the mu best, summing to 1.
  const std::vector<double>& weights() const noexcept { return weights_; }
  double sigma() const noexcept { return sigma_; }
  const std::vector<double>& mean() const noexcept { return mean_; }
  /// sigma times the largest standard deviation along a coordinate axis.
  double largestStep() const;
  /// Largest over smallest eigenvalue of C.
  double conditionNumber() const;

  void write(ByteWriter& out) const;
  /// False (this distribution unchanged) when the bytes run out or are inconsistent.
  bool read(ByteReader& in);

 private:
  void computeConstants();
  void decompose();

  std::size_t n_ = 0, lambda_ = 0;
  std::vector<double> weights_;
  double mueff_ = 1, cc_ = 0, cs_ = 0, c1_ = 0, cmu_ = 0, damps_ = 1, chi_n_ = 1;
  double sigma_ = 0.3;
  std::vector<double> mean_, pc_, ps_;
  std::vector<double> c_, b_, d_;  // C, its eigenvectors (columns), sqrt of its eigenvalues
  std::uint64_t generation_ = 0, eigen_generation_ = 0;
};

}  // namespace aimass::plugins::optimizer
