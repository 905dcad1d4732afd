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
  auto post = parseFeedbackBody(
      R"({"ground_truth": [{"id": "a", "label": "leak"}, {"id": "b", "labels": ["ok", 2]},
                           {"id": "c", "value": 4.5}, {"id": "d", "values": [1, -2.25]}]})");
  ASSERT_TRUE(post.ok()) << post.status().toString();
  EXPECT_TRUE(post->rows.empty());
  const auto* parsed = &post->outcomes;
  ASSERT_EQ(parsed->size(), 4u);
  EXPECT_EQ((*parsed)[0].labels, std::vector<std::string>{"leak"});
  EXPECT_EQ((*parsed)[1].labels, (std::vector<std::string>{"ok", "2"}));
  EXPECT_EQ((*parsed)[2].values, std::vector<double>{4.5});
  EXPECT_EQ((*parsed)[3].values, (std::vector<double>{1, -2.25}));
  EXPECT_EQ((*parsed)[3].request_id, "d");
}

TEST(GroundTruth, EachMistakeIsNamedByItsPlace) {
  auto error = [](const std::string& body) {
    auto parsed = parseFeedbackBody(body);
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << body;
    return parsed.status().message();
  };
  EXPECT_THAT(error("{oops"), HasSubstr("not JSON"));
  EXPECT_THAT(error("[1]"), HasSubstr("JSON object"));
  EXPECT_THAT(error(R"({"truth": []})"), HasSubstr("unknown field 'truth'"));
  EXPECT_THAT(error("{}"), HasSubstr("\"ground_truth\" list"));
  EXPECT_THAT(error(R"({"ground_truth": []})"), HasSubstr("1 to 10000"));
  EXPECT_THAT(error(R"({"ground_truth": {}})"), HasSubstr("\"ground_truth\" must be a list"));
  EXPECT_THAT(error(R"({"ground_truth": [{"id": "a", "label": "x"}], "more": 1})"),
              HasSubstr("unknown field 'more'"));
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
  auto first = parseFeedbackBody(R"({"ground_truth": [{"id": "r 1%", "label": "a b"}]})");
  auto second = parseFeedbackBody(R"({"ground_truth": [{"id": "r2", "values": [0.1, 3]}]})");
  ASSERT_TRUE(first.ok() && second.ok());
  auto key1 = appendGroundTruth(storage, "pumps", first->outcomes);
  auto key2 = appendGroundTruth(storage, "pumps", second->outcomes);
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
  auto outcome = parseFeedbackBody(R"({"ground_truth": [{"id": "r", "label": "a"}]})");
  ASSERT_TRUE(appendGroundTruth(storage, "m", outcome->outcomes).ok());
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


TEST(GroundTruth, LabelledRowsParseBesideOutcomes) {
  auto post = parseFeedbackBody(
      R"({"ground_truth": [{"id": "a", "label": "x"}],
          "rows": [{"input": [0.5, null, 2], "label": 3},
                   {"features": {"site": "north, east", "pressure": 1.5, "gap": null},
                    "value": -1.25}]})");
  ASSERT_TRUE(post.ok()) << post.status().toString();
  ASSERT_EQ(post->outcomes.size(), 1u);
  ASSERT_EQ(post->rows.size(), 2u);
  const LabelledRow& first = post->rows[0];
  ASSERT_TRUE(first.input.has_value());
  EXPECT_EQ(first.input->size(), 3u);
  EXPECT_FALSE((*first.input)[1].has_value());
  EXPECT_EQ(first.label, std::optional<std::string>("3"));
  const LabelledRow& second = post->rows[1];
  EXPECT_EQ(second.value, std::optional<double>(-1.25));
  ASSERT_EQ(second.features.size(), 3u);
}

TEST(GroundTruth, LabelledRowMistakesAreNamedByTheirPlace) {
  auto error = [](const std::string& body) {
    auto parsed = parseFeedbackBody(body);
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << body;
    return parsed.status().message();
  };
  EXPECT_THAT(error(R"({"rows": []})"), HasSubstr("\"rows\" must hold 1 to 10000"));
  EXPECT_THAT(error(R"({"rows": [{"input": [1]}]})"), HasSubstr("rows[0] needs exactly one of"));
  EXPECT_THAT(error(R"({"rows": [{"label": "a"}]})"), HasSubstr("rows[0] needs input"));
  EXPECT_THAT(error(R"({"rows": [{"input": [1, "x"], "label": "a"}]})"),
              HasSubstr("rows[0].input[1] must be a number"));
  EXPECT_THAT(error(R"({"rows": [{"input": 1, "label": "a"}]})"),
              HasSubstr("rows[0].input must be a list"));
  EXPECT_THAT(error(R"({"rows": [{"input": [1], "label": "a"}, {"features": {"f": true},
                                  "label": "b"}]})"),
              HasSubstr("rows[1].features.f must be a number, a text or null"));
  EXPECT_THAT(error(R"({"rows": [{"input": [1], "label": "a", "id": "r"}]})"),
              HasSubstr("rows[0] has an unknown field 'id'"));
}

/// A profile of two number features ("x0", "x1") and a category ("site").
DataProfile twoNumbersAndASite() {
  DataProfile profile;
  for (const char* name : {"x0", "x1"}) {
    FeatureProfile f;
    f.name = name;
    f.kind = FeatureProfile::Kind::kNumber;
    profile.features.push_back(f);
  }
  FeatureProfile site;
  site.name = "site";
  site.kind = FeatureProfile::Kind::kCategory;
  profile.features.push_back(site);
  return profile;
}

TEST(GroundTruth, LabelledRowsBecomeCsvLinesInTheProfilesOrder) {
  auto post = parseFeedbackBody(
      R"({"rows": [{"input": [0.5, null], "features": {"site": "north, east"}, "label": "ok"},
                   {"features": {"site": 7, "x1": 2.25}, "value": 1.5}]})");
  ASSERT_TRUE(post.ok()) << post.status().toString();
  auto csv = labelledRowsCsv(post->rows, twoNumbersAndASite());
  ASSERT_TRUE(csv.ok()) << csv.status().toString();
  EXPECT_EQ(*csv, "0.5,,\"north, east\",ok\n,2.25,7,1.5\n");
}

TEST(GroundTruth, LabelledRowsThatDoNotFitTheProfileAreRefused) {
  auto refused = [](const std::string& body) {
    auto post = parseFeedbackBody(body);
    EXPECT_TRUE(post.ok()) << post.status().toString();
    auto csv = labelledRowsCsv(post->rows, twoNumbersAndASite());
    EXPECT_EQ(csv.status().code(), StatusCode::kInvalidArgument) << body;
    return csv.status().message();
  };
  EXPECT_THAT(refused(R"({"rows": [{"input": [1, 2, 3], "label": "a"}]})"),
              HasSubstr("rows[0].input holds 3 values; the model has 2 number features"));
  EXPECT_THAT(refused(R"({"rows": [{"input": [1, 2], "label": "a"},
                                   {"features": {"depth": 1}, "label": "a"}]})"),
              HasSubstr("rows[1].features.depth: the model's training data has no feature"));
  EXPECT_THAT(refused(R"({"rows": [{"features": {"x0": "high"}, "label": "a"}]})"),
              HasSubstr("rows[0].features.x0 must be a number"));
  EXPECT_THAT(refused(R"({"rows": [{"input": [1, 2], "features": {"x1": 3}, "label": "a"}]})"),
              HasSubstr("rows[0].features.x1 is given twice"));
}

}  // namespace
}  // namespace aimass::core
