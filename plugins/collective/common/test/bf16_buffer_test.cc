// SPDX-License-Identifier: Apache-2.0
#include "bf16_buffer.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace aimass::plugins::collective {
namespace {

float fromBits(std::uint32_t bits) { return std::bit_cast<float>(bits); }

TEST(Bf16, WidensExactly) {
  EXPECT_EQ(widenBf16(0x3f80), 1.0f);
  EXPECT_EQ(widenBf16(0xc040), -3.0f);
  EXPECT_EQ(widenBf16(0x4381), 258.0f);
  EXPECT_TRUE(std::isinf(widenBf16(0x7f80)));
}

TEST(Bf16, KeepsRepresentableValues) {
  for (std::uint32_t bits : {0x00000000u, 0x80000000u, 0x3f800000u, 0x43810000u, 0x7f7f0000u,
                             0x00010000u, 0x7f800000u, 0xff800000u}) {
    EXPECT_EQ(roundToBf16(fromBits(bits)), bits >> 16) << std::hex << bits;
  }
}

TEST(Bf16, RoundsToNearest) {
  // 1 + 2^-8 + a little is nearer to 1 + 2^-7 (0x3f81) than to 1 (0x3f80).
  EXPECT_EQ(roundToBf16(fromBits(0x3f808001u)), 0x3f81);
  EXPECT_EQ(roundToBf16(fromBits(0x3f807fffu)), 0x3f80);
  EXPECT_EQ(roundToBf16(fromBits(0xbf808001u)), 0xbf81) << "the same for negatives";
}

TEST(Bf16, BreaksTiesTowardsEven) {
  EXPECT_EQ(roundToBf16(257.0f), 0x4380) << "257 lies between 256 (even) and 258";
  EXPECT_EQ(roundToBf16(259.0f), 0x4382) << "259 lies between 258 and 260 (even)";
  EXPECT_EQ(roundToBf16(fromBits(0x3f808000u)), 0x3f80);
  EXPECT_EQ(roundToBf16(fromBits(0x3f818000u)), 0x3f82);
}

TEST(Bf16, OverflowsToInfinityAndKeepsNaN) {
  EXPECT_EQ(roundToBf16(std::numeric_limits<float>::max()), 0x7f80);
  EXPECT_EQ(roundToBf16(-std::numeric_limits<float>::max()), 0xff80);
  // A NaN whose payload sits only in the low bits must not truncate to infinity.
  const std::uint16_t nan = roundToBf16(fromBits(0x7f800001u));
  EXPECT_TRUE(std::isnan(widenBf16(nan)));
  EXPECT_TRUE(std::isnan(widenBf16(roundToBf16(std::numeric_limits<float>::quiet_NaN()))));
}

TEST(Bf16Scratch, WidensScalesAndRoundsOnce) {
  Bf16Scratch scratch;
  std::vector<std::uint16_t> bits = {roundToBf16(256.0f), roundToBf16(1.0f), roundToBf16(3.0f)};
  auto wide = scratch.widen(bits);
  ASSERT_EQ(wide.size(), 3u);
  // What a reduction in fp32 would leave: 256 + 1 + 1 is exact in fp32 and in bf16.
  wide[0] += 2.0f;
  wide[1] += 1.0f / 256.0f;  // 1 + 2^-8: a tie, rounds to 1
  scratch.narrow(bits);
  EXPECT_EQ(bits[0], 0x4381);
  EXPECT_EQ(bits[1], 0x3f80);
  EXPECT_EQ(bits[2], roundToBf16(3.0f));
  scratch.widen(bits);
  scratch.narrow(bits, 0.5f);
  EXPECT_EQ(widenBf16(bits[2]), 1.5f);
  EXPECT_EQ(widenBf16(bits[0]), 129.0f);
}

}  // namespace
}  // namespace aimass::plugins::collective
