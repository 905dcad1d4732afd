// SPDX-License-Identifier: Apache-2.0
// optimizer.cmaes: saveState()/loadState().
//
// Layout after writeSearchHeader("CMAES1", fingerprint): the random stream, the ledger, then
// lambda, restarts done, generation, the run's best, the stall count, the distribution
// (CmaDistribution::write), the category probabilities, the outstanding samples (id,
// generation, x, choices) and this generation's results (sample, value).

#include <cmath>
#include <utility>

#include "cmaes.h"

namespace aimass::plugins::optimizer {

namespace {
constexpr std::string_view kName = "optimizer.cmaes";
constexpr std::string_view kStateTag = "CMAES1";
}  // namespace

Status Cmaes::saveState(std::string& out) const {
  if (!begun_) {
    return failedPrecondition("optimizer.cmaes: saveState() before begin()");
  }
  return guard("optimizer.cmaes saveState", [&] {
    writeSearchPrefix(out, kStateTag, fingerprint_, random_, ledger_);
    ByteWriter writer(out);
    writeState(writer);
  });
}

void Cmaes::writeState(ByteWriter& out) const {
  out.u64(lambda_);
  out.u64(restarts_done_);
  out.u64(generation_);
  out.f64(run_best_);
  out.u64(stall_);
  distribution_.write(out);
  for (const auto& p : probabilities_) {
    writeDoubles(out, p);
  }
  auto writeSample = [&](const Sample& s) {
    out.u64(s.generation);
    writeDoubles(out, s.x);
    writeDoubles(out, s.choices);
  };
  out.u64(samples_.size());
  for (const auto& [id, s] : samples_) {
    out.u64(id);
    writeSample(s);
  }
  out.u64(results_.size());
  for (const auto& r : results_) {
    writeSample(r.sample);
    out.f64(r.value);
  }
}

Status Cmaes::loadState(std::string_view state) {
  if (!begun_) {
    return failedPrecondition("optimizer.cmaes: loadState() before begin()");
  }
  Cmaes loaded(options_);
  loaded.space_ = space_;
  loaded.numeric_ = numeric_;
  loaded.categorical_ = categorical_;
  AIMASS_RETURN_IF_ERROR(readSearchState(state, kName, kStateTag, fingerprint_, space_.size(),
                                         loaded.random_, loaded.ledger_,
                                         [&](ByteReader& in) { return loaded.readState(in); }));
  return guard("optimizer.cmaes loadState", [&] {
    random_ = loaded.random_;
    ledger_ = std::move(loaded.ledger_);
    distribution_ = std::move(loaded.distribution_);
    probabilities_ = std::move(loaded.probabilities_);
    lambda_ = loaded.lambda_;
    restarts_done_ = loaded.restarts_done_;
    generation_ = loaded.generation_;
    run_best_ = loaded.run_best_;
    stall_ = loaded.stall_;
    samples_ = std::move(loaded.samples_);
    results_ = std::move(loaded.results_);
  });
}

bool Cmaes::readState(ByteReader& in) {
  lambda_ = in.u64();
  restarts_done_ = in.u64();
  generation_ = in.u64();
  run_best_ = in.f64();
  stall_ = in.u64();
  if (!in.ok() || lambda_ < 2 || !distribution_.read(in) ||
      distribution_.dimensions() != numeric_.size()) {
    return false;
  }
  probabilities_.clear();
  for (std::size_t d : categorical_) {
    std::vector<double> p;
    if (!readDoubles(in, p, space_[d].choices.size())) {
      return false;
    }
    for (double v : p) {
      if (!(v >= 0 && v <= 1)) {
        return false;
      }
    }
    probabilities_.push_back(std::move(p));
  }
  auto readSample = [&](Sample& s) {
    s.generation = in.u64();
    if (!readDoubles(in, s.x, numeric_.size()) ||
        !readDoubles(in, s.choices, categorical_.size())) {
      return false;
    }
    for (std::size_t j = 0; j < s.choices.size(); ++j) {
      const double c = s.choices[j];
      if (!(c >= 0 && c < static_cast<double>(space_[categorical_[j]].choices.size())) ||
          c != std::floor(c)) {
        return false;
      }
    }
    return s.generation <= generation_;
  };
  const std::uint64_t outstanding = in.u64();
  for (std::uint64_t k = 0; in.ok() && k < outstanding; ++k) {
    const std::uint64_t id = in.u64();
    Sample s;
    if (!readSample(s) || ledger_.pending().count(id) == 0 ||
        !samples_.emplace(id, std::move(s)).second) {
      return false;
    }
  }
  const std::uint64_t told = in.u64();
  for (std::uint64_t k = 0; in.ok() && k < told; ++k) {
    Result r;
    if (!readSample(r.sample)) {
      return false;
    }
    r.value = in.f64();
    results_.push_back(std::move(r));
  }
  return in.ok() && samples_.size() == ledger_.pending().size() && results_.size() < lambda_;
}

}  // namespace aimass::plugins::optimizer
