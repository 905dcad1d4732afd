// SPDX-License-Identifier: Apache-2.0
#include "json_reader.h"

#include <initializer_list>
#include <utility>

#include "aimass/util/utf8.h"
#include "json_text.h"

namespace aimass::plugins::frontend {
namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

JsonReader::Token JsonReader::next() {
  if (!status_.ok()) {
    return Token::kEnd;
  }
  skipSpace();
  if (open_.empty()) {
    if (!started_) {
      started_ = true;
      return value();
    }
    if (p_ != text_.size()) {
      return fail("unexpected " + shown(p_) + " after the end of the JSON value");
    }
    return Token::kEnd;
  }
  Frame& frame = open_.back();
  if (frame.state == State::kValue) {
    return value();
  }
  const char closing = frame.object ? '}' : ']';
  if (p_ == text_.size()) {
    return fail(frame.object ? "the text ends inside an object" : "the text ends inside a list");
  }
  if (frame.state == State::kAfter) {
    if (text_[p_] == closing) {
      ++p_;
      return close();
    }
    if (text_[p_] != ',') {
      return fail("expected ',' or '" + std::string(1, closing) + "' but found " + shown(p_));
    }
    ++p_;
    skipSpace();
  } else if (text_[p_] == closing) {  // kFirst: an empty list or object
    ++p_;
    return close();
  }
  if (!frame.object) {
    return value();
  }
  begin_ = p_;
  if (p_ == text_.size() || text_[p_] != '"') {
    return fail("expected a member name in double quotes but found " + shown(p_));
  }
  if (!scanString()) {
    return Token::kEnd;
  }
  skipSpace();
  if (p_ == text_.size() || text_[p_] != ':') {
    return fail("expected ':' after a member name but found " + shown(p_));
  }
  ++p_;
  frame.state = State::kValue;
  return Token::kKey;
}

JsonReader::Token JsonReader::value() {
  if (p_ == text_.size()) {
    return fail("the text ends where a value was expected");
  }
  if (!open_.empty()) {
    open_.back().state = State::kAfter;
  }
  begin_ = p_;
  const char c = text_[p_];
  if (c == '[' || c == '{') {
    if (open_.size() >= max_depth_) {
      status_ = invalidArgument("the JSON is nested deeper than " + std::to_string(max_depth_) +
                                " levels (max_json_depth)");
      return Token::kEnd;
    }
    open_.push_back({c == '{', State::kFirst});
    ++p_;
    return c == '{' ? Token::kBeginObject : Token::kBeginArray;
  }
  if (c == '"') {
    return scanString() ? Token::kString : Token::kEnd;
  }
  if (c == '-' || isDigit(c)) {
    return scanNumber() ? Token::kNumber : Token::kEnd;
  }
  for (auto [word, token] : {std::pair{std::string_view("true"), Token::kTrue},
                             std::pair{std::string_view("false"), Token::kFalse},
                             std::pair{std::string_view("null"), Token::kNull}}) {
    if (text_.substr(p_).starts_with(word)) {
      token_ = text_.substr(p_, word.size());
      p_ += word.size();
      return token;
    }
  }
  return fail("expected a value but found " + shown(p_));
}

JsonReader::Token JsonReader::close() {
  begin_ = p_ - 1;
  const bool object = open_.back().object;
  open_.pop_back();
  return object ? Token::kEndObject : Token::kEndArray;
}

JsonReader::Token JsonReader::fail(const std::string& what) {
  status_ = invalidArgument("malformed JSON: " + what + " at byte " + std::to_string(p_));
  return Token::kEnd;
}

std::string JsonReader::shown(std::size_t p) const { return describeJsonByte(text_, p); }

void JsonReader::skipSpace() {
  while (p_ < text_.size() &&
         (text_[p_] == ' ' || text_[p_] == '\n' || text_[p_] == '\r' || text_[p_] == '\t')) {
    ++p_;
  }
}

bool JsonReader::scanString() {
  const std::size_t start = ++p_;
  escaped_ = false;
  while (p_ < text_.size()) {
    const auto c = static_cast<unsigned char>(text_[p_]);
    if (c == '"') {
      token_ = text_.substr(start, p_ - start);
      ++p_;
      return true;
    }
    if (c < 0x20) {
      fail("a raw control character (" + shown(p_) + ") in a string");
      return false;
    }
    if (c >= 0x80) {
      const std::size_t length = utf8SequenceLength(text_.substr(p_));
      if (length == 0) {
        fail("a string holds bytes that are not UTF-8");
        return false;
      }
      p_ += length;
      continue;
    }
    if (c != '\\') {
      ++p_;
      continue;
    }
    escaped_ = true;
    if (p_ + 1 == text_.size()) {
      break;
    }
    const char e = text_[p_ + 1];
    if (e == 'u') {
      const int unit = jsonHex4(text_.substr(p_ + 2));
      if (unit < 0) {
        fail("a \\u escape needs four hex digits");
        return false;
      }
      p_ += 6;
      if (unit >= 0xDC00 && unit <= 0xDFFF) {
        fail("a low surrogate without a high one before it");
        return false;
      }
      if (unit >= 0xD800 && unit <= 0xDBFF) {
        const std::string_view rest = text_.substr(p_);
        const int low = rest.starts_with("\\u") ? jsonHex4(rest.substr(2)) : -1;
        if (low < 0xDC00 || low > 0xDFFF) {
          fail("a high surrogate without a low one after it");
          return false;
        }
        p_ += 6;
      }
      continue;
    }
    if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
      ++p_;
      fail("an invalid escape before " + shown(p_));
      return false;
    }
    p_ += 2;
  }
  fail("the text ends inside a string");
  return false;
}

bool JsonReader::scanNumber() {
  const std::size_t start = p_;
  const auto digits = [&] {
    const std::size_t from = p_;
    while (p_ < text_.size() && isDigit(text_[p_])) {
      ++p_;
    }
    return p_ > from;
  };
  if (text_[p_] == '-') {
    ++p_;
  }
  if (p_ < text_.size() && text_[p_] == '0') {
    ++p_;
  } else if (!digits()) {
    fail("a number needs digits");
    return false;
  }
  if (p_ < text_.size() && text_[p_] == '.') {
    ++p_;
    if (!digits()) {
      fail("a number needs digits after its decimal point");
      return false;
    }
  }
  if (p_ < text_.size() && (text_[p_] == 'e' || text_[p_] == 'E')) {
    ++p_;
    if (p_ < text_.size() && (text_[p_] == '+' || text_[p_] == '-')) {
      ++p_;
    }
    if (!digits()) {
      fail("a number needs digits in its exponent");
      return false;
    }
  }
  token_ = text_.substr(start, p_ - start);
  return true;
}

std::string JsonReader::string() const {
  return escaped_ ? decodeCheckedJsonString(token_) : std::string(token_);
}

Status JsonReader::skip(Token first) {
  if (first != Token::kBeginArray && first != Token::kBeginObject) {
    return status_;
  }
  for (std::size_t depth = 1; depth > 0;) {
    switch (next()) {
      case Token::kEnd:
        return status_;
      case Token::kBeginArray:
      case Token::kBeginObject:
        ++depth;
        break;
      case Token::kEndArray:
      case Token::kEndObject:
        --depth;
        break;
      default:
        break;
    }
  }
  return status_;
}

}  // namespace aimass::plugins::frontend
