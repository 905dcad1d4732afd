// SPDX-License-Identifier: Apache-2.0
// The encoders run on well-formed input only: libpng's and libjpeg's default error handlers
// (which abort or exit with a message) are enough for a test's own images.
#include "image_files.h"

#include <png.h>
#include <zlib.h>

// clang-format off
#include <cstdio>
#include <jpeglib.h>
// clang-format on

#include <cstdlib>

namespace aimass::plugins::dataset::testing {

namespace {

void appendPng(png_structp png, png_bytep data, std::size_t n) {
  static_cast<std::string*>(png_get_io_ptr(png))->append(reinterpret_cast<const char*>(data), n);
}

void flushPng(png_structp) {}

int pngChannels(int color_type) {
  switch (color_type) {
    case PNG_COLOR_TYPE_GRAY_ALPHA:
      return 2;
    case PNG_COLOR_TYPE_RGB:
      return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA:
      return 4;
    default:
      return 1;  // gray, palette
  }
}

/// One row of samples as PNG stores it: big-endian 16-bit, bytes, or packed bits (MSB first).
std::vector<png_byte> packRow(const PngSpec& spec, std::size_t first, std::size_t count) {
  std::vector<png_byte> row;
  if (spec.bit_depth == 16) {
    for (std::size_t i = 0; i < count; ++i) {
      row.push_back(static_cast<png_byte>(spec.samples[first + i] >> 8));
      row.push_back(static_cast<png_byte>(spec.samples[first + i] & 0xFF));
    }
    return row;
  }
  const int per_byte = 8 / spec.bit_depth;
  row.assign((count + static_cast<std::size_t>(per_byte) - 1) / static_cast<std::size_t>(per_byte),
             0);
  for (std::size_t i = 0; i < count; ++i) {
    const int shift = 8 - spec.bit_depth * (1 + static_cast<int>(i) % per_byte);
    row[i / static_cast<std::size_t>(per_byte)] |=
        static_cast<png_byte>(spec.samples[first + i] << shift);
  }
  return row;
}

void putU32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out += static_cast<char>((v >> shift) & 0xFF);
  }
}

}  // namespace

std::string pngFile(const PngSpec& spec) {
  std::string out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  png_set_write_fn(png, &out, appendPng, flushPng);
  png_set_IHDR(png, info, spec.width, spec.height, spec.bit_depth, spec.color_type,
               spec.interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  std::vector<png_color> palette;
  for (std::size_t i = 0; i + 2 < spec.palette.size(); i += 3) {
    palette.push_back({spec.palette[i], spec.palette[i + 1], spec.palette[i + 2]});
  }
  if (!palette.empty()) {
    png_set_PLTE(png, info, palette.data(), static_cast<int>(palette.size()));
  }
  if (!spec.palette_alpha.empty()) {
    png_set_tRNS(png, info, spec.palette_alpha.data(), static_cast<int>(spec.palette_alpha.size()),
                 nullptr);
  }
  png_write_info(png, info);
  const std::size_t per_row = std::size_t{spec.width} * pngChannels(spec.color_type);
  std::vector<std::vector<png_byte>> rows;
  std::vector<png_bytep> pointers;
  for (std::uint32_t y = 0; y < spec.height; ++y) {
    rows.push_back(packRow(spec, y * per_row, per_row));
  }
  for (auto& row : rows) {
    pointers.push_back(row.data());
  }
  png_write_image(png, pointers.data());  // every Adam7 pass when interlaced
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

std::string jpegFile(std::uint32_t width, std::uint32_t height, int components,
                     const std::vector<std::uint8_t>& samples, int progressive_scans) {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr errors;
  cinfo.err = jpeg_std_error(&errors);
  jpeg_create_compress(&cinfo);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = width;
  cinfo.image_height = height;
  cinfo.input_components = components;
  cinfo.in_color_space = components == 1 ? JCS_GRAYSCALE : components == 3 ? JCS_RGB : JCS_CMYK;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, 100, TRUE);
  for (int c = 0; c < cinfo.num_components; ++c) {
    cinfo.comp_info[c].h_samp_factor = 1;
    cinfo.comp_info[c].v_samp_factor = 1;
  }
  // A progressive script: the DC of every component, then each AC coefficient of each
  // component on its own, by successive approximation from bit `bits` - 1 down to bit 0.
  std::vector<jpeg_scan_info> script;
  if (progressive_scans > 0) {
    const int per_band = components * 63;
    const int bits = (progressive_scans - 1 + per_band - 1) / per_band;
    script.push_back({components, {0, 1, 2, 3}, 0, 0, 0, 0});
    for (int c = 0; c < components; ++c) {
      for (int k = 1; k < 64; ++k) {
        script.push_back({1, {c}, k, k, 0, bits - 1});
        for (int bit = bits - 2; bit >= 0; --bit) {
          script.push_back({1, {c}, k, k, bit + 1, bit});
        }
      }
    }
    cinfo.scan_info = script.data();
    cinfo.num_scans = static_cast<int>(script.size());
  }
  jpeg_start_compress(&cinfo, TRUE);
  const std::size_t row_bytes = std::size_t{width} * static_cast<std::size_t>(components);
  while (cinfo.next_scanline < cinfo.image_height) {
    auto* row = const_cast<JSAMPLE*>(samples.data() + cinfo.next_scanline * row_bytes);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::string out(reinterpret_cast<const char*>(buffer), size);
  std::free(buffer);
  return out;
}

std::string pngChunk(const std::string& type, const std::string& data) {
  std::string out;
  putU32(out, static_cast<std::uint32_t>(data.size()));
  const std::string typed = type + data;
  out += typed;
  putU32(out, static_cast<std::uint32_t>(crc32(crc32(0, nullptr, 0),
                                               reinterpret_cast<const Bytef*>(typed.data()),
                                               static_cast<uInt>(typed.size()))));
  return out;
}

std::string pngHeaderOnly(std::uint32_t width, std::uint32_t height) {
  std::string header;
  putU32(header, width);
  putU32(header, height);
  header += std::string("\x08\x00\x00\x00\x00", 5);  // 8-bit gray, deflate, no interlace
  return std::string("\x89PNG\r\n\x1a\n", 8) + pngChunk("IHDR", header);
}

}  // namespace aimass::plugins::dataset::testing
