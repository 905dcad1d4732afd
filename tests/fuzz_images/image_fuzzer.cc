// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for dataset.images' decoders: the input is an image file. checkImage() must
// accept it or refuse it cleanly; an accepted file must then decode to gray and to RGB (or be
// refused cleanly), and scale. Never a crash, a leak, undefined behaviour, or an allocation
// beyond what max_pixels allows (libFuzzer's -rss_limit_mb catches that). A PNG's chunk CRCs
// are recomputed first, as an attacker would: otherwise nearly every mutation stops at the CRC
// check and libpng's decoding is never reached.
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "image_decode.h"
#include "image_resize.h"

namespace {

std::uint32_t bigEndian32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

/// Rewrites the CRC of every whole chunk of a PNG in `file`.
void fixPngCrcs(std::vector<std::uint8_t>& file) {
  if (file.size() < 8 || std::memcmp(file.data(), "\x89PNG\r\n\x1a\n", 8) != 0) {
    return;
  }
  std::size_t offset = 8;
  while (file.size() - offset >= 12) {
    const std::uint32_t length = bigEndian32(file.data() + offset);
    if (length > file.size() - offset - 12) {
      return;
    }
    const auto crc = static_cast<std::uint32_t>(
        crc32(crc32(0, nullptr, 0), file.data() + offset + 4, length + 4));
    std::uint8_t* out = file.data() + offset + 8 + length;
    out[0] = static_cast<std::uint8_t>(crc >> 24);
    out[1] = static_cast<std::uint8_t>(crc >> 16);
    out[2] = static_cast<std::uint8_t>(crc >> 8);
    out[3] = static_cast<std::uint8_t>(crc);
    offset += 12 + std::size_t{length};
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace aimass::plugins::dataset;
  // Small enough that a file claiming the most pixels still decodes in milliseconds.
  constexpr std::uint64_t kMaxPixels = 1 << 16;
  std::vector<std::uint8_t> file(data, data + size);
  fixPngCrcs(file);
  const std::span<const std::uint8_t> bytes(file);
  auto header = checkImage(bytes, "fuzz", kMaxPixels);
  if (!header.ok()) {
    return 0;
  }
  if (header->width == 0 || header->height == 0 ||
      std::uint64_t{header->width} * header->height > kMaxPixels) {
    __builtin_trap();  // checkImage() let through a size it must refuse
  }
  std::vector<std::uint8_t> scratch, pixels;
  std::vector<float> out, resize_scratch;
  for (int channels : {1, 3}) {
    if (decodeImage(bytes, *header, channels, "fuzz", scratch, pixels).ok()) {
      if (pixels.size() != std::size_t{header->width} * header->height * channels) {
        __builtin_trap();
      }
      out.resize(std::size_t{7} * 5 * channels);
      resizeArea(pixels.data(), header->width, header->height, channels, 7, 5, 1.0f / 255,
                 out.data(), resize_scratch);
    }
  }
  return 0;
}
