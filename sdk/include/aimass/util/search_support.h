// SPDX-License-Identifier: Apache-2.0
#pragma once

// A utility header, not part of the plugin ABI: inline code that search optimizers compile in
// themselves (random, grid, tpe, cmaes, genetic, rl and out-of-tree ones). What every
// SearchOptimizer needs besides its algorithm:
//
//   checkSearchSpace()   the space checks begin() makes, with messages naming the dimension
//   SearchRandom         a small seeded generator whose state fits in 32 bytes of a saved state
//   toUnit()/fromUnit()  each dimension mapped onto [0, 1] (log scale, integers, categories)
//   SearchLedger         ids, outstanding candidates and results told, with their checks
//   recordResults()      tell()'s checks and bookkeeping through the ledger
//   writeSearchHeader()  the start of a saved state: a tag and the space's fingerprint
//   writeSearchPrefix()  the usual start of a saved state: header, random stream, ledger
//   readSearchState()    reads such a state back, checking all of it before anything is kept
//
// Every number is turned into values by hand (no std::*_distribution), so a seed proposes the
// same candidates on every platform.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aimass/byte_io.h"
#include "aimass/optimizer.h"
#include "aimass/status.h"

namespace aimass {

/// splitmix64 of two seeds: a well-spread 64-bit value (the node's `seed` parameter mixed with
/// the seed the tuner passes to begin()).
inline std::uint64_t mixSeeds(std::uint64_t a, std::uint64_t b) {
  std::uint64_t z = a + 0x9e3779b97f4a7c15ull * (b + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/// xoshiro256** (Blackman and Vigna): fast, 256 bits of state, saved and restored exactly.
/// Not thread-safe.
class SearchRandom {
 public:
  explicit SearchRandom(std::uint64_t seed = 0) { reseed(seed); }

  /// Fills the state from `seed` through splitmix64, as the authors recommend.
  void reseed(std::uint64_t seed) {
    for (auto& word : state_) {
      seed += 0x9e3779b97f4a7c15ull;
      word = mixSeeds(seed, 0);
    }
  }
  std::uint64_t next() {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }
  /// In [0, 1): the top 53 bits, exact doubles.
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  /// In (0, 1): never 0, for logarithms.
  double open() { return (static_cast<double>(next() >> 11) + 0.5) * (1.0 / 9007199254740992.0); }
  /// Standard normal (Box-Muller; two draws per call, no cached spare, so the state is the
  /// generator's words alone).
  double normal() {
    const double r = std::sqrt(-2.0 * std::log(open()));
    return r * std::cos(6.283185307179586 * uniform());
  }
  /// Uniform in {0, ..., n - 1}; n > 0. Exact: draws above the largest multiple of n are
  /// drawn again.
  std::size_t below(std::size_t n) {
    const auto bound = static_cast<std::uint64_t>(n);
    const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % bound);
    std::uint64_t draw = next();
    while (draw >= limit) {
      draw = next();
    }
    return static_cast<std::size_t>(draw % bound);
  }

  void write(ByteWriter& out) const {
    for (auto word : state_) {
      out.u64(word);
    }
  }
  /// False (and the state unchanged) when the reader ran out or the state is all zero.
  bool read(ByteReader& in) {
    std::uint64_t words[4];
    for (auto& word : words) {
      word = in.u64();
    }
    if (!in.ok() || (words[0] | words[1] | words[2] | words[3]) == 0) {
      return false;
    }
    std::copy(std::begin(words), std::end(words), std::begin(state_));
    return true;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t state_[4];
};

/// "search dimension 2 ('learning_rate')", for messages.
inline std::string describeDimension(const SearchSpace& space, std::size_t index) {
  return "search dimension " + std::to_string(index) + " ('" + space[index].name + "')";
}

/// begin()'s check in an optimizer of one objective: kInvalidArgument "<optimizer> minimises one
/// objective, not N" unless `objectives` is 1.
inline Status checkSingleObjective(std::string_view optimizer, std::size_t objectives) {
  if (objectives != 1) {
    return invalidArgument(std::string(optimizer) + " minimises one objective, not " +
                           std::to_string(objectives));
  }
  return Status();
}

/// The checks every begin() makes, so that ask() can never fail on the space: not empty;
/// finite bounds with low <= high; a log scale above 0; an int range holding an integer;
/// categories with choices; a conditional dimension whose parent is an earlier categorical one
/// and whose parent_choices are among its choices. kInvalidArgument, prefixed with `optimizer`
/// and naming the dimension.
inline Status checkSearchSpace(std::string_view optimizer, const SearchSpace& space) {
  auto fail = [&](std::size_t i, const std::string& what) {
    return invalidArgument(std::string(optimizer) + ": " + describeDimension(space, i) + " " +
                           what);
  };
  if (space.empty()) {
    return invalidArgument(std::string(optimizer) + ": the search space has no dimensions");
  }
  for (std::size_t i = 0; i < space.size(); ++i) {
    const SearchDimension& d = space[i];
    if (d.parent) {
      if (*d.parent >= i || space[*d.parent].type != SearchDimension::Type::kCategorical) {
        return fail(i, "is conditional on dimension " + std::to_string(*d.parent) +
                           ", which must be an earlier categorical dimension");
      }
      if (d.parent_choices.empty()) {
        return fail(i, "is conditional but names no parent choice");
      }
      for (std::size_t c : d.parent_choices) {
        if (c >= space[*d.parent].choices.size()) {
          return fail(i, "is conditional on choice " + std::to_string(c) + " of '" +
                             space[*d.parent].name + "', which has " +
                             std::to_string(space[*d.parent].choices.size()) + " choices");
        }
      }
    }
    if (d.type == SearchDimension::Type::kCategorical) {
      if (d.choices.empty()) {
        return fail(i, "is categorical but has no choices");
      }
      continue;
    }
    if (!std::isfinite(d.low) || !std::isfinite(d.high) || d.low > d.high) {
      return fail(i, "needs finite bounds with low <= high, got [" + std::to_string(d.low) +
                         ", " + std::to_string(d.high) + "]");
    }
    if (d.log_scale && d.low <= 0) {
      return fail(i, "is log-scaled, so low must be > 0, got " + std::to_string(d.low));
    }
    if (d.type == SearchDimension::Type::kInt && std::ceil(d.low) > std::floor(d.high)) {
      return fail(i, "is an int range without integers: [" + std::to_string(d.low) + ", " +
                         std::to_string(d.high) + "]");
    }
  }
  return Status();
}

/// The numeric range toUnit() and fromUnit() map onto [0, 1]: the bounds, widened by half a
/// step on each side for an int range (not below its first integer on a log scale).
inline std::pair<double, double> unitBounds(const SearchDimension& d) {
  if (d.type != SearchDimension::Type::kInt) {
    return {d.low, d.high};
  }
  const double low = std::ceil(d.low) - 0.5;
  return {d.log_scale && low <= 0 ? std::ceil(d.low) : low, std::floor(d.high) + 0.5};
}

/// Where `value` lies in the dimension, on [0, 1]: linear (or logarithmic) in the bounds for
/// numbers, with an int range widened by half a step on each side so every integer owns an
/// equal share; the middle of its share for a category. A one-point range maps to 0.5.
inline double toUnit(const SearchDimension& d, double value) {
  if (d.type == SearchDimension::Type::kCategorical) {
    return (value + 0.5) / static_cast<double>(d.choices.size());
  }
  auto [low, high] = unitBounds(d);
  if (d.log_scale) {
    low = std::log(low);
    high = std::log(high);
    value = std::log(value);
  }
  if (!(high > low)) {
    return 0.5;
  }
  return std::clamp((value - low) / (high - low), 0.0, 1.0);
}

/// The value at position `u` of the dimension (toUnit's inverse; u is clamped into [0, 1]):
/// an integer for kInt, a choice index for kCategorical, always inside the bounds.
inline double fromUnit(const SearchDimension& d, double u) {
  u = std::isnan(u) ? 0.5 : std::clamp(u, 0.0, 1.0);
  if (d.type == SearchDimension::Type::kCategorical) {
    const auto count = static_cast<double>(d.choices.size());
    return std::min(std::floor(u * count), count - 1);
  }
  auto [low, high] = unitBounds(d);
  double v = d.log_scale ? std::exp(std::log(low) + u * (std::log(high) - std::log(low)))
                         : low + u * (high - low);
  if (d.type == SearchDimension::Type::kInt) {
    return std::clamp(std::round(v), std::ceil(d.low), std::floor(d.high));
  }
  return std::clamp(v, d.low, d.high);  // exp/log rounding may step just outside
}

/// Sets the values of inactive conditional dimensions to NaN (and leaves the others).
inline void markInactive(const SearchSpace& space, std::vector<double>& values) {
  for (std::size_t i = 0; i < space.size() && i < values.size(); ++i) {
    if (!dimensionActive(space, i, values)) {
      values[i] = std::numeric_limits<double>::quiet_NaN();
    }
  }
}

/// A point drawn uniformly from the space (log-uniformly on log scales), NaN where inactive.
inline std::vector<double> sampleUniformly(const SearchSpace& space, SearchRandom& random) {
  std::vector<double> values(space.size());
  for (std::size_t i = 0; i < space.size(); ++i) {
    values[i] = dimensionActive(space, i, values) ? fromUnit(space[i], random.uniform())
                                                  : std::numeric_limits<double>::quiet_NaN();
  }
  return values;
}

/// A result told for a candidate, with the candidate's values.
struct SearchRecord {
  std::uint64_t id = 0;
  std::vector<double> values;
  double value = 0;
  bool failed = false;  ///< failed or non-finite: never the best, never a model's data point
  std::vector<double> objectives;
};

/// The bookkeeping every search shares: fresh ids (increasing over the optimizer's life, also
/// across begin(), so an old search's results can never be mistaken for a new one's), the
/// candidates handed out and not yet told, and the results told since begin().
class SearchLedger {
 public:
  /// A new search: forgets candidates and results, keeps counting ids.
  void reset() {
    pending_.clear();
    history_.clear();
    told_.clear();
  }
  /// Gives `values` a fresh id and remembers them until told.
  Candidate issue(std::vector<double> values) {
    Candidate c{next_id_++, std::move(values)};
    pending_.emplace(c.id, c.values);
    return c;
  }
  /// kInvalidArgument, prefixed with `optimizer`, when a result's id was never handed out since
  /// reset(), was already told, or comes twice; when a multi-objective search's result has no
  /// `objectives` of the right size. Checks all before anything is recorded.
  Status check(std::string_view optimizer, std::span<const Evaluation> results,
               std::size_t objectives) const {
    std::set<std::uint64_t> seen;
    for (const auto& r : results) {
      if (told_.count(r.id) != 0 || !seen.insert(r.id).second) {
        return invalidArgument(std::string(optimizer) + ": candidate " + std::to_string(r.id) +
                               " was already reported");
      }
      if (pending_.count(r.id) == 0) {
        return invalidArgument(std::string(optimizer) + ": unknown candidate id " +
                               std::to_string(r.id) +
                               ": it was not proposed by ask() since the last begin()");
      }
      if (objectives > 1 && !r.failed && r.objectives.size() != objectives) {
        return invalidArgument(std::string(optimizer) + ": candidate " + std::to_string(r.id) +
                               " has " + std::to_string(r.objectives.size()) +
                               " objective values, the search minimises " +
                               std::to_string(objectives));
      }
    }
    return Status();
  }
  /// Moves a checked result from pending to the history; returns the record.
  const SearchRecord& record(const Evaluation& r) {
    auto it = pending_.find(r.id);
    SearchRecord rec;
    rec.id = r.id;
    rec.values = std::move(it->second);
    rec.failed = r.failed || !std::isfinite(r.value);
    rec.value = rec.failed ? 0 : r.value;
    for (double v : r.objectives) {
      rec.failed = rec.failed || !std::isfinite(v);
    }
    rec.objectives = rec.failed ? std::vector<double>{} : r.objectives;
    pending_.erase(it);
    told_.insert(r.id);
    history_.push_back(std::move(rec));
    return history_.back();
  }
  const std::vector<SearchRecord>& history() const noexcept { return history_; }
  const std::map<std::uint64_t, std::vector<double>>& pending() const noexcept {
    return pending_;
  }
  std::uint64_t nextId() const noexcept { return next_id_; }

  void write(ByteWriter& out) const {
    out.u64(next_id_);
    out.u64(pending_.size());
    for (const auto& [id, values] : pending_) {
      out.u64(id);
      writeValues(out, values);
    }
    out.u64(history_.size());
    for (const auto& rec : history_) {
      out.u64(rec.id);
      writeValues(out, rec.values);
      out.f64(rec.value);
      out.u8(rec.failed ? 1 : 0);
      writeValues(out, rec.objectives);
    }
  }
  /// False when the bytes run out or do not fit a space of `dimensions` (this ledger is then
  /// unchanged).
  bool read(ByteReader& in, std::size_t dimensions) {
    SearchLedger loaded;
    loaded.next_id_ = in.u64();
    const std::uint64_t pending = in.u64();
    for (std::uint64_t i = 0; in.ok() && i < pending; ++i) {
      const std::uint64_t id = in.u64();
      std::vector<double> values;
      if (!readValues(in, values) || values.size() != dimensions || id >= loaded.next_id_) {
        return false;
      }
      loaded.pending_.emplace(id, std::move(values));
    }
    const std::uint64_t told = in.u64();
    for (std::uint64_t i = 0; in.ok() && i < told; ++i) {
      SearchRecord rec;
      rec.id = in.u64();
      if (!readValues(in, rec.values) || rec.values.size() != dimensions ||
          rec.id >= loaded.next_id_ || !loaded.told_.insert(rec.id).second) {
        return false;
      }
      rec.value = in.f64();
      rec.failed = in.u8() != 0;
      if (!readValues(in, rec.objectives)) {
        return false;
      }
      loaded.history_.push_back(std::move(rec));
    }
    if (!in.ok()) {
      return false;
    }
    *this = std::move(loaded);
    return true;
  }

 private:
  static void writeValues(ByteWriter& out, const std::vector<double>& values) {
    out.u64(values.size());
    for (double v : values) {
      out.f64(v);
    }
  }
  static bool readValues(ByteReader& in, std::vector<double>& values) {
    const std::uint64_t n = in.u64();
    if (!in.ok() || n > in.remaining() / 8) {
      return false;
    }
    values.resize(n);
    for (double& v : values) {
      v = in.f64();
    }
    return in.ok();
  }

  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, std::vector<double>> pending_;
  std::set<std::uint64_t> told_;
  std::vector<SearchRecord> history_;
};

/// tell()'s bookkeeping: checks every result through `ledger` (SearchLedger::check, so a bad
/// call records nothing), then records them in order, calling `use(record)` right after each
/// one is recorded (the record is then the last of ledger.history()). Errors: check()'s
/// kInvalidArgument; an exception thrown while recording or by `use` becomes guard()'s Status
/// naming "<optimizer> tell" (the results recorded before it stay recorded). Not thread-safe.
template <typename Use>
Status recordResults(SearchLedger& ledger, std::string_view optimizer,
                     std::span<const Evaluation> results, std::size_t objectives, Use&& use) {
  AIMASS_RETURN_IF_ERROR(ledger.check(optimizer, results, objectives));
  return guard(std::string(optimizer) + " tell", [&] {
    for (const auto& r : results) {
      use(ledger.record(r));
    }
  });
}

/// recordResults() for a search that only keeps the ledger's history.
inline Status recordResults(SearchLedger& ledger, std::string_view optimizer,
                            std::span<const Evaluation> results, std::size_t objectives) {
  return recordResults(ledger, optimizer, results, objectives, [](const SearchRecord&) {});
}

/// A 64-bit fingerprint of a space and the begin() arguments (FNV-1a over every field), so a
/// saved state refuses to load into another search.
inline std::uint64_t searchFingerprint(const SearchSpace& space, std::uint64_t seed,
                                       std::size_t objectives) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&](std::string_view bytes) {
    for (unsigned char c : bytes) {
      h = (h ^ c) * 0x100000001b3ull;
    }
  };
  auto mixNumber = [&](std::uint64_t v) {
    std::string buffer;
    ByteWriter(buffer).u64(v);
    mix(buffer);
  };
  auto mixDouble = [&](double v) {
    std::string buffer;
    ByteWriter(buffer).f64(v);
    mix(buffer);
  };
  mixNumber(seed);
  mixNumber(objectives);
  mixNumber(space.size());
  for (const auto& d : space) {
    mixNumber(d.name.size());
    mix(d.name);
    mixNumber(static_cast<std::uint64_t>(d.type));
    mixDouble(d.low);
    mixDouble(d.high);
    mixNumber(d.log_scale ? 1 : 0);
    mixNumber(d.choices.size());
    for (const auto& c : d.choices) {
      mixNumber(c.size());
      mix(c);
    }
    mixNumber(d.parent ? *d.parent + 1 : 0);
    mixNumber(d.parent_choices.size());
    for (auto c : d.parent_choices) {
      mixNumber(c);
    }
  }
  return h;
}

/// Starts a saved state: the optimizer's tag ("TPE1") and the search's fingerprint.
inline void writeSearchHeader(std::string& out, std::string_view tag, std::uint64_t fingerprint) {
  out.append(tag);
  ByteWriter(out).u64(fingerprint);
}

/// kDataLoss "<optimizer>: the saved state is truncated or corrupt": what loadState() returns
/// for bytes that do not read back into a valid state.
inline Status corruptSearchState(std::string_view optimizer) {
  return dataLoss(std::string(optimizer) + ": the saved state is truncated or corrupt");
}

/// Reads writeSearchHeader()'s bytes: kDataLoss for another tag or too few bytes,
/// kInvalidArgument for a state saved by a search over another space or with other begin()
/// arguments. Messages start with `optimizer`.
inline Status readSearchHeader(ByteReader& in, std::string_view optimizer, std::string_view tag,
                               std::uint64_t fingerprint) {
  if (in.bytes(tag.size()) != tag || !in.ok()) {
    return dataLoss(std::string(optimizer) + ": the saved state is not a " +
                    std::string(optimizer) + " state");
  }
  const std::uint64_t saved = in.u64();
  if (!in.ok()) {
    return corruptSearchState(optimizer);
  }
  if (saved != fingerprint) {
    return invalidArgument(std::string(optimizer) +
                           ": the saved state belongs to a search over another space, seed or "
                           "number of objectives");
  }
  return Status();
}

/// The start most saved states share: writeSearchHeader(tag, fingerprint), then the random
/// stream and the ledger. The optimizer's own fields follow. Throws only std::bad_alloc.
inline void writeSearchPrefix(std::string& out, std::string_view tag, std::uint64_t fingerprint,
                              const SearchRandom& random, const SearchLedger& ledger) {
  writeSearchHeader(out, tag, fingerprint);
  ByteWriter writer(out);
  random.write(writer);
  ledger.write(writer);
}

/// Reads a whole saved state that starts with writeSearchPrefix()'s bytes: the header, then the
/// random stream and the ledger (a space of `dimensions`) into `random` and `ledger`, then the
/// optimizer's own fields through `readRest(ByteReader&) -> bool` (false: not valid), which must
/// use up the bytes. Errors: readSearchHeader()'s; corruptSearchState() when anything after the
/// header does not read, readRest() refuses it or bytes are left over; an exception becomes
/// guard()'s Status naming "<optimizer> loadState". `random`, `ledger` and whatever readRest()
/// fills may be changed on error: pass fresh ones and commit them only once this returned OK.
template <typename ReadRest>
Status readSearchState(std::string_view state, std::string_view optimizer, std::string_view tag,
                       std::uint64_t fingerprint, std::size_t dimensions, SearchRandom& random,
                       SearchLedger& ledger, ReadRest&& readRest) {
  ByteReader in(state);
  AIMASS_RETURN_IF_ERROR(readSearchHeader(in, optimizer, tag, fingerprint));
  bool ok = false;
  AIMASS_RETURN_IF_ERROR(guard(std::string(optimizer) + " loadState", [&] {
    ok = random.read(in) && ledger.read(in, dimensions) && readRest(in) && in.atEnd();
  }));
  return ok ? Status() : corruptSearchState(optimizer);
}

/// readSearchState() for a state that is the prefix alone.
inline Status readSearchState(std::string_view state, std::string_view optimizer,
                              std::string_view tag, std::uint64_t fingerprint,
                              std::size_t dimensions, SearchRandom& random, SearchLedger& ledger) {
  return readSearchState(state, optimizer, tag, fingerprint, dimensions, random, ledger,
                         [](ByteReader&) { return true; });
}

}  // namespace aimass
