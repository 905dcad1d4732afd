// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/dataset.h"
#include "aimass/status.h"
#include "aimass/storage.h"

namespace aimass::core {

/// The quantiles a profile keeps of each number feature, in this order.
inline constexpr std::array<double, 7> kProfileQuantiles = {0.01, 0.05, 0.25, 0.5,
                                                            0.75, 0.95, 0.99};
/// Most distinct values a category feature's profile keeps; past it the set is marked
/// incomplete and serving no longer flags unseen categories of that feature.
inline constexpr std::size_t kMaxProfileCategories = 1000;
/// Most sampled values kept per number feature (the quantile sketch), and the most over all
/// features together: a wide dataset keeps fewer per feature (never under 64).
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
  // kCategory: the values seen, sorted; `complete` is false when more than
  // kMaxProfileCategories distinct values were seen (the set holds the first ones).
  std::vector<std::string> categories;
  bool complete = true;

  double missingRate() const {
    const auto rows = present + missing;
    return rows == 0 ? 0.0 : static_cast<double>(missing) / static_cast<double>(rows);
  }
};

/// The profile of a model's training data: what job.train saw, kept beside the model so that
/// serving can tell a request unlike anything trained on (input_check.h). Number features are
/// the columns of the model's "input" block in order; category features are the dataset's text
/// columns (DatasetSchema::string_feature_names), each its own BYTES input.
struct DataProfile {
  std::uint64_t rows = 0;
  std::vector<FeatureProfile> features;  ///< number features first, then categories
  /// The number features (the width of the "input" block).
  std::size_t numberFeatures() const;
};

/// Builds a DataProfile in one pass over batches of rows, in memory bounded by the number of
/// features: min, max and missing counts are exact; quantiles come from a uniform reservoir
/// sample (Vitter's algorithm R, seeded so a run is reproducible) of at most
/// kProfileSampleSize values a feature, interpolated linearly between order statistics. They
/// are exact while a feature has no more present values than its sample holds; beyond, a
/// quantile's rank is off by about sqrt(p(1-p)/k) (k the sample size: under 0.011 for 2048).
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
  };
  void addNumber(std::size_t feature, double value);
  void addCategory(std::size_t feature, const std::string& value);

  DataProfile profile_;
  std::size_t width_ = 0;        // number features
  std::size_t sample_size_ = 0;  // per number feature
  std::vector<NumberColumn> numbers_;
  std::vector<std::vector<std::string>> seen_;  // per category feature, sorted
};

/// Profiles rows `rows` of `dataset`, reading them in batches.
Expected<DataProfile> profileRows(const Dataset& dataset, const std::vector<std::uint64_t>& rows);

/// The profile as a record of the text format of record_text.h:
///   aimass-data-profile 1
///   rows 600
///   number pressure_kpa 582 18 301.2 512.9 q1 q5 q25 q50 q75 q95 q99
///   category vendor 552 48 complete Aquaflow Castell
/// ("incomplete" when the category set hit its bound).
std::string encodeDataProfile(const DataProfile& profile);
/// Parses encodeDataProfile()'s text; kDataLoss naming what is malformed.
Expected<DataProfile> decodeDataProfile(std::string_view text);

/// The profile saved beside a model artifact: "<artifact key>.profile" (the registry's version
/// record names it; see ModelVersion::profile_key).
std::string dataProfileKey(std::string_view artifact_key);
/// Reads and decodes the profile at `key`; the error names the key.
Expected<std::shared_ptr<const DataProfile>> readDataProfile(const Storage& storage,
                                                             const std::string& key);

}  // namespace aimass::core
