// SPDX-License-Identifier: Apache-2.0
#include "kmeans_engine.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <mutex>
#include <string>
#include <thread>

// The distance kernel is built twice, for AVX+FMA and for the baseline, and the loader picks
// one at run time; every call in a process uses the same one.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define AIMASS_KMEANS_CLONES __attribute__((target_clones("fma", "default")))
#else
#define AIMASS_KMEANS_CLONES
#endif

namespace aimass::plugins::model {

namespace {

typedef float Float8 __attribute__((vector_size(32)));

/// A bound must clear the other side by this relative margin before a distance is skipped, so
/// that float rounding in the computed distances cannot make a skip disagree with Lloyd.
constexpr double kBoundSlack = 1e-5;

/// Dot products of `x` with kCount centre rows. Each centre's products run in two chains of
/// 8-lane fused multiply-adds (even and odd blocks of 8 features, so the FMA latency overlaps)
/// in the same order whatever kCount is: one centre gives the same bits in any block.
template <int kCount>
__attribute__((always_inline)) inline void dotBlock(const float* x, std::int64_t features,
                                                    const float* const* centres, float* out) {
  Float8 even[kCount] = {};
  Float8 odd[kCount] = {};
  const std::int64_t pairs = features / 16 * 16;
  for (std::int64_t f = 0; f < pairs; f += 16) {
    Float8 x0, x1;
    std::memcpy(&x0, x + f, sizeof x0);
    std::memcpy(&x1, x + f + 8, sizeof x1);
    _Pragma("GCC unroll 8") for (int j = 0; j < kCount; ++j) {
      Float8 c0, c1;
      std::memcpy(&c0, centres[j] + f, sizeof c0);
      std::memcpy(&c1, centres[j] + f + 8, sizeof c1);
      even[j] += x0 * c0;
      odd[j] += x1 * c1;
    }
  }
  const std::int64_t full = features / 8 * 8;
  if (full > pairs) {
    Float8 x0;
    std::memcpy(&x0, x + pairs, sizeof x0);
    _Pragma("GCC unroll 8") for (int j = 0; j < kCount; ++j) {
      Float8 c0;
      std::memcpy(&c0, centres[j] + pairs, sizeof c0);
      even[j] += x0 * c0;
    }
  }
  for (int j = 0; j < kCount; ++j) {
    const Float8 both = even[j] + odd[j];
    float sum = 0;
    for (int lane = 0; lane < 8; ++lane) {
      sum += both[lane];
    }
    for (std::int64_t f = full; f < features; ++f) {
      sum += x[f] * centres[j][f];
    }
    out[j] = sum;
  }
}

AIMASS_KMEANS_CLONES void dot4(const float* x, std::int64_t features, const float* const* centres,
                               float* out) {
  dotBlock<4>(x, features, centres, out);
}

AIMASS_KMEANS_CLONES void dot2(const float* x, std::int64_t features, const float* const* centres,
                               float* out) {
  dotBlock<2>(x, features, centres, out);
}

AIMASS_KMEANS_CLONES void dot1(const float* x, std::int64_t features, const float* const* centres,
                               float* out) {
  dotBlock<1>(x, features, centres, out);
}

double sqrtClamped(double squared) { return std::sqrt(std::max(squared, 0.0)); }

/// Centre-to-centre distances (k x k) and, per centre, half the distance to its nearest other.
void centreSeparation(const std::vector<float>& centres, std::int64_t k, std::int64_t features,
                      std::vector<double>& separation, std::vector<double>& half_nearest) {
  separation.assign(static_cast<std::size_t>(k * k), 0.0);
  half_nearest.assign(static_cast<std::size_t>(k), std::numeric_limits<double>::infinity());
  for (std::int64_t a = 0; a < k; ++a) {
    for (std::int64_t b = a + 1; b < k; ++b) {
      double sum = 0;
      for (std::int64_t f = 0; f < features; ++f) {
        const double diff = double(centres[a * features + f]) - centres[b * features + f];
        sum += diff * diff;
      }
      const double distance = std::sqrt(sum);
      separation[a * k + b] = separation[b * k + a] = distance;
      half_nearest[a] = std::min(half_nearest[a], distance / 2);
      half_nearest[b] = std::min(half_nearest[b], distance / 2);
    }
  }
}

/// The per-iteration state of a full-batch run.
class FullBatchRun {
 public:
  FullBatchRun(const PointSet& points, std::vector<float> centres, const FullBatchSettings& s)
      : p_(points),
        s_(s),
        k_(static_cast<std::int64_t>(centres.size()) / points.features),
        d_(points.features),
        centres_(std::move(centres)),
        labels_(static_cast<std::size_t>(points.rows), -1),
        sums_(static_cast<std::size_t>(k_ * d_), 0.0),
        counts_(static_cast<std::size_t>(k_), 0),
        shift_(static_cast<std::size_t>(k_), 0.0),
        drift_(static_cast<std::size_t>(k_), 0.0) {
    s_.threads = static_cast<int>(
        std::clamp<std::int64_t>(s_.threads, 1, std::max<std::int64_t>(1, p_.rows / 256)));
    if (s_.algorithm != KMeansAlgorithm::kLloyd) {
      upper_.assign(static_cast<std::size_t>(p_.rows), 0.0);
      const std::int64_t per_row = s_.algorithm == KMeansAlgorithm::kElkan ? k_ : 1;
      lower_.assign(static_cast<std::size_t>(p_.rows * per_row), 0.0);
    }
    for (std::int64_t i = 0; i < p_.rows; ++i) {
      total_norm_ += p_.norms[i];
    }
    refreshCentreData();
  }

  FullBatchResult run(FitObserver& observer, std::uint64_t first_iteration) {
    FullBatchResult result;
    bool converged = false;
    for (std::int64_t it = 0; it < s_.max_iterations; ++it) {
      const std::int64_t changed = pass(it == 0);
      const double inertia = inertia_();
      result.iterations = it + 1;
      const bool stop = observer.onIteration(first_iteration + it, inertia);
      if (changed == 0 && it > 0) {
        converged = true;  // same labels, so the same centres: Lloyd's fixed point
        break;
      }
      const double total_shift = moveCentres();
      if (stop) {
        result.stopped = true;
        break;
      }
      if (total_shift <= s_.shift_tolerance) {
        break;
      }
      refreshCentreData();
    }
    if (!converged) {
      // Assign to the final centres, as scikit-learn does, so labels and inertia match them.
      refreshCentreData();
      pass(false);
    }
    result.inertia = inertia_();
    result.centres = std::move(centres_);
    return result;
  }

 private:
  /// What one thread collects in a pass: the changes to the sums and counts.
  struct Delta {
    std::vector<double> sums;
    std::vector<std::int64_t> counts;
    std::int64_t changed = 0;
  };

  void refreshCentreData() {
    norms_ = centreNorms(centres_, d_);
    if (s_.algorithm != KMeansAlgorithm::kLloyd) {
      centreSeparation(centres_, k_, d_, separation_, half_nearest_);
    }
    max_shift_ = second_shift_ = 0;
    max_shift_index_ = -1;
    for (std::int64_t j = 0; j < k_; ++j) {
      if (shift_[j] > max_shift_) {
        second_shift_ = max_shift_;
        max_shift_ = shift_[j];
        max_shift_index_ = j;
      } else {
        second_shift_ = std::max(second_shift_, shift_[j]);
      }
    }
  }

  /// Assigns every row to the centres; returns how many rows changed cluster.
  std::int64_t pass(bool first) {
    std::vector<Delta> deltas(static_cast<std::size_t>(s_.threads));
    parallelRows(s_.threads, p_.rows, [&](int t, std::int64_t begin, std::int64_t end) {
      Delta& delta = deltas[t];
      delta.sums.assign(static_cast<std::size_t>(k_ * d_), 0.0);
      delta.counts.assign(static_cast<std::size_t>(k_), 0);
      std::vector<double> distances(static_cast<std::size_t>(k_));
      for (std::int64_t i = begin; i < end; ++i) {
        const std::int32_t old = labels_[i];
        const std::int32_t now = decide(i, first, distances.data());
        if (now == old) {
          continue;
        }
        labels_[i] = now;
        ++delta.changed;
        const float* x = p_.x + i * d_;
        double* add = delta.sums.data() + now * d_;
        for (std::int64_t f = 0; f < d_; ++f) {
          add[f] += x[f];
        }
        ++delta.counts[now];
        if (old >= 0) {
          double* sub = delta.sums.data() + old * d_;
          for (std::int64_t f = 0; f < d_; ++f) {
            sub[f] -= x[f];
          }
          --delta.counts[old];
        }
      }
    });
    std::int64_t changed = 0;
    for (const Delta& delta : deltas) {
      changed += delta.changed;
      if (delta.changed == 0) {
        continue;
      }
      for (std::size_t i = 0; i < sums_.size(); ++i) {
        sums_[i] += delta.sums[i];
      }
      for (std::int64_t j = 0; j < k_; ++j) {
        counts_[j] += delta.counts[j];
      }
    }
    return changed;
  }

  void all(std::int64_t i, double* distances) const {
    squaredDistances(p_.x + i * d_, p_.norms[i], d_, centres_.data(), norms_.data(), nullptr, k_,
                     distances);
  }
  double one(std::int64_t i, std::int32_t j) const {
    double distance = 0;
    squaredDistances(p_.x + i * d_, p_.norms[i], d_, centres_.data(), norms_.data(), &j, 1,
                     &distance);
    return distance;
  }

  /// The cluster of row i under the current centres (updating its bounds).
  std::int32_t decide(std::int64_t i, bool first, double* distances) {
    if (s_.algorithm == KMeansAlgorithm::kLloyd) {
      all(i, distances);
      return nearestCentre(distances, k_);
    }
    if (s_.algorithm == KMeansAlgorithm::kHamerly) {
      return first ? hamerlyAll(i, distances) : hamerly(i, distances);
    }
    return first ? elkanAll(i, distances) : elkan(i);
  }

  std::int32_t hamerlyAll(std::int64_t i, double* distances) {
    all(i, distances);
    const std::int32_t best = nearestCentre(distances, k_);
    double second = std::numeric_limits<double>::infinity();
    for (std::int64_t j = 0; j < k_; ++j) {
      if (j != best) {
        second = std::min(second, distances[j]);
      }
    }
    upper_[i] = sqrtClamped(distances[best]);
    lower_[i] = std::isinf(second) ? second : sqrtClamped(second);
    return best;
  }

  std::int32_t hamerly(std::int64_t i, double* distances) {
    const std::int32_t a = labels_[i];
    double u = upper_[i] + shift_[a];
    const double l = lower_[i] - (a == max_shift_index_ ? second_shift_ : max_shift_);
    const double bound = std::max(half_nearest_[a], l) * (1 - kBoundSlack);
    upper_[i] = u;
    lower_[i] = l;
    if (u <= bound) {
      return a;
    }
    u = sqrtClamped(one(i, a));
    upper_[i] = u;
    if (u <= bound) {
      return a;
    }
    return hamerlyAll(i, distances);
  }

  // Elkan's bounds are kept relative to each centre's drift (the sum of its shifts so far):
  // a row stores lower bound l + drift_j and upper bound u - drift_a, so a centre's move
  // loosens every bound at once, and a row whose upper bound stays under half the distance to
  // the nearest other centre costs two reads.

  std::int32_t elkanAll(std::int64_t i, double* distances) {
    all(i, distances);
    double* lower = lower_.data() + i * k_;
    for (std::int64_t j = 0; j < k_; ++j) {
      lower[j] = sqrtClamped(distances[j]) + drift_[j];
    }
    const std::int32_t best = nearestCentre(distances, k_);
    upper_[i] = sqrtClamped(distances[best]) - drift_[best];
    return best;
  }

  std::int32_t elkan(std::int64_t i) {
    std::int32_t a = labels_[i];
    double u = upper_[i] + drift_[a];
    if (u <= half_nearest_[a] * (1 - kBoundSlack)) {
      return a;
    }
    double* lower = lower_.data() + i * k_;
    bool tight = false;
    double best_squared = 0;
    for (std::int32_t j = 0; j < k_; ++j) {
      if (j == a) {
        continue;
      }
      const double z =
          std::max(lower[j] - drift_[j], separation_[a * k_ + j] / 2) * (1 - kBoundSlack);
      if (u <= z) {
        continue;
      }
      if (!tight) {
        best_squared = one(i, a);
        u = sqrtClamped(best_squared);
        lower[a] = u + drift_[a];
        tight = true;
        if (u <= z) {
          continue;
        }
      }
      const double squared = one(i, j);
      lower[j] = sqrtClamped(squared) + drift_[j];
      if (squared < best_squared || (squared == best_squared && j < a)) {
        a = j;
        best_squared = squared;
        u = sqrtClamped(squared);
      }
    }
    upper_[i] = u - drift_[a];
    return a;
  }

  /// Sum of squared distances of the rows to the current centres under the current labels:
  /// sum ||x||^2 - 2 sum_j c_j . S_j + sum_j n_j ||c_j||^2, from the cluster sums.
  double inertia_() const {
    double cross = 0, centre_terms = 0;
    for (std::int64_t j = 0; j < k_; ++j) {
      const float* c = centres_.data() + j * d_;
      const double* sum = sums_.data() + j * d_;
      double dot = 0;
      for (std::int64_t f = 0; f < d_; ++f) {
        dot += c[f] * sum[f];
      }
      cross += dot;
      centre_terms += static_cast<double>(counts_[j]) * norms_[j];
    }
    return std::max(0.0, total_norm_ - 2 * cross + centre_terms);
  }

  /// Moves each non-empty centre to its cluster's mean; returns the summed squared shift.
  double moveCentres() {
    double total = 0;
    for (std::int64_t j = 0; j < k_; ++j) {
      double squared = 0;
      if (counts_[j] > 0) {
        const double inv = 1.0 / static_cast<double>(counts_[j]);
        for (std::int64_t f = 0; f < d_; ++f) {
          float& c = centres_[j * d_ + f];
          const auto moved = static_cast<float>(sums_[j * d_ + f] * inv);
          const double diff = double(moved) - c;
          squared += diff * diff;
          c = moved;
        }
      }
      shift_[j] = std::sqrt(squared);
      drift_[j] += shift_[j];
      total += squared;
    }
    return total;
  }

  const PointSet& p_;
  FullBatchSettings s_;
  const std::int64_t k_, d_;
  std::vector<float> centres_;
  std::vector<std::int32_t> labels_;
  std::vector<double> sums_;
  std::vector<std::int64_t> counts_;
  std::vector<double> shift_, norms_, separation_, half_nearest_, upper_, lower_;
  std::vector<double> drift_;  // per centre, the sum of its shifts (Elkan's relative bounds)
  double max_shift_ = 0, second_shift_ = 0;
  std::int64_t max_shift_index_ = -1;
  double total_norm_ = 0;
};

}  // namespace

std::int32_t nearestCentre(const double* squared_distances, std::int64_t count) {
  std::int32_t best = 0;
  for (std::int64_t j = 1; j < count; ++j) {
    if (squared_distances[j] < squared_distances[best]) {
      best = static_cast<std::int32_t>(j);
    }
  }
  return best;
}

Status checkClusteringData(std::string_view model, const DatasetSchema& schema) {
  if (schema.feature_dtype != DType::kFloat32) {
    return invalidArgument(std::string(model) + " needs FP32 features, but the data has " +
                           std::string(dtypeName(schema.feature_dtype)));
  }
  if (schema.row_shape.size() != 1 || schema.row_shape[0] <= 0) {
    return invalidArgument(std::string(model) + " needs rows of shape [F], but the data has " +
                           shapeToString(schema.row_shape));
  }
  return okStatus();
}

Status readRows(std::string_view model, const Dataset& data,
                const std::vector<std::uint64_t>& indices, DenseRows& out) {
  Batch batch;
  AIMASS_RETURN_IF_ERROR(data.read(indices, batch).withContext(std::string(model) + " fit"));
  const auto count = static_cast<std::int64_t>(indices.size());
  const std::int64_t features = data.schema().row_shape[0];
  if (batch.features.dtype() != DType::kFloat32 ||
      batch.features.shape() != Shape{count, features}) {
    return invalidArgument(std::string(model) + ": the dataset gave features " +
                           std::string(dtypeName(batch.features.dtype())) + " " +
                           shapeToString(batch.features.shape()) + " for " + std::to_string(count) +
                           " rows, not what its schema says");
  }
  out.rows = count;
  out.features = features;
  out.x.resize(static_cast<std::size_t>(count * features));
  out.norms.resize(static_cast<std::size_t>(count));
  const float* x = batch.features.data<float>();
  for (std::int64_t r = 0; r < count; ++r) {
    for (std::int64_t f = 0; f < features; ++f) {
      if (!std::isfinite(x[r * features + f])) {
        return invalidArgument(std::string(model) + ": row " + std::to_string(indices[r]) +
                               " has a NaN or infinite value in feature " + std::to_string(f));
      }
    }
  }
  std::copy_n(x, count * features, out.x.begin());
  for (std::int64_t r = 0; r < count; ++r) {
    out.norms[r] = squaredNorm(out.x.data() + r * features, features);
  }
  return okStatus();
}

Expected<DenseRows> readAllRows(std::string_view model, const Dataset& data) {
  AIMASS_RETURN_IF_ERROR(checkClusteringData(model, data.schema()));
  constexpr std::uint64_t kChunk = 4096;
  const std::uint64_t rows = data.size();
  DenseRows all;
  all.features = data.schema().row_shape[0];
  all.rows = static_cast<std::int64_t>(rows);
  all.x.resize(static_cast<std::size_t>(rows * all.features));
  all.norms.resize(static_cast<std::size_t>(rows));
  DenseRows chunk;
  std::vector<std::uint64_t> indices;
  for (std::uint64_t start = 0; start < rows; start += kChunk) {
    indices.clear();
    for (std::uint64_t i = start; i < std::min(rows, start + kChunk); ++i) {
      indices.push_back(i);
    }
    AIMASS_RETURN_IF_ERROR(readRows(model, data, indices, chunk));
    std::copy(chunk.x.begin(), chunk.x.end(), all.x.begin() + start * all.features);
    std::copy(chunk.norms.begin(), chunk.norms.end(), all.norms.begin() + start);
  }
  return all;
}

double meanVariance(const PointSet& points) {
  if (points.rows == 0) {
    return 0;
  }
  std::vector<double> mean(static_cast<std::size_t>(points.features), 0.0);
  for (std::int64_t i = 0; i < points.rows; ++i) {
    for (std::int64_t f = 0; f < points.features; ++f) {
      mean[f] += points.x[i * points.features + f];
    }
  }
  for (double& m : mean) {
    m /= static_cast<double>(points.rows);
  }
  double total = 0;
  for (std::int64_t i = 0; i < points.rows; ++i) {
    for (std::int64_t f = 0; f < points.features; ++f) {
      const double diff = points.x[i * points.features + f] - mean[f];
      total += diff * diff;
    }
  }
  return total / static_cast<double>(points.rows * points.features);
}

void parallelRows(int threads, std::int64_t rows,
                  const std::function<void(int, std::int64_t, std::int64_t)>& work) {
  threads = static_cast<int>(std::clamp<std::int64_t>(threads, 1, std::max<std::int64_t>(rows, 1)));
  if (threads == 1) {
    work(0, 0, rows);
    return;
  }
  std::exception_ptr error;
  std::mutex error_mutex;
  auto guarded = [&](int t) {
    try {
      work(t, rows * t / threads, rows * (t + 1) / threads);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) {
        error = std::current_exception();
      }
    }
  };
  std::vector<std::thread> helpers;
  helpers.reserve(static_cast<std::size_t>(threads - 1));
  for (int t = 1; t < threads; ++t) {
    helpers.emplace_back(guarded, t);
  }
  guarded(0);
  for (auto& helper : helpers) {
    helper.join();
  }
  if (error) {
    std::rethrow_exception(error);
  }
}

double squaredNorm(const float* v, std::int64_t n) {
  double sum = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    sum += double(v[i]) * v[i];
  }
  return sum;
}

std::vector<double> centreNorms(const std::vector<float>& centres, std::int64_t features) {
  const std::int64_t k = static_cast<std::int64_t>(centres.size()) / features;
  std::vector<double> norms(static_cast<std::size_t>(k));
  for (std::int64_t j = 0; j < k; ++j) {
    norms[j] = squaredNorm(centres.data() + j * features, features);
  }
  return norms;
}

void squaredDistances(const float* x, double x_norm, std::int64_t features, const float* centres,
                      const double* centre_norms, const std::int32_t* which, std::int64_t count,
                      double* out) {
  const float* rows[4];
  std::int64_t index[4];
  float dots[4];
  std::int64_t j = 0;
  auto finish = [&](int n) {
    for (int b = 0; b < n; ++b) {
      out[j + b] = x_norm + centre_norms[index[b]] - 2.0 * double(dots[b]);
    }
  };
  for (; j + 4 <= count; j += 4) {
    for (int b = 0; b < 4; ++b) {
      index[b] = which != nullptr ? which[j + b] : j + b;
      rows[b] = centres + index[b] * features;
    }
    dot4(x, features, rows, dots);
    finish(4);
  }
  for (; j + 2 <= count; j += 2) {
    for (int b = 0; b < 2; ++b) {
      index[b] = which != nullptr ? which[j + b] : j + b;
      rows[b] = centres + index[b] * features;
    }
    dot2(x, features, rows, dots);
    finish(2);
  }
  for (; j < count; ++j) {
    index[0] = which != nullptr ? which[j] : j;
    rows[0] = centres + index[0] * features;
    dot1(x, features, rows, dots);
    finish(1);
  }
}

std::vector<float> randomRows(const PointSet& points, std::int64_t k, std::mt19937_64& rng) {
  const std::int64_t d = points.features;
  std::vector<float> centres(static_cast<std::size_t>(k * d));
  std::vector<std::int64_t> order(static_cast<std::size_t>(points.rows));
  for (std::int64_t i = 0; i < points.rows; ++i) {
    order[i] = i;
  }
  for (std::int64_t j = 0; j < k; ++j) {
    std::int64_t row = 0;
    if (j < points.rows) {
      std::uniform_int_distribution<std::int64_t> pick(j, points.rows - 1);
      std::swap(order[j], order[pick(rng)]);
      row = order[j];
    } else {
      row = std::uniform_int_distribution<std::int64_t>(0, points.rows - 1)(rng);
    }
    std::copy_n(points.x + row * d, d, centres.begin() + j * d);
  }
  return centres;
}

std::vector<float> kmeansPlusPlus(const PointSet& points, std::int64_t k, std::mt19937_64& rng,
                                  int threads) {
  const std::int64_t n = points.rows, d = points.features;
  const std::int64_t trials = 2 + static_cast<std::int64_t>(std::log(static_cast<double>(k)));
  std::vector<float> centres(static_cast<std::size_t>(k * d));
  std::vector<double> closest(static_cast<std::size_t>(n));
  std::vector<double> cumulative(static_cast<std::size_t>(n));
  std::vector<double> candidate_distances(static_cast<std::size_t>(n * trials));
  std::uniform_real_distribution<double> unit(0.0, 1.0);

  const std::int64_t first = std::uniform_int_distribution<std::int64_t>(0, n - 1)(rng);
  std::copy_n(points.x + first * d, d, centres.begin());
  {
    const std::vector<double> norm = {points.norms[first]};
    parallelRows(threads, n, [&](int, std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) {
        squaredDistances(points.x + i * d, points.norms[i], d, centres.data(), norm.data(), nullptr,
                         1, &closest[i]);
        closest[i] = std::max(closest[i], 0.0);
      }
    });
  }
  for (std::int64_t c = 1; c < k; ++c) {
    double potential = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      potential += closest[i];
      cumulative[i] = potential;
    }
    std::vector<float> candidates(static_cast<std::size_t>(trials * d));
    std::vector<double> candidate_norms(static_cast<std::size_t>(trials));
    std::vector<std::int64_t> candidate_rows(static_cast<std::size_t>(trials));
    for (std::int64_t t = 0; t < trials; ++t) {
      const double target = unit(rng) * potential;
      auto found = std::upper_bound(cumulative.begin(), cumulative.end(), target);
      const std::int64_t row = std::min<std::int64_t>(found - cumulative.begin(), n - 1);
      candidate_rows[t] = row;
      std::copy_n(points.x + row * d, d, candidates.begin() + t * d);
      candidate_norms[t] = points.norms[row];
    }
    std::vector<std::vector<double>> partial(static_cast<std::size_t>(threads),
                                             std::vector<double>(trials, 0.0));
    parallelRows(threads, n, [&](int thread, std::int64_t begin, std::int64_t end) {
      std::vector<double>& sums = partial[thread];
      for (std::int64_t i = begin; i < end; ++i) {
        double* out = candidate_distances.data() + i * trials;
        squaredDistances(points.x + i * d, points.norms[i], d, candidates.data(),
                         candidate_norms.data(), nullptr, trials, out);
        for (std::int64_t t = 0; t < trials; ++t) {
          out[t] = std::min(closest[i], std::max(out[t], 0.0));
          sums[t] += out[t];
        }
      }
    });
    std::int64_t best = 0;
    double best_potential = std::numeric_limits<double>::infinity();
    for (std::int64_t t = 0; t < trials; ++t) {
      double total = 0;
      for (const auto& sums : partial) {
        total += sums[t];
      }
      if (total < best_potential) {
        best_potential = total;
        best = t;
      }
    }
    for (std::int64_t i = 0; i < n; ++i) {
      closest[i] = candidate_distances[i * trials + best];
    }
    std::copy_n(candidates.begin() + best * d, d, centres.begin() + c * d);
  }
  return centres;
}

FullBatchResult runFullBatch(const PointSet& points, std::vector<float> centres,
                             const FullBatchSettings& settings, FitObserver& observer,
                             std::uint64_t first_iteration) {
  FullBatchRun run(points, std::move(centres), settings);
  return run.run(observer, first_iteration);
}

}  // namespace aimass::plugins::model
