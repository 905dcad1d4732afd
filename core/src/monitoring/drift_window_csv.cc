// SPDX-License-Identifier: Apache-2.0
#include "monitoring/drift_window_csv.h"

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <vector>

#include "aimass/util/csv_text.h"
#include "monitoring/parallel_shards.h"

namespace aimass::core {
namespace {

/// Where each feature's cells are: the header's names and each feature's column in it.
struct Layout {
  std::vector<std::string> names;
  std::vector<std::size_t> columns;  ///< per feature of the profile, in its order
  std::size_t numbers = 0;           ///< the first `numbers` features are number ones
  /// Per column of the header: the number feature read from it, or -1. Set (non-empty) only
  /// when every feature is a number one, each in a column of its own: then readLine() applies.
  std::vector<std::ptrdiff_t> feature_of_column;
};

Expected<Layout> layoutOf(CsvRecordReader& reader, const std::string& source,
                          const DataProfile& profile) {
  Layout layout;
  AIMASS_ASSIGN_OR_RETURN(layout.names, readCsvHeader(reader, source));
  for (const auto& feature : profile.features) {
    AIMASS_ASSIGN_OR_RETURN(std::size_t at,
                            csvColumnIndex(layout.names, feature.name, "feature", source));
    layout.columns.push_back(at);
  }
  layout.numbers = profile.numberFeatures();
  if (layout.numbers == layout.columns.size()) {
    layout.feature_of_column.assign(layout.names.size(), -1);
    for (std::size_t f = 0; f < layout.columns.size(); ++f) {
      auto& feature = layout.feature_of_column[layout.columns[f]];
      if (feature >= 0) {
        layout.feature_of_column.clear();
        break;
      }
      feature = static_cast<std::ptrdiff_t>(f);
    }
  }
  return layout;
}

FloatDriftWindow emptyWindow(const Layout& layout) {
  FloatDriftWindow window;
  window.numbers.resize(layout.numbers);
  window.categories.resize(layout.columns.size() - layout.numbers);
  return window;
}

// 10^0 .. 10^22: the powers of ten a double holds exactly.
constexpr std::array<double, 23> kPowersOfTen = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/// Reads a plain decimal, -?[0-9]+(\.[0-9]+)?, from `p` on (up to `end`) whose digits fit
/// 2^53 and whose fraction has at most 22 digits, as the correctly rounded double
/// std::from_chars gives: both the digits and the power of ten are exact doubles, so one
/// division rounds the quotient correctly (Clinger's fast path). Returns where the number
/// ends, or nullptr when the text there is not such a number (parseCsvFloat() then reads it).
const char* scanPlainDecimal(const char* p, const char* end, double& out) {
  const bool negative = p != end && *p == '-';
  if (negative) ++p;
  std::uint64_t digits = 0;
  int count = 0, fraction = 0;
  for (; p != end && static_cast<unsigned>(*p - '0') <= 9; ++p, ++count) {
    digits = digits * 10 + static_cast<unsigned>(*p - '0');
  }
  if (count == 0) return nullptr;
  if (p != end && *p == '.') {
    for (++p; p != end && static_cast<unsigned>(*p - '0') <= 9; ++p, ++fraction) {
      digits = digits * 10 + static_cast<unsigned>(*p - '0');
    }
    if (fraction == 0) return nullptr;
  }
  // 18 digits cannot overflow 64 bits; past 2^53 or 10^22 the quotient may not round right.
  if (count + fraction > 18 || digits > (std::uint64_t{1} << 53) ||
      fraction >= static_cast<int>(kPowersOfTen.size())) {
    return nullptr;
  }
  const double value =
      static_cast<double>(digits) / kPowersOfTen[static_cast<std::size_t>(fraction)];
  out = negative ? -value : value;
  return p;
}

bool parsePlainDecimal(std::string_view s, double& out) {
  return scanPlainDecimal(s.data(), s.data() + s.size(), out) == s.data() + s.size();
}

/// A number cell (trimmed) as the window keeps it: NaN when empty, else the float
/// parseCsvFloat() reads. The reason when it is not a number.
std::optional<std::string> numberCell(std::string_view cell, float& out) {
  if (cell.empty()) {
    out = std::numeric_limits<float>::quiet_NaN();
    return std::nullopt;
  }
  double plain = 0;
  if (parsePlainDecimal(cell, plain)) {
    out = static_cast<float>(plain);
    return std::nullopt;
  }
  return parseCsvFloat(cell, out);
}

Status rowError(const std::string& source, std::size_t line, const std::string& what) {
  return invalidArgument(source + ":" + std::to_string(line) + ": " + what);
}

Status fieldCountError(const std::string& source, std::size_t line, std::size_t fields,
                       std::size_t header) {
  return rowError(source, line,
                  std::to_string(fields) + " fields, the header has " + std::to_string(header));
}

/// Parses a record's cells (`fields` as CsvRecordReader splits them): number features' values
/// into `numbers` (one per number feature), category cells into row `row` of the window.
Status parseRow(const std::vector<std::string_view>& fields, const Layout& layout,
                const DataProfile& profile, std::size_t line, const std::string& source,
                float* numbers, std::size_t row, FloatDriftWindow& window) {
  if (fields.size() != layout.names.size()) {
    return fieldCountError(source, line, fields.size(), layout.names.size());
  }
  for (std::size_t f = 0; f < layout.columns.size(); ++f) {
    const std::string_view cell = csvTrim(fields[layout.columns[f]]);
    if (f >= layout.numbers) {
      window.categories[f - layout.numbers][row] = std::string(cell);
      continue;
    }
    if (auto bad = numberCell(cell, numbers[f])) {
      return rowError(source, line, "column '" + profile.features[f].name + "' " + *bad);
    }
  }
  return okStatus();
}

// ---- The parallel reader of text without quotes: records are lines, fields split at commas.

/// A line without its '\n'; blank (no record, as CsvRecordReader skips it) when it holds
/// nothing or a lone '\r'.
bool blankLine(std::string_view line) { return line.empty() || line == "\r"; }

/// Splits a line at commas as CsvRecordReader does without quotes: each field loses one
/// trailing '\r'.
void splitLine(std::string_view line, std::vector<std::string_view>& fields) {
  fields.clear();
  const char* p = line.data();
  const char* end = p + line.size();
  for (;;) {
    const char* q = p;
    while (q != end && *q != ',') ++q;
    std::string_view field(p, static_cast<std::size_t>(q - p));
    if (!field.empty() && field.back() == '\r') field.remove_suffix(1);
    fields.push_back(field);
    if (q == end) return;
    p = q + 1;
  }
}

/// Reads an unquoted line in one pass when it is simple: the header's field count, every
/// feature's cell empty (NaN) or a plain decimal that scanPlainDecimal() reads, with nothing
/// around it but a '\r' at the line's end. Then the values are those parseRow() would give;
/// false for any other line, which parseRow() then reads (and finds the error in, if any).
bool readLine(std::string_view line, const Layout& layout, float* numbers) {
  const char* p = line.data();
  const char* end = p + line.size();
  const auto& feature_of = layout.feature_of_column;
  for (std::size_t i = 0;; ++i) {
    if (i == feature_of.size()) return false;
    if (feature_of[i] < 0) {
      while (p != end && *p != ',') ++p;
    } else {
      float value = std::numeric_limits<float>::quiet_NaN();
      if (p != end && *p != ',' && !(*p == '\r' && p + 1 == end)) {
        double plain = 0;
        p = scanPlainDecimal(p, end, plain);
        if (p == nullptr) return false;
        value = static_cast<float>(plain);
      }
      if (p != end && *p == '\r' && p + 1 == end) ++p;
      if (p != end && *p != ',') return false;
      numbers[feature_of[i]] = value;
    }
    if (p == end) return i + 1 == feature_of.size();
    ++p;  // the comma
  }
}

/// Calls visit(line) for each line of `text` (the last one may lack its '\n'), in order.
template <typename Visit>
void forEachLine(std::string_view text, Visit&& visit) {
  std::size_t at = 0;
  while (at < text.size()) {
    const void* found = std::memchr(text.data() + at, '\n', text.size() - at);
    const std::size_t end =
        found ? static_cast<std::size_t>(static_cast<const char*>(found) - text.data())
              : text.size();
    visit(text.substr(at, end - at));
    at = end + 1;
  }
}

/// A piece of the body cut at line ends, and where it starts in the file.
struct Chunk {
  std::string_view text;
  std::vector<std::string_view> lines;  ///< without their '\n's, blank ones too
  std::size_t rows = 0;                 ///< records (non-blank lines)
  std::size_t first_line = 0;
  std::size_t first_row = 0;
  Status error;
};

/// `body` cut after a '\n' near each of `pieces` equal shares.
std::vector<Chunk> chunksOf(std::string_view body, std::size_t pieces) {
  std::vector<Chunk> chunks;
  std::size_t from = 0;
  for (std::size_t i = 1; i <= pieces && from < body.size(); ++i) {
    std::size_t to = i == pieces ? body.size() : std::max(from, body.size() / pieces * i);
    if (to < body.size()) {
      const std::size_t newline = body.find('\n', to);
      to = newline == std::string_view::npos ? body.size() : newline + 1;
    }
    if (to > from) {
      chunks.emplace_back();
      chunks.back().text = body.substr(from, to - from);
    }
    from = to;
  }
  return chunks;
}

// Rows a worker parses into its row-major block before moving them into the columns: each
// column then takes a run of kBlockRows values at once instead of one value a row.
constexpr std::size_t kBlockRows = 64;

/// A worker's scratch: the fields of a line and a block of parsed rows.
struct ChunkScratch {
  std::vector<std::string_view> fields;
  std::vector<float> block;
};

/// Moves the block's first `rows` rows into the columns from row `first` on.
void flushBlock(const std::vector<float>& block, std::size_t rows, std::size_t first,
                FloatDriftWindow& window) {
  const std::size_t width = window.numbers.size();
  for (std::size_t f = 0; f < width; ++f) {
    float* column = window.numbers[f].data() + first;
    for (std::size_t r = 0; r < rows; ++r) column[r] = block[r * width + f];
  }
}

void parseChunk(Chunk& chunk, const Layout& layout, const DataProfile& profile,
                const std::string& source, ChunkScratch& scratch, FloatDriftWindow& window) {
  std::size_t line = chunk.first_line, row = chunk.first_row, first = row;
  scratch.block.resize(kBlockRows * layout.numbers);
  Status status;
  for (std::string_view text : chunk.lines) {
    if (status.ok() && !blankLine(text)) {
      float* numbers = scratch.block.data() + (row - first) * layout.numbers;
      if (layout.feature_of_column.empty() || !readLine(text, layout, numbers)) {
        splitLine(text, scratch.fields);
        status = parseRow(scratch.fields, layout, profile, line, source, numbers, row, window);
      }
      if (++row - first == kBlockRows) {
        flushBlock(scratch.block, row - first, first, window);
        first = row;
      }
    }
    ++line;
  }
  if (status.ok()) flushBlock(scratch.block, row - first, first, window);
  chunk.error = std::move(status);
}

/// The header record of unquoted `text` (after any blank lines) and the body after it.
struct Head {
  std::string_view header, body;
  std::size_t body_line = 1;
};

Head headOf(std::string_view text) {
  Head head;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t newline = text.find('\n', at);
    const std::size_t end = newline == std::string_view::npos ? text.size() : newline;
    const std::size_t next = newline == std::string_view::npos ? text.size() : newline + 1;
    if (!blankLine(text.substr(at, end - at))) {
      head.header = text.substr(at, end - at);
      head.body = text.substr(next);
      ++head.body_line;
      return head;
    }
    at = next;
    ++head.body_line;
  }
  return head;
}

/// Sizes a number column to `rows` values (zeros), having the kernel map its pages first in one
/// call where it can (Linux 5.14 on): a page fault every 4 KiB of a window of 10^8 values costs
/// more than zeroing it. A hint only; without it the zeroing maps the pages.
void sizeColumn(std::vector<float>& column, std::size_t rows) {
  column.reserve(rows);
#ifdef MADV_POPULATE_WRITE
  if (rows > 0) {
    const auto begin = reinterpret_cast<std::uintptr_t>(column.data());
    const std::uintptr_t page = begin & ~std::uintptr_t{4095};
    ::madvise(reinterpret_cast<void*>(page), begin + rows * sizeof(float) - page,
              MADV_POPULATE_WRITE);
  }
#endif
  column.resize(rows);
}

Expected<CsvWindow> readInParallel(std::string_view text, const std::string& source,
                                   const DataProfile& profile, std::size_t threads) {
  const Head head = headOf(text);
  CsvRecordReader header_reader(head.header, ',', source);
  AIMASS_ASSIGN_OR_RETURN(Layout layout, layoutOf(header_reader, source, profile));
  const std::size_t workers = shardThreads(threads);
  // Pieces of at least 1 MiB, several a thread so that uneven ones even out.
  std::vector<Chunk> chunks =
      chunksOf(head.body, std::clamp<std::size_t>(head.body.size() >> 20, 1, workers * 8));
  forEachShard(chunks.size(), workers, [&](std::size_t, std::size_t i) {
    forEachLine(chunks[i].text, [&](std::string_view line) {
      chunks[i].lines.push_back(line);
      if (!blankLine(line)) ++chunks[i].rows;
    });
  });
  CsvWindow out;
  out.window = emptyWindow(layout);
  std::size_t line = head.body_line;
  for (Chunk& chunk : chunks) {
    chunk.first_line = line;
    chunk.first_row = out.rows;
    line += chunk.lines.size();
    out.rows += chunk.rows;
  }
  // Each column is sized (and its pages first touched) by one worker, each chunk fills its
  // own rows of every column.
  const std::size_t features = layout.columns.size();
  forEachShard(features, workers, [&](std::size_t, std::size_t f) {
    if (f < layout.numbers) {
      sizeColumn(out.window.numbers[f], out.rows);
    } else {
      out.window.categories[f - layout.numbers].resize(out.rows);
    }
  });
  std::vector<ChunkScratch> scratch(workers);
  forEachShard(chunks.size(), workers, [&](std::size_t worker, std::size_t i) {
    parseChunk(chunks[i], layout, profile, source, scratch[worker], out.window);
  });
  for (const Chunk& chunk : chunks) {
    AIMASS_RETURN_IF_ERROR(chunk.error);
  }
  return out;
}

}  // namespace

Expected<CsvWindow> readCsvWindowSequentially(std::string_view text, const std::string& source,
                                              const DataProfile& profile) {
  CsvRecordReader reader(text, ',', source);
  AIMASS_ASSIGN_OR_RETURN(Layout layout, layoutOf(reader, source, profile));
  CsvWindow out;
  out.window = emptyWindow(layout);
  std::vector<std::string_view> fields;
  std::vector<float> numbers(layout.numbers);
  for (;;) {
    AIMASS_ASSIGN_OR_RETURN(bool more, reader.next(fields));
    if (!more) break;
    for (auto& column : out.window.categories) column.emplace_back();
    AIMASS_RETURN_IF_ERROR(parseRow(fields, layout, profile, reader.line(), source, numbers.data(),
                                    out.rows++, out.window));
    for (std::size_t f = 0; f < numbers.size(); ++f) out.window.numbers[f].push_back(numbers[f]);
  }
  return out;
}

Expected<CsvWindow> readCsvWindow(std::string_view text, const std::string& source,
                                  const DataProfile& profile, std::size_t threads) {
  if (text.find('"') != std::string_view::npos) {
    return readCsvWindowSequentially(text, source, profile);
  }
  return readInParallel(text, source, profile, threads);
}

}  // namespace aimass::core
