// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <gtest/gtest.h>

#include <charconv>
#include <string>
#include <system_error>

namespace aimass::plugins::frontend::test_support {

/// What std::from_chars makes of a whole number token, the reference the JSON scan's own
/// values are checked against; fails the test when it cannot read the whole token.
inline double fromChars(const std::string& token) {
  double value = 0;
  auto [ptr, error] = std::from_chars(token.data(), token.data() + token.size(), value);
  EXPECT_EQ(error, std::errc()) << token;
  EXPECT_EQ(ptr, token.data() + token.size()) << token;
  return value;
}

}  // namespace aimass::plugins::frontend::test_support
