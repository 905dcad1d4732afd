// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "aimass/core/registry.h"

namespace aimass::core {

/// What registry_crash_worker told the parent it had written and the registry had acknowledged
/// (returned success for), kept across kills so that every later kill checks it is still there.
///
/// The worker's lines, one per change:
///   begin <change ...>        before a change (register M, promote M A V, rollback M A,
///                             delete M V, tag M V STAGE, collect): the change in flight
///   version M V ARTIFACT_KEY  registerVersion returned version V of M, naming ARTIFACT_KEY
///   alias M A V               promote or rollback returned: M@A points at V
///   deleted M V               deleteVersion returned: M/V (and, forced, aliases at it) is gone
///   tag M V STAGE             setTags returned: M/V has the tag stage=STAGE
/// A "begin" with no acknowledgement before the next "begin" was refused as expected (alias
/// without history, delete of an aliased version) and changed nothing; the last one when the
/// worker was killed is the change in flight, which may or may not have happened.
///
/// Threading: one thread. Failures are reported with gtest's ADD_FAILURE, naming `where`.
class AcknowledgedWrites {
 public:
  /// Applies one line; false (after ADD_FAILURE) when it is not one of the lines above.
  bool apply(const std::string& line) {
    std::istringstream in(line);
    std::string kind, model, second;
    in >> kind >> model;
    if (kind == "ready") return true;
    if (kind == "begin") {
      in_flight_ = {model};  // the change's kind, then its arguments
      for (std::string word; in >> word;) in_flight_.push_back(word);
      return true;
    }
    std::int64_t version = 0;
    bool parsed = true;
    if (kind == "version") {
      parsed = static_cast<bool>(in >> version >> second);
      versions_[{model, version}] = second;
      ++registrations_;
    } else if (kind == "alias") {
      parsed = static_cast<bool>(in >> second >> version);
      aliases_[{model, second}] = version;
      ++alias_moves_;
    } else if (kind == "deleted") {
      parsed = static_cast<bool>(in >> version);
      forget(model, version);
    } else if (kind == "tag") {
      parsed = static_cast<bool>(in >> version >> second);
      stages_[{model, version}] = second;
      ++tags_;
    } else {
      parsed = false;
    }
    if (!parsed) {
      ADD_FAILURE() << "registry_crash_worker sent a line the test does not know: '" << line << "'";
      return false;
    }
    in_flight_.clear();
    return true;
  }

  /// Checks that the store behind `registry` still holds every acknowledged write: each
  /// version with its artifact key, each alias's target and each version's stage tag. Only the
  /// change in flight may have changed a fact it touches (to its own new value). Then adopts
  /// what the store holds for those facts, so later rounds check them too. Returns the number
  /// of facts checked.
  std::size_t checkAndSettle(const ModelRegistry& registry, const std::string& where) {
    std::size_t checked = 0;
    for (auto it = versions_.begin(); it != versions_.end(); ++checked) {
      const auto& [model, version] = it->first;
      auto found = registry.getVersion(model, version);
      if (!found.ok()) {
        // Gone: allowed only to a delete in flight; either way the store no longer has it.
        if (!deleting(model, version)) {
          ADD_FAILURE() << where << ": acknowledged version " << model << "/" << version
                        << " is lost: " << found.status().toString();
        }
        it = forgetVersion(it);
        continue;
      }
      EXPECT_EQ(found->artifact_key, it->second) << where << ": " << model << "/" << version;
      checkStage(it->first, *found, where);
      ++it;
    }
    for (auto it = aliases_.begin(); it != aliases_.end(); ++checked) {
      const auto& [model, alias] = it->first;
      auto found = registry.getAlias(model, alias);
      // A rollback in flight may have moved the alias to any earlier target, a promote in
      // flight to its own.
      const bool moving = in_flight_.size() >= 3 && in_flight_[1] == model &&
                          in_flight_[2] == alias &&
                          (in_flight_[0] == "rollback" ||
                           (in_flight_[0] == "promote" && in_flight_.size() == 4 && found.ok() &&
                            std::to_string(found->version) == in_flight_[3]));
      if (!found.ok()) {
        if (!deleting(model, it->second)) {
          ADD_FAILURE() << where << ": acknowledged alias " << model << "@" << alias << " -> "
                        << it->second << " is lost: " << found.status().toString();
        }
        it = aliases_.erase(it);
        continue;
      }
      EXPECT_TRUE(found->version == it->second || moving)
          << where << ": " << model << "@" << alias << " points at " << found->version
          << ", acknowledged " << it->second;
      it->second = found->version;
      ++it;
    }
    // An alias the change in flight created is now in the store: later rounds keep it.
    if (in_flight_.size() >= 3 && (in_flight_[0] == "promote" || in_flight_[0] == "rollback")) {
      auto found = registry.getAlias(in_flight_[1], in_flight_[2]);
      if (found.ok()) aliases_[{in_flight_[1], in_flight_[2]}] = found->version;
    }
    in_flight_.clear();
    checks_ += checked;
    return checked;
  }

  int registrations() const { return registrations_; }
  int aliasMoves() const { return alias_moves_; }
  int tags() const { return tags_; }
  /// Facts checked over every checkAndSettle() so far.
  std::size_t checks() const { return checks_; }

 private:
  using VersionKey = std::pair<std::string, std::int64_t>;

  /// Checks the acknowledged stage tag of one version the store holds, then adopts it.
  void checkStage(const VersionKey& key, const ModelVersion& found, const std::string& where) {
    const std::string held = found.tags.count("stage") ? found.tags.at("stage") : "";
    const bool tagging = in_flight_.size() == 4 && in_flight_[0] == "tag" &&
                         touches(key.first, key.second) && held == in_flight_[3];
    auto stage = stages_.find(key);
    if (stage == stages_.end()) {
      if (tagging) stages_[key] = held;  // the tag in flight landed: keep it from now on
      return;
    }
    EXPECT_TRUE(held == stage->second || tagging)
        << where << ": " << key.first << "/" << key.second << " has stage '" << held
        << "', acknowledged '" << stage->second << "'";
    stage->second = held;
  }

  /// True when the change in flight is about `model`/`version`.
  bool touches(const std::string& model, std::int64_t version) const {
    return in_flight_.size() >= 3 && in_flight_[1] == model &&
           in_flight_[2] == std::to_string(version);
  }
  bool deleting(const std::string& model, std::int64_t version) const {
    return !in_flight_.empty() && in_flight_[0] == "delete" && touches(model, version);
  }

  std::map<VersionKey, std::string>::iterator forgetVersion(
      std::map<VersionKey, std::string>::iterator it) {
    stages_.erase(it->first);
    return versions_.erase(it);
  }

  /// A deleted version: its record, tag and (a forced delete removes them) aliases at it.
  void forget(const std::string& model, std::int64_t version) {
    versions_.erase({model, version});
    stages_.erase({model, version});
    for (auto it = aliases_.begin(); it != aliases_.end();) {
      it = it->first.first == model && it->second == version ? aliases_.erase(it) : std::next(it);
    }
  }

  std::map<VersionKey, std::string> versions_;                           // -> artifact key
  std::map<std::pair<std::string, std::string>, std::int64_t> aliases_;  // -> version
  std::map<VersionKey, std::string> stages_;                             // -> the "stage" tag
  std::vector<std::string> in_flight_;  // the change in flight, its kind first; empty: none
  int registrations_ = 0;
  int alias_moves_ = 0;
  int tags_ = 0;
  std::size_t checks_ = 0;
};

}  // namespace aimass::core
