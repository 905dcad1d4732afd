// SPDX-License-Identifier: Apache-2.0
#include "scale.h"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <utility>

namespace aimass::plugins::transform {

const char* scaleTypeName(ScaleMethod method) {
  switch (method) {
    case ScaleMethod::kStandardize:
      return "transform.standardize";
    case ScaleMethod::kMinMax:
      return "transform.minmax";
    case ScaleMethod::kRobust:
      return "transform.robust";
  }
  return "transform.scale";
}

namespace {

/// Mean and population standard deviation, two-pass in double.
std::pair<double, double> meanAndStd(const std::vector<double>& values) {
  double sum = 0;
  for (double v : values) {
    sum += v;
  }
  const double mean = sum / static_cast<double>(values.size());
  double squares = 0;
  for (double v : values) {
    squares += (v - mean) * (v - mean);
  }
  return {mean, std::sqrt(squares / static_cast<double>(values.size()))};
}

bool validRange(const ScaleParams& params) {
  if (!std::isfinite(params.low) || !std::isfinite(params.high) || params.low >= params.high) {
    return false;
  }
  return params.method != ScaleMethod::kRobust || (params.low >= 0 && params.high <= 100);
}

}  // namespace

Expected<std::unique_ptr<ScaleTransform>> ScaleTransform::create(ScaleParams params) {
  if (!validRange(params)) {
    const std::string what = params.method == ScaleMethod::kRobust
                                 ? "quantile_range must be two percentages [low, high] with "
                                   "0 <= low < high <= 100"
                                 : "range must be two finite numbers [low, high] with low < high";
    return invalidArgument(std::string(scaleTypeName(params.method)) + ": " + what + ", got [" +
                           std::to_string(params.low) + ", " + std::to_string(params.high) + "]");
  }
  return std::unique_ptr<ScaleTransform>(new ScaleTransform(std::move(params)));
}

ScaleTransform::ScaleTransform(ScaleParams params)
    : TableTransform(scaleTypeName(params.method), std::move(params)) {}

Expected<TableColumns> ScaleTransform::learn(const ScaleParams& params, const Table& rows,
                                             ScaleLearnt& learnt) const {
  AIMASS_ASSIGN_OR_RETURN(learnt.positions, numericPositions(params.columns, rows.columns, type()));
  for (std::size_t p : learnt.positions) {
    AIMASS_ASSIGN_OR_RETURN(auto values, presentValues(rows, p, type()));
    double center = 0;
    double spread = 1;
    double offset = 0;
    switch (params.method) {
      case ScaleMethod::kStandardize:
        std::tie(center, spread) = meanAndStd(values);
        break;
      case ScaleMethod::kMinMax: {
        auto [lo, hi] = std::minmax_element(values.begin(), values.end());
        center = *lo;
        spread = (*hi - *lo) / (params.high - params.low);
        offset = params.low;
        break;
      }
      case ScaleMethod::kRobust: {
        const double q_high = quantileOf(values, params.high / 100);
        const double q_low = quantileOf(values, params.low / 100);
        center = quantileOf(values, 0.5);
        spread = q_high - q_low;
        break;
      }
    }
    learnt.center.push_back(center);
    // A constant column (no spread) is only shifted.
    learnt.scale.push_back(spread > 0 && std::isfinite(spread) ? 1 / spread : 1);
    learnt.offset.push_back(offset);
  }
  return rows.columns;
}

Status ScaleTransform::map(const ScaleParams&, const ScaleLearnt& learnt, const Table& in,
                           Table& out) const {
  copyBlocks(in, out);
  const std::size_t n = in.columns.numeric.size();
  float* data = out.numeric.data<float>();
  for (std::size_t r = 0; r < in.rows(); ++r) {
    for (std::size_t i = 0; i < learnt.positions.size(); ++i) {
      float& v = data[r * n + learnt.positions[i]];
      // NaN stays NaN through the arithmetic.
      v = static_cast<float>((v - learnt.center[i]) * learnt.scale[i] + learnt.offset[i]);
    }
  }
  return okStatus();
}

void ScaleTransform::writeState(const ScaleParams& params, const ScaleLearnt& learnt,
                                ByteWriter& writer) const {
  writer.u8(static_cast<std::uint8_t>(params.method));
  writeStrings(writer, params.columns);
  writer.f64(params.low);
  writer.f64(params.high);
  writePositions(writer, learnt.positions);
  writeDoubles(writer, learnt.center);
  writeDoubles(writer, learnt.scale);
  writeDoubles(writer, learnt.offset);
}

bool ScaleTransform::readState(ByteReader& reader, const TableColumns& input,
                               const TableColumns& output, ScaleParams& params,
                               ScaleLearnt& learnt) const {
  params.method = static_cast<ScaleMethod>(reader.u8());
  if (!reader.ok() || scaleTypeName(params.method) != type() ||
      !readStrings(reader, params.columns)) {
    return false;
  }
  params.low = reader.f64();
  params.high = reader.f64();
  return reader.ok() && validRange(params) && output == input &&
         readPositions(reader, input.numeric.size(), learnt.positions) &&
         readDoubles(reader, learnt.positions.size(), learnt.center) &&
         readDoubles(reader, learnt.positions.size(), learnt.scale) &&
         readDoubles(reader, learnt.positions.size(), learnt.offset);
}

}  // namespace aimass::plugins::transform
