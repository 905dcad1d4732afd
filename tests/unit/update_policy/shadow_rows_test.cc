// SPDX-License-Identifier: Apache-2.0
// The rows the monitor keeps for the gate's shadow traffic (monitor_shadow.cc).
#include <gtest/gtest.h>

#include <cmath>

#include "monitoring/monitor_state.h"

namespace aimass::core {
namespace {

LoggedAnswer answerWithRows(std::vector<std::string> rows_csv) {
  LoggedAnswer answer;
  answer.version = 1;
  answer.rows_csv = std::move(rows_csv);
  return answer;
}

GroundTruth labels(std::vector<std::string> given) {
  GroundTruth truth;
  truth.request_id = "r";
  truth.labels = std::move(given);
  return truth;
}

TEST(ShadowRows, JoinedRowsAreKeptWithTheirOutcomeAndMissingValues) {
  MonitorState state;
  keepShadowRows(state, answerWithRows({"0.5,,-2", "1e3,4,5"}), labels({"a", "2"}), 10);
  ASSERT_EQ(state.shadow.size(), 2u);
  EXPECT_FLOAT_EQ(state.shadow[0].features[0], 0.5f);
  EXPECT_TRUE(std::isnan(state.shadow[0].features[1]));
  EXPECT_FLOAT_EQ(state.shadow[0].features[2], -2.0f);
  EXPECT_EQ(state.shadow[0].label, "a");
  EXPECT_FLOAT_EQ(state.shadow[1].features[0], 1000.0f);
  EXPECT_EQ(state.shadow[1].label, "2");
}

TEST(ShadowRows, OnlyTheLastRowsAreKept) {
  MonitorState state;
  for (int i = 0; i < 5; ++i) {
    GroundTruth truth;
    truth.values = {static_cast<double>(i)};
    keepShadowRows(state, answerWithRows({std::to_string(i) + ",1"}), truth, 3);
  }
  ASSERT_EQ(state.shadow.size(), 3u);
  EXPECT_DOUBLE_EQ(state.shadow.front().value, 2.0);
  EXPECT_DOUBLE_EQ(state.shadow.back().value, 4.0);
}

TEST(ShadowRows, RowsWithACategoryOrOfAnotherCountAreNotKept) {
  MonitorState state;
  keepShadowRows(state, answerWithRows({"0.5,north"}), labels({"a"}), 10);
  keepShadowRows(state, answerWithRows({"0.5,1"}), labels({"a", "b"}), 10);
  keepShadowRows(state, answerWithRows({}), labels({"a"}), 10);
  EXPECT_TRUE(state.shadow.empty());
}

}  // namespace
}  // namespace aimass::core
