// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "aimass/transform.h"
#include "aimass/util/table_transform.h"

namespace aimass::plugins::transform {

enum class ImputeStrategy : std::uint8_t { kMean, kMedian, kMostFrequent, kConstant };

struct ImputeParams {
  ImputeStrategy strategy = ImputeStrategy::kMean;
  /// Empty: every numeric column, and every text column unless the strategy is mean or median.
  std::vector<std::string> columns;
  /// constant: the fill, a number for numeric columns; empty means 0 for numbers and "missing"
  /// for text.
  std::string fill_value;
  bool indicator = false;  ///< append `<col>_missing` for columns that had a gap in training
};

/// One appended indicator column: which column it watches.
struct ImputeIndicator {
  bool text = false;
  std::size_t position = 0;
};

/// What fit() learnt: the fill of each imputed column and the indicator columns.
struct ImputeLearnt {
  std::vector<std::size_t> numeric_positions;
  std::vector<double> numeric_fills;
  std::vector<std::size_t> text_positions;
  std::vector<std::string> text_fills;
  std::vector<ImputeIndicator> indicators;
};

/// transform.impute: fills missing values (NaN numbers, empty text) with a statistic learnt at
/// fit (mean, median, most frequent value; ties go to the smallest) or a constant.
///
/// Output columns: the input columns unchanged in order, then, with `indicator`, one numeric
/// column `<col>_missing` (1 where the value was missing, else 0) for each imputed column that
/// had a missing value in training: numeric imputed columns first, then text ones, each in the
/// order of `columns` (or of the table). Threading as TableTransform.
class ImputeTransform final : public TableTransform<ImputeParams, ImputeLearnt> {
 public:
  /// Always succeeds: whether fill_value suits a column (a number for a numeric column) and
  /// whether the strategy suits it (no mean or median of text) is checked at fit, where the
  /// columns are known; fit's kInvalidArgument names the column.
  static Expected<std::unique_ptr<ImputeTransform>> create(ImputeParams params);

 private:
  explicit ImputeTransform(ImputeParams params);
  Expected<TableColumns> learn(const ImputeParams& params, const Table& rows,
                               ImputeLearnt& learnt) const override;
  Status map(const ImputeParams& params, const ImputeLearnt& learnt, const Table& in,
             Table& out) const override;
  void writeState(const ImputeParams& params, const ImputeLearnt& learnt,
                  ByteWriter& writer) const override;
  bool readState(ByteReader& reader, const TableColumns& input, const TableColumns& output,
                 ImputeParams& params, ImputeLearnt& learnt) const override;
};

/// Reads "mean", "median", "most_frequent" or "constant"; false for any other name.
bool parseImputeStrategy(const std::string& name, ImputeStrategy& strategy);

}  // namespace aimass::plugins::transform
