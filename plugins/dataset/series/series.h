// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/dataset.h"

namespace aimass::plugins::dataset {

/// Which windows of a series a dataset serves: by where their targets lie in time.
enum class SeriesPart { kTrain, kValidation, kTest, kAll };

/// How to read a series. Mirrors the dataset.series parameters.
struct SeriesOptions {
  std::filesystem::path path;
  std::string time_column = "time";
  std::vector<std::string> target_columns;
  std::vector<std::string> covariate_columns;
  std::int64_t window = 24;
  std::int64_t horizon = 1;
  std::int64_t stride = 1;
  SeriesPart part = SeriesPart::kAll;
  double validation_fraction = 0;
  double test_fraction = 0;
};

/// A time series from a CSV file, served as sliding windows for forecasting.
///
/// The rows must be in strictly increasing time order (the file is not sorted: a row earlier
/// than the one before it is an error, as is a repeated time, each naming both lines). Times
/// are numbers or ISO-8601 dates and times (2024-03-01, 2024-03-01T13:00, 2024-03-01 13:00:05,
/// with an optional Z or +01:00 offset); the spacing is not checked.
///
/// The N rows are split by time: the last round(N * test_fraction) rows are the test range, the
/// round(N * validation_fraction) before them the validation range, the rest the train range.
/// A window belongs to the range that holds all of its `horizon` target rows; its `window` input
/// rows are the rows just before the first target, so validation and test windows may take
/// their input history from earlier ranges, but no target ever lies outside its range. The
/// first target row of a part's k-th window is max(range begin, window) + k * stride.
///
/// Features FP32 [window, targets + covariates] (targets first, in the order named); labels
/// FP32 [horizon * targets], step-major (step h, target j at h * targets + j). Values are raw:
/// nothing is normalised.
///
/// Errors (kInvalidArgument unless the file is missing or unreadable) name the file, the line
/// and the column: missing or non-numeric values, unknown columns, unordered or repeated
/// times, too few rows for one window of a part.
///
/// Threading: immutable after open(); read() may be called from many threads at once.
class SeriesDataset final : public Dataset {
 public:
  static Expected<std::unique_ptr<SeriesDataset>> open(const SeriesOptions& options);

  const DatasetSchema& schema() const override { return schema_; }
  std::uint64_t size() const override { return rows_; }
  Status read(std::span<const std::uint64_t> rows, Batch& out) const override;
  /// 64-bit FNV-1a of the file's bytes and of the window parameters, as hex.
  std::string fingerprint() const override { return fingerprint_; }

  /// Seconds since 1970-01-01T00:00Z of an ISO-8601 date or date-time; nullopt when `text` is
  /// not one (or names no real day or time).
  static std::optional<double> parseIsoTime(std::string_view text);

 private:
  SeriesDataset() = default;
  Status parse(std::string_view text, const SeriesOptions& options);
  Status layOut(const SeriesOptions& options);

  DatasetSchema schema_;
  std::uint64_t rows_ = 0;                // windows
  std::size_t width_ = 0;                 // targets + covariates
  std::size_t targets_ = 0;
  std::uint64_t series_rows_ = 0;         // rows of the file
  std::vector<float> values_;             // series_rows_ x width_
  std::uint64_t window_ = 0, horizon_ = 0, stride_ = 0;
  std::uint64_t first_target_ = 0;        // first target row of window 0
  std::string fingerprint_;
};

}  // namespace aimass::plugins::dataset
