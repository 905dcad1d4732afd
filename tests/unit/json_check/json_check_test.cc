// SPDX-License-Identifier: Apache-2.0
#include "json_check.h"

#include <gtest/gtest.h>

#include <string>

namespace aimass::core {
namespace {

TEST(JsonCheck, WellFormedObjectsPass) {
  for (const char* text : {
           "{}",
           " \t\r\n{ } \n",
           R"({"a": 1})",
           R"({"a":[1,-2,3.5,0,-0.0,1e9,2E-3,4e+2,true,false,null,"x",{},[]]})",
           R"({"nested": {"deeper": [[{"k": "v"}], []]}, "b": null})",
           R"({"escapes": "\" \\ \/ \b \f \n \r \t \u00e9 \uD83D\uDE00"})",
           R"({"utf8": "héllo", "": ""})",
           R"({"features": [{"feature": "px_1", "p_value": 0.5, "drifted": false}]})",
       }) {
    EXPECT_TRUE(isJsonObjectText(text)) << text;
  }
}

TEST(JsonCheck, AnythingElseFails) {
  for (const char* text : {
           "",
           "   ",
           "[1, 2]",
           "\"a string\"",
           "42",
           "null",
           "{",
           "}",
           "{} {}",
           "{} x",
           R"({"a": 1,})",
           R"({"a" 1})",
           R"({a: 1})",
           R"({'a': 1})",
           R"({"a": [1, 2,]})",
           R"({"a": [1 2]})",
           R"({"a": 01})",
           R"({"a": 1.})",
           R"({"a": .5})",
           R"({"a": -})",
           R"({"a": 1e})",
           R"({"a": +1})",
           R"({"a": NaN})",
           R"({"a": Infinity})",
           R"({"a": tru})",
           R"({"a": nul})",
           R"({"a": "unterminated})",
           R"({"a": "bad \x escape"})",
           R"({"a": "short \u12 escape"})",
           R"({"a": {"b": 1})",
           R"({"a": [1, 2})",
           R"({"a": 1]})",
       }) {
    EXPECT_FALSE(isJsonObjectText(text)) << text;
  }
  EXPECT_FALSE(isJsonObjectText(std::string("{\"a\": \"raw\ttab\"}")));
  EXPECT_FALSE(isJsonObjectText(std::string("{\"a\": \"raw\nline\"}")));
  EXPECT_FALSE(isJsonObjectText(std::string("{\"a\": 1}\0", 9)));
}

TEST(JsonCheck, NestingIsBoundedWithoutRecursion) {
  auto nested = [](std::size_t depth) {
    // depth containers in all: the object and depth - 1 arrays inside it
    return "{\"a\": " + std::string(depth - 1, '[') + std::string(depth - 1, ']') + "}";
  };
  EXPECT_TRUE(isJsonObjectText(nested(kMaxJsonCheckDepth)));
  EXPECT_FALSE(isJsonObjectText(nested(kMaxJsonCheckDepth + 1)));
  // Far deeper than any stack would take by recursion: refused, not crashed.
  EXPECT_FALSE(isJsonObjectText(nested(1'000'000)));
}

TEST(JsonCheck, ALargeDocumentIsCheckedWhole) {
  // A drift window's details for 784 features, with one mistake at the very end.
  std::string text = "{\"features\": [";
  for (int i = 0; i < 784; ++i) {
    text += (i ? "," : "") + std::string("{\"feature\": \"px_") + std::to_string(i) +
            "\", \"statistic\": 0.125, \"p_value\": 1e-12, \"drifted\": true}";
  }
  text += "]}";
  EXPECT_TRUE(isJsonObjectText(text));
  text.back() = ']';
  EXPECT_FALSE(isJsonObjectText(text));
}

}  // namespace
}  // namespace aimass::core
