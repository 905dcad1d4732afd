// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/dataset.h"
#include "aimass/status.h"
#include "aimass/storage.h"

namespace aimass::core {

/// What the user of a dataset knows about it; the registry adds the version number, the
/// creation time and the user.
struct NewDatasetVersion {
  std::string type;         ///< the dataset node's type ("dataset.csv")
  std::string source;       ///< where the data came from, for people ("dataset.csv node 'pumps'")
  std::string sha256;       ///< content hash (hashDatasetContent()), 64 lowercase hex digits
  std::uint64_t rows = 0;   ///< number of rows
  std::string fingerprint;  ///< the reader's own fingerprint (Dataset::fingerprint()), may be empty
};

/// One registered version of a dataset: a distinct content under one name.
struct DatasetVersion {
  std::string name;
  std::int64_t version = 0;  ///< 1, 2, ... in registration order (a crash may leave a gap)
  std::string type;
  std::string source;
  std::string sha256;
  std::uint64_t rows = 0;
  std::string fingerprint;
  std::string created_by;
  std::int64_t created_unix_ms = 0;
};

/// The dataset registry: each distinct content (by SHA-256) of a named dataset gets a version,
/// so a model version can name exactly the data it was trained on. Registering content the name
/// already has returns the existing version instead of making a new one.
///
/// Layout under the storage:
///   registry/datasets/<name>/next-version           the next version number (compare-and-set)
///   registry/datasets/<name>/versions/<0000000002>  one version record
///   registry/datasets/<name>/by-sha256/<hash>       the version holding that content
/// The record is written before its by-sha256 entry, which is claimed with compare-and-set:
/// of two processes registering the same new content at once, one wins and the other removes
/// its record and returns the winner's version. A crash between the two writes leaves a
/// complete record that the index does not name; registering that content again then makes a
/// new version.
///
/// Names follow ModelRegistry::validateName(). Threading: every method is safe from many
/// threads and processes sharing the store; the registry holds no state besides the storage
/// reference, which must outlive it.
class DatasetRegistry {
 public:
  explicit DatasetRegistry(Storage& storage) : storage_(storage) {}

  /// Returns the version of `name` holding `info.sha256`, registering a new one when there is
  /// none. kInvalidArgument for a bad name or a hash that is not 64 hex digits.
  Expected<DatasetVersion> registerVersion(std::string_view name, const NewDatasetVersion& info);

  /// Names of every registered dataset, sorted.
  Expected<std::vector<std::string>> listDatasets() const;
  /// Versions of `name`, oldest first; kNotFound for an unknown dataset.
  Expected<std::vector<DatasetVersion>> listVersions(std::string_view name) const;
  /// One version; kNotFound when absent.
  Expected<DatasetVersion> getVersion(std::string_view name, std::int64_t version) const;
  /// Resolves "name" (the latest version) or "name/3".
  Expected<DatasetVersion> resolve(std::string_view reference) const;

 private:
  Storage& storage_;
};

/// SHA-256 of a dataset's content as read through its interface: the schema's feature shape,
/// dtypes and label kind, then every row in order, read in batches of `batch_rows` rows (the
/// features', labels' and lengths' dtype, shape and bytes of each batch). Independent of the
/// file format: the same rows from a CSV and its gzip give the same hash. Reads the whole
/// dataset once; errors of Dataset::read() are returned with context.
Expected<std::string> hashDatasetContent(const Dataset& dataset, std::uint64_t batch_rows = 1024);

/// The text record of a dataset version ("aimass-dataset-version 1", then one "field value"
/// line each, %-escaped as in encodeModelVersion()).
std::string encodeDatasetVersion(const DatasetVersion& version);
/// Parses encodeDatasetVersion()'s text; kDataLoss for a malformed record.
Expected<DatasetVersion> decodeDatasetVersion(std::string_view text);

}  // namespace aimass::core
