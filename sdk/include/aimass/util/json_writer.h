// SPDX-License-Identifier: Apache-2.0
#pragma once

// A utility header, not part of the plugin ABI: inline code that host and plugins compile in
// themselves; nothing of it crosses the plugin boundary.

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/util/http_text.h"
#include "aimass/util/number_text.h"

namespace aimass {

/// Writes indented JSON text: the command line's --json outputs and the bodies frontend.http
/// serves for them under /api/v1, so both stay byte-identical. The caller nests calls
/// correctly (key() only inside objects); the writer adds commas, quotes and indentation.
/// Not thread-safe.
class JsonWriter {
 public:
  JsonWriter& beginObject() { return open('{'); }
  JsonWriter& endObject() { return close('}'); }
  JsonWriter& beginArray() { return open('['); }
  JsonWriter& endArray() { return close(']'); }

  /// The next value's key, inside an object.
  JsonWriter& key(std::string_view name) {
    separate();
    out_ += '"' + jsonEscape(name) + "\": ";
    after_key_ = true;
    return *this;
  }

  JsonWriter& value(std::string_view text) { return raw('"' + jsonEscape(text) + '"'); }
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(const std::string& text) { return value(std::string_view(text)); }
  JsonWriter& value(bool b) { return raw(b ? "true" : "false"); }
  JsonWriter& value(std::int64_t n) { return raw(std::to_string(n)); }
  JsonWriter& value(std::uint64_t n) { return raw(std::to_string(n)); }
  JsonWriter& value(double d) { return raw(number(d)); }
  JsonWriter& null() { return raw("null"); }
  /// A value that is JSON text already (made by this program, such as a stored event's
  /// details), written as it is: it must be one valid JSON value.
  JsonWriter& json(std::string_view text) { return raw(std::string(text)); }

  /// The text written so far, ending with a newline once the outermost value is closed.
  std::string str() const { return depth_.empty() ? out_ + "\n" : out_; }

  /// formatNumber()'s text of `d`; non-finite numbers become null.
  static std::string number(double d) { return std::isfinite(d) ? formatNumber(d) : "null"; }

 private:
  JsonWriter& open(char bracket) {
    separate();
    out_ += bracket;
    depth_.push_back(true);
    return *this;
  }
  JsonWriter& close(char bracket) {
    const bool empty = depth_.back();
    depth_.pop_back();
    if (!empty) {
      newline();
    }
    out_ += bracket;
    return *this;
  }
  JsonWriter& raw(const std::string& text) {
    separate();
    out_ += text;
    return *this;
  }
  // Before a value or key: a comma after a sibling, and a new indented line inside a container
  // (a value right after its key stays on the key's line).
  void separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (depth_.empty()) {
      return;
    }
    if (!depth_.back()) {
      out_ += ',';
    }
    depth_.back() = false;
    newline();
  }
  void newline() {
    out_ += '\n';
    out_.append(depth_.size() * 2, ' ');
  }

  std::string out_;
  std::vector<bool> depth_;  // one entry per open container: true while it is still empty
  bool after_key_ = false;
};

}  // namespace aimass
