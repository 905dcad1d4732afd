// SPDX-License-Identifier: Apache-2.0
#include "gmm.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <utility>

#include "aimass/byte_io.h"
#include "aimass/util/cholesky.h"
#include "kmeans_engine.h"

namespace aimass::plugins::model {

namespace {

constexpr char kName[] = "model.gmm";
constexpr double kLogTwoPi = 1.8378770664093453;
/// k-means iterations of the `kmeans` start (it only has to find the blobs roughly).
constexpr std::int64_t kInitIterations = 20;

/// Factorises the symmetric `a` (d x d, row-major) in place into its lower Cholesky factor
/// with a clean (zero) upper triangle; false when it is not positive definite.
bool choleskyLower(double* a, std::int64_t d) {
  const auto n = static_cast<std::size_t>(d);
  if (cholesky(a, n) != n) {
    return false;
  }
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i + 1; j < n; ++j) {
      a[i * n + j] = 0;
    }
  }
  return true;
}

/// Fills p.factors and p.log_constants; returns the first component whose covariance is not
/// positive definite, or -1.
std::int64_t derive(GmmParameters& p) {
  const std::int64_t k = p.components, d = p.features;
  p.factors = p.covariances;
  p.log_constants.assign(static_cast<std::size_t>(k), 0.0);
  for (std::int64_t c = 0; c < k; ++c) {
    double log_det_half = 0;  // log det(covariance) / 2
    if (p.covariance == CovarianceType::kFull) {
      double* l = p.factors.data() + c * d * d;
      if (!choleskyLower(l, d)) {
        return c;
      }
      for (std::int64_t f = 0; f < d; ++f) {
        log_det_half += std::log(l[f * d + f]);
      }
    } else {
      double* s = p.factors.data() + c * d;
      for (std::int64_t f = 0; f < d; ++f) {
        if (!(s[f] > 0) || !std::isfinite(s[f])) {
          return c;
        }
        s[f] = std::sqrt(s[f]);
        log_det_half += std::log(s[f]);
      }
    }
    p.log_constants[c] = std::log(p.weights[c]) - log_det_half - 0.5 * double(d) * kLogTwoPi;
  }
  return -1;
}

/// out[c] = log(weight_c) + log N(x | component c); `scratch` holds d doubles.
void logJoint(const GmmParameters& p, const float* x, double* out, double* scratch) {
  const std::int64_t d = p.features;
  for (std::int64_t c = 0; c < p.components; ++c) {
    const double* mean = p.means.data() + c * d;
    double mahalanobis = 0;
    if (p.covariance == CovarianceType::kFull) {
      const double* l = p.factors.data() + c * d * d;
      for (std::int64_t i = 0; i < d; ++i) {  // solve L z = x - mean
        double s = x[i] - mean[i];
        for (std::int64_t m = 0; m < i; ++m) {
          s -= l[i * d + m] * scratch[m];
        }
        scratch[i] = s / l[i * d + i];
        mahalanobis += scratch[i] * scratch[i];
      }
    } else {
      const double* sd = p.factors.data() + c * d;
      for (std::int64_t i = 0; i < d; ++i) {
        const double z = (x[i] - mean[i]) / sd[i];
        mahalanobis += z * z;
      }
    }
    out[c] = p.log_constants[c] - 0.5 * mahalanobis;
  }
}

double logSumExp(const double* v, std::int64_t n) {
  const double top = *std::max_element(v, v + n);
  if (!std::isfinite(top)) {
    return top;
  }
  double sum = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    sum += std::exp(v[i] - top);
  }
  return top + std::log(sum);
}

/// E-step: responsibilities (rows x k) and the mean log-likelihood per row.
double expect(const PointSet& points, const GmmParameters& p, std::vector<double>& resp,
              int threads) {
  const std::int64_t k = p.components, d = p.features;
  resp.resize(static_cast<std::size_t>(points.rows * k));
  std::vector<double> partial(static_cast<std::size_t>(threads), 0.0);
  parallelRows(threads, points.rows, [&](int t, std::int64_t begin, std::int64_t end) {
    std::vector<double> scratch(static_cast<std::size_t>(d));
    for (std::int64_t i = begin; i < end; ++i) {
      double* r = resp.data() + i * k;
      logJoint(p, points.x + i * d, r, scratch.data());
      const double total = logSumExp(r, k);
      for (std::int64_t c = 0; c < k; ++c) {
        r[c] = std::exp(r[c] - total);
      }
      partial[t] += total;
    }
  });
  double sum = 0;
  for (double v : partial) {
    sum += v;
  }
  return sum / static_cast<double>(points.rows);
}

/// Per thread: the sums of one pass over its rows.
struct PartialSums {
  std::vector<double> mass, sums;
};

/// M-step, first half: p.weights and p.means from the responsibilities; returns each
/// component's mass (sum of responsibilities, floored at 10 * epsilon as scikit-learn does so
/// an empty component does not divide by 0).
std::vector<double> fitMeans(const PointSet& points, const std::vector<double>& resp,
                             std::int64_t k, int threads, GmmParameters& p) {
  const std::int64_t n = points.rows, d = points.features;
  std::vector<PartialSums> partials(static_cast<std::size_t>(threads));
  parallelRows(threads, n, [&](int t, std::int64_t begin, std::int64_t end) {
    PartialSums& part = partials[t];
    part.mass.assign(static_cast<std::size_t>(k), 0.0);
    part.sums.assign(static_cast<std::size_t>(k * d), 0.0);
    for (std::int64_t i = begin; i < end; ++i) {
      const float* x = points.x + i * d;
      for (std::int64_t c = 0; c < k; ++c) {
        const double r = resp[i * k + c];
        part.mass[c] += r;
        double* sum = part.sums.data() + c * d;
        for (std::int64_t f = 0; f < d && r != 0; ++f) {
          sum[f] += r * x[f];
        }
      }
    }
  });
  p.weights.assign(static_cast<std::size_t>(k), 0.0);
  p.means.assign(static_cast<std::size_t>(k * d), 0.0);
  std::vector<double> mass(static_cast<std::size_t>(k),
                           10 * std::numeric_limits<double>::epsilon());
  for (const PartialSums& part : partials) {
    for (std::int64_t c = 0; c < k; ++c) {
      mass[c] += part.mass[c];
      for (std::int64_t f = 0; f < d; ++f) {
        p.means[c * d + f] += part.sums[c * d + f];
      }
    }
  }
  for (std::int64_t c = 0; c < k; ++c) {
    p.weights[c] = mass[c] / static_cast<double>(n);
    for (std::int64_t f = 0; f < d; ++f) {
      p.means[c * d + f] /= mass[c];
    }
  }
  return mass;
}

/// M-step, second half: p.covariances (lower triangle mirrored, + reg_covar on the diagonal)
/// around p.means.
void fitCovariances(const PointSet& points, const std::vector<double>& resp,
                    const std::vector<double>& mass, const GmmOptions& options, GmmParameters& p) {
  const std::int64_t k = options.components, d = points.features;
  const bool full = options.covariance == CovarianceType::kFull;
  const std::int64_t per_component = full ? d * d : d;
  std::vector<std::vector<double>> partials(static_cast<std::size_t>(options.threads));
  parallelRows(options.threads, points.rows, [&](int t, std::int64_t begin, std::int64_t end) {
    std::vector<double>& squares = partials[t];
    squares.assign(static_cast<std::size_t>(k * per_component), 0.0);
    std::vector<double> diff(static_cast<std::size_t>(d));
    for (std::int64_t i = begin; i < end; ++i) {
      for (std::int64_t c = 0; c < k; ++c) {
        const double r = resp[i * k + c];
        if (r == 0) {
          continue;
        }
        double* square = squares.data() + c * per_component;
        for (std::int64_t f = 0; f < d; ++f) {
          diff[f] = points.x[i * d + f] - p.means[c * d + f];
        }
        for (std::int64_t a = 0; a < d; ++a) {
          const double ra = r * diff[a];
          if (!full) {
            square[a] += ra * diff[a];
            continue;
          }
          for (std::int64_t b = 0; b <= a; ++b) {
            square[a * d + b] += ra * diff[b];
          }
        }
      }
    }
  });
  p.covariances.assign(static_cast<std::size_t>(k * per_component), 0.0);
  for (const auto& squares : partials) {
    for (std::size_t i = 0; i < p.covariances.size(); ++i) {
      p.covariances[i] += squares[i];
    }
  }
  for (std::int64_t c = 0; c < k; ++c) {
    double* cov = p.covariances.data() + c * per_component;
    for (std::int64_t a = 0; a < per_component; ++a) {
      cov[a] /= mass[c];
    }
    for (std::int64_t a = 0; a < d; ++a) {
      if (full) {
        for (std::int64_t b = 0; b < a; ++b) {
          cov[b * d + a] = cov[a * d + b];
        }
        cov[a * d + a] += options.reg_covar;
      } else {
        cov[a] += options.reg_covar;
      }
    }
  }
}

/// M-step: weights, means and covariances (+ reg_covar) from the responsibilities. Returns
/// the first component whose covariance is not positive definite, or -1.
std::int64_t maximise(const PointSet& points, const std::vector<double>& resp,
                      const GmmOptions& options, GmmParameters& p) {
  p.components = options.components;
  p.features = points.features;
  p.covariance = options.covariance;
  const std::vector<double> mass = fitMeans(points, resp, options.components, options.threads, p);
  fitCovariances(points, resp, mass, options, p);
  return derive(p);
}

/// The starting responsibilities (rows x k) of one restart.
std::vector<double> startingResponsibilities(const PointSet& points, const GmmOptions& options,
                                             std::mt19937_64& rng) {
  const std::int64_t n = points.rows, k = options.components, d = points.features;
  std::vector<double> resp(static_cast<std::size_t>(n * k), 0.0);
  if (options.init == GmmInit::kRandom) {
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    for (std::int64_t i = 0; i < n; ++i) {
      double sum = 0;
      for (std::int64_t c = 0; c < k; ++c) {
        resp[i * k + c] = unit(rng);
        sum += resp[i * k + c];
      }
      for (std::int64_t c = 0; c < k; ++c) {
        resp[i * k + c] /= sum;
      }
    }
    return resp;
  }
  class Silent final : public FitObserver {
   public:
    bool onIteration(std::uint64_t, double) override { return false; }
  } silent;
  FullBatchSettings settings;
  settings.max_iterations = kInitIterations;
  settings.shift_tolerance = 1e-4 * meanVariance(points);
  settings.threads = options.threads;
  const FullBatchResult kmeans =
      runFullBatch(points, kmeansPlusPlus(points, k, rng, options.threads), settings, silent);
  const std::vector<double> norms = centreNorms(kmeans.centres, d);
  std::vector<double> distances(static_cast<std::size_t>(k));
  for (std::int64_t i = 0; i < n; ++i) {
    squaredDistances(points.x + i * d, points.norms[i], d, kmeans.centres.data(), norms.data(),
                     nullptr, k, distances.data());
    resp[i * k + nearestCentre(distances.data(), k)] = 1.0;
  }
  return resp;
}

}  // namespace

GaussianMixture::GaussianMixture(GmmOptions options) : options_(std::move(options)) {}

ModelSchema GaussianMixture::schema() const {
  ModelSchema schema;
  schema.task = Task::kClustering;
  const std::int64_t f = parameters_.features > 0 ? parameters_.features : -1;
  schema.inputs = {{tensor_names::kInput, DType::kFloat32, {-1, f}, false, false}};
  schema.outputs = {
      {tensor_names::kCluster, DType::kInt64, {-1}, false, false},
      {tensor_names::kResponsibilities, DType::kFloat32, {-1, options_.components}, false, false}};
  return schema;
}

Status GaussianMixture::fit(const Dataset& data, std::uint64_t seed, FitObserver& observer) {
  const std::uint64_t used_seed =
      options_.seed >= 0 ? static_cast<std::uint64_t>(options_.seed) : seed;
  return guard("model.gmm fit", [&]() -> Status {
    AIMASS_ASSIGN_OR_RETURN(DenseRows rows, readAllRows(kName, data));
    const std::int64_t k = options_.components;
    if (rows.rows < k) {
      return invalidArgument("model.gmm: the dataset has " + std::to_string(rows.rows) +
                             " rows, fewer than the " + std::to_string(k) + " components");
    }
    const PointSet points = rows.view();
    std::mt19937_64 rng(used_seed);
    GmmParameters best;
    double best_ll = -std::numeric_limits<double>::infinity();
    bool stopped = false;
    std::uint64_t iteration = 1;
    std::vector<double> resp;
    auto maximiseOrExplain = [&](const PointSet& rows_of, const std::vector<double>& r,
                                 GmmParameters& p) -> Status {
      const std::int64_t bad = maximise(rows_of, r, options_, p);
      if (bad < 0) {
        return okStatus();
      }
      return invalidArgument(
          "model.gmm: the covariance of component " + std::to_string(bad) +
          " is not positive definite even with reg_covar " + std::to_string(options_.reg_covar) +
          " (a component collapsed onto too few or identical rows); increase reg_covar, use "
          "covariance: diag or fewer components");
    };
    for (std::int64_t r = 0; r < options_.n_init && !stopped; ++r) {
      resp = startingResponsibilities(points, options_, rng);
      GmmParameters p;
      AIMASS_RETURN_IF_ERROR(maximiseOrExplain(points, resp, p));
      double previous = -std::numeric_limits<double>::infinity();
      for (std::int64_t it = 0; it < options_.max_iterations && !stopped; ++it) {
        const double ll = expect(points, p, resp, options_.threads);
        stopped = observer.onIteration(iteration++, ll);
        AIMASS_RETURN_IF_ERROR(maximiseOrExplain(points, resp, p));
        if (std::fabs(ll - previous) < options_.tolerance) {
          break;
        }
        previous = ll;
      }
      const double ll = expect(points, p, resp, options_.threads);
      if (ll > best_ll || best.features == 0) {
        best = std::move(p);
        best_ll = ll;
      }
    }
    parameters_ = std::move(best);
    log_likelihood_ = best_ll;
    return okStatus();
  });
}

Status GaussianMixture::predict(const TensorMap& inputs, TensorMap& outputs,
                                const PredictOptions& /*options*/) const {
  if (!ready()) {
    return failedPrecondition("model.gmm is not trained or loaded yet");
  }
  const std::int64_t d = parameters_.features, k = parameters_.components;
  AIMASS_ASSIGN_OR_RETURN(const Tensor* input, featureInput(kName, inputs, d));
  const std::int64_t rows = input->dim(0);
  return guard("model.gmm predict", [&] {
    Tensor cluster(DType::kInt64, {rows});
    Tensor responsibilities(DType::kFloat32, {rows, k});
    std::vector<double> joint(static_cast<std::size_t>(k)), scratch(static_cast<std::size_t>(d));
    for (std::int64_t r = 0; r < rows; ++r) {
      logJoint(parameters_, input->data<float>() + r * d, joint.data(), scratch.data());
      const double total = logSumExp(joint.data(), k);
      std::int64_t best = 0;
      for (std::int64_t c = 0; c < k; ++c) {
        const double p = std::isfinite(total) ? std::exp(joint[c] - total) : 1.0 / double(k);
        responsibilities.data<float>()[r * k + c] = static_cast<float>(p);
        best = joint[c] > joint[best] ? c : best;
      }
      cluster.data<std::int64_t>()[r] = best;
    }
    outputs.set(tensor_names::kCluster, std::move(cluster));
    outputs.set(tensor_names::kResponsibilities, std::move(responsibilities));
  });
}

Status GaussianMixture::save(std::string& payload) const {
  if (!ready()) {
    return failedPrecondition("model.gmm has nothing to save: it is not trained or loaded");
  }
  return guard("model.gmm save", [&] {
    payload.clear();
    ByteWriter out(payload);
    out.u64(static_cast<std::uint64_t>(parameters_.components));
    out.u64(static_cast<std::uint64_t>(parameters_.features));
    out.u8(static_cast<std::uint8_t>(parameters_.covariance));
    out.f64(log_likelihood_);
    for (const auto* values :
         {&parameters_.weights, &parameters_.means, &parameters_.covariances}) {
      for (double v : *values) {
        out.f64(v);
      }
    }
  });
}

Status GaussianMixture::load(std::string_view payload, std::uint32_t format_version) {
  if (format_version != kFormatVersion) {
    return invalidArgument("model.gmm payload format " + std::to_string(format_version) +
                           " is unknown (this version reads format " +
                           std::to_string(kFormatVersion) + ")");
  }
  return guard("model.gmm load", [&]() -> Status {
    ByteReader in(payload);
    GmmParameters p;
    const std::uint64_t k = in.u64();
    const std::uint64_t d = in.u64();
    const std::uint8_t covariance = in.u8();
    const double ll = in.f64();
    constexpr std::uint64_t kLimit = std::uint64_t{1} << 20;
    const bool full = covariance == static_cast<std::uint8_t>(CovarianceType::kFull);
    if (!in.ok() || k == 0 || d == 0 || k >= kLimit || d >= kLimit ||
        (!full && covariance != static_cast<std::uint8_t>(CovarianceType::kDiag)) ||
        in.remaining() != 8 * k * (1 + d + (full ? d * d : d))) {
      return dataLoss(
          "model.gmm payload is truncated or has impossible sizes or covariance "
          "type (" +
          std::to_string(k) + " components, " + std::to_string(d) + " features, " +
          std::to_string(payload.size()) + " bytes)");
    }
    p.components = static_cast<std::int64_t>(k);
    p.features = static_cast<std::int64_t>(d);
    p.covariance = static_cast<CovarianceType>(covariance);
    p.weights.resize(k);
    p.means.resize(k * d);
    p.covariances.resize(k * (full ? d * d : d));
    double weight_sum = 0;
    for (auto* values : {&p.weights, &p.means, &p.covariances}) {
      for (double& v : *values) {
        v = in.f64();
        if (!std::isfinite(v)) {
          return dataLoss("model.gmm payload holds a NaN or infinite parameter");
        }
      }
    }
    for (double w : p.weights) {
      if (!(w > 0)) {
        return dataLoss("model.gmm payload has a component weight that is not positive");
      }
      weight_sum += w;
    }
    if (std::fabs(weight_sum - 1) > 1e-6 || !std::isfinite(ll)) {
      return dataLoss("model.gmm payload's weights sum to " + std::to_string(weight_sum) +
                      ", not 1, or its log-likelihood is not finite");
    }
    const std::int64_t bad = derive(p);
    if (bad >= 0) {
      return dataLoss("model.gmm payload's covariance of component " + std::to_string(bad) +
                      " is not positive definite");
    }
    parameters_ = std::move(p);
    options_.components = parameters_.components;
    options_.covariance = parameters_.covariance;
    log_likelihood_ = ll;
    return okStatus();
  });
}

}  // namespace aimass::plugins::model
