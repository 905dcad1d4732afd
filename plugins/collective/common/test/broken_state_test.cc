// SPDX-License-Identifier: Apache-2.0
#include "broken_state.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace aimass::plugins::collective {
namespace {

using ::testing::HasSubstr;

TEST(BrokenState, KeepsTheFirstFailure) {
  BrokenState state;
  EXPECT_FALSE(state.broken());
  EXPECT_EQ(state.breakWith(unavailable("barrier timed out")).message(), "barrier timed out");
  EXPECT_TRUE(state.broken());
  EXPECT_EQ(state.breakWith(internalError("later")).message(), "barrier timed out");
  EXPECT_EQ(state.status().code(), StatusCode::kUnavailable);
}

TEST(BrokenState, TimeoutMessageNamesTheOperationTheLimitAndTheRank) {
  const std::string text =
      timeoutMessage("allgather (8 bytes a rank)", std::chrono::duration<double>(2.5), 3, 4);
  EXPECT_THAT(text, HasSubstr("allgather (8 bytes a rank) timed out after 2.5 s on rank 3 of 4"));
  EXPECT_THAT(text, HasSubstr("every later call fails"));
}

}  // namespace
}  // namespace aimass::plugins::collective
