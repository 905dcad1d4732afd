// SPDX-License-Identifier: Apache-2.0
#include "monitoring/drift_tests.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "aimass/util/number_text.h"
#include "monitoring/parallel_shards.h"
#include "monitoring/sort_numbers.h"

namespace aimass::core {
namespace {

template <typename Enum>
using Names = std::array<std::pair<Enum, std::string_view>, 3>;
constexpr Names<NumberDriftTest> kNumberTestNames = {
    {{NumberDriftTest::kKolmogorovSmirnov, "ks"},
     {NumberDriftTest::kWasserstein, "wasserstein"},
     {NumberDriftTest::kPsi, "psi"}}};
constexpr Names<CategoryDriftTest> kCategoryTestNames = {
    {{CategoryDriftTest::kChiSquared, "chi2"},
     {CategoryDriftTest::kJensenShannon, "jensen_shannon"},
     {CategoryDriftTest::kPsi, "psi"}}};
constexpr Names<DriftCorrection> kCorrectionNames = {
    {{DriftCorrection::kBenjaminiHochberg, "benjamini_hochberg"},
     {DriftCorrection::kBonferroni, "bonferroni"},
     {DriftCorrection::kNone, "none"}}};

template <typename Enum>
std::optional<Enum> valueNamed(const Names<Enum>& names, std::string_view text) {
  for (const auto& [value, name] : names) {
    if (name == text) return value;
  }
  return std::nullopt;
}

template <typename Enum>
std::string_view nameOf(const Names<Enum>& names, Enum value) {
  for (const auto& [v, name] : names) {
    if (v == value) return name;
  }
  return names.front().second;
}

/// The window's present values of a number feature, sorted, in `scratch`.
template <typename Number>
void sortedPresent(const std::vector<Number>& column, std::vector<double>& scratch,
                   SortScratch& sort_scratch, FeatureDrift& out) {
  out.missing += sortPresent(column, scratch, sort_scratch);
  out.values = scratch.size();
}

/// Whether the feature can be tested; otherwise `out.note` says why.
bool testable(std::uint64_t reference_values, const DriftOptions& options, FeatureDrift& out) {
  if (reference_values == 0) {
    out.note = "the training rows had no value of this feature";
    return false;
  }
  if (out.values < options.min_values) {
    out.note = std::to_string(out.values) + " values in the window, fewer than min_values " +
               std::to_string(options.min_values);
    return false;
  }
  return true;
}

void byPValue(double statistic, double p_value, FeatureDrift& out) {
  out.statistic = statistic;
  out.p_value = p_value;
  out.p_value_test = true;
}

void byThreshold(double statistic, double threshold, FeatureDrift& out) {
  out.statistic = statistic;
  out.threshold = threshold;
}

/// One thread's scratch: the sorted present values of a column and the sort's buffers.
struct NumberScratch {
  std::vector<double> sorted;
  SortScratch sort;
};

template <typename Number>
void testNumber(const FeatureProfile& f, const std::vector<Number>& column,
                const DriftOptions& options, NumberScratch& scratch, FeatureDrift& out) {
  out.test = std::string(numberDriftTestName(options.number_test));
  sortedPresent(column, scratch.sorted, scratch.sort, out);
  if (!testable(f.sample_size, options, out)) {
    return;
  }
  out.tested = true;
  out.psi = decilePsi(scratch.sorted, f.percentiles);
  switch (options.number_test) {
    case NumberDriftTest::kKolmogorovSmirnov: {
      const KsResult ks = kolmogorovSmirnov(scratch.sorted, f.percentiles, f.sample_size);
      return byPValue(ks.statistic, ks.p_value, out);
    }
    case NumberDriftTest::kWasserstein: {
      // A constant reference (std 0): any distance at all is drift.
      const double w = wasserstein1(scratch.sorted, f.percentiles);
      return byThreshold(
          f.stddev > 0 ? w / f.stddev : (w > 0 ? std::numeric_limits<double>::infinity() : 0.0),
          options.wasserstein_threshold, out);
    }
    case NumberDriftTest::kPsi:
      return byThreshold(out.psi, options.psi_threshold, out);
  }
}

void testCategory(const FeatureProfile& f, const std::vector<std::string>& column,
                  const DriftOptions& options, FeatureDrift& out) {
  out.test = std::string(categoryDriftTestName(options.category_test));
  if (f.category_counts.size() != f.categories.size()) {
    out.note = "the profile keeps no count for each category";
    return;
  }
  // Bins: the training categories, then "other" (values dropped from an incomplete set in
  // training; values never seen in training in the window).
  const std::size_t kept = f.categories.size();
  std::vector<double> reference(kept + 1, 0.0), observed(kept + 1, 0.0);
  std::uint64_t counted = 0;
  for (std::size_t i = 0; i < kept; ++i) {
    reference[i] = static_cast<double>(f.category_counts[i]);
    counted += f.category_counts[i];
  }
  reference[kept] = static_cast<double>(f.present - counted);
  for (const std::string& v : column) {
    if (v.empty()) {
      ++out.missing;
      continue;
    }
    ++out.values;
    const auto at = std::lower_bound(f.categories.begin(), f.categories.end(), v);
    const bool known = at != f.categories.end() && *at == v;
    observed[known ? static_cast<std::size_t>(at - f.categories.begin()) : kept] += 1;
  }
  if (!testable(f.present, options, out)) {
    return;
  }
  out.tested = true;
  out.psi = psi(reference, observed);
  switch (options.category_test) {
    case CategoryDriftTest::kChiSquared: {
      const ChiSquaredResult chi2 = chiSquaredHomogeneity(reference, observed);
      return byPValue(chi2.statistic, chi2.p_value, out);
    }
    case CategoryDriftTest::kJensenShannon:
      return byThreshold(jensenShannonDistance(reference, observed),
                         options.jensen_shannon_threshold, out);
    case CategoryDriftTest::kPsi:
      return byThreshold(out.psi, options.psi_threshold, out);
  }
}

/// Decides each tested feature: p-value tests after the correction, distance tests by their
/// threshold.
void decide(const DriftOptions& options, WindowDrift& out) {
  std::vector<double> p_values;
  for (const FeatureDrift& f : out.features) {
    if (f.tested && f.p_value_test) p_values.push_back(f.p_value);
  }
  const std::vector<double> adjusted = adjustPValues(p_values, options.correction);
  std::size_t next = 0;
  for (FeatureDrift& f : out.features) {
    if (!f.tested) continue;
    ++out.tested;
    if (f.p_value_test) {
      f.adjusted_p_value = adjusted[next++];
      f.drifted = f.adjusted_p_value <= options.alpha;
    } else {
      f.drifted = f.statistic > f.threshold;
    }
    if (f.drifted) ++out.drifted_features;
  }
  out.drifted = out.drifted_features > 0;
}

}  // namespace

std::optional<NumberDriftTest> parseNumberDriftTest(std::string_view text) {
  return valueNamed(kNumberTestNames, text);
}
std::string_view numberDriftTestName(NumberDriftTest test) {
  return nameOf(kNumberTestNames, test);
}
std::optional<CategoryDriftTest> parseCategoryDriftTest(std::string_view text) {
  return valueNamed(kCategoryTestNames, text);
}
std::string_view categoryDriftTestName(CategoryDriftTest test) {
  return nameOf(kCategoryTestNames, test);
}
std::optional<DriftCorrection> parseDriftCorrection(std::string_view text) {
  return valueNamed(kCorrectionNames, text);
}
std::string_view driftCorrectionName(DriftCorrection correction) {
  return nameOf(kCorrectionNames, correction);
}

Status validateDriftOptions(const DriftOptions& options) {
  if (!(options.alpha > 0 && options.alpha < 1)) {
    return invalidArgument("drift alpha must be in (0, 1), not " + formatNumber(options.alpha));
  }
  const std::pair<const char*, double> thresholds[] = {
      {"psi_threshold", options.psi_threshold},
      {"jensen_shannon_threshold", options.jensen_shannon_threshold},
      {"wasserstein_threshold", options.wasserstein_threshold}};
  for (const auto& [name, value] : thresholds) {
    if (!(value > 0) || !std::isfinite(value)) {
      return invalidArgument(std::string("drift ") + name + " must be a positive number, not " +
                             formatNumber(value));
    }
  }
  return okStatus();
}

template <typename Number>
Expected<WindowDrift> compareWindowOf(const DataProfile& profile,
                                      const BasicDriftWindow<Number>& window,
                                      const DriftOptions& options) {
  if (profile.format < 2) {
    return failedPrecondition(
        "the training-data profile (format " + std::to_string(profile.format) +
        ") was made before drift data was kept; retrain the model to get one");
  }
  AIMASS_RETURN_IF_ERROR(validateDriftOptions(options));
  const std::size_t numbers = profile.numberFeatures();
  const std::size_t categories = profile.features.size() - numbers;
  if (window.numbers.size() != numbers || window.categories.size() != categories) {
    return invalidArgument("the window has " + std::to_string(window.numbers.size()) +
                           " number and " + std::to_string(window.categories.size()) +
                           " category columns, the profile " + std::to_string(numbers) +
                           " number and " + std::to_string(categories) + " category features");
  }
  WindowDrift out;
  out.features.resize(profile.features.size());
  // Each feature writes only its own result; a worker's scratch serves its features in turn.
  std::vector<NumberScratch> scratch(
      std::min(shardThreads(options.threads), std::max<std::size_t>(1, out.features.size())));
  forEachShard(out.features.size(), options.threads, [&](std::size_t worker, std::size_t i) {
    const FeatureProfile& f = profile.features[i];
    FeatureDrift& result = out.features[i];
    result.feature = f.name;
    result.kind = f.kind;
    if (i < numbers) {
      testNumber(f, window.numbers[i], options, scratch[worker], result);
    } else {
      testCategory(f, window.categories[i - numbers], options, result);
    }
  });
  decide(options, out);
  return out;
}

Expected<WindowDrift> compareWindow(const DataProfile& profile, const DriftWindow& window,
                                    const DriftOptions& options) {
  return compareWindowOf(profile, window, options);
}

Expected<WindowDrift> compareWindow(const DataProfile& profile, const FloatDriftWindow& window,
                                    const DriftOptions& options) {
  return compareWindowOf(profile, window, options);
}

}  // namespace aimass::core
