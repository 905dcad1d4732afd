// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/dataset.h"
#include "aimass/status.h"
#include "aimass/storage.h"
#include "monitoring/outlier.h"

namespace aimass::core {

/// The quantiles `aimass models show` prints of each number feature, in this order (taken from
/// the percentiles of a profile of format 2; kept as they were in one of format 1).
inline constexpr std::array<double, 7> kProfileQuantiles = {0.01, 0.05, 0.25, 0.5,
                                                            0.75, 0.95, 0.99};
/// Percentiles a profile of format 2 keeps of each number feature: 0%, 1%, ..., 100%.
inline constexpr std::size_t kProfilePercentiles = 101;
/// Most distinct values a category feature's profile keeps; past it the set is marked
/// incomplete and serving no longer flags unseen categories of that feature.
inline constexpr std::size_t kMaxProfileCategories = 1000;
/// Most sampled values kept per number feature (the quantile sketch), and the most over all
/// features together: a wide dataset keeps fewer per feature (never under 64). The row sample
/// the outlier scorer is fitted on (monitoring/outlier.h) has the same budget: at most
/// kOutlierRowSample rows, fewer for wide data (never under 64).
inline constexpr std::size_t kProfileSampleSize = 2048;
inline constexpr std::size_t kProfileSampleBudget = std::size_t{1} << 20;

/// What the training rows held in one feature column.
struct FeatureProfile {
  enum class Kind { kNumber, kCategory };
  std::string name;
  Kind kind = Kind::kNumber;
  std::uint64_t present = 0;  ///< rows with a value
  std::uint64_t missing = 0;  ///< rows without (NaN, or an empty text)
  // kNumber: over the present values (all 0 when none was present).
  double min = 0;
  double max = 0;
  std::array<double, kProfileQuantiles.size()> quantiles{};
  // kNumber, format 2 only (empty and 0 in a profile of format 1): what a drift test needs.
  std::vector<double> percentiles;  ///< kProfilePercentiles values: the 0%, 1%, ..., 100% ones
  std::uint64_t sample_size = 0;    ///< k: the values the percentiles came from
  double mean = 0;                  ///< exact (Welford), over every present value
  double stddev = 0;                ///< exact, with n - 1 (0 for fewer than 2 values)
  // kCategory: the values seen, sorted; `complete` is false when more than
  // kMaxProfileCategories distinct values were seen (the set holds the first ones).
  std::vector<std::string> categories;
  bool complete = true;
  /// Format 2 only (empty in format 1): the rows holding each of `categories`, in its order.
  /// With an incomplete set, present minus their sum is the rows of the dropped values.
  std::vector<std::uint64_t> category_counts;

  double missingRate() const {
    const auto rows = present + missing;
    return rows == 0 ? 0.0 : static_cast<double>(missing) / static_cast<double>(rows);
  }
};

/// kProfileQuantiles read off kProfilePercentiles percentiles (each is one of them).
std::array<double, kProfileQuantiles.size()> quantilesOfPercentiles(
    const std::vector<double>& percentiles);

/// The profile of a model's training data: what job.train saw, kept beside the model so that
/// serving can tell a request unlike anything trained on (input_check.h). Number features are
/// the columns of the model's "input" block in order; category features are the dataset's text
/// columns (DatasetSchema::string_feature_names), each its own BYTES input.
struct DataProfile {
  /// The record format it was decoded from (a new one is 2). Format 1 kept no percentiles,
  /// moments or category counts: drift cannot be tested against it (monitoring/drift_tests.h).
  int format = 2;
  std::uint64_t rows = 0;
  std::vector<FeatureProfile> features;  ///< number features first, then categories
  /// The per-row outlier scorer fitted on the training rows (format 2; none in format 1, or
  /// when there were no number features or too few rows).
  std::optional<OutlierModel> outlier;
  /// The number features (the width of the "input" block).
  std::size_t numberFeatures() const;
};

/// Builds a DataProfile in one pass over batches of rows, in memory bounded by the number of
/// features: min, max, missing counts, mean and standard deviation (Welford) and category
/// counts are exact; percentiles come from a uniform reservoir sample (Vitter's algorithm R,
/// seeded so a run is reproducible) of at most kProfileSampleSize values a feature,
/// interpolated linearly between order statistics. They are exact while a feature has no more
/// present values than its sample holds; beyond, a percentile's rank is off by about
/// sqrt(p(1-p)/k) (k the sample size: under 0.011 for 2048). A second reservoir keeps whole
/// rows of the number features, which finish() fits the outlier scorer on.
///
/// Threading: one builder is used by one thread.
class DataProfileBuilder {
 public:
  /// Refuses (kInvalidArgument) data it cannot profile: features that are not FP32, or a
  /// variable-length row shape.
  static Expected<DataProfileBuilder> forSchema(const DatasetSchema& schema);

  /// Adds the rows of `batch` (as Dataset::read() fills it).
  Status add(const Batch& batch);
  /// The profile of every row added so far.
  DataProfile finish() const;

 private:
  DataProfileBuilder() = default;
  struct NumberColumn {
    std::vector<double> sample;
    std::uint64_t seen = 0;   // present values offered to the sample
    std::uint64_t state = 0;  // the sample's random stream
    double mean = 0;          // Welford's running mean and sum of squared deviations
    double squares = 0;
  };
  struct CategoryColumn {
    std::vector<std::string> values;  // sorted
    std::vector<std::uint64_t> counts;
  };
  void addNumber(std::size_t feature, double value);
  void addCategory(std::size_t feature, const std::string& value);
  void addRowToSample(const float* row);

  DataProfile profile_;
  std::size_t width_ = 0;        // number features
  std::size_t sample_size_ = 0;  // per number feature
  std::vector<NumberColumn> numbers_;
  std::vector<CategoryColumn> seen_;  // per category feature
  // The row reservoir: at most row_sample_size_ rows of width_ values, row-major.
  std::size_t row_sample_size_ = 0;
  std::vector<float> row_sample_;
  std::uint64_t rows_seen_ = 0;
  std::uint64_t row_state_ = 0;
};

/// Profiles rows `rows` of `dataset`, reading them in batches.
Expected<DataProfile> profileRows(const Dataset& dataset, const std::vector<std::uint64_t>& rows);

/// The profile as a record of the text format of record_text.h, format 2:
///   aimass-data-profile 2
///   rows 600
///   number pressure_kpa 582 18 301.2 512.9 MEAN STDDEV K P0 P1 ... P100
///   category vendor 552 48 complete Aquaflow 130 Castell 422
///   outlier full THRESHOLD SHRINKAGE FIT_ROWS CALIBRATION_ROWS
///   covariance C00
///   covariance C10 C11          (one line a number feature: the lower triangle)
/// ("incomplete" when the category set hit its bound; "outlier diagonal ..." has no covariance
/// lines; no outlier line when the profile has no scorer). Its size is bounded: 110 numbers a
/// number feature, at most 1000 names and counts a category feature, and at most
/// 256 x 257 / 2 = 32 896 covariance entries (FP32 text, about 300 KB).
/// Format 1 (still decoded) had "number NAME PRESENT MISSING MIN MAX Q1 Q5 Q25 Q50 Q75 Q95 Q99",
/// category lines without counts and no outlier lines.
std::string encodeDataProfile(const DataProfile& profile);
/// Parses a record of format 1 or 2; kDataLoss naming what is malformed.
Expected<DataProfile> decodeDataProfile(std::string_view text);

/// The profile saved beside a model artifact: "<artifact key>.profile" (the registry's version
/// record names it; see ModelVersion::profile_key).
std::string dataProfileKey(std::string_view artifact_key);
/// Reads and decodes the profile at `key`; the error names the key.
Expected<std::shared_ptr<const DataProfile>> readDataProfile(const Storage& storage,
                                                             const std::string& key);

}  // namespace aimass::core
