// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/dataset.h"

namespace aimass::plugins::dataset {

/// How dataset.csv rescales each feature column, once, when the file is loaded. The statistics
/// come from the rows of this file (a separate test file gets its own).
enum class CsvNormalize {
  kNone,
  kStandardize,  ///< (x - mean) / std, population std; a constant column is only centred
  kMinMax,       ///< (x - min) / (max - min) into [0, 1]; a constant column becomes 0
};

/// How to read a CSV file. Mirrors the dataset.csv parameters.
struct CsvOptions {
  std::filesystem::path path;
  /// The label column; nullopt for unlabelled data.
  std::optional<std::string> label;
  /// The feature columns in this order; nullopt for every column except the label.
  std::optional<std::vector<std::string>> columns;
  /// kClass (labels are names or numbers naming classes) or kValue (numeric targets).
  LabelKind label_kind = LabelKind::kClass;
  char delimiter = ',';
  /// Whether the first record names the columns. Without a header the columns are named by
  /// their 0-based position: "0", "1", ...
  bool header = true;
  CsvNormalize normalize = CsvNormalize::kNone;
};

/// A CSV file read once, completely, into memory: one contiguous FP32 buffer of features (row
/// after row) and one of labels.
///
/// Parsing is strict: every feature must be a finite number and every row must have the
/// header's number of fields. Quoted fields ("a,b", with "" for a quote, newlines allowed),
/// CRLF line ends, a UTF-8 byte-order mark and blank lines are handled.
///
/// Class labels: the distinct label strings become class_names, sorted numerically when every
/// one is an integer ("2" < "10"), lexicographically otherwise; rows carry INT64 indices into
/// them. Value labels are FP32 with one target per row.
///
/// Threading: immutable after open(); read() may be called from many threads at once.
class CsvDataset final : public Dataset {
 public:
  /// Reads and parses the file. Errors name the file, the line and the column: kNotFound for a
  /// missing file, kPermissionDenied for an unreadable one, kInvalidArgument for an empty file,
  /// no data rows, ragged rows, non-numeric or non-finite features, unknown or duplicate
  /// column names (with a "did you mean" hint) and an unterminated quote.
  static Expected<std::unique_ptr<CsvDataset>> open(const CsvOptions& options);

  /// Parses CSV text already in memory; `source` names it in errors (a path or "<input>").
  static Expected<std::unique_ptr<CsvDataset>> parse(std::string_view text, std::string_view source,
                                                     const CsvOptions& options);

  const DatasetSchema& schema() const override { return schema_; }
  std::uint64_t size() const override { return rows_; }
  /// Fills `out` with the rows' features (FP32 [n, F]) and labels (INT64 [n] for classes,
  /// FP32 [n, 1] for values; an empty tensor when unlabelled), reusing out's buffers.
  /// kOutOfRange naming the first index >= size(); `out` is untouched then.
  Status read(std::span<const std::uint64_t> rows, Batch& out) const override;
  /// 64-bit FNV-1a of the file's bytes as 16 lowercase hex digits.
  std::string fingerprint() const override { return fingerprint_; }

  /// "the 64-bit FNV-1a hash of `bytes` as 16 hex digits".
  static std::string fnv1aHex(std::string_view bytes);

 private:
  CsvDataset() = default;
  /// Rescales features_ in place, column by column.
  void normalize(CsvNormalize how);

  DatasetSchema schema_;
  std::uint64_t rows_ = 0;
  std::size_t width_ = 0;
  std::vector<float> features_;        // rows_ x width_
  std::vector<std::int64_t> classes_;  // kClass: one per row
  std::vector<float> values_;          // kValue: one per row
  std::string fingerprint_;
};

}  // namespace aimass::plugins::dataset
