// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/status.h"
#include "aimass/storage.h"

namespace aimass::core::record {

/// The text format the model and dataset registries store their records in: a header line,
/// then one line per field, fields separated by single spaces, each %-escaped (every byte
/// outside printable ASCII, and ' ' and '%', as %XX) so a field never holds a space or newline.

/// %-escapes `text` as described above.
std::string escape(std::string_view text);
/// Reverses escape(); nullopt for a broken escape.
std::optional<std::string> unescape(std::string_view text);
/// A decimal integer covering all of `text` (no sign '+', no spaces); nullopt otherwise.
std::optional<std::int64_t> parseInt(std::string_view text);
/// Splits a record body into lines, each into its unescaped fields; nullopt for a bad escape.
std::optional<std::vector<std::vector<std::string>>> parseLines(std::string_view text);
/// A version number as a fixed-width, sortable key segment ("0000000007").
std::string versionSegment(std::int64_t version);

/// Takes the next number from the counter record `key` (absent means 1) with compare-and-set,
/// so threads and processes sharing the store each get a distinct number; numbers are never
/// reused. kDataLoss when the counter holds something else than a positive number.
Expected<std::int64_t> takeNextNumber(Storage& storage, const std::string& key);

/// Milliseconds since the Unix epoch, now.
std::int64_t nowUnixMs();
/// Who is making a record: $USER, else $LOGNAME, else the passwd name of the effective user,
/// else "uid N".
std::string currentUser();
/// The git commit this build came from (set by CMake from `git rev-parse HEAD` when the
/// sources are a git checkout), else "unknown".
std::string codeVersion();

}  // namespace aimass::core::record
