// SPDX-License-Identifier: Apache-2.0
#include "rnn.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "rnn_test_support.h"

namespace aimass::plugins::model {
namespace {

TEST(RnnTest, Placeholder) { EXPECT_TRUE(true); }

}  // namespace
}  // namespace aimass::plugins::model
