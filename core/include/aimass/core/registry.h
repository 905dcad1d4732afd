// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/status.h"
#include "aimass/storage.h"

namespace aimass::core {

/// What the producer of a model version knows about it; the registry adds the version number,
/// the content hash and the creation time.
struct NewModelVersion {
  std::string artifact_key;          ///< storage key of the saved model; must exist
  /// Storage key of the training-data profile saved beside it (data_profile.h); empty: none.
  std::string profile_key;
  std::string node;                  ///< config node that produced it ("train")
  std::string node_type;             ///< its type ("model.softmax")
  std::string dataset_fingerprint;   ///< the dataset reader's own fingerprint (may be empty)
  std::string dataset_name;          ///< the registered dataset (DatasetRegistry); may be empty
  std::int64_t dataset_version = 0;  ///< its version, 0 when not registered
  std::string dataset_sha256;        ///< its content hash
  std::string code_version;          ///< empty: the git commit this build came from
  std::map<std::string, double> metrics;
  std::map<std::string, std::string> tags;
  /// The version it was fine-tuned from ("base/3", job.train's init_from); empty: none.
  std::string parent;
};

/// One registered version of a model.
struct ModelVersion {
  std::string model;
  std::int64_t version = 0;  ///< 1, 2, ... in registration order (a crashed registration may
                             ///< leave a gap)
  std::string artifact_key;
  /// The training-data profile job.train saved beside the artifact ("<artifact>.profile");
  /// empty for versions registered without one, and in records made before profiles existed.
  /// deleteVersion() removes it with the artifact; collectGarbage() keeps it while named.
  std::string profile_key;
  std::string sha256;  ///< SHA-256 of the artifact bytes, 64 lowercase hex digits
  std::string node;
  std::string node_type;
  std::string dataset_fingerprint;
  std::string dataset_name;  ///< empty in records made before datasets were registered
  std::int64_t dataset_version = 0;
  std::string dataset_sha256;
  std::string code_version;  ///< git commit of the aimass that registered it, or "unknown";
                             ///< empty in older records
  std::string created_by;    ///< user name of the registering process; empty in older records
  std::int64_t created_unix_ms = 0;
  std::map<std::string, double> metrics;
  std::map<std::string, std::string> tags;
  /// Lineage: "NAME/VERSION" of the registered version whose weights training started from
  /// (job.train's init_from); empty when it started from scratch, and in older records.
  std::string parent;
};

/// What collectGarbage() found under the model artifact prefix.
struct GarbageReport {
  std::vector<std::string> removed;     ///< unreferenced artifacts deleted (or, dry run, to be)
  std::vector<std::string> too_recent;  ///< unreferenced but younger than the minimum age: kept
  std::uint64_t referenced = 0;         ///< artifacts a version record names: kept
};

/// Where job.train saves the artifacts it registers: models/<model>/artifacts/<name>. Garbage
/// collection only ever looks at keys of this shape.
inline constexpr std::string_view kModelArtifactsPrefix = "models/";

/// A named pointer at one version ("champion"), with the targets it had before, oldest first,
/// so rollback can move it back.
struct ModelAlias {
  std::string model;
  std::string alias;
  std::int64_t version = 0;
  std::vector<std::int64_t> history;
};

/// The model registry, written once on aimass::Storage so every backend has it.
///
/// Layout under the storage (all records are the small text format of encodeModelVersion()):
///   registry/models/<model>/next-version          the next version number (compare-and-set)
///   registry/models/<model>/versions/<0000000007> one version record
///   registry/models/<model>/aliases/<alias>       one alias record
/// Artifacts live wherever their producer saved them; the record names the key. job.train
/// saves them under models/<model>/artifacts/, where collectGarbage() looks for orphans.
/// Datasets have their own registry (dataset_registry.h) beside this one. Every change it makes
/// (a version registered or deleted, an alias moved or rolled back) is appended to the model's
/// event history (model_events.h) after it is made.
///
/// Model and alias names are 1..128 characters of [A-Za-z0-9._-], not starting with '.' or '-';
/// aliases must not be all digits (so "name/3" and "name@3" cannot be confused).
///
/// Concurrency: version numbers and alias moves use compare-and-set, so several threads and
/// processes sharing a store register distinct versions and never lose an alias move. Each
/// method is safe from many threads; the registry holds no state besides the storage reference.
/// Ownership: does not own `storage`, which must outlive the registry.
class ModelRegistry {
 public:
  explicit ModelRegistry(Storage& storage) : storage_(storage) {}
  /// A registry whose events name `actor` as who made each change (an API principal); empty:
  /// the process's user.
  ModelRegistry(Storage& storage, std::string actor)
      : storage_(storage), actor_(std::move(actor)) {}

  /// Registers the next version of `model`: hashes the artifact (streamed), allocates the
  /// number, writes the record, adding the creation time, the user name ($USER, else the
  /// passwd entry) and, unless given, the code version (the git commit of this build).
  /// kNotFound when the artifact key does not exist; kInvalidArgument for a bad model name.
  Expected<ModelVersion> registerVersion(std::string_view model, const NewModelVersion& info);

  /// Names of every model with at least one version or alias, sorted.
  Expected<std::vector<std::string>> listModels() const;
  /// Versions of `model`, oldest first; kNotFound for an unknown model.
  Expected<std::vector<ModelVersion>> listVersions(std::string_view model) const;
  /// One version; kNotFound when absent.
  Expected<ModelVersion> getVersion(std::string_view model, std::int64_t version) const;
  /// Resolves "name" (the latest version), "name/3" or "name@champion".
  Expected<ModelVersion> resolve(std::string_view reference) const;

  /// Aliases of `model`, sorted by name (empty when none).
  Expected<std::vector<ModelAlias>> listAliases(std::string_view model) const;
  /// One alias; kNotFound when absent.
  Expected<ModelAlias> getAlias(std::string_view model, std::string_view alias) const;
  /// Points `alias` at `version` (which must exist), remembering the previous target.
  Expected<ModelAlias> promote(std::string_view model, std::string_view alias,
                               std::int64_t version);
  /// Moves `alias` back to its previous target. kFailedPrecondition when it has none.
  Expected<ModelAlias> rollback(std::string_view model, std::string_view alias);

  /// Deletes a version's record and its artifact. Refuses (kFailedPrecondition, naming the
  /// aliases) while an alias points at it, unless `force`, which deletes those aliases too.
  Status deleteVersion(std::string_view model, std::int64_t version, bool force);

  /// Sets the tags in `set` (replacing values of existing keys) and removes the keys in
  /// `remove` on one version, as one compare-and-set of its record; returns the new record.
  /// kNotFound for an unknown version or a key in `remove` the version does not have;
  /// kInvalidArgument for an empty key or a key both set and removed.
  Expected<ModelVersion> setTags(std::string_view model, std::int64_t version,
                                 const std::map<std::string, std::string>& set,
                                 const std::vector<std::string>& remove);

  /// Removes the artifacts under models/<model>/artifacts/ that no version record of any model
  /// names: what a crash between saving an artifact and writing its record leaves behind.
  /// Artifacts whose name starts with a Unix time in nanoseconds (job.train's
  /// "<ns>.aimass") younger than `min_age_ms` are kept, since their registration may still be
  /// running. With `dry_run` nothing is removed; the report lists what would be.
  Expected<GarbageReport> collectGarbage(bool dry_run, std::int64_t min_age_ms);

  /// Re-hashes the artifact; kDataLoss when its bytes no longer match the recorded hash.
  Status verifyArtifact(const ModelVersion& version) const;

  /// The storage the registry lives in (what its records' keys, artifacts and profiles, name).
  const Storage& storage() const noexcept { return storage_; }

  /// Checks a model or alias name (see the class comment); `what` is "model" or "alias".
  static Status validateName(std::string_view name, std::string_view what);

 private:
  Expected<std::string> hashArtifact(std::string_view key) const;
  /// Appends an event to the model's history (model_events.h); a failure names the change as
  /// done, since it was.
  Status recordEvent(std::string_view model, std::string_view kind, std::int64_t version,
                     std::string_view alias, std::string message, std::string details);
  Status recordAliasMove(const ModelAlias& moved, std::string_view kind, std::int64_t from);

  Storage& storage_;
  std::string actor_;  // the events' actor; empty: the process's user
};

/// The text record of a version: one "field value" line each, values %-escaped (every byte
/// outside printable ASCII, and ' ' and '%', as %XX), e.g.
///   aimass-model-version 1
///   model iris
///   version 3
///   artifact models/iris/3
///   profile models/iris/3.profile
///   sha256 9f86d0...
///   node train
///   type model.softmax
///   dataset 2c26b4...
///   dataset_name pumps
///   dataset_version 2
///   dataset_sha256 5d41402a...
///   code 6a0042a...
///   created_by alice
///   created_ms 1718000000000
///   parent base/2
///   metric accuracy 0.96
///   tag owner alice
/// profile, dataset_name, dataset_version, dataset_sha256, code, created_by and parent are
/// written only when set, and records without them (made before they existed) decode with them
/// empty.
std::string encodeModelVersion(const ModelVersion& version);
/// Parses encodeModelVersion()'s text; kDataLoss for a malformed record.
Expected<ModelVersion> decodeModelVersion(std::string_view text);

}  // namespace aimass::core
