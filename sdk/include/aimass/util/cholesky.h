// SPDX-License-Identifier: Apache-2.0
#pragma once

// A utility header, not part of the plugin ABI: inline code that host and plugins compile in
// themselves; nothing of it crosses the plugin boundary.
//
// Dense Cholesky factorisation and solve for the small symmetric positive definite systems of
// closed-form fits (model.linear's normal equations, model.mf's per-user ridge steps) and
// model.gmm's covariances.

#include <cmath>
#include <cstddef>
#include <vector>

namespace aimass {

/// A Cholesky pivot at or below this fraction of its original diagonal marks the system as
/// numerically singular.
inline constexpr double kCholeskyPivotTolerance = 1e-10;

/// Factorises the symmetric positive definite `a` (n x n, row-major) in place into its lower
/// Cholesky factor; the upper triangle is left as it was. Returns the index of the first pivot
/// that is not positive enough (relative to its original diagonal, or not finite), or n.
inline std::size_t cholesky(double* a, std::size_t n) {
  std::vector<double> diagonal(n);
  for (std::size_t i = 0; i < n; ++i) {
    diagonal[i] = a[i * n + i];
  }
  for (std::size_t j = 0; j < n; ++j) {
    double d = a[j * n + j];
    for (std::size_t k = 0; k < j; ++k) {
      d -= a[j * n + k] * a[j * n + k];
    }
    if (!(d > kCholeskyPivotTolerance * diagonal[j]) || !(d > 0) || !std::isfinite(d)) {
      return j;
    }
    const double l = std::sqrt(d);
    a[j * n + j] = l;
    for (std::size_t i = j + 1; i < n; ++i) {
      double s = a[i * n + j];
      for (std::size_t k = 0; k < j; ++k) {
        s -= a[i * n + k] * a[j * n + k];
      }
      a[i * n + j] = s / l;
    }
  }
  return n;
}

/// cholesky() of a whole vector holding one n x n matrix.
inline std::size_t cholesky(std::vector<double>& a, std::size_t n) { return cholesky(a.data(), n); }

/// Solves L L' x = b in place for the factor from cholesky().
inline void choleskySolve(const std::vector<double>& l, std::size_t n, double* b) {
  for (std::size_t i = 0; i < n; ++i) {
    double s = b[i];
    for (std::size_t k = 0; k < i; ++k) {
      s -= l[i * n + k] * b[k];
    }
    b[i] = s / l[i * n + i];
  }
  for (std::size_t i = n; i-- > 0;) {
    double s = b[i];
    for (std::size_t k = i + 1; k < n; ++k) {
      s -= l[k * n + i] * b[k];
    }
    b[i] = s / l[i * n + i];
  }
}

}  // namespace aimass
