// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "aimass/transform.h"
#include "aimass/util/table_transform.h"

namespace aimass::plugins::transform {

enum class NumericOp : std::uint8_t {
  kLog,   ///< log(x + offset); log1p(x) for offset 1
  kClip,  ///< min(max(x, low), high) with fixed or learnt (quantile) bounds
};

struct NumericParams {
  NumericOp op = NumericOp::kLog;
  std::vector<std::string> columns;                       ///< empty: every numeric column
  double offset = 1;                                      ///< log: added before the logarithm
  double min = -std::numeric_limits<double>::infinity();  ///< clip: fixed bounds (inf: none)
  double max = std::numeric_limits<double>::infinity();
  bool quantiles = false;   ///< clip: learn the bounds as quantiles instead
  double quantile_low = 1;  ///< percent
  double quantile_high = 99;
};

/// What fit() learnt: the columns' positions and, for clip, each column's bounds.
struct NumericLearnt {
  std::vector<std::size_t> positions;
  std::vector<double> low;
  std::vector<double> high;
};

/// transform.log and transform.clip: element-wise maps of numeric columns, in place. Missing
/// values (NaN) are left out when fitting and stay NaN. Output columns equal the input columns.
/// transform.log refuses (kInvalidArgument naming column and row) a value with x + offset <= 0,
/// at fit and at apply. Threading as TableTransform.
class NumericTransform final : public TableTransform<NumericParams, NumericLearnt> {
 public:
  /// kInvalidArgument for a non-finite offset, min > max, both fixed bounds and quantiles, no
  /// bound at all, or quantiles outside 0 <= low < high <= 100.
  static Expected<std::unique_ptr<NumericTransform>> create(NumericParams params);

 private:
  explicit NumericTransform(NumericParams params);
  Expected<TableColumns> learn(const NumericParams& params, const Table& rows,
                               NumericLearnt& learnt) const override;
  Status map(const NumericParams& params, const NumericLearnt& learnt, const Table& in,
             Table& out) const override;
  void writeState(const NumericParams& params, const NumericLearnt& learnt,
                  ByteWriter& writer) const override;
  bool readState(ByteReader& reader, const TableColumns& input, const TableColumns& output,
                 NumericParams& params, NumericLearnt& learnt) const override;
};

/// "transform.log", "transform.clip".
const char* numericTypeName(NumericOp op);

}  // namespace aimass::plugins::transform
