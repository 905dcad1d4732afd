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
  std::string artifact_key;         ///< storage key of the saved model; must exist
  std::string node;                 ///< config node that produced it ("train")
  std::string node_type;            ///< its type ("model.softmax")
  std::string dataset_fingerprint;  ///< identifies the training data (e.g. its SHA-256)
  std::map<std::string, double> metrics;
  std::map<std::string, std::string> tags;
};

/// One registered version of a model.
struct ModelVersion {
  std::string model;
  std::int64_t version = 0;  ///< 1, 2, ... in registration order (a crashed registration may
                             ///< leave a gap)
  std::string artifact_key;
  std::string sha256;  ///< SHA-256 of the artifact bytes, 64 lowercase hex digits
  std::string node;
  std::string node_type;
  std::string dataset_fingerprint;
  std::int64_t created_unix_ms = 0;
  std::map<std::string, double> metrics;
  std::map<std::string, std::string> tags;
};

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
/// Artifacts live wherever their producer saved them; the record names the key.
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

  /// Registers the next version of `model`: hashes the artifact (streamed), allocates the
  /// number, writes the record. kNotFound when the artifact key does not exist;
  /// kInvalidArgument for a bad model name.
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

  /// Re-hashes the artifact; kDataLoss when its bytes no longer match the recorded hash.
  Status verifyArtifact(const ModelVersion& version) const;

  /// Checks a model or alias name (see the class comment); `what` is "model" or "alias".
  static Status validateName(std::string_view name, std::string_view what);

 private:
  Expected<std::string> hashArtifact(std::string_view key) const;

  Storage& storage_;
};

/// The text record of a version: one "field value" line each, values %-escaped (every byte
/// outside printable ASCII, and ' ' and '%', as %XX), e.g.
///   aimass-model-version 1
///   model iris
///   version 3
///   artifact models/iris/3
///   sha256 9f86d0...
///   node train
///   type model.softmax
///   dataset 2c26b4...
///   created_ms 1718000000000
///   metric accuracy 0.96
///   tag owner alice
std::string encodeModelVersion(const ModelVersion& version);
/// Parses encodeModelVersion()'s text; kDataLoss for a malformed record.
Expected<ModelVersion> decodeModelVersion(std::string_view text);

}  // namespace aimass::core
