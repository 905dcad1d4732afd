// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aimass/optimizer.h"
#include "aimass/status.h"
#include "aimass/storage.h"
#include "tune/pruners.h"
#include "tune/tune_space.h"

namespace aimass::core {

/// What defines a study: two runs with equal settings continue one study; a study found in
/// storage with other settings is refused (its trials would not compare).
struct StudySettings {
  std::string name;  ///< Tracking::validateName() rules; the experiment its trials go to
  std::vector<TuneDimension> dimensions;
  std::string optimizer_type;  ///< "optimizer.tpe"
  std::uint64_t seed = 0;      ///< passed to SearchOptimizer::begin()
  std::string objective;       ///< the metric ("val_accuracy")
  bool maximize = false;
};

/// One trial: a candidate of the optimizer, what running it gave, and where it stands.
struct Trial {
  using State = TrialCurve::State;  ///< running, complete, pruned or failed
  std::uint64_t number = 0;        ///< from 0, in the order trials started
  std::uint64_t candidate = 0;     ///< the optimizer's candidate id
  std::vector<double> values;      ///< the optimizer's values (NaN: inactive)
  State state = State::kRunning;
  std::optional<double> value;     ///< the objective as reported (not negated)
  std::map<std::uint64_t, double> intermediate;  ///< epoch -> objective, as reported
  std::string reason;              ///< failed: why; pruned: by what, at which epoch
  std::int64_t run_id = 0;         ///< the tracked run (0: none)
  std::string artifact;            ///< the trial's saved model (storage key); empty: none
  std::uint64_t told = 0;          ///< the order in which the optimizer was told (0: not yet)
  std::uint64_t tells_at_ask = 0;  ///< tells made before this trial was asked for
  double started = 0;              ///< Unix seconds
  double ended = 0;
  std::string worker;  ///< who ran it last, across ranks: "rank 1, pid 42 on HOST"
};

/// "running", "complete", "pruned", "failed".
const char* trialStateName(Trial::State state);

/// A study: the trials of one tuning, their results and the search optimizer's state, kept in
/// a storage node so that a study stopped in any way (Ctrl-C, SIGTERM, kill -9, a power cut)
/// continues where it stopped, without repeating a finished trial.
///
/// Layout under `tune/NAME/`: `study` (the settings, JSON), `trials/NNNNNNNN` (one JSON record a
/// trial, rewritten as it progresses) and `optimizer` (the optimizer's saveState() after a
/// tell, with how many trials had been asked for and how many tells made). Every write is one
/// atomic put(), and any prefix of them is a consistent study:
///  - a new trial: ask() and one put of the trial record, which notes how many tells came
///    before the ask.
///  - a finished trial: its record (with its tell number) first, then the optimizer's state.
/// open() loads the last saved state and replays what came after it in its original order:
/// the asks of the trials started since (the optimizer is deterministic, so it proposes them
/// again; a trial it does not propose again is marked failed) interleaved with the tells of
/// the trials finished since. Trials found running run again with the same values (the
/// optimizer holds them as outstanding). Two puts per trial start and end, three in all.
///
/// Without storage the study lives in memory (the W7 benchmark's in-memory figure).
/// Threading: one thread (the tuner's loop); the optimizer is the study's for its lifetime.
class Study {
 public:
  /// Opens the study `settings.name` in `storage` (null: in memory), or creates it. Calls
  /// `optimizer`.begin(space, seed, 1) and, for an existing study, loadState() and the tells
  /// the state misses. kFailedPrecondition when the stored study has other settings (naming
  /// the first difference); kDataLoss for corrupt records (naming the key).
  static Expected<std::unique_ptr<Study>> open(std::shared_ptr<Storage> storage,
                                               StudySettings settings,
                                               SearchOptimizer& optimizer);

  /// The next trial to run: one found running when the study was opened (run again), else a
  /// new one from the optimizer. nullopt when the optimizer has nothing more to propose (a
  /// finished grid).
  Expected<std::optional<Trial>> startTrial();
  /// A new trial from the optimizer (startTrial() without the restarts); nullopt when it has
  /// nothing more to propose.
  Expected<std::optional<Trial>> askTrial();
  /// Runs again trial `number`, found running when the study was opened (its curve is cleared,
  /// its start time and worker renewed). kFailedPrecondition when it is not running.
  Expected<Trial> restartTrial(std::uint64_t number);
  /// Saves the optimizer's state now (as after a tell). A study shared among tuners saves it
  /// when it is created, so that every reopening loads a state, ids included, rather than
  /// depending on how often its optimizer object began before (ids grow across begin()).
  Status saveOptimizerState() { return saveOptimizer(); }
  /// Stamps the trials this study starts or restarts from now on with `worker` (Trial::worker).
  void setWorker(std::string worker) { worker_ = std::move(worker); }
  /// Records the objective a running trial reported after `epoch` (persisted, for pruners
  /// and for `aimass tune show`).
  Status report(std::uint64_t number, std::uint64_t epoch, double value);
  /// How a trial ended.
  struct Outcome {
    Trial::State state = Trial::State::kComplete;
    std::optional<double> value;  ///< required for kComplete and kPruned
    std::string reason;
    std::int64_t run_id = 0;
    std::string artifact;
  };
  /// Ends a running trial and tells the optimizer (a failed or pruned trial is told as failed,
  /// or, pruned, with its last value: it is a real, if early, measurement).
  Status finish(std::uint64_t number, const Outcome& outcome);
  /// Sets a running trial's tracked run and saved model early (for a resumed view).
  Status annotate(std::uint64_t number, std::int64_t run_id, const std::string& artifact);

  const StudySettings& settings() const noexcept { return settings_; }
  const std::vector<Trial>& trials() const noexcept { return trials_; }
  /// The trial numbered `number`; null when there is none.
  const Trial* trial(std::uint64_t number) const;
  std::size_t countIn(Trial::State state) const;
  /// The best complete trial (pruned ones count only when no trial completed).
  const Trial* best() const;
  /// The trials as a pruner sees them (values oriented so lower is better).
  std::vector<TrialCurve> curves() const;
  /// Trials still to run again after open() (those found running).
  std::size_t pendingRestarts() const noexcept { return restarts_.size(); }

  /// Reads a stored study without an optimizer (open(), `aimass tune show`), its trials by
  /// number: kNotFound when none.
  static Expected<std::pair<StudySettings, std::vector<Trial>>> read(const Storage& storage,
                                                                     const std::string& name);
  /// The names of the studies in `storage`.
  static Expected<std::vector<std::string>> list(const Storage& storage);

 private:
  Study(std::shared_ptr<Storage> storage, StudySettings settings, SearchOptimizer& optimizer)
      : storage_(std::move(storage)), settings_(std::move(settings)), optimizer_(optimizer) {}
  Status load();
  Status saveTrial(const Trial& trial);
  Status saveOptimizer();
  Status tell(Trial& trial);
  /// Replays the asks and tells made after the saved optimizer state (see the class comment).
  Status replay(std::uint64_t saved_asks);
  Trial* find(std::uint64_t number);

  std::shared_ptr<Storage> storage_;
  StudySettings settings_;
  SearchOptimizer& optimizer_;
  std::vector<Trial> trials_;
  std::vector<std::uint64_t> restarts_;  ///< numbers of trials to run again
  std::uint64_t tells_ = 0;              ///< tells made, in order; the optimizer state's count
  std::string worker_;                   ///< Trial::worker of the trials it starts
};

/// `trials` as a pruner sees them (values oriented so lower is better): Study::curves().
std::vector<TrialCurve> trialCurves(const std::vector<Trial>& trials, bool maximize);

/// The storage key of trial `number`'s record in study `study`: tune/STUDY/trials/NNNNNNNN.
std::string trialRecordKey(const std::string& study, std::uint64_t number);

/// The study record's text for `settings` (JSON), and its reading.
std::string studySettingsJson(const StudySettings& settings);
Expected<StudySettings> parseStudySettings(const std::string& json);
/// A trial's record text (JSON), and its reading.
std::string trialJson(const Trial& trial);
Expected<Trial> parseTrial(const std::string& json);

}  // namespace aimass::core
