// SPDX-License-Identifier: Apache-2.0
#include "select.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

std::unique_ptr<SelectTransform> make(bool keep, std::vector<std::string> names) {
  auto made = SelectTransform::create({keep, std::move(names)});
  EXPECT_TRUE(made.ok()) << made.status().toString();
  return made.ok() ? std::move(made).value() : nullptr;
}

Table sample() {
  return tableOf({{"a", "b", "c"}, {"s", "t"}}, {1, 2, 3, 4, 5, 6}, {"p", "q", "r", "u"});
}

TEST(Select, KeepKeepsTableOrderAcrossBlocks) {
  auto t = make(true, {"t", "c", "a"});
  ASSERT_TRUE(t->fit(sample()).ok());
  Table out;
  ASSERT_TRUE(t->apply(sample(), out).ok());
  EXPECT_EQ(out.columns, (TableColumns{{"a", "c"}, {"t"}}));
  EXPECT_THAT(numericColumn(out, "a"), ElementsAre(1, 4));
  EXPECT_THAT(numericColumn(out, "c"), ElementsAre(3, 6));
  EXPECT_THAT(textColumn(out, "t"), ElementsAre("q", "u"));
}

TEST(Select, DropRemovesTheNamedColumns) {
  auto t = make(false, {"b", "s"});
  ASSERT_TRUE(t->fit(sample()).ok());
  Table out;
  ASSERT_TRUE(t->apply(sample(), out).ok());
  EXPECT_EQ(out.columns, (TableColumns{{"a", "c"}, {"t"}}));
  EXPECT_THAT(numericColumn(out, "c"), ElementsAre(3, 6));
  auto texts_only = make(false, {"a", "b", "c"});
  ASSERT_TRUE(texts_only->fit(sample()).ok());
  ASSERT_TRUE(texts_only->apply(sample(), out).ok());
  EXPECT_EQ(out.columns, (TableColumns{{}, {"s", "t"}}));
  EXPECT_EQ(out.rows(), 2u);
  EXPECT_THAT(textColumn(out, "s"), ElementsAre("p", "r"));
}

TEST(Select, Errors) {
  auto unknown = make(true, {"a", "zz"})->fit(sample());
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown.status().message(), HasSubstr("keep names column 'zz'"));
  auto everything = make(false, {"a", "b", "c", "s", "t"})->fit(sample());
  EXPECT_THAT(everything.status().message(), HasSubstr("no column would be left"));
  EXPECT_THAT(SelectTransform::create({true, {}}).status().message(), HasSubstr("keep"));
}

TEST(Select, Conformance) {
  for (const auto& params : {SelectParams{true, {"x", "city"}}, SelectParams{false, {"y"}}}) {
    auto t = make(params.keep, params.names);
    auto fresh = make(!params.keep, {"x"});
    EXPECT_EQ(testing::failedChecks(
                  testing::checkTransform(*t, testing::sampleTransformTable(), fresh.get())),
              "");
  }
}

TEST(Select, RegistersOneType) {
  auto registered = testing::collectRegisteredTypes(*aimass_plugin_descriptor_fn());
  ASSERT_TRUE(registered.status.ok()) << registered.status.toString();
  ASSERT_EQ(registered.types.size(), 1u);
  EXPECT_EQ(registered.types[0].type, "transform.select");
}

}  // namespace
}  // namespace aimass::plugins::transform
