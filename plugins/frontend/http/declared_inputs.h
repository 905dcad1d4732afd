// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "aimass/tensor.h"

namespace aimass::plugins::frontend {

/// A quick walk over a request body that finds what each entry of its top-level "inputs" list
/// declares ("name", "datatype", "shape") and skips the rest, `data` lists included, eight
/// bytes at a time where there are no brackets, braces or quotes. It allocates nothing per
/// value and checks little: where the text is not JSON it can follow, the walk stops and the
/// full parse says what is wrong. Names and datatypes are taken as written (one with escapes
/// is not recognised), shapes only as lists of plain integers.
class DeclaredInputs {
 public:
  /// What one entry declares, as written.
  struct Entry {
    std::optional<std::string_view> name;
    std::optional<std::string_view> datatype;
    bool shape_read = false;  ///< `shape` holds the entry's "shape"
    Shape shape;
  };

  explicit DeclaredInputs(std::string_view json) : s_(json.data()), n_(json.size()) {}

  /// Calls on_list() at each top-level "inputs" list (the last one counts, as in the full
  /// parse) and on_entry(const Entry&) after each object in it. False when the walk could not
  /// follow the body to its end.
  template <typename OnList, typename OnEntry>
  bool walk(OnList on_list, OnEntry on_entry) {
    space();
    return object([&](std::string_view key) {
      if (key != "inputs" || !peek('[')) {
        return skipValue();
      }
      on_list();
      ++p_;
      space();
      if (take(']')) {
        return true;
      }
      do {
        space();
        if (!peek('{')) {
          if (!skipValue()) {
            return false;
          }
        } else if (entry()) {
          on_entry(entry_);
        } else {
          return false;
        }
        space();
      } while (take(','));
      return take(']');
    });
  }

 private:
  /// Dimensions recorded of a shape; a longer one is not read.
  static constexpr std::size_t kMaxRank = 64;

  static constexpr std::uint64_t everyByte(unsigned char c) { return 0x0101010101010101ULL * c; }

  /// Whether a byte of `v` is zero (exact for "any").
  static constexpr bool hasZeroByte(std::uint64_t v) {
    return ((v - everyByte(1)) & ~v & everyByte(0x80)) != 0;
  }

  std::uint64_t eightAt(std::size_t p) const {
    std::uint64_t v;
    std::memcpy(&v, s_ + p, sizeof(v));
    return v;
  }

  bool peek(char c) const { return p_ < n_ && s_[p_] == c; }

  bool take(char c) {
    if (!peek(c)) {
      return false;
    }
    ++p_;
    return true;
  }

  void space() {
    while (p_ < n_ && (s_[p_] == ' ' || s_[p_] == '\n' || s_[p_] == '\r' || s_[p_] == '\t')) {
      ++p_;
    }
  }

  /// A string at p_; `text` is what lies between its quotes, escapes as written.
  bool string(std::string_view& text, bool& escaped) {
    const std::size_t start = ++p_;
    escaped = false;
    while (p_ < n_) {
      while (n_ - p_ >= 8 && !hasZeroByte(eightAt(p_) ^ everyByte('"')) &&
             !hasZeroByte(eightAt(p_) ^ everyByte('\\'))) {
        p_ += 8;
      }
      if (p_ == n_) {
        break;
      }
      if (s_[p_] == '"') {
        text = std::string_view(s_ + start, p_ - start);
        ++p_;
        return true;
      }
      if (s_[p_] == '\\') {
        escaped = true;
        p_ = std::min(p_ + 2, n_);
      } else {
        ++p_;
      }
    }
    return false;
  }

  /// A member name and the ':' after it; one with escapes reads as "\" (matching no key).
  bool memberName(std::string_view& key) {
    space();
    bool escaped = false;
    if (!peek('"') || !string(key, escaped)) {
      return false;
    }
    if (escaped) {
      key = "\\";
    }
    space();
    if (!take(':')) {
      return false;
    }
    space();
    return true;
  }

  /// Any value: a string, a list or object with everything inside it, or a scalar.
  bool skipValue() {
    if (p_ == n_) {
      return false;
    }
    if (s_[p_] == '"') {
      std::string_view text;
      bool escaped = false;
      return string(text, escaped);
    }
    if (s_[p_] != '[' && s_[p_] != '{') {
      while (p_ < n_ && s_[p_] != ',' && s_[p_] != ']' && s_[p_] != '}' && s_[p_] != ' ' &&
             s_[p_] != '\n' && s_[p_] != '\r' && s_[p_] != '\t') {
        ++p_;
      }
      return true;
    }
    std::size_t depth = 0;
    while (p_ < n_) {
      // Or-ing 0x20 into every byte turns '[' into '{' and ']' into '}' (and nothing else).
      while (n_ - p_ >= 8) {
        const std::uint64_t v = eightAt(p_);
        const std::uint64_t folded = v | everyByte(0x20);
        if (hasZeroByte(folded ^ everyByte('{')) || hasZeroByte(folded ^ everyByte('}')) ||
            hasZeroByte(v ^ everyByte('"'))) {
          break;
        }
        p_ += 8;
      }
      if (p_ == n_) {
        break;
      }
      const char c = s_[p_];
      if (c == '"') {
        std::string_view text;
        bool escaped = false;
        if (!string(text, escaped)) {
          return false;
        }
        continue;
      }
      ++p_;
      if (c == '[' || c == '{') {
        ++depth;
      } else if ((c == ']' || c == '}') && --depth == 0) {
        return true;
      }
    }
    return false;
  }

  /// "shape" into entry_ when it is a list of plain non-negative integers; skipped otherwise.
  bool shape() {
    const std::size_t start = p_;
    entry_.shape.clear();
    if (take('[')) {
      space();
      bool read = take(']');
      while (!read && entry_.shape.size() < kMaxRank) {
        std::int64_t dim = 0;
        const std::size_t digits = p_;
        while (p_ < n_ && s_[p_] >= '0' && s_[p_] <= '9' &&
               dim <= (std::numeric_limits<std::int64_t>::max() - 9) / 10) {
          dim = dim * 10 + (s_[p_] - '0');
          ++p_;
        }
        if (p_ == digits || (p_ < n_ && s_[p_] >= '0' && s_[p_] <= '9')) {
          break;
        }
        entry_.shape.push_back(dim);
        space();
        read = take(']');
        if (!read && !take(',')) {
          break;
        }
        space();
      }
      if (read) {
        entry_.shape_read = true;
        return true;
      }
    }
    p_ = start;
    entry_.shape_read = false;
    return skipValue();
  }

  /// The object at p_, member by member: on_member(key) reads the member's value.
  template <typename OnMember>
  bool object(OnMember on_member) {
    if (!take('{')) {
      return false;
    }
    space();
    if (take('}')) {
      return true;
    }
    do {
      std::string_view key;
      if (!memberName(key) || !on_member(key)) {
        return false;
      }
      space();
    } while (take(','));
    return take('}');
  }

  /// The object at p_, an entry of "inputs".
  bool entry() {
    entry_.name.reset();
    entry_.datatype.reset();
    entry_.shape_read = false;
    return object([&](std::string_view key) {
      if (key == "shape") {
        return shape();
      }
      if (key != "name" && key != "datatype") {
        return skipValue();
      }
      std::optional<std::string_view>& field = key == "name" ? entry_.name : entry_.datatype;
      field.reset();
      if (!peek('"')) {
        return skipValue();
      }
      std::string_view text;
      bool escaped = false;
      if (!string(text, escaped)) {
        return false;
      }
      if (!escaped) {
        field = text;
      }
      return true;
    });
  }

  const char* s_;
  std::size_t n_;
  std::size_t p_ = 0;
  Entry entry_;
};

}  // namespace aimass::plugins::frontend
