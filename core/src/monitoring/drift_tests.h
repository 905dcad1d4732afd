// SPDX-License-Identifier: Apache-2.0
#pragma once

// Drift tests: a window of observed feature values (logged requests) compared with the
// training-data profile of the model that answered them, per feature, with the test that fits
// the feature, and multiple-testing control across the features of the window. A library for
// the `monitor` node (not built yet); the statistics themselves are in drift_statistics.h.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/status.h"
#include "data_profile.h"
#include "monitoring/drift_statistics.h"

namespace aimass::core {

enum class NumberDriftTest {
  kKolmogorovSmirnov,  ///< "ks": p-value test
  kWasserstein,        ///< "wasserstein": W1 / the reference's standard deviation > threshold
  kPsi,                ///< "psi": PSI over the reference deciles > threshold
};
enum class CategoryDriftTest {
  kChiSquared,     ///< "chi2": p-value test of homogeneity with the training counts
  kJensenShannon,  ///< "jensen_shannon": JS distance (base 2) > threshold
  kPsi,            ///< "psi": PSI over the categories (unseen ones pooled as one) > threshold
};

std::optional<NumberDriftTest> parseNumberDriftTest(std::string_view text);
std::string_view numberDriftTestName(NumberDriftTest test);
std::optional<CategoryDriftTest> parseCategoryDriftTest(std::string_view text);
std::string_view categoryDriftTestName(CategoryDriftTest test);
/// "benjamini_hochberg", "bonferroni", "none".
std::optional<DriftCorrection> parseDriftCorrection(std::string_view text);
std::string_view driftCorrectionName(DriftCorrection correction);

/// How a window is tested. Defaults: alpha 0.05 with Benjamini-Hochberg; PSI 0.2 (the
/// customary "significant shift"); JS distance 0.1; W1 a fifth of the reference's standard
/// deviation (under no drift W1 / sd averages about 1.3 / sqrt(ne) and its 99th percentile is
/// about 2.8 / sqrt(ne): 0.11 for windows of 1000 against k = 2048, so 0.1 would false-alarm).
/// Distance thresholds have no false alarm rate of their own: their values under no drift
/// shrink with the window (docs/monitoring.md), so small windows need larger thresholds.
struct DriftOptions {
  NumberDriftTest number_test = NumberDriftTest::kKolmogorovSmirnov;
  CategoryDriftTest category_test = CategoryDriftTest::kChiSquared;
  double alpha = 0.05;  ///< for the p-value tests, after correction
  DriftCorrection correction = DriftCorrection::kBenjaminiHochberg;
  double psi_threshold = 0.2;
  double jensen_shannon_threshold = 0.1;
  double wasserstein_threshold = 0.2;  ///< of W1 / reference standard deviation
  /// A feature with fewer present values in the window is not tested (its result says so).
  std::size_t min_values = 30;
  /// The features of a window are tested on this many threads (0: the host's hardware
  /// threads); each feature's result is computed alone, so they do not depend on it.
  std::size_t threads = 1;
};
/// kInvalidArgument naming the option out of range (alpha in (0, 1), thresholds > 0).
Status validateDriftOptions(const DriftOptions& options);

/// The observed values of one window, one column per feature of the profile, in its order.
/// `Number` is double for the monitor's windows, float for a CSV's (its cells parse to floats;
/// half the memory of doubles for a batch report's millions of rows).
template <typename Number>
struct BasicDriftWindow {
  /// One column per number feature (NaN: missing, not tested but counted).
  std::vector<std::vector<Number>> numbers;
  /// One column per category feature (empty text: missing).
  std::vector<std::vector<std::string>> categories;
};
using DriftWindow = BasicDriftWindow<double>;
using FloatDriftWindow = BasicDriftWindow<float>;

/// One feature's result.
struct FeatureDrift {
  std::string feature;
  FeatureProfile::Kind kind = FeatureProfile::Kind::kNumber;
  std::string test;           ///< "ks", "wasserstein", "psi", "chi2", "jensen_shannon"
  std::uint64_t values = 0;   ///< present values in the window
  std::uint64_t missing = 0;  ///< missing ones
  bool tested = false;        ///< false: `note` says why (too few values, none in training)
  std::string note;
  /// true for ks and chi2 (decided by the adjusted p-value), false for the distance tests
  /// (decided by the threshold).
  bool p_value_test = false;
  double statistic = 0;         ///< D, W1 / std, PSI, chi-squared or JS distance
  double p_value = 1;           ///< ks and chi2; 1 for distance tests
  double adjusted_p_value = 1;  ///< after the window's correction (ks and chi2)
  double threshold = 0;         ///< distance tests: the statistic's threshold
  double psi = 0;               ///< PSI, whatever the test (for export)
  bool drifted = false;
};

/// The verdict of a window: drifted when any feature drifted.
struct WindowDrift {
  std::vector<FeatureDrift> features;  ///< in the profile's order
  std::size_t tested = 0;              ///< features tested
  std::size_t drifted_features = 0;
  bool drifted = false;
};

/// Tests every feature of `window` against `profile`, on `options.threads` threads. Linear in
/// the window per feature (its numbers are radix sorted, sort_numbers.h); allocates a scratch
/// column per thread and per-feature results, nothing per value. kFailedPrecondition for a
/// profile of format 1 (made before drift data was kept; retrain the model to get one);
/// kInvalidArgument for options out of range or a window whose columns are not one per
/// feature of the profile.
Expected<WindowDrift> compareWindow(const DataProfile& profile, const DriftWindow& window,
                                    const DriftOptions& options);
/// The same for float columns: each value is tested as the double it widens to, so the result
/// is that of the DriftWindow holding the same values.
Expected<WindowDrift> compareWindow(const DataProfile& profile, const FloatDriftWindow& window,
                                    const DriftOptions& options);

}  // namespace aimass::core
