// SPDX-License-Identifier: Apache-2.0
#include "json_check.h"

#include <vector>

namespace aimass::core {
namespace {

/// A cursor over the text with the grammar's pieces; each returns false on a mistake.
class JsonChecker {
 public:
  explicit JsonChecker(std::string_view text) : text_(text) {}

  bool objectAndNothingElse() {
    skipSpace();
    if (peek() != '{' || !value()) {
      return false;
    }
    skipSpace();
    return at_ == text_.size();
  }

 private:
  char peek() const { return at_ < text_.size() ? text_[at_] : '\0'; }
  bool take(char c) {
    if (peek() != c) {
      return false;
    }
    ++at_;
    return true;
  }
  void skipSpace() {
    while (at_ < text_.size() &&
           (text_[at_] == ' ' || text_[at_] == '\t' || text_[at_] == '\n' || text_[at_] == '\r')) {
      ++at_;
    }
  }
  bool literal(std::string_view word) {
    if (text_.substr(at_, word.size()) != word) {
      return false;
    }
    at_ += word.size();
    return true;
  }
  bool digits() {
    const std::size_t from = at_;
    while (peek() >= '0' && peek() <= '9') {
      ++at_;
    }
    return at_ > from;
  }
  bool number() {
    take('-');
    if (!take('0') && !digits()) {
      return false;
    }
    if (take('.') && !digits()) {
      return false;
    }
    if (peek() == 'e' || peek() == 'E') {
      ++at_;
      if (!take('+')) {
        take('-');
      }
      return digits();
    }
    return true;
  }
  static bool isHex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }
  bool string() {
    if (!take('"')) {
      return false;
    }
    while (at_ < text_.size()) {
      const auto c = static_cast<unsigned char>(text_[at_++]);
      if (c == '"') {
        return true;
      }
      if (c < 0x20) {
        return false;  // a raw control character
      }
      if (c == '\\') {
        const char e = peek();
        ++at_;
        if (e == 'u') {
          for (int i = 0; i < 4; ++i) {
            if (!isHex(peek())) {
              return false;
            }
            ++at_;
          }
        } else if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' &&
                   e != 'r' && e != 't') {
          return false;
        }
      }
    }
    return false;  // unterminated
  }
  /// One value; containers iteratively, with the open ones on a stack (no recursion, so the
  /// depth limit is the only bound on nesting).
  bool value() {
    std::vector<char> open;  // '{' or '['
    bool expect_value = true;
    while (true) {
      skipSpace();
      if (expect_value) {
        const char c = peek();
        if (c == '{' || c == '[') {
          if (open.size() >= kMaxJsonCheckDepth) {
            return false;
          }
          ++at_;
          open.push_back(c);
          skipSpace();
          if (take(c == '{' ? '}' : ']')) {
            open.pop_back();
            expect_value = false;
          } else if (c == '{' && !memberKey()) {
            return false;
          }
          continue;
        }
        const bool ok = c == '"'   ? string()
                        : c == 't' ? literal("true")
                        : c == 'f' ? literal("false")
                        : c == 'n' ? literal("null")
                                   : number();
        if (!ok) {
          return false;
        }
        expect_value = false;
      }
      if (open.empty()) {
        return true;
      }
      skipSpace();
      if (take(',')) {
        expect_value = true;
        if (open.back() == '{' && !memberKey()) {
          return false;
        }
      } else if (take(open.back() == '{' ? '}' : ']')) {
        open.pop_back();
      } else {
        return false;
      }
    }
  }
  /// A member's "name": before its value.
  bool memberKey() {
    skipSpace();
    if (!string()) {
      return false;
    }
    skipSpace();
    return take(':');
  }

  std::string_view text_;
  std::size_t at_ = 0;
};

}  // namespace

bool isJsonObjectText(std::string_view text) { return JsonChecker(text).objectAndNothingElse(); }

}  // namespace aimass::core
