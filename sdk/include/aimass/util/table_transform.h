// SPDX-License-Identifier: Apache-2.0
#pragma once

// A utility header, not part of the plugin ABI: inline code that plugins compile in themselves;
// nothing of it crosses the plugin boundary.
//
// TableTransform<Params, Learnt> does what every aimass::Transform must do the same way, so a
// transform plugin writes only what it learns and how it maps rows:
//  - fit() checks the table's shape, starts over and commits only on success;
//  - apply() refuses before fit (kFailedPrecondition) and checks the table's columns and shape
//    against inputColumns() before the plugin's map() runs on a freshly allocated output;
//  - save() writes the type name, the parameters, the columns and what fit() learned;
//    load() parses all of it into temporaries and commits only when every byte made sense.
// Plus helpers for column lists, payloads and the table blocks.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aimass/byte_io.h"
#include "aimass/status.h"
#include "aimass/transform.h"

namespace aimass {

/// Appends a list of strings (count, then length and bytes of each).
inline void writeStrings(ByteWriter& writer, const std::vector<std::string>& values) {
  writer.u64(values.size());
  for (const auto& v : values) {
    writer.u64(v.size());
    writer.bytes(v);
  }
}

/// Reads what writeStrings() wrote; false when the bytes do not hold such a list.
inline bool readStrings(ByteReader& reader, std::vector<std::string>& values) {
  const std::uint64_t count = reader.u64();
  // Every entry takes at least its 8-byte length: a bigger count is garbage, not a huge list.
  if (!reader.ok() || count > reader.remaining() / 8) {
    return false;
  }
  values.clear();
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint64_t size = reader.u64();
    values.push_back(reader.bytes(size));
    if (!reader.ok()) {
      return false;
    }
  }
  return true;
}

/// Appends a list of positions.
inline void writePositions(ByteWriter& writer, const std::vector<std::size_t>& positions) {
  writer.u64(positions.size());
  for (auto p : positions) {
    writer.u64(p);
  }
}

/// Reads what writePositions() wrote; false unless every position is below `limit`.
inline bool readPositions(ByteReader& reader, std::size_t limit,
                          std::vector<std::size_t>& positions) {
  const std::uint64_t count = reader.u64();
  if (!reader.ok() || count > reader.remaining() / 8) {
    return false;
  }
  positions.clear();
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint64_t p = reader.u64();
    if (!reader.ok() || p >= limit) {
      return false;
    }
    positions.push_back(static_cast<std::size_t>(p));
  }
  return true;
}

/// Appends a list of doubles.
inline void writeDoubles(ByteWriter& writer, const std::vector<double>& values) {
  writer.u64(values.size());
  for (double v : values) {
    writer.f64(v);
  }
}

/// Reads what writeDoubles() wrote; false unless it holds exactly `count` values.
inline bool readDoubles(ByteReader& reader, std::size_t count, std::vector<double>& values) {
  if (reader.u64() != count || !reader.ok() || count > reader.remaining() / 8) {
    return false;
  }
  values.assign(count, 0.0);
  for (auto& v : values) {
    v = reader.f64();
  }
  return reader.ok();
}

/// "numeric [a, b], text [city]": a table's columns for messages.
inline std::string columnsText(const TableColumns& columns) {
  auto list = [](const std::vector<std::string>& names) {
    std::string out = "[";
    for (std::size_t i = 0; i < names.size(); ++i) {
      out += (i ? ", " : "") + names[i];
    }
    return out + "]";
  };
  return "numeric " + list(columns.numeric) + ", text " + list(columns.strings);
}

/// kInvalidArgument when `wanted` (a `columns` parameter) names a column twice.
inline Status checkNoRepeats(const std::vector<std::string>& wanted, std::string_view type) {
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    for (std::size_t j = i + 1; j < wanted.size(); ++j) {
      if (wanted[i] == wanted[j]) {
        return invalidArgument(std::string(type) + ": columns names '" + wanted[i] + "' twice");
      }
    }
  }
  return okStatus();
}

/// The positions in rows.columns.numeric of the columns a numeric transform works on:
/// `wanted` in its order, or every numeric column when `wanted` is empty. kInvalidArgument
/// naming a wanted column that is text, that the table lacks or that is named twice, or when
/// there is no numeric column at all.
inline Expected<std::vector<std::size_t>> numericPositions(const std::vector<std::string>& wanted,
                                                           const TableColumns& columns,
                                                           std::string_view type) {
  AIMASS_RETURN_IF_ERROR(checkNoRepeats(wanted, type));
  for (const auto& name : wanted) {
    for (const auto& text : columns.strings) {
      if (text == name) {
        return invalidArgument(std::string(type) + ": column '" + name +
                               "' is a text column; it works on numeric columns only");
      }
    }
  }
  auto positions = columnPositions(wanted, columns.numeric, std::string(type) + "'s columns");
  if (positions.ok() && positions->empty()) {
    return invalidArgument(std::string(type) + ": the data has no numeric column to work on");
  }
  return positions;
}

/// The positions in columns.strings of the text columns a text transform works on, as
/// numericPositions() does for numbers.
inline Expected<std::vector<std::size_t>> textPositions(const std::vector<std::string>& wanted,
                                                        const TableColumns& columns,
                                                        std::string_view type) {
  AIMASS_RETURN_IF_ERROR(checkNoRepeats(wanted, type));
  for (const auto& name : wanted) {
    for (const auto& number : columns.numeric) {
      if (number == name) {
        return invalidArgument(std::string(type) + ": column '" + name +
                               "' is a numeric column; it works on text columns only");
      }
    }
  }
  auto positions = columnPositions(wanted, columns.strings, std::string(type) + "'s columns");
  if (positions.ok() && positions->empty()) {
    return invalidArgument(std::string(type) + ": the data has no text column to work on");
  }
  return positions;
}

/// OK when `in` holds `columns` in well-formed blocks: numeric FP32 {rows, n} and strings
/// BYTES {rows, m}; a block with no columns may also be an empty tensor. kInvalidArgument
/// saying what is off, in the words of `type`.
inline Status checkTableShape(const Table& in, const TableColumns& columns, std::string_view type) {
  const auto rows = static_cast<std::int64_t>(in.rows());
  const auto n = static_cast<std::int64_t>(columns.numeric.size());
  const auto m = static_cast<std::int64_t>(columns.strings.size());
  const bool numeric_ok = (n == 0 && in.numeric.numel() == 0) ||
                          (in.numeric.dtype() == DType::kFloat32 && in.numeric.rank() == 2 &&
                           in.numeric.dim(0) == rows && in.numeric.dim(1) == n);
  if (!numeric_ok) {
    return invalidArgument(std::string(type) + ": the numeric block must be FP32 [" +
                           std::to_string(rows) + ", " + std::to_string(n) + "], got " +
                           std::string(dtypeName(in.numeric.dtype())) + " " +
                           shapeToString(in.numeric.shape()));
  }
  const bool strings_ok =
      (m == 0 && in.strings.numel() == 0) ||
      (in.strings.dtype() == DType::kBytes && in.strings.rank() == 2 && in.strings.dim(0) == rows &&
       in.strings.dim(1) == m && in.strings.strings().size() == static_cast<std::size_t>(rows * m));
  if (!strings_ok) {
    return invalidArgument(std::string(type) + ": the text block must be BYTES [" +
                           std::to_string(rows) + ", " + std::to_string(m) + "], got " +
                           std::string(dtypeName(in.strings.dtype())) + " " +
                           shapeToString(in.strings.shape()));
  }
  return okStatus();
}

/// A table of `rows` rows with `columns`: a numeric block FP32 {rows, n} (uninitialised) and,
/// when there are text columns, a text block BYTES {rows, m} of empty strings.
inline Table makeTable(TableColumns columns, std::size_t rows) {
  Table out;
  out.numeric = Tensor(DType::kFloat32, {static_cast<std::int64_t>(rows),
                                         static_cast<std::int64_t>(columns.numeric.size())});
  if (!columns.strings.empty()) {
    out.strings = Tensor(DType::kBytes, {static_cast<std::int64_t>(rows),
                                         static_cast<std::int64_t>(columns.strings.size())});
  }
  out.columns = std::move(columns);
  return out;
}

/// The text block's strings of a checked table, writable (fresh tables from makeTable() own
/// theirs alone). Empty when there are no text columns.
inline std::vector<std::string>& mutableStrings(Table& table) {
  return const_cast<std::vector<std::string>&>(table.strings.strings());
}

/// kInvalidArgument when a column name occurs twice in `columns`, naming it and `type`.
inline Status checkUniqueNames(const TableColumns& columns, std::string_view type) {
  std::vector<std::string> all = columns.numeric;
  all.insert(all.end(), columns.strings.begin(), columns.strings.end());
  for (std::size_t i = 0; i < all.size(); ++i) {
    for (std::size_t j = i + 1; j < all.size(); ++j) {
      if (all[i] == all[j]) {
        return invalidArgument(std::string(type) + ": it would give two columns named '" + all[i] +
                               "'");
      }
    }
  }
  return okStatus();
}

/// The values of numeric column `position` of a checked table, missing ones (NaN) left out, as
/// doubles in row order. kInvalidArgument naming the column and row of an infinite value, or
/// the column when it has no value at all.
inline Expected<std::vector<double>> presentValues(const Table& rows, std::size_t position,
                                                   std::string_view type) {
  const std::size_t n = rows.columns.numeric.size();
  const float* data = rows.numeric.data<float>();
  const std::string& name = rows.columns.numeric[position];
  std::vector<double> values;
  values.reserve(rows.rows());
  for (std::size_t r = 0; r < rows.rows(); ++r) {
    const float v = data[r * n + position];
    if (std::isnan(v)) {
      continue;
    }
    if (std::isinf(v)) {
      return invalidArgument(std::string(type) + ": column '" + name + "' row " +
                             std::to_string(r) + " holds an infinite value");
    }
    values.push_back(v);
  }
  if (values.empty()) {
    return invalidArgument(std::string(type) + ": column '" + name +
                           "' has no value at all to learn from");
  }
  return values;
}

/// The `q` quantile (0..1) of `values` (not empty; reordered), exact, interpolating linearly
/// between the two nearest ranks as numpy's default does: q = 0.5 of {1, 2, 3, 4} is 2.5.
inline double quantileOf(std::vector<double>& values, double q) {
  const double position = q * static_cast<double>(values.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(below),
                   values.end());
  const double low = values[below];
  if (below + 1 >= values.size()) {
    return low;
  }
  // After nth_element every value past `below` is >= low; the next rank is their minimum.
  const double high =
      *std::min_element(values.begin() + static_cast<std::ptrdiff_t>(below) + 1, values.end());
  return low + (high - low) * (position - static_cast<double>(below));
}

/// Copies both blocks of `in` into `out`, whose blocks have the same shapes (a transform that
/// changes values in place starts from this).
inline void copyBlocks(const Table& in, Table& out) {
  if (in.numeric.numel() > 0) {
    std::memcpy(out.numeric.raw(), in.numeric.raw(), in.numeric.nbytes());
  }
  if (!out.columns.strings.empty()) {
    mutableStrings(out) = in.strings.strings();
  }
}

/// The shared half of a Transform: lifecycle, checks and payload framing.
///
/// `Params` (what the config said) and `Learnt` (what fit() found) are plain values. A derived
/// class implements learn() (fills a fresh Learnt and says the output columns), map() (one
/// table, const and thread-safe), and the byte layout of both (writeState()/readState()).
///
/// Threading: apply(), fitted(), the column getters and save() are safe from many threads once
/// nothing calls fit() or load(), which need exclusive access.
template <typename Params, typename Learnt>
class TableTransform : public Transform {
 public:
  bool fitted() const override { return fitted_; }
  TableColumns inputColumns() const override { return input_; }
  TableColumns outputColumns() const override { return output_; }

  Expected<TableColumns> fit(const Table& rows) override {
    fitted_ = false;
    input_ = {};
    output_ = {};
    TableColumns out;
    Learnt learnt{};
    Status status = guard(type_ + " fit", [&]() -> Status {
      AIMASS_RETURN_IF_ERROR(checkTableShape(rows, rows.columns, type_));
      AIMASS_RETURN_IF_ERROR(checkUniqueNames(rows.columns, type_));
      auto learnt_columns = learn(params_, rows, learnt);
      if (!learnt_columns.ok()) {
        return learnt_columns.status();
      }
      out = std::move(learnt_columns).value();
      return checkUniqueNames(out, type_);
    });
    if (!status.ok()) {
      return status;
    }
    learnt_ = std::move(learnt);
    input_ = rows.columns;
    output_ = out;
    fitted_ = true;
    return out;
  }

  Status apply(const Table& in, Table& out) const override {
    if (!fitted_) {
      return failedPrecondition(type_ + ": apply() before fit() or load()");
    }
    if (!(in.columns == input_)) {
      return invalidArgument(type_ + ": the table's columns " + columnsText(in.columns) +
                             " differ from those it was fitted on, " + columnsText(input_));
    }
    return guard(type_ + " apply", [&]() -> Status {
      AIMASS_RETURN_IF_ERROR(checkTableShape(in, input_, type_));
      Table result = makeTable(output_, in.rows());
      AIMASS_RETURN_IF_ERROR(map(params_, learnt_, in, result));
      out = std::move(result);
      return okStatus();
    });
  }

  std::uint32_t formatVersion() const override { return 1; }

  Status save(std::string& payload) const override {
    return guard(type_ + " save", [&] {
      std::string bytes;
      ByteWriter writer(bytes);
      writer.u64(type_.size());
      writer.bytes(type_);
      writer.u8(fitted_ ? 1 : 0);
      writeStrings(writer, input_.numeric);
      writeStrings(writer, input_.strings);
      writeStrings(writer, output_.numeric);
      writeStrings(writer, output_.strings);
      writeState(params_, learnt_, writer);
      payload = std::move(bytes);
    });
  }

  Status load(std::string_view payload, std::uint32_t format_version) override {
    if (format_version != 1) {
      return invalidArgument(type_ + ": unknown payload format version " +
                             std::to_string(format_version) + " (this build reads 1)");
    }
    Params params{};
    Learnt learnt{};
    TableColumns input;
    TableColumns output;
    bool fitted = false;
    Status status = guard(type_ + " load", [&]() -> Status {
      ByteReader reader(payload);
      const std::uint64_t type_size = reader.u64();
      const std::string type = reader.bytes(type_size);
      if (!reader.ok() || type != type_) {
        return dataLoss(type_ + ": the payload is not a saved " + type_);
      }
      const std::uint8_t fitted_byte = reader.u8();
      fitted = fitted_byte == 1;
      if (fitted_byte > 1 || !readStrings(reader, input.numeric) ||
          !readStrings(reader, input.strings) || !readStrings(reader, output.numeric) ||
          !readStrings(reader, output.strings) ||
          !readState(reader, input, output, params, learnt) || !reader.ok() || !reader.atEnd()) {
        return dataLoss(type_ + ": the payload is damaged");
      }
      return okStatus();
    });
    if (!status.ok()) {
      return status;
    }
    params_ = std::move(params);
    learnt_ = std::move(learnt);
    input_ = std::move(input);
    output_ = std::move(output);
    fitted_ = fitted;
    return okStatus();
  }

 protected:
  TableTransform(std::string type, Params params)
      : type_(std::move(type)), params_(std::move(params)) {}

  /// Learns from `rows` (shape checked, names unique) into `learnt`, which starts value-
  /// initialised; returns the output columns. kInvalidArgument naming the column on bad data.
  virtual Expected<TableColumns> learn(const Params& params, const Table& rows,
                                       Learnt& learnt) const = 0;
  /// Fills `out` (columns and blocks allocated for outputColumns()) from `in` (checked).
  virtual Status map(const Params& params, const Learnt& learnt, const Table& in,
                     Table& out) const = 0;
  /// Writes the parameters and what was learnt (an unfitted transform writes its empty Learnt).
  virtual void writeState(const Params& params, const Learnt& learnt, ByteWriter& writer) const = 0;
  /// Reads what writeState() wrote; false when the bytes make no sense, including positions
  /// outside `input` or a learnt state that does not fit `output`.
  virtual bool readState(ByteReader& reader, const TableColumns& input, const TableColumns& output,
                         Params& params, Learnt& learnt) const = 0;

  const std::string& type() const noexcept { return type_; }
  const Params& params() const noexcept { return params_; }

 private:
  std::string type_;
  Params params_;
  Learnt learnt_{};
  TableColumns input_;
  TableColumns output_;
  bool fitted_ = false;
};

}  // namespace aimass
