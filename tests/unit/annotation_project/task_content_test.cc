// SPDX-License-Identifier: Apache-2.0
#include "annotation/task_content.h"

#include <Poco/Checksum.h>
#include <Poco/InflatingStream.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "compact_json.h"

#include <sstream>

namespace aimass::core::annotation {
namespace {

using ::testing::HasSubstr;

std::uint32_t u32(const std::string& bytes, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[at + i]);
  return v;
}

/// The chunks of a PNG, each checked against its CRC: type -> data.
std::vector<std::pair<std::string, std::string>> chunks(const std::string& png) {
  std::vector<std::pair<std::string, std::string>> out;
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  std::size_t at = 8;
  while (at + 12 <= png.size()) {
    const std::uint32_t length = u32(png, at);
    const std::string typed = png.substr(at + 4, 4 + length);
    Poco::Checksum crc(Poco::Checksum::TYPE_CRC32);
    crc.update(typed.data(), static_cast<unsigned>(typed.size()));
    EXPECT_EQ(crc.checksum(), u32(png, at + 8 + length)) << typed.substr(0, 4);
    out.emplace_back(typed.substr(0, 4), typed.substr(4));
    at += 12 + length;
  }
  EXPECT_EQ(at, png.size());
  return out;
}

TEST(TaskContent, AnImageRowBecomesAGrayscalePngOfItsPixels) {
  DatasetSchema schema;
  schema.row_shape = {6};
  auto layout = makeContentLayout(schema, "image", 3, "");
  ASSERT_TRUE(layout.ok()) << layout.status().toString();
  EXPECT_EQ(layout->width, 3);
  EXPECT_EQ(layout->height, 2);
  Batch row;
  row.features = Tensor::fromVector<float>({0.0f, 0.5f, 1.0f, 0.2f, std::nanf(""), 2.0f}, {1, 6});
  // Pixels above 1 mean the data is 0..255: then values are taken as they are.
  const std::string png = imagePng(*layout, row);
  auto parts = chunks(png);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].first, "IHDR");
  EXPECT_EQ(u32(parts[0].second, 0), 3u);
  EXPECT_EQ(u32(parts[0].second, 4), 2u);
  EXPECT_EQ(parts[0].second.substr(8), std::string("\x08\x00\x00\x00\x00", 5));
  EXPECT_EQ(parts[1].first, "IDAT");
  EXPECT_EQ(parts[2].first, "IEND");
  std::istringstream compressed(parts[1].second);
  Poco::InflatingInputStream inflate(compressed, Poco::InflatingStreamBuf::STREAM_ZLIB);
  std::string raw((std::istreambuf_iterator<char>(inflate)), std::istreambuf_iterator<char>());
  // Each line: filter byte 0, then the pixels rounded (0, 0.5, 1 -> 0, 1, 1; 0.2, NaN, 2 ->
  // 0, 0, 2).
  EXPECT_EQ(raw, std::string("\x00\x00\x01\x01\x00\x00\x00\x02", 8));
}

TEST(TaskContent, UnitPixelsAreScaledTo255) {
  DatasetSchema schema;
  schema.row_shape = {4};
  auto layout = makeContentLayout(schema, "auto", 0, "");
  ASSERT_TRUE(layout.ok());
  EXPECT_EQ(layout->kind, ContentKind::kImage);  // square and unnamed
  Batch row;
  row.features = Tensor::fromVector<float>({0.0f, 0.5f, 1.0f, 0.25f}, {1, 4});
  auto parts = chunks(imagePng(*layout, row));
  std::istringstream compressed(parts[1].second);
  Poco::InflatingInputStream inflate(compressed, Poco::InflatingStreamBuf::STREAM_ZLIB);
  std::string raw((std::istreambuf_iterator<char>(inflate)), std::istreambuf_iterator<char>());
  EXPECT_EQ(raw, std::string("\x00\x00\x80\x00\xff\x40", 6));
}

TEST(TaskContent, LayoutsFollowTheSchemaAndSayWhatDoesNotFit) {
  DatasetSchema table;
  table.row_shape = {4};
  table.feature_names = {"a", "b", "c", "d"};
  EXPECT_EQ(makeContentLayout(table, "auto", 0, "")->kind, ContentKind::kTable);
  DatasetSchema odd;
  odd.row_shape = {7};
  EXPECT_EQ(makeContentLayout(odd, "auto", 0, "")->kind, ContentKind::kTable);
  EXPECT_THAT(makeContentLayout(odd, "image", 0, "").status().message(),
              HasSubstr("no image of width 0"));
  EXPECT_THAT(makeContentLayout(odd, "image", 2, "").status().message(),
              HasSubstr("(7 features) are no image of width 2"));
  DatasetSchema texts;
  texts.row_shape = {1};
  texts.string_feature_names = {"title", "body"};
  auto text = makeContentLayout(texts, "auto", 0, "body");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->kind, ContentKind::kText);
  EXPECT_EQ(text->text_column, 1u);
  EXPECT_THAT(makeContentLayout(texts, "auto", 0, "summary").status().message(),
              HasSubstr("text_column 'summary' is not a text column of the dataset (it has "
                        "title, body)"));

  Batch row;
  row.features = Tensor::fromVector<float>({2.5f}, {1, 1});
  row.strings = Tensor::fromStrings({"T", "<b>bold</b> ö"});
  EXPECT_EQ(contentText(*text, row), "<b>bold</b> ö");
  JsonWriter json;
  json.beginObject();
  writeContent(json, *text, texts, row);
  json.endObject();
  EXPECT_EQ(compact(json.str()), "{\"kind\":\"text\",\"text\":\"<b>bold</b> ö\"}");
  auto as_table = makeContentLayout(texts, "table", 0, "");
  JsonWriter cells;
  cells.beginObject();
  writeContent(cells, *as_table, texts, row);
  cells.endObject();
  EXPECT_THAT(compact(cells.str()),
              HasSubstr(R"({"name":"x0","value":2.5},{"name":"title","value":"T"})"));
}

TEST(TaskContent, CodePointsCountCharactersNotBytes) {
  EXPECT_EQ(codePoints(""), 0);
  EXPECT_EQ(codePoints("abc"), 3);
  EXPECT_EQ(codePoints("Bö"), 2);
  EXPECT_EQ(codePoints("€x"), 2);
  EXPECT_EQ(codePoints("\xF0\x9F\x98\x80"), 1);  // one emoji, four bytes
  EXPECT_EQ(codePoints("\xC3"), 1);              // a cut sequence counts its byte
  EXPECT_EQ(codePoints("\xC3x"), 2);
}

}  // namespace
}  // namespace aimass::core::annotation
