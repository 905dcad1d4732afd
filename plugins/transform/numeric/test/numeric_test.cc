// SPDX-License-Identifier: Apache-2.0
#include "numeric.h"

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

const float kNan = std::numeric_limits<float>::quiet_NaN();

std::unique_ptr<NumericTransform> make(NumericParams params) {
  auto made = NumericTransform::create(params);
  EXPECT_TRUE(made.ok()) << made.status().toString();
  return made.ok() ? std::move(made).value() : nullptr;
}

NumericParams logParams(double offset) {
  NumericParams p;
  p.op = NumericOp::kLog;
  p.offset = offset;
  return p;
}

NumericParams clipParams(double min, double max) {
  NumericParams p;
  p.op = NumericOp::kClip;
  p.min = min;
  p.max = max;
  return p;
}

NumericParams quantileParams(double low, double high) {
  NumericParams p;
  p.op = NumericOp::kClip;
  p.quantiles = true;
  p.quantile_low = low;
  p.quantile_high = high;
  return p;
}

Table fitApply(Transform& transform, const Table& t) {
  auto out = testing::fitAndApply(transform, t);
  EXPECT_TRUE(out.ok()) << out.status().toString();
  return out.ok() ? std::move(out).value() : Table();
}

TEST(Log, Log1pByDefaultMissingStaysMissing) {
  auto t = make(logParams(1));
  const float e = static_cast<float>(std::exp(1.0));
  auto a = numericColumn(fitApply(*t, tableOf({{"a"}, {}}, {0, e - 1, kNan})), "a");
  EXPECT_FLOAT_EQ(a[0], 0);
  EXPECT_NEAR(a[1], 1, 1e-6);
  EXPECT_TRUE(std::isnan(a[2]));
}

TEST(Log, OffsetZeroIsThePlainLogarithm) {
  auto t = make(logParams(0));
  EXPECT_THAT(numericColumn(fitApply(*t, tableOf({{"a"}, {}}, {1, 100})), "a"),
              ElementsAre(0, FloatNear(4.6051702f, 1e-5f)));
}

TEST(Log, OutOfDomainNamesColumnAndRowAtFitAndApply) {
  auto t = make(logParams(0));
  auto fitted = t->fit(tableOf({{"a", "b"}, {}}, {1, 2, 3, 0}));
  EXPECT_EQ(fitted.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(fitted.status().message(), HasSubstr("column 'b' row 1"));
  EXPECT_FALSE(t->fitted());

  auto log1p = make(logParams(1));
  ASSERT_TRUE(log1p->fit(tableOf({{"a"}, {}}, {0, 1})).ok());
  Table out;
  Status applied = log1p->apply(tableOf({{"a"}, {}}, {3, -1, 2}), out);
  EXPECT_EQ(applied.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(applied.message(), HasSubstr("column 'a' row 1"));
}

TEST(Clip, FixedBounds) {
  auto t = make(clipParams(0, 5));
  auto a = numericColumn(fitApply(*t, tableOf({{"a"}, {}}, {-1, 3, 9, kNan})), "a");
  EXPECT_THAT(std::vector<float>(a.begin(), a.begin() + 3), ElementsAre(0, 3, 5));
  EXPECT_TRUE(std::isnan(a[3]));
  auto floor_only = make(clipParams(2, std::numeric_limits<double>::infinity()));
  EXPECT_THAT(numericColumn(fitApply(*floor_only, tableOf({{"a"}, {}}, {1, 1e9f})), "a"),
              ElementsAre(2, 1e9f));
}

TEST(Clip, LearntQuantilesApplyToNewRows) {
  auto t = make(quantileParams(25, 75));
  // {1..5}: q25 = 2, q75 = 4.
  EXPECT_THAT(numericColumn(fitApply(*t, tableOf({{"a"}, {}}, {5, 1, 3, 2, 4})), "a"),
              ElementsAre(4, 2, 3, 2, 4));
  Table out;
  ASSERT_TRUE(t->apply(tableOf({{"a"}, {}}, {0, 10}), out).ok());
  EXPECT_THAT(numericColumn(out, "a"), ElementsAre(2, 4));
}

TEST(Clip, BadParametersAreRefused) {
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_THAT(NumericTransform::create(clipParams(-inf, inf)).status().message(),
              HasSubstr("give min, max"));
  EXPECT_THAT(NumericTransform::create(clipParams(3, 1)).status().message(),
              HasSubstr("min must not exceed max"));
  auto both = quantileParams(1, 99);
  both.min = 0;
  EXPECT_THAT(NumericTransform::create(both).status().message(), HasSubstr("not both"));
  EXPECT_THAT(NumericTransform::create(quantileParams(50, 20)).status().message(),
              HasSubstr("quantiles"));
}

TEST(Numeric, Conformance) {
  for (const auto& params : {logParams(1), clipParams(0, 3), quantileParams(10, 90)}) {
    auto t = make(params);
    auto fresh = make(params);
    EXPECT_EQ(testing::failedChecks(
                  testing::checkTransform(*t, testing::sampleTransformTable(), fresh.get())),
              "")
        << numericTypeName(params.op);
  }
}

TEST(Numeric, RegistersLogAndClip) {
  auto registered = testing::collectRegisteredTypes(*aimass_plugin_descriptor_fn());
  ASSERT_TRUE(registered.status.ok()) << registered.status.toString();
  ASSERT_EQ(registered.types.size(), 2u);
  EXPECT_EQ(registered.types[0].type, "transform.log");
  EXPECT_EQ(registered.types[1].type, "transform.clip");
}

}  // namespace
}  // namespace aimass::plugins::transform
