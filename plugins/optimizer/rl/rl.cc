// SPDX-License-Identifier: Apache-2.0
#include "rl.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <utility>

namespace aimass::plugins::optimizer {

namespace {

constexpr std::string_view kName = "optimizer.rl";
constexpr std::string_view kStateTag = "RL1";
constexpr double kMinStd = 0.005;  // in unit space: the Gaussians' finest resolution
constexpr double kMaxStd = 0.5;
constexpr double kMaxLogit = 30;  // keeps exp() finite and every choice reachable
constexpr double kBeta1 = 0.9, kBeta2 = 0.999, kEpsilon = 1e-8;

/// The number of integers in an int dimension's range.
double intCount(const SearchDimension& d) { return std::floor(d.high) - std::ceil(d.low) + 1; }

/// Reflects u into [0, 1] (a Gaussian sample past an edge comes back inside, instead of
/// piling up on the bound as clipping would).
double reflect(double u) {
  u = std::fmod(std::abs(u), 2.0);
  return u > 1 ? 2 - u : u;
}

}  // namespace

Expected<std::unique_ptr<RlSearch>> RlSearch::create(const RlOptions& o) {
  auto bad = [](const std::string& what) {
    return invalidArgument(std::string(kName) + ": " + what);
  };
  if (!(o.learning_rate > 0) || !std::isfinite(o.learning_rate)) {
    return bad("learning_rate must be > 0");
  }
  if (!(o.baseline_decay >= 0 && o.baseline_decay < 1)) {
    return bad("baseline_decay must be in [0, 1)");
  }
  if (!(o.entropy >= 0) || !std::isfinite(o.entropy)) {
    return bad("entropy must be >= 0");
  }
  if (o.warmup < 0) {
    return bad("warmup must be >= 0");
  }
  if (o.max_bins < 2) {
    return bad("max_bins must be >= 2");
  }
  if (!(o.initial_std >= kMinStd && o.initial_std <= kMaxStd)) {
    return bad("initial_std must be in [0.005, 0.5]");
  }
  std::unique_ptr<RlSearch> search;
  Status status = guard("optimizer.rl create", [&] { search.reset(new RlSearch(o)); });
  if (!status.ok()) {
    return status;
  }
  return search;
}

Status RlSearch::begin(const SearchSpace& space, std::uint64_t seed, std::size_t objectives) {
  AIMASS_RETURN_IF_ERROR(checkSingleObjective(kName, objectives));
  AIMASS_RETURN_IF_ERROR(checkSearchSpace(kName, space));
  return guard("optimizer.rl begin", [&] {
    space_ = space;
    fingerprint_ = searchFingerprint(space, seed, objectives);
    slots_.assign(space.size(), Slot{});
    theta_.clear();
    for (std::size_t i = 0; i < space.size(); ++i) {
      const SearchDimension& d = space[i];
      Slot& slot = slots_[i];
      slot.offset = theta_.size();
      if (d.type == SearchDimension::Type::kCategorical) {
        slot.size = d.choices.size();
      } else if (d.type == SearchDimension::Type::kInt &&
                 intCount(d) <= static_cast<double>(options_.max_bins)) {
        slot.size = static_cast<std::size_t>(intCount(d));
      } else {
        slot.gaussian = true;
        slot.size = 2;
      }
      theta_.resize(theta_.size() + slot.size, 0.0);  // uniform softmaxes
      if (slot.gaussian) {
        theta_[slot.offset] = 0.5;
        theta_[slot.offset + 1] = std::log(options_.initial_std);
      }
    }
    m_.assign(theta_.size(), 0.0);
    v_.assign(theta_.size(), 0.0);
    steps_.assign(space.size(), 0);
    baseline_ = 0;
    updates_ = 0;
    asked_ = 0;
    random_.reseed(mixSeeds(options_.seed, seed));
    ledger_.reset();
    begun_ = true;
  });
}

void RlSearch::softmax(const Slot& slot) const {
  probs_.resize(slot.size);
  double top = -std::numeric_limits<double>::infinity();
  for (std::size_t k = 0; k < slot.size; ++k) {
    top = std::max(top, theta_[slot.offset + k]);
  }
  double sum = 0;
  for (std::size_t k = 0; k < slot.size; ++k) {
    probs_[k] = std::exp(theta_[slot.offset + k] - top);
    sum += probs_[k];
  }
  for (double& p : probs_) {
    p /= sum;
  }
}

double RlSearch::sampleDimension(std::size_t i) {
  const SearchDimension& d = space_[i];
  const Slot& slot = slots_[i];
  if (slot.gaussian) {
    const double mean = theta_[slot.offset], std = std::exp(theta_[slot.offset + 1]);
    return fromUnit(d, reflect(mean + std * random_.normal()));
  }
  softmax(slot);
  const double draw = random_.uniform();
  std::size_t k = 0;
  for (double cumulative = probs_[0]; k + 1 < slot.size && draw >= cumulative;) {
    cumulative += probs_[++k];
  }
  return d.type == SearchDimension::Type::kCategorical ? static_cast<double>(k)
                                                       : std::ceil(d.low) + static_cast<double>(k);
}

Expected<std::vector<Candidate>> RlSearch::ask(std::size_t n) {
  if (!begun_) {
    return failedPrecondition("optimizer.rl: ask() before begin()");
  }
  std::vector<Candidate> candidates;
  Status status = guard("optimizer.rl ask", [&] {
    candidates.reserve(n);
    for (std::size_t k = 0; k < n; ++k, ++asked_) {
      if (asked_ < static_cast<std::uint64_t>(options_.warmup)) {
        candidates.push_back(ledger_.issue(sampleUniformly(space_, random_)));
        continue;
      }
      std::vector<double> values(space_.size());
      for (std::size_t i = 0; i < space_.size(); ++i) {
        values[i] = dimensionActive(space_, i, values) ? sampleDimension(i)
                                                       : std::numeric_limits<double>::quiet_NaN();
      }
      candidates.push_back(ledger_.issue(std::move(values)));
    }
  });
  if (!status.ok()) {
    return status;
  }
  return candidates;
}

double RlSearch::action(std::size_t i, double value) const {
  const SearchDimension& d = space_[i];
  if (slots_[i].gaussian) {
    return toUnit(d, value);
  }
  return d.type == SearchDimension::Type::kCategorical ? value : value - std::ceil(d.low);
}

double RlSearch::utility(double value) const {
  // The result itself is already in the history: rank it among the successful ones.
  double worse = 0, ties = 0, count = 0;
  for (const auto& rec : ledger_.history()) {
    if (rec.failed) {
      continue;
    }
    count += 1;
    worse += rec.value > value ? 1 : 0;
    ties += rec.value == value ? 1 : 0;
  }
  if (count < 2) {
    return 0;
  }
  return (worse + 0.5 * (ties - 1)) / (count - 1) - 0.5;
}

void RlSearch::learn(const std::vector<double>& values, double advantage) {
  const double lr = options_.learning_rate, entropy = options_.entropy;
  for (std::size_t i = 0; i < space_.size(); ++i) {
    if (std::isnan(values[i])) {
      continue;  // inactive: no gradient
    }
    const Slot& slot = slots_[i];
    double gradient[2];
    std::vector<double> logits_gradient;
    double* g = gradient;
    const double a = action(i, values[i]);
    if (slot.gaussian) {
      // log N(a; mean, std): d/dmean = z / std, d/dlog std = z^2 - 1; entropy = log std + c.
      const double mean = theta_[slot.offset], log_std = theta_[slot.offset + 1];
      const double z = (a - mean) / std::exp(log_std);
      gradient[0] = advantage * z / std::exp(log_std);
      gradient[1] = advantage * (z * z - 1) + entropy;
    } else {
      // log softmax: d/dlogit_k = [k == a] - p_k; entropy H: dH/dlogit_k = -p_k (log p_k + H).
      softmax(slot);
      double h = 0;
      for (double p : probs_) {
        h -= p > 0 ? p * std::log(p) : 0;
      }
      logits_gradient.resize(slot.size);
      const auto chosen = static_cast<std::size_t>(a);
      for (std::size_t k = 0; k < slot.size; ++k) {
        const double p = probs_[k];
        logits_gradient[k] = advantage * ((k == chosen ? 1.0 : 0.0) - p) -
                             entropy * (p > 0 ? p * (std::log(p) + h) : 0.0);
      }
      g = logits_gradient.data();
    }
    // Adam, ascending.
    const double t = static_cast<double>(++steps_[i]);
    const double correction1 = 1 - std::pow(kBeta1, t), correction2 = 1 - std::pow(kBeta2, t);
    for (std::size_t k = 0; k < slot.size; ++k) {
      const std::size_t j = slot.offset + k;
      m_[j] = kBeta1 * m_[j] + (1 - kBeta1) * g[k];
      v_[j] = kBeta2 * v_[j] + (1 - kBeta2) * g[k] * g[k];
      theta_[j] += lr * (m_[j] / correction1) / (std::sqrt(v_[j] / correction2) + kEpsilon);
    }
    if (slot.gaussian) {
      theta_[slot.offset] = std::clamp(theta_[slot.offset], 0.0, 1.0);
      theta_[slot.offset + 1] =
          std::clamp(theta_[slot.offset + 1], std::log(kMinStd), std::log(kMaxStd));
    } else {
      for (std::size_t k = 0; k < slot.size; ++k) {
        theta_[slot.offset + k] = std::clamp(theta_[slot.offset + k], -kMaxLogit, kMaxLogit);
      }
    }
  }
}

Status RlSearch::tell(std::span<const Evaluation> results) {
  if (!begun_) {
    return failedPrecondition("optimizer.rl: tell() before begin()");
  }
  // Each result is learned from as soon as it is recorded: utility() ranks it among the
  // history so far.
  return recordResults(ledger_, kName, results, 1, [&](const SearchRecord& rec) {
    if (rec.failed) {
      return;
    }
    const double u = utility(rec.value);
    if (updates_ == 0) {
      baseline_ = u;
    }
    learn(rec.values, u - baseline_);
    baseline_ = options_.baseline_decay * baseline_ + (1 - options_.baseline_decay) * u;
    ++updates_;
  });
}

std::vector<double> RlSearch::probabilities(std::size_t index) const {
  if (!begun_ || index >= slots_.size() || slots_[index].gaussian) {
    return {};
  }
  softmax(slots_[index]);
  return probs_;
}

std::vector<double> RlSearch::mode() const {
  if (!begun_) {
    return {};
  }
  std::vector<double> values(space_.size());
  for (std::size_t i = 0; i < space_.size(); ++i) {
    const Slot& slot = slots_[i];
    if (!dimensionActive(space_, i, values)) {
      values[i] = std::numeric_limits<double>::quiet_NaN();
    } else if (slot.gaussian) {
      values[i] = fromUnit(space_[i], theta_[slot.offset]);
    } else {
      const auto first = theta_.begin() + static_cast<std::ptrdiff_t>(slot.offset);
      const auto k = static_cast<double>(
          std::max_element(first, first + static_cast<std::ptrdiff_t>(slot.size)) - first);
      values[i] =
          space_[i].type == SearchDimension::Type::kCategorical ? k : std::ceil(space_[i].low) + k;
    }
  }
  return values;
}

Status RlSearch::saveState(std::string& out) const {
  if (!begun_) {
    return failedPrecondition("optimizer.rl: saveState() before begin()");
  }
  return guard("optimizer.rl saveState", [&] {
    writeSearchHeader(out, kStateTag, fingerprint_);
    ByteWriter writer(out);
    writer.u64(theta_.size());
    for (std::size_t j = 0; j < theta_.size(); ++j) {
      writer.f64(theta_[j]);
      writer.f64(m_[j]);
      writer.f64(v_[j]);
    }
    for (std::uint64_t steps : steps_) {
      writer.u64(steps);
    }
    writer.f64(baseline_);
    writer.u64(updates_);
    writer.u64(asked_);
    random_.write(writer);
    ledger_.write(writer);
  });
}

Status RlSearch::loadState(std::string_view state) {
  if (!begun_) {
    return failedPrecondition("optimizer.rl: loadState() before begin()");
  }
  ByteReader reader(state);
  if (Status s = readSearchHeader(reader, kName, kStateTag, fingerprint_); !s.ok()) {
    return s;
  }
  auto corrupt = [] { return corruptSearchState(kName); };
  if (reader.u64() != theta_.size() || !reader.ok()) {
    return corrupt();
  }
  std::vector<double> theta(theta_.size()), m(theta_.size()), v(theta_.size());
  for (std::size_t j = 0; j < theta.size(); ++j) {
    theta[j] = reader.f64();
    m[j] = reader.f64();
    v[j] = reader.f64();
    if (!std::isfinite(theta[j]) || !std::isfinite(m[j]) || !(v[j] >= 0) || !std::isfinite(v[j])) {
      return corrupt();
    }
  }
  std::vector<std::uint64_t> steps(steps_.size());
  for (auto& s : steps) {
    s = reader.u64();
  }
  const double baseline = reader.f64();
  const std::uint64_t updates = reader.u64(), asked = reader.u64();
  SearchRandom random;
  SearchLedger ledger;
  if (!reader.ok() || !std::isfinite(baseline) || !random.read(reader) ||
      !ledger.read(reader, space_.size()) || !reader.atEnd()) {
    return corrupt();
  }
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    const Slot& slot = slots_[i];
    if (slot.gaussian && (theta[slot.offset] < 0 || theta[slot.offset] > 1 ||
                          theta[slot.offset + 1] < std::log(kMinStd) - 1e-12 ||
                          theta[slot.offset + 1] > std::log(kMaxStd) + 1e-12)) {
      return corrupt();
    }
  }
  return guard("optimizer.rl loadState", [&] {
    theta_ = std::move(theta);
    m_ = std::move(m);
    v_ = std::move(v);
    steps_ = std::move(steps);
    baseline_ = baseline;
    updates_ = updates;
    asked_ = asked;
    random_ = random;
    ledger_ = std::move(ledger);
  });
}

}  // namespace aimass::plugins::optimizer
