// SPDX-License-Identifier: Apache-2.0
#include "encode.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
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

EncodeParams onehot(bool unknown_error = true, bool missing_category = false,
                    std::uint64_t max_categories = 0) {
  EncodeParams p;
  p.mode = EncodeMode::kOneHot;
  p.unknown_error = unknown_error;
  p.missing_category = missing_category;
  p.max_categories = max_categories;
  return p;
}

EncodeParams ordinal(bool unknown_error = true, bool missing_category = false) {
  EncodeParams p = onehot(unknown_error, missing_category);
  p.mode = EncodeMode::kOrdinal;
  return p;
}

std::unique_ptr<EncodeTransform> make(EncodeParams params) {
  auto made = EncodeTransform::create(params);
  EXPECT_TRUE(made.ok()) << made.status().toString();
  return made.ok() ? std::move(made).value() : nullptr;
}

Table fitApply(Transform& transform, const Table& t) {
  auto out = testing::fitAndApply(transform, t);
  EXPECT_TRUE(out.ok()) << out.status().toString();
  return out.ok() ? std::move(out).value() : Table();
}

TEST(OneHot, SortedCategoriesAfterTheNumericColumns) {
  auto t = make(onehot());
  Table out =
      fitApply(*t, tableOf({{"a"}, {"city"}}, {1, 2, 3, 4}, {"paris", "rome", "paris", "oslo"}));
  EXPECT_EQ(out.columns, (TableColumns{{"a", "city=oslo", "city=paris", "city=rome"}, {}}));
  EXPECT_THAT(numericColumn(out, "a"), ElementsAre(1, 2, 3, 4));
  EXPECT_THAT(numericColumn(out, "city=oslo"), ElementsAre(0, 0, 0, 1));
  EXPECT_THAT(numericColumn(out, "city=paris"), ElementsAre(1, 0, 1, 0));
  EXPECT_THAT(numericColumn(out, "city=rome"), ElementsAre(0, 1, 0, 0));
}

TEST(OneHot, MissingIsZerosOrItsOwnCategory) {
  Table t = tableOf({{}, {"c"}}, {}, {"x", "", "y"});
  Table zeros = fitApply(*make(onehot()), t);
  EXPECT_EQ(zeros.columns.numeric, (std::vector<std::string>{"c=x", "c=y"}));
  EXPECT_THAT(numericColumn(zeros, "c=x"), ElementsAre(1, 0, 0));
  EXPECT_THAT(numericColumn(zeros, "c=y"), ElementsAre(0, 0, 1));
  Table own = fitApply(*make(onehot(true, true)), t);
  EXPECT_EQ(own.columns.numeric, (std::vector<std::string>{"c=", "c=x", "c=y"}));
  EXPECT_THAT(numericColumn(own, "c="), ElementsAre(0, 1, 0));
}

TEST(OneHot, UnknownIsAnErrorNamingColumnRowAndValueOrZeros) {
  auto strict = make(onehot());
  ASSERT_TRUE(strict->fit(tableOf({{}, {"c"}}, {}, {"x", "y"})).ok());
  Table out;
  Status refused = strict->apply(tableOf({{}, {"c"}}, {}, {"x", "z"}), out);
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("column 'c' row 1 holds 'z'"));
  auto lenient = make(onehot(false));
  ASSERT_TRUE(lenient->fit(tableOf({{}, {"c"}}, {}, {"x", "y"})).ok());
  ASSERT_TRUE(lenient->apply(tableOf({{}, {"c"}}, {}, {"z", "y"}), out).ok());
  EXPECT_THAT(numericColumn(out, "c=x"), ElementsAre(0, 0));
  EXPECT_THAT(numericColumn(out, "c=y"), ElementsAre(0, 1));
}

TEST(OneHot, MaxCategoriesKeepsTheMostFrequent) {
  auto t = make(onehot(true, false, 2));
  ASSERT_TRUE(t->fit(tableOf({{}, {"c"}}, {}, {"c", "b", "a", "b", "c", "d"})).ok());
  EXPECT_EQ(t->outputColumns().numeric, (std::vector<std::string>{"c=b", "c=c"}));
  Table out;  // "a" was seen, so it is not an unknown: zeros.
  ASSERT_TRUE(t->apply(tableOf({{}, {"c"}}, {}, {"a", "c"}), out).ok());
  EXPECT_THAT(numericColumn(out, "c=b"), ElementsAre(0, 0));
  EXPECT_THAT(numericColumn(out, "c=c"), ElementsAre(0, 1));
}

TEST(OneHot, OnlyNamedColumnsOthersPassThrough) {
  EncodeParams p = onehot();
  p.columns = {"b"};
  Table out = fitApply(*make(p), tableOf({{}, {"a", "b"}}, {}, {"u", "x", "v", "y"}));
  EXPECT_EQ(out.columns, (TableColumns{{"b=x", "b=y"}, {"a"}}));
  EXPECT_THAT(textColumn(out, "a"), ElementsAre("u", "v"));
}

TEST(Ordinal, CodesInByteOrderMissingIsNanOrACode) {
  Table t = tableOf({{"n"}, {"c"}}, {1, 2, 3, 4}, {"b", "a", "c", ""});
  Table out = fitApply(*make(ordinal()), t);
  EXPECT_EQ(out.columns, (TableColumns{{"n", "c"}, {}}));
  auto codes = numericColumn(out, "c");
  EXPECT_THAT(std::vector<float>(codes.begin(), codes.begin() + 3), ElementsAre(1, 0, 2));
  EXPECT_TRUE(std::isnan(codes[3]));
  EXPECT_THAT(numericColumn(fitApply(*make(ordinal(true, true)), t), "c"), ElementsAre(2, 1, 3, 0));
}

TEST(Ordinal, UnknownIsMinusOneOrAnError) {
  auto lenient = make(ordinal(false));
  ASSERT_TRUE(lenient->fit(tableOf({{}, {"c"}}, {}, {"x", "y"})).ok());
  Table out;
  ASSERT_TRUE(lenient->apply(tableOf({{}, {"c"}}, {}, {"y", "q"}), out).ok());
  EXPECT_THAT(numericColumn(out, "c"), ElementsAre(1, -1));
  auto strict = make(ordinal());
  ASSERT_TRUE(strict->fit(tableOf({{}, {"c"}}, {}, {"x", "y"})).ok());
  EXPECT_THAT(strict->apply(tableOf({{}, {"c"}}, {}, {"q", "x"}), out).message(),
              HasSubstr("column 'c' row 0 holds 'q'"));
}

TEST(Encode, FitErrors) {
  EncodeParams numeric = onehot();
  numeric.columns = {"a"};
  EXPECT_THAT(make(numeric)->fit(tableOf({{"a"}, {"c"}}, {1}, {"x"})).status().message(),
              HasSubstr("'a' is a numeric column"));
  EXPECT_THAT(make(onehot())->fit(tableOf({{"a"}, {}}, {1})).status().message(),
              HasSubstr("no text column"));
  EXPECT_THAT(make(ordinal())->fit(tableOf({{}, {"c"}}, {}, {"", ""})).status().message(),
              HasSubstr("text column 'c' has no value"));
  EXPECT_THAT(make(onehot())->fit(tableOf({{"c=x"}, {"c"}}, {1}, {"x"})).status().message(),
              HasSubstr("two columns named 'c=x'"));
}

TEST(Encode, Conformance) {
  for (const auto& params : {onehot(), onehot(false, true, 2), ordinal(), ordinal(false, true)}) {
    auto t = make(params);
    auto fresh = make(params);
    EXPECT_EQ(testing::failedChecks(
                  testing::checkTransform(*t, testing::sampleTransformTable(), fresh.get())),
              "")
        << encodeTypeName(params.mode);
  }
}

TEST(Encode, RegistersOneHotAndOrdinal) {
  auto registered = testing::collectRegisteredTypes(*aimass_plugin_descriptor_fn());
  ASSERT_TRUE(registered.status.ok()) << registered.status.toString();
  ASSERT_EQ(registered.types.size(), 2u);
  EXPECT_EQ(registered.types[0].type, "transform.onehot");
  EXPECT_EQ(registered.types[1].type, "transform.ordinal");
}

}  // namespace
}  // namespace aimass::plugins::transform
