// SPDX-License-Identifier: Apache-2.0
// JPEG files through libjpeg (libjpeg-turbo). libjpeg reports errors through error_exit, which
// must not return: here it longjmps. Every frame the jump crosses (libjpeg's own, the callbacks
// here, readJpegPixels) and the frame that calls setjmp (runJpeg) hold only trivially
// destructible C-style objects, and the C++ callers see a plain bool.
// jpeglib.h uses FILE and size_t without declaring them, and which messages jerror.h lists
// depends on jpeglib.h's configuration: this order matters.
// clang-format off
#include <cstdio>
#include <jpeglib.h>
#include <jerror.h>
// clang-format on

#include <csetjmp>
#include <cstring>

#include "image_decode.h"

namespace aimass::plugins::dataset {

namespace {

/// More scans than any real progressive JPEG has (they have about 10): a file of thousands of
/// tiny scans makes the decoder work for minutes on a few kilobytes.
constexpr int kMaxScans = 1000;

std::string quoted(const std::string& name) { return "'" + name + "'"; }

/// libjpeg's error manager with what the callbacks record. `manager` comes first: libjpeg
/// hands its address back as cinfo->err.
struct JpegErrors {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool damaged;  // a warning that the compressed data is corrupt or cut short
};

struct JpegProgress {
  jpeg_progress_mgr manager;  // first, as for JpegErrors
  JpegErrors* errors;
};

/// What runJpeg was asked to do and what it found.
struct JpegJob {
  std::uint8_t* pixels;  // null: read the header only
  int channels;
  std::uint32_t expected_width;
  std::uint32_t expected_height;
  std::uint32_t width;
  std::uint32_t height;
  J_COLOR_SPACE color_space;
  int components;
  std::size_t header_bytes;  // how much of the file the header took, up to the first scan
};

[[noreturn]] void jpegErrorExit(j_common_ptr cinfo) {
  auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, errors->message);
  std::longjmp(errors->jump, 1);
}

/// Warnings (level -1) that mean the pixels are wrong: libjpeg fills what it cannot decode
/// with gray and goes on. The others (an unknown JFIF version, extra bytes between markers)
/// leave the image intact. Trace messages (level >= 0) are dropped.
void jpegEmitMessage(j_common_ptr cinfo, int level) {
  if (level >= 0) {
    return;
  }
  switch (cinfo->err->msg_code) {
    case JWRN_ARITH_BAD_CODE:
    case JWRN_BOGUS_PROGRESSION:
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_JPEG_EOF:
    case JWRN_MUST_RESYNC:
    case JWRN_NOT_SEQUENTIAL: {
      auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
      if (!errors->damaged) {
        (*cinfo->err->format_message)(cinfo, errors->message);
        errors->damaged = true;
      }
      break;
    }
    default:
      break;
  }
}

void jpegOutputMessage(j_common_ptr) {}

void jpegProgress(j_common_ptr cinfo) {
  auto* progress = reinterpret_cast<JpegProgress*>(cinfo->progress);
  if (cinfo->is_decompressor &&
      reinterpret_cast<j_decompress_ptr>(cinfo)->input_scan_number > kMaxScans) {
    std::snprintf(progress->errors->message, sizeof progress->errors->message,
                  "it has more than %d scans", kMaxScans);
    std::longjmp(progress->errors->jump, 1);
  }
}

/// After jpeg_read_header: decodes every scanline into job->pixels as job->channels channels.
void readJpegPixels(j_decompress_ptr cinfo, JpegJob* job) {
  cinfo->out_color_space = job->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(cinfo);
  if (cinfo->output_width != job->width || cinfo->output_height != job->height ||
      cinfo->output_components != job->channels) {
    auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
    std::snprintf(errors->message, sizeof errors->message,
                  "libjpeg decodes it to another size or channel count than its header says");
    std::longjmp(errors->jump, 1);
  }
  const std::size_t row_bytes = std::size_t{job->width} * static_cast<std::size_t>(job->channels);
  while (cinfo->output_scanline < cinfo->output_height) {
    JSAMPROW row = job->pixels + std::size_t{cinfo->output_scanline} * row_bytes;
    jpeg_read_scanlines(cinfo, &row, 1);
  }
  jpeg_finish_decompress(cinfo);
}

/// Whether libjpeg converts the color space to gray and RGB.
bool readableColorSpace(const JpegJob& job) {
  return job.color_space == JCS_GRAYSCALE || job.color_space == JCS_YCbCr ||
         job.color_space == JCS_RGB;
}

/// Reads the header (job->pixels null) or the whole image of bytes[0, size). False with
/// errors->message when libjpeg fails; errors->damaged when it warned of damaged data.
bool runJpeg(const std::uint8_t* bytes, std::size_t size, JpegErrors* errors, JpegJob* job) {
  jpeg_decompress_struct cinfo;
  std::memset(&cinfo, 0, sizeof cinfo);
  JpegProgress progress;
  std::memset(&progress, 0, sizeof progress);
  cinfo.err = jpeg_std_error(&errors->manager);
  errors->manager.error_exit = jpegErrorExit;
  errors->manager.emit_message = jpegEmitMessage;
  errors->manager.output_message = jpegOutputMessage;
  progress.manager.progress_monitor = jpegProgress;
  progress.errors = errors;
  if (setjmp(errors->jump) != 0) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  cinfo.progress = &progress.manager;
  jpeg_mem_src(&cinfo, bytes, static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  job->width = cinfo.image_width;
  job->height = cinfo.image_height;
  job->color_space = cinfo.jpeg_color_space;
  job->components = cinfo.num_components;
  job->header_bytes = size - cinfo.src->bytes_in_buffer;
  if (job->pixels != nullptr && readableColorSpace(*job)) {
    if (job->width != job->expected_width || job->height != job->expected_height) {
      std::snprintf(errors->message, sizeof errors->message,
                    "its size changed since the dataset was opened");
      jpeg_destroy_decompress(&cinfo);
      return false;
    }
    readJpegPixels(&cinfo, job);
  }
  jpeg_destroy_decompress(&cinfo);
  return true;
}

Status refuseColorSpace(const std::string& name, const JpegJob& job) {
  if (job.color_space == JCS_CMYK || job.color_space == JCS_YCCK) {
    return invalidArgument(quoted(name) + " is a CMYK JPEG: only grayscale and color (YCbCr or " +
                           "RGB) JPEGs are read; convert it to RGB");
  }
  return invalidArgument(quoted(name) + " is a JPEG of " + std::to_string(job.components) +
                         " color components in a color space libjpeg does not know: only " +
                         "grayscale and color (YCbCr or RGB) JPEGs are read");
}

}  // namespace

Expected<ImageHeader> checkJpeg(std::span<const std::uint8_t> bytes, const std::string& name,
                                std::uint64_t max_pixels) {
  JpegErrors errors;
  std::memset(&errors, 0, sizeof errors);
  JpegJob job{};
  if (!runJpeg(bytes.data(), bytes.size(), &errors, &job)) {
    return invalidArgument(quoted(name) + " is not a valid JPEG: " + errors.message);
  }
  if (errors.damaged) {
    return invalidArgument(quoted(name) + " is a damaged JPEG: " + errors.message);
  }
  // jpeg_read_header reads the markers up to the first scan and allocates nothing for the
  // image, so the size is checked before any decoding.
  if (std::uint64_t{job.width} * job.height > max_pixels) {
    return tooManyPixels(name, job.width, job.height, max_pixels);
  }
  if (!readableColorSpace(job)) {
    return refuseColorSpace(name, job);
  }
  // A whole file ends its last scan with the end-of-image marker FF D9, which the compressed
  // data cannot hold (a data byte FF is followed by 00); bytes after it are tolerated.
  bool end_marker = false;
  for (std::size_t i = bytes.size(); i >= job.header_bytes + 2 && !end_marker; --i) {
    end_marker = bytes[i - 2] == 0xFF && bytes[i - 1] == 0xD9;
  }
  if (!end_marker) {
    return invalidArgument(quoted(name) + " is truncated: its " + std::to_string(bytes.size()) +
                           " bytes hold no JPEG end-of-image marker after the image data");
  }
  ImageHeader header;
  header.format = ImageFormat::kJpeg;
  header.width = job.width;
  header.height = job.height;
  return header;
}

Status decodeJpeg(std::span<const std::uint8_t> bytes, const ImageHeader& header, int channels,
                  const std::string& name, std::vector<std::uint8_t>& pixels) {
  pixels.resize(std::size_t{header.width} * header.height * static_cast<std::size_t>(channels));
  JpegErrors errors;
  std::memset(&errors, 0, sizeof errors);
  JpegJob job{};
  job.pixels = pixels.data();
  job.channels = channels;
  job.expected_width = header.width;
  job.expected_height = header.height;
  if (!runJpeg(bytes.data(), bytes.size(), &errors, &job)) {
    return invalidArgument("cannot decode " + quoted(name) + ": " + errors.message);
  }
  if (!readableColorSpace(job)) {
    return refuseColorSpace(name, job);
  }
  if (errors.damaged) {
    return invalidArgument("cannot decode " + quoted(name) + ", a damaged JPEG: " + errors.message);
  }
  return Status();
}

}  // namespace aimass::plugins::dataset
