// SPDX-License-Identifier: Apache-2.0
#include "impute.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "aimass/plugin.h"
#include "aimass/testing/registration.h"
#include "aimass/testing/transform_conformance.h"

extern "C" const AimassPluginDescriptor* aimass_plugin_descriptor_fn();

namespace aimass::plugins::transform {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::numericColumn;
using testing::tableOf;
using testing::textColumn;

const float kNan = std::numeric_limits<float>::quiet_NaN();

std::unique_ptr<ImputeTransform> make(ImputeStrategy strategy,
                                      std::vector<std::string> columns = {},
                                      std::string fill_value = {}, bool indicator = false) {
  ImputeParams params;
  params.strategy = strategy;
  params.columns = std::move(columns);
  params.fill_value = std::move(fill_value);
  params.indicator = indicator;
  auto made = ImputeTransform::create(params);
  EXPECT_TRUE(made.ok()) << made.status().toString();
  return made.ok() ? std::move(made).value() : nullptr;
}

Table fitApply(Transform& transform, const Table& t) {
  auto out = testing::fitAndApply(transform, t);
  EXPECT_TRUE(out.ok()) << out.status().toString();
  return out.ok() ? std::move(out).value() : Table();
}

TEST(Impute, MeanFillsNumbersAndSkipsTextByDefault) {
  auto t = make(ImputeStrategy::kMean);
  Table out = fitApply(*t, tableOf({{"a", "b"}, {"s"}}, {1, 5, kNan, 6, 3, 7}, {"x", "", "y"}));
  EXPECT_EQ(out.columns, (TableColumns{{"a", "b"}, {"s"}}));
  EXPECT_THAT(numericColumn(out, "a"), ElementsAre(1, 2, 3));
  EXPECT_THAT(numericColumn(out, "b"), ElementsAre(5, 6, 7));
  EXPECT_THAT(textColumn(out, "s"), ElementsAre("x", "", "y"));
}

TEST(Impute, MedianOfThePresentValues) {
  auto t = make(ImputeStrategy::kMedian);
  EXPECT_THAT(numericColumn(fitApply(*t, tableOf({{"a"}, {}}, {1, kNan, 10, 2})), "a"),
              ElementsAre(1, 2, 10, 2));
}

TEST(Impute, MostFrequentTiesGoToTheSmallestAndCoverText) {
  auto t = make(ImputeStrategy::kMostFrequent);
  Table out = fitApply(*t, tableOf({{"a"}, {"s"}}, {3, 1, 3, 1, kNan}, {"b", "a", "b", "", "c"}));
  EXPECT_THAT(numericColumn(out, "a"), ElementsAre(3, 1, 3, 1, 1));
  EXPECT_THAT(textColumn(out, "s"), ElementsAre("b", "a", "b", "b", "c"));
}

TEST(Impute, ConstantDefaultsAndGivenFill) {
  auto defaults = make(ImputeStrategy::kConstant);
  Table out = fitApply(*defaults, tableOf({{"a"}, {"s"}}, {kNan, 2}, {"", "q"}));
  EXPECT_THAT(numericColumn(out, "a"), ElementsAre(0, 2));
  EXPECT_THAT(textColumn(out, "s"), ElementsAre("missing", "q"));
  auto seven = make(ImputeStrategy::kConstant, {"a"}, "7.5");
  out = fitApply(*seven, tableOf({{"a"}, {"s"}}, {kNan, 2}, {"", "q"}));
  EXPECT_THAT(numericColumn(out, "a"), ElementsAre(7.5f, 2));
  EXPECT_THAT(textColumn(out, "s"), ElementsAre("", "q"));
  // An all-missing column is fine for a constant.
  EXPECT_TRUE(make(ImputeStrategy::kConstant)->fit(tableOf({{"a"}, {}}, {kNan})).ok());
}

TEST(Impute, IndicatorColumnsForColumnsThatHadGaps) {
  auto t = make(ImputeStrategy::kMostFrequent, {}, {}, true);
  Table train = tableOf({{"a", "b"}, {"s"}}, {1, 1, kNan, 2, 1, 3}, {"u", "", "u"});
  auto fitted = t->fit(train);
  ASSERT_TRUE(fitted.ok()) << fitted.status().toString();
  EXPECT_EQ(*fitted, (TableColumns{{"a", "b", "a_missing", "s_missing"}, {"s"}}));
  Table out;
  ASSERT_TRUE(t->apply(tableOf(train.columns, {kNan, kNan, 4, 5}, {"", "v"}), out).ok());
  EXPECT_THAT(numericColumn(out, "a"), ElementsAre(1, 4));
  EXPECT_THAT(numericColumn(out, "b"), ElementsAre(1, 5));  // filled, but no indicator
  EXPECT_THAT(numericColumn(out, "a_missing"), ElementsAre(1, 0));
  EXPECT_THAT(numericColumn(out, "s_missing"), ElementsAre(1, 0));
  EXPECT_THAT(textColumn(out, "s"), ElementsAre("u", "v"));
}

TEST(Impute, ErrorsNameTheColumn) {
  auto text_mean = make(ImputeStrategy::kMean, {"s"})->fit(tableOf({{"a"}, {"s"}}, {1}, {"x"}));
  EXPECT_EQ(text_mean.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(text_mean.status().message(), HasSubstr("text column 's'"));
  auto unknown = make(ImputeStrategy::kMedian, {"zz"})->fit(tableOf({{"a"}, {}}, {1}));
  EXPECT_THAT(unknown.status().message(), HasSubstr("'zz'"));
  auto twice = make(ImputeStrategy::kMean, {"a", "a"})->fit(tableOf({{"a"}, {}}, {1}));
  EXPECT_THAT(twice.status().message(), HasSubstr("columns names 'a' twice"));
  auto empty = make(ImputeStrategy::kMean)->fit(tableOf({{"a", "b"}, {}}, {1, kNan}));
  EXPECT_THAT(empty.status().message(), HasSubstr("column 'b' has no value"));
  auto empty_text = make(ImputeStrategy::kMostFrequent)->fit(tableOf({{"a"}, {"s"}}, {1}, {""}));
  EXPECT_THAT(empty_text.status().message(), HasSubstr("text column 's' has no value"));
  auto word = make(ImputeStrategy::kConstant, {}, "n/a")->fit(tableOf({{"a"}, {}}, {1}));
  EXPECT_THAT(word.status().message(), HasSubstr("'n/a' is not a number"));
  auto only_text = make(ImputeStrategy::kMean)->fit(tableOf({{}, {"s"}}, {}, {"x"}));
  EXPECT_THAT(only_text.status().message(), HasSubstr("no column to impute"));
  auto clash = make(ImputeStrategy::kMean, {}, {}, true)
                   ->fit(tableOf({{"a", "a_missing"}, {}}, {kNan, 1, 2, 1}));
  EXPECT_THAT(clash.status().message(), HasSubstr("two columns named 'a_missing'"));
}

TEST(Impute, Conformance) {
  for (auto strategy : {ImputeStrategy::kMean, ImputeStrategy::kMedian,
                        ImputeStrategy::kMostFrequent, ImputeStrategy::kConstant}) {
    auto t = make(strategy, {}, {}, strategy != ImputeStrategy::kMean);
    auto fresh = make(strategy);
    EXPECT_EQ(testing::failedChecks(
                  testing::checkTransform(*t, testing::sampleTransformTable(), fresh.get())),
              "")
        << static_cast<int>(strategy);
  }
}

TEST(Impute, RegistersOneType) {
  auto registered = testing::collectRegisteredTypes(*aimass_plugin_descriptor_fn());
  ASSERT_TRUE(registered.status.ok()) << registered.status.toString();
  ASSERT_EQ(registered.types.size(), 1u);
  EXPECT_EQ(registered.types[0].type, "transform.impute");
}

}  // namespace
}  // namespace aimass::plugins::transform
