// SPDX-License-Identifier: Apache-2.0
// What an annotator is shown of one row of a project's dataset: an image (rows of pixels, sent
// as PNG), a text (from one of the row's text columns) or a table of the row's columns. Made
// from the dataset node's Batch, so any dataset reader the project points at can be labelled.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "aimass/dataset.h"
#include "aimass/status.h"
#include "aimass/util/json_writer.h"

namespace aimass::core::annotation {

/// How a row is shown.
enum class ContentKind { kImage, kText, kTable };

/// How a project shows its rows, checked against the dataset's schema (makeContentLayout()).
struct ContentLayout {
  ContentKind kind = ContentKind::kTable;
  std::int64_t width = 0, height = 0;  ///< kImage: pixels; width * height = features
  std::size_t text_column = 0;         ///< kText: index into Batch::strings' columns
  /// kImage: pixel values are in [0, 1] (scaled by 255 to show) rather than [0, 255].
  bool unit_pixels = true;
};

/// The layout for `show` ("image", "text", "table" or "auto") over `schema`: an image needs
/// one feature per pixel (width given, or the square root of the row's size); a text needs
/// `text_column`, a text column of the data. "auto": text when text_column is given, an image
/// when the rows are square and unnamed, else a table. kInvalidArgument says what does not fit.
Expected<ContentLayout> makeContentLayout(const DatasetSchema& schema, const std::string& show,
                                          std::int64_t image_width, const std::string& text_column);

/// One row's content as a JSON object's members: "kind", then for an image "width" and
/// "height", for a text "text", for a table "columns" ([{"name", "value"}]); numbers as
/// numbers (NaN as null), texts as strings.
void writeContent(JsonWriter& json, const ContentLayout& layout, const DatasetSchema& schema,
                  const Batch& row);

/// The text of an image-less row for kText (what spans index into), "" otherwise.
std::string contentText(const ContentLayout& layout, const Batch& row);

/// The number of Unicode code points of UTF-8 `text` (a span's unit); bytes that are no valid
/// UTF-8 count one each.
std::int64_t codePoints(std::string_view text);

/// The row's pixels as an 8-bit grayscale PNG (kImage only): values clamped to [0, 255] after
/// scaling, NaN as 0.
std::string imagePng(const ContentLayout& layout, const Batch& row);

/// A PNG of 8-bit grayscale `pixels`, `width` x `height` (row-major), zlib-compressed.
std::string encodeGrayPng(const std::vector<std::uint8_t>& pixels, std::int64_t width,
                          std::int64_t height);

}  // namespace aimass::core::annotation
