// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/status.h"

namespace aimass::plugins::frontend {

/// A JSON text (RFC 8259) read one token at a time, without building anything: the reader
/// holds one byte per open list or object, so a decoder that streams values straight into
/// tensors uses memory in proportion to what it keeps, not to the text. As strict as
/// JsonDocument (numbers as the grammar gives them, valid escapes and UTF-8, no raw control
/// characters, one value with only whitespace around it).
///
///     JsonReader reader(body, 64);
///     for (auto t = reader.next(); t != JsonReader::Token::kEnd; t = reader.next()) { ... }
///     if (!reader.status().ok()) { ... }
///
/// Not thread-safe; the text must outlive the reader. Never throws except std::bad_alloc.
class JsonReader {
 public:
  enum class Token : std::uint8_t {
    kEnd,  ///< the text ended after its value, or an error (status() says which)
    kBeginArray,
    kEndArray,
    kBeginObject,
    kEndObject,
    kKey,  ///< an object member's name; the member's value follows
    kString,
    kNumber,
    kTrue,
    kFalse,
    kNull,
  };

  JsonReader(std::string_view text, std::size_t max_depth) : text_(text), max_depth_(max_depth) {}

  /// The next token. On malformed JSON, kInvalidArgument "malformed JSON: <what> at byte N"; on
  /// nesting deeper than max_depth, "the JSON is nested deeper than N levels (max_json_depth)";
  /// either way kEnd from then on.
  Token next();

  /// The first error, or OK.
  const Status& status() const { return status_; }

  /// kNumber, kTrue, kFalse, kNull: the token; kString, kKey: the characters between the quotes,
  /// escapes as written. Points into the text.
  std::string_view text() const { return token_; }
  /// kString, kKey: whether text() has backslash escapes.
  bool escaped() const { return escaped_; }
  /// kString, kKey: the decoded characters (escapes resolved, \u as UTF-8).
  std::string string() const;

  /// Byte offset where the last token starts, and just past where it ends.
  std::size_t tokenBegin() const { return begin_; }
  std::size_t position() const { return p_; }

  /// Reads past the rest of a value whose first token was `first` (nothing more for a scalar).
  Status skip(Token first);

 private:
  enum class State : std::uint8_t { kFirst, kValue, kAfter };
  struct Frame {
    bool object;
    State state;
  };

  Token value();
  Token close();
  Token fail(const std::string& what);
  std::string shown(std::size_t p) const;
  void skipSpace();
  bool scanString();
  bool scanNumber();

  std::string_view text_;
  std::size_t max_depth_;
  std::size_t p_ = 0;
  std::size_t begin_ = 0;
  bool started_ = false;
  bool escaped_ = false;
  std::string_view token_;
  std::vector<Frame> open_;
  Status status_;
};

}  // namespace aimass::plugins::frontend
