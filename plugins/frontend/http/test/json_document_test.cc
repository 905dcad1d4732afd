// SPDX-License-Identifier: Apache-2.0
#include "json_document.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <system_error>
#include <vector>

#include "number_tokens.h"

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

TEST(JsonDocument, RefusesBadNumbersInsideALongList) {
  // Within a run of numbers with plenty of text after it (the scanner's quickest path).
  const std::string after = ", 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0]";
  const std::string before = "[0.0, 0.0039215689, ";  // 20 bytes
  struct Case {
    std::string token;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"01", "expected ',' or ']' but found '1' at byte 21"},
      {"-01", "expected ',' or ']' but found '1' at byte 22"},
      {"1.", "digit after its decimal point at byte 22"},
      {"1.e5", "digit after its decimal point at byte 22"},
      {"1e", "digit in its exponent at byte 22"},
      {"1e+", "digit in its exponent at byte 23"},
      {"-", "digit after '-' at byte 21"},
      {"-.5", "digit after '-' at byte 21"},
      {"0x10", "expected ',' or ']' but found 'x' at byte 21"},
      {"1.5.", "expected ',' or ']' but found '.' at byte 23"},
      {"12345678901234567890123x", "expected ',' or ']' but found 'x' at byte 43"},
  };
  JsonDocument doc;
  for (const auto& c : cases) {
    const std::string text = before + c.token + after;
    Status status = doc.parse(text, 64);
    ASSERT_FALSE(status.ok()) << text;
    EXPECT_THAT(status.message(), HasSubstr(c.reason)) << text;
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

// The node limit holds on every path that adds a node: the general loop, member names, and the
// run of plain numbers in a long list (which reads 32 bytes ahead).
TEST(JsonDocument, StopsAtTheNodeLimit) {
  JsonDocument doc;
  // 1 list + 3 numbers, 1 object + 2 names + 2 values.
  EXPECT_TRUE(doc.parse("[1, 2, 3]", 64, 4).ok());
  EXPECT_TRUE(doc.parse(R"({"a": 1, "b": [] })", 64, 5).ok());
  for (const std::string& text :
       {std::string("[1, 2, 3, 4]"), std::string(R"({"a": 1, "b": 2, "c": 3})"),
        std::string(R"(["a", true, null, {}])"),
        "[" + std::string(64, ' ') + "0.25, 0.5, 0.75, 1.5, 2.5" + std::string(64, ' ') + "]"}) {
    Status refused = doc.parse(text, 64, 4);
    ASSERT_FALSE(refused.ok()) << text;
    EXPECT_EQ(refused.code(), StatusCode::kOutOfRange) << text;
    EXPECT_EQ(refused.message(), "the JSON holds more than 4 values") << text;
  }
  std::string long_list = "[0";
  for (int i = 0; i < 100000; ++i) {
    long_list += ",0.125";
  }
  long_list += "]";
  ASSERT_FALSE(doc.parse(long_list, 64, 1000).ok());
  EXPECT_LE(doc.nodeCount(), 1000u);
  EXPECT_TRUE(doc.parse(long_list, 64, 100002).ok());
  EXPECT_FALSE(doc.parse(long_list, 64, 100001).ok());
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

using test_support::fromChars;

/// Parses `[token]` and checks the number node: when the scan worked out a value, it is what
/// std::from_chars reads, to the bit; otherwise from_chars can still read the token.
void checkNumber(JsonDocument& doc, const std::string& token, std::string& text) {
  text = "[" + token + "]";  // the nodes point into it
  ASSERT_TRUE(doc.parse(text, 64).ok()) << token;
  const JsonDocument::Node& node = doc.node(1);
  ASSERT_EQ(node.kind, Kind::kNumber) << token;
  ASSERT_EQ(node.text, token);
  const double expected = fromChars(token);
  if (node.has_value) {
    EXPECT_EQ(std::bit_cast<std::uint64_t>(node.value), std::bit_cast<std::uint64_t>(expected))
        << token << ": " << node.value << " but from_chars reads " << expected;
  }
}

/// Whether the scan works out values past 2^53 (a long double with a 64-bit significand).
constexpr bool kLong =
    std::numeric_limits<long double>::digits == 64 && std::endian::native == std::endian::little;

TEST(JsonDocument, NumberValuesWorkedOutWhileScanningAreExact) {
  struct Case {
    std::string token;
    // Worked out while scanning: up to 19 significant digits with a decimal exponent within
    // +-27 (+-22 past 2^53 without a 64-bit long double), unless a 64-bit rounding lands
    // exactly halfway between two doubles.
    bool has_value;
  };
  const std::vector<Case> cases = {
      {"0", true},
      {"-0", true},
      {"0.0", true},
      {"0.000", true},
      {"-0.0", true},
      {"1", true},
      {"-1", true},
      {"255", true},
      {"0.5", true},
      {"0.1", true},
      {"-0.1", true},
      {"0.0039215689", true},
      {"0.003921568859368563", true},  // 16 digits below 2^53, exponent -18
      {"0.9411764740943909", kLong},   // 16 digits above 2^53
      {"9007199254740992", true},      // 2^53
      {"9007199254740993", false},     // 2^53 + 1: halfway between two doubles
      {"18014398509481986", false},    // 2^54 + 2: halfway too
      {"123456789012345678", kLong},   // 18 digits, above 2^53
      {"1234567890123456789", kLong},  // 19 digits, above 2^53
      // 64-bit rounding makes this exactly halfway, which the exact value is not: rounding
      // that again would give the wrong double, so the text decides.
      {"4443029467577.726074", false},
      {"12345678901234567890", false},  // 20 digits
      {"18446744073709551616", false},  // 2^64: 20 digits, which would wrap to 0 in 64 bits
      {"1844674407370955161.7e-3", false},
      {"1.0000000000000000000", false},  // 20 significant digits, trailing zeros count
      {"100000000000000000000", false},
      {"1e22", true},
      {"1e23", false},  // 10^23 = 2^23 * 5^23, and 5^23 has 54 bits: halfway between two doubles
      {"1e-22", true},
      {"1e-23", kLong},
      {"0.0000000000000000000000001", kLong},  // 1e-25
      {"1e27", kLong},
      {"1e28", false},
      {"1e-27", kLong},
      {"1e-28", false},
      {"1.5e-10", true},
      {"25e-3", true},
      {"1E5", true},
      {"1e+2", true},
      {"-1.25E-2", true},
      {"0e500", true},
      {"-0.000e-999", true},
      {"1234567", true},           // 7 digits: no chunk of eight
      {"12345678", true},          // one chunk of eight
      {"123456789", true},         // a chunk and a tail
      {"1234567890123456", true},  // two chunks
      {"0.12345678", true},
      {"12345678.87654321", true},  // a chunk before and after the point
      {"98765432.1", true},
      {"0.00000000123456789", true},    // leading zeros do not count
      {"0.0000000000000001234", true},  // 4 significant digits among 19 after the point
      {"4503599627370496.5", false},    // 2^52 + 1/2: halfway between two doubles
      {"4503599627370496.25", kLong},   // 18 digits above 2^53
  };
  JsonDocument doc;
  std::string text;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.token);
    checkNumber(doc, c.token, text);
    EXPECT_EQ(doc.node(1).has_value, c.has_value);
  }
  // The same tokens in one long list (where the scanner takes its quickest path while 32 bytes
  // or more follow) read the same.
  std::string list = "[";
  for (const auto& c : cases) {
    list += c.token + ", ";
  }
  list += std::string(40, ' ') + "0]";
  ASSERT_TRUE(doc.parse(list, 64).ok());
  ASSERT_EQ(doc.node(0).size, cases.size() + 1);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const JsonDocument::Node& node = doc.node(i + 1);
    SCOPED_TRACE(cases[i].token);
    ASSERT_EQ(node.text, cases[i].token);
    EXPECT_EQ(node.has_value, cases[i].has_value);
    if (node.has_value) {
      EXPECT_EQ(std::bit_cast<std::uint64_t>(node.value),
                std::bit_cast<std::uint64_t>(fromChars(cases[i].token)));
    }
  }
  ASSERT_TRUE(doc.parse("[-0, 0, -0.0e5]", 64).ok());
  EXPECT_TRUE(std::signbit(doc.node(1).value)) << "-0 is negative zero";
  EXPECT_EQ(doc.node(1).value, 0.0);
  EXPECT_FALSE(std::signbit(doc.node(2).value));
  EXPECT_TRUE(std::signbit(doc.node(3).value));
  ASSERT_TRUE(doc.parse("[0e500, 255, 0.5]", 64).ok());
  EXPECT_EQ(doc.node(1).value, 0.0);
  EXPECT_EQ(doc.node(2).value, 255.0);
  EXPECT_EQ(doc.node(3).value, 0.5);
  // Outside a list, too (an object member, the root).
  ASSERT_TRUE(doc.parse(R"({"a": 0.1})", 64).ok());
  EXPECT_TRUE(doc.node(2).has_value);
  EXPECT_EQ(doc.node(2).value, 0.1);
  ASSERT_TRUE(doc.parse("-2.5e3", 64).ok());
  EXPECT_TRUE(doc.node(0).has_value);
  EXPECT_EQ(doc.node(0).value, -2500.0);
  // An exponent too long to keep is never taken as exact, however many zeros the digits
  // start with: 0.(9999 zeros)1e100000 is 1e90000, out of range, not 1.
  const std::string far = "0." + std::string(9999, '0') + "1e100000";
  ASSERT_TRUE(doc.parse(far, 64).ok());
  EXPECT_FALSE(doc.node(0).has_value);
  ASSERT_TRUE(doc.parse("[1e100000, 0e100000, -1e-100000]", 64).ok());
  for (std::size_t i = 1; i <= 3; ++i) {
    EXPECT_FALSE(doc.node(i).has_value) << doc.node(i).text;
  }
}

TEST(JsonDocument, RandomNumberTokensReadAsFromCharsReadsThem) {
  std::mt19937_64 random(11);
  auto below = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
  JsonDocument doc;
  std::string text;
  int worked_out = 0;
  std::string list = "[";
  std::vector<std::string> tokens;
  for (int i = 0; i < 5000; ++i) {
    // 1 to 21 significant digits, a decimal point anywhere (or none), sometimes leading zeros
    // after "0.", an exponent -30..30 half the time, and either sign.
    const int length = 1 + below(21);
    std::string digits;
    for (int d = 0; d < length; ++d) {
      digits += static_cast<char>('0' + below(10));
    }
    const int point = below(length + 1);
    std::string token = below(2) ? "-" : "";
    if (point == 0) {
      token += "0." + std::string(static_cast<std::size_t>(below(3) ? 0 : below(12)), '0') + digits;
    } else {
      std::string whole = digits.substr(0, static_cast<std::size_t>(point));
      if (whole.size() > 1 && whole[0] == '0') {
        whole[0] = static_cast<char>('1' + below(9));
      }
      token += whole;
      if (point < length) {
        token += "." + digits.substr(static_cast<std::size_t>(point));
      }
    }
    if (below(2)) {
      const int exponent = below(61) - 30;
      token += below(2) ? "e" : "E";
      if (exponent >= 0 && below(2)) {
        token += "+";
      }
      token += std::to_string(exponent);
    }
    SCOPED_TRACE(token);
    checkNumber(doc, token, text);
    worked_out += doc.node(1).has_value ? 1 : 0;
    tokens.push_back(token);
    list += (i ? ", " : "") + token;
  }
  // Most such tokens are within the fast path; the rest go to from_chars.
  EXPECT_GT(worked_out, 1000);
  EXPECT_LT(worked_out, 5000);
  // The same tokens in one list (the scanner's run of numbers) read the same.
  list += "]";
  ASSERT_TRUE(doc.parse(list, 64).ok());
  ASSERT_EQ(doc.node(0).size, tokens.size());
  ASSERT_EQ(doc.nodeCount(), tokens.size() + 1);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const JsonDocument::Node& node = doc.node(i + 1);
    ASSERT_EQ(node.text, tokens[i]);
    ASSERT_EQ(node.end, i + 2);
    if (node.has_value) {
      ASSERT_EQ(std::bit_cast<std::uint64_t>(node.value),
                std::bit_cast<std::uint64_t>(fromChars(tokens[i])))
          << tokens[i];
    }
  }
}

TEST(JsonDocument, NumbersMixedWithOtherValuesInAListKeepTheirPlaces) {
  struct Expected {
    Kind kind;
    std::uint32_t size;
    std::uint32_t end;
    std::string text;
  };
  struct Case {
    std::string json;
    std::vector<Expected> nodes;
  };
  const std::vector<Case> cases = {
      {R"([1, 2, "x", [3, 4], 5, true, -6.5])",
       {{Kind::kArray, 7, 10, ""},
        {Kind::kNumber, 0, 2, "1"},
        {Kind::kNumber, 0, 3, "2"},
        {Kind::kString, 0, 4, "x"},
        {Kind::kArray, 2, 7, ""},
        {Kind::kNumber, 0, 6, "3"},
        {Kind::kNumber, 0, 7, "4"},
        {Kind::kNumber, 0, 8, "5"},
        {Kind::kTrue, 0, 9, "true"},
        {Kind::kNumber, 0, 10, "-6.5"}}},
      {"[ 1 ,\n2\t, 3 ]",
       {{Kind::kArray, 3, 4, ""},
        {Kind::kNumber, 0, 2, "1"},
        {Kind::kNumber, 0, 3, "2"},
        {Kind::kNumber, 0, 4, "3"}}},
      {R"([[1, 2], [], 3, {"a": [4, 5], "b": 6}, 7, null])",
       {{Kind::kArray, 6, 15, ""},
        {Kind::kArray, 2, 4, ""},
        {Kind::kNumber, 0, 3, "1"},
        {Kind::kNumber, 0, 4, "2"},
        {Kind::kArray, 0, 5, ""},
        {Kind::kNumber, 0, 6, "3"},
        {Kind::kObject, 2, 13, ""},
        {Kind::kString, 0, 8, "a"},
        {Kind::kArray, 2, 11, ""},
        {Kind::kNumber, 0, 10, "4"},
        {Kind::kNumber, 0, 11, "5"},
        {Kind::kString, 0, 12, "b"},
        {Kind::kNumber, 0, 13, "6"},
        {Kind::kNumber, 0, 14, "7"},
        {Kind::kNull, 0, 15, "null"}}},
  };
  JsonDocument doc;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.json);
    ASSERT_TRUE(doc.parse(c.json, 64).ok());
    ASSERT_EQ(doc.nodeCount(), c.nodes.size());
    for (std::size_t i = 0; i < c.nodes.size(); ++i) {
      const JsonDocument::Node& node = doc.node(i);
      EXPECT_EQ(node.kind, c.nodes[i].kind) << "node " << i;
      EXPECT_EQ(node.size, c.nodes[i].size) << "node " << i;
      EXPECT_EQ(node.end, c.nodes[i].end) << "node " << i;
      EXPECT_EQ(node.text, c.nodes[i].text) << "node " << i;
    }
  }
  ASSERT_TRUE(doc.parse(R"([1, 2, "x", [3, 4], 5, true, -6.5])", 64).ok());
  EXPECT_EQ(doc.node(9).value, -6.5);
  EXPECT_EQ(doc.node(5).value, 3.0);
}

TEST(JsonDocument, MalformedNumbersInAListAreRefusedAtTheirByte) {
  struct Case {
    std::string text;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"[1, 2, 01]", "expected ',' or ']' but found '1' at byte 8"},
      {"[1, -]", "a number needs a digit after '-' at byte 5"},
      {"[1, 2, -x]", "a number needs a digit after '-' at byte 8"},
      {"[1, 2.]", "a number needs a digit after its decimal point at byte 6"},
      {"[1, 2.e5]", "a number needs a digit after its decimal point at byte 6"},
      {"[1, 2e]", "a number needs a digit in its exponent at byte 6"},
      {"[1, 2e+]", "a number needs a digit in its exponent at byte 7"},
      {"[1 2]", "expected ',' or ']' but found '2' at byte 3"},
      {"[1,]", "expected a value but found ']' at byte 3"},
      {"[1, 2,, 3]", "expected a value but found ',' at byte 6"},
      {"[1, 2", "the text ends inside a list at byte 5"},
      {"[1, 2, ", "the text ends where a value was expected at byte 7"},
      {"[1, 2}", "expected ',' or ']' but found '}' at byte 5"},
      {"[1, 2]]", "unexpected ']' after the end of the JSON value at byte 6"},
  };
  JsonDocument doc;
  for (const auto& c : cases) {
    Status status = doc.parse(c.text, 64);
    ASSERT_FALSE(status.ok()) << c.text;
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(status.message(), "malformed JSON: " + c.reason) << c.text;
  }
}

}  // namespace
}  // namespace aimass::plugins::frontend
