// SPDX-License-Identifier: Apache-2.0
// What the Study tests share: a deterministic search optimizer with a real saved state, and
// a study's settings over a log-uniform and a choice dimension.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "aimass/byte_io.h"
#include "aimass/optimizer.h"
#include "aimass/util/search_support.h"
#include "tune/study.h"

namespace aimass::core::tune_test {

/// A deterministic search (uniform draws) with a real saved state, standing for a plugin.
class Uniform final : public SearchOptimizer {
 public:
  explicit Uniform(bool deterministic = true) : deterministic_(deterministic) {}
  Status begin(const SearchSpace& space, std::uint64_t seed, std::size_t) override {
    space_ = space;
    static int begins = 0;  // a nondeterministic search draws differently every time
    random_.reseed(deterministic_ ? seed : seed + static_cast<std::uint64_t>(++begins));
    ledger_.reset();
    return Status();
  }
  Expected<std::vector<Candidate>> ask(std::size_t n) override {
    std::vector<Candidate> out;
    for (std::size_t i = 0; i < n; ++i) {
      out.push_back(ledger_.issue(sampleUniformly(space_, random_)));
    }
    return out;
  }
  Status tell(std::span<const Evaluation> results) override {
    AIMASS_RETURN_IF_ERROR(ledger_.check("uniform", results, 1));
    for (const auto& r : results) {
      ledger_.record(r);
    }
    return Status();
  }
  Status saveState(std::string& out) const override {
    ByteWriter writer(out);
    random_.write(writer);
    ledger_.write(writer);
    return Status();
  }
  Status loadState(std::string_view state) override {
    ByteReader reader(state);
    SearchRandom random;
    SearchLedger ledger;
    if (!random.read(reader) || !ledger.read(reader, space_.size()) || !reader.atEnd()) {
      return dataLoss("uniform: corrupt state");
    }
    random_ = random;
    ledger_ = std::move(ledger);
    return Status();
  }
  std::size_t told() const { return ledger_.history().size(); }

 private:
  bool deterministic_;
  SearchSpace space_;
  SearchRandom random_;
  SearchLedger ledger_;
};

inline StudySettings settings() {
  StudySettings s;
  s.name = "study";
  TuneDimension x;
  x.key = "opt.rate";
  x.node = "opt";
  x.param = "rate";
  x.kind = TuneDimension::Kind::kLogUniform;
  x.low = 1e-4;
  x.high = 1;
  TuneDimension c;
  c.key = "net.act";
  c.node = "net";
  c.param = "act";
  c.kind = TuneDimension::Kind::kChoice;
  c.param_type = ParamType::kString;
  c.choices = {"\"relu\"", "\"tanh\""};
  s.dimensions = {x, c};
  s.optimizer_type = "optimizer.uniform";
  s.seed = 5;
  s.objective = "val_loss";
  return s;
}

}  // namespace aimass::core::tune_test
