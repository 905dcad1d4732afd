// SPDX-License-Identifier: Apache-2.0
// The client's own small JSON: a parsed tree (JsonValue), a linear-time parser with a depth
// bound, and the writing helpers the request encoder uses. No outside JSON library, so the
// client library needs only libcurl.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace aimass::client::detail {

/// One JSON value. Objects keep their members in order (keys[i] names items[i]); lookups are
/// linear, which suits the small objects of this protocol.
struct JsonValue {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  Type type = Type::kNull;
  bool boolean = false;
  bool is_int = false;  // a number written without fraction or exponent that fits int64
  std::int64_t integer = 0;
  double number = 0.0;
  std::string text;               // kString
  std::vector<JsonValue> items;   // kArray elements, kObject member values
  std::vector<std::string> keys;  // kObject member names

  /// The member `key` of an object; nullptr when absent or this is not an object.
  const JsonValue* get(std::string_view key) const noexcept;
};

/// The parser's depth bound: deeper nesting is refused, so hostile input cannot exhaust the
/// stack.
inline constexpr int kMaxJsonDepth = 128;

/// Parses `text` whole (trailing whitespace only). Throws ClientFailure(kProtocol) with the
/// byte offset of the first error; `what` names the text in that message ("the answer").
JsonValue parseJson(std::string_view text, std::string_view what);

/// Appends `s` as a JSON string (quoted, escaped; bytes >= 0x80 pass through).
void appendJsonString(std::string& out, std::string_view s);
/// Appends a number in its shortest form that reads back exactly. Throws
/// ClientFailure(kInvalidArgument) for infinities (JSON has none); NaN is written as null.
void appendJsonNumber(std::string& out, double value, std::string_view where);
void appendJsonNumber(std::string& out, float value, std::string_view where);
void appendJsonInteger(std::string& out, std::int64_t value);
void appendJsonUnsigned(std::string& out, std::uint64_t value);

}  // namespace aimass::client::detail
