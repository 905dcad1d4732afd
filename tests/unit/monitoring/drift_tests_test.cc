// SPDX-License-Identifier: Apache-2.0
// Drift tests on windows drawn from known distributions, against profiles the real builder
// made of training rows drawn from them: false alarms on unshifted windows stay under a bound
// that follows from alpha (or, for distance tests, from the statistic's size under no drift),
// and mean shifts, scale changes and category mix changes are detected; the multiple-testing
// correction keeps a window of several unshifted features at alpha; format 1 profiles and
// malformed windows are refused with a reason.
#include "monitoring/drift_tests.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <numeric>
#include <random>

#include "profile_from_draws.h"

namespace aimass::core {
namespace {

using ::testing::HasSubstr;
using testing::profileOf;

constexpr int kWindows = 200;
// Under no drift a p-value test at alpha flags each window with probability alpha (at most,
// for the conservative tests), so the false alarms of 200 windows are Binomial(200, 0.05):
// mean 10, standard deviation 3.1. 20 is beyond mean + 3 sd (a chance under 0.3% were the
// windows independent; they share one reference, which the KS effective n accounts for).
constexpr int kFalseAlarmBound = 20;

std::vector<float> normalDraws(std::size_t n, double mean, double sd, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> normal(mean, sd);
  std::vector<float> out(n);
  for (auto& v : out) v = static_cast<float>(normal(gen));
  return out;
}

std::vector<double> asDoubles(const std::vector<float>& values) {
  return std::vector<double>(values.begin(), values.end());
}

std::vector<std::string> categoryDraws(std::size_t n, const std::vector<double>& weights,
                                       unsigned seed) {
  static const std::vector<std::string> kNames = {"a", "b", "c", "d", "e"};
  std::mt19937 gen(seed);
  std::discrete_distribution<std::size_t> pick(weights.begin(), weights.end());
  std::vector<std::string> out(n);
  for (auto& v : out) v = kNames[pick(gen)];
  return out;
}

DriftWindow numberWindow(std::vector<double> values) {
  DriftWindow w;
  w.numbers.push_back(std::move(values));
  return w;
}

DriftWindow categoryWindow(std::vector<std::string> values) {
  DriftWindow w;
  w.categories.push_back(std::move(values));
  return w;
}

/// The windows among `count` (seeds from `seed`) that `options` flags.
int flagged(const DataProfile& profile, const DriftOptions& options, int count, unsigned seed,
            const std::function<DriftWindow(unsigned)>& draw) {
  int alarms = 0;
  for (int i = 0; i < count; ++i) {
    auto result = compareWindow(profile, draw(seed + static_cast<unsigned>(i)), options);
    EXPECT_TRUE(result.ok()) << result.status().toString();
    alarms += result.ok() && result->drifted ? 1 : 0;
  }
  return alarms;
}

const DataProfile& normalProfile() {
  static const DataProfile profile = profileOf({"x"}, normalDraws(20000, 0, 1, 1));
  return profile;
}

const std::vector<double> kMix = {0.4, 0.3, 0.2, 0.1};

const DataProfile& categoryProfile() {
  static const DataProfile profile = profileOf({}, {}, {"c"}, categoryDraws(20000, kMix, 2));
  return profile;
}

TEST(DriftTestsTest, TheProfileKeepsWhatTheTestsNeed) {
  const FeatureProfile& x = normalProfile().features[0];
  EXPECT_EQ(x.sample_size, kProfileSampleSize);
  EXPECT_EQ(x.percentiles.size(), kProfilePercentiles);
  EXPECT_NEAR(x.mean, 0, 0.03);
  EXPECT_NEAR(x.stddev, 1, 0.03);
  const FeatureProfile& c = categoryProfile().features[0];
  EXPECT_THAT(c.categories, ::testing::ElementsAre("a", "b", "c", "d"));
  EXPECT_EQ(std::accumulate(c.category_counts.begin(), c.category_counts.end(), std::uint64_t{0}),
            20000u);
}

TEST(DriftTestsTest, KolmogorovSmirnovFalseAlarmsStayUnderTheAlphaBound) {
  // The p-value is the two-sample one: its false-alarm rate is alpha over draws of both the
  // training rows and the window. Windows tested against one fixed training sample share its
  // sampling error, and the rate varies from one sample to another (simulated over 40 training
  // samples with k = 2048 and windows of 500: from 1% to 18%, mean 5.0%; docs/monitoring.md).
  // So the 200 windows here come from 40 training samples, 5 windows each.
  DriftOptions options;  // ks, alpha 0.05
  int alarms = 0;
  for (unsigned t = 0; t < 40; ++t) {
    const DataProfile profile = profileOf({"x"}, normalDraws(5000, 0, 1, 10000 + t));
    alarms += flagged(profile, options, 5, 100 + 5 * t, [](unsigned seed) {
      return numberWindow(asDoubles(normalDraws(500, 0, 1, seed)));
    });
  }
  EXPECT_LE(alarms, kFalseAlarmBound);
}

TEST(DriftTestsTest, KolmogorovSmirnovDetectsAMeanShiftAndAScaleChange) {
  DriftOptions options;
  // A shift of 0.3 sd moves the CDF by up to 0.12: D sqrt(ne) about 2.4 for n = 500, k = 2048.
  EXPECT_GE(flagged(normalProfile(), options, 50, 300,
                    [](unsigned seed) {
                      return numberWindow(asDoubles(normalDraws(500, 0.3, 1, seed)));
                    }),
            48);
  // A scale of 1.5 moves it by up to 0.1: D sqrt(ne) about 1.9 (p about 0.001).
  EXPECT_GE(flagged(normalProfile(), options, 50, 400,
                    [](unsigned seed) {
                      return numberWindow(asDoubles(normalDraws(500, 0, 1.5, seed)));
                    }),
            45);
  auto result =
      compareWindow(normalProfile(), numberWindow(asDoubles(normalDraws(500, 1, 1, 7))), options);
  ASSERT_TRUE(result.ok());
  const FeatureDrift& x = result->features[0];
  EXPECT_EQ(x.test, "ks");
  EXPECT_LT(x.p_value, 1e-10);
  EXPECT_GT(x.statistic, 0.3);
  EXPECT_GT(x.psi, 0.5);  // PSI is reported whatever the test
}

/// A distance test: no alarm over kWindows unshifted windows, one on each of 20 shifted ones.
void expectNoAlarmThenAlarms(const DataProfile& profile, const DriftOptions& options, unsigned seed,
                             const std::function<DriftWindow(unsigned)>& unshifted,
                             const std::function<DriftWindow(unsigned)>& shifted) {
  EXPECT_EQ(flagged(profile, options, kWindows, seed, unshifted), 0) << "unshifted";
  EXPECT_EQ(flagged(profile, options, 20, seed + 1000, shifted), 20) << "shifted";
}

TEST(DriftTestsTest, DistanceTestsOfNumbersDoNotFireUnshiftedAndFireShifted) {
  // Unshifted, PSI over 10 bins is about (1/n + 1/k) chi2 with 9 dof: for n = 1000, k = 2048
  // its mean is 0.013 and 0.2 lies beyond 0.2 / 0.0015 = 134 on a chi2 of 9 dof, a chance far
  // below 1e-10. W1 / sd averages about 1.3 / sqrt(ne) = 0.05 and its 99th percentile is about
  // 2.8 / sqrt(ne) = 0.11 (simulated over 40 training samples), so the default 0.2 is far
  // beyond. Hence the bound: no false alarm in 200 windows. Shifted by one sd, W1 / sd is 1 and
  // PSI about 1.
  const auto unshifted = [](unsigned seed) {
    return numberWindow(asDoubles(normalDraws(1000, 0, 1, seed)));
  };
  const auto shifted = [](unsigned seed) {
    return numberWindow(asDoubles(normalDraws(1000, 1, 1, seed)));
  };
  DriftOptions options;
  options.number_test = NumberDriftTest::kPsi;
  expectNoAlarmThenAlarms(normalProfile(), options, 500, unshifted, shifted);
  options.number_test = NumberDriftTest::kWasserstein;
  expectNoAlarmThenAlarms(normalProfile(), options, 600, unshifted, shifted);
  auto result = compareWindow(normalProfile(),
                              numberWindow(asDoubles(normalDraws(2000, 0.5, 1, 9))), options);
  ASSERT_TRUE(result.ok());
  EXPECT_NEAR(result->features[0].statistic, 0.5, 0.08);  // W1 of a shift is the shift
  EXPECT_EQ(result->features[0].threshold, 0.2);
}

TEST(DriftTestsTest, ChiSquaredFalseAlarmsStayUnderTheAlphaBoundAndAMixChangeIsDetected) {
  DriftOptions options;  // chi2, alpha 0.05
  EXPECT_LE(flagged(categoryProfile(), options, kWindows, 1000,
                    [](unsigned seed) { return categoryWindow(categoryDraws(500, kMix, seed)); }),
            kFalseAlarmBound);
  // (0.4, 0.3, 0.2, 0.1) -> (0.3, 0.3, 0.2, 0.2): chi2 about 500 (0.01/0.4 + 0.01/0.1) = 62.
  EXPECT_EQ(flagged(categoryProfile(), options, 50, 1300,
                    [](unsigned seed) {
                      return categoryWindow(categoryDraws(500, {0.3, 0.3, 0.2, 0.2}, seed));
                    }),
            50);
  // A category never seen in training, 5% of the window: pooled as "other", detected.
  EXPECT_EQ(
      flagged(categoryProfile(), options, 20, 1400,
              [](unsigned seed) {
                return categoryWindow(categoryDraws(500, {0.38, 0.285, 0.19, 0.095, 0.05}, seed));
              }),
      20);
}

TEST(DriftTestsTest, DistanceTestsOfCategoriesDoNotFireUnshiftedAndFireOnAMixChange) {
  // Unshifted, the JS divergence is about chi2(3 dof) (1/n + 1/N) / (8 ln 2), N = 20000 the
  // training rows: distance 0.1 needs chi2 > 0.01 8 ln2 / 0.00105 = 53 (a chance under 1e-10);
  // PSI over 4 bins is about (1/n + 1/N) chi2(3 dof), far under 0.2 as for numbers.
  const auto unshifted = [](unsigned seed) {
    return categoryWindow(categoryDraws(1000, kMix, seed));
  };
  const auto reversed = [](unsigned seed) {
    return categoryWindow(categoryDraws(1000, {0.1, 0.2, 0.3, 0.4}, seed));
  };
  DriftOptions options;
  options.category_test = CategoryDriftTest::kJensenShannon;
  expectNoAlarmThenAlarms(categoryProfile(), options, 2000, unshifted, reversed);
  options.category_test = CategoryDriftTest::kPsi;
  expectNoAlarmThenAlarms(categoryProfile(), options, 2100, unshifted, reversed);
}

/// The profile of 5000 training rows (training sample `seed`) of five independent standard
/// normal number features and one category feature.
DataProfile wideProfile(unsigned seed) {
  return profileOf({"a", "b", "c", "d", "e"}, normalDraws(5000 * 5, 0, 1, 20000 + seed), {"k"},
                   categoryDraws(5000, kMix, 30000 + seed));
}

DriftWindow wideWindow(unsigned seed, double shift_of_c = 0) {
  DriftWindow w;
  const auto draws = normalDraws(300 * 5, 0, 1, seed);
  w.numbers.resize(5);
  for (std::size_t r = 0; r < 300; ++r) {
    for (std::size_t c = 0; c < 5; ++c) {
      w.numbers[c].push_back(draws[r * 5 + c] + (c == 2 ? shift_of_c : 0.0));
    }
  }
  w.categories.push_back(categoryDraws(300, kMix, seed + 7));
  return w;
}

TEST(DriftTestsTest, CorrectionsKeepAWindowOfSixUnshiftedFeaturesAtAlpha) {
  // With every feature unshifted, Benjamini-Hochberg flags a window exactly when Simes' test
  // rejects, whose level is alpha for independent tests (Simes 1986; Benjamini and Hochberg
  // 1995); Bonferroni's is at most alpha under any dependence. So both stay under the binomial
  // bound; uncorrected, 6 tests flag 1 - 0.95^6 = 26% of windows (about 53 of 200). As for one
  // feature, the 200 windows come from 40 training samples, 5 each.
  const auto draw = [](unsigned seed) { return wideWindow(seed); };
  int benjamini_hochberg = 0, bonferroni = 0, uncorrected = 0;
  for (unsigned t = 0; t < 40; ++t) {
    const DataProfile profile = wideProfile(t);
    DriftOptions options;
    benjamini_hochberg += flagged(profile, options, 5, 3000 + 5 * t, draw);
    options.correction = DriftCorrection::kBonferroni;
    bonferroni += flagged(profile, options, 5, 3000 + 5 * t, draw);
    options.correction = DriftCorrection::kNone;
    uncorrected += flagged(profile, options, 5, 3000 + 5 * t, draw);
  }
  EXPECT_LE(benjamini_hochberg, kFalseAlarmBound);
  EXPECT_LE(bonferroni, benjamini_hochberg);  // Bonferroni's adjusted p-values are never smaller
  EXPECT_GT(uncorrected, 30);
}

TEST(DriftTestsTest, AWindowNamesTheShiftedFeatureAndWhyOthersWereNotTested) {
  DriftWindow w = wideWindow(77, 0.6);
  w.numbers[4].assign(300, std::numeric_limits<double>::quiet_NaN());  // e: all missing
  w.numbers[4][0] = 0.5;
  auto result = compareWindow(wideProfile(0), w, DriftOptions{});
  ASSERT_TRUE(result.ok()) << result.status().toString();
  EXPECT_TRUE(result->drifted);
  EXPECT_EQ(result->drifted_features, 1u);
  EXPECT_EQ(result->tested, 5u);
  const FeatureDrift& c = result->features[2];
  EXPECT_EQ(c.feature, "c");
  EXPECT_TRUE(c.drifted);
  EXPECT_LE(c.p_value, c.adjusted_p_value);
  EXPECT_LE(c.adjusted_p_value, 0.05);
  const FeatureDrift& e = result->features[4];
  EXPECT_FALSE(e.tested);
  EXPECT_EQ(e.missing, 299u);
  EXPECT_THAT(e.note, HasSubstr("1 values in the window, fewer than min_values 30"));
  EXPECT_EQ(result->features[5].kind, FeatureProfile::Kind::kCategory);
  EXPECT_EQ(result->features[5].test, "chi2");
}

TEST(DriftTestsTest, AFormat1ProfileCannotBeTestedAndBadInputIsRefused) {
  auto old = decodeDataProfile("aimass-data-profile 1\nrows 3\nnumber x 3 0 1 2 1 1 1 1.5 2 2 2\n");
  ASSERT_TRUE(old.ok()) << old.status().toString();
  auto refused = compareWindow(*old, numberWindow({1, 2, 3}), DriftOptions{});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(),
              HasSubstr("made before drift data was kept; retrain the model to get one"));

  auto mismatched = compareWindow(normalProfile(), categoryWindow({"a"}), DriftOptions{});
  ASSERT_FALSE(mismatched.ok());
  EXPECT_THAT(mismatched.status().message(),
              HasSubstr("0 number and 1 category columns, the profile 1 number and 0"));
  DriftOptions bad;
  bad.alpha = 1.5;
  EXPECT_THAT(compareWindow(normalProfile(), numberWindow({1}), bad).status().message(),
              HasSubstr("alpha must be in (0, 1), not 1.5"));
  bad = DriftOptions{};
  bad.psi_threshold = 0;
  EXPECT_THAT(validateDriftOptions(bad).message(), HasSubstr("psi_threshold"));
}

TEST(DriftTestsTest, OptionNamesRoundTrip) {
  for (auto t : {NumberDriftTest::kKolmogorovSmirnov, NumberDriftTest::kWasserstein,
                 NumberDriftTest::kPsi}) {
    EXPECT_EQ(parseNumberDriftTest(numberDriftTestName(t)), t);
  }
  for (auto t : {CategoryDriftTest::kChiSquared, CategoryDriftTest::kJensenShannon,
                 CategoryDriftTest::kPsi}) {
    EXPECT_EQ(parseCategoryDriftTest(categoryDriftTestName(t)), t);
  }
  for (auto c : {DriftCorrection::kBenjaminiHochberg, DriftCorrection::kBonferroni,
                 DriftCorrection::kNone}) {
    EXPECT_EQ(parseDriftCorrection(driftCorrectionName(c)), c);
  }
  EXPECT_FALSE(parseNumberDriftTest("chi2"));
  EXPECT_FALSE(parseCategoryDriftTest("ks"));
}

}  // namespace
}  // namespace aimass::core
