// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/dataset_registry.h"

#include <algorithm>
#include <numeric>
#include <set>

#include "aimass/core/registry.h"
#include "aimass/core/sha256.h"
#include "record_text.h"

namespace aimass::core {
namespace {

using record::escape;
using record::parseInt;

constexpr std::string_view kDatasetsPrefix = "registry/datasets/";
constexpr std::string_view kHeader = "aimass-dataset-version 1";

std::string datasetKey(std::string_view name) {
  return std::string(kDatasetsPrefix) + std::string(name) + "/";
}

std::string versionKey(std::string_view name, std::int64_t version) {
  return datasetKey(name) + "versions/" + record::versionSegment(version);
}

std::string hashKey(std::string_view name, std::string_view sha256) {
  return datasetKey(name) + "by-sha256/" + std::string(sha256);
}

bool isSha256(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

void hashTensor(Sha256& hash, const Tensor& t) {
  std::string head = std::string(dtypeName(t.dtype())) + "[";
  for (std::int64_t d : t.shape()) {
    head += std::to_string(d) + ",";
  }
  hash.update(head + "]");
  if (t.dtype() == DType::kBytes) {
    for (const auto& s : t.strings()) {
      hash.update(std::to_string(s.size()) + ":");
      hash.update(s);
    }
  } else if (t.nbytes() > 0) {
    hash.update(std::string_view(static_cast<const char*>(t.raw()), t.nbytes()));
  }
}

}  // namespace

std::string encodeDatasetVersion(const DatasetVersion& v) {
  std::string out(kHeader);
  out += "\nname " + escape(v.name);
  out += "\nversion " + std::to_string(v.version);
  out += "\ntype " + escape(v.type);
  out += "\nsource " + escape(v.source);
  out += "\nsha256 " + escape(v.sha256);
  out += "\nrows " + std::to_string(v.rows);
  out += "\nfingerprint " + escape(v.fingerprint);
  out += "\ncreated_by " + escape(v.created_by);
  out += "\ncreated_ms " + std::to_string(v.created_unix_ms);
  return out + "\n";
}

Expected<DatasetVersion> decodeDatasetVersion(std::string_view text) {
  auto bad = [](std::string why) { return dataLoss("malformed dataset version record: " + why); };
  auto lines = record::parseRecord(text, kHeader);
  if (!lines.ok()) {
    return bad(lines.status().message());
  }
  DatasetVersion v;
  for (const auto& f : *lines) {
    const std::string& field = f[0];
    if (f.size() != 2) {
      return bad("line '" + field + "' has " + std::to_string(f.size()) + " fields, not 2");
    }
    if (field == "name") {
      v.name = f[1];
    } else if (field == "version" || field == "rows" || field == "created_ms") {
      auto n = parseInt(f[1]);
      if (!n || *n < 0) return bad(field + " '" + f[1] + "'");
      if (field == "version") {
        v.version = *n;
      } else if (field == "rows") {
        v.rows = static_cast<std::uint64_t>(*n);
      } else {
        v.created_unix_ms = *n;
      }
    } else if (field == "type") {
      v.type = f[1];
    } else if (field == "source") {
      v.source = f[1];
    } else if (field == "sha256") {
      v.sha256 = f[1];
    } else if (field == "fingerprint") {
      v.fingerprint = f[1];
    } else if (field == "created_by") {
      v.created_by = f[1];
    } else {
      return bad("unexpected line '" + field + "'");
    }
  }
  if (v.name.empty() || v.version <= 0 || !isSha256(v.sha256)) {
    return bad("no name, version or SHA-256");
  }
  return v;
}

Expected<std::string> hashDatasetContent(const Dataset& dataset, std::uint64_t batch_rows) {
  if (batch_rows == 0) {
    return invalidArgument("hashing a dataset needs batches of at least one row");
  }
  Sha256 hash;
  const DatasetSchema& schema = dataset.schema();
  std::string head =
      "aimass-dataset-content 1\nfeatures " + std::string(dtypeName(schema.feature_dtype)) + " [";
  for (std::int64_t d : schema.row_shape) {
    head += std::to_string(d) + ",";
  }
  head += "]\nlabels " + std::to_string(static_cast<int>(schema.label_kind)) + " " +
          std::to_string(schema.num_targets) + "\nrows " + std::to_string(dataset.size()) + "\n";
  hash.update(head);
  std::vector<std::uint64_t> rows;
  Batch batch;
  for (std::uint64_t first = 0; first < dataset.size(); first += batch_rows) {
    rows.resize(std::min(batch_rows, dataset.size() - first));
    std::iota(rows.begin(), rows.end(), first);
    Status read = dataset.read(rows, batch);
    if (!read.ok()) {
      return read.withContext("hashing the dataset's content at row " + std::to_string(first));
    }
    hashTensor(hash, batch.features);
    hashTensor(hash, batch.labels);
    hashTensor(hash, batch.lengths);
  }
  return hash.hexDigest();
}

Expected<DatasetVersion> DatasetRegistry::registerVersion(std::string_view name,
                                                          const NewDatasetVersion& info) {
  AIMASS_RETURN_IF_ERROR(ModelRegistry::validateName(name, "dataset"));
  if (!isSha256(info.sha256)) {
    return invalidArgument("registering dataset '" + std::string(name) + "': '" + info.sha256 +
                           "' is not a SHA-256 (64 lowercase hex digits)");
  }
  const std::string index = hashKey(name, info.sha256);
  auto known = storage_.get(index);
  if (known.ok()) {
    auto number = parseInt(*known);
    if (!number || *number <= 0) {
      return dataLoss("dataset index '" + index + "' holds '" + *known + "'");
    }
    return getVersion(name, *number);
  }
  if (known.status().code() != StatusCode::kNotFound) {
    return known.status();
  }
  DatasetVersion v;
  v.name = std::string(name);
  v.type = info.type;
  v.source = info.source;
  v.sha256 = info.sha256;
  v.rows = info.rows;
  v.fingerprint = info.fingerprint;
  v.created_by = record::currentUser();
  v.created_unix_ms = record::nowUnixMs();
  AIMASS_ASSIGN_OR_RETURN(v.version,
                          record::takeNextNumber(storage_, datasetKey(name) + "next-version"));
  const std::string key = versionKey(name, v.version);
  AIMASS_ASSIGN_OR_RETURN(bool written,
                          storage_.compareAndSet(key, std::nullopt, encodeDatasetVersion(v)));
  if (!written) {
    return internalError("version " + std::to_string(v.version) + " of dataset '" +
                         std::string(name) + "' already has a record");
  }
  AIMASS_ASSIGN_OR_RETURN(bool claimed,
                          storage_.compareAndSet(index, std::nullopt, std::to_string(v.version)));
  if (claimed) {
    return v;
  }
  // Another process registered the same content first: use its version, drop ours.
  Status removed = storage_.remove(key);
  if (!removed.ok() && removed.code() != StatusCode::kNotFound) {
    return removed.withContext("removing the duplicate record of dataset '" + std::string(name) +
                               "'");
  }
  AIMASS_ASSIGN_OR_RETURN(auto winner, storage_.get(index));
  auto number = parseInt(winner);
  if (!number || *number <= 0) {
    return dataLoss("dataset index '" + index + "' holds '" + winner + "'");
  }
  return getVersion(name, *number);
}

Expected<std::vector<std::string>> DatasetRegistry::listDatasets() const {
  AIMASS_ASSIGN_OR_RETURN(auto keys, storage_.list(kDatasetsPrefix));
  std::set<std::string> names;
  for (const auto& key : keys) {
    std::string_view rest = std::string_view(key).substr(kDatasetsPrefix.size());
    auto slash = rest.find('/');
    if (slash != std::string_view::npos && rest.substr(slash + 1).starts_with("versions/")) {
      names.emplace(rest.substr(0, slash));
    }
  }
  return std::vector<std::string>(names.begin(), names.end());
}

Expected<std::vector<DatasetVersion>> DatasetRegistry::listVersions(std::string_view name) const {
  AIMASS_RETURN_IF_ERROR(ModelRegistry::validateName(name, "dataset"));
  const std::string prefix = datasetKey(name) + "versions/";
  AIMASS_ASSIGN_OR_RETURN(auto keys, storage_.list(prefix));
  std::vector<DatasetVersion> out;
  for (const auto& key : keys) {
    auto text = storage_.get(key);
    if (!text.ok()) {
      if (text.status().code() == StatusCode::kNotFound) {
        continue;  // a losing duplicate removed since the listing
      }
      return text.status();
    }
    auto version = decodeDatasetVersion(*text);
    if (!version.ok()) {
      return version.status().withContext(key);
    }
    out.push_back(std::move(*version));
  }
  if (out.empty()) {
    return notFound("dataset '" + std::string(name) + "' is not registered in " +
                    storage_.describe());
  }
  return out;
}

Expected<DatasetVersion> DatasetRegistry::getVersion(std::string_view name,
                                                     std::int64_t version) const {
  AIMASS_RETURN_IF_ERROR(ModelRegistry::validateName(name, "dataset"));
  const std::string key = versionKey(name, version);
  auto text = storage_.get(key);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) {
      return notFound("dataset '" + std::string(name) + "' has no version " +
                      std::to_string(version));
    }
    return text.status();
  }
  auto decoded = decodeDatasetVersion(*text);
  if (!decoded.ok()) {
    return decoded.status().withContext(key);
  }
  return decoded;
}

Expected<DatasetVersion> DatasetRegistry::resolve(std::string_view reference) const {
  if (auto slash = reference.find('/'); slash != std::string_view::npos) {
    const std::string_view digits = reference.substr(slash + 1);
    auto version = parseInt(digits);
    if (!version || *version <= 0 || digits.front() == '0' || digits.front() == '+') {
      return invalidArgument("'" + std::string(reference) +
                             "' does not name a dataset version: use NAME or NAME/VERSION");
    }
    return getVersion(reference.substr(0, slash), *version);
  }
  AIMASS_ASSIGN_OR_RETURN(auto versions, listVersions(reference));
  return versions.back();
}

}  // namespace aimass::core
