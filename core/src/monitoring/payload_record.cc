// SPDX-License-Identifier: Apache-2.0
#include "monitoring/payload_record.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <limits>
#include <utility>

#include "aimass/byte_io.h"
#include "aimass/core/model_artifact.h"
#include "monitoring/payload_view.h"
#include "tensor_record.h"

namespace aimass::core {
namespace {

constexpr std::size_t kTimeDigits = 20;
constexpr std::size_t kWriterDigits = 8;

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
  encodeArtifactEnvelopeInto(record, kPayloadRecordType, kPayloadRecordFormat,
                             [&](std::string& payload) { writeEntries(entries, payload); });
}

Expected<std::vector<PayloadEntry>> decodePayloadRecord(std::string_view bytes) {
  std::vector<PayloadTensorView> tensors;
  std::vector<PayloadEntryView> views;
  AIMASS_RETURN_IF_ERROR(parsePayloadRecord(bytes, tensors, views));
  std::vector<PayloadEntry> entries;
  entries.reserve(views.size());
  for (const PayloadEntryView& view : views) {
    entries.push_back(view.toEntry());
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
  PayloadViews views;
  AIMASS_RETURN_IF_ERROR(readPayloadViews(storage, query, views));
  std::vector<PayloadEntry> found;
  found.reserve(views.entries().size());
  for (const PayloadEntryView& view : views.entries()) {
    found.push_back(view.toEntry());
  }
  return found;
}

}  // namespace aimass::core
