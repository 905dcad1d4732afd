// SPDX-License-Identifier: Apache-2.0
#include "annotation/task_content.h"

#include <Poco/Checksum.h>
#include <Poco/DeflatingStream.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "aimass/util/utf8.h"

namespace aimass::core::annotation {
namespace {

std::int64_t rowFeatures(const DatasetSchema& schema) {
  std::int64_t n = 1;
  for (std::int64_t d : schema.row_shape) n *= d;
  return n;
}

void putU32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

/// One PNG chunk: length, type, data, CRC-32 of type and data.
void putChunk(std::string& out, const char* type, const std::string& data) {
  putU32(out, static_cast<std::uint32_t>(data.size()));
  const std::string typed = std::string(type, 4) + data;
  out += typed;
  Poco::Checksum crc(Poco::Checksum::TYPE_CRC32);
  crc.update(typed.data(), static_cast<unsigned>(typed.size()));
  putU32(out, crc.checksum());
}

}  // namespace

Expected<ContentLayout> makeContentLayout(const DatasetSchema& schema, const std::string& show,
                                          std::int64_t image_width,
                                          const std::string& text_column) {
  ContentLayout layout;
  const std::int64_t features = rowFeatures(schema);
  const bool numeric = schema.feature_dtype == DType::kFloat32 && features > 0;
  if (!text_column.empty() || show == "text") {
    const auto& names = schema.string_feature_names;
    auto it = std::find(names.begin(), names.end(), text_column);
    if (text_column.empty() || it == names.end()) {
      std::string known;
      for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
      return invalidArgument("text_column '" + text_column + "' is not a text column of the " +
                             "dataset" +
                             (known.empty() ? " (it has none)" : " (it has " + known + ")"));
    }
    layout.kind = ContentKind::kText;
    layout.text_column = static_cast<std::size_t>(it - names.begin());
    return layout;
  }
  std::int64_t width = image_width;
  if (width <= 0 && numeric) {
    width = static_cast<std::int64_t>(std::llround(std::sqrt(static_cast<double>(features))));
    if (width * width != features) width = 0;
  }
  const bool image_fits = numeric && width > 0 && features % width == 0;
  if (show == "image" || (show == "auto" && image_fits && schema.feature_names.empty())) {
    if (!image_fits) {
      return invalidArgument("the dataset's rows (" + std::to_string(features) +
                             " features) are no image of width " + std::to_string(width) +
                             "; set image_width to a divisor of the row's size");
    }
    if (features > 4096 * 4096) {
      return invalidArgument("images of over 4096x4096 pixels are not shown");
    }
    layout.kind = ContentKind::kImage;
    layout.width = width;
    layout.height = features / width;
    return layout;
  }
  layout.kind = ContentKind::kTable;
  return layout;
}

std::int64_t codePoints(std::string_view text) {
  std::int64_t n = 0;
  for (std::size_t i = 0; i < text.size(); ++n) {
    const std::size_t length = utf8SequenceLength(text.substr(i));
    i += length == 0 ? 1 : length;  // ASCII, or a byte of no well-formed sequence: one each
  }
  return n;
}

std::string contentText(const ContentLayout& layout, const Batch& row) {
  if (layout.kind != ContentKind::kText || row.strings.dtype() != DType::kBytes) return {};
  const auto& values = row.strings.strings();
  return layout.text_column < values.size() ? values[layout.text_column] : std::string();
}

void writeContent(JsonWriter& json, const ContentLayout& layout, const DatasetSchema& schema,
                  const Batch& row) {
  switch (layout.kind) {
    case ContentKind::kImage:
      json.key("kind").value("image").key("width").value(layout.width);
      json.key("height").value(layout.height);
      return;
    case ContentKind::kText:
      json.key("kind").value("text").key("text").value(contentText(layout, row));
      return;
    case ContentKind::kTable:
      break;
  }
  json.key("kind").value("table").key("columns").beginArray();
  if (row.features.dtype() == DType::kFloat32) {
    const float* values = row.features.data<float>();
    const auto n = static_cast<std::size_t>(std::max<std::int64_t>(row.features.numel(), 0));
    for (std::size_t i = 0; i < n; ++i) {
      json.beginObject().key("name").value(
          i < schema.feature_names.size() ? schema.feature_names[i] : "x" + std::to_string(i));
      json.key("value");
      if (std::isfinite(values[i])) {
        json.value(static_cast<double>(values[i]));
      } else {
        json.null();
      }
      json.endObject();
    }
  }
  if (row.strings.dtype() == DType::kBytes) {
    const auto& values = row.strings.strings();
    for (std::size_t i = 0; i < values.size(); ++i) {
      json.beginObject().key("name").value(i < schema.string_feature_names.size()
                                               ? schema.string_feature_names[i]
                                               : "s" + std::to_string(i));
      json.key("value").value(values[i]).endObject();
    }
  }
  json.endArray();
}

std::string imagePng(const ContentLayout& layout, const Batch& row) {
  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(layout.width * layout.height), 0);
  if (layout.kind == ContentKind::kImage && row.features.dtype() == DType::kFloat32 &&
      row.features.numel() >= layout.width * layout.height) {
    const float* values = row.features.data<float>();
    float top = 0;
    for (std::size_t i = 0; i < pixels.size(); ++i) {
      if (std::isfinite(values[i])) top = std::max(top, values[i]);
    }
    const float scale = top <= 1.0f ? 255.0f : 1.0f;  // [0, 1] pixels or [0, 255] ones
    for (std::size_t i = 0; i < pixels.size(); ++i) {
      const float v = std::isfinite(values[i]) ? values[i] * scale : 0.0f;
      pixels[i] = static_cast<std::uint8_t>(std::clamp(std::lround(v), 0L, 255L));
    }
  }
  return encodeGrayPng(pixels, layout.width, layout.height);
}

std::string encodeGrayPng(const std::vector<std::uint8_t>& pixels, std::int64_t width,
                          std::int64_t height) {
  std::string out("\x89PNG\r\n\x1a\n", 8);
  std::string header;
  putU32(header, static_cast<std::uint32_t>(width));
  putU32(header, static_cast<std::uint32_t>(height));
  header += std::string("\x08\x00\x00\x00\x00", 5);  // 8 bits, grayscale, deflate, no interlace
  putChunk(out, "IHDR", header);
  std::ostringstream compressed;
  {
    Poco::DeflatingOutputStream deflate(compressed, Poco::DeflatingStreamBuf::STREAM_ZLIB);
    for (std::int64_t y = 0; y < height; ++y) {
      deflate.put('\0');  // filter: none
      deflate.write(reinterpret_cast<const char*>(pixels.data() + y * width),
                    static_cast<std::streamsize>(width));
    }
    deflate.close();
  }
  putChunk(out, "IDAT", compressed.str());
  putChunk(out, "IEND", "");
  return out;
}

}  // namespace aimass::core::annotation
