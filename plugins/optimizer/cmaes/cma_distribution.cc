// SPDX-License-Identifier: Apache-2.0
#include "cma_distribution.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace aimass::plugins::optimizer {

void jacobiEigen(std::vector<double> a, std::size_t n, std::vector<double>& values,
                 std::vector<double>& vectors) {
  vectors.assign(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    vectors[i * n + i] = 1;
  }
  for (int sweep = 0; sweep < 64; ++sweep) {
    double off = 0, diag = 0;
    for (std::size_t p = 0; p < n; ++p) {
      diag += a[p * n + p] * a[p * n + p];
      for (std::size_t q = p + 1; q < n; ++q) {
        off += a[p * n + q] * a[p * n + q];
      }
    }
    if (off <= 1e-30 * diag || off == 0) {
      break;
    }
    for (std::size_t p = 0; p < n; ++p) {
      for (std::size_t q = p + 1; q < n; ++q) {
        const double apq = a[p * n + q];
        if (apq == 0) {
          continue;
        }
        // Numerical Recipes' rotation: zeroes a[p][q] with A' = P^T A P.
        const double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const double t =
            std::abs(theta) > 1e150
                ? 0.5 / theta
                : (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (std::size_t k = 0; k < n; ++k) {  // columns p and q
          const double akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (std::size_t k = 0; k < n; ++k) {  // rows p and q
          const double apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (std::size_t k = 0; k < n; ++k) {
          const double vkp = vectors[k * n + p], vkq = vectors[k * n + q];
          vectors[k * n + p] = c * vkp - s * vkq;
          vectors[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  values.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    values[i] = a[i * n + i];
  }
}

double mirrorIntoUnit(double v) {
  if (!std::isfinite(v)) {
    return 0.5;
  }
  double t = std::fmod(v, 2.0);
  if (t < 0) {
    t += 2;
  }
  return t > 1 ? 2 - t : t;
}

void CmaDistribution::reset(std::size_t n, std::size_t lambda, double sigma,
                            std::vector<double> mean) {
  n_ = n;
  lambda_ = std::max<std::size_t>(lambda, 2);
  sigma_ = sigma;
  mean_ = std::move(mean);
  pc_.assign(n, 0.0);
  ps_.assign(n, 0.0);
  c_.assign(n * n, 0.0);
  b_.assign(n * n, 0.0);
  d_.assign(n, 1.0);
  for (std::size_t i = 0; i < n; ++i) {
    c_[i * n + i] = 1;
    b_[i * n + i] = 1;
  }
  generation_ = 0;
  eigen_generation_ = 0;
  computeConstants();
}

void CmaDistribution::computeConstants() {
  const std::size_t mu = lambda_ / 2;
  weights_.resize(mu);
  double sum = 0;
  for (std::size_t i = 0; i < mu; ++i) {
    weights_[i] = std::log((static_cast<double>(lambda_) + 1) / 2) - std::log(double(i + 1));
    sum += weights_[i];
  }
  double squares = 0;
  for (double& w : weights_) {
    w /= sum;
    squares += w * w;
  }
  mueff_ = 1 / squares;
  const double n = std::max<double>(static_cast<double>(n_), 1);
  cc_ = (4 + mueff_ / n) / (n + 4 + 2 * mueff_ / n);
  cs_ = (mueff_ + 2) / (n + mueff_ + 5);
  c1_ = 2 / ((n + 1.3) * (n + 1.3) + mueff_);
  cmu_ = std::min(1 - c1_, 2 * (mueff_ - 2 + 1 / mueff_) / ((n + 2) * (n + 2) + mueff_));
  damps_ = 1 + 2 * std::max(0.0, std::sqrt((mueff_ - 1) / (n + 1)) - 1) + cs_;
  chi_n_ = std::sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n));
}

std::vector<double> CmaDistribution::sample(SearchRandom& random) const {
  std::vector<double> scaled(n_), x(n_);
  for (std::size_t i = 0; i < n_; ++i) {
    scaled[i] = d_[i] * random.normal();
  }
  for (std::size_t i = 0; i < n_; ++i) {
    double y = 0;
    for (std::size_t j = 0; j < n_; ++j) {
      y += b_[i * n_ + j] * scaled[j];
    }
    x[i] = mirrorIntoUnit(mean_[i] + sigma_ * y);
  }
  return x;
}

void CmaDistribution::update(std::span<const std::vector<double>* const> selected) {
  ++generation_;
  const std::size_t count = std::min(selected.size(), weights_.size());
  if (count == 0 || n_ == 0) {
    return;
  }
  double total = 0;
  for (std::size_t k = 0; k < count; ++k) {
    total += weights_[k];
  }
  // y_k = (x_k - m) / sigma and their weighted mean, the step of the mean.
  std::vector<std::vector<double>> y(count, std::vector<double>(n_));
  std::vector<double> yw(n_, 0.0);
  for (std::size_t k = 0; k < count; ++k) {
    for (std::size_t i = 0; i < n_; ++i) {
      y[k][i] = ((*selected[k])[i] - mean_[i]) / sigma_;
      yw[i] += weights_[k] / total * y[k][i];
    }
  }
  for (std::size_t i = 0; i < n_; ++i) {
    mean_[i] += sigma_ * yw[i];
  }
  // Step-size path: ps = (1 - cs) ps + sqrt(cs (2 - cs) mueff) C^-1/2 yw.
  std::vector<double> rotated(n_, 0.0);
  for (std::size_t j = 0; j < n_; ++j) {
    for (std::size_t i = 0; i < n_; ++i) {
      rotated[j] += b_[i * n_ + j] * yw[i];
    }
    rotated[j] /= d_[j];
  }
  const double ps_scale = std::sqrt(cs_ * (2 - cs_) * mueff_);
  double ps_norm = 0;
  for (std::size_t i = 0; i < n_; ++i) {
    double whitened = 0;
    for (std::size_t j = 0; j < n_; ++j) {
      whitened += b_[i * n_ + j] * rotated[j];
    }
    ps_[i] = (1 - cs_) * ps_[i] + ps_scale * whitened;
    ps_norm += ps_[i] * ps_[i];
  }
  ps_norm = std::sqrt(ps_norm);
  const double n = static_cast<double>(n_);
  const double decay = std::sqrt(1 - std::pow(1 - cs_, 2.0 * static_cast<double>(generation_)));
  const bool hsig = ps_norm / decay / chi_n_ < 1.4 + 2 / (n + 1);
  const double pc_scale = hsig ? std::sqrt(cc_ * (2 - cc_) * mueff_) : 0;
  for (std::size_t i = 0; i < n_; ++i) {
    pc_[i] = (1 - cc_) * pc_[i] + pc_scale * yw[i];
  }
  // C = (1 - c1 - cmu + (1 - hsig) c1 cc (2 - cc)) C + c1 pc pc^T + cmu sum w_k y_k y_k^T.
  const double keep = 1 - c1_ - cmu_ + (hsig ? 0 : c1_ * cc_ * (2 - cc_));
  for (std::size_t i = 0; i < n_; ++i) {
    for (std::size_t j = 0; j <= i; ++j) {
      double rank_mu = 0;
      for (std::size_t k = 0; k < count; ++k) {
        rank_mu += weights_[k] / total * y[k][i] * y[k][j];
      }
      const double v = keep * c_[i * n_ + j] + c1_ * pc_[i] * pc_[j] + cmu_ * rank_mu;
      c_[i * n_ + j] = v;
      c_[j * n_ + i] = v;
    }
  }
  // Cumulative step-size adaptation, capped at the cube's width.
  sigma_ = std::min(1.0, sigma_ * std::exp(cs_ / damps_ * (ps_norm / chi_n_ - 1)));
  const double gap = static_cast<double>(lambda_) / (c1_ + cmu_) / n / 10;
  if (static_cast<double>(generation_ - eigen_generation_) >= gap) {
    decompose();
  }
}

void CmaDistribution::decompose() {
  eigen_generation_ = generation_;
  std::vector<double> values;
  jacobiEigen(c_, n_, values, b_);
  for (std::size_t i = 0; i < n_; ++i) {
    d_[i] = std::sqrt(std::max(values[i], 1e-300));
  }
}

double CmaDistribution::largestStep() const {
  double largest = 0;
  for (std::size_t i = 0; i < n_; ++i) {
    largest = std::max(largest, c_[i * n_ + i]);
  }
  return sigma_ * std::sqrt(largest);
}

double CmaDistribution::conditionNumber() const {
  if (n_ == 0) {
    return 1;
  }
  const auto [low, high] = std::minmax_element(d_.begin(), d_.end());
  return (*high / *low) * (*high / *low);
}

void writeDoubles(ByteWriter& out, const std::vector<double>& values) {
  for (double v : values) {
    out.f64(v);
  }
}

bool readDoubles(ByteReader& in, std::vector<double>& values, std::size_t size) {
  if (in.remaining() / 8 < size) {
    return false;
  }
  values.resize(size);
  for (double& v : values) {
    v = in.f64();
  }
  return in.ok();
}

void CmaDistribution::write(ByteWriter& out) const {
  out.u64(n_);
  out.u64(lambda_);
  out.f64(sigma_);
  out.u64(generation_);
  out.u64(eigen_generation_);
  for (const auto* v : {&mean_, &pc_, &ps_, &d_, &c_, &b_}) {
    writeDoubles(out, *v);
  }
}

bool CmaDistribution::read(ByteReader& in) {
  CmaDistribution loaded;
  loaded.n_ = in.u64();
  loaded.lambda_ = in.u64();
  loaded.sigma_ = in.f64();
  loaded.generation_ = in.u64();
  loaded.eigen_generation_ = in.u64();
  const std::size_t n = loaded.n_;
  if (!in.ok() || n > 100000 || loaded.lambda_ < 2 || loaded.lambda_ > (std::size_t{1} << 32) ||
      !(loaded.sigma_ > 0) || loaded.eigen_generation_ > loaded.generation_) {
    return false;
  }
  const std::size_t sizes[] = {n, n, n, n, n * n, n * n};
  std::vector<double>* targets[] = {&loaded.mean_, &loaded.pc_, &loaded.ps_,
                                    &loaded.d_,    &loaded.c_,  &loaded.b_};
  for (std::size_t k = 0; k < 6; ++k) {
    if (!readDoubles(in, *targets[k], sizes[k])) {
      return false;
    }
  }
  for (double d : loaded.d_) {
    if (!(d > 0) || !std::isfinite(d)) {
      return false;
    }
  }
  loaded.computeConstants();
  *this = std::move(loaded);
  return true;
}

}  // namespace aimass::plugins::optimizer
