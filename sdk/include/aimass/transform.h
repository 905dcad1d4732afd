// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Preprocessing that travels with a model.
///
/// A transform (standardise, impute, one-hot encode, ...) learns what it needs from the training
/// rows once (fit()), and from then on maps rows of raw columns to the columns a model takes
/// (apply()). A model node lists its transforms in `preprocess: [t1, t2, ...]`; the host fits
/// them in that order on the training split only (each on the previous one's output), saves
/// them inside the model's artifact and applies them wherever the model predicts: validation,
/// evaluation and serving. So a served model takes the raw columns of the data it was trained
/// on, as they are in the file.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/node.h"
#include "aimass/status.h"
#include "aimass/tensor.h"

namespace aimass {

/// The columns of a table, by name: numbers in one block, text in another.
struct TableColumns {
  std::vector<std::string> numeric;  ///< the columns of Table::numeric, in order
  std::vector<std::string> strings;  ///< the columns of Table::strings, in order
  bool operator==(const TableColumns&) const = default;
};

/// Rows of named columns. A missing number is NaN, a missing text value is empty.
struct Table {
  TableColumns columns;
  Tensor numeric;  ///< FP32 {rows, columns.numeric.size()}
  Tensor strings;  ///< BYTES {rows, columns.strings.size()}, row by row; may be empty (no
                   ///< dtype) when there are no text columns
  std::size_t rows() const noexcept {
    if (numeric.rank() == 2) {
      return static_cast<std::size_t>(numeric.dim(0));
    }
    return strings.rank() == 2 ? static_cast<std::size_t>(strings.dim(0)) : 0;
  }
};

/// One preprocessing step.
///
/// Lifecycle: made by its factory (parameters only), then either fitted on training rows or
/// loaded from a saved payload; fitted() tells which. fit() may be called again (a new training
/// run): it starts over.
///
/// Threading: apply() is const and must be safe to call from many threads at once once the
/// transform is fitted (serving shares it). fit() and load() need exclusive access.
class Transform : public Node {
 public:
  NodeKind kind() const noexcept final { return NodeKind::kTransform; }

  /// Learns from every training row (means, quantiles, categories, ...) and returns the columns
  /// apply() will give for tables with `rows.columns`. kInvalidArgument naming the column for
  /// data that does not suit (a column it was told to use that the table lacks, text where it
  /// needs numbers, a column with no values at all); the transform is then not fitted.
  virtual Expected<TableColumns> fit(const Table& rows) = 0;
  /// True once fit() or load() succeeded.
  virtual bool fitted() const = 0;
  /// The columns apply() takes: those of the table fit() saw. Empty before fitted().
  virtual TableColumns inputColumns() const = 0;
  /// The columns apply() gives. Empty before fitted().
  virtual TableColumns outputColumns() const = 0;
  /// Maps `in` (columns equal to inputColumns(), which the host checks) to `out`, whose columns
  /// it sets to outputColumns(); rows stay in order. kInvalidArgument naming the column and row
  /// of a value it cannot take (an unseen category when told to refuse them); kFailedPrecondition
  /// when not fitted().
  virtual Status apply(const Table& in, Table& out) const = 0;

  /// Version of the byte layout save() writes; load() must accept every version it ever wrote.
  virtual std::uint32_t formatVersion() const = 0;
  /// Serialises the parameters and what fit() learned.
  virtual Status save(std::string& payload) const = 0;
  /// Restores from a payload save() wrote. On failure the transform is left as it was.
  virtual Status load(std::string_view payload, std::uint32_t format_version) = 0;
};

/// The positions in `available` of the columns named in `wanted`, in wanted's order; with
/// `wanted` empty, every position. kInvalidArgument naming the first column of `wanted` that
/// `available` lacks, in the words of `what` ("standardize's columns").
inline Expected<std::vector<std::size_t>> columnPositions(const std::vector<std::string>& wanted,
                                                          const std::vector<std::string>& available,
                                                          std::string_view what) {
  std::vector<std::size_t> out;
  if (wanted.empty()) {
    for (std::size_t i = 0; i < available.size(); ++i) {
      out.push_back(i);
    }
    return out;
  }
  for (const auto& name : wanted) {
    std::size_t i = 0;
    while (i < available.size() && available[i] != name) {
      ++i;
    }
    if (i == available.size()) {
      return invalidArgument(std::string(what) + " names column '" + name +
                             "', which the data does not have");
    }
    out.push_back(i);
  }
  return out;
}

}  // namespace aimass
