// SPDX-License-Identifier: Apache-2.0
#include "minimal.h"

#include <utility>

namespace aimass::plugins::optimizer {

namespace {
constexpr std::string_view kName = "optimizer.random_search";
constexpr std::string_view kStateTag = "RAND1";
}  // namespace

Status RandomSearch::begin(const SearchSpace& space, std::uint64_t seed, std::size_t objectives) {
  // Step 2: check the whole space up front and name the dimension that is wrong. Once begin()
  // succeeds, ask() can never fail on the space. checkSearchSpace() makes the checks every
  // search optimizer shares (bounds, log scales, choices, conditions); checkSingleObjective()
  // refuses a search of several objectives (best() compares one value).
  AIMASS_RETURN_IF_ERROR(checkSingleObjective(kName, objectives));
  AIMASS_RETURN_IF_ERROR(checkSearchSpace(kName, space));
  return guard("optimizer.random_search begin", [&] {
    // Step 3: a new search forgets the old one's results but keeps counting ids (the ledger
    // does both).
    space_ = space;
    fingerprint_ = searchFingerprint(space, seed, objectives);
    random_.reseed(mixSeeds(seed_, seed));
    ledger_.reset();
    begun_ = true;
  });
}

Expected<std::vector<Candidate>> RandomSearch::ask(std::size_t n) {
  if (!begun_) {
    return failedPrecondition("optimizer.random_search: ask() before begin()");
  }
  std::vector<Candidate> candidates;
  Status status = guard("optimizer.random_search ask", [&] {
    candidates.reserve(n);
    for (std::size_t k = 0; k < n; ++k) {
      // Step 4: draw each dimension so that every allowed value is equally likely
      // (sampleUniformly maps a uniform number through fromUnit(), which gives integers and
      // categories equal shares), with NaN for conditional dimensions that are switched off.
      // Step 5: the ledger hands out a fresh id and remembers the values until told.
      candidates.push_back(ledger_.issue(sampleUniformly(space_, random_)));
    }
  });
  if (!status.ok()) {
    return status;
  }
  return candidates;
}

Status RandomSearch::tell(std::span<const Evaluation> results) {
  if (!begun_) {
    return failedPrecondition("optimizer.random_search: tell() before begin()");
  }
  // Step 6: validate every result before recording any, so a bad call changes nothing;
  // recordResults() checks them all through the ledger, then records them.
  return recordResults(ledger_, kName, results, 1);
}

std::optional<RandomSearch::Best> RandomSearch::best() const {
  std::optional<Best> best;
  for (const auto& rec : ledger_.history()) {
    if (!rec.failed && (!best || rec.value < best->value)) {
      best = Best{Candidate{rec.id, rec.values}, rec.value};
    }
  }
  return best;
}

// Step 7: the state is what a resumed study needs to go on exactly: a header with the search's
// fingerprint (so a state never loads into another search), the random stream and the ledger:
// the prefix that writeSearchPrefix() writes and readSearchState() checks and reads back.
Status RandomSearch::saveState(std::string& out) const {
  if (!begun_) {
    return failedPrecondition("optimizer.random_search: saveState() before begin()");
  }
  return guard("optimizer.random_search saveState",
               [&] { writeSearchPrefix(out, kStateTag, fingerprint_, random_, ledger_); });
}

Status RandomSearch::loadState(std::string_view state) {
  if (!begun_) {
    return failedPrecondition("optimizer.random_search: loadState() before begin()");
  }
  // Read into fresh objects and check it all (the header's tag and fingerprint, the random
  // stream, the ledger, nothing left over) before changing anything.
  SearchRandom random;
  SearchLedger ledger;
  AIMASS_RETURN_IF_ERROR(
      readSearchState(state, kName, kStateTag, fingerprint_, space_.size(), random, ledger));
  return guard("optimizer.random_search loadState", [&] {
    random_ = random;
    ledger_ = std::move(ledger);
  });
}

}  // namespace aimass::plugins::optimizer
