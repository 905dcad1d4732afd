// SPDX-License-Identifier: Apache-2.0
#include "json_document.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace aimass::plugins::frontend {
namespace {

using ::testing::HasSubstr;
using Kind = JsonDocument::Kind;

TEST(JsonDocument, IndexesEveryValueInDocumentOrder) {
  JsonDocument doc;
  ASSERT_TRUE(
      doc.parse(R"({"a": [1, -0, 2.5e-3, true, false, null, "s"], "b": {"c": []}, "d": 7})", 64)
          .ok());
  ASSERT_EQ(doc.node(0).kind, Kind::kObject);
  EXPECT_EQ(doc.node(0).size, 3u);
  EXPECT_EQ(doc.node(0).end, doc.nodeCount());

  std::size_t a = doc.member(0, "a");
  ASSERT_NE(a, JsonDocument::kNone);
  ASSERT_EQ(doc.node(a).kind, Kind::kArray);
  EXPECT_EQ(doc.node(a).size, 7u);
  std::vector<Kind> kinds;
  std::vector<std::string> texts;
  for (std::size_t i = a + 1; i < doc.node(a).end; i = doc.node(i).end) {
    kinds.push_back(doc.node(i).kind);
    texts.emplace_back(doc.node(i).text);
  }
  EXPECT_EQ(kinds, (std::vector<Kind>{Kind::kNumber, Kind::kNumber, Kind::kNumber, Kind::kTrue,
                                      Kind::kFalse, Kind::kNull, Kind::kString}));
  EXPECT_EQ(texts, (std::vector<std::string>{"1", "-0", "2.5e-3", "true", "false", "null", "s"}));

  // end skips a container with everything inside it.
  std::size_t b = doc.member(0, "b");
  ASSERT_EQ(doc.node(b).kind, Kind::kObject);
  std::size_t c = doc.member(b, "c");
  ASSERT_NE(c, JsonDocument::kNone);
  EXPECT_EQ(doc.node(c).size, 0u);
  EXPECT_EQ(doc.node(b).end, c + 1);
  std::size_t d = doc.member(0, "d");
  EXPECT_EQ(doc.node(d).text, "7");
  EXPECT_EQ(doc.member(0, "missing"), JsonDocument::kNone);
  EXPECT_EQ(doc.member(a, "a"), JsonDocument::kNone) << "a list has no members";
}

TEST(JsonDocument, WhitespaceMayStandBetweenAnyTokens) {
  JsonDocument doc;
  ASSERT_TRUE(doc.parse(" \t\r\n{ \"a\" \n:\t[ 1 ,\r\n2 ] , \"b\" : { } }\n\t ", 64).ok());
  EXPECT_EQ(doc.node(doc.member(0, "a")).size, 2u);
  EXPECT_EQ(doc.node(doc.member(0, "b")).kind, Kind::kObject);
  ASSERT_TRUE(doc.parse("  42  ", 64).ok()) << "any value may be the root";
  EXPECT_EQ(doc.node(0).text, "42");
}

TEST(JsonDocument, RefusesWhatTheGrammarDoesNotAllow) {
  struct Case {
    std::string text;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"", "ends where a value was expected at byte 0"},
      {"   ", "at byte 3"},
      {"[1,]", "expected a value but found ']' at byte 3"},
      {"[01]", "expected ',' or ']' but found '1' at byte 2"},
      {"[+1]", "expected a value but found '+'"},
      {"[.5]", "expected a value but found '.'"},
      {"[1.]", "digit after its decimal point"},
      {"[1e]", "digit in its exponent"},
      {"[-]", "digit after '-'"},
      {"[NaN]", "expected a value but found 'N'"},
      {"[Infinity]", "expected a value but found 'I'"},
      {"[-Infinity]", "digit after '-'"},
      {"[tru]", "expected a value but found 't'"},
      {"{'a': 1}", "member name in double quotes"},
      {R"({"a" 1})", "expected ':'"},
      {"[1 2]", "expected ',' or ']'"},
      {R"({"a": 1,})", "member name in double quotes but found '}'"},
      {"[1] x", "unexpected 'x' after the end of the JSON value at byte 4"},
      {"[1", "ends inside a list"},
      {R"({"a": 1)", "ends inside an object"},
      {R"(["abc)", "ends inside a string"},
      {R"(["\x"])", "unknown escape '\\x'"},
      {R"(["\u12"])", "\\u needs four hex digits"},
      {R"(["\ud800"])", "high surrogate without a low one"},
      {R"(["\ud800\u0041"])", "high surrogate without a low one"},
      {R"(["\udc00"])", "low surrogate without a high one"},
      {"[\"a\x01\"]", "control character byte 0x01"},
      {"[\"\xff\"]", "byte 0xff, which is not valid UTF-8"},
      {"[\"\xc0\xaf\"]", "not valid UTF-8"},          // overlong '/'
      {"[\"\xed\xa0\x80\"]", "not valid UTF-8"},      // an encoded surrogate
      {"[\"\xf4\x90\x80\x80\"]", "not valid UTF-8"},  // above U+10FFFF
      {"[\"\xe2\x82\"]", "not valid UTF-8"},          // cut short
  };
  JsonDocument doc;
  for (const auto& c : cases) {
    Status status = doc.parse(c.text, 64);
    ASSERT_FALSE(status.ok()) << c.text;
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(status.message(), HasSubstr("malformed JSON: ")) << c.text;
    EXPECT_THAT(status.message(), HasSubstr(c.reason)) << c.text;
  }
}

TEST(JsonDocument, DecodesEscapesAndKeepsUtf8) {
  JsonDocument doc;
  ASSERT_TRUE(
      doc.parse(R"(["a\"b\\c\/d\b\f\n\r\t", "\u00e9\u20ac\ud83d\ude00", "é€😀", "plain"])", 64)
          .ok());
  EXPECT_TRUE(doc.node(1).escaped);
  EXPECT_EQ(doc.string(1), "a\"b\\c/d\b\f\n\r\t");
  EXPECT_EQ(doc.string(2), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  EXPECT_EQ(doc.string(3), doc.string(2));
  EXPECT_FALSE(doc.node(4).escaped);
  EXPECT_EQ(doc.string(4), "plain");
}

TEST(JsonDocument, LastOfDuplicateMembersWinsAndEscapedNamesMatch) {
  JsonDocument doc;
  ASSERT_TRUE(doc.parse(R"({"k": 1, "\u006b": 2, "x": 3})", 64).ok());
  EXPECT_EQ(doc.node(doc.member(0, "k")).text, "2");
  EXPECT_EQ(doc.node(doc.member(0, "x")).text, "3");
}

TEST(JsonDocument, NestingBeyondTheLimitIsRefused) {
  JsonDocument doc;
  EXPECT_TRUE(doc.parse("[[1], {\"a\": 1}]", 2).ok());
  Status deep = doc.parse("[[[1]]]", 2);
  ASSERT_FALSE(deep.ok());
  EXPECT_THAT(deep.message(), HasSubstr("nested deeper than 2 levels (max_json_depth)"));
  EXPECT_FALSE(doc.parse("{}", 0).ok());
  EXPECT_TRUE(doc.parse("\"no containers\"", 0).ok());
  // Deep enough to overflow a recursive parser's stack, refused before it can matter.
  EXPECT_FALSE(doc.parse(std::string(1 << 20, '['), 64).ok());
}

TEST(JsonDocument, ReparsingReplacesTheDocument) {
  JsonDocument doc;
  std::string big = "[";
  for (int i = 0; i < 100000; ++i) {
    big += i ? ",1" : "1";
  }
  big += "]";
  ASSERT_TRUE(doc.parse(big, 64).ok());
  EXPECT_EQ(doc.node(0).size, 100000u);
  doc.trim();
  EXPECT_EQ(doc.nodeCount(), 0u);
  ASSERT_TRUE(doc.parse(R"({"a": 1})", 64).ok());
  EXPECT_EQ(doc.nodeCount(), 3u);
  EXPECT_EQ(doc.node(doc.member(0, "a")).text, "1");
}

}  // namespace
}  // namespace aimass::plugins::frontend
