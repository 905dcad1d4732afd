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

/// How dataset.csv rescales each numeric feature column, once, when the file is loaded. The
/// statistics come from the rows of this file (a separate test file gets its own), so they are
/// not part of a saved model: deprecated in favour of a model's `preprocess:` transforms.
enum class CsvNormalize {
  kNone,
  kStandardize,  ///< (x - mean) / std, population std; a constant column is only centred
  kMinMax,       ///< (x - min) / (max - min) into [0, 1]; a constant column becomes 0
};

/// Which columns of a file are the label and the features, and which features are text; made
/// while parsing (csv.cc).
struct CsvLayout;

/// How to read a CSV file. Mirrors the dataset.csv parameters.
struct CsvOptions {
  /// The markers of a missing value that dataset.csv knows by default, besides an empty field.
  static std::vector<std::string> defaultMissingValues() {
    return {"NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "?"};
  }

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
  /// Feature columns read as text even when every value looks like a number (zip codes).
  std::vector<std::string> text_columns;
  /// Field values that mean "missing" (compared with the field without surrounding spaces,
  /// exactly, case included). An empty field is always missing.
  std::vector<std::string> missing_values = defaultMissingValues();
};

/// A CSV file read once, completely, into memory: one contiguous FP32 buffer of the numeric
/// features (row after row), the text features as per-column dictionaries, and the labels.
///
/// Columns: a feature column is text (a category) when one of its non-missing values is not
/// written as a number, or when `text_columns` names it; otherwise it is numeric. Numeric
/// columns are the schema's feature_names and Batch::features; text columns its
/// string_feature_names and Batch::strings, both in `columns` order (file order by default).
/// Missing values (empty fields and the `missing_values` markers) are NaN in numeric columns and
/// "" in text ones; a missing label is an error. Values are taken without surrounding spaces.
///
/// Parsing is strict otherwise: numbers must be finite FP32 values and every row must have the
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
  /// no data rows, ragged rows, non-finite or out-of-range numbers, missing labels, unknown or
  /// duplicate column names (with a "did you mean" hint) and an unterminated quote.
  static Expected<std::unique_ptr<CsvDataset>> open(const CsvOptions& options);

  /// Parses CSV text already in memory; `source` names it in errors (a path or "<input>").
  static Expected<std::unique_ptr<CsvDataset>> parse(std::string_view text, std::string_view source,
                                                     const CsvOptions& options);

  const DatasetSchema& schema() const override { return schema_; }
  std::uint64_t size() const override { return rows_; }
  /// Fills `out` with the rows' numeric features (FP32 [n, F], reusing out's buffer), their text
  /// features (BYTES [n, T], a fresh tensor: BYTES tensors cannot be written in place; an empty
  /// tensor when the file has no text columns) and labels (INT64 [n] for classes, FP32 [n, 1]
  /// for values; an empty tensor when unlabelled). kOutOfRange naming the first index >= size();
  /// `out` is untouched then.
  Status read(std::span<const std::uint64_t> rows, Batch& out) const override;
  /// 64-bit FNV-1a of the file's bytes as 16 lowercase hex digits: any change to a cell, numeric
  /// or text, changes it.
  std::string fingerprint() const override { return fingerprint_; }

  /// What the user should hear about while the file was read, one sentence each (a column that
  /// is mostly numbers but was read as text because of a few values). The plugin logs them.
  const std::vector<std::string>& warnings() const { return warnings_; }

  /// "the 64-bit FNV-1a hash of `bytes` as 16 hex digits".
  static std::string fnv1aHex(std::string_view bytes);

 private:
  CsvDataset() = default;
  /// Sets schema_ from the layout and the labels seen (class names sorted and renumbered).
  void makeSchema(const CsvLayout& layout, LabelKind label_kind,
                  const std::vector<std::string>& first_seen);
  /// Rescales features_ in place, column by column, ignoring missing (NaN) values.
  void normalize(CsvNormalize how);

  DatasetSchema schema_;
  std::uint64_t rows_ = 0;
  std::size_t width_ = 0;                               // numeric feature columns
  std::vector<float> features_;                         // rows_ x width_
  std::vector<std::vector<std::string>> text_values_;   // per text column: code -> text; 0 is ""
  std::vector<std::vector<std::uint32_t>> text_codes_;  // per text column: a code per row
  std::vector<std::int64_t> classes_;                   // kClass: one per row
  std::vector<float> values_;                           // kValue: one per row
  std::string fingerprint_;
  std::vector<std::string> warnings_;
};

}  // namespace aimass::plugins::dataset
