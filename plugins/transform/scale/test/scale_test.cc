// SPDX-License-Identifier: Apache-2.0
#include "scale.h"

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
using ::testing::FloatNear;
using ::testing::HasSubstr;
using testing::numericColumn;
using testing::tableOf;
using testing::textColumn;

const float kNan = std::numeric_limits<float>::quiet_NaN();

std::unique_ptr<ScaleTransform> make(ScaleMethod method, std::vector<std::string> columns = {},
                                     double low = 0, double high = 1) {
  ScaleParams params;
  params.method = method;
  params.columns = std::move(columns);
  params.low = low;
  params.high = high;
  auto made = ScaleTransform::create(params);
  EXPECT_TRUE(made.ok()) << made.status().toString();
  return made.ok() ? std::move(made).value() : nullptr;
}

/// Fits on `t` and applies to it.
Table fitApply(Transform& transform, const Table& t) {
  auto out = testing::fitAndApply(transform, t);
  EXPECT_TRUE(out.ok()) << out.status().toString();
  return out.ok() ? std::move(out).value() : Table();
}

TEST(Standardize, HandComputed) {
  auto t = make(ScaleMethod::kStandardize);
  Table out = fitApply(*t, tableOf({{"a"}, {}}, {1, 2, 3}));
  // mean 2, population std sqrt(2/3).
  EXPECT_THAT(numericColumn(out, "a"),
              ElementsAre(FloatNear(-1.2247449f, 1e-6f), FloatNear(0, 1e-6f),
                          FloatNear(1.2247449f, 1e-6f)));
}

TEST(Standardize, MissingIgnoredAndKeptConstantShiftedOnly) {
  auto t = make(ScaleMethod::kStandardize);
  Table out = fitApply(*t, tableOf({{"a", "c"}, {}}, {1, 5, kNan, 5, 3, 5}));
  auto a = numericColumn(out, "a");  // mean 2, std 1
  EXPECT_FLOAT_EQ(a[0], -1);
  EXPECT_TRUE(std::isnan(a[1]));
  EXPECT_FLOAT_EQ(a[2], 1);
  EXPECT_THAT(numericColumn(out, "c"), ElementsAre(0, 0, 0));
}

TEST(Standardize, OnlyNamedColumnsTextUntouched) {
  auto t = make(ScaleMethod::kStandardize, {"b"});
  Table out = fitApply(*t, tableOf({{"a", "b"}, {"s"}}, {1, 10, 2, 20}, {"u", "v"}));
  EXPECT_EQ(out.columns, (TableColumns{{"a", "b"}, {"s"}}));
  EXPECT_THAT(numericColumn(out, "a"), ElementsAre(1, 2));
  EXPECT_THAT(numericColumn(out, "b"), ElementsAre(-1, 1));
  EXPECT_THAT(textColumn(out, "s"), ElementsAre("u", "v"));
}

TEST(MinMax, DefaultAndCustomRange) {
  auto unit = make(ScaleMethod::kMinMax);
  EXPECT_THAT(numericColumn(fitApply(*unit, tableOf({{"a"}, {}}, {2, 4, 6})), "a"),
              ElementsAre(0, 0.5f, 1));
  auto wide = make(ScaleMethod::kMinMax, {}, -1, 1);
  EXPECT_THAT(numericColumn(fitApply(*wide, tableOf({{"a", "k"}, {}}, {2, 7, 4, 7, 6, 7})), "a"),
              ElementsAre(-1, 0, 1));
  EXPECT_THAT(numericColumn(fitApply(*wide, tableOf({{"k"}, {}}, {7, 7})), "k"),
              ElementsAre(-1, -1));
}

TEST(MinMax, AppliesTheTrainingRangeToNewRows) {
  auto t = make(ScaleMethod::kMinMax);
  ASSERT_TRUE(t->fit(tableOf({{"a"}, {}}, {0, 10})).ok());
  Table out;
  ASSERT_TRUE(t->apply(tableOf({{"a"}, {}}, {5, 20, -10}), out).ok());
  EXPECT_THAT(numericColumn(out, "a"), ElementsAre(0.5f, 2, -1));
}

TEST(Robust, MedianAndInterquartileRange) {
  auto t = make(ScaleMethod::kRobust, {}, 25, 75);
  // median 3, q25 2, q75 4 (linear interpolation), so (x - 3) / 2.
  Table out = fitApply(*t, tableOf({{"a"}, {}}, {100, 1, 3, 2, 4}));
  EXPECT_THAT(numericColumn(out, "a"), ElementsAre(48.5f, -1, 0, -0.5f, 0.5f));
  auto wide = make(ScaleMethod::kRobust, {}, 0, 100);
  // median 2.5, range 3.
  Table four = fitApply(*wide, tableOf({{"a"}, {}}, {1, 2, 3, 4}));
  EXPECT_THAT(numericColumn(four, "a"),
              ElementsAre(-0.5f, FloatNear(-1.0f / 6, 1e-6f), FloatNear(1.0f / 6, 1e-6f), 0.5f));
}

TEST(Scale, FitErrorsNameTheColumn) {
  auto t = make(ScaleMethod::kStandardize, {"s"});
  auto text = t->fit(tableOf({{"a"}, {"s"}}, {1}, {"x"}));
  EXPECT_EQ(text.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(text.status().message(), HasSubstr("'s' is a text column"));
  auto missing = make(ScaleMethod::kStandardize, {"zz"})->fit(tableOf({{"a"}, {}}, {1}));
  EXPECT_THAT(missing.status().message(), HasSubstr("'zz'"));
  auto empty = make(ScaleMethod::kMinMax)->fit(tableOf({{"a", "b"}, {}}, {1, kNan, 2, kNan}));
  EXPECT_THAT(empty.status().message(), HasSubstr("column 'b' has no value"));
  const float inf = std::numeric_limits<float>::infinity();
  auto infinite = make(ScaleMethod::kRobust, {}, 25, 75)->fit(tableOf({{"a"}, {}}, {1, inf}));
  EXPECT_THAT(infinite.status().message(), HasSubstr("column 'a' row 1"));
  EXPECT_FALSE(t->fitted());
  auto twice = make(ScaleMethod::kStandardize, {"a", "a"})->fit(tableOf({{"a"}, {}}, {1, 2}));
  EXPECT_THAT(twice.status().message(), HasSubstr("columns names 'a' twice"));
}

TEST(Scale, BadRangesAreRefused) {
  ScaleParams params;
  params.method = ScaleMethod::kMinMax;
  params.low = 1;
  params.high = 1;
  EXPECT_THAT(ScaleTransform::create(params).status().message(), HasSubstr("range"));
  params.method = ScaleMethod::kRobust;
  params.low = 10;
  params.high = 120;
  EXPECT_THAT(ScaleTransform::create(params).status().message(), HasSubstr("quantile_range"));
}

TEST(Scale, Conformance) {
  for (auto method : {ScaleMethod::kStandardize, ScaleMethod::kMinMax, ScaleMethod::kRobust}) {
    auto t = make(method, {}, method == ScaleMethod::kRobust ? 25 : 0,
                  method == ScaleMethod::kRobust ? 75 : 1);
    auto fresh = make(method, {}, 5, 95);
    EXPECT_EQ(testing::failedChecks(
                  testing::checkTransform(*t, testing::sampleTransformTable(), fresh.get())),
              "")
        << scaleTypeName(method);
  }
}

TEST(Scale, LoadOfAnotherTypeIsRefused) {
  auto standardize = make(ScaleMethod::kStandardize);
  ASSERT_TRUE(standardize->fit(tableOf({{"a"}, {}}, {1, 2})).ok());
  std::string payload;
  ASSERT_TRUE(standardize->save(payload).ok());
  auto minmax = make(ScaleMethod::kMinMax);
  EXPECT_EQ(minmax->load(payload, 1).code(), StatusCode::kDataLoss);
  EXPECT_FALSE(minmax->fitted());
}

TEST(Scale, RegistersThreeTypes) {
  auto registered = testing::collectRegisteredTypes(*aimass_plugin_descriptor_fn());
  ASSERT_TRUE(registered.status.ok()) << registered.status.toString();
  std::vector<std::string> names;
  for (const auto& type : registered.types) {
    names.push_back(type.type);
    EXPECT_EQ(type.kind, NodeKind::kTransform);
  }
  EXPECT_THAT(names, ElementsAre("transform.standardize", "transform.minmax", "transform.robust"));
}

}  // namespace
}  // namespace aimass::plugins::transform
