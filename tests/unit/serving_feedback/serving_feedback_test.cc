// SPDX-License-Identifier: Apache-2.0
// The feedback record of the serving runtime's online learning (core/src/serving_feedback.h):
// keys in learning order, a lossless round trip, and every torn or altered record refused.
#include "serving_feedback.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "aimass/core/model_artifact.h"

namespace aimass::core {
namespace {

using ::testing::HasSubstr;

TensorMap sample() {
  TensorMap observations;
  observations.set("user", Tensor::fromStrings({"u1", "", "naïve"}));
  observations.set("rating", Tensor::fromVector<float>({4.5f, -1.0f, 0.0f}, {3}));
  observations.set("count", Tensor::fromVector<std::int64_t>({1, 2, 3, 4, 5, 6}, {3, 2}));
  Tensor seen(DType::kBool, {3});
  seen.data<bool>()[0] = true;
  seen.data<bool>()[1] = false;
  seen.data<bool>()[2] = true;
  observations.set("seen", seen);
  return observations;
}

TEST(FeedbackRecord, KeysSortInLearningOrder) {
  EXPECT_EQ(feedbackKey("rec", "abc", 7), "feedback/rec/abc/00000000000000000007");
  EXPECT_EQ(feedbackPrefix("rec", "abc"), "feedback/rec/abc/");
  EXPECT_LT(feedbackKey("rec", "abc", 9), feedbackKey("rec", "abc", 10));
  EXPECT_EQ(feedbackKey("rec", "abc", 18446744073709551615ull).size(),
            std::string("feedback/rec/abc/").size() + 20);
}

TEST(FeedbackRecord, RoundTripsEveryTensorExactly) {
  auto decoded = decodeFeedbackRecord(encodeFeedbackRecord(sample()));
  ASSERT_TRUE(decoded.ok()) << decoded.status().toString();
  ASSERT_EQ(decoded->size(), 4u);
  auto names = std::vector<std::string>();
  for (const auto& [name, tensor] : *decoded) {
    names.push_back(name);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"user", "rating", "count", "seen"}));
  EXPECT_EQ(decoded->find("user")->strings(), (std::vector<std::string>{"u1", "", "naïve"}));
  EXPECT_EQ(decoded->find("rating")->data<float>()[0], 4.5f);
  EXPECT_EQ(decoded->find("count")->shape(), (Shape{3, 2}));
  EXPECT_EQ(decoded->find("count")->data<std::int64_t>()[5], 6);
  EXPECT_EQ(decoded->find("seen")->dtype(), DType::kBool);
  EXPECT_FALSE(decoded->find("seen")->data<bool>()[1]);
}

TEST(FeedbackRecord, EveryTruncationAndEveryFlippedByteIsRefused) {
  const std::string record = encodeFeedbackRecord(sample());
  for (std::size_t size = 0; size < record.size(); ++size) {
    EXPECT_FALSE(decodeFeedbackRecord(record.substr(0, size)).ok()) << size;
  }
  for (std::size_t at = 0; at < record.size(); ++at) {
    std::string altered = record;
    altered[at] ^= 0x01;
    EXPECT_FALSE(decodeFeedbackRecord(altered).ok()) << at;
  }
  EXPECT_FALSE(decodeFeedbackRecord(record + "x").ok());
}

TEST(FeedbackRecord, OtherArtifactsAreNotFeedback) {
  const std::string other = encodeArtifactEnvelope("model.softmax", 1, "weights");
  auto decoded = decodeFeedbackRecord(other);
  EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(decoded.status().message(), HasSubstr("not a feedback record"));
  // A well-formed envelope whose payload declares more than it holds.
  auto bloated = decodeFeedbackRecord(encodeArtifactEnvelope(
      "aimass.feedback", 1, std::string("\x01\x00\x00\x00", 4) + std::string(8, '\xff')));
  EXPECT_EQ(bloated.status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace aimass::core
