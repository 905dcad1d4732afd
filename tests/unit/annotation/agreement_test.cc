// SPDX-License-Identifier: Apache-2.0
// Inter-annotator agreement against values worked out by hand in the comments (fractions kept
// exact, then compared to 1e-12), the degenerate inputs whose value the header defines, and the
// inputs for which a measure is undefined.
#include "annotation/agreement.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace aimass::core::annotation {
namespace {

using ::testing::HasSubstr;

constexpr double kTight = 1e-12;

// ---- Cohen's kappa ----

TEST(CohenKappaTest, TwoByTwoTableWorkedByHand) {
  // 50 items, yes (1) / no (0):        B yes  B no
  //                             A yes     20     5   (A yes: 25)
  //                             A no      10    15   (A no: 25)
  //                                 (B yes: 30, B no: 20)
  // p_o = (20 + 15) / 50 = 0.7; p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5;
  // kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4.
  std::vector<std::int64_t> a, b;
  auto add = [&](int count, int x, int y) {
    for (int i = 0; i < count; ++i) {
      a.push_back(x);
      b.push_back(y);
    }
  };
  add(20, 1, 1);
  add(5, 1, 0);
  add(10, 0, 1);
  add(15, 0, 0);
  auto kappa = cohenKappa(a, b);
  ASSERT_TRUE(kappa.ok()) << kappa.status().toString();
  EXPECT_NEAR(*kappa, 0.4, kTight);
}

TEST(CohenKappaTest, ThreeCategoriesWithAnyIntegersAsNames) {
  // A = 0 0 1 1 2 2, B = 0 1 1 1 2 0: agree on items 0, 2, 3, 4: p_o = 4/6 = 2/3.
  // A's counts (2, 2, 2), B's (2, 3, 1): p_e = (2*2 + 2*3 + 2*1) / 36 = 1/3.
  // kappa = (2/3 - 1/3) / (2/3) = 0.5.
  std::vector<std::int64_t> a = {0, 0, 1, 1, 2, 2}, b = {0, 1, 1, 1, 2, 0};
  auto kappa = cohenKappa(a, b);
  ASSERT_TRUE(kappa.ok());
  EXPECT_NEAR(*kappa, 0.5, kTight);
  // Categories are only compared: renaming them changes nothing.
  std::vector<std::int64_t> renamed_a = {-7, -7, 40, 40, 3, 3}, renamed_b = {-7, 40, 40, 40, 3, -7};
  EXPECT_NEAR(*cohenKappa(renamed_a, renamed_b), 0.5, kTight);
}

TEST(CohenKappaTest, ChanceLevelAndSystematicDisagreement) {
  // A = 1 1, B = 1 2: p_o = 1/2, p_e = (2 * 1) / 4 = 1/2: kappa 0.
  std::vector<std::int64_t> a = {1, 1}, b = {1, 2};
  EXPECT_NEAR(*cohenKappa(a, b), 0.0, kTight);
  // A = 0 1, B = 1 0: p_o = 0, p_e = (1 + 1) / 4 = 1/2: kappa = -1/2 / (1/2) = -1.
  std::vector<std::int64_t> c = {0, 1}, d = {1, 0};
  EXPECT_NEAR(*cohenKappa(c, d), -1.0, kTight);
}

TEST(CohenKappaTest, OneCategoryThroughoutIsPerfectAgreement) {
  // p_e = 1 and p_o = 1: 0 / 0, defined as 1.
  std::vector<std::int64_t> a = {3, 3, 3, 3};
  auto kappa = cohenKappa(a, a);
  ASSERT_TRUE(kappa.ok());
  EXPECT_EQ(*kappa, 1.0);
}

TEST(CohenKappaTest, UndefinedInputsAreErrors) {
  std::vector<std::int64_t> one = {1}, two = {1, 2}, three = {1, 2, 3};
  auto sizes = cohenKappa(two, three);
  ASSERT_FALSE(sizes.ok());
  EXPECT_EQ(sizes.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(sizes.status().message(), HasSubstr("2 and 3 ratings"));
  auto single = cohenKappa(one, one);
  ASSERT_FALSE(single.ok());
  EXPECT_THAT(single.status().message(), HasSubstr("at least 2 items, got 1"));
  EXPECT_FALSE(cohenKappa({}, {}).ok());
}

// ---- Fleiss' kappa ----

TEST(FleissKappaTest, TheClassicTenItemsFourteenRatersTable) {
  // Fleiss (1971)'s example as Wikipedia gives it: 10 items, 14 raters, 5 categories.
  //   category totals 20 28 39 21 32 (of 140): P_e = (400 + 784 + 1521 + 441 + 1024) / 140^2
  //                                                = 4170 / 19600
  //   sum of all n_ij^2 = 828, so sum_i P_i = (828 - 10 * 14) / (14 * 13) = 688 / 182 and
  //   P = 688 / 1820 = 0.37802...
  //   kappa = (688/1820 - 4170/19600) / (1 - 4170/19600) = 4211 / 20059 = 0.20993 (Wikipedia
  //   rounds it to 0.210).
  const std::vector<std::uint32_t> counts = {
      0, 0, 0, 0, 14,  //
      0, 2, 6, 4, 2,   //
      0, 0, 3, 5, 6,   //
      0, 3, 9, 2, 0,   //
      2, 2, 8, 1, 1,   //
      7, 7, 0, 0, 0,   //
      3, 2, 6, 3, 0,   //
      2, 5, 3, 2, 2,   //
      6, 5, 2, 1, 0,   //
      0, 2, 2, 3, 7,
  };
  auto kappa = fleissKappa(counts, 10, 5);
  ASSERT_TRUE(kappa.ok()) << kappa.status().toString();
  EXPECT_NEAR(*kappa, 4211.0 / 20059.0, kTight);
  EXPECT_NEAR(*kappa, 0.210, 0.0005);
}

TEST(FleissKappaTest, SmallTableWorkedByHand) {
  // 3 items, 2 raters, 2 categories: (2, 0), (1, 1), (0, 2).
  // P_i = (4 - 2) / 2 = 1, (1 + 1 - 2) / 2 = 0, 1: P = 2/3. Totals 3 and 3 of 6: P_e = 1/2.
  // kappa = (2/3 - 1/2) / (1/2) = 1/3.
  const std::vector<std::uint32_t> counts = {2, 0, 1, 1, 0, 2};
  EXPECT_NEAR(*fleissKappa(counts, 3, 2), 1.0 / 3.0, kTight);
  // Unanimous on every item, with both categories used: P = 1, P_e = 1/2: kappa 1.
  const std::vector<std::uint32_t> unanimous = {3, 0, 0, 3};
  EXPECT_NEAR(*fleissKappa(unanimous, 2, 2), 1.0, kTight);
}

TEST(FleissKappaTest, EveryRatingInOneCategoryIsPerfectAgreement) {
  const std::vector<std::uint32_t> counts = {0, 4, 0, 0, 4, 0, 0, 4, 0};
  auto kappa = fleissKappa(counts, 3, 3);
  ASSERT_TRUE(kappa.ok());
  EXPECT_EQ(*kappa, 1.0);
}

TEST(FleissKappaTest, UndefinedInputsAreErrors) {
  const std::vector<std::uint32_t> uneven = {2, 1, 1, 2, 2, 2};  // 3, 3, then 4 ratings
  auto differ = fleissKappa(uneven, 3, 2);
  ASSERT_FALSE(differ.ok());
  EXPECT_EQ(differ.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(differ.status().message(), HasSubstr("item 2 has 4 ratings, item 0 has 3"));

  const std::vector<std::uint32_t> one_rater = {1, 0, 0, 1};
  EXPECT_THAT(fleissKappa(one_rater, 2, 2).status().message(),
              HasSubstr("at least 2 raters per item"));
  const std::vector<std::uint32_t> one_item = {2, 1};
  EXPECT_THAT(fleissKappa(one_item, 1, 2).status().message(), HasSubstr("at least 2 items"));
  const std::vector<std::uint32_t> ragged = {2, 1, 3};
  EXPECT_THAT(fleissKappa(ragged, 2, 2).status().message(),
              HasSubstr("3 counts do not make 2 items x 2 categories"));
  EXPECT_FALSE(fleissKappa(ragged, 3, 0).ok());
}

// ---- Krippendorff's alpha, interval ----

TEST(KrippendorffAlphaTest, SmallTableWorkedByHand) {
  // Units {1, 1}, {2, 3}, {3, 3, 4} and {5} (one value: not pairable, left out).
  // Pairable values 1 1 2 3 3 3 4: n = 7.
  // D_o: {1, 1} adds 0; {2, 3}: ordered pairs (2,3), (3,2), 1 each, weight 1/(2-1): 2;
  //   {3, 3, 4}: 4 ordered pairs differ by 1, weight 1/(3-1): 2. D_o = (0 + 2 + 2) / 7 = 4/7.
  // D_e: unordered pairs of the 7 values: 1-2 (2 pairs x 1), 1-3 (6 x 4), 1-4 (2 x 9),
  //   2-3 (3 x 1), 2-4 (1 x 4), 3-4 (3 x 1) = 2 + 24 + 18 + 3 + 4 + 3 = 54, so 108 ordered;
  //   D_e = 108 / (7 * 6) = 18/7.
  // alpha = 1 - (4/7) / (18/7) = 1 - 4/18 = 7/9.
  const std::vector<std::vector<double>> units = {{1, 1}, {2, 3}, {3, 3, 4}, {5}};
  auto alpha = krippendorffAlphaInterval(units);
  ASSERT_TRUE(alpha.ok()) << alpha.status().toString();
  EXPECT_NEAR(*alpha, 7.0 / 9.0, kTight);
  // Order within a unit, and more unpairable units, change nothing.
  const std::vector<std::vector<double>> shuffled = {{100}, {4, 3, 3}, {}, {1, 1}, {3, 2}, {5}};
  EXPECT_NEAR(*krippendorffAlphaInterval(shuffled), 7.0 / 9.0, kTight);
}

TEST(KrippendorffAlphaTest, KrippendorffsOwnReliabilityDataExample) {
  // The 4 observers x 12 units example of Krippendorff's "Computing Krippendorff's
  // Alpha-Reliability" (2011), missing values left out of each unit; unit 12 has one value.
  // His interval alpha is 0.849. By hand (exact fractions): n = 40 pairable values; D_o = 13/30
  // (within-unit squares: units 2 and 8 contribute 6/3 each, unit 6 40/3, the rest 0; sum 52/3,
  // over 40); D_e = 112/39 (sum over ordered pairs of all 40 values 4480, over 40 * 39);
  // alpha = 1 - (13/30) / (112/39) = 951/1120 = 0.8491.
  const std::vector<std::vector<double>> units = {
      {1, 1, 1},    {2, 2, 3, 2}, {3, 3, 3, 3}, {3, 3, 3, 3}, {2, 2, 2, 2}, {1, 2, 3, 4},
      {4, 4, 4, 4}, {1, 1, 2, 1}, {2, 2, 2, 2}, {5, 5, 5},    {1, 1},       {3},
  };
  auto alpha = krippendorffAlphaInterval(units);
  ASSERT_TRUE(alpha.ok());
  EXPECT_NEAR(*alpha, 951.0 / 1120.0, kTight);
  EXPECT_NEAR(*alpha, 0.849, 0.0005);
}

TEST(KrippendorffAlphaTest, OneUnitOfTwoDifferentValuesIsChanceLevel) {
  // n = 2; D_o = (1 + 1) / 2 = 1 (for a difference of 1); D_e = 2 / (2 * 1) = 1: alpha 0.
  const std::vector<std::vector<double>> units = {{2.5, 3.5}};
  EXPECT_NEAR(*krippendorffAlphaInterval(units), 0.0, kTight);
}

TEST(KrippendorffAlphaTest, AllPairableValuesEqualIsPerfectAgreement) {
  // D_e = D_o = 0, defined as 1; the lone 9 cannot be paired and does not count.
  const std::vector<std::vector<double>> units = {{2, 2}, {2, 2, 2}, {9}};
  auto alpha = krippendorffAlphaInterval(units);
  ASSERT_TRUE(alpha.ok());
  EXPECT_EQ(*alpha, 1.0);
}

TEST(KrippendorffAlphaTest, UndefinedInputsAreErrors) {
  const std::vector<std::vector<double>> unpairable = {{1}, {2}, {}};
  auto none = krippendorffAlphaInterval(unpairable);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(none.status().message(), HasSubstr("a unit with at least 2 values"));
  EXPECT_FALSE(krippendorffAlphaInterval({}).ok());
  const std::vector<std::vector<double>> nan = {{1, 2}, {3, std::nan("")}};
  EXPECT_THAT(krippendorffAlphaInterval(nan).status().message(), HasSubstr("unit 1"));
}

// ---- Multi-label ----

TEST(MultiLabelKappaTest, MeanOfTheBinaryKappasOfLabelsThatVary) {
  // 3 items, 2 raters, 3 labels; how many raters applied each label:
  //   item 0: 2 0 0;  item 1: 1 2 0;  item 2: 0 2 0.
  // Label 0 as (applied, not): (2, 0), (1, 1), (0, 2): kappa 1/3 (FleissKappaTest's small
  //   table).
  // Label 1: (0, 2), (2, 0), (2, 0): every P_i = 1, P = 1; 4 of 6 applied: P_e = 4/9 + 1/9
  //   = 5/9; kappa = (1 - 5/9) / (4/9) = 1.
  // Label 2: never applied: left out (nullopt).
  // Mean over labels 0 and 1: (1/3 + 1) / 2 = 2/3.
  const std::vector<std::uint32_t> counts = {2, 0, 0, 1, 2, 0, 0, 2, 0};
  auto kappa = multiLabelKappa(counts, 3, 3, 2);
  ASSERT_TRUE(kappa.ok()) << kappa.status().toString();
  ASSERT_EQ(kappa->per_label.size(), 3u);
  ASSERT_TRUE(kappa->per_label[0].has_value());
  EXPECT_NEAR(*kappa->per_label[0], 1.0 / 3.0, kTight);
  ASSERT_TRUE(kappa->per_label[1].has_value());
  EXPECT_NEAR(*kappa->per_label[1], 1.0, kTight);
  EXPECT_FALSE(kappa->per_label[2].has_value());
  EXPECT_NEAR(kappa->mean, 2.0 / 3.0, kTight);
}

TEST(MultiLabelKappaTest, LabelsThatNeverVaryGiveOne) {
  // Label 0 applied by both raters to every item, label 1 never: nothing to disagree on.
  const std::vector<std::uint32_t> counts = {2, 0, 2, 0};
  auto kappa = multiLabelKappa(counts, 2, 2, 2);
  ASSERT_TRUE(kappa.ok());
  EXPECT_EQ(kappa->mean, 1.0);
  EXPECT_FALSE(kappa->per_label[0].has_value());
  EXPECT_FALSE(kappa->per_label[1].has_value());
}

TEST(MultiLabelKappaTest, UndefinedInputsAreErrors) {
  const std::vector<std::uint32_t> counts = {2, 0, 3, 0};
  EXPECT_THAT(multiLabelKappa(counts, 2, 2, 2).status().message(),
              HasSubstr("label 0 of item 1 was applied 3 times by 2 raters"));
  EXPECT_THAT(multiLabelKappa(counts, 2, 2, 1).status().message(), HasSubstr("2 raters"));
  EXPECT_FALSE(multiLabelKappa(counts, 1, 4, 3).ok());
  EXPECT_FALSE(multiLabelKappa(counts, 3, 2, 3).ok());
  EXPECT_FALSE(multiLabelKappa(counts, 2, 0, 3).ok());
}

// ---- Boxes and spans ----

TEST(BoxIouTest, OverlapsWorkedByHand) {
  // Overlap 1 x 1 of two 2 x 2 boxes: 1 / (4 + 4 - 1) = 1/7.
  EXPECT_NEAR(boxIou({0, 0, 2, 2}, {1, 1, 2, 2}), 1.0 / 7.0, kTight);
  // A 2 x 2 box inside a 4 x 4 one: 4 / 16.
  EXPECT_NEAR(boxIou({0, 0, 4, 4}, {1, 1, 2, 2}), 0.25, kTight);
  EXPECT_EQ(boxIou({3, 4, 5, 6}, {3, 4, 5, 6}), 1.0);
  EXPECT_EQ(boxIou({0, 0, 2, 2}, {2, 0, 2, 2}), 0.0);  // touching edges
  EXPECT_EQ(boxIou({0, 0, 2, 2}, {5, 5, 1, 1}), 0.0);
  // No area between them: equal points are the same mark, different ones are not.
  EXPECT_EQ(boxIou({1, 1, 0, 0}, {1, 1, 0, 0}), 1.0);
  EXPECT_EQ(boxIou({1, 1, 0, 0}, {2, 1, 0, 0}), 0.0);
}

TEST(MeanMatchedBoxIouTest, MatchesSameLabelsAndCountsUnmatchedBoxesAsZero) {
  // a: cat {0,0,2,2}, dog {10,10,2,2}; b: cat {1,1,2,2}, cat {10,10,2,2}, dog {10,11,2,2}.
  // cat-cat: a0-b0 = 1/7, a0-b1 = 0. dog-dog: a1-b2: overlap 2 x 1 = 2, union 4 + 4 - 2 = 6:
  // 1/3. a1 and b1 overlap exactly but their labels differ. Matched: 1/7 + 1/3 = 10/21; b1 is
  // unmatched; over max(2, 3) = 3: 10/63.
  const std::vector<LabelledBox> a = {{{0, 0, 2, 2}, "cat"}, {{10, 10, 2, 2}, "dog"}};
  const std::vector<LabelledBox> b = {
      {{1, 1, 2, 2}, "cat"}, {{10, 10, 2, 2}, "cat"}, {{10, 11, 2, 2}, "dog"}};
  auto iou = meanMatchedBoxIou(a, b);
  ASSERT_TRUE(iou.ok()) << iou.status().toString();
  EXPECT_NEAR(*iou, 10.0 / 63.0, kTight);
  EXPECT_NEAR(*meanMatchedBoxIou(b, a), 10.0 / 63.0, kTight);
}

TEST(MeanMatchedBoxIouTest, GreedyHighestFirstWithTiesToTheLowerIndex) {
  // One label. a0 {0,0,2,2}, a1 {2,0,2,2}; b0 {1,0,2,2}, b1 {-1.5,0,2,2}.
  // a0-b0: overlap 1 x 2 = 2, union 6: 1/3; a1-b0: also 1/3 (a tie); a0-b1: overlap 0.5 x 2 = 1,
  // union 7: 1/7; a1-b1: 0.
  // The tie goes to a0 (the lower index): a0-b0, then a1 and b1 have no positive pair left:
  // (1/3) / 2 = 1/6. (Taking a1-b0 would have left a0-b1: (1/3 + 1/7) / 2 = 5/21; greedy
  // matching does not search for the best total.)
  const std::vector<LabelledBox> a = {{{0, 0, 2, 2}, "x"}, {{2, 0, 2, 2}, "x"}};
  const std::vector<LabelledBox> b = {{{1, 0, 2, 2}, "x"}, {{-1.5, 0, 2, 2}, "x"}};
  EXPECT_NEAR(*meanMatchedBoxIou(a, b), 1.0 / 6.0, kTight);
  // The highest pair goes first even when it is not the first index: a1 = b0 exactly.
  const std::vector<LabelledBox> c = {{{0, 0, 2, 2}, "x"}, {{1, 0, 2, 2}, "x"}};
  const std::vector<LabelledBox> d = {{{1, 0, 2, 2}, "x"}};
  EXPECT_NEAR(*meanMatchedBoxIou(c, d), 0.5, kTight);  // (1 + a0 unmatched 0) / 2
}

TEST(MeanMatchedBoxIouTest, EmptyListsAndBadBoxes) {
  const std::vector<LabelledBox> none, one = {{{0, 0, 1, 1}, "x"}};
  EXPECT_EQ(*meanMatchedBoxIou(none, none), 1.0);
  EXPECT_EQ(*meanMatchedBoxIou(none, one), 0.0);
  EXPECT_EQ(*meanMatchedBoxIou(one, none), 0.0);
  const std::vector<LabelledBox> negative = {{{0, 0, 1, 1}, "x"}, {{0, 0, -1, 1}, "x"}};
  auto bad = meanMatchedBoxIou(one, negative);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("box 1 of annotator b"));
  const std::vector<LabelledBox> nan = {{{std::nan(""), 0, 1, 1}, "x"}};
  EXPECT_THAT(meanMatchedBoxIou(nan, one).status().message(), HasSubstr("box 0 of annotator a"));
}

TEST(SpanIouTest, OneDimensionalOverlapsWorkedByHand) {
  // [0, 10) and [5, 15): 5 shared of 15 covered.
  EXPECT_NEAR(spanIou({0, 10, "a"}, {5, 15, "b"}), 1.0 / 3.0, kTight);
  EXPECT_EQ(spanIou({0, 10, "a"}, {10, 20, "a"}), 0.0);
  EXPECT_NEAR(spanIou({2, 4, "a"}, {0, 8, "a"}), 0.25, kTight);
  EXPECT_EQ(spanIou({3, 3, "a"}, {3, 3, "a"}), 1.0);
  EXPECT_EQ(spanIou({3, 3, "a"}, {4, 4, "a"}), 0.0);
}

TEST(MeanMatchedSpanIouTest, SameRuleAsBoxes) {
  // PER [0,10) vs PER [5,15): 1/3. LOC [20,25) vs ORG [20,25): different labels, no match.
  // (1/3 + 0) / max(2, 2) = 1/6.
  const std::vector<LabelledSpan> a = {{0, 10, "PER"}, {20, 25, "LOC"}};
  const std::vector<LabelledSpan> b = {{5, 15, "PER"}, {20, 25, "ORG"}};
  EXPECT_NEAR(*meanMatchedSpanIou(a, b), 1.0 / 6.0, kTight);
  EXPECT_EQ(*meanMatchedSpanIou(a, a), 1.0);
  EXPECT_EQ(*meanMatchedSpanIou({}, {}), 1.0);
  const std::vector<LabelledSpan> backwards = {{5, 4, "PER"}};
  EXPECT_THAT(meanMatchedSpanIou(a, backwards).status().message(),
              HasSubstr("span 0 of annotator b is [5, 4)"));
  const std::vector<LabelledSpan> negative = {{-1, 4, "PER"}};
  EXPECT_FALSE(meanMatchedSpanIou(negative, a).ok());
}

}  // namespace
}  // namespace aimass::core::annotation
