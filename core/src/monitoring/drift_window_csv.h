// SPDX-License-Identifier: Apache-2.0
#pragma once

// A CSV of rows as a drift window (drift_tests.h) for the batch drift report: each profile
// feature's column by name; a number cell that is empty is a gap (NaN), anything else must be a
// number (parsed as parseCsvFloat() does, to a float, and kept as one); a category cell is kept
// as text.

#include <cstddef>
#include <string>
#include <string_view>

#include "aimass/status.h"
#include "data_profile.h"
#include "monitoring/drift_tests.h"

namespace aimass::core {

/// A window read from CSV text (float columns: what the cells parse to) and how many rows it
/// had.
struct CsvWindow {
  FloatDriftWindow window;
  std::size_t rows = 0;
};

/// Reads `text` (without a byte-order mark; `source` names it in errors) as a window of
/// `profile`'s features. Text without a quote character is cut at line ends into chunks parsed
/// on `threads` threads (0: the host's hardware threads) straight into the window's columns;
/// text with quotes is read by CsvRecordReader on this thread. Either way the window, and the
/// first error in file order, are the same: kInvalidArgument naming `source`, the line and, for
/// a bad cell, the feature's column (a row whose field count differs from the header's, a cell
/// that is not a number, a feature missing from the header, an empty text).
Expected<CsvWindow> readCsvWindow(std::string_view text, const std::string& source,
                                  const DataProfile& profile, std::size_t threads);

/// The same by CsvRecordReader alone, one record after another (what readCsvWindow() does for
/// text with quotes; tests compare the two).
Expected<CsvWindow> readCsvWindowSequentially(std::string_view text, const std::string& source,
                                              const DataProfile& profile);

}  // namespace aimass::core
