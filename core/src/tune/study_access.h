// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "aimass/status.h"
#include "tune/study.h"

namespace aimass::core {

/// Where a study stands, for the tuner's progress and summary.
struct StudyCounts {
  std::uint64_t complete = 0, pruned = 0, failed = 0;
  std::optional<double> best;     ///< the best trial's objective, as reported
  std::uint64_t best_number = 0;  ///< and its number and values, when `best` is set
  std::vector<double> best_values;
  std::uint64_t ended() const { return complete + pruned + failed; }
};

/// How the tuner's loop starts, reports and ends trials: on a study of its own (LocalStudy) or
/// on one shared with the other ranks of a collective through storage (SharedStudy).
/// Threading: the tuner's thread.
class StudyAccess {
 public:
  /// What next() gives.
  struct Next {
    std::optional<Trial> trial;  ///< a trial for this tuner to run
    bool exhausted = false;      ///< the optimizer has nothing more to propose
    bool wait = false;           ///< none now, but trials run elsewhere: ask again (shared studies)
  };
  virtual ~StudyAccess() = default;
  /// The next trial to run, while the budget of `trials` allows; `busy` trials run here now.
  virtual Expected<Next> next(std::uint64_t trials, std::uint64_t busy) = 0;
  virtual Status report(std::uint64_t number, std::uint64_t epoch, double value) = 0;
  /// Every trial's curve, oriented so lower is better (for the pruner).
  virtual Expected<std::vector<TrialCurve>> curves() = 0;
  virtual Status finish(std::uint64_t number, const Study::Outcome& outcome) = 0;
  /// Called on every turn of the loop (a shared study renews its leases).
  virtual Status keepAlive() { return Status(); }
  virtual StudyCounts counts() const = 0;
};

/// The counts of `study`.
inline StudyCounts countsOf(const Study& study) {
  StudyCounts c;
  c.complete = study.countIn(Trial::State::kComplete);
  c.pruned = study.countIn(Trial::State::kPruned);
  c.failed = study.countIn(Trial::State::kFailed);
  if (const Trial* best = study.best()) {
    c.best = best->value;
    c.best_number = best->number;
    c.best_values = best->values;
  }
  return c;
}

/// A study this tuner alone runs: its trials live in `study` (and its storage).
class LocalStudy final : public StudyAccess {
 public:
  explicit LocalStudy(Study& study) : study_(study) {}
  Expected<Next> next(std::uint64_t trials, std::uint64_t busy) override {
    Next next;
    if (countsOf(study_).ended() + busy >= trials) {
      return next;
    }
    auto started = study_.startTrial();
    AIMASS_RETURN_IF_ERROR(started.status());
    next.trial = std::move(started).value();
    next.exhausted = !next.trial;
    return next;
  }
  Status report(std::uint64_t number, std::uint64_t epoch, double value) override {
    return study_.report(number, epoch, value);
  }
  Expected<std::vector<TrialCurve>> curves() override { return study_.curves(); }
  Status finish(std::uint64_t number, const Study::Outcome& outcome) override {
    return study_.finish(number, outcome);
  }
  StudyCounts counts() const override { return countsOf(study_); }

 private:
  Study& study_;
};

}  // namespace aimass::core
