// SPDX-License-Identifier: Apache-2.0
#include "random.h"

#include <utility>

namespace aimass::plugins::optimizer {

namespace {
constexpr std::string_view kName = "optimizer.random";
constexpr std::string_view kStateTag = "RSEQ1";
}  // namespace

Status RandomSearchSequence::begin(const SearchSpace& space, std::uint64_t seed,
                                   std::size_t objectives) {
  AIMASS_RETURN_IF_ERROR(checkSingleObjective(kName, objectives));
  AIMASS_RETURN_IF_ERROR(checkSearchSpace(kName, space));
  return guard("optimizer.random begin", [&] {
    const std::uint64_t mixed = mixSeeds(options_.seed, seed);
    SearchRandom scramble(mixSeeds(mixed, 0x5eed));
    sobol_.reset();
    halton_.reset();
    if (options_.sequence == RandomSequence::kSobol) {
      sobol_ = std::make_unique<SobolSequence>(space.size(), options_.scramble, scramble);
    } else if (options_.sequence == RandomSequence::kHalton) {
      halton_ = std::make_unique<HaltonSequence>(space.size(), options_.scramble, scramble);
    }
    space_ = space;
    fingerprint_ = searchFingerprint(space, seed, 1);
    random_.reseed(mixed);
    index_ = 0;
    ledger_.reset();
    begun_ = true;
  });
}

std::vector<double> RandomSearchSequence::next() {
  point_.clear();
  if (sobol_) {
    sobol_->point(index_, point_);
  } else if (halton_) {
    halton_->point(index_, point_);
  }
  ++index_;
  std::vector<double> values(space_.size());
  for (std::size_t i = 0; i < space_.size(); ++i) {
    values[i] = fromUnit(space_[i], i < point_.size() ? point_[i] : random_.uniform());
  }
  markInactive(space_, values);
  return values;
}

Expected<std::vector<Candidate>> RandomSearchSequence::ask(std::size_t n) {
  if (!begun_) {
    return failedPrecondition("optimizer.random: ask() before begin()");
  }
  std::vector<Candidate> candidates;
  Status status = guard("optimizer.random ask", [&] {
    candidates.reserve(n);
    for (std::size_t k = 0; k < n; ++k) {
      candidates.push_back(ledger_.issue(next()));
    }
  });
  if (!status.ok()) {
    return status;
  }
  return candidates;
}

Status RandomSearchSequence::tell(std::span<const Evaluation> results) {
  if (!begun_) {
    return failedPrecondition("optimizer.random: tell() before begin()");
  }
  return recordResults(ledger_, kName, results, 1);
}

Status RandomSearchSequence::saveState(std::string& out) const {
  if (!begun_) {
    return failedPrecondition("optimizer.random: saveState() before begin()");
  }
  return guard("optimizer.random saveState", [&] {
    writeSearchHeader(out, kStateTag, fingerprint_);
    ByteWriter writer(out);
    writer.u64(index_);
    random_.write(writer);
    ledger_.write(writer);
  });
}

Status RandomSearchSequence::loadState(std::string_view state) {
  if (!begun_) {
    return failedPrecondition("optimizer.random: loadState() before begin()");
  }
  ByteReader reader(state);
  if (Status s = readSearchHeader(reader, kName, kStateTag, fingerprint_); !s.ok()) {
    return s;
  }
  const std::uint64_t index = reader.u64();
  SearchRandom random;
  SearchLedger ledger;
  if (!reader.ok() || !random.read(reader) || !ledger.read(reader, space_.size()) ||
      !reader.atEnd()) {
    return corruptSearchState(kName);
  }
  return guard("optimizer.random loadState", [&] {
    index_ = index;
    random_ = random;
    ledger_ = std::move(ledger);
  });
}

}  // namespace aimass::plugins::optimizer
