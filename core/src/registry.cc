// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/registry.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <optional>
#include <set>

#include "aimass/core/sha256.h"

namespace aimass::core {
namespace {

constexpr std::string_view kModelsPrefix = "registry/models/";
constexpr std::string_view kVersionHeader = "aimass-model-version 1";
constexpr std::string_view kAliasHeader = "aimass-model-alias 1";

std::string modelKey(std::string_view model) {
  return std::string(kModelsPrefix) + std::string(model) + "/";
}

std::string versionKey(std::string_view model, std::int64_t version) {
  char digits[32];
  std::snprintf(digits, sizeof digits, "%010lld", static_cast<long long>(version));
  return modelKey(model) + "versions/" + digits;
}

std::string aliasKey(std::string_view model, std::string_view alias) {
  return modelKey(model) + "aliases/" + std::string(alias);
}

std::string escape(std::string_view text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= ' ' || byte >= 0x7f || c == '%') {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<std::string> unescape(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) {
      return std::nullopt;
    }
    unsigned value = 0;
    auto parsed = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
    if (parsed.ec != std::errc() || parsed.ptr != text.data() + i + 3) {
      return std::nullopt;
    }
    out += static_cast<char>(value);
    i += 2;
  }
  return out;
}

std::optional<std::int64_t> parseInt(std::string_view text) {
  std::int64_t value = 0;
  auto parsed = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || parsed.ec != std::errc() || parsed.ptr != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

std::string formatNumber(double value) {
  char buffer[32];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

/// Splits a record into lines, each into space-separated, unescaped fields.
std::optional<std::vector<std::vector<std::string>>> parseLines(std::string_view text) {
  std::vector<std::vector<std::string>> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    std::string_view line = text.substr(start, end - start);
    std::vector<std::string> fields;
    std::size_t field_start = 0;
    while (true) {
      std::size_t space = line.find(' ', field_start);
      auto field =
          unescape(line.substr(field_start, space == std::string_view::npos ? std::string_view::npos
                                                                            : space - field_start));
      if (!field) {
        return std::nullopt;
      }
      fields.push_back(std::move(*field));
      if (space == std::string_view::npos) {
        break;
      }
      field_start = space + 1;
    }
    lines.push_back(std::move(fields));
    start = end + 1;
  }
  return lines;
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
  if (!text.starts_with(std::string(kAliasHeader) + "\n")) {
    return bad();
  }
  auto lines = parseLines(text.substr(kAliasHeader.size() + 1));
  if (!lines) {
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
  out += "\nsha256 " + escape(v.sha256);
  out += "\nnode " + escape(v.node);
  out += "\ntype " + escape(v.node_type);
  out += "\ndataset " + escape(v.dataset_fingerprint);
  out += "\ncreated_ms " + std::to_string(v.created_unix_ms);
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
  if (!text.starts_with(std::string(kVersionHeader) + "\n")) {
    return bad("it does not start with '" + std::string(kVersionHeader) + "'");
  }
  auto lines = parseLines(text.substr(kVersionHeader.size() + 1));
  if (!lines) {
    return bad("bad %-escape");
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
    } else if (f.size() == 2 && field == "sha256") {
      v.sha256 = f[1];
    } else if (f.size() == 2 && field == "node") {
      v.node = f[1];
    } else if (f.size() == 2 && field == "type") {
      v.node_type = f[1];
    } else if (f.size() == 2 && field == "dataset") {
      v.dataset_fingerprint = f[1];
    } else if (f.size() == 2 && field == "created_ms") {
      auto n = parseInt(f[1]);
      if (!n) return bad("created_ms '" + f[1] + "'");
      v.created_unix_ms = *n;
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
  v.sha256 = *hash;
  v.node = info.node;
  v.node_type = info.node_type;
  v.dataset_fingerprint = info.dataset_fingerprint;
  v.metrics = info.metrics;
  v.tags = info.tags;
  v.created_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  // Allocate the number with compare-and-set on the counter: concurrent registrations (threads
  // or processes) each win a distinct number.
  const std::string counter = modelKey(model) + "next-version";
  for (;;) {
    auto current = storage_.get(counter);
    if (!current.ok() && current.status().code() != StatusCode::kNotFound) {
      return current.status();
    }
    std::int64_t next = 1;
    if (current.ok()) {
      auto parsed = parseInt(*current);
      if (!parsed || *parsed <= 0) {
        return dataLoss("version counter '" + counter + "' holds '" + *current + "'");
      }
      next = *parsed;
    }
    const std::string desired = std::to_string(next + 1);
    auto set = current.ok() ? storage_.compareAndSet(counter, std::string_view(*current), desired)
                            : storage_.compareAndSet(counter, std::nullopt, desired);
    if (!set.ok()) {
      return set.status();
    }
    if (*set) {
      v.version = next;
      break;
    }
  }
  auto written =
      storage_.compareAndSet(versionKey(model, v.version), std::nullopt, encodeModelVersion(v));
  if (!written.ok()) {
    return written.status();
  }
  if (!*written) {
    return internalError("version " + std::to_string(v.version) + " of model '" +
                         std::string(model) + "' already has a record");
  }
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
    if (current.ok()) {
      AIMASS_ASSIGN_OR_RETURN(auto old, decodeAlias(model, alias, *current));
      next.history = std::move(old.history);
      if (old.version != version) {
        next.history.push_back(old.version);
      }
    }
    auto set = current.ok()
                   ? storage_.compareAndSet(key, std::string_view(*current), encodeAlias(next))
                   : storage_.compareAndSet(key, std::nullopt, encodeAlias(next));
    if (!set.ok()) {
      return set.status();
    }
    if (*set) {
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
  return Status();
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
