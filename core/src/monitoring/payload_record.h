// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/status.h"
#include "aimass/storage.h"
#include "aimass/tensor.h"

/// Logged payloads at rest (the serving runtime's payload logging, monitoring/payload_log.h):
/// the entry, the record a batch of entries is stored as, its key, and the read side the
/// monitor and feedback use.
///
/// A record holds the entries of one model version written together, under
///
///     payloads/<model>/<version>/<first ns>-<last ns>-<entries>-<writer>
///
/// <first ns> and <last ns>: the unix times (20 digits, zero-padded) of its first and last
/// entry; <entries>: how many it holds; <writer>: 8 hex digits naming the process's log. One
/// writer gives its entries strictly increasing times, so the key is unique, and listing keys
/// is enough to find the records of a time range and to trim by rows or age without reading
/// a record. The value is the artifact envelope of model_artifact.h (type "aimass.payloads",
/// format 1, CRC-32), so a torn or altered record is detected.
namespace aimass::core {

/// The artifact envelope's type and format of a payload record.
inline constexpr char kPayloadRecordType[] = "aimass.payloads";
inline constexpr std::uint32_t kPayloadRecordFormat = 1;

/// One logged request.
struct PayloadEntry {
  /// PredictOptions::request_id (the OIP "id", the gRPC request id); when the client sent
  /// none, one made up by the log: "gen-<unix ns>-<n>".
  std::string request_id;
  std::string model;
  std::string version;
  std::int64_t unix_ns = 0;     ///< when the answer (or the failure) was ready
  std::int64_t latency_us = 0;  ///< in the runtime, from the request to then
  /// "ok", or the failure: invalid, rejected, timeout, unavailable or backend
  /// (inferFailureName()).
  std::string outcome;
  TensorMap inputs;   ///< as the request held them, less the excluded ones
  TensorMap outputs;  ///< empty for a failure
  /// Number features of the "input" block (training-data profile columns) whose values
  /// payload_exclude replaced with NaN; the others are as sent.
  std::vector<std::string> masked_features;
};

/// What a key tells about its record.
struct PayloadRecordKey {
  std::string key;
  std::string model;
  std::string version;
  std::int64_t first_ns = 0;
  std::int64_t last_ns = 0;
  std::uint64_t entries = 0;
  std::string writer;
};

/// "payloads/<model>/", the prefix of every record of a model; with `version`, of that
/// version's.
std::string payloadPrefix(std::string_view model, std::string_view version = {});
/// The key of a record of `entries` entries from `first_ns` to `last_ns`.
std::string payloadKey(std::string_view model, std::string_view version, std::int64_t first_ns,
                       std::int64_t last_ns, std::uint64_t entries, std::string_view writer);
/// Parses a key payloadKey() made; nullopt for anything else.
std::optional<PayloadRecordKey> parsePayloadKey(std::string_view key);

/// The record of `entries` (all of one model version, in time order). std::bad_alloc
/// propagates.
std::string encodePayloadRecord(const std::vector<PayloadEntry>& entries);
/// The same record written into `out` (cleared first, its capacity kept): the payload log's
/// writer reuses one buffer for every record.
void encodePayloadRecordInto(const std::vector<PayloadEntry>& entries, std::string& out);
/// One entry as a record holds it, taken from the request's own tensors: the payload log
/// encodes a sampled request straight into the bytes of its next record, so that no copy of it
/// is made on the heap (and freed by another thread) on the serving path.
struct PayloadEntryParts {
  std::string_view request_id;
  std::int64_t unix_ns = 0;
  std::int64_t latency_us = 0;
  std::string_view outcome;
  const std::vector<std::string>* masked_features = nullptr;  ///< null: none
  const TensorMap* inputs = nullptr;                          ///< null: none
  const TensorMap* outputs = nullptr;                         ///< null: none (a failure)
  /// Tensors left out, by name (payload_exclude), and tensors not on the CPU.
  const std::vector<std::string>* excluded = nullptr;
  /// Columns of a rank-2 FP32 "input" written as NaN (payload_exclude of profiled features).
  const std::vector<std::int64_t>* masked_columns = nullptr;
};
/// The parts of `entry` (pointing into it), excluding and masking nothing.
PayloadEntryParts payloadEntryParts(const PayloadEntry& entry);
/// Appends one entry to a record's entries section.
void appendPayloadEntry(const PayloadEntryParts& entry, std::string& out);
/// The bytes appendPayloadEntry() writes for the tensors of `tensors` it keeps, give or take
/// the names' few bytes: the payload log's queue bound.
std::size_t payloadTensorBytes(const TensorMap& tensors);
/// A record around entries appendPayloadEntry() wrote back to back (`count` of them, all of
/// one model version, in time order), written into `out` (cleared first, capacity kept).
void encodePayloadRecordFromEntries(std::string_view model, std::string_view version,
                                    std::uint32_t count, std::string_view entries,
                                    std::string& out);

/// Reads a record back: kDataLoss for a corrupt or truncated one, kInvalidArgument for bytes
/// that are not a payload record of a format this host reads. Never throws except
/// std::bad_alloc.
Expected<std::vector<PayloadEntry>> decodePayloadRecord(std::string_view bytes);

/// Which logged entries to read.
struct PayloadQuery {
  std::string model;
  std::string version;       ///< empty: every version of the model
  std::int64_t from_ns = 0;  ///< entries logged at or after this unix time
  std::size_t limit = 1000;  ///< most entries returned
};

/// The records of a model (of one version when `version` is set) whose keys parse, by first
/// time then key; keys under the prefix that do not parse are skipped.
Expected<std::vector<PayloadRecordKey>> listPayloadRecords(const Storage& storage,
                                                           std::string_view model,
                                                           std::string_view version = {});

/// The first `query.limit` entries of the model logged at or after `query.from_ns`, in time
/// order, reading only the records that can hold them. To read on, ask again
/// from the last entry's unix_ns + 1. A record that cannot be read or decoded fails the call
/// with an error naming its key and the storage. Safe from any thread; a record trimmed
/// while the call runs is skipped.
Expected<std::vector<PayloadEntry>> readPayloads(const Storage& storage, const PayloadQuery& query);

}  // namespace aimass::core
