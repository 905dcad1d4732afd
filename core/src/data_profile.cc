// SPDX-License-Identifier: Apache-2.0
#include "data_profile.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "aimass/core/model_artifact.h"
#include "aimass/util/number_text.h"
#include "record_text.h"

namespace aimass::core {
namespace {

constexpr std::string_view kProfileHeader = "aimass-data-profile 1";
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

std::optional<double> parseDouble(const std::string& text) {
  double value = 0;
  auto parsed = std::from_chars(text.data(), text.data() + text.size(), value);
  if (parsed.ec != std::errc() || parsed.ptr != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

std::optional<std::uint64_t> parseCount(const std::string& text) {
  auto n = record::parseInt(text);
  if (!n || *n < 0) {
    return std::nullopt;
  }
  return static_cast<std::uint64_t>(*n);
}

}  // namespace

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
  auto& seen = seen_[feature];
  auto at = std::lower_bound(seen.begin(), seen.end(), value);
  if (at != seen.end() && *at == value) {
    return;
  }
  if (seen.size() >= kMaxProfileCategories) {
    f.complete = false;
    return;
  }
  seen.insert(at, value);
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
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < width_; ++c) {
      addNumber(c, values[r * width_ + c]);
    }
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
  for (std::size_t i = 0; i < width_; ++i) {
    std::vector<double> sorted = numbers_[i].sample;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t q = 0; q < kProfileQuantiles.size(); ++q) {
      out.features[i].quantiles[q] = quantileOf(sorted, kProfileQuantiles[q]);
    }
  }
  for (std::size_t i = 0; i < seen_.size(); ++i) {
    out.features[width_ + i].categories = seen_[i];
  }
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

std::string encodeDataProfile(const DataProfile& profile) {
  std::string out(kProfileHeader);
  out += "\nrows " + std::to_string(profile.rows);
  for (const auto& f : profile.features) {
    const bool number = f.kind == FeatureProfile::Kind::kNumber;
    out += number ? "\nnumber " : "\ncategory ";
    out +=
        record::escape(f.name) + " " + std::to_string(f.present) + " " + std::to_string(f.missing);
    if (number) {
      // Features are FP32: their shortest FP32 text keeps min and max exact.
      out += " " + formatNumber(static_cast<float>(f.min)) + " " +
             formatNumber(static_cast<float>(f.max));
      for (double q : f.quantiles) {
        out += " " + formatNumber(static_cast<float>(q));
      }
    } else {
      out += f.complete ? " complete" : " incomplete";
      for (const auto& c : f.categories) {
        out += " " + record::escape(c);
      }
    }
  }
  return out + "\n";
}

Expected<DataProfile> decodeDataProfile(std::string_view text) {
  auto bad = [](const std::string& why) { return dataLoss("malformed data profile: " + why); };
  auto lines = record::parseRecord(text, kProfileHeader);
  if (!lines.ok()) {
    return bad(lines.status().message());
  }
  DataProfile profile;
  for (const auto& f : *lines) {
    if (f[0] == "rows" && f.size() == 2) {
      auto n = parseCount(f[1]);
      if (!n) return bad("rows '" + f[1] + "'");
      profile.rows = *n;
      continue;
    }
    const bool number = f[0] == "number" && f.size() == 6 + kProfileQuantiles.size();
    const bool category = f[0] == "category" && f.size() >= 5;
    if (!number && !category) {
      return bad("unexpected line '" + f[0] + "' with " + std::to_string(f.size()) + " fields");
    }
    FeatureProfile feature;
    feature.name = f[1];
    auto present = parseCount(f[2]);
    auto missing = parseCount(f[3]);
    if (!present || !missing) return bad("counts of feature '" + f[1] + "'");
    feature.present = *present;
    feature.missing = *missing;
    if (number) {
      std::vector<double> values;
      for (std::size_t i = 4; i < f.size(); ++i) {
        auto v = parseDouble(f[i]);
        if (!v) return bad("value '" + f[i] + "' of feature '" + f[1] + "'");
        values.push_back(*v);
      }
      feature.min = values[0];
      feature.max = values[1];
      std::copy(values.begin() + 2, values.end(), feature.quantiles.begin());
    } else {
      feature.kind = FeatureProfile::Kind::kCategory;
      if (f[4] != "complete" && f[4] != "incomplete") return bad("category set '" + f[4] + "'");
      feature.complete = f[4] == "complete";
      feature.categories.assign(f.begin() + 5, f.end());
      std::sort(feature.categories.begin(), feature.categories.end());
    }
    profile.features.push_back(std::move(feature));
  }
  return profile;
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
