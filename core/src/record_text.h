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

/// The one text format aimass stores records in (model versions and aliases, dataset versions,
/// tracking runs, their liveness and metric points; JSON and YAML serve only output and
/// configuration): a header line naming the kind and layout version,
/// then one line per field, fields separated by single spaces, each %-escaped (every byte
/// outside printable ASCII, and ' ' and '%', as %XX) so a field never holds a space or newline.

/// %-escapes `text` as described above.
std::string escape(std::string_view text);
/// Reverses escape(); nullopt for a broken escape.
std::optional<std::string> unescape(std::string_view text);
/// A decimal integer covering all of `text` (no sign '+', no spaces); nullopt otherwise.
std::optional<std::int64_t> parseInt(std::string_view text);
/// The lines after the first of a record whose first line is `header` ("aimass-run 1", the
/// record's kind and layout version), each split into its unescaped fields. kDataLoss "it does
/// not start with 'HEADER'" or "bad %-escape" otherwise, for the caller to put in context.
Expected<std::vector<std::vector<std::string>>> parseRecord(std::string_view text,
                                                            std::string_view header);
/// A version number as a fixed-width, sortable key segment ("0000000007").
std::string versionSegment(std::int64_t version);

/// Takes the next number from the counter record `key` (absent means 1) with compare-and-set,
/// so threads and processes sharing the store each get a distinct number; numbers are never
/// reused. kDataLoss when the counter holds something else than a positive number.
Expected<std::int64_t> takeNextNumber(Storage& storage, const std::string& key);

/// Milliseconds since the Unix epoch, now.
std::int64_t nowUnixMs();
/// Nanoseconds since the Unix epoch, now.
std::int64_t nowUnixNs();
/// A record name that sorts by time and that concurrent writers (threads or processes) do not
/// share: "<unix_ns as 20 digits>-<8 random hex digits>".
std::string timeTaggedName(std::int64_t unix_ns);
/// Who is making a record: $USER, else $LOGNAME, else the passwd name of the effective user,
/// else "uid N".
std::string currentUser();
/// The git commit this build came from (set by CMake from `git rev-parse HEAD` when the
/// sources are a git checkout), else "unknown".
std::string codeVersion();

}  // namespace aimass::core::record
