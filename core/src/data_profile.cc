// SPDX-License-Identifier: Apache-2.0
#include "data_profile.h"

#include <algorithm>
#include <cmath>

#include "aimass/core/model_artifact.h"

namespace aimass::core {
namespace {

// Rows read per Dataset::read() call while profiling.
constexpr std::size_t kProfileBatchRows = 4096;

/// splitmix64: a small, fast, well-mixed random stream for the reservoir.
std::uint64_t nextRandom(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// The p-quantile of sorted `values`, interpolated linearly between order statistics.
double quantileOf(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) {
    return 0;
  }
  const double position = p * static_cast<double>(sorted.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  const std::size_t above = std::min(below + 1, sorted.size() - 1);
  const double fraction = position - static_cast<double>(below);
  return sorted[below] + fraction * (sorted[above] - sorted[below]);
}

}  // namespace

std::array<double, kProfileQuantiles.size()> quantilesOfPercentiles(
    const std::vector<double>& percentiles) {
  std::array<double, kProfileQuantiles.size()> out{};
  for (std::size_t q = 0; q < kProfileQuantiles.size(); ++q) {
    const auto at = static_cast<std::size_t>(std::lround(kProfileQuantiles[q] * 100));
    out[q] = at < percentiles.size() ? percentiles[at] : 0.0;
  }
  return out;
}

std::size_t DataProfile::numberFeatures() const {
  return static_cast<std::size_t>(std::count_if(
      features.begin(), features.end(),
      [](const FeatureProfile& f) { return f.kind == FeatureProfile::Kind::kNumber; }));
}

Expected<DataProfileBuilder> DataProfileBuilder::forSchema(const DatasetSchema& schema) {
  if (schema.feature_dtype != DType::kFloat32) {
    return invalidArgument("only FP32 features can be profiled, not " +
                           std::string(dtypeName(schema.feature_dtype)));
  }
  std::int64_t width = 1;
  for (std::int64_t d : schema.row_shape) {
    if (d < 0) {
      return invalidArgument("rows of variable length (" + shapeToString(schema.row_shape) +
                             ") cannot be profiled");
    }
    width *= d;
  }
  DataProfileBuilder builder;
  builder.width_ = static_cast<std::size_t>(width);
  const bool named = schema.feature_names.size() == builder.width_;
  for (std::size_t i = 0; i < builder.width_; ++i) {
    FeatureProfile feature;
    feature.name = named ? schema.feature_names[i] : "f" + std::to_string(i);
    builder.profile_.features.push_back(std::move(feature));
  }
  for (const auto& name : schema.string_feature_names) {
    FeatureProfile feature;
    feature.name = name;
    feature.kind = FeatureProfile::Kind::kCategory;
    builder.profile_.features.push_back(std::move(feature));
  }
  builder.sample_size_ =
      builder.width_ == 0
          ? 0
          : std::clamp<std::size_t>(kProfileSampleBudget / builder.width_, 64, kProfileSampleSize);
  builder.numbers_.resize(builder.width_);
  for (std::size_t i = 0; i < builder.width_; ++i) {
    builder.numbers_[i].state = 0x5EEDull + i;
  }
  builder.row_sample_size_ =
      builder.width_ == 0
          ? 0
          : std::clamp<std::size_t>(kProfileSampleBudget / builder.width_, 64, kOutlierRowSample);
  builder.row_state_ = 0x0D7E5EEDull;
  builder.seen_.resize(schema.string_feature_names.size());
  return builder;
}

void DataProfileBuilder::addNumber(std::size_t feature, double value) {
  FeatureProfile& f = profile_.features[feature];
  if (std::isnan(value)) {
    ++f.missing;
    return;
  }
  if (f.present == 0) {
    f.min = f.max = value;
  } else {
    f.min = std::min(f.min, value);
    f.max = std::max(f.max, value);
  }
  ++f.present;
  NumberColumn& column = numbers_[feature];
  const double delta = value - column.mean;
  column.mean += delta / static_cast<double>(f.present);
  column.squares += delta * (value - column.mean);
  if (column.sample.size() < sample_size_) {
    column.sample.push_back(value);
  } else {
    const std::uint64_t slot = nextRandom(column.state) % (column.seen + 1);
    if (slot < sample_size_) {
      column.sample[slot] = value;
    }
  }
  ++column.seen;
}

void DataProfileBuilder::addCategory(std::size_t feature, const std::string& value) {
  FeatureProfile& f = profile_.features[width_ + feature];
  if (value.empty()) {
    ++f.missing;
    return;
  }
  ++f.present;
  CategoryColumn& seen = seen_[feature];
  auto at = std::lower_bound(seen.values.begin(), seen.values.end(), value);
  const auto index = static_cast<std::size_t>(at - seen.values.begin());
  if (at != seen.values.end() && *at == value) {
    ++seen.counts[index];
    return;
  }
  if (seen.values.size() >= kMaxProfileCategories) {
    f.complete = false;
    return;
  }
  seen.values.insert(at, value);
  seen.counts.insert(seen.counts.begin() + static_cast<std::ptrdiff_t>(index), 1);
}

void DataProfileBuilder::addRowToSample(const float* row) {
  if (row_sample_.size() < row_sample_size_ * width_) {
    row_sample_.insert(row_sample_.end(), row, row + width_);
  } else {
    const std::uint64_t slot = nextRandom(row_state_) % (rows_seen_ + 1);
    if (slot < row_sample_size_) {
      std::copy(row, row + width_,
                row_sample_.begin() + static_cast<std::ptrdiff_t>(slot * width_));
    }
  }
  ++rows_seen_;
}

Status DataProfileBuilder::add(const Batch& batch) {
  const std::size_t rows = batch.rows();
  if (batch.features.dtype() != DType::kFloat32 ||
      static_cast<std::size_t>(batch.features.numel()) != rows * width_) {
    return invalidArgument("a batch of " + std::to_string(rows) + " rows has features " +
                           std::string(dtypeName(batch.features.dtype())) + " " +
                           shapeToString(batch.features.shape()) + ", not " +
                           std::to_string(width_) + " FP32 values a row");
  }
  const auto values = batch.features.span<const float>();
  for (std::size_t r = 0; r < rows && width_ > 0; ++r) {
    for (std::size_t c = 0; c < width_; ++c) {
      addNumber(c, values[r * width_ + c]);
    }
    addRowToSample(&values[r * width_]);
  }
  const std::size_t text = seen_.size();
  if (text > 0) {
    if (batch.strings.dtype() != DType::kBytes || batch.strings.strings().size() != rows * text) {
      return invalidArgument("a batch of " + std::to_string(rows) + " rows lacks its " +
                             std::to_string(text) + " text columns");
    }
    const auto& cells = batch.strings.strings();
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t c = 0; c < text; ++c) {
        addCategory(c, cells[r * text + c]);
      }
    }
  }
  profile_.rows += rows;
  return okStatus();
}

DataProfile DataProfileBuilder::finish() const {
  DataProfile out = profile_;
  std::vector<double> means(width_), stddevs(width_);
  for (std::size_t i = 0; i < width_; ++i) {
    FeatureProfile& f = out.features[i];
    const NumberColumn& column = numbers_[i];
    std::vector<double> sorted = column.sample;
    std::sort(sorted.begin(), sorted.end());
    f.sample_size = sorted.size();
    f.percentiles.resize(kProfilePercentiles);
    for (std::size_t p = 0; p < kProfilePercentiles; ++p) {
      f.percentiles[p] = quantileOf(sorted, static_cast<double>(p) / 100.0);
    }
    f.quantiles = quantilesOfPercentiles(f.percentiles);
    f.mean = column.mean;
    f.stddev = f.present < 2 ? 0.0 : std::sqrt(column.squares / static_cast<double>(f.present - 1));
    means[i] = f.mean;
    stddevs[i] = f.stddev;
  }
  for (std::size_t i = 0; i < seen_.size(); ++i) {
    out.features[width_ + i].categories = seen_[i].values;
    out.features[width_ + i].category_counts = seen_[i].counts;
  }
  out.outlier = fitOutlierModel(row_sample_, width_, means, stddevs);
  return out;
}

Expected<DataProfile> profileRows(const Dataset& dataset, const std::vector<std::uint64_t>& rows) {
  AIMASS_ASSIGN_OR_RETURN(DataProfileBuilder builder,
                          DataProfileBuilder::forSchema(dataset.schema()));
  Batch batch;
  for (std::size_t begin = 0; begin < rows.size(); begin += kProfileBatchRows) {
    const std::size_t end = std::min(rows.size(), begin + kProfileBatchRows);
    AIMASS_RETURN_IF_ERROR(
        dataset.read(std::span<const std::uint64_t>(rows.data() + begin, end - begin), batch));
    AIMASS_RETURN_IF_ERROR(builder.add(batch));
  }
  return builder.finish();
}

std::string dataProfileKey(std::string_view artifact_key) {
  return std::string(artifact_key) + ".profile";
}

Expected<std::shared_ptr<const DataProfile>> readDataProfile(const Storage& storage,
                                                             const std::string& key) {
  auto bytes = readBlob(storage, key);
  if (!bytes.ok()) {
    return bytes.status().withContext("reading the data profile '" + key + "'");
  }
  auto profile = decodeDataProfile(*bytes);
  if (!profile.ok()) {
    return profile.status().withContext("the data profile '" + key + "'");
  }
  return std::make_shared<const DataProfile>(std::move(profile).value());
}

}  // namespace aimass::core
