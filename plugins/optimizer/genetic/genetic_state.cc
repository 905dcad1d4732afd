// SPDX-License-Identifier: Apache-2.0
// optimizer.genetic: saveState()/loadState().
//
// Layout after writeSearchHeader("GENE1", fingerprint): the random stream, the ledger, the
// generation, the parents and the results since the last replacement (each: id, genome,
// objective count and values), the children not yet handed out (genomes) and the outstanding
// candidates (id, genome). Fronts and crowding are recomputed from the parents.

#include <cmath>
#include <utility>

#include "genetic.h"

namespace aimass::plugins::optimizer {

namespace {
constexpr std::string_view kName = "optimizer.genetic";
constexpr std::string_view kStateTag = "GENE1";
}  // namespace

void Genetic::writeMembers(ByteWriter& out, const std::vector<Member>& members) const {
  out.u64(members.size());
  for (const auto& m : members) {
    out.u64(m.id);
    for (double g : m.genome) {
      out.f64(g);
    }
    out.u64(m.objectives.size());
    for (double v : m.objectives) {
      out.f64(v);
    }
  }
}

bool Genetic::readGenome(ByteReader& in, std::vector<double>& genome) const {
  if (in.remaining() / 8 < space_.size()) {
    return false;
  }
  genome.resize(space_.size());
  for (std::size_t i = 0; i < genome.size(); ++i) {
    genome[i] = in.f64();
    const double g = genome[i];
    const bool valid = choices_[i] > 0
                           ? g >= 0 && g < static_cast<double>(choices_[i]) && g == std::floor(g)
                           : g >= 0 && g <= 1;
    if (!valid) {
      return false;
    }
  }
  return in.ok();
}

bool Genetic::readMembers(ByteReader& in, std::vector<Member>& members) const {
  const std::uint64_t count = in.u64();
  for (std::uint64_t k = 0; in.ok() && k < count; ++k) {
    Member m;
    m.id = in.u64();
    if (!readGenome(in, m.genome)) {
      return false;
    }
    const std::uint64_t n = in.u64();
    const std::uint64_t expected = objectives_;
    if (!in.ok() || (n != 0 && n != expected)) {
      return false;
    }
    for (std::uint64_t j = 0; j < n; ++j) {
      m.objectives.push_back(in.f64());
    }
    members.push_back(std::move(m));
  }
  return in.ok();
}

Status Genetic::saveState(std::string& out) const {
  if (!begun_) {
    return failedPrecondition("optimizer.genetic: saveState() before begin()");
  }
  return guard("optimizer.genetic saveState", [&] {
    writeSearchPrefix(out, kStateTag, fingerprint_, random_, ledger_);
    ByteWriter writer(out);
    writeState(writer);
  });
}

void Genetic::writeState(ByteWriter& out) const {
  out.u64(generation_);
  writeMembers(out, population_);
  writeMembers(out, fresh_);
  out.u64(children_.size());
  for (const auto& genome : children_) {
    for (double g : genome) {
      out.f64(g);
    }
  }
  out.u64(genomes_.size());
  for (const auto& [id, genome] : genomes_) {
    out.u64(id);
    for (double g : genome) {
      out.f64(g);
    }
  }
}

Status Genetic::loadState(std::string_view state) {
  if (!begun_) {
    return failedPrecondition("optimizer.genetic: loadState() before begin()");
  }
  Genetic loaded(options_);
  loaded.space_ = space_;
  loaded.choices_ = choices_;
  loaded.objectives_ = objectives_;
  AIMASS_RETURN_IF_ERROR(readSearchState(state, kName, kStateTag, fingerprint_, space_.size(),
                                         loaded.random_, loaded.ledger_,
                                         [&](ByteReader& in) { return loaded.readState(in); }));
  return guard("optimizer.genetic loadState", [&] {
    random_ = loaded.random_;
    ledger_ = std::move(loaded.ledger_);
    generation_ = loaded.generation_;
    population_ = std::move(loaded.population_);
    ranks_ = std::move(loaded.ranks_);
    crowding_ = std::move(loaded.crowding_);
    fresh_ = std::move(loaded.fresh_);
    children_ = std::move(loaded.children_);
    genomes_ = std::move(loaded.genomes_);
  });
}

/// Reads writeState()'s fields into this scratch copy (its ledger already read), then ranks the
/// parents. False when they do not fit the ledger, the space or the options.
bool Genetic::readState(ByteReader& in) {
  generation_ = in.u64();
  bool ok = in.ok() && readMembers(in, population_) && readMembers(in, fresh_) &&
            population_.size() <= options_.population &&
            (generation_ == 0) == population_.empty() &&
            (population_.empty() || population_.size() > options_.elites);
  const std::uint64_t children = in.u64();
  for (std::uint64_t k = 0; ok && in.ok() && k < children; ++k) {
    std::vector<double> genome;
    ok = readGenome(in, genome);
    children_.push_back(std::move(genome));
  }
  const std::uint64_t outstanding = in.u64();
  for (std::uint64_t k = 0; ok && in.ok() && k < outstanding; ++k) {
    const std::uint64_t id = in.u64();
    std::vector<double> genome;
    ok = readGenome(in, genome) && ledger_.pending().count(id) != 0 &&
         genomes_.emplace(id, std::move(genome)).second;
  }
  ok = ok && in.ok() && in.atEnd() && genomes_.size() == ledger_.pending().size();
  if (ok) {
    rankPopulation();
  }
  return ok;
}

}  // namespace aimass::plugins::optimizer
