// SPDX-License-Identifier: Apache-2.0
#include "json_value.h"

#include <charconv>
#include <cmath>
#include <system_error>

#include "client_failure.h"

namespace aimass::client::detail {
namespace {

/// A recursive-descent parser: each byte is looked at a bounded number of times, and nesting
/// is bounded by kMaxJsonDepth.
class Parser {
 public:
  Parser(std::string_view text, std::string_view what) : text_(text), what_(what) {}

  JsonValue parseWhole() {
    JsonValue value;
    skipSpace();
    parseValue(value, 0);
    skipSpace();
    if (pos_ != text_.size()) {
      fail("unexpected text after the JSON value");
    }
    return value;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    protocolError(std::string(what_) + " is not valid JSON: " + why + " at byte " +
                  std::to_string(pos_));
  }

  void skipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool take(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  void expectWord(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) {
      fail("unexpected character");
    }
    pos_ += word.size();
  }

  void parseValue(JsonValue& out, int depth) {
    if (depth > kMaxJsonDepth) {
      fail("nesting deeper than " + std::to_string(kMaxJsonDepth));
    }
    if (pos_ >= text_.size()) {
      fail("unexpected end");
    }
    char c = text_[pos_];
    if (c == '{') {
      parseObject(out, depth);
    } else if (c == '[') {
      parseArray(out, depth);
    } else if (c == '"') {
      out.type = JsonValue::Type::kString;
      parseString(out.text);
    } else if (c == 't') {
      expectWord("true");
      out.type = JsonValue::Type::kBool;
      out.boolean = true;
    } else if (c == 'f') {
      expectWord("false");
      out.type = JsonValue::Type::kBool;
    } else if (c == 'n') {
      expectWord("null");
      out.type = JsonValue::Type::kNull;
    } else {
      parseNumber(out);
    }
  }

  void parseObject(JsonValue& out, int depth) {
    out.type = JsonValue::Type::kObject;
    ++pos_;
    skipSpace();
    if (take('}')) {
      return;
    }
    while (true) {
      skipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '"') {
        fail("expected a member name");
      }
      out.keys.emplace_back();
      parseString(out.keys.back());
      // Names are C strings at the C interface (aimass_client_value_key_at, _get): one holding
      // NUL could neither be shown whole nor looked up.
      if (out.keys.back().find('\0') != std::string::npos) {
        fail("a member name holds a NUL character (\\u0000)");
      }
      skipSpace();
      if (!take(':')) {
        fail("expected ':'");
      }
      skipSpace();
      out.items.emplace_back();
      parseValue(out.items.back(), depth + 1);
      skipSpace();
      if (take('}')) {
        return;
      }
      if (!take(',')) {
        fail("expected ',' or '}'");
      }
    }
  }

  void parseArray(JsonValue& out, int depth) {
    out.type = JsonValue::Type::kArray;
    ++pos_;
    skipSpace();
    if (take(']')) {
      return;
    }
    while (true) {
      skipSpace();
      out.items.emplace_back();
      parseValue(out.items.back(), depth + 1);
      skipSpace();
      if (take(']')) {
        return;
      }
      if (!take(',')) {
        fail("expected ',' or ']'");
      }
    }
  }

  unsigned hex4() {
    if (text_.size() - pos_ < 4) {
      fail("a \\u escape is cut short");
    }
    unsigned value = 0;
    for (int i = 0; i < 4; ++i) {
      char c = text_[pos_++];
      value <<= 4;
      if (c >= '0' && c <= '9') {
        value |= static_cast<unsigned>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        value |= static_cast<unsigned>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        value |= static_cast<unsigned>(c - 'A' + 10);
      } else {
        fail("a \\u escape has a non-hex digit");
      }
    }
    return value;
  }

  static void appendUtf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  void parseEscape(std::string& out) {
    if (pos_ >= text_.size()) {
      fail("a string is cut short");
    }
    char c = text_[pos_++];
    switch (c) {
      case '"':
      case '\\':
      case '/':
        out += c;
        return;
      case 'b':
        out += '\b';
        return;
      case 'f':
        out += '\f';
        return;
      case 'n':
        out += '\n';
        return;
      case 'r':
        out += '\r';
        return;
      case 't':
        out += '\t';
        return;
      case 'u':
        break;
      default:
        fail("an unknown escape in a string");
    }
    unsigned cp = hex4();
    if (cp >= 0xd800 && cp <= 0xdbff) {
      if (text_.substr(pos_, 2) != "\\u") {
        fail("a lone high surrogate");
      }
      pos_ += 2;
      unsigned low = hex4();
      if (low < 0xdc00 || low > 0xdfff) {
        fail("a high surrogate without its low one");
      }
      cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
      fail("a lone low surrogate");
    }
    appendUtf8(out, cp);
  }

  void parseString(std::string& out) {
    ++pos_;  // the opening quote
    while (true) {
      std::size_t run = pos_;
      while (run < text_.size() && text_[run] != '"' && text_[run] != '\\' &&
             static_cast<unsigned char>(text_[run]) >= 0x20) {
        ++run;
      }
      out.append(text_.data() + pos_, run - pos_);
      pos_ = run;
      if (pos_ >= text_.size()) {
        fail("a string is not closed");
      }
      char c = text_[pos_++];
      if (c == '"') {
        return;
      }
      if (c != '\\') {
        --pos_;
        fail("a control character in a string");
      }
      parseEscape(out);
    }
  }

  void parseNumber(JsonValue& out) {
    std::size_t start = pos_;
    take('-');
    auto digits = [&] {
      std::size_t from = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
        ++pos_;
      }
      return pos_ - from;
    };
    std::size_t first = pos_;
    std::size_t n = digits();
    if (n == 0 || (n > 1 && text_[first] == '0')) {
      pos_ = start;
      fail("unexpected character");
    }
    bool integral = true;
    if (take('.')) {
      integral = false;
      if (digits() == 0) {
        fail("a number has no digits after '.'");
      }
    }
    if (take('e') || take('E')) {
      integral = false;
      if (!take('+')) {
        take('-');
      }
      if (digits() == 0) {
        fail("a number has no exponent digits");
      }
    }
    const char* begin = text_.data() + start;
    const char* end = text_.data() + pos_;
    out.type = JsonValue::Type::kNumber;
    if (integral) {
      auto [ptr, ec] = std::from_chars(begin, end, out.integer);
      out.is_int = ec == std::errc() && ptr == end;
    }
    auto [ptr, ec] = std::from_chars(begin, end, out.number);
    if (ec == std::errc::result_out_of_range) {
      // Beyond double's range: from_chars leaves the value alone; JSON has no infinities, so
      // such a number is refused rather than silently clamped.
      fail("a number is out of range");
    }
    if (ec != std::errc() || ptr != end) {
      fail("a malformed number");
    }
    if (out.is_int) {
      out.number = static_cast<double>(out.integer);
    }
  }

  std::string_view text_;
  std::string_view what_;
  std::size_t pos_ = 0;
};

template <typename T>
void appendFloating(std::string& out, T value, std::string_view where) {
  if (std::isnan(value)) {
    out += "null";
    return;
  }
  if (std::isinf(value)) {
    invalidArgument(std::string(where) +
                    ": holds an infinite value, which JSON cannot carry (send it binary)");
  }
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, end);
}

}  // namespace

const JsonValue* JsonValue::get(std::string_view key) const noexcept {
  if (type != Type::kObject) {
    return nullptr;
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (keys[i] == key) {
      return &items[i];
    }
  }
  return nullptr;
}

JsonValue parseJson(std::string_view text, std::string_view what) {
  return Parser(text, what).parseWhole();
}

void appendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') {
      continue;
    }
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xf];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

void appendJsonNumber(std::string& out, double value, std::string_view where) {
  appendFloating(out, value, where);
}

void appendJsonNumber(std::string& out, float value, std::string_view where) {
  appendFloating(out, value, where);
}

void appendJsonInteger(std::string& out, std::int64_t value) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, end);
}

void appendJsonUnsigned(std::string& out, std::uint64_t value) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, end);
}

}  // namespace aimass::client::detail
