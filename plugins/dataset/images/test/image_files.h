// SPDX-License-Identifier: Apache-2.0
// Test images made with libpng and libjpeg (and by hand where a file must be wrong), as bytes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace aimass::plugins::dataset::testing {

/// A PNG to write: width x height pixels of `samples`, row-major, channels together (gray 1,
/// gray + alpha 2, RGB 3, RGBA 4; one palette index a pixel for a palette image), at
/// `bit_depth` bits each (1, 2 and 4 bits are packed as PNG packs them).
struct PngSpec {
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  int color_type = 0;  ///< a PNG_COLOR_TYPE_* value
  int bit_depth = 8;
  bool interlaced = false;  ///< Adam7
  std::vector<std::uint16_t> samples;
  std::vector<std::uint8_t> palette;        ///< r, g, b of each entry (palette images)
  std::vector<std::uint8_t> palette_alpha;  ///< a tRNS chunk: an alpha per palette entry
};

/// The PNG file libpng writes for `spec`.
std::string pngFile(const PngSpec& spec);

/// A width x height JPEG from 8-bit `samples` of `components` channels (1 gray, 3 RGB, 4 CMYK),
/// at quality 100 without chroma subsampling; with `progressive_scans` > 0 a progressive file
/// of at least that many scans.
std::string jpegFile(std::uint32_t width, std::uint32_t height, int components,
                     const std::vector<std::uint8_t>& samples, int progressive_scans = 0);

/// One PNG chunk: big-endian length, type, data and the CRC-32 of type and data.
std::string pngChunk(const std::string& type, const std::string& data);

/// The PNG signature and an IHDR chunk declaring width x height, 8-bit gray, and nothing
/// else: a header without image data.
std::string pngHeaderOnly(std::uint32_t width, std::uint32_t height);

}  // namespace aimass::plugins::dataset::testing
