// SPDX-License-Identifier: Apache-2.0
#include "monitoring/payload_record.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <limits>
#include <utility>

#include "aimass/byte_io.h"
#include "aimass/core/model_artifact.h"
#include "aimass/tensor_names.h"
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

bool excludedTensor(const PayloadEntryParts& entry, std::string_view name, const Tensor& tensor) {
  return tensor.device() != Device::kCpu ||
         (entry.excluded != nullptr &&
          std::find(entry.excluded->begin(), entry.excluded->end(), name) != entry.excluded->end());
}

/// writeTensorMap()'s layout, less the excluded tensors, with the masked columns of "input"
/// written as NaN.
void appendTensors(const PayloadEntryParts& entry, const TensorMap* tensors, bool inputs,
                   std::string& bytes) {
  ByteWriter out(bytes);
  std::uint32_t kept = 0;
  if (tensors != nullptr) {
    for (const auto& [name, tensor] : *tensors) {
      kept += excludedTensor(entry, name, tensor) ? 0 : 1;
    }
  }
  out.u32(kept);
  if (kept == 0) return;
  for (const auto& [name, tensor] : *tensors) {
    if (excludedTensor(entry, name, tensor)) continue;
    writeNamedTensor(out, name, tensor);
    if (!inputs || name != tensor_names::kInput || entry.masked_columns == nullptr ||
        entry.masked_columns->empty() || tensor.dtype() != DType::kFloat32 || tensor.rank() != 2) {
      continue;
    }
    const std::size_t data_at = bytes.size() - tensor.nbytes();  // the data ends what it wrote
    const std::int64_t width = tensor.dim(1);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for (std::int64_t row = 0; row < tensor.dim(0); ++row) {
      for (std::int64_t column : *entry.masked_columns) {
        if (column < width) {
          std::memcpy(bytes.data() + data_at + 4 * static_cast<std::size_t>(row * width + column),
                      &nan, sizeof nan);
        }
      }
    }
  }
}

/// A record's entries section's head: model, version, entry count.
void appendEntriesHead(std::string_view model, std::string_view version, std::uint32_t count,
                       std::string& payload) {
  ByteWriter out(payload);
  writeLengthPrefixed(out, model);
  writeLengthPrefixed(out, version);
  out.u32(count);
}

}  // namespace

PayloadEntryParts payloadEntryParts(const PayloadEntry& entry) {
  PayloadEntryParts parts;
  parts.request_id = entry.request_id;
  parts.unix_ns = entry.unix_ns;
  parts.latency_us = entry.latency_us;
  parts.outcome = entry.outcome;
  parts.masked_features = &entry.masked_features;
  parts.inputs = &entry.inputs;
  parts.outputs = &entry.outputs;
  return parts;
}

std::string encodePayloadRecord(const std::vector<PayloadEntry>& entries) {
  std::string out;
  encodePayloadRecordInto(entries, out);
  return out;
}

void encodePayloadRecordInto(const std::vector<PayloadEntry>& entries, std::string& record) {
  encodeArtifactEnvelopeInto(
      record, kPayloadRecordType, kPayloadRecordFormat, [&](std::string& payload) {
        appendEntriesHead(entries.empty() ? std::string_view() : entries.front().model,
                          entries.empty() ? std::string_view() : entries.front().version,
                          static_cast<std::uint32_t>(entries.size()), payload);
        for (const PayloadEntry& entry : entries) {
          appendPayloadEntry(payloadEntryParts(entry), payload);
        }
      });
}

void appendPayloadEntry(const PayloadEntryParts& entry, std::string& bytes) {
  {
    ByteWriter out(bytes);
    writeLengthPrefixed(out, entry.request_id);
    out.i64(entry.unix_ns);
    out.i64(entry.latency_us);
    writeLengthPrefixed(out, entry.outcome);
    const auto* masked = entry.masked_features;
    out.u32(masked == nullptr ? 0 : static_cast<std::uint32_t>(masked->size()));
    if (masked != nullptr) {
      for (const std::string& name : *masked) {
        writeLengthPrefixed(out, name);
      }
    }
  }
  appendTensors(entry, entry.inputs, true, bytes);
  appendTensors(entry, entry.outputs, false, bytes);
}

std::size_t payloadTensorBytes(const TensorMap& tensors) {
  std::size_t bytes = 0;
  for (const auto& [name, tensor] : tensors) {
    if (tensor.dtype() == DType::kBytes) {
      for (const auto& text : tensor.strings()) {
        bytes += text.size() + 8;
      }
    } else {
      bytes += tensor.nbytes();
    }
  }
  return bytes;
}

void encodePayloadRecordFromEntries(std::string_view model, std::string_view version,
                                    std::uint32_t count, std::string_view entries,
                                    std::string& record) {
  encodeArtifactEnvelopeInto(record, kPayloadRecordType, kPayloadRecordFormat,
                             [&](std::string& payload) {
                               appendEntriesHead(model, version, count, payload);
                               payload.append(entries);
                             });
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
