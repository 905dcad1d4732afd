// SPDX-License-Identifier: Apache-2.0
#include "monitoring/ground_truth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "map_storage.h"

namespace aimass::core {
namespace {

using ::testing::HasSubstr;

constexpr std::int64_t kForever = std::numeric_limits<std::int64_t>::max();

TEST(GroundTruth, ABodyOfLabelsAndValuesParses) {
  auto parsed = parseGroundTruthBody(
      R"({"ground_truth": [{"id": "a", "label": "leak"}, {"id": "b", "labels": ["ok", 2]},
                           {"id": "c", "value": 4.5}, {"id": "d", "values": [1, -2.25]}]})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().toString();
  ASSERT_EQ(parsed->size(), 4u);
  EXPECT_EQ((*parsed)[0].labels, std::vector<std::string>{"leak"});
  EXPECT_EQ((*parsed)[1].labels, (std::vector<std::string>{"ok", "2"}));
  EXPECT_EQ((*parsed)[2].values, std::vector<double>{4.5});
  EXPECT_EQ((*parsed)[3].values, (std::vector<double>{1, -2.25}));
  EXPECT_EQ((*parsed)[3].request_id, "d");
}

TEST(GroundTruth, EachMistakeIsNamedByItsPlace) {
  auto error = [](const std::string& body) {
    auto parsed = parseGroundTruthBody(body);
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << body;
    return parsed.status().message();
  };
  EXPECT_THAT(error("{oops"), HasSubstr("not JSON"));
  EXPECT_THAT(error("[1]"), HasSubstr("JSON object"));
  EXPECT_THAT(error(R"({"truth": []})"), HasSubstr("\"ground_truth\" list"));
  EXPECT_THAT(error(R"({"ground_truth": []})"), HasSubstr("1 to 10000"));
  EXPECT_THAT(error(R"({"ground_truth": [{"id": "a", "label": "x"}], "more": 1})"),
              HasSubstr("only \"ground_truth\""));
  EXPECT_THAT(error(R"({"ground_truth": [3]})"), HasSubstr("ground_truth[0] must be an object"));
  EXPECT_THAT(error(R"({"ground_truth": [{"label": "x"}]})"), HasSubstr("ground_truth[0].id"));
  EXPECT_THAT(error(R"({"ground_truth": [{"id": "a"}]})"), HasSubstr("exactly one of"));
  EXPECT_THAT(error(R"({"ground_truth": [{"id": "a", "label": "x", "value": 1}]})"),
              HasSubstr("exactly one of"));
  EXPECT_THAT(error(R"({"ground_truth": [{"id": "a", "label": "x"}, {"id": "b", "label": true}]})"),
              HasSubstr("ground_truth[1].label must be a class name"));
  EXPECT_THAT(error(R"({"ground_truth": [{"id": "a", "labels": ["x", -1]}]})"),
              HasSubstr("ground_truth[0].labels[1] is a negative class index"));
  EXPECT_THAT(error(R"({"ground_truth": [{"id": "a", "values": []}]})"),
              HasSubstr("ground_truth[0].values must be a non-empty list"));
  EXPECT_THAT(error(R"({"ground_truth": [{"id": "a", "value": "1"}]})"),
              HasSubstr("ground_truth[0].value must be a number"));
  EXPECT_THAT(error(R"({"ground_truth": [{"id": "a", "value": 1, "weight": 2}]})"),
              HasSubstr("unknown field 'weight'"));
}

TEST(GroundTruth, RecordsRoundTripAndAreReadOnceInOrder) {
  aimass::testing::MapStorage storage;
  auto first = parseGroundTruthBody(R"({"ground_truth": [{"id": "r 1%", "label": "a b"}]})");
  auto second = parseGroundTruthBody(R"({"ground_truth": [{"id": "r2", "values": [0.1, 3]}]})");
  ASSERT_TRUE(first.ok() && second.ok());
  auto key1 = appendGroundTruth(storage, "pumps", *first);
  auto key2 = appendGroundTruth(storage, "pumps", *second);
  ASSERT_TRUE(key1.ok() && key2.ok()) << key1.status().toString();
  EXPECT_THAT(*key1, HasSubstr("monitoring/pumps/truth/"));
  std::string cursor;
  auto one = readGroundTruth(storage, "pumps", cursor, 1, kForever);
  ASSERT_TRUE(one.ok()) << one.status().toString();
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].request_id, "r 1%");
  EXPECT_EQ((*one)[0].labels, std::vector<std::string>{"a b"});
  EXPECT_GT((*one)[0].unix_ns, 0);
  auto rest = readGroundTruth(storage, "pumps", cursor, 10, kForever);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((*rest)[0].values, (std::vector<double>{0.1, 3}));
  auto none = readGroundTruth(storage, "pumps", cursor, 10, kForever);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(GroundTruth, RecordsNotYetOldEnoughWait) {
  aimass::testing::MapStorage storage;
  auto outcome = parseGroundTruthBody(R"({"ground_truth": [{"id": "r", "label": "a"}]})");
  ASSERT_TRUE(appendGroundTruth(storage, "m", *outcome).ok());
  std::string cursor;
  auto early = readGroundTruth(storage, "m", cursor, 10, 1);
  ASSERT_TRUE(early.ok());
  EXPECT_TRUE(early->empty());
  EXPECT_TRUE(cursor.empty());
  auto later = readGroundTruth(storage, "m", cursor, 10, kForever);
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->size(), 1u);
}

TEST(GroundTruth, ACorruptRecordIsNamed) {
  aimass::testing::MapStorage storage;
  const std::string key = groundTruthPrefix("m") + "00000000000000000001-0000abcd";
  ASSERT_TRUE(storage.put(key, "aimass-ground-truth 1\nlabel only-two\n").ok());
  ASSERT_TRUE(storage.put(groundTruthPrefix("m") + "not-a-record", "x").ok());
  std::string cursor;
  auto read = readGroundTruth(storage, "m", cursor, 10, kForever);
  EXPECT_EQ(read.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(read.status().message(), HasSubstr(key));
  EXPECT_EQ(decodeGroundTruth("aimass-ground-truth 1\nvalue r 5 x\n").status().code(),
            StatusCode::kDataLoss);
}

}  // namespace
}  // namespace aimass::core
