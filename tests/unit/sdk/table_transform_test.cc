// SPDX-License-Identifier: Apache-2.0
// aimass/util/table_transform.h: the helpers every transform plugin shares.

#include "aimass/util/table_transform.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "aimass/testing/transform_conformance.h"

namespace aimass {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::tableOf;

TEST(QuantileOf, InterpolatesLikeNumpy) {
  // numpy.quantile([1, 2, 3, 4], q) for q = 0, 0.25, 0.5, 0.9, 1: 1, 1.75, 2.5, 3.7, 4.
  const std::vector<double> values = {4, 1, 3, 2};
  const std::vector<std::pair<double, double>> cases = {
      {0, 1}, {0.25, 1.75}, {0.5, 2.5}, {0.9, 3.7}, {1, 4}};
  for (const auto& [q, expected] : cases) {
    auto copy = values;
    EXPECT_NEAR(quantileOf(copy, q), expected, 1e-12) << "q = " << q;
  }
  std::vector<double> one = {7};
  EXPECT_EQ(quantileOf(one, 0.5), 7);
}

TEST(PresentValues, SkipsMissingAndNamesInfiniteValues) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Table t = tableOf({{"a", "b"}, {}}, {1, nan, nan, 2, 3, std::numeric_limits<float>::infinity()});
  auto a = presentValues(t, 0, "test");
  ASSERT_TRUE(a.ok());
  EXPECT_THAT(*a, ElementsAre(1, 3));
  EXPECT_THAT(presentValues(t, 1, "test").status().message(),
              HasSubstr("column 'b' row 2 holds an infinite value"));
  Table empty = tableOf({{"a"}, {}}, {nan, nan});
  EXPECT_THAT(presentValues(empty, 0, "test").status().message(), HasSubstr("no value"));
}

TEST(Payload, StringsAndPositionsRoundTripAndRefuseGarbage) {
  std::string bytes;
  ByteWriter writer(bytes);
  writeStrings(writer, {"a", "", "ccc"});
  writePositions(writer, {0, 2});
  ByteReader reader(bytes);
  std::vector<std::string> strings;
  std::vector<std::size_t> positions;
  ASSERT_TRUE(readStrings(reader, strings));
  EXPECT_THAT(strings, ElementsAre("a", "", "ccc"));
  ASSERT_TRUE(readPositions(reader, 3, positions));
  EXPECT_THAT(positions, ElementsAre(0, 2));
  EXPECT_TRUE(reader.atEnd());

  ByteReader low_limit(bytes);
  ASSERT_TRUE(readStrings(low_limit, strings));
  EXPECT_FALSE(readPositions(low_limit, 2, positions));  // 2 is not below 2

  std::string huge;
  ByteWriter(huge).u64(std::uint64_t{1} << 60);
  ByteReader huge_reader(huge);
  EXPECT_FALSE(readStrings(huge_reader, strings));
}

TEST(CheckTableShape, NamesWhatIsOff) {
  Table t = tableOf({{"a"}, {"s"}}, {1, 2}, {"x", "y"});
  EXPECT_TRUE(checkTableShape(t, t.columns, "test").ok());
  Table no_text = t;
  no_text.strings = Tensor();
  EXPECT_THAT(checkTableShape(no_text, t.columns, "test").message(),
              HasSubstr("text block must be BYTES [2, 1]"));
  Table doubles = t;
  doubles.numeric = Tensor::zeros(DType::kFloat64, {2, 1});
  EXPECT_THAT(checkTableShape(doubles, t.columns, "test").message(),
              HasSubstr("numeric block must be FP32 [2, 1], got FP64 [2, 1]"));
  EXPECT_EQ(columnsText(t.columns), "numeric [a], text [s]");
  EXPECT_THAT(checkUniqueNames({{"a", "b"}, {"a"}}, "test").message(),
              HasSubstr("two columns named 'a'"));
}

}  // namespace
}  // namespace aimass
