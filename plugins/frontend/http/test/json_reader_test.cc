// SPDX-License-Identifier: Apache-2.0
// JsonReader on its own: the token stream, decoded strings, skipping, and every malformed text
// refused with its byte offset, as strictly as JsonDocument reads the same texts.
#include "json_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "json_document.h"

namespace aimass::plugins::frontend {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Token = JsonReader::Token;

/// Every token as text ("[", "]", "{", "}", "key:NAME", "s:TEXT", "n:TEXT", "true", ...),
/// then "error: MESSAGE" if the reader refused the text.
std::vector<std::string> tokens(std::string_view text, std::size_t max_depth = 64) {
  JsonReader reader(text, max_depth);
  std::vector<std::string> out;
  for (Token t = reader.next(); t != Token::kEnd; t = reader.next()) {
    switch (t) {
      case Token::kBeginArray:
        out.push_back("[");
        break;
      case Token::kEndArray:
        out.push_back("]");
        break;
      case Token::kBeginObject:
        out.push_back("{");
        break;
      case Token::kEndObject:
        out.push_back("}");
        break;
      case Token::kKey:
        out.push_back("key:" + reader.string());
        break;
      case Token::kString:
        out.push_back("s:" + reader.string());
        break;
      case Token::kNumber:
        out.push_back("n:" + std::string(reader.text()));
        break;
      default:
        out.push_back(std::string(reader.text()));
        break;
    }
  }
  if (!reader.status().ok()) {
    out.push_back("error: " + reader.status().message());
  }
  return out;
}

TEST(JsonReaderTest, TokensInOrder) {
  EXPECT_THAT(tokens(R"( {"a": [1, -2.5e3, true], "b": {"c": null}, "d": "x"} )"),
              ElementsAre("{", "key:a", "[", "n:1", "n:-2.5e3", "true", "]", "key:b", "{", "key:c",
                          "null", "}", "key:d", "s:x", "}"));
  EXPECT_THAT(tokens("[]"), ElementsAre("[", "]"));
  EXPECT_THAT(tokens("7"), ElementsAre("n:7"));
}

TEST(JsonReaderTest, StringsAreDecoded) {
  EXPECT_THAT(tokens(R"(["a\"b\\c\/d\n", "\u00e9\ud83d\ude00"])"),
              ElementsAre("[", "s:a\"b\\c/d\n", "s:\xc3\xa9\xf0\x9f\x98\x80", "]"));
}

TEST(JsonReaderTest, MalformedTextsAreRefusedWithTheirOffset) {
  for (std::string_view bad :
       {"[1,]", "{\"a\" 1}", "[01]", "[+1]", "[.5]", "[NaN]", "[\"\\x\"]", "[\"\\ud800\"]", "[1] 2",
        "{\"a\":1,}", "[\"a\nb\"]", "", "[", "tru"}) {
    auto out = tokens(bad);
    ASSERT_FALSE(out.empty()) << bad;
    EXPECT_THAT(out.back(), HasSubstr("error: malformed JSON")) << bad;
    // JsonDocument, the indexer the OIP decoder uses, refuses the same texts.
    JsonDocument document;
    EXPECT_FALSE(document.parse(bad, 64).ok()) << bad;
  }
  EXPECT_THAT(tokens("[1,]").back(), HasSubstr("at byte 3"));
}

TEST(JsonReaderTest, NestingPastTheLimitIsRefused) {
  EXPECT_THAT(tokens("[[[1]]]", 2).back(), HasSubstr("nested deeper than 2 levels"));
  EXPECT_EQ(tokens("[[1]]", 2).back(), "]");
}

TEST(JsonReaderTest, SkipPassesOverAWholeValue) {
  JsonReader reader(R"({"skip": [1, {"x": [2, 3]}, "s"], "keep": 4})", 64);
  ASSERT_EQ(reader.next(), Token::kBeginObject);
  ASSERT_EQ(reader.next(), Token::kKey);
  ASSERT_TRUE(reader.skip(reader.next()).ok());
  ASSERT_EQ(reader.next(), Token::kKey);
  EXPECT_EQ(reader.string(), "keep");
  ASSERT_EQ(reader.next(), Token::kNumber);
  EXPECT_EQ(reader.text(), "4");
  EXPECT_EQ(reader.next(), Token::kEndObject);
  EXPECT_EQ(reader.next(), Token::kEnd);
  EXPECT_TRUE(reader.status().ok());
}

}  // namespace
}  // namespace aimass::plugins::frontend
