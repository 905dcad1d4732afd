// SPDX-License-Identifier: Apache-2.0
#include "monitoring/payload_record.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <limits>
#include <utility>

#include "aimass/byte_io.h"
#include "aimass/core/model_artifact.h"
#include "tensor_record.h"

namespace aimass::core {
namespace {

constexpr char kRecordType[] = "aimass.payloads";
constexpr std::uint32_t kRecordFormat = 1;
constexpr char kRecordName[] = "payload record";
constexpr std::size_t kTimeDigits = 20;
constexpr std::size_t kWriterDigits = 8;

Status corrupt(const std::string& what) {
  return dataLoss(std::string(kRecordName) + " is corrupt: " + what);
}

/// A whole number of only digits (at most 20) that fits 64 bits, or nullopt.
std::optional<std::uint64_t> digitsValue(std::string_view digits) {
  std::uint64_t value = 0;
  const char* end = digits.data() + digits.size();
  const auto [stop, error] = std::from_chars(digits.data(), end, value);
  if (digits.size() > kTimeDigits || error != std::errc() || stop != end) {
    return std::nullopt;
  }
  return value;
}

std::string timeDigits(std::int64_t ns) {
  char digits[kTimeDigits + 1];
  std::snprintf(digits, sizeof digits, "%020llu",
                static_cast<unsigned long long>(std::max<std::int64_t>(ns, 0)));
  return digits;
}

Expected<PayloadEntry> readEntry(ByteReader& in, const std::string& model,
                                 const std::string& version) {
  PayloadEntry entry;
  entry.model = model;
  entry.version = version;
  entry.request_id = readLengthPrefixed(in);
  entry.unix_ns = in.i64();
  entry.latency_us = in.i64();
  entry.outcome = readLengthPrefixed(in);
  const std::uint32_t masked = in.u32();
  if (!in.ok() || masked > in.remaining() / 8) {
    return corrupt("truncated entry header");
  }
  for (std::uint32_t i = 0; i < masked && in.ok(); ++i) {
    entry.masked_features.push_back(readLengthPrefixed(in));
  }
  AIMASS_ASSIGN_OR_RETURN(entry.inputs, readTensorMap(in, kRecordName));
  AIMASS_ASSIGN_OR_RETURN(entry.outputs, readTensorMap(in, kRecordName));
  return entry;
}

}  // namespace

std::string payloadPrefix(std::string_view model, std::string_view version) {
  std::string prefix = "payloads/" + std::string(model) + "/";
  if (!version.empty()) {
    prefix += std::string(version) + "/";
  }
  return prefix;
}

std::string payloadKey(std::string_view model, std::string_view version, std::int64_t first_ns,
                       std::int64_t last_ns, std::uint64_t entries, std::string_view writer) {
  return payloadPrefix(model, version) + timeDigits(first_ns) + "-" + timeDigits(last_ns) + "-" +
         std::to_string(entries) + "-" + std::string(writer);
}

std::optional<PayloadRecordKey> parsePayloadKey(std::string_view key) {
  // payloads/<model>/<version>/<first>-<last>-<entries>-<writer>
  constexpr std::string_view kRoot = "payloads/";
  if (!key.starts_with(kRoot)) {
    return std::nullopt;
  }
  const std::string_view rest = key.substr(kRoot.size());
  const std::size_t model_end = rest.find('/');
  const std::size_t version_end =
      model_end == std::string_view::npos ? model_end : rest.find('/', model_end + 1);
  if (model_end == 0 || version_end == std::string_view::npos || version_end == model_end + 1 ||
      rest.find('/', version_end + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  std::vector<std::string_view> parts;
  std::string_view name = rest.substr(version_end + 1);
  for (std::size_t dash; (dash = name.find('-')) != std::string_view::npos;) {
    parts.push_back(name.substr(0, dash));
    name = name.substr(dash + 1);
  }
  parts.push_back(name);
  if (parts.size() != 4 || parts[0].size() != kTimeDigits || parts[1].size() != kTimeDigits ||
      parts[3].size() != kWriterDigits) {
    return std::nullopt;
  }
  const auto first = digitsValue(parts[0]);
  const auto last = digitsValue(parts[1]);
  const auto entries = digitsValue(parts[2]);
  const auto limit = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (!first || !last || !entries || *first > limit || *last > limit || *last < *first ||
      *entries == 0) {
    return std::nullopt;
  }
  PayloadRecordKey out;
  out.key = std::string(key);
  out.model = std::string(rest.substr(0, model_end));
  out.version = std::string(rest.substr(model_end + 1, version_end - model_end - 1));
  out.first_ns = static_cast<std::int64_t>(*first);
  out.last_ns = static_cast<std::int64_t>(*last);
  out.entries = *entries;
  out.writer = std::string(parts[3]);
  return out;
}

namespace {

/// The entries of a record, appended to `payload`.
void writeEntries(const std::vector<PayloadEntry>& entries, std::string& payload) {
  ByteWriter out(payload);
  writeLengthPrefixed(out, entries.empty() ? std::string_view() : entries.front().model);
  writeLengthPrefixed(out, entries.empty() ? std::string_view() : entries.front().version);
  out.u32(static_cast<std::uint32_t>(entries.size()));
  for (const PayloadEntry& entry : entries) {
    writeLengthPrefixed(out, entry.request_id);
    out.i64(entry.unix_ns);
    out.i64(entry.latency_us);
    writeLengthPrefixed(out, entry.outcome);
    out.u32(static_cast<std::uint32_t>(entry.masked_features.size()));
    for (const std::string& name : entry.masked_features) {
      writeLengthPrefixed(out, name);
    }
    writeTensorMap(out, entry.inputs);
    writeTensorMap(out, entry.outputs);
  }
}

}  // namespace

std::string encodePayloadRecord(const std::vector<PayloadEntry>& entries) {
  std::string out;
  encodePayloadRecordInto(entries, out);
  return out;
}

void encodePayloadRecordInto(const std::vector<PayloadEntry>& entries, std::string& record) {
  encodeArtifactEnvelopeInto(record, kRecordType, kRecordFormat,
                             [&](std::string& payload) { writeEntries(entries, payload); });
}

Expected<std::vector<PayloadEntry>> decodePayloadRecord(std::string_view bytes) {
  std::string_view payload;
  auto header = decodeModelArtifact(bytes, payload);
  if (!header.ok()) {
    return Status(header.status().code(),
                  std::string(kRecordName) + ": " + std::string(header.status().message()));
  }
  if (header->type != kRecordType || header->format_version != kRecordFormat) {
    return invalidArgument("not a payload record of format " + std::to_string(kRecordFormat) +
                           " (it holds a '" + header->type + "' of format " +
                           std::to_string(header->format_version) + ")");
  }
  ByteReader in(payload);
  const std::string model = readLengthPrefixed(in);
  const std::string version = readLengthPrefixed(in);
  const std::uint32_t count = in.u32();
  if (!in.ok() || count > in.remaining()) {
    return corrupt("bad entry count");
  }
  std::vector<PayloadEntry> entries;
  for (std::uint32_t i = 0; i < count; ++i) {
    AIMASS_ASSIGN_OR_RETURN(PayloadEntry entry, readEntry(in, model, version));
    entries.push_back(std::move(entry));
  }
  if (!in.atEnd()) {
    return corrupt(std::to_string(in.remaining()) + " bytes after the last entry");
  }
  return entries;
}

Expected<std::vector<PayloadRecordKey>> listPayloadRecords(const Storage& storage,
                                                           std::string_view model,
                                                           std::string_view version) {
  const std::string prefix = payloadPrefix(model, version);
  auto keys = storage.list(prefix);
  if (!keys.ok()) {
    return Status(keys.status().code(), "cannot list the payloads of model '" + std::string(model) +
                                            "' under '" + prefix + "' in " + storage.describe() +
                                            ": " + keys.status().message());
  }
  std::vector<PayloadRecordKey> records;
  for (const std::string& key : *keys) {
    auto parsed = parsePayloadKey(key);
    if (parsed && parsed->model == model) {
      records.push_back(std::move(*parsed));
    }
  }
  std::sort(records.begin(), records.end(), [](const auto& a, const auto& b) {
    return a.first_ns != b.first_ns ? a.first_ns < b.first_ns : a.key < b.key;
  });
  return records;
}

Expected<std::vector<PayloadEntry>> readPayloads(const Storage& storage,
                                                 const PayloadQuery& query) {
  AIMASS_ASSIGN_OR_RETURN(std::vector<PayloadRecordKey> records,
                          listPayloadRecords(storage, query.model, query.version));
  std::vector<PayloadEntry> found;
  if (query.limit == 0) {
    return found;
  }
  auto by_time = [](const PayloadEntry& a, const PayloadEntry& b) { return a.unix_ns < b.unix_ns; };
  for (const PayloadRecordKey& record : records) {
    if (record.last_ns < query.from_ns) {
      continue;
    }
    // Records come by first time and hold nothing earlier: once `limit` entries lie before
    // this record's first, no later record changes the answer.
    if (found.size() >= query.limit) {
      std::nth_element(found.begin(), found.begin() + static_cast<std::ptrdiff_t>(query.limit - 1),
                       found.end(), by_time);
      if (found[query.limit - 1].unix_ns < record.first_ns) {
        break;
      }
    }
    auto bytes = storage.get(record.key);
    if (!bytes.ok() && bytes.status().code() == StatusCode::kNotFound) {
      continue;  // trimmed meanwhile
    }
    auto entries = bytes.ok() ? decodePayloadRecord(*bytes)
                              : Expected<std::vector<PayloadEntry>>(bytes.status());
    if (!entries.ok()) {
      return Status(entries.status().code(), "payload record '" + record.key + "' in " +
                                                 storage.describe() + ": " +
                                                 entries.status().message());
    }
    for (PayloadEntry& entry : *entries) {
      if (entry.unix_ns >= query.from_ns) {
        found.push_back(std::move(entry));
      }
    }
  }
  std::stable_sort(found.begin(), found.end(), by_time);
  if (found.size() > query.limit) {
    found.resize(query.limit);
  }
  return found;
}

}  // namespace aimass::core
