// SPDX-License-Identifier: Apache-2.0
#include "record_text.h"

#include <pwd.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

#ifndef AIMASS_GIT_COMMIT
#define AIMASS_GIT_COMMIT "unknown"
#endif

namespace aimass::core::record {

std::string escape(std::string_view text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= ' ' || byte >= 0x7f || c == '%') {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<std::string> unescape(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) {
      return std::nullopt;
    }
    unsigned value = 0;
    auto parsed = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
    if (parsed.ec != std::errc() || parsed.ptr != text.data() + i + 3) {
      return std::nullopt;
    }
    out += static_cast<char>(value);
    i += 2;
  }
  return out;
}

std::optional<std::int64_t> parseInt(std::string_view text) {
  std::int64_t value = 0;
  auto parsed = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || parsed.ec != std::errc() || parsed.ptr != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

namespace {

/// Splits a record body into lines, each into its unescaped fields; nullopt for a bad escape.
std::optional<std::vector<std::vector<std::string>>> parseLines(std::string_view text) {
  std::vector<std::vector<std::string>> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    std::string_view line = text.substr(start, end - start);
    std::vector<std::string> fields;
    std::size_t field_start = 0;
    while (true) {
      std::size_t space = line.find(' ', field_start);
      auto field =
          unescape(line.substr(field_start, space == std::string_view::npos ? std::string_view::npos
                                                                            : space - field_start));
      if (!field) {
        return std::nullopt;
      }
      fields.push_back(std::move(*field));
      if (space == std::string_view::npos) {
        break;
      }
      field_start = space + 1;
    }
    lines.push_back(std::move(fields));
    start = end + 1;
  }
  return lines;
}

}  // namespace

Expected<std::vector<std::vector<std::string>>> parseRecord(std::string_view text,
                                                            std::string_view header) {
  if (!text.starts_with(header) || text.size() == header.size() || text[header.size()] != '\n') {
    return dataLoss("it does not start with '" + std::string(header) + "'");
  }
  auto lines = parseLines(text.substr(header.size() + 1));
  if (!lines) {
    return dataLoss("bad %-escape");
  }
  return std::move(*lines);
}

std::string versionSegment(std::int64_t version) {
  char digits[32];
  std::snprintf(digits, sizeof digits, "%010lld", static_cast<long long>(version));
  return digits;
}

Expected<std::int64_t> takeNextNumber(Storage& storage, const std::string& key) {
  for (;;) {
    auto current = storage.get(key);
    if (!current.ok() && current.status().code() != StatusCode::kNotFound) {
      return current.status();
    }
    std::int64_t next = 1;
    if (current.ok()) {
      auto parsed = parseInt(*current);
      if (!parsed || *parsed <= 0) {
        return dataLoss("version counter '" + key + "' holds '" + *current + "'");
      }
      next = *parsed;
    }
    const std::string desired = std::to_string(next + 1);
    auto set = current.ok() ? storage.compareAndSet(key, std::string_view(*current), desired)
                            : storage.compareAndSet(key, std::nullopt, desired);
    if (!set.ok()) {
      return set.status();
    }
    if (*set) {
      return next;
    }
  }
}

std::int64_t nowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t nowUnixNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string timeTaggedName(std::int64_t unix_ns) {
  thread_local std::mt19937 random{std::random_device{}()};
  char name[32];
  std::snprintf(name, sizeof name, "%020lld-%08x", static_cast<long long>(unix_ns),
                static_cast<unsigned>(random()));
  return name;
}

std::string currentUser() {
  for (const char* variable : {"USER", "LOGNAME"}) {
    const char* value = std::getenv(variable);
    if (value != nullptr && *value != '\0') {
      return value;
    }
  }
  const uid_t uid = ::geteuid();
  passwd entry{};
  passwd* found = nullptr;
  char buffer[4096];
  if (::getpwuid_r(uid, &entry, buffer, sizeof buffer, &found) == 0 && found != nullptr &&
      found->pw_name != nullptr) {
    return found->pw_name;
  }
  return "uid " + std::to_string(uid);
}

std::string codeVersion() { return AIMASS_GIT_COMMIT; }

}  // namespace aimass::core::record
