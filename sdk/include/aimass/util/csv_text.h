// SPDX-License-Identifier: Apache-2.0
#pragma once

// A utility header, not part of the plugin ABI: inline code that host and plugins compile in
// themselves; nothing of it crosses the plugin boundary.
//
// The CSV text layer that dataset.csv and dataset.interactions share: reading a file whole,
// splitting it into records (RFC 4180 quoting, CRLF, blank lines), parsing numeric fields and
// hashing the bytes for a fingerprint. Linear in the size of the text.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "aimass/status.h"
#include "aimass/util/fnv1a.h"

// fnv1aHex() (a file's fingerprint) is in fnv1a.h, which this header includes.
namespace aimass {

/// `s` in single quotes, for error messages.
inline std::string csvQuote(std::string_view s) { return "'" + std::string(s) + "'"; }

/// `s` without leading and trailing spaces and tabs.
inline std::string_view csvTrim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

/// Splits CSV text into records of fields (RFC 4180 plus CRLF/LF line ends and blank lines).
/// Fields are views into the text, or into scratch strings for quoted fields with "" escapes;
/// they stay valid until the next call to next().
class CsvRecordReader {
 public:
  CsvRecordReader(std::string_view text, char delimiter, std::string_view source)
      : text_(text), delimiter_(delimiter), source_(source) {}

  /// Reads the next non-blank record. False at the end of the text.
  Expected<bool> next(std::vector<std::string_view>& fields) {
    for (;;) {
      if (pos_ >= text_.size()) {
        return false;
      }
      record_line_ = line_;
      fields.clear();
      scratch_used_ = 0;
      bool blank = true;
      for (;;) {
        AIMASS_ASSIGN_OR_RETURN(bool quoted, readField(fields));
        blank = blank && !quoted && fields.back().empty();
        if (pos_ < text_.size() && text_[pos_] == delimiter_) {
          ++pos_;
          blank = false;
          continue;
        }
        consumeLineEnd();
        break;  // end of line or of text
      }
      if (!blank) {
        return true;
      }
    }
  }

  /// The line the last record started on (1-based).
  std::size_t line() const { return record_line_; }

 private:
  /// Reads one field at pos_, stopping before the delimiter or line end that follows it (a line
  /// that starts with a delimiter is a new record with an empty first field). Returns whether
  /// the field was quoted.
  Expected<bool> readField(std::vector<std::string_view>& fields) {
    // Spaces before an opening quote are allowed ( "a", "b"); elsewhere they stay in the field.
    std::size_t first = pos_;
    while (first < text_.size() && (text_[first] == ' ' || text_[first] == '\t') &&
           text_[first] != delimiter_) {
      ++first;
    }
    if (first < text_.size() && text_[first] == '"') {
      pos_ = first;
      std::size_t start_line = line_;
      std::size_t begin = ++pos_;
      bool escaped = false;
      for (;;) {
        std::size_t q = text_.find('"', pos_);
        if (q == std::string_view::npos) {
          return invalidArgument(std::string(source_) + ":" + std::to_string(start_line) +
                                 ": a quoted field is never closed (missing '\"')");
        }
        line_ += static_cast<std::size_t>(
            std::count(text_.begin() + static_cast<std::ptrdiff_t>(pos_),
                       text_.begin() + static_cast<std::ptrdiff_t>(q), '\n'));
        if (q + 1 < text_.size() && text_[q + 1] == '"') {
          escaped = true;
          pos_ = q + 2;
          continue;
        }
        std::string_view raw = text_.substr(begin, q - begin);
        pos_ = q + 1;
        if (escaped) {
          if (scratch_used_ == scratch_.size()) {
            scratch_.emplace_back();
          }
          std::string& unescaped = scratch_[scratch_used_++];
          unescaped.clear();
          for (std::size_t i = 0; i < raw.size(); ++i) {
            unescaped += raw[i];
            if (raw[i] == '"') {
              ++i;  // skip the second quote of ""
            }
          }
          fields.push_back(unescaped);
        } else {
          fields.push_back(raw);
        }
        break;
      }
      // After the closing quote only spaces, a delimiter or a line end may follow.
      while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t') &&
             text_[pos_] != delimiter_) {
        ++pos_;
      }
      if (pos_ < text_.size() && text_[pos_] != delimiter_ && !atLineEnd()) {
        return invalidArgument(std::string(source_) + ":" + std::to_string(line_) +
                               ": unexpected " + csvQuote(text_.substr(pos_, 1)) +
                               " after a closing quote");
      }
      return true;
    }
    std::size_t begin = pos_;
    while (pos_ < text_.size() && text_[pos_] != delimiter_ && text_[pos_] != '\n') {
      ++pos_;
    }
    std::string_view field = text_.substr(begin, pos_ - begin);
    if (!field.empty() && field.back() == '\r') {
      field.remove_suffix(1);
    }
    fields.push_back(field);
    return false;
  }

  bool atLineEnd() const {
    return text_[pos_] == '\n' ||
           (text_[pos_] == '\r' && (pos_ + 1 == text_.size() || text_[pos_ + 1] == '\n'));
  }

  void consumeLineEnd() {
    if (pos_ < text_.size() && text_[pos_] == '\r' && pos_ + 1 < text_.size() &&
        text_[pos_ + 1] == '\n') {
      ++pos_;
    }
    if (pos_ < text_.size() && text_[pos_] == '\r' && pos_ + 1 == text_.size()) {
      ++pos_;
    }
    if (pos_ < text_.size() && text_[pos_] == '\n') {
      ++pos_;
      ++line_;
    }
  }

  std::string_view text_;
  char delimiter_;
  std::string_view source_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
  std::size_t record_line_ = 1;
  std::vector<std::string> scratch_;
  std::size_t scratch_used_ = 0;
};

/// `text` without a leading UTF-8 byte-order mark.
inline std::string_view csvWithoutByteOrderMark(std::string_view text) {
  return text.starts_with("\xEF\xBB\xBF") ? text.substr(3) : text;
}

/// The column names of a header record read from `reader` (trimmed). kInvalidArgument naming
/// `source` when the text has no record at all.
inline Expected<std::vector<std::string>> readCsvHeader(CsvRecordReader& reader,
                                                        std::string_view source) {
  std::vector<std::string_view> fields;
  AIMASS_ASSIGN_OR_RETURN(bool has_header, reader.next(fields));
  if (!has_header) {
    return invalidArgument("CSV file " + csvQuote(source) + " is empty");
  }
  std::vector<std::string> names;
  for (std::string_view field : fields) {
    names.emplace_back(csvTrim(field));
  }
  return names;
}

/// The index of column `name` among `names`; kInvalidArgument naming the column's `role`
/// ("target", "text_column"), `source` and the columns there are otherwise.
inline Expected<std::size_t> csvColumnIndex(const std::vector<std::string>& names,
                                            std::string_view name, std::string_view role,
                                            std::string_view source) {
  auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) {
    std::string all;
    for (const std::string& n : names) {
      all += (all.empty() ? "" : ", ") + n;
    }
    return invalidArgument(std::string(role) + " column " + csvQuote(name) + " is not in " +
                           csvQuote(source) + " (columns: " + all + ")");
  }
  return static_cast<std::size_t>(it - names.begin());
}

/// Parses a finite FP32 number; an error message (without location) otherwise.
inline std::optional<std::string> parseCsvFloat(std::string_view field, float& out) {
  std::string_view s = csvTrim(field);
  if (s.empty()) {
    return std::string("is empty (missing values are not supported)");
  }
  std::string_view digits = s.front() == '+' ? s.substr(1) : s;
  double value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec == std::errc::result_out_of_range) {
    return csvQuote(s) + " is out of range for a 32-bit float";
  }
  if (ec != std::errc() || end != digits.data() + digits.size()) {
    return csvQuote(s) + " is not a number";
  }
  if (!std::isfinite(value)) {
    return csvQuote(s) + " is not finite (NaN and Inf are not allowed)";
  }
  if (std::fabs(value) > std::numeric_limits<float>::max()) {
    return csvQuote(s) + " is out of range for a 32-bit float";
  }
  out = static_cast<float>(value);
  return std::nullopt;
}

/// Reads the whole file at `path` into `out`. kNotFound for a missing file, kPermissionDenied
/// for an unreadable one, kInvalidArgument for a folder or another read error; each names the
/// path and the system's reason.
inline Status readCsvFile(const std::filesystem::path& path, std::string& out) {
  auto fail = [&](int err, std::string_view what) -> Status {
    std::string message = "cannot " + std::string(what) + " CSV file " + csvQuote(path.string()) +
                          ": " + std::system_category().message(err);
    switch (err) {
      case ENOENT:
        return notFound(std::move(message));
      case EACCES:
      case EPERM:
        return permissionDenied(std::move(message));
      default:
        return invalidArgument(std::move(message));
    }
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return fail(errno, "open");
  }
  struct stat info {};
  if (::fstat(fd, &info) == 0 && S_ISDIR(info.st_mode)) {
    ::close(fd);
    return invalidArgument("CSV path " + csvQuote(path.string()) + " is a folder, not a file");
  }
  Status status = guard("reading " + csvQuote(path.string()), [&]() -> Status {
    // Read straight into the string, growing it if the file grew since fstat().
    std::size_t size = 0;
    out.resize(static_cast<std::size_t>(std::max<off_t>(info.st_size, 0)) + 1);
    for (;;) {
      if (size == out.size()) {
        out.resize(out.size() * 2);
      }
      ssize_t n = ::read(fd, out.data() + size, out.size() - size);
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        return fail(errno, "read");
      }
      if (n == 0) {
        out.resize(size);
        return okStatus();
      }
      size += static_cast<std::size_t>(n);
    }
  });
  ::close(fd);
  return status;
}

}  // namespace aimass
