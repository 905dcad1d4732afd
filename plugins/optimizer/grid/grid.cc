// SPDX-License-Identifier: Apache-2.0
#include "grid.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace aimass::plugins::optimizer {

namespace {
constexpr std::string_view kName = "optimizer.grid";
constexpr std::string_view kStateTag = "GRID1";
constexpr std::uint64_t kMaxPoints = std::uint64_t{1} << 40;
constexpr std::size_t kMaxPatterns = std::size_t{1} << 20;
}  // namespace

std::vector<double> gridValues(const SearchDimension& d, std::size_t points) {
  std::vector<double> out;
  if (d.type == SearchDimension::Type::kCategorical) {
    for (std::size_t c = 0; c < d.choices.size(); ++c) {
      out.push_back(static_cast<double>(c));
    }
    return out;
  }
  if (d.type == SearchDimension::Type::kInt) {
    const double low = std::ceil(d.low), high = std::floor(d.high);
    if (high - low + 1 <= static_cast<double>(points)) {
      for (double v = low; v <= high; ++v) {
        out.push_back(v);
      }
      return out;
    }
  }
  for (std::size_t k = 0; k < points; ++k) {
    const double u = points == 1 ? 0.5 : static_cast<double>(k) / static_cast<double>(points - 1);
    const double v = fromUnit(d, u);
    if (out.empty() || out.back() != v) {  // a one-point range or crowded integers
      out.push_back(v);
    }
  }
  return out;
}

Status GridSearch::build(const SearchSpace& space) {
  values_.clear();
  for (const auto& d : space) {
    values_.push_back(gridValues(d, options_.points));
  }
  is_parent_.assign(space.size(), false);
  for (const auto& d : space) {
    if (d.parent) {
      is_parent_[*d.parent] = true;
    }
  }
  // Every assignment of the parent dimensions, depth first in dimension order.
  patterns_.clear();
  std::vector<Pattern> open(1);
  open[0].parents.assign(space.size(), std::numeric_limits<double>::quiet_NaN());
  for (std::size_t i = 0; i < space.size(); ++i) {
    if (!is_parent_[i]) {
      continue;
    }
    std::vector<Pattern> next;
    for (auto& p : open) {
      if (!dimensionActive(space, i, p.parents)) {
        next.push_back(std::move(p));
        continue;
      }
      for (double v : values_[i]) {
        if (next.size() >= kMaxPatterns) {
          return invalidArgument(std::string(kName) + ": the dimensions that others depend on " +
                                 "have more than 2^20 combinations");
        }
        next.push_back(p);
        next.back().parents[i] = v;
      }
    }
    open = std::move(next);
  }
  std::uint64_t total = 0;
  for (auto& p : open) {
    double exact = 1;  // for the message, when it overflows
    std::uint64_t size = 1;
    for (std::size_t j = 0; j < space.size(); ++j) {
      if (is_parent_[j] || !dimensionActive(space, j, p.parents)) {
        continue;
      }
      exact *= static_cast<double>(values_[j].size());
      size = exact <= static_cast<double>(kMaxPoints) ? size * values_[j].size() : kMaxPoints + 1;
    }
    p.start = total;
    p.size = size;
    total += std::min(size, kMaxPoints + 1);
    if (total > kMaxPoints) {
      return invalidArgument(std::string(kName) + ": the grid has more than 2^40 points (" +
                             (exact > static_cast<double>(kMaxPoints)
                                  ? "about " + std::to_string(exact) + " in one branch"
                                  : "at least " + std::to_string(total)) +
                             "); lower `points` or narrow the space");
    }
  }
  patterns_ = std::move(open);
  total_ = total;
  return Status();
}

std::vector<double> GridSearch::pointAt(std::uint64_t index) const {
  auto it = std::upper_bound(patterns_.begin(), patterns_.end(), index,
                             [](std::uint64_t i, const Pattern& p) { return i < p.start; });
  const Pattern& p = *(it - 1);
  std::vector<double> values = p.parents;
  std::uint64_t offset = index - p.start;
  for (std::size_t j = space_.size(); j-- > 0;) {
    if (is_parent_[j]) {
      continue;
    }
    if (!dimensionActive(space_, j, values)) {
      values[j] = std::numeric_limits<double>::quiet_NaN();
      continue;
    }
    const std::uint64_t count = values_[j].size();
    values[j] = values_[j][offset % count];
    offset /= count;
  }
  return values;
}

// A four-round Feistel network on 2 * half_bits_ bits, walked until it lands inside the grid: a
// bijection of [0, total_) fixed by the key.
std::uint64_t GridSearch::permute(std::uint64_t index) const {
  const std::uint64_t mask = (std::uint64_t{1} << half_bits_) - 1;
  std::uint64_t x = index;
  do {
    std::uint64_t left = x >> half_bits_, right = x & mask;
    for (std::uint64_t round = 0; round < 4; ++round) {
      const std::uint64_t mixed = left ^ (mixSeeds(shuffle_key_ + round, right) & mask);
      left = right;
      right = mixed;
    }
    x = (left << half_bits_) | right;
  } while (x >= total_);
  return x;
}

Status GridSearch::begin(const SearchSpace& space, std::uint64_t seed, std::size_t objectives) {
  AIMASS_RETURN_IF_ERROR(checkSingleObjective(kName, objectives));
  AIMASS_RETURN_IF_ERROR(checkSearchSpace(kName, space));
  return guard("optimizer.grid begin", [&]() -> Status {
    begun_ = false;
    if (Status s = build(space); !s.ok()) {
      return s;
    }
    space_ = space;
    fingerprint_ = searchFingerprint(space, seed, objectives);
    shuffle_key_ = mixSeeds(options_.seed, seed);
    half_bits_ = 1;
    while ((std::uint64_t{1} << (2 * half_bits_)) < total_) {
      ++half_bits_;
    }
    position_ = 0;
    ledger_.reset();
    begun_ = true;
    return Status();
  });
}

Expected<std::vector<Candidate>> GridSearch::ask(std::size_t n) {
  if (!begun_) {
    return failedPrecondition("optimizer.grid: ask() before begin()");
  }
  std::vector<Candidate> candidates;
  Status status = guard("optimizer.grid ask", [&] {
    for (std::size_t k = 0; k < n && position_ < total_; ++k, ++position_) {
      candidates.push_back(
          ledger_.issue(pointAt(options_.shuffle ? permute(position_) : position_)));
    }
  });
  if (!status.ok()) {
    return status;
  }
  return candidates;
}

Status GridSearch::tell(std::span<const Evaluation> results) {
  if (!begun_) {
    return failedPrecondition("optimizer.grid: tell() before begin()");
  }
  return recordResults(ledger_, kName, results, 1);
}

Status GridSearch::saveState(std::string& out) const {
  if (!begun_) {
    return failedPrecondition("optimizer.grid: saveState() before begin()");
  }
  return guard("optimizer.grid saveState", [&] {
    writeSearchHeader(out, kStateTag, fingerprint_);
    ByteWriter writer(out);
    writer.u64(position_);
    ledger_.write(writer);
  });
}

Status GridSearch::loadState(std::string_view state) {
  if (!begun_) {
    return failedPrecondition("optimizer.grid: loadState() before begin()");
  }
  ByteReader reader(state);
  if (Status s = readSearchHeader(reader, kName, kStateTag, fingerprint_); !s.ok()) {
    return s;
  }
  const std::uint64_t position = reader.u64();
  SearchLedger ledger;
  if (!reader.ok() || position > total_ || !ledger.read(reader, space_.size()) || !reader.atEnd()) {
    return corruptSearchState(kName);
  }
  return guard("optimizer.grid loadState", [&] {
    position_ = position;
    ledger_ = std::move(ledger);
  });
}

}  // namespace aimass::plugins::optimizer
