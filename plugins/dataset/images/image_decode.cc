// SPDX-License-Identifier: Apache-2.0
#include "image_decode.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace aimass::plugins::dataset {

namespace {

constexpr std::uint8_t kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
constexpr std::uint8_t kJpegSignature[3] = {0xFF, 0xD8, 0xFF};

/// "89 50 4e 47 ... ("Hello, w")": up to 8 bytes in hex, and as text when they all print.
std::string describeStart(std::span<const std::uint8_t> bytes) {
  const std::size_t n = std::min<std::size_t>(bytes.size(), 8);
  std::string hex, text;
  bool printable = true;
  for (std::size_t i = 0; i < n; ++i) {
    char two[4];
    std::snprintf(two, sizeof two, "%02x", bytes[i]);
    hex += (i == 0 ? "" : " ") + std::string(two);
    printable = printable && bytes[i] >= 0x20 && bytes[i] < 0x7F;
    text += static_cast<char>(bytes[i]);
  }
  return printable ? hex + " (\"" + text + "\")" : hex;
}

/// A gray + alpha or RGB + alpha pixel's color over white: c * a + 255 * (1 - a), rounded.
inline std::uint32_t overWhite(std::uint32_t color, std::uint32_t alpha) {
  return (color * alpha + 255 * (255 - alpha) + 127) / 255;
}

/// ITU-R BT.601 luma, rounded: a gray pixel (r = g = b) keeps its value.
inline std::uint8_t luma(std::uint32_t r, std::uint32_t g, std::uint32_t b) {
  return static_cast<std::uint8_t>((299 * r + 587 * g + 114 * b + 500) / 1000);
}

/// Gray + alpha or RGB + alpha (`from` channels) to gray or RGB (`to`), over white.
void flattenAlpha(const std::vector<std::uint8_t>& source, int from, int to,
                  std::vector<std::uint8_t>& pixels) {
  const std::size_t count = source.size() / static_cast<std::size_t>(from);
  pixels.resize(count * static_cast<std::size_t>(to));
  const std::uint8_t* in = source.data();
  std::uint8_t* out = pixels.data();
  for (std::size_t i = 0; i < count; ++i, in += from, out += to) {
    if (from == 2) {
      const auto v = static_cast<std::uint8_t>(overWhite(in[0], in[1]));
      std::memset(out, v, static_cast<std::size_t>(to));
      continue;
    }
    const std::uint32_t r = overWhite(in[0], in[3]), g = overWhite(in[1], in[3]),
                        b = overWhite(in[2], in[3]);
    if (to == 1) {
      out[0] = luma(r, g, b);
    } else {
      out[0] = static_cast<std::uint8_t>(r);
      out[1] = static_cast<std::uint8_t>(g);
      out[2] = static_cast<std::uint8_t>(b);
    }
  }
}

}  // namespace

Expected<ImageFormat> imageFormat(std::span<const std::uint8_t> bytes, const std::string& name) {
  if (bytes.size() >= sizeof kPngSignature &&
      std::memcmp(bytes.data(), kPngSignature, sizeof kPngSignature) == 0) {
    return ImageFormat::kPng;
  }
  if (bytes.size() >= sizeof kJpegSignature &&
      std::memcmp(bytes.data(), kJpegSignature, sizeof kJpegSignature) == 0) {
    return ImageFormat::kJpeg;
  }
  if (bytes.empty()) {
    return invalidArgument("'" + name + "' is empty, not a PNG or JPEG image");
  }
  return invalidArgument("'" + name + "' is neither a PNG nor a JPEG image: it starts with " +
                         describeStart(bytes) +
                         " (a PNG starts with 89 50 4e 47 0d 0a 1a 0a, a JPEG with ff d8 ff)");
}

Status tooManyPixels(const std::string& name, std::uint64_t width, std::uint64_t height,
                     std::uint64_t max_pixels) {
  return invalidArgument("'" + name + "' declares " + std::to_string(width) + " x " +
                         std::to_string(height) + " = " + std::to_string(width * height) +
                         " pixels, more than max_pixels (" + std::to_string(max_pixels) +
                         "): refused before decoding (raise max_pixels if the image is real)");
}

Expected<ImageHeader> checkImage(std::span<const std::uint8_t> bytes, const std::string& name,
                                 std::uint64_t max_pixels) {
  AIMASS_ASSIGN_OR_RETURN(ImageFormat format, imageFormat(bytes, name));
  return format == ImageFormat::kPng ? checkPng(bytes, name, max_pixels)
                                     : checkJpeg(bytes, name, max_pixels);
}

Status decodeImage(std::span<const std::uint8_t> bytes, const ImageHeader& header, int channels,
                   const std::string& name, std::vector<std::uint8_t>& scratch,
                   std::vector<std::uint8_t>& pixels) {
  if (channels != 1 && channels != 3) {
    return invalidArgument("images are decoded to 1 or 3 channels, not " +
                           std::to_string(channels));
  }
  if (header.format == ImageFormat::kJpeg) {
    return decodeJpeg(bytes, header, channels, name, pixels);
  }
  int decoded_channels = 0;
  AIMASS_RETURN_IF_ERROR(decodePng(bytes, header, name, scratch, decoded_channels));
  flattenAlpha(scratch, decoded_channels, channels, pixels);
  return Status();
}

}  // namespace aimass::plugins::dataset
