// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "aimass/node.h"
#include "aimass/status.h"
#include "aimass/tensor.h"

namespace aimass {

/// What the labels of a dataset are.
enum class LabelKind {
  kNone,       ///< unlabelled (clustering, inference-only data)
  kClass,      ///< one class index per row (INT64), names in DatasetSchema::class_names
  kValue,      ///< one or more real targets per row (FP32)
  kNextToken,  ///< sequence data: the label of each step is the next token (INT64)
};

/// The shape of a dataset's rows.
struct DatasetSchema {
  std::vector<std::string> feature_names;  ///< one per feature column (may be empty for images)
  DType feature_dtype = DType::kFloat32;   ///< FP32 features; INT64 for ids and tokens
  Shape row_shape;                         ///< per-row feature shape, e.g. {4}, {784}, {2} ids,
                                           ///< {-1} for variable-length sequences
  LabelKind label_kind = LabelKind::kNone;
  std::vector<std::string> class_names;     ///< kClass: index -> name
  std::int64_t num_targets = 0;             ///< kValue: targets per row; kClass: 1
  std::vector<std::int64_t> cardinalities;  ///< INT64 features: number of distinct ids per column
                                            ///< (users, items, vocabulary), 0 when unknown
  /// INT64 id features read from text ids (users, items): per such column, index -> the id as
  /// written in the source; empty when ids are plain numbers or not ids. A model saves what it
  /// needs of these, so that requests can name users and items as the data did.
  std::vector<std::vector<std::string>> id_names;
  /// Columns of text read as categories (a CSV's "red"/"green"), one per column of
  /// Batch::strings, in source order; empty when the data has none. A model takes them only
  /// through transforms that encode them (aimass/transform.h): job.train refuses such data for
  /// a model without them.
  std::vector<std::string> string_feature_names;
};

/// A batch of rows as tensors. Features have shape {rows, row_shape...}; labels {rows} for
/// classes (INT64) or {rows, num_targets} for values (FP32). Variable-length sequences are padded
/// to the longest row and `lengths` (INT64 {rows}) holds each row's true length. A missing
/// numeric value is NaN in `features`; data with text columns (DatasetSchema::
/// string_feature_names) has them in `strings`, BYTES {rows, columns}, a missing one empty.
struct Batch {
  Tensor features;
  Tensor labels;
  Tensor lengths;
  Tensor strings;
  std::size_t rows() const noexcept {
    return features.rank() ? static_cast<std::size_t>(features.dim(0)) : 0;
  }
};

/// Rows of data read by index.
///
/// Datasets are read-only after creation: read() is const and safe to call from many threads at
/// once (data-parallel training reads disjoint shards concurrently). Shuffling, splits and
/// sharding are done by the caller choosing which row indices to read.
class Dataset : public Node {
 public:
  NodeKind kind() const noexcept final { return NodeKind::kDataset; }

  virtual const DatasetSchema& schema() const = 0;
  /// Number of rows.
  virtual std::uint64_t size() const = 0;
  /// Reads the rows `rows` (in that order) into `out`, reusing out's buffers when they are big
  /// enough. kOutOfRange names the first index >= size().
  virtual Status read(std::span<const std::uint64_t> rows, Batch& out) const = 0;
  /// A hash of the dataset's content (hex), for lineage; empty when the reader cannot tell.
  virtual std::string fingerprint() const { return {}; }
};

/// The rows of shard `rank` of `size` equal shards of `rows` (the first shards take one extra
/// row when it does not divide evenly).
inline std::vector<std::uint64_t> shardRows(const std::vector<std::uint64_t>& rows, int rank,
                                            int size) {
  std::vector<std::uint64_t> out;
  if (size <= 0 || rank < 0 || rank >= size) {
    return out;
  }
  std::size_t n = rows.size(), base = n / size, extra = n % size;
  std::size_t begin = rank * base + std::min<std::size_t>(rank, extra);
  std::size_t count = base + (static_cast<std::size_t>(rank) < extra ? 1 : 0);
  out.assign(rows.begin() + begin, rows.begin() + begin + count);
  return out;
}

}  // namespace aimass
