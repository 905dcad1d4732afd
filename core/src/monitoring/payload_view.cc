// SPDX-License-Identifier: Apache-2.0
#include "monitoring/payload_view.h"

#include <algorithm>
#include <utility>

#include "aimass/core/model_artifact.h"

namespace aimass::core {

/// Reads a payload record's fields in place, with the checks (and messages) of
/// readTensorMap(): every size a field declares is checked against the bytes left.
class PayloadRecordParser {
 public:
  explicit PayloadRecordParser(std::string_view bytes) : bytes_(bytes) {}

  /// The record's entries; their tensors go to `tensors` (cleared first), which the entries'
  /// views point into and which must not change while they are used.
  Status parse(std::vector<PayloadTensorView>& tensors, std::vector<PayloadEntryView>& entries) {
    tensors.clear();
    const std::string_view model = text();
    const std::string_view version = text();
    const std::uint32_t count = u32();
    if (!ok_ || count > remaining()) {
      return corrupt("bad entry count");
    }
    // Where each entry's inputs and outputs start in `tensors`, made views once it is whole.
    std::vector<std::size_t> starts;
    starts.reserve(2 * std::size_t{count} + 1);
    const std::size_t first_entry = entries.size();
    for (std::uint32_t i = 0; i < count; ++i) {
      PayloadEntryView entry;
      entry.model = model;
      entry.version = version;
      entry.request_id = text();
      entry.unix_ns = static_cast<std::int64_t>(u64());
      entry.latency_us = static_cast<std::int64_t>(u64());
      entry.outcome = text();
      entry.masked_count = u32();
      if (!ok_ || entry.masked_count > remaining() / 8) {
        entries.resize(first_entry);
        return corrupt("truncated entry header");
      }
      const std::size_t masked_from = at_;
      for (std::uint32_t m = 0; m < entry.masked_count && ok_; ++m) {
        text();
      }
      entry.masked = bytes_.substr(masked_from, at_ - masked_from);
      for (int map = 0; map < 2; ++map) {
        starts.push_back(tensors.size());
        if (Status read = tensorMap(tensors); !read.ok()) {
          entries.resize(first_entry);
          return read;
        }
      }
      entries.push_back(entry);
    }
    if (at_ != bytes_.size()) {
      entries.resize(first_entry);
      return corrupt(std::to_string(remaining()) + " bytes after the last entry");
    }
    starts.push_back(tensors.size());
    const std::span<const PayloadTensorView> all(tensors);
    for (std::size_t i = 0; i < count; ++i) {
      PayloadEntryView& entry = entries[first_entry + i];
      entry.inputs =
          PayloadTensorsView(all.subspan(starts[2 * i], starts[2 * i + 1] - starts[2 * i]));
      entry.outputs =
          PayloadTensorsView(all.subspan(starts[2 * i + 1], starts[2 * i + 2] - starts[2 * i + 1]));
    }
    return Status();
  }

 private:
  static Status corrupt(const std::string& what) {
    return dataLoss("payload record is corrupt: " + what);
  }
  std::size_t remaining() const noexcept { return bytes_.size() - at_; }

  std::uint64_t get(std::size_t size) {
    if (!ok_ || remaining() < size) {
      ok_ = false;
      return 0;
    }
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < size; ++i) {
      value |= std::uint64_t{static_cast<unsigned char>(bytes_[at_ + i])} << (8 * i);
    }
    at_ += size;
    return value;
  }
  std::uint32_t u32() { return static_cast<std::uint32_t>(get(4)); }
  std::uint64_t u64() { return get(8); }
  /// The next `n` bytes in place; empty (and ok_ false) when fewer remain.
  std::string_view view(std::uint64_t n) {
    if (!ok_ || remaining() < n) {
      ok_ = false;
      return {};
    }
    const std::string_view out = bytes_.substr(at_, static_cast<std::size_t>(n));
    at_ += static_cast<std::size_t>(n);
    return out;
  }
  /// A u64-length-prefixed string in place.
  std::string_view text() { return view(u64()); }

  Status tensorMap(std::vector<PayloadTensorView>& tensors) {
    const std::uint32_t count = u32();
    if (!ok_ || count > remaining()) {
      return corrupt("bad tensor count");
    }
    const std::size_t first = tensors.size();
    for (std::uint32_t i = 0; i < count; ++i) {
      PayloadTensorView tensor;
      AIMASS_RETURN_IF_ERROR(this->tensor(tensor));
      for (std::size_t j = first; j < tensors.size(); ++j) {
        if (tensors[j].name_ == tensor.name_) {
          return corrupt("tensor '" + std::string(tensor.name_) + "' appears twice");
        }
      }
      tensors.push_back(tensor);
    }
    return Status();
  }

  Status tensor(PayloadTensorView& tensor) {
    constexpr std::uint32_t kMaxRank = 32;
    tensor.name_ = text();
    const std::string_view dtype_name = text();
    tensor.rank_ = u32();
    const std::string name(tensor.name_);
    if (!ok_) {
      return corrupt("truncated tensor header");
    }
    auto dtype = dtypeFromName(dtype_name);
    if (!dtype || tensor.rank_ > kMaxRank) {
      return corrupt("tensor '" + name + "' has an unknown datatype or rank");
    }
    tensor.dtype_ = *dtype;
    const std::size_t dims_from = at_;
    std::uint64_t elements = 1;
    for (std::uint32_t d = 0; d < tensor.rank_; ++d) {
      const auto dim = static_cast<std::int64_t>(u64());
      if (!ok_ || dim < 0) {
        return corrupt("tensor '" + name + "' has a bad shape");
      }
      const auto udim = static_cast<std::uint64_t>(dim);
      if (udim != 0 && elements > remaining() / udim) {
        return corrupt("tensor '" + name + "' declares more elements than the record holds");
      }
      elements *= udim;
    }
    tensor.dims_ = bytes_.substr(dims_from, at_ - dims_from);
    tensor.elements_ = elements;
    if (tensor.dtype_ == DType::kBytes) {
      if (elements > remaining() / 8) {
        return corrupt("tensor '" + name + "' declares more strings than the record holds");
      }
      const std::size_t strings_from = at_;
      for (std::uint64_t i = 0; i < elements && ok_; ++i) {
        text();
      }
      if (!ok_) {
        return corrupt("tensor '" + name + "' is truncated");
      }
      tensor.data_ = bytes_.substr(strings_from, at_ - strings_from);
      return Status();
    }
    const std::uint64_t nbytes = u64();
    if (!ok_ || nbytes != elements * dtypeSize(tensor.dtype_) || nbytes > remaining()) {
      return corrupt("tensor '" + name + "' has a data size that does not match its shape");
    }
    tensor.data_ = view(nbytes);
    return Status();
  }

  std::string_view bytes_;
  std::size_t at_ = 0;
  bool ok_ = true;
};

namespace {

/// The u64-length-prefixed strings of `bytes`, which the parser has checked.
std::vector<std::string> checkedStrings(std::string_view bytes, std::size_t count) {
  std::vector<std::string> out;
  out.reserve(count);
  std::size_t at = 0;
  for (std::size_t i = 0; i < count; ++i) {
    std::uint64_t size = 0;
    for (std::size_t b = 0; b < 8; ++b) {
      size |= std::uint64_t{static_cast<unsigned char>(bytes[at + b])} << (8 * b);
    }
    out.emplace_back(bytes.substr(at + 8, static_cast<std::size_t>(size)));
    at += 8 + static_cast<std::size_t>(size);
  }
  return out;
}

/// The payload inside a record's envelope, checked (type, format, CRC).
Expected<std::string_view> recordPayload(std::string_view bytes) {
  std::string_view payload;
  auto header = decodeModelArtifact(bytes, payload);
  if (!header.ok()) {
    return Status(header.status().code(),
                  "payload record: " + std::string(header.status().message()));
  }
  if (header->type != kPayloadRecordType || header->format_version != kPayloadRecordFormat) {
    return invalidArgument("not a payload record of format " +
                           std::to_string(kPayloadRecordFormat) + " (it holds a '" + header->type +
                           "' of format " + std::to_string(header->format_version) + ")");
  }
  return payload;
}

}  // namespace

std::vector<std::string> PayloadTensorView::strings() const {
  if (dtype_ != DType::kBytes) return {};
  return checkedStrings(data_, static_cast<std::size_t>(elements_));
}

Tensor PayloadTensorView::toTensor() const {
  Shape shape(rank_);
  for (std::size_t d = 0; d < rank_; ++d) {
    shape[d] = dim(d);
  }
  if (dtype_ == DType::kBytes) {
    return Tensor::fromStrings(strings()).reshaped(std::move(shape));
  }
  Tensor tensor(dtype_, std::move(shape));
  if (!data_.empty()) {
    std::memcpy(tensor.raw(), data_.data(), data_.size());
  }
  return tensor;
}

TensorMap PayloadTensorsView::toTensorMap() const {
  TensorMap map;
  for (const PayloadTensorView& tensor : tensors_) {
    map.set(std::string(tensor.name()), tensor.toTensor());
  }
  return map;
}

PayloadEntry PayloadEntryView::toEntry() const {
  PayloadEntry entry;
  entry.request_id = std::string(request_id);
  entry.model = std::string(model);
  entry.version = std::string(version);
  entry.unix_ns = unix_ns;
  entry.latency_us = latency_us;
  entry.outcome = std::string(outcome);
  entry.inputs = inputs.toTensorMap();
  entry.outputs = outputs.toTensorMap();
  entry.masked_features = checkedStrings(masked, masked_count);
  return entry;
}

Status parsePayloadRecord(std::string_view bytes, std::vector<PayloadTensorView>& tensors,
                          std::vector<PayloadEntryView>& entries) {
  AIMASS_ASSIGN_OR_RETURN(std::string_view payload, recordPayload(bytes));
  return PayloadRecordParser(payload).parse(tensors, entries);
}

void PayloadViews::clear() noexcept {
  entries_.clear();
  used_ = 0;
}

Status PayloadViews::addRecord(const Storage& storage, const std::string& key) {
  AIMASS_ASSIGN_OR_RETURN(std::unique_ptr<BlobReader> reader, storage.openRead(key));
  if (used_ == buffers_.size()) {
    buffers_.emplace_back();
    tensors_.emplace_back();
  }
  std::string& buffer = buffers_[used_];
  const auto size = static_cast<std::size_t>(reader->size());
  if (buffer.size() < size) {
    buffer.resize(size);  // never shrunk: the next record of this size needs no new pages
  }
  for (std::size_t have = 0; have < size;) {
    AIMASS_ASSIGN_OR_RETURN(std::size_t got, reader->read(buffer.data() + have, size - have));
    if (got == 0) {
      return dataLoss("payload record: the storage gave " + std::to_string(have) + " of its " +
                      std::to_string(size) + " bytes");
    }
    have += got;
  }
  AIMASS_RETURN_IF_ERROR(
      parsePayloadRecord(std::string_view(buffer.data(), size), tensors_[used_], entries_));
  ++used_;
  return Status();
}

void PayloadViews::keepFirst(std::int64_t from_ns, std::size_t limit) {
  std::erase_if(entries_, [from_ns](const PayloadEntryView& e) { return e.unix_ns < from_ns; });
  std::stable_sort(entries_.begin(), entries_.end(),
                   [](const auto& a, const auto& b) { return a.unix_ns < b.unix_ns; });
  if (entries_.size() > limit) {
    entries_.resize(limit);
  }
}

Status readPayloadViews(const Storage& storage, const PayloadQuery& query, PayloadViews& found) {
  found.clear();
  AIMASS_ASSIGN_OR_RETURN(std::vector<PayloadRecordKey> records,
                          listPayloadRecords(storage, query.model, query.version));
  if (query.limit == 0) {
    return Status();
  }
  std::vector<std::int64_t> times;  // of the entries found so far, at or after from_ns
  for (const PayloadRecordKey& record : records) {
    if (record.last_ns < query.from_ns) {
      continue;
    }
    // Records come by first time and hold nothing earlier: once `limit` entries lie before
    // this record's first, no later record changes the answer.
    if (times.size() >= query.limit) {
      std::nth_element(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(query.limit - 1),
                       times.end());
      if (times[query.limit - 1] < record.first_ns) {
        break;
      }
    }
    const std::size_t before = found.entries().size();
    Status added = found.addRecord(storage, record.key);
    if (added.code() == StatusCode::kNotFound) {
      continue;  // trimmed meanwhile
    }
    if (!added.ok()) {
      found.clear();
      return Status(added.code(), "payload record '" + record.key + "' in " + storage.describe() +
                                      ": " + added.message());
    }
    for (std::size_t i = before; i < found.entries().size(); ++i) {
      if (found.entries()[i].unix_ns >= query.from_ns) {
        times.push_back(found.entries()[i].unix_ns);
      }
    }
  }
  found.keepFirst(query.from_ns, query.limit);
  return Status();
}

}  // namespace aimass::core
