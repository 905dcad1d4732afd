// SPDX-License-Identifier: Apache-2.0
#pragma once

/// JSON error bodies and route matching for HTTP routes (aimass/http.h includes it).
/// Inline code compiled into each plugin that includes it: not part of the plugin ABI (the
/// headers' hash in sdk/abi-history.txt leaves util/ out), so it may change without a version.

#include <map>
#include <string>
#include <string_view>

#include "aimass/http.h"

namespace aimass {

/// Escapes a string for a JSON string literal (without the quotes).
inline std::string jsonEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (unsigned char c : s) {
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
        if (c < 0x20) {
          static const char* kHex = "0123456789abcdef";
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

/// Fills `response` with {"error": message} and the status.
inline void jsonError(HttpResponse& response, int status, std::string_view message) {
  response.status = status;
  response.content_type = "application/json";
  response.body = "{\"error\":\"" + jsonEscape(message) + "\"}";
}

/// Matches `path` against a route pattern segment by segment; fills `params` on success.
inline bool matchRoute(std::string_view pattern, std::string_view path,
                       std::map<std::string, std::string>& params) {
  auto next = [](std::string_view& s) {
    if (!s.empty() && s.front() == '/') {
      s.remove_prefix(1);
    }
    auto pos = s.find('/');
    std::string_view seg = s.substr(0, pos);
    s = pos == std::string_view::npos ? std::string_view() : s.substr(pos);
    return seg;
  };
  auto capture = [](std::string_view p) {
    return p.size() >= 2 && p.front() == '{' && p.back() == '}';
  };
  // First whether it matches at all (routes are tried in turn, most fail), then the captures.
  for (std::string_view rest_pattern = pattern, rest_path = path;
       !rest_pattern.empty() || !rest_path.empty();) {
    if (rest_pattern.empty() || rest_path.empty()) {
      return false;
    }
    auto p = next(rest_pattern);
    auto s = next(rest_path);
    if (capture(p) ? s.empty() : p != s) {
      return false;
    }
  }
  std::map<std::string, std::string> found;
  while (!pattern.empty()) {
    auto p = next(pattern);
    auto s = next(path);
    if (capture(p)) {
      found[std::string(p.substr(1, p.size() - 2))] = std::string(s);
    }
  }
  params = std::move(found);
  return true;
}

}  // namespace aimass
