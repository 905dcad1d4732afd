// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <cstring>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/status.h"
#include "aimass/storage.h"
#include "aimass/tensor.h"
#include "monitoring/payload_record.h"

/// Logged payloads read in place: the entries of payload records (payload_record.h) as views
/// into the records' bytes, so that a reader copies only what it keeps (the monitor copies a
/// request's inputs straight into its drift window) instead of a decoded PayloadEntry with its
/// own tensors for every entry. decodePayloadRecord() and readPayloads() are built on these, so
/// both read records through the same checks.
namespace aimass::core {

/// One tensor of a logged entry, as its record holds it. Valid while the record's bytes are.
class PayloadTensorView {
 public:
  std::string_view name() const noexcept { return name_; }
  DType dtype() const noexcept { return dtype_; }
  std::size_t rank() const noexcept { return rank_; }
  std::int64_t dim(std::size_t i) const noexcept {
    std::int64_t value;
    std::memcpy(&value, dims_.data() + 8 * i, 8);
    return value;
  }
  std::int64_t numel() const noexcept { return static_cast<std::int64_t>(elements_); }
  /// Element `i` of a number tensor of element type T (float for kFloat32, std::int64_t for
  /// kInt64, ...); the record's bytes need not be aligned for T.
  template <typename T>
  T at(std::size_t i) const noexcept {
    T value;
    std::memcpy(&value, data_.data() + i * sizeof(T), sizeof(T));
    return value;
  }
  /// Copies `count` elements of a number tensor from element `first` to `out`.
  template <typename T>
  void copy(std::size_t first, std::size_t count, T* out) const noexcept {
    std::memcpy(out, data_.data() + first * sizeof(T), count * sizeof(T));
  }
  /// The strings of a kBytes tensor (empty for other dtypes).
  std::vector<std::string> strings() const;
  /// A tensor of its own with the same dtype, shape and contents.
  Tensor toTensor() const;

 private:
  friend class PayloadRecordParser;
  std::string_view name_;
  std::string_view dims_;  ///< rank_ little-endian int64s
  std::string_view data_;  ///< the elements, or a kBytes tensor's length-prefixed strings
  DType dtype_ = DType::kFloat32;
  std::uint32_t rank_ = 0;
  std::uint64_t elements_ = 0;
};

/// The named tensors of a logged entry (its inputs or its outputs).
class PayloadTensorsView {
 public:
  PayloadTensorsView() = default;
  explicit PayloadTensorsView(std::span<const PayloadTensorView> tensors) : tensors_(tensors) {}
  /// The tensor named `name`; null when there is none.
  const PayloadTensorView* find(std::string_view name) const noexcept {
    for (const PayloadTensorView& tensor : tensors_) {
      if (tensor.name() == name) return &tensor;
    }
    return nullptr;
  }
  auto begin() const noexcept { return tensors_.begin(); }
  auto end() const noexcept { return tensors_.end(); }
  TensorMap toTensorMap() const;

 private:
  std::span<const PayloadTensorView> tensors_;
};

/// One logged entry (PayloadEntry's fields) as views into its record.
struct PayloadEntryView {
  std::string_view request_id;
  std::string_view model;
  std::string_view version;
  std::int64_t unix_ns = 0;
  std::int64_t latency_us = 0;
  std::string_view outcome;
  PayloadTensorsView inputs;
  PayloadTensorsView outputs;
  std::uint32_t masked_count = 0;
  std::string_view masked;  ///< masked_count length-prefixed feature names

  /// The entry with copies of everything.
  PayloadEntry toEntry() const;
};

/// Parses one payload record (its envelope checked first) and appends its entries to
/// `entries`, their tensors in `tensors` (cleared first): the views point into `bytes` and
/// `tensors`, which must outlive them unchanged. The errors of decodePayloadRecord(); nothing
/// is appended on one.
Status parsePayloadRecord(std::string_view bytes, std::vector<PayloadTensorView>& tensors,
                          std::vector<PayloadEntryView>& entries);

/// Entries read in place, with the records' bytes they view. Not copyable (the views point
/// into its own members); a move keeps them valid. Reading again into the same PayloadViews
/// reuses its record buffers, so that a reader that reads every few hundred milliseconds (the
/// monitor) neither allocates nor faults in fresh pages for each record; it keeps the largest
/// reads' buffers meanwhile.
class PayloadViews {
 public:
  PayloadViews() = default;
  PayloadViews(PayloadViews&&) = default;
  PayloadViews& operator=(PayloadViews&&) = default;
  PayloadViews(const PayloadViews&) = delete;
  PayloadViews& operator=(const PayloadViews&) = delete;

  const std::vector<PayloadEntryView>& entries() const noexcept { return entries_; }
  /// Forgets the entries (their views become invalid), keeping the buffers for the next read.
  void clear() noexcept;
  /// Reads the record under `key` into a buffer of its own and appends its entries: kNotFound
  /// when there is none; the storage's error, or decodePayloadRecord()'s, otherwise, with
  /// nothing appended.
  Status addRecord(const Storage& storage, const std::string& key);
  /// Keeps the entries logged at or after `from_ns`, the first `limit` of them in time order
  /// (entries of one time in the order they were added).
  void keepFirst(std::int64_t from_ns, std::size_t limit);

 private:
  // Deques: adding a buffer moves none of those the views point into.
  std::deque<std::string> buffers_;  ///< the first used_ hold this read's records
  std::deque<std::vector<PayloadTensorView>> tensors_;  ///< one vector per buffer
  std::size_t used_ = 0;
  std::vector<PayloadEntryView> entries_;
};

/// readPayloads(), read in place into `views` (cleared first, its buffers reused): the first
/// `query.limit` entries of the model logged at or after `query.from_ns`, in time order,
/// reading only the records that can hold them. A record that cannot be read or decoded fails
/// the call with an error naming its key and the storage; a record trimmed while the call runs
/// is skipped. Safe from any thread (on views of its own).
Status readPayloadViews(const Storage& storage, const PayloadQuery& query, PayloadViews& views);

}  // namespace aimass::core
