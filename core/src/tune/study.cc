// SPDX-License-Identifier: Apache-2.0
#include "tune/study.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "aimass/byte_io.h"
#include "aimass/util/json_writer.h"

namespace aimass::core {
namespace {

constexpr std::string_view kOptimizerTag = "AIMT1";

std::string studyPrefix(const std::string& name) { return "tune/" + name + "/"; }

double now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

constexpr const char* kStateNames[] = {"running", "complete", "pruned", "failed"};

/// A record's field: Poco's own "Invalid access" says nothing of which one is wrong.
template <typename T>
T field(const Poco::JSON::Object::Ptr& o, const std::string& name) {
  if (!o->has(name) || o->isNull(name)) {
    throw std::runtime_error("the field '" + name + "' is missing");
  }
  try {
    return o->getValue<T>(name);
  } catch (const Poco::Exception&) {
    throw std::runtime_error("the field '" + name + "' has the wrong type");
  }
}

double numberOrNan(const Poco::Dynamic::Var& v) {
  return v.isEmpty() ? std::numeric_limits<double>::quiet_NaN() : v.convert<double>();
}

}  // namespace

std::string trialRecordKey(const std::string& study, std::uint64_t number) {
  char digits[24];
  std::snprintf(digits, sizeof digits, "%08llu", static_cast<unsigned long long>(number));
  return studyPrefix(study) + "trials/" + digits;
}

const char* trialStateName(Trial::State state) { return kStateNames[static_cast<int>(state)]; }

std::string studySettingsJson(const StudySettings& s) {
  JsonWriter json;
  json.beginObject().key("format").value(std::int64_t{1}).key("name").value(s.name);
  json.key("optimizer").value(s.optimizer_type).key("seed").value(s.seed);
  json.key("objective")
      .value(s.objective)
      .key("direction")
      .value(s.maximize ? "maximize" : "minimize");
  json.key("space");
  writeTuneSpace(json, s.dimensions);
  json.endObject();
  return json.str();
}

Expected<StudySettings> parseStudySettings(const std::string& text) {
  StudySettings s;
  Status status = guard("reading a study record", [&]() -> Status {
    Poco::JSON::Parser parser;
    auto o = parser.parse(text).extract<Poco::JSON::Object::Ptr>();
    s.name = field<std::string>(o, "name");
    s.optimizer_type = field<std::string>(o, "optimizer");
    s.seed = field<std::uint64_t>(o, "seed");
    s.objective = field<std::string>(o, "objective");
    s.maximize = field<std::string>(o, "direction") == "maximize";
    std::ostringstream space;
    o->getArray("space")->stringify(space);
    auto dimensions = parseTuneSpaceJson(space.str());
    if (!dimensions.ok()) {
      return dimensions.status();
    }
    s.dimensions = std::move(dimensions).value();
    return Status();
  });
  if (!status.ok()) {
    return dataLoss("the study record is corrupt: " + status.message());
  }
  return s;
}

std::string trialJson(const Trial& t) {
  JsonWriter json;
  json.beginObject().key("number").value(t.number).key("candidate").value(t.candidate);
  json.key("values").beginArray();
  for (double v : t.values) {
    json.value(v);  // NaN (inactive) becomes null
  }
  json.endArray();
  json.key("state").value(trialStateName(t.state));
  json.key("value");
  if (t.value) {
    json.value(*t.value);
  } else {
    json.null();
  }
  json.key("intermediate").beginObject();
  for (const auto& [epoch, v] : t.intermediate) {
    json.key(std::to_string(epoch)).value(v);
  }
  json.endObject();
  json.key("reason").value(t.reason).key("run_id").value(std::int64_t{t.run_id});
  json.key("artifact").value(t.artifact).key("told").value(t.told);
  json.key("tells_at_ask").value(t.tells_at_ask);
  json.key("started").value(t.started).key("ended").value(t.ended);
  json.key("worker").value(t.worker);
  json.endObject();
  return json.str();
}

Expected<Trial> parseTrial(const std::string& text) {
  Trial t;
  Status status = guard("reading a trial record", [&]() -> Status {
    Poco::JSON::Parser parser;
    auto o = parser.parse(text).extract<Poco::JSON::Object::Ptr>();
    t.number = field<std::uint64_t>(o, "number");
    t.candidate = field<std::uint64_t>(o, "candidate");
    auto values = o->getArray("values");
    for (std::size_t i = 0; values && i < values->size(); ++i) {
      t.values.push_back(numberOrNan(values->get(static_cast<unsigned>(i))));
    }
    const std::string state = field<std::string>(o, "state");
    const auto* found = std::find_if(std::begin(kStateNames), std::end(kStateNames),
                                     [&](const char* n) { return state == n; });
    if (found == std::end(kStateNames)) {
      return dataLoss("unknown trial state '" + state + "'");
    }
    t.state = static_cast<Trial::State>(found - std::begin(kStateNames));
    if (!o->isNull("value")) {
      t.value = field<double>(o, "value");
    }
    if (auto intermediate = o->getObject("intermediate")) {
      for (const auto& [epoch, v] : *intermediate) {
        t.intermediate[std::stoull(epoch)] = v.convert<double>();
      }
    }
    t.reason = field<std::string>(o, "reason");
    t.run_id = field<std::int64_t>(o, "run_id");
    t.artifact = field<std::string>(o, "artifact");
    t.told = field<std::uint64_t>(o, "told");
    t.tells_at_ask = field<std::uint64_t>(o, "tells_at_ask");
    t.started = field<double>(o, "started");
    t.ended = field<double>(o, "ended");
    if (o->has("worker")) {  // since trials shared among ranks
      t.worker = field<std::string>(o, "worker");
    }
    return Status();
  });
  if (!status.ok()) {
    return dataLoss(status.message());
  }
  return t;
}

Expected<std::unique_ptr<Study>> Study::open(std::shared_ptr<Storage> storage,
                                             StudySettings settings, SearchOptimizer& optimizer) {
  std::unique_ptr<Study> study(new Study(std::move(storage), std::move(settings), optimizer));
  const SearchSpace space = toSearchSpace(study->settings_.dimensions);
  AIMASS_RETURN_IF_ERROR(optimizer.begin(space, study->settings_.seed, 1));
  AIMASS_RETURN_IF_ERROR(study->load());
  return study;
}

Status Study::load() {
  if (!storage_) {
    return Status();
  }
  const std::string prefix = studyPrefix(settings_.name);
  auto stored = read(*storage_, settings_.name);
  if (!stored.ok() && stored.status().code() == StatusCode::kNotFound) {
    return storage_->put(prefix + "study", studySettingsJson(settings_));
  }
  if (!stored.ok()) {
    return stored.status();
  }
  const StudySettings& existing = stored->first;
  auto differs = [&](const std::string& what, const std::string& was, const std::string& is) {
    return failedPrecondition("study '" + settings_.name + "' in " + storage_->describe() +
                              " was started with " + what + " " + was + ", not " + is +
                              ": its trials would not compare. Give the study another name "
                              "(job.tune's `study`), or put the setting back");
  };
  if (existing.optimizer_type != settings_.optimizer_type) {
    return differs("optimizer", existing.optimizer_type, settings_.optimizer_type);
  }
  if (existing.seed != settings_.seed) {
    return differs("seed", std::to_string(existing.seed), std::to_string(settings_.seed));
  }
  if (existing.objective != settings_.objective || existing.maximize != settings_.maximize) {
    return differs("objective", existing.objective, settings_.objective);
  }
  if (tuneSpaceJson(existing.dimensions) != tuneSpaceJson(settings_.dimensions)) {
    return failedPrecondition("study '" + settings_.name + "' in " + storage_->describe() +
                              " was started with another search space: its trials would not "
                              "compare. Give the study another name (job.tune's `study`), or "
                              "put the space back");
  }
  trials_ = std::move(stored->second);
  std::uint64_t saved_asks = 0;
  auto state = storage_->get(prefix + "optimizer");
  if (state.ok()) {
    ByteReader in(*state);
    if (in.bytes(kOptimizerTag.size()) != kOptimizerTag) {
      return dataLoss(prefix + "optimizer is not an optimizer state record");
    }
    tells_ = in.u64();
    saved_asks = in.u64();
    if (!in.ok()) {
      return dataLoss(prefix + "optimizer is truncated");
    }
    Status loaded =
        optimizer_.loadState(std::string_view(*state).substr(kOptimizerTag.size() + 16));
    if (!loaded.ok()) {
      return Status(loaded.code(), prefix + "optimizer: " + loaded.message());
    }
  } else if (state.status().code() != StatusCode::kNotFound) {
    return state.status();
  }
  return replay(saved_asks);
}

Status Study::replay(std::uint64_t saved_asks) {
  const std::uint64_t saved_tells = tells_;
  std::vector<Trial*> untold;  // finished after the save, in tell order
  for (auto& t : trials_) {
    if (t.state != Trial::State::kRunning && t.told > tells_) {
      untold.push_back(&t);
    }
  }
  std::sort(untold.begin(), untold.end(),
            [](const Trial* a, const Trial* b) { return a->told < b->told; });
  std::size_t next_tell = 0;
  auto tellUpTo = [&](std::uint64_t count) -> Status {
    for (; next_tell < untold.size() && untold[next_tell]->told <= count; ++next_tell) {
      AIMASS_RETURN_IF_ERROR(tell(*untold[next_tell]));
    }
    return Status();
  };
  std::set<std::uint64_t> lost;
  for (auto& t : trials_) {
    if (t.number < saved_asks) {
      continue;
    }
    AIMASS_RETURN_IF_ERROR(tellUpTo(t.tells_at_ask));
    auto asked = optimizer_.ask(1);
    AIMASS_RETURN_IF_ERROR(asked.status());
    const bool same = asked->size() == 1 && (*asked)[0].id == t.candidate &&
                      std::equal(t.values.begin(), t.values.end(), (*asked)[0].values.begin(),
                                 (*asked)[0].values.end(), [](double a, double b) {
                                   return a == b || (std::isnan(a) && std::isnan(b));
                                 });
    if (!same) {
      lost.insert(t.number);
    }
  }
  // The rest, skipping trials the optimizer did not propose again (it cannot be told them).
  for (; next_tell < untold.size(); ++next_tell) {
    if (lost.count(untold[next_tell]->number) == 0) {
      AIMASS_RETURN_IF_ERROR(tell(*untold[next_tell]));
    }
  }
  for (auto& t : trials_) {
    if (t.state != Trial::State::kRunning) {
      continue;
    }
    if (lost.count(t.number) != 0) {
      t.state = Trial::State::kFailed;
      t.reason =
          "lost when the study resumed: " + settings_.optimizer_type + " did not propose it again";
      AIMASS_RETURN_IF_ERROR(saveTrial(t));
    } else {
      restarts_.push_back(t.number);
    }
  }
  if (tells_ != saved_tells || trials_.size() > saved_asks) {
    AIMASS_RETURN_IF_ERROR(saveOptimizer());
  }
  return Status();
}

Status Study::saveTrial(const Trial& trial) {
  return storage_ ? storage_->put(trialRecordKey(settings_.name, trial.number), trialJson(trial))
                  : Status();
}

Status Study::saveOptimizer() {
  if (!storage_) {
    return Status();
  }
  std::string record(kOptimizerTag);
  ByteWriter writer(record);
  writer.u64(tells_);
  writer.u64(trials_.size());
  std::string state;
  AIMASS_RETURN_IF_ERROR(optimizer_.saveState(state));
  record += state;
  return storage_->put(studyPrefix(settings_.name) + "optimizer", record);
}

Status Study::tell(Trial& trial) {
  Evaluation e;
  e.id = trial.candidate;
  const bool has_value =
      trial.value && std::isfinite(*trial.value) && trial.state != Trial::State::kFailed;
  e.failed = !has_value;
  e.value = has_value ? (settings_.maximize ? -*trial.value : *trial.value) : 0;
  Status told = optimizer_.tell(std::span<const Evaluation>(&e, 1));
  if (!told.ok()) {
    return Status(told.code(), "telling " + settings_.optimizer_type + " trial " +
                                   std::to_string(trial.number) + "'s result: " + told.message());
  }
  tells_ = std::max(tells_, trial.told);
  return Status();
}

const Trial* Study::trial(std::uint64_t number) const {
  for (const auto& t : trials_) {
    if (t.number == number) {
      return &t;
    }
  }
  return nullptr;
}

Trial* Study::find(std::uint64_t number) {
  return const_cast<Trial*>(std::as_const(*this).trial(number));
}

Expected<std::optional<Trial>> Study::startTrial() {
  if (!restarts_.empty()) {
    const std::uint64_t number = restarts_.front();
    auto t = restartTrial(number);
    AIMASS_RETURN_IF_ERROR(t.status());
    return std::optional<Trial>(std::move(t).value());
  }
  return askTrial();
}

Expected<Trial> Study::restartTrial(std::uint64_t number) {
  Trial* t = find(number);
  if (t == nullptr || t->state != Trial::State::kRunning) {
    return failedPrecondition("trial " + std::to_string(number) + " is not running");
  }
  std::erase(restarts_, number);
  t->intermediate.clear();
  t->started = now();
  t->worker = worker_;
  AIMASS_RETURN_IF_ERROR(saveTrial(*t));
  return *t;
}

Expected<std::optional<Trial>> Study::askTrial() {
  auto asked = optimizer_.ask(1);
  if (!asked.ok()) {
    return asked.status();
  }
  if (asked->empty()) {
    return std::optional<Trial>();
  }
  Trial t;
  t.tells_at_ask = tells_;
  t.number = trials_.size();
  t.candidate = (*asked)[0].id;
  t.values = (*asked)[0].values;
  t.started = now();
  t.worker = worker_;
  AIMASS_RETURN_IF_ERROR(saveTrial(t));
  trials_.push_back(t);
  return std::optional<Trial>(std::move(t));
}

Status Study::report(std::uint64_t number, std::uint64_t epoch, double value) {
  Trial* t = find(number);
  if (t == nullptr || t->state != Trial::State::kRunning) {
    return failedPrecondition("trial " + std::to_string(number) + " is not running");
  }
  t->intermediate[epoch] = value;
  return saveTrial(*t);
}

Status Study::annotate(std::uint64_t number, std::int64_t run_id, const std::string& artifact) {
  Trial* t = find(number);
  if (t == nullptr) {
    return notFound("trial " + std::to_string(number));
  }
  t->run_id = run_id;
  t->artifact = artifact;
  return saveTrial(*t);
}

Status Study::finish(std::uint64_t number, const Outcome& outcome) {
  Trial* t = find(number);
  if (t == nullptr || t->state != Trial::State::kRunning) {
    return failedPrecondition("trial " + std::to_string(number) + " is not running");
  }
  t->state = outcome.state;
  t->value = outcome.value;
  t->reason = outcome.reason;
  if (outcome.run_id != 0) {
    t->run_id = outcome.run_id;
  }
  if (!outcome.artifact.empty()) {
    t->artifact = outcome.artifact;
  }
  t->ended = now();
  std::uint64_t last = tells_;
  for (const auto& other : trials_) {
    last = std::max(last, other.told);
  }
  t->told = last + 1;
  AIMASS_RETURN_IF_ERROR(saveTrial(*t));
  AIMASS_RETURN_IF_ERROR(tell(*t));
  return saveOptimizer();
}

std::size_t Study::countIn(Trial::State state) const {
  return static_cast<std::size_t>(std::count_if(trials_.begin(), trials_.end(),
                                                [&](const Trial& t) { return t.state == state; }));
}

const Trial* Study::best() const {
  const Trial* best = nullptr;
  for (auto state : {Trial::State::kComplete, Trial::State::kPruned}) {
    for (const auto& t : trials_) {
      if (t.state != state || !t.value || !std::isfinite(*t.value)) {
        continue;
      }
      if (best == nullptr ||
          (settings_.maximize ? *t.value > *best->value : *t.value < *best->value)) {
        best = &t;
      }
    }
    if (best != nullptr) {
      break;
    }
  }
  return best;
}

std::vector<TrialCurve> Study::curves() const { return trialCurves(trials_, settings_.maximize); }

std::vector<TrialCurve> trialCurves(const std::vector<Trial>& trials, bool maximize) {
  std::vector<TrialCurve> curves;
  curves.reserve(trials.size());
  for (const auto& t : trials) {
    TrialCurve c;
    c.number = t.number;
    c.state = t.state;
    for (const auto& [epoch, v] : t.intermediate) {
      if (std::isfinite(v)) {
        c.values[epoch] = maximize ? -v : v;
      }
    }
    curves.push_back(std::move(c));
  }
  return curves;
}

Expected<std::pair<StudySettings, std::vector<Trial>>> Study::read(const Storage& storage,
                                                                   const std::string& name) {
  const std::string prefix = studyPrefix(name);
  auto stored = storage.get(prefix + "study");
  if (!stored.ok()) {
    if (stored.status().code() == StatusCode::kNotFound) {
      return notFound("no study '" + name + "' in " + storage.describe());
    }
    return stored.status();
  }
  auto settings = parseStudySettings(*stored);
  if (!settings.ok()) {
    return dataLoss(prefix + "study: " + settings.status().message());
  }
  auto keys = storage.list(prefix + "trials/");
  if (!keys.ok()) {
    return keys.status();
  }
  std::vector<Trial> trials;
  for (const auto& key : *keys) {
    auto text = storage.get(key);
    if (!text.ok()) {
      return text.status();
    }
    auto trial = parseTrial(*text);
    if (!trial.ok()) {
      return dataLoss(key + ": " + trial.status().message());
    }
    trials.push_back(std::move(trial).value());
  }
  std::sort(trials.begin(), trials.end(),
            [](const Trial& a, const Trial& b) { return a.number < b.number; });
  return std::make_pair(std::move(settings).value(), std::move(trials));
}

Expected<std::vector<std::string>> Study::list(const Storage& storage) {
  auto keys = storage.list("tune/");
  if (!keys.ok()) {
    return keys.status();
  }
  std::vector<std::string> names;
  for (const auto& key : *keys) {
    if (key.size() > 11 && key.ends_with("/study")) {
      names.push_back(key.substr(5, key.size() - 11));
    }
  }
  return names;
}

}  // namespace aimass::core
