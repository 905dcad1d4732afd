// SPDX-License-Identifier: Apache-2.0
#include "aimass/byte_io.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace aimass {
namespace {

TEST(ByteIo, WritesLittleEndianWhateverTheHost) {
  std::string out;
  ByteWriter w(out);
  w.u32(0x01020304u);
  w.u64(0x0102030405060708ull);
  ASSERT_EQ(out.size(), 12u);
  EXPECT_EQ(out.substr(0, 4), std::string("\x04\x03\x02\x01", 4));
  EXPECT_EQ(out.substr(4), std::string("\x08\x07\x06\x05\x04\x03\x02\x01", 8));
}

TEST(ByteIo, RoundTripsEveryFieldType) {
  std::string out;
  ByteWriter w(out);
  w.u8(250);
  w.u32(4000000000u);
  w.u64(std::numeric_limits<std::uint64_t>::max());
  w.i64(-42);
  w.f32(-1.5f);
  w.f64(std::numeric_limits<double>::denorm_min());
  w.u32(5);
  w.bytes(std::string("a\0b\xffz", 5));
  std::vector<float> values = {1.0f, -0.0f, 3.25f, std::numeric_limits<float>::infinity()};
  w.floats(values);

  ByteReader r(out);
  EXPECT_EQ(r.u8(), 250);
  EXPECT_EQ(r.u32(), 4000000000u);
  EXPECT_EQ(r.u64(), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(r.i64(), -42);
  EXPECT_EQ(r.f32(), -1.5f);
  EXPECT_EQ(r.f64(), std::numeric_limits<double>::denorm_min());
  EXPECT_EQ(r.bytes(r.u32()), std::string("a\0b\xffz", 5));
  std::vector<float> back(4);
  EXPECT_TRUE(r.floats(back));
  EXPECT_EQ(back, values);
  EXPECT_TRUE(std::signbit(back[1]));
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.atEnd());
}

TEST(ByteIo, ReadingPastTheEndFailsForGoodAndReturnsZeros) {
  std::string out;
  ByteWriter(out).u32(7);
  ByteReader r(out);
  EXPECT_EQ(r.u64(), 0u);
  EXPECT_FALSE(r.ok());
  // A later read that would fit still fails: the reader does not resynchronise.
  EXPECT_EQ(r.u8(), 0u);
  EXPECT_FALSE(r.ok());
}

TEST(ByteIo, OversizedLengthsAreRefusedWithoutAllocating) {
  std::string out;
  ByteWriter(out).u64(1ull << 60);
  ByteReader r(out);
  EXPECT_TRUE(r.bytes(r.u64()).empty());
  EXPECT_FALSE(r.ok());

  ByteReader floats("\x01\x02\x03\x04\x05");
  std::vector<float> two(2);
  EXPECT_FALSE(floats.floats(two));
  EXPECT_FALSE(floats.ok());
}

}  // namespace
}  // namespace aimass
