// SPDX-License-Identifier: Apache-2.0
// The stored record of a training-data profile (data_profile.h): format 2 written, formats 1
// and 2 read.
#include <algorithm>
#include <charconv>

#include "aimass/util/number_text.h"
#include "data_profile.h"
#include "record_text.h"

namespace aimass::core {
namespace {

constexpr std::string_view kProfileHeaderV1 = "aimass-data-profile 1";
constexpr std::string_view kProfileHeaderV2 = "aimass-data-profile 2";
// Fields of a number line before its quantiles: "number", name, present, missing, min, max;
// format 2 adds mean, stddev and the sample size.
constexpr std::size_t kNumberFieldsV1 = 6;
constexpr std::size_t kNumberFieldsV2 = 9;
// Fields of an outlier line: "outlier", kind, threshold, shrinkage, fit rows, calibration rows.
constexpr std::size_t kOutlierFields = 6;

using Fields = std::vector<std::string>;

Status bad(const std::string& why) { return dataLoss("malformed data profile: " + why); }

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

/// Fields [from, f.size()) of `f` as numbers; the error names `what`.
Expected<std::vector<double>> numbersOf(const Fields& f, std::size_t from,
                                        const std::string& what) {
  std::vector<double> values;
  values.reserve(f.size() - from);
  for (std::size_t i = from; i < f.size(); ++i) {
    auto v = parseDouble(f[i]);
    if (!v) return bad("value '" + f[i] + "' of " + what);
    values.push_back(*v);
  }
  return values;
}

// Features are FP32: their shortest FP32 text keeps min, max and the percentiles exact. Mean
// and standard deviation are sums over every row: they keep their double text.
void appendNumberLine(const FeatureProfile& f, std::string& out) {
  out += " " + formatNumber(static_cast<float>(f.min)) + " " +
         formatNumber(static_cast<float>(f.max)) + " " + formatNumber(f.mean) + " " +
         formatNumber(f.stddev) + " " + std::to_string(f.sample_size);
  for (double p : f.percentiles) {
    out += ' ';
    appendNumber(out, static_cast<float>(p));
  }
}

void appendOutlier(const OutlierModel& m, std::string& out) {
  const bool full = m.kind == OutlierModel::Kind::kFull;
  out += std::string("\noutlier ") + (full ? "full " : "diagonal ") + formatNumber(m.threshold) +
         " " + formatNumber(m.shrinkage) + " " + std::to_string(m.fit_rows) + " " +
         std::to_string(m.calibration_rows);
  if (!full) {
    return;
  }
  std::size_t at = 0;
  for (std::size_t i = 0; i < m.features; ++i) {
    out += "\ncovariance";
    for (std::size_t j = 0; j <= i; ++j) {
      out += ' ';
      appendNumber(out, m.covariance[at++]);
    }
  }
}

Status decodeNumber(const Fields& f, int format, FeatureProfile& feature) {
  const std::string what = "feature '" + f[1] + "'";
  const std::size_t before = format == 1 ? kNumberFieldsV1 : kNumberFieldsV2;
  AIMASS_ASSIGN_OR_RETURN(auto values, numbersOf(f, 4, what));
  feature.min = values[0];
  feature.max = values[1];
  if (format == 1) {
    std::copy(values.begin() + 2, values.end(), feature.quantiles.begin());
    return okStatus();
  }
  feature.mean = values[2];
  feature.stddev = values[3];
  auto k = parseCount(f[8]);
  if (!k) return bad("sample size '" + f[8] + "' of " + what);
  feature.sample_size = *k;
  feature.percentiles.assign(values.begin() + (before - 4), values.end());
  if (!std::is_sorted(feature.percentiles.begin(), feature.percentiles.end())) {
    return bad("the percentiles of " + what + " are not in increasing order");
  }
  feature.quantiles = quantilesOfPercentiles(feature.percentiles);
  return okStatus();
}

Status decodeCategory(const Fields& f, int format, FeatureProfile& feature) {
  feature.kind = FeatureProfile::Kind::kCategory;
  if (f[4] != "complete" && f[4] != "incomplete") return bad("category set '" + f[4] + "'");
  feature.complete = f[4] == "complete";
  if (format == 1) {
    feature.categories.assign(f.begin() + 5, f.end());
    std::sort(feature.categories.begin(), feature.categories.end());
    return okStatus();
  }
  std::uint64_t total = 0;
  for (std::size_t i = 5; i + 1 < f.size(); i += 2) {
    auto count = parseCount(f[i + 1]);
    if (!count) return bad("count '" + f[i + 1] + "' of category '" + f[i] + "'");
    if (!feature.categories.empty() && !(feature.categories.back() < f[i])) {
      return bad("the categories of feature '" + f[1] + "' are not sorted and distinct");
    }
    feature.categories.push_back(f[i]);
    feature.category_counts.push_back(*count);
    total += *count;
  }
  if (total > feature.present) {
    return bad("the category counts of feature '" + f[1] + "' add up to more than its " +
               std::to_string(feature.present) + " present rows");
  }
  return okStatus();
}

Status decodeOutlierLine(const Fields& f, OutlierModel& m) {
  if (f.size() != kOutlierFields || (f[1] != "full" && f[1] != "diagonal")) {
    return bad("outlier line of " + std::to_string(f.size()) + " fields, kind '" +
               (f.size() > 1 ? f[1] : "") + "'");
  }
  m.kind = f[1] == "full" ? OutlierModel::Kind::kFull : OutlierModel::Kind::kDiagonal;
  auto threshold = parseDouble(f[2]);
  auto shrinkage = parseDouble(f[3]);
  auto fit = parseCount(f[4]);
  auto calibration = parseCount(f[5]);
  if (!threshold || !shrinkage || !fit || !calibration) {
    return bad("outlier threshold, shrinkage or rows '" + f[2] + " " + f[3] + " " + f[4] + " " +
               f[5] + "'");
  }
  m.threshold = *threshold;
  m.shrinkage = *shrinkage;
  m.fit_rows = *fit;
  m.calibration_rows = *calibration;
  return okStatus();
}

/// Checks the decoded outlier scorer against the profile's number features.
Status checkOutlier(const DataProfile& profile, std::size_t covariance_lines) {
  const OutlierModel& m = *profile.outlier;
  const std::size_t p = profile.numberFeatures();
  const bool full = m.kind == OutlierModel::Kind::kFull;
  if (full ? covariance_lines != p : covariance_lines != 0) {
    return bad(std::to_string(covariance_lines) + " covariance lines for a " +
               (full ? "full" : "diagonal") + " outlier scorer of " + std::to_string(p) +
               " number features");
  }
  return okStatus();
}

}  // namespace

std::string encodeDataProfile(const DataProfile& profile) {
  std::string out(kProfileHeaderV2);
  out += "\nrows " + std::to_string(profile.rows);
  for (const auto& f : profile.features) {
    const bool number = f.kind == FeatureProfile::Kind::kNumber;
    out += number ? "\nnumber " : "\ncategory ";
    out +=
        record::escape(f.name) + " " + std::to_string(f.present) + " " + std::to_string(f.missing);
    if (number) {
      appendNumberLine(f, out);
    } else {
      out += f.complete ? " complete" : " incomplete";
      for (std::size_t i = 0; i < f.categories.size(); ++i) {
        out += " " + record::escape(f.categories[i]) + " " +
               std::to_string(i < f.category_counts.size() ? f.category_counts[i] : 0);
      }
    }
  }
  if (profile.outlier) {
    appendOutlier(*profile.outlier, out);
  }
  return out + "\n";
}

Expected<DataProfile> decodeDataProfile(std::string_view text) {
  const std::string_view header = text.substr(0, text.find('\n'));
  const int format = header == kProfileHeaderV1 ? 1 : 2;
  auto lines = record::parseRecord(text, format == 1 ? kProfileHeaderV1 : kProfileHeaderV2);
  if (!lines.ok()) {
    return bad(lines.status().message());
  }
  DataProfile profile;
  profile.format = format;
  std::size_t covariance_lines = 0;
  for (const auto& f : *lines) {
    if (f[0] == "rows" && f.size() == 2) {
      auto n = parseCount(f[1]);
      if (!n) return bad("rows '" + f[1] + "'");
      profile.rows = *n;
      continue;
    }
    if (format == 2 && f[0] == "outlier" && !profile.outlier) {
      profile.outlier.emplace();
      AIMASS_RETURN_IF_ERROR(decodeOutlierLine(f, *profile.outlier));
      continue;
    }
    if (profile.outlier && f[0] == "covariance" && f.size() == covariance_lines + 2) {
      AIMASS_ASSIGN_OR_RETURN(auto values, numbersOf(f, 1, "the outlier covariance"));
      for (double v : values) profile.outlier->covariance.push_back(static_cast<float>(v));
      ++covariance_lines;
      continue;
    }
    const bool number =
        f[0] == "number" && f.size() == (format == 1 ? kNumberFieldsV1 + kProfileQuantiles.size()
                                                     : kNumberFieldsV2 + kProfilePercentiles);
    const bool category = f[0] == "category" && f.size() >= 5 && (format == 1 || f.size() % 2 == 1);
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
    AIMASS_RETURN_IF_ERROR(number ? decodeNumber(f, format, feature)
                                  : decodeCategory(f, format, feature));
    profile.features.push_back(std::move(feature));
  }
  if (profile.outlier) {
    profile.outlier->features = profile.numberFeatures();
    AIMASS_RETURN_IF_ERROR(checkOutlier(profile, covariance_lines));
  }
  return profile;
}

}  // namespace aimass::core
