// SPDX-License-Identifier: Apache-2.0
// PNG files through libpng. libpng reports errors by longjmp: every frame the jump crosses
// (libpng's own, the callbacks here, readPngRows) and the frame that calls setjmp (runPng)
// hold only trivially destructible C-style objects, and the C++ callers see a plain bool.
#include <png.h>
#include <zlib.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>

#include "image_decode.h"

namespace aimass::plugins::dataset {

namespace {

constexpr std::uint8_t kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
/// The most memory libpng may take for one ancillary chunk (the text and profile chunks, which
/// could otherwise decompress to far more than their size, are skipped altogether).
constexpr png_alloc_size_t kMaxChunkBytes = 8 << 20;

std::uint32_t bigEndian32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

std::string quoted(const std::string& name) { return "'" + name + "'"; }

/// The file libpng reads and what went wrong; everything libpng's callbacks touch.
struct PngSource {
  const std::uint8_t* data;
  std::size_t size;
  std::size_t offset;
  char message[256];
};

/// What runPng was asked to do and what it found.
struct PngJob {
  std::uint8_t* pixels;  // null: read the header only
  std::uint32_t expected_width;
  std::uint32_t expected_height;
  std::uint32_t width;
  std::uint32_t height;
  int channels;
};

[[noreturn]] void pngError(png_structp png, png_const_charp message) {
  auto* source = static_cast<PngSource*>(png_get_error_ptr(png));
  std::snprintf(source->message, sizeof source->message, "%s", message);
  png_longjmp(png, 1);
}

// Warnings are about ancillary data libpng skips (a bad chunk it drops, a profile it ignores);
// the pixels are still right, so they are not errors, and nothing is printed.
void pngWarning(png_structp, png_const_charp) {}

void pngRead(png_structp png, png_bytep out, std::size_t n) {
  auto* source = static_cast<PngSource*>(png_get_io_ptr(png));
  if (n > source->size - source->offset) {
    png_error(png, "the file ends early: it is truncated");
  }
  std::memcpy(out, source->data + source->offset, n);
  source->offset += n;
}

/// After png_read_info: asks libpng for 8-bit gray + alpha or RGB + alpha, then reads every
/// row (every pass of an interlaced image) into job->pixels.
void readPngRows(png_structp png, png_infop info, PngJob* job) {
  const int color_type = png_get_color_type(png, info);
  if (color_type == PNG_COLOR_TYPE_PALETTE) {
    png_set_palette_to_rgb(png);
  }
  if (color_type == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8) {
    png_set_expand_gray_1_2_4_to_8(png);
  }
  const bool has_alpha = (color_type & PNG_COLOR_MASK_ALPHA) != 0;
  if (png_get_valid(png, info, PNG_INFO_tRNS) != 0) {
    png_set_tRNS_to_alpha(png);
  } else if (!has_alpha) {
    png_set_add_alpha(png, 0xFF, PNG_FILLER_AFTER);
  }
  png_set_scale_16(png);  // rounds 16-bit samples to 8 bits; no-op on 8-bit ones
  const int passes = png_set_interlace_handling(png);
  png_read_update_info(png, info);
  job->channels = png_get_channels(png, info);
  if (png_get_bit_depth(png, info) != 8 || (job->channels != 2 && job->channels != 4) ||
      png_get_rowbytes(png, info) != std::size_t{job->width} * job->channels) {
    png_error(png, "libpng did not give 8-bit gray or RGB with alpha");
  }
  const std::size_t row_bytes = png_get_rowbytes(png, info);
  // Each pass fills in more pixels of the same rows.
  for (int pass = 0; pass < passes; ++pass) {
    for (std::uint32_t y = 0; y < job->height; ++y) {
      png_read_row(png, job->pixels + y * row_bytes, nullptr);
    }
  }
  png_read_end(png, nullptr);
}

/// Reads the header (job->pixels null) or the whole image of `source`. False with
/// source->message when libpng fails.
bool runPng(PngSource* source, PngJob* job) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, source, pngError, pngWarning);
  png_infop info = png == nullptr ? nullptr : png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    std::snprintf(source->message, sizeof source->message, "libpng could not start");
    return false;
  }
  if (setjmp(png_jmpbuf(png)) != 0) {
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  png_set_read_fn(png, source, pngRead);
  // checkPng has held the size to max_pixels already; libpng's own default limit of a million
  // pixels a side would refuse a long thin image that max_pixels allows.
  png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
  png_set_chunk_malloc_max(png, kMaxChunkBytes);
  // Text, profile and metadata chunks say nothing about the pixels: skipped unread.
  static const png_byte kSkipped[] = "tEXt\0zTXt\0iTXt\0iCCP\0eXIf\0sPLT";
  png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, kSkipped, 6);
  png_read_info(png, info);
  job->width = png_get_image_width(png, info);
  job->height = png_get_image_height(png, info);
  if (job->pixels != nullptr) {
    if (job->width != job->expected_width || job->height != job->expected_height) {
      png_error(png, "its size changed since the dataset was opened");
    }
    readPngRows(png, info, job);
  }
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

/// Walks the chunks from the signature to IEND: each must be whole with a matching CRC, and
/// there must be image data. Finds truncated and damaged files without inflating anything.
Status checkPngChunks(std::span<const std::uint8_t> bytes, const std::string& name) {
  std::size_t offset = sizeof kPngSignature;
  bool image_data = false;
  while (true) {
    if (bytes.size() - offset < 12) {
      return invalidArgument(quoted(name) + " is truncated: it ends after " +
                             std::to_string(bytes.size()) + " bytes, before the IEND chunk");
    }
    const std::uint32_t length = bigEndian32(bytes.data() + offset);
    const std::string type(reinterpret_cast<const char*>(bytes.data()) + offset + 4, 4);
    if (length > 0x7FFFFFFFu || bytes.size() - offset - 12 < length) {
      return invalidArgument(quoted(name) + " is truncated: its " + type + " chunk at byte " +
                             std::to_string(offset) + " needs " + std::to_string(length) +
                             " bytes of data, the file ends after " + std::to_string(bytes.size()) +
                             " bytes");
    }
    const std::uint8_t* typed = bytes.data() + offset + 4;
    const auto crc = static_cast<std::uint32_t>(crc32(crc32(0, nullptr, 0), typed, length + 4));
    if (crc != bigEndian32(typed + 4 + length)) {
      return invalidArgument(quoted(name) + " is damaged: its " + type + " chunk at byte " +
                             std::to_string(offset) + " fails its CRC check");
    }
    offset += 12 + std::size_t{length};
    if (type == "IDAT") {
      image_data = true;
    } else if (type == "IEND") {
      break;
    }
  }
  if (!image_data) {
    return invalidArgument(quoted(name) + " has no image data (no IDAT chunk)");
  }
  return Status();
}

}  // namespace

Expected<ImageHeader> checkPng(std::span<const std::uint8_t> bytes, const std::string& name,
                               std::uint64_t max_pixels) {
  // The IHDR chunk must come first (13 bytes of data); its size is checked against max_pixels
  // here, before libpng sees the file.
  constexpr std::size_t kHeaderEnd = sizeof kPngSignature + 8 + 13 + 4;
  if (bytes.size() < kHeaderEnd) {
    return invalidArgument(quoted(name) + " is truncated: " + std::to_string(bytes.size()) +
                           " bytes are too few for a PNG header");
  }
  const std::uint8_t* ihdr = bytes.data() + sizeof kPngSignature;
  if (bigEndian32(ihdr) != 13 || std::memcmp(ihdr + 4, "IHDR", 4) != 0) {
    return invalidArgument(quoted(name) + " is not a valid PNG: it does not start with an IHDR " +
                           "chunk");
  }
  ImageHeader header;
  header.format = ImageFormat::kPng;
  header.width = bigEndian32(ihdr + 8);
  header.height = bigEndian32(ihdr + 12);
  if (std::uint64_t{header.width} * header.height > max_pixels) {
    return tooManyPixels(name, header.width, header.height, max_pixels);
  }
  AIMASS_RETURN_IF_ERROR(checkPngChunks(bytes, name));
  PngSource source{bytes.data(), bytes.size(), 0, {}};
  PngJob job{};
  if (!runPng(&source, &job)) {
    return invalidArgument(quoted(name) + " is not a valid PNG: " + source.message);
  }
  return header;
}

Status decodePng(std::span<const std::uint8_t> bytes, const ImageHeader& header,
                 const std::string& name, std::vector<std::uint8_t>& out, int& out_channels) {
  out.resize(std::size_t{header.width} * header.height * 4);
  PngSource source{bytes.data(), bytes.size(), 0, {}};
  PngJob job{};
  job.pixels = out.data();
  job.expected_width = header.width;
  job.expected_height = header.height;
  if (!runPng(&source, &job)) {
    return invalidArgument("cannot decode " + quoted(name) + ": " + source.message);
  }
  out_channels = job.channels;
  out.resize(std::size_t{header.width} * header.height * static_cast<std::size_t>(job.channels));
  return Status();
}

}  // namespace aimass::plugins::dataset
