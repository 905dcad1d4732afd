// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/status.h"

namespace aimass::plugins::frontend {

/// A JSON text (RFC 8259) checked and indexed in one pass, without copying it: a flat list of
/// nodes in document order whose scalars point into the text. Numbers stay text until a reader
/// converts them (std::from_chars), so an inference request's `data` list goes from the body
/// straight into a tensor without a value object per element.
///
/// Node 0 is the root. An array's elements, and an object's members as key node followed by
/// value node, follow their container; Node::end skips a node with everything inside it.
///
/// Strict: one value with only whitespace around it; numbers as the grammar gives them (no
/// leading zeros, `+`, `.5`, `1.`, NaN or Infinity); strings with valid escapes (surrogates in
/// pairs), no raw control characters and valid UTF-8; `true`, `false`, `null`.
///
/// Not thread-safe; one thread parses and reads one document at a time. parse() reuses the node
/// storage of the previous call.
class JsonDocument {
 public:
  enum class Kind : std::uint8_t { kNull, kFalse, kTrue, kNumber, kString, kArray, kObject };

  struct Node {
    Kind kind = Kind::kNull;
    bool escaped = false;  ///< kString: `text` has backslash escapes (see string())
    /// kNumber: `value` holds the token as the nearest double, worked out while scanning
    /// where one exact multiplication or division gives it correctly rounded: significant
    /// digits up to 2^53 with a decimal exponent within +-22 (e.g. 0.0039215689 or 255), and,
    /// where long double has a 64-bit significand (x86), up to 19 significant digits with an
    /// exponent within +-27 unless that rounding lands exactly halfway between two doubles;
    /// false: convert `text` (e.g. with std::from_chars).
    bool has_value = false;
    std::uint32_t size = 0;  ///< kArray: elements; kObject: members
    std::uint32_t end = 0;   ///< index just past this node's last descendant
    /// kNumber, kTrue, kFalse, kNull: the token; kString: the characters between the quotes,
    /// escapes as written; containers: empty. Points into the parsed text.
    std::string_view text;
    double value = 0;  ///< kNumber with has_value
  };

  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  /// parse()'s `max_nodes` when only the node index's own limit (2^32 - 1 nodes) applies.
  static constexpr std::size_t kNoNodeLimit = static_cast<std::size_t>(-1);

  /// Parses `text`, which must stay alive and unchanged while the nodes are read. Errors are
  /// kInvalidArgument: "malformed JSON: <what> at byte N", or "the JSON is nested deeper than
  /// N levels (max_json_depth)" when more than `max_depth` arrays and objects are open at once.
  /// kOutOfRange, "the JSON holds more than N values", as soon as the text has more than
  /// `max_nodes` nodes (every value and member name is one): the scan stops there, so the node
  /// storage never grows past `max_nodes` however long the text is. kResourceExhausted when the
  /// text has more than 2^32 - 1 nodes. Never throws except std::bad_alloc.
  Status parse(std::string_view text, std::size_t max_depth, std::size_t max_nodes = kNoNodeLimit);

  const Node& node(std::size_t index) const { return nodes_[index]; }
  std::size_t nodeCount() const { return nodes_.size(); }

  /// The value of the last member named `key` of the object at `object` (the last, as a JSON
  /// object read into a map keeps it), or kNone.
  std::size_t member(std::size_t object, std::string_view key) const;

  /// The decoded characters of the string at `index` (escapes resolved, \u as UTF-8).
  std::string string(std::size_t index) const;

  /// Forgets the document; keeps the node storage for the next parse() only when it is no
  /// larger than a typical request needs, so one huge request does not pin its memory.
  void trim();

 private:
  std::vector<Node> nodes_;
  std::vector<std::uint32_t> open_;  ///< indices of the containers not yet closed
};

}  // namespace aimass::plugins::frontend
