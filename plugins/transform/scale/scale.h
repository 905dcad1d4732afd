// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "aimass/transform.h"
#include "aimass/util/table_transform.h"

namespace aimass::plugins::transform {

enum class ScaleMethod : std::uint8_t {
  kStandardize,  ///< (x - mean) / std (population std; 1 for a constant column)
  kMinMax,       ///< maps [min, max] onto [low, high]
  kRobust,       ///< (x - median) / (q_high - q_low) (1 for a zero range)
};

struct ScaleParams {
  ScaleMethod method = ScaleMethod::kStandardize;
  std::vector<std::string> columns;  ///< empty: every numeric column
  double low = 0;  ///< minmax: the target range; robust: the quantile range in percent
  double high = 1;
};

/// What fit() learnt: y = (x - center) * scale + offset for each column in positions.
struct ScaleLearnt {
  std::vector<std::size_t> positions;
  std::vector<double> center;
  std::vector<double> scale;
  std::vector<double> offset;
};

/// transform.standardize, transform.minmax and transform.robust: per-column affine scaling of
/// numeric columns, in place. Missing values (NaN) are left out when fitting and stay NaN.
/// Output columns equal the input columns. Threading as TableTransform.
class ScaleTransform final : public TableTransform<ScaleParams, ScaleLearnt> {
 public:
  /// kInvalidArgument for a range with low >= high, or a quantile range outside [0, 100].
  static Expected<std::unique_ptr<ScaleTransform>> create(ScaleParams params);

 private:
  explicit ScaleTransform(ScaleParams params);
  Expected<TableColumns> learn(const ScaleParams& params, const Table& rows,
                               ScaleLearnt& learnt) const override;
  Status map(const ScaleParams& params, const ScaleLearnt& learnt, const Table& in,
             Table& out) const override;
  void writeState(const ScaleParams& params, const ScaleLearnt& learnt,
                  ByteWriter& writer) const override;
  bool readState(ByteReader& reader, const TableColumns& input, const TableColumns& output,
                 ScaleParams& params, ScaleLearnt& learnt) const override;
};

/// "transform.standardize", "transform.minmax", "transform.robust".
const char* scaleTypeName(ScaleMethod method);

}  // namespace aimass::plugins::transform
