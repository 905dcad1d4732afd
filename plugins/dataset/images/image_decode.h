// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "aimass/status.h"

namespace aimass::plugins::dataset {

/// The image formats dataset.images reads, told apart by their first bytes.
enum class ImageFormat {
  kPng,   ///< starts with 89 50 4E 47 0D 0A 1A 0A
  kJpeg,  ///< starts with FF D8 FF
};

/// What an image file's header says.
struct ImageHeader {
  ImageFormat format = ImageFormat::kPng;
  std::uint32_t width = 0;
  std::uint32_t height = 0;
};

/// The format of a file from its first bytes; kInvalidArgument naming `name` and showing those
/// bytes (hex and printable text) when they are neither a PNG's nor a JPEG's signature.
Expected<ImageFormat> imageFormat(std::span<const std::uint8_t> bytes, const std::string& name);

/// Checks a whole image file held in memory without decoding its pixels, and returns its
/// header. Refuses, with kInvalidArgument naming `name`: a file that is neither PNG nor JPEG,
/// one whose declared width x height exceeds `max_pixels` (checked on the declared size, before
/// the decoders allocate anything for the image: the decompression-bomb guard), a header the
/// decoder rejects, a CMYK JPEG, a PNG whose chunks are cut short or fail their CRC or that has
/// no IEND, and a JPEG with no end-of-image marker after its first scan (a truncated file).
/// Damage inside the compressed pixel data is found only by decodeImage().
///
/// Threading: no shared state; call from any thread.
Expected<ImageHeader> checkImage(std::span<const std::uint8_t> bytes, const std::string& name,
                                 std::uint64_t max_pixels);

/// Decodes a whole image file held in memory into 8-bit pixels of `channels` (1: gray, 3: RGB),
/// row-major, a pixel's channels together: header.width * header.height * channels bytes,
/// written to `pixels` (resized). `header` is what checkImage() said of the file; a file whose
/// header now says otherwise is refused as changed.
///
/// PNG: palette, gray and 16-bit samples become 8-bit (16-bit rounded, not truncated), alpha
/// (an alpha channel or a tRNS chunk) is composited over white, interlaced images are
/// de-interlaced. Color becomes gray as ITU-R BT.601 luma, (299 R + 587 G + 114 B) / 1000
/// rounded, so a gray pixel keeps its value; gray becomes color by repeating it.
/// JPEG: grayscale, YCbCr and RGB files; libjpeg converts the color space (gray from YCbCr is
/// the Y component, the same luma). A JPEG whose compressed data is damaged or cut short
/// (libjpeg's "Corrupt JPEG data" and "Premature end of JPEG file" warnings, which it would
/// otherwise paper over with gray) is refused, as is one of more than 1000 scans.
///
/// Every failure is kInvalidArgument naming `name` and the decoder's reason. `scratch` is a
/// buffer the caller may reuse between calls (PNG decodes through it). Threading: no shared
/// state; call from any thread.
Status decodeImage(std::span<const std::uint8_t> bytes, const ImageHeader& header, int channels,
                   const std::string& name, std::vector<std::uint8_t>& scratch,
                   std::vector<std::uint8_t>& pixels);

// The decoders behind checkImage() and decodeImage(), one per format (png_decode.cc,
// jpeg_decode.cc).

/// checkImage() for a file known to start with the PNG signature.
Expected<ImageHeader> checkPng(std::span<const std::uint8_t> bytes, const std::string& name,
                               std::uint64_t max_pixels);
/// Decodes a PNG into gray + alpha (2 channels) or RGB + alpha (4), 8 bits each, into `out`
/// (resized); `out_channels` says which. The alpha is 255 where the file has none.
Status decodePng(std::span<const std::uint8_t> bytes, const ImageHeader& header,
                 const std::string& name, std::vector<std::uint8_t>& out, int& out_channels);
/// checkImage() for a file known to start with the JPEG signature.
Expected<ImageHeader> checkJpeg(std::span<const std::uint8_t> bytes, const std::string& name,
                                std::uint64_t max_pixels);
/// Decodes a JPEG into `channels` (1 or 3) 8-bit channels, into `pixels` (resized).
Status decodeJpeg(std::span<const std::uint8_t> bytes, const ImageHeader& header, int channels,
                  const std::string& name, std::vector<std::uint8_t>& pixels);

/// The refusal of an image whose declared size exceeds max_pixels, shared by both formats.
Status tooManyPixels(const std::string& name, std::uint64_t width, std::uint64_t height,
                     std::uint64_t max_pixels);

}  // namespace aimass::plugins::dataset
