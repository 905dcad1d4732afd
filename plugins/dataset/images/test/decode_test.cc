// SPDX-License-Identifier: Apache-2.0
// The decoders and the scaler on images made in memory: exact PNG pixels for every color type,
// JPEG pixels within the codec's error, and every refusal.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <png.h>

#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "image_decode.h"
#include "image_files.h"
#include "image_resize.h"

namespace aimass::plugins::dataset {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using testing::jpegFile;
using testing::pngFile;
using testing::PngSpec;

std::span<const std::uint8_t> bytesOf(const std::string& file) {
  return {reinterpret_cast<const std::uint8_t*>(file.data()), file.size()};
}

constexpr std::uint64_t kMaxPixels = 1'000'000;

/// The pixels of `file` decoded to `channels`, after checkImage() accepted it.
std::vector<int> decode(const std::string& file, int channels) {
  auto header = checkImage(bytesOf(file), "test image", kMaxPixels);
  EXPECT_TRUE(header.ok()) << header.status().toString();
  if (!header.ok()) {
    return {};
  }
  std::vector<std::uint8_t> scratch, pixels;
  Status status = decodeImage(bytesOf(file), *header, channels, "test image", scratch, pixels);
  EXPECT_TRUE(status.ok()) << status.toString();
  return {pixels.begin(), pixels.end()};
}

/// The message of a checkImage() that must fail.
std::string checkError(const std::string& file, std::uint64_t max_pixels = kMaxPixels) {
  auto header = checkImage(bytesOf(file), "bad.png", max_pixels);
  EXPECT_FALSE(header.ok()) << "accepted although it should not";
  if (header.ok()) {
    return {};
  }
  EXPECT_EQ(header.status().code(), StatusCode::kInvalidArgument) << header.status().toString();
  return header.status().message();
}

/// The message of a decodeImage() that must fail on a file checkImage() accepts.
std::string decodeError(const std::string& file, int channels = 1) {
  auto header = checkImage(bytesOf(file), "bad.img", kMaxPixels);
  EXPECT_TRUE(header.ok()) << header.status().toString();
  if (!header.ok()) {
    return {};
  }
  std::vector<std::uint8_t> scratch, pixels;
  Status status = decodeImage(bytesOf(file), *header, channels, "bad.img", scratch, pixels);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.toString();
  return status.message();
}

PngSpec png(std::uint32_t width, std::uint32_t height, int color_type,
            std::vector<std::uint16_t> samples, int bit_depth = 8) {
  PngSpec spec;
  spec.width = width;
  spec.height = height;
  spec.color_type = color_type;
  spec.bit_depth = bit_depth;
  spec.samples = std::move(samples);
  return spec;
}

TEST(ImageDecode, GrayPngIsExactAndRepeatsIntoRgb) {
  const std::string file = pngFile(png(3, 2, PNG_COLOR_TYPE_GRAY, {0, 1, 127, 128, 254, 255}));
  auto header = checkImage(bytesOf(file), "g.png", kMaxPixels);
  ASSERT_TRUE(header.ok()) << header.status().toString();
  EXPECT_EQ(header->format, ImageFormat::kPng);
  EXPECT_EQ(header->width, 3u);
  EXPECT_EQ(header->height, 2u);
  EXPECT_THAT(decode(file, 1), ElementsAre(0, 1, 127, 128, 254, 255));
  EXPECT_THAT(decode(file, 3), ElementsAre(0, 0, 0, 1, 1, 1, 127, 127, 127, 128, 128, 128, 254, 254,
                                           254, 255, 255, 255));
}

TEST(ImageDecode, RgbPngIsExactAndBecomesGrayAsLuma) {
  const std::string file =
      pngFile(png(4, 1, PNG_COLOR_TYPE_RGB, {255, 0, 0, 0, 255, 0, 0, 0, 255, 100, 100, 100}));
  EXPECT_THAT(decode(file, 3), ElementsAre(255, 0, 0, 0, 255, 0, 0, 0, 255, 100, 100, 100));
  // (299 R + 587 G + 114 B + 500) / 1000: red 76, green 150, blue 29; gray stays gray.
  EXPECT_THAT(decode(file, 1), ElementsAre(76, 150, 29, 100));
}

TEST(ImageDecode, AlphaIsCompositedOverWhite) {
  // Transparent red, opaque (10, 20, 30), black at alpha 128: (0 * 128 + 255 * 127) / 255.
  const std::string rgba =
      pngFile(png(3, 1, PNG_COLOR_TYPE_RGB_ALPHA, {255, 0, 0, 0, 10, 20, 30, 255, 0, 0, 0, 128}));
  EXPECT_THAT(decode(rgba, 3), ElementsAre(255, 255, 255, 10, 20, 30, 127, 127, 127));
  const std::string gray_alpha =
      pngFile(png(3, 1, PNG_COLOR_TYPE_GRAY_ALPHA, {0, 0, 100, 255, 0, 128}));
  EXPECT_THAT(decode(gray_alpha, 1), ElementsAre(255, 100, 127));
}

TEST(ImageDecode, PalettePngWithTransparencyAndPackedIndices) {
  PngSpec spec = png(5, 1, PNG_COLOR_TYPE_PALETTE, {0, 1, 2, 1, 0}, 2);
  spec.palette = {255, 0, 0, 0, 0, 255, 0, 0, 0};  // red, blue, black
  spec.palette_alpha = {255, 255, 0};              // black is transparent
  const std::string file = pngFile(spec);
  EXPECT_THAT(decode(file, 3),
              ElementsAre(255, 0, 0, 0, 0, 255, 255, 255, 255, 0, 0, 255, 255, 0, 0));
  EXPECT_THAT(decode(file, 1), ElementsAre(76, 29, 255, 29, 76));
}

TEST(ImageDecode, LowAndHighBitDepthsBecomeBytes) {
  // 1-bit gray: 0 and 1 are black and white.
  EXPECT_THAT(decode(pngFile(png(9, 1, PNG_COLOR_TYPE_GRAY, {0, 1, 1, 0, 1, 0, 0, 1, 1}, 1)), 1),
              ElementsAre(0, 255, 255, 0, 255, 0, 0, 255, 255));
  // 16 bits are rounded to 8, not cut: 257 * v is v, and 255 (0.99 of a step) is 1, not 0.
  EXPECT_THAT(decode(pngFile(png(4, 1, PNG_COLOR_TYPE_GRAY, {0, 257 * 37, 65535, 255}, 16)), 1),
              ElementsAre(0, 37, 255, 1));
  EXPECT_THAT(decode(pngFile(png(1, 1, PNG_COLOR_TYPE_RGB, {257 * 200, 257 * 3, 128}, 16)), 3),
              ElementsAre(200, 3, 0));
}

TEST(ImageDecode, InterlacedPngGivesTheSamePixelsAsAPlainOne) {
  std::vector<std::uint16_t> samples;
  for (int i = 0; i < 11 * 9 * 3; ++i) {
    samples.push_back(static_cast<std::uint16_t>((i * 37) % 256));
  }
  PngSpec plain = png(11, 9, PNG_COLOR_TYPE_RGB, samples);
  PngSpec interlaced = plain;
  interlaced.interlaced = true;
  const std::string file = pngFile(interlaced);
  ASSERT_NE(file, pngFile(plain));
  EXPECT_EQ(decode(file, 3), std::vector<int>(samples.begin(), samples.end()));
}

/// 16 x 16 pixels in four 8 x 8 blocks of one value each (JPEG codes 8 x 8 blocks).
std::vector<std::uint8_t> blocks(int channels, const std::vector<std::vector<int>>& colors) {
  std::vector<std::uint8_t> out;
  for (int y = 0; y < 16; ++y) {
    for (int x = 0; x < 16; ++x) {
      const auto& color = colors[static_cast<std::size_t>((y / 8) * 2 + x / 8)];
      for (int c = 0; c < channels; ++c) {
        out.push_back(static_cast<std::uint8_t>(color[static_cast<std::size_t>(c)]));
      }
    }
  }
  return out;
}

/// Each of the four blocks' top-left pixel, `channels` values each.
std::vector<int> blockCorners(const std::vector<int>& pixels, int channels) {
  std::vector<int> out;
  for (int corner : {0, 8, 8 * 16, 8 * 16 + 8}) {
    for (int c = 0; c < channels; ++c) {
      out.push_back(pixels[static_cast<std::size_t>(corner * channels + c)]);
    }
  }
  return out;
}

MATCHER_P(Within, tolerance, "") {
  return std::abs(std::get<0>(arg) - std::get<1>(arg)) <= tolerance;
}

TEST(ImageDecode, JpegGrayAndColorWithinTheCodecsError) {
  const std::string gray = jpegFile(16, 16, 1, blocks(1, {{0}, {80}, {160}, {240}}));
  auto header = checkImage(bytesOf(gray), "g.jpg", kMaxPixels);
  ASSERT_TRUE(header.ok()) << header.status().toString();
  EXPECT_EQ(header->format, ImageFormat::kJpeg);
  EXPECT_EQ(header->width, 16u);
  EXPECT_THAT(blockCorners(decode(gray, 1), 1),
              ::testing::Pointwise(Within(2), std::vector<int>{0, 80, 160, 240}));
  EXPECT_THAT(blockCorners(decode(gray, 3), 3),
              ::testing::Pointwise(
                  Within(2), std::vector<int>{0, 0, 0, 80, 80, 80, 160, 160, 160, 240, 240, 240}));
  const std::string color =
      jpegFile(16, 16, 3, blocks(3, {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {100, 100, 100}}));
  EXPECT_THAT(blockCorners(decode(color, 3), 3),
              ::testing::Pointwise(
                  Within(4), std::vector<int>{255, 0, 0, 0, 255, 0, 0, 0, 255, 100, 100, 100}));
  // Gray from color is the luma, as for PNGs: red 76, green 150, blue 29.
  EXPECT_THAT(blockCorners(decode(color, 1), 1),
              ::testing::Pointwise(Within(3), std::vector<int>{76, 150, 29, 100}));
}

TEST(ImageDecode, FilesAreToldApartByContent) {
  EXPECT_THAT(checkError("Hello, world: not an image"),
              AllOf(HasSubstr("'bad.png' is neither a PNG nor a JPEG image"),
                    HasSubstr("starts with 48 65 6c 6c 6f 2c 20 77 (\"Hello, w\")")));
  EXPECT_THAT(checkError(std::string("\x00\x01\x02", 3)),
              HasSubstr("starts with 00 01 02 (a PNG starts with"));
  EXPECT_THAT(checkError(""), HasSubstr("'bad.png' is empty"));
  // GIF is an image, but not one of the two formats.
  EXPECT_THAT(checkError("GIF89a\x01\x00\x01\x00"), HasSubstr("neither a PNG nor a JPEG"));
}

TEST(ImageDecode, ADeclaredSizeOverMaxPixelsIsRefusedBeforeDecoding) {
  // Signature and IHDR only, with a correct CRC: had anything but the size check looked at the
  // file, it would have found it truncated (no IDAT, no IEND).
  EXPECT_THAT(
      checkError(testing::pngHeaderOnly(100000, 100000)),
      AllOf(HasSubstr("'bad.png' declares 100000 x 100000 = 10000000000 pixels"),
            HasSubstr("more than max_pixels (1000000)"), HasSubstr("refused before decoding")));
  EXPECT_THAT(checkError(testing::pngHeaderOnly(100, 100)), HasSubstr("is truncated"));
  // A real image over a small limit.
  const std::string file = pngFile(png(3, 2, PNG_COLOR_TYPE_GRAY, {0, 1, 2, 3, 4, 5}));
  EXPECT_THAT(checkError(file, 5),
              HasSubstr("declares 3 x 2 = 6 pixels, more than max_pixels (5)"));
  EXPECT_TRUE(checkImage(bytesOf(file), "ok.png", 6).ok());
  // A JPEG whose frame header says 60000 x 50000: read from the header, not decoded.
  std::string jpeg = jpegFile(16, 16, 1, blocks(1, {{0}, {80}, {160}, {240}}));
  const auto sof = jpeg.find("\xFF\xC0");
  ASSERT_NE(sof, std::string::npos);
  jpeg.replace(sof + 5, 4, std::string("\xC3\x50\xEA\x60", 4));  // height 50000, width 60000
  EXPECT_THAT(checkError(jpeg), HasSubstr("declares 60000 x 50000 = 3000000000 pixels"));
}

TEST(ImageDecode, TruncatedAndDamagedPngsAreRefused) {
  const std::string file = pngFile(png(3, 2, PNG_COLOR_TYPE_GRAY, {0, 1, 2, 3, 4, 5}));
  EXPECT_THAT(checkError(file.substr(0, file.size() / 2)), HasSubstr("'bad.png' is truncated"));
  EXPECT_THAT(checkError(file.substr(0, file.size() - 12)),
              HasSubstr("before the IEND chunk"));  // IEND cut off
  EXPECT_THAT(checkError(file.substr(0, 20)), HasSubstr("too few for a PNG header"));
  std::string flipped = file;
  const auto idat = flipped.find("IDAT");
  flipped[idat + 6] = static_cast<char>(flipped[idat + 6] ^ 0x55);
  EXPECT_THAT(checkError(flipped), HasSubstr("its IDAT chunk at byte"));
  EXPECT_THAT(checkError(flipped), HasSubstr("fails its CRC check"));
  // Valid chunks around image data that does not inflate: found by the decoder.
  const std::string header = file.substr(0, 33);
  const std::string garbage =
      header + testing::pngChunk("IDAT", "this is no zlib stream") + testing::pngChunk("IEND", "");
  EXPECT_THAT(decodeError(garbage), AllOf(HasSubstr("cannot decode 'bad.img'")));
  // Whole, with good CRCs, but an IHDR libpng refuses: gray of 3 bits a sample.
  std::string ihdr = testing::pngHeaderOnly(2, 2).substr(16, 13);
  ihdr[8] = 3;
  const std::string odd = file.substr(0, 8) + testing::pngChunk("IHDR", ihdr) +
                          testing::pngChunk("IDAT", "x") + testing::pngChunk("IEND", "");
  EXPECT_THAT(checkError(odd), HasSubstr("'bad.png' is not a valid PNG: "));
}

/// Width x height x channels bytes of a busy pattern, which compresses poorly.
std::vector<std::uint8_t> busy(int width, int height, int channels) {
  std::vector<std::uint8_t> out;
  for (int i = 0; i < width * height * channels; ++i) {
    out.push_back(static_cast<std::uint8_t>((i * 2654435761u) >> 13));
  }
  return out;
}

TEST(ImageDecode, BrokenJpegsAreRefused) {
  const std::string file = jpegFile(16, 16, 3, busy(16, 16, 3));
  ASSERT_GT(file.size(), 1000u) << "the cuts below must fall inside the image data";
  EXPECT_THAT(checkError("\xFF\xD8\xFF garbage after the signature"),
              HasSubstr("'bad.png' is not a valid JPEG: "));
  // Cut short: no end-of-image marker.
  EXPECT_THAT(checkError(file.substr(0, file.size() - 40)),
              AllOf(HasSubstr("is truncated"), HasSubstr("no JPEG end-of-image marker")));
  // Cut inside the image data but ended with a marker: libjpeg would fill the rest with gray.
  EXPECT_THAT(decodeError(file.substr(0, file.size() - 40) + "\xFF\xD9", 3),
              AllOf(HasSubstr("cannot decode 'bad.img', a damaged JPEG: "),
                    HasSubstr("Corrupt JPEG data")));
  // CMYK.
  std::vector<std::uint8_t> cmyk(16 * 16 * 4, 0);
  EXPECT_THAT(checkError(jpegFile(16, 16, 4, cmyk)), HasSubstr("'bad.png' is a CMYK JPEG"));
}

TEST(ImageDecode, AJpegOfTooManyScansIsRefused) {
  std::vector<std::uint8_t> pixels(8 * 8 * 3, 99);
  const std::string many = jpegFile(8, 8, 3, pixels, 1001);
  EXPECT_THAT(decodeError(many, 3), HasSubstr("more than 1000 scans"));
  // A progressive file of a few hundred scans is read.
  EXPECT_THAT(decode(jpegFile(8, 8, 3, pixels, 300), 3),
              ::testing::Each(::testing::AllOf(::testing::Ge(97), ::testing::Le(101))));
}

TEST(ImageDecode, AFileThatChangedSizeIsRefusedAtDecode) {
  const std::string file = pngFile(png(3, 2, PNG_COLOR_TYPE_GRAY, {0, 1, 2, 3, 4, 5}));
  ImageHeader stale{ImageFormat::kPng, 2, 2};
  std::vector<std::uint8_t> scratch, pixels;
  Status status = decodeImage(bytesOf(file), stale, 1, "x.png", scratch, pixels);
  EXPECT_THAT(status.message(), HasSubstr("its size changed since the dataset was opened"));
}

std::vector<float> resize(const std::vector<std::uint8_t>& pixels, std::uint32_t width,
                          std::uint32_t height, int channels, std::uint32_t out_width,
                          std::uint32_t out_height, float scale = 1) {
  std::vector<float> out(std::size_t{out_width} * out_height * static_cast<std::size_t>(channels));
  std::vector<float> scratch;
  resizeArea(pixels.data(), width, height, channels, out_width, out_height, scale, out.data(),
             scratch);
  return out;
}

TEST(ImageResize, AreaAveraging) {
  // The same size: exact, times the scale.
  EXPECT_THAT(resize({0, 51, 255, 7}, 2, 2, 1, 2, 2, 1.0f / 255),
              ::testing::Pointwise(::testing::FloatEq(), {0.0f, 0.2f, 1.0f, 7.0f / 255}));
  // 4 x 2 to 2 x 1: each output pixel is the mean of a 2 x 2 block.
  EXPECT_THAT(resize({0, 10, 100, 200, 20, 30, 0, 100}, 4, 2, 1, 2, 1), ElementsAre(15, 100));
  // 3 to 2: the middle input pixel is split between both outputs.
  EXPECT_THAT(resize({30, 60, 90}, 3, 1, 1, 2, 1),
              ::testing::Pointwise(::testing::FloatNear(1e-4f), {40.0f, 80.0f}));
  // Enlarging repeats pixels; 2 to 3 blends the middle one.
  EXPECT_THAT(resize({10, 40}, 2, 1, 1, 4, 1), ElementsAre(10, 10, 40, 40));
  EXPECT_THAT(resize({10, 40}, 2, 1, 1, 3, 1),
              ::testing::Pointwise(::testing::FloatNear(1e-4f), {10.0f, 25.0f, 40.0f}));
  // Channels are averaged apart; height and width scale independently.
  EXPECT_THAT(resize({255, 0, 10, 0, 255, 30}, 2, 1, 3, 1, 2),
              ::testing::Pointwise(::testing::FloatNear(1e-4f),
                                   {127.5f, 127.5f, 20.0f, 127.5f, 127.5f, 20.0f}));
}

}  // namespace
}  // namespace aimass::plugins::dataset
