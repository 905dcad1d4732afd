// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/registry.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <set>

#include "aimass/core/model_events.h"
#include "aimass/core/sha256.h"
#include "aimass/util/json_writer.h"
#include "aimass/util/number_text.h"
#include "record_text.h"

namespace aimass::core {
namespace {

using record::escape;
using record::parseInt;

constexpr std::string_view kModelsPrefix = "registry/models/";
constexpr std::string_view kVersionHeader = "aimass-model-version 1";
constexpr std::string_view kAliasHeader = "aimass-model-alias 1";

std::string modelKey(std::string_view model) {
  return std::string(kModelsPrefix) + std::string(model) + "/";
}

std::string versionKey(std::string_view model, std::int64_t version) {
  return modelKey(model) + "versions/" + record::versionSegment(version);
}

std::string aliasKey(std::string_view model, std::string_view alias) {
  return modelKey(model) + "aliases/" + std::string(alias);
}

std::string encodeAlias(const ModelAlias& alias) {
  std::string out =
      std::string(kAliasHeader) + "\nversion " + std::to_string(alias.version) + "\nhistory";
  for (std::int64_t v : alias.history) {
    out += " " + std::to_string(v);
  }
  return out + "\n";
}

Expected<ModelAlias> decodeAlias(std::string_view model, std::string_view name,
                                 std::string_view text) {
  auto bad = [&] {
    return dataLoss("alias record '" + std::string(name) + "' of model '" + std::string(model) +
                    "' is malformed");
  };
  auto lines = record::parseRecord(text, kAliasHeader);
  if (!lines.ok()) {
    return bad();
  }
  ModelAlias alias{std::string(model), std::string(name), 0, {}};
  for (const auto& fields : *lines) {
    if (fields[0] == "version" && fields.size() == 2) {
      auto v = parseInt(fields[1]);
      if (!v) return bad();
      alias.version = *v;
    } else if (fields[0] == "history") {
      for (std::size_t i = 1; i < fields.size(); ++i) {
        auto v = parseInt(fields[i]);
        if (!v) return bad();
        alias.history.push_back(*v);
      }
    } else {
      return bad();
    }
  }
  if (alias.version <= 0) {
    return bad();
  }
  return alias;
}

/// Parses "3" as a version number (positive).
std::optional<std::int64_t> parseVersion(std::string_view text) {
  auto v = parseInt(text);
  if (!v || *v <= 0 || text.front() == '+' || text.front() == '0') {
    return std::nullopt;
  }
  return v;
}

}  // namespace

std::string encodeModelVersion(const ModelVersion& v) {
  std::string out(kVersionHeader);
  out += "\nmodel " + escape(v.model);
  out += "\nversion " + std::to_string(v.version);
  out += "\nartifact " + escape(v.artifact_key);
  if (!v.profile_key.empty()) {
    out += "\nprofile " + escape(v.profile_key);
  }
  out += "\nsha256 " + escape(v.sha256);
  out += "\nnode " + escape(v.node);
  out += "\ntype " + escape(v.node_type);
  out += "\ndataset " + escape(v.dataset_fingerprint);
  if (!v.dataset_name.empty()) {
    out += "\ndataset_name " + escape(v.dataset_name);
    out += "\ndataset_version " + std::to_string(v.dataset_version);
    out += "\ndataset_sha256 " + escape(v.dataset_sha256);
  }
  if (!v.code_version.empty()) {
    out += "\ncode " + escape(v.code_version);
  }
  if (!v.created_by.empty()) {
    out += "\ncreated_by " + escape(v.created_by);
  }
  out += "\ncreated_ms " + std::to_string(v.created_unix_ms);
  if (!v.parent.empty()) {
    out += "\nparent " + escape(v.parent);
  }
  for (const auto& [name, value] : v.metrics) {
    out += "\nmetric " + escape(name) + " " + formatNumber(value);
  }
  for (const auto& [name, value] : v.tags) {
    out += "\ntag " + escape(name) + " " + escape(value);
  }
  return out + "\n";
}

Expected<ModelVersion> decodeModelVersion(std::string_view text) {
  auto bad = [](std::string why) { return dataLoss("malformed model version record: " + why); };
  auto lines = record::parseRecord(text, kVersionHeader);
  if (!lines.ok()) {
    return bad(lines.status().message());
  }
  ModelVersion v;
  for (const auto& f : *lines) {
    const std::string& field = f[0];
    if (f.size() == 2 && field == "model") {
      v.model = f[1];
    } else if (f.size() == 2 && field == "version") {
      auto n = parseInt(f[1]);
      if (!n) return bad("version '" + f[1] + "'");
      v.version = *n;
    } else if (f.size() == 2 && field == "artifact") {
      v.artifact_key = f[1];
    } else if (f.size() == 2 && field == "profile") {
      v.profile_key = f[1];
    } else if (f.size() == 2 && field == "sha256") {
      v.sha256 = f[1];
    } else if (f.size() == 2 && field == "node") {
      v.node = f[1];
    } else if (f.size() == 2 && field == "type") {
      v.node_type = f[1];
    } else if (f.size() == 2 && field == "dataset") {
      v.dataset_fingerprint = f[1];
    } else if (f.size() == 2 && field == "dataset_name") {
      v.dataset_name = f[1];
    } else if (f.size() == 2 && field == "dataset_version") {
      auto n = parseInt(f[1]);
      if (!n || *n <= 0) return bad("dataset_version '" + f[1] + "'");
      v.dataset_version = *n;
    } else if (f.size() == 2 && field == "dataset_sha256") {
      v.dataset_sha256 = f[1];
    } else if (f.size() == 2 && field == "code") {
      v.code_version = f[1];
    } else if (f.size() == 2 && field == "created_by") {
      v.created_by = f[1];
    } else if (f.size() == 2 && field == "created_ms") {
      auto n = parseInt(f[1]);
      if (!n) return bad("created_ms '" + f[1] + "'");
      v.created_unix_ms = *n;
    } else if (f.size() == 2 && field == "parent") {
      v.parent = f[1];
    } else if (f.size() == 3 && field == "metric") {
      double value = 0;
      auto parsed = std::from_chars(f[2].data(), f[2].data() + f[2].size(), value);
      if (parsed.ec != std::errc() || parsed.ptr != f[2].data() + f[2].size()) {
        return bad("metric value '" + f[2] + "'");
      }
      v.metrics[f[1]] = value;
    } else if (f.size() == 3 && field == "tag") {
      v.tags[f[1]] = f[2];
    } else {
      return bad("unexpected line '" + field + "'");
    }
  }
  if (v.model.empty() || v.version <= 0) {
    return bad("no model name or version");
  }
  return v;
}

Status ModelRegistry::validateName(std::string_view name, std::string_view what) {
  const std::string shown = "'" + std::string(name) + "'";
  if (name.empty() || name.size() > 128) {
    return invalidArgument(std::string(what) + " name " + shown + " must have 1 to 128 characters");
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      return invalidArgument(std::string(what) + " name " + shown +
                             " may only use letters, digits, '.', '_' and '-'");
    }
  }
  if (name.front() == '.' || name.front() == '-') {
    return invalidArgument(std::string(what) + " name " + shown +
                           " must not start with '.' or '-'");
  }
  if (what == "alias" &&
      std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return invalidArgument("alias name " + shown +
                           " must not be a number (it would read as a "
                           "version)");
  }
  return Status();
}

Expected<std::string> ModelRegistry::hashArtifact(std::string_view key) const {
  AIMASS_ASSIGN_OR_RETURN(auto reader, storage_.openRead(key));
  Sha256 hash;
  std::string buffer(1 << 16, '\0');
  for (;;) {
    AIMASS_ASSIGN_OR_RETURN(std::size_t n, reader->read(buffer.data(), buffer.size()));
    if (n == 0) {
      break;
    }
    hash.update(std::string_view(buffer.data(), n));
  }
  return hash.hexDigest();
}

Expected<ModelVersion> ModelRegistry::registerVersion(std::string_view model,
                                                      const NewModelVersion& info) {
  AIMASS_RETURN_IF_ERROR(validateName(model, "model"));
  auto hash = hashArtifact(info.artifact_key);
  if (!hash.ok()) {
    return hash.status().withContext("registering model '" + std::string(model) + "': artifact '" +
                                     info.artifact_key + "'");
  }
  ModelVersion v;
  v.model = std::string(model);
  v.artifact_key = info.artifact_key;
  v.profile_key = info.profile_key;
  v.sha256 = *hash;
  v.node = info.node;
  v.node_type = info.node_type;
  v.dataset_fingerprint = info.dataset_fingerprint;
  if (!info.dataset_name.empty()) {
    AIMASS_RETURN_IF_ERROR(validateName(info.dataset_name, "dataset"));
    if (info.dataset_version <= 0) {
      return invalidArgument("registering model '" + std::string(model) + "': dataset '" +
                             info.dataset_name + "' needs a version number");
    }
    v.dataset_name = info.dataset_name;
    v.dataset_version = info.dataset_version;
    v.dataset_sha256 = info.dataset_sha256;
  }
  v.code_version = info.code_version.empty() ? record::codeVersion() : info.code_version;
  v.created_by = record::currentUser();
  v.metrics = info.metrics;
  v.tags = info.tags;
  v.parent = info.parent;
  v.created_unix_ms = record::nowUnixMs();
  // Allocate the number with compare-and-set on the counter: concurrent registrations (threads
  // or processes) each win a distinct number.
  AIMASS_ASSIGN_OR_RETURN(v.version,
                          record::takeNextNumber(storage_, modelKey(model) + "next-version"));
  auto written =
      storage_.compareAndSet(versionKey(model, v.version), std::nullopt, encodeModelVersion(v));
  if (!written.ok()) {
    return written.status();
  }
  if (!*written) {
    return internalError("version " + std::to_string(v.version) + " of model '" +
                         std::string(model) + "' already has a record");
  }
  JsonWriter details;
  details.beginObject().key("artifact").value(v.artifact_key).key("sha256").value(v.sha256);
  details.key("node").value(v.node).key("type").value(v.node_type);
  if (!v.parent.empty()) {
    details.key("parent").value(v.parent);
  }
  details.key("metrics").beginObject();
  for (const auto& [name, value] : v.metrics) {
    details.key(name).value(value);
  }
  details.endObject().endObject();
  AIMASS_RETURN_IF_ERROR(recordEvent(
      model, event_kind::kRegistered, v.version, "",
      "version " + std::to_string(v.version) + " registered by node '" + v.node + "' (" +
          v.node_type + ")",
      details.str()));
  return v;
}

Expected<std::vector<std::string>> ModelRegistry::listModels() const {
  AIMASS_ASSIGN_OR_RETURN(auto keys, storage_.list(kModelsPrefix));
  std::set<std::string> names;
  for (const auto& key : keys) {
    std::string_view rest = std::string_view(key).substr(kModelsPrefix.size());
    auto slash = rest.find('/');
    if (slash != std::string_view::npos && rest.substr(slash + 1) != "next-version") {
      names.emplace(rest.substr(0, slash));
    }
  }
  return std::vector<std::string>(names.begin(), names.end());
}

Expected<std::vector<ModelVersion>> ModelRegistry::listVersions(std::string_view model) const {
  AIMASS_RETURN_IF_ERROR(validateName(model, "model"));
  const std::string prefix = modelKey(model) + "versions/";
  AIMASS_ASSIGN_OR_RETURN(auto keys, storage_.list(prefix));
  std::vector<ModelVersion> out;
  for (const auto& key : keys) {
    auto text = storage_.get(key);
    if (!text.ok()) {
      if (text.status().code() == StatusCode::kNotFound) {
        continue;  // deleted since the listing
      }
      return text.status();
    }
    auto version = decodeModelVersion(*text);
    if (!version.ok()) {
      return version.status().withContext(key);
    }
    out.push_back(std::move(*version));
  }
  if (out.empty()) {
    auto aliases = storage_.list(modelKey(model) + "aliases/");
    if (!aliases.ok() || aliases->empty()) {
      return notFound("model '" + std::string(model) + "' is not registered in " +
                      storage_.describe());
    }
  }
  return out;
}

Expected<ModelVersion> ModelRegistry::getVersion(std::string_view model,
                                                 std::int64_t version) const {
  AIMASS_RETURN_IF_ERROR(validateName(model, "model"));
  auto text = storage_.get(versionKey(model, version));
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) {
      return notFound("model '" + std::string(model) + "' has no version " +
                      std::to_string(version));
    }
    return text.status();
  }
  auto decoded = decodeModelVersion(*text);
  if (!decoded.ok()) {
    return decoded.status().withContext(versionKey(model, version));
  }
  return decoded;
}

Expected<ModelVersion> ModelRegistry::resolve(std::string_view reference) const {
  if (auto at = reference.find('@'); at != std::string_view::npos) {
    AIMASS_ASSIGN_OR_RETURN(auto alias,
                            getAlias(reference.substr(0, at), reference.substr(at + 1)));
    return getVersion(alias.model, alias.version);
  }
  if (auto slash = reference.find('/'); slash != std::string_view::npos) {
    auto version = parseVersion(reference.substr(slash + 1));
    if (!version) {
      return invalidArgument("'" + std::string(reference) +
                             "' does not name a version: use NAME, NAME/VERSION or NAME@ALIAS");
    }
    return getVersion(reference.substr(0, slash), *version);
  }
  AIMASS_ASSIGN_OR_RETURN(auto versions, listVersions(reference));
  if (versions.empty()) {
    return notFound("model '" + std::string(reference) + "' has no versions");
  }
  return versions.back();
}

Expected<std::vector<ModelAlias>> ModelRegistry::listAliases(std::string_view model) const {
  AIMASS_RETURN_IF_ERROR(validateName(model, "model"));
  const std::string prefix = modelKey(model) + "aliases/";
  AIMASS_ASSIGN_OR_RETURN(auto keys, storage_.list(prefix));
  std::vector<ModelAlias> out;
  for (const auto& key : keys) {
    auto alias = getAlias(model, std::string_view(key).substr(prefix.size()));
    if (alias.ok()) {
      out.push_back(std::move(*alias));
    } else if (alias.status().code() != StatusCode::kNotFound) {
      return alias.status();
    }
  }
  return out;
}

Expected<ModelAlias> ModelRegistry::getAlias(std::string_view model, std::string_view alias) const {
  AIMASS_RETURN_IF_ERROR(validateName(model, "model"));
  AIMASS_RETURN_IF_ERROR(validateName(alias, "alias"));
  auto text = storage_.get(aliasKey(model, alias));
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) {
      return notFound("model '" + std::string(model) + "' has no alias '" + std::string(alias) +
                      "'");
    }
    return text.status();
  }
  return decodeAlias(model, alias, *text);
}

Expected<ModelAlias> ModelRegistry::promote(std::string_view model, std::string_view alias,
                                            std::int64_t version) {
  AIMASS_RETURN_IF_ERROR(validateName(alias, "alias"));
  AIMASS_ASSIGN_OR_RETURN(auto target, getVersion(model, version));
  (void)target;
  const std::string key = aliasKey(model, alias);
  for (;;) {
    auto current = storage_.get(key);
    if (!current.ok() && current.status().code() != StatusCode::kNotFound) {
      return current.status();
    }
    ModelAlias next{std::string(model), std::string(alias), version, {}};
    std::int64_t from = 0;  // the previous target; 0: the alias is new
    if (current.ok()) {
      AIMASS_ASSIGN_OR_RETURN(auto old, decodeAlias(model, alias, *current));
      from = old.version;
      next.history = std::move(old.history);
      if (old.version != version) {
        next.history.push_back(old.version);
      }
    }
    if (from == version) {
      return next;  // already points there: nothing changes, nothing to record
    }
    auto set = current.ok()
                   ? storage_.compareAndSet(key, std::string_view(*current), encodeAlias(next))
                   : storage_.compareAndSet(key, std::nullopt, encodeAlias(next));
    if (!set.ok()) {
      return set.status();
    }
    if (*set) {
      AIMASS_RETURN_IF_ERROR(recordAliasMove(next, event_kind::kAliasMoved, from));
      return next;
    }
  }
}

Expected<ModelAlias> ModelRegistry::rollback(std::string_view model, std::string_view alias) {
  const std::string key = aliasKey(model, alias);
  for (;;) {
    AIMASS_ASSIGN_OR_RETURN(auto old, getAlias(model, alias));
    const std::string old_text = encodeAlias(old);
    if (old.history.empty()) {
      return failedPrecondition("alias '" + std::string(alias) + "' of model '" +
                                std::string(model) + "' has no previous version to roll back to");
    }
    ModelAlias next = old;
    next.version = next.history.back();
    next.history.pop_back();
    auto exists = getVersion(model, next.version);
    if (!exists.ok()) {
      return exists.status().withContext("rolling back alias '" + std::string(alias) + "'");
    }
    auto set = storage_.compareAndSet(key, std::string_view(old_text), encodeAlias(next));
    if (!set.ok()) {
      return set.status();
    }
    if (*set) {
      AIMASS_RETURN_IF_ERROR(recordAliasMove(next, event_kind::kAliasRolledBack, old.version));
      return next;
    }
  }
}

Status ModelRegistry::deleteVersion(std::string_view model, std::int64_t version, bool force) {
  AIMASS_ASSIGN_OR_RETURN(auto record, getVersion(model, version));
  AIMASS_ASSIGN_OR_RETURN(auto aliases, listAliases(model));
  std::vector<std::string> pointing;
  for (const auto& alias : aliases) {
    if (alias.version == version) {
      pointing.push_back(alias.alias);
    }
  }
  if (!pointing.empty() && !force) {
    std::string names;
    for (const auto& name : pointing) {
      names += (names.empty() ? "'" : ", '") + name + "'";
    }
    return failedPrecondition("version " + std::to_string(version) + " of model '" +
                              std::string(model) + "' is the target of alias " + names +
                              "; promote another version first or force the delete");
  }
  for (const auto& name : pointing) {
    Status removed = storage_.remove(aliasKey(model, name));
    if (!removed.ok() && removed.code() != StatusCode::kNotFound) {
      return removed;
    }
  }
  // The record goes first: a crash in between leaves an unreferenced artifact, never a record
  // whose artifact is gone.
  AIMASS_RETURN_IF_ERROR(storage_.remove(versionKey(model, version)));
  Status artifact = storage_.remove(record.artifact_key);
  if (!artifact.ok() && artifact.code() != StatusCode::kNotFound) {
    return artifact.withContext("removing the artifact of version " + std::to_string(version));
  }
  if (!record.profile_key.empty()) {
    Status profile = storage_.remove(record.profile_key);
    if (!profile.ok() && profile.code() != StatusCode::kNotFound) {
      return profile.withContext("removing the data profile of version " + std::to_string(version));
    }
  }
  JsonWriter details;
  details.beginObject().key("artifact").value(record.artifact_key).key("aliases").beginArray();
  for (const auto& name : pointing) {
    details.value(name);
  }
  details.endArray().endObject();
  std::string message = "version " + std::to_string(version) + " deleted";
  if (!pointing.empty()) {
    message += " with its alias" + std::string(pointing.size() > 1 ? "es" : "");
    for (std::size_t i = 0; i < pointing.size(); ++i) {
      message += (i == 0 ? " '" : ", '") + pointing[i] + "'";
    }
  }
  return recordEvent(model, event_kind::kDeleted, version, "", message, details.str());
}

Status ModelRegistry::recordEvent(std::string_view model, std::string_view kind,
                                  std::int64_t version, std::string_view alias,
                                  std::string message, std::string details) {
  ModelEvent event;
  event.model = model;
  event.kind = kind;
  event.version = version;
  event.alias = alias;
  event.message = std::move(message);
  event.details = std::move(details);
  event.actor = actor_;  // empty: appendModelEvent() names the process's user
  auto appended = appendModelEvent(storage_, std::move(event));
  if (!appended.ok()) {
    return appended.status().withContext("model '" + std::string(model) + "': " +
                                         std::string(kind) +
                                         " done, but its event could not be recorded");
  }
  return Status();
}

Status ModelRegistry::recordAliasMove(const ModelAlias& moved, std::string_view kind,
                                      std::int64_t from) {
  JsonWriter details;
  details.beginObject().key("from");
  if (from == 0) {
    details.null();
  } else {
    details.value(from);
  }
  details.key("to").value(moved.version).endObject();
  const std::string verb =
      kind == event_kind::kAliasRolledBack ? "rolled back" : (from == 0 ? "set" : "moved");
  std::string message = "alias '" + moved.alias + "' " + verb;
  if (from != 0) {
    message += " from version " + std::to_string(from);
  }
  message += " to version " + std::to_string(moved.version);
  return recordEvent(moved.model, kind, moved.version, moved.alias, std::move(message),
                     details.str());
}

Expected<ModelVersion> ModelRegistry::setTags(std::string_view model, std::int64_t version,
                                              const std::map<std::string, std::string>& set,
                                              const std::vector<std::string>& remove) {
  for (const auto& [key, value] : set) {
    if (key.empty()) {
      return invalidArgument("a tag needs a name: KEY=VALUE with a non-empty KEY");
    }
  }
  for (const auto& key : remove) {
    if (key.empty()) {
      return invalidArgument("a tag to remove needs a name");
    }
    if (set.count(key) != 0) {
      return invalidArgument("tag '" + key + "' is both set and removed");
    }
  }
  AIMASS_RETURN_IF_ERROR(validateName(model, "model"));
  const std::string key = versionKey(model, version);
  for (;;) {
    auto stored = storage_.get(key);
    if (!stored.ok()) {
      if (stored.status().code() == StatusCode::kNotFound) {
        return notFound("model '" + std::string(model) + "' has no version " +
                        std::to_string(version));
      }
      return stored.status();
    }
    auto current = decodeModelVersion(*stored);
    if (!current.ok()) {
      return current.status().withContext(key);
    }
    for (const auto& name : remove) {
      if (current->tags.erase(name) == 0) {
        return notFound(std::string(model) + "/" + std::to_string(version) + " has no tag '" +
                        name + "'");
      }
    }
    for (const auto& [name, value] : set) {
      current->tags[name] = value;
    }
    // Compare-and-set against the text read: a concurrent change (another tag, a delete) makes
    // this round start again instead of being overwritten.
    AIMASS_ASSIGN_OR_RETURN(bool written, storage_.compareAndSet(key, std::string_view(*stored),
                                                                 encodeModelVersion(*current)));
    if (written) {
      return std::move(*current);
    }
  }
}

Expected<GarbageReport> ModelRegistry::collectGarbage(bool dry_run, std::int64_t min_age_ms) {
  // List the artifacts first, then read the records, so an artifact registered in between is
  // seen as referenced. One whose registration is still running when the records are read
  // looks orphaned; the minimum age keeps it.
  AIMASS_ASSIGN_OR_RETURN(auto keys, storage_.list(kModelArtifactsPrefix));
  std::set<std::string> referenced;
  AIMASS_ASSIGN_OR_RETURN(auto models, listModels());
  for (const auto& model : models) {
    auto versions = listVersions(model);
    if (!versions.ok()) {
      if (versions.status().code() == StatusCode::kNotFound) {
        continue;  // deleted since the listing
      }
      return versions.status();
    }
    for (const auto& v : *versions) {
      referenced.insert(v.artifact_key);
      if (!v.profile_key.empty()) {
        referenced.insert(v.profile_key);
      }
    }
  }
  GarbageReport report;
  const std::int64_t now_ns = record::nowUnixMs() * 1000000;
  for (const auto& key : keys) {
    // models/<model>/artifacts/<name>, exactly.
    std::string_view rest = std::string_view(key).substr(kModelArtifactsPrefix.size());
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos || !rest.substr(slash + 1).starts_with("artifacts/")) {
      continue;
    }
    const std::string_view name = rest.substr(slash + 1 + std::string_view("artifacts/").size());
    if (name.empty() || name.find('/') != std::string_view::npos) {
      continue;
    }
    if (referenced.count(key) != 0) {
      ++report.referenced;
      continue;
    }
    const auto digits = name.substr(0, name.find_first_not_of("0123456789"));
    const auto saved_ns = digits.size() >= 16 ? parseInt(digits) : std::nullopt;
    if (saved_ns && now_ns - *saved_ns < min_age_ms * 1000000) {
      report.too_recent.push_back(key);
      continue;
    }
    if (!dry_run) {
      Status removed = storage_.remove(key);
      if (!removed.ok() && removed.code() != StatusCode::kNotFound) {
        return removed.withContext("removing unreferenced artifact '" + key + "'");
      }
    }
    report.removed.push_back(key);
  }
  return report;
}

Status ModelRegistry::verifyArtifact(const ModelVersion& version) const {
  auto hash = hashArtifact(version.artifact_key);
  if (!hash.ok()) {
    return hash.status().withContext("artifact of " + version.model + "/" +
                                     std::to_string(version.version));
  }
  if (*hash != version.sha256) {
    return dataLoss("artifact '" + version.artifact_key + "' of " + version.model + "/" +
                    std::to_string(version.version) + " is corrupt: its SHA-256 is " + *hash +
                    ", the registry recorded " + version.sha256);
  }
  return Status();
}

}  // namespace aimass::core
