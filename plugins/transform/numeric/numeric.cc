// SPDX-License-Identifier: Apache-2.0
#include "numeric.h"

#include <cmath>
#include <utility>

namespace aimass::plugins::transform {

const char* numericTypeName(NumericOp op) {
  return op == NumericOp::kLog ? "transform.log" : "transform.clip";
}

namespace {

/// Empty when the parameters make sense; otherwise what is wrong.
std::string paramsProblem(const NumericParams& p) {
  if (p.op == NumericOp::kLog) {
    return std::isfinite(p.offset) ? "" : "offset must be a finite number";
  }
  const bool fixed = !std::isinf(p.min) || !std::isinf(p.max);
  if (p.quantiles && fixed) {
    return "give either min/max or quantiles, not both";
  }
  if (p.quantiles) {
    return p.quantile_low >= 0 && p.quantile_low < p.quantile_high && p.quantile_high <= 100
               ? ""
               : "quantiles must be two percentages [low, high] with 0 <= low < high <= 100";
  }
  if (!fixed) {
    return "give min, max (or both) or quantiles: [low, high]";
  }
  return std::isnan(p.min) || std::isnan(p.max) || p.min > p.max ? "min must not exceed max" : "";
}

/// kInvalidArgument unless log(x + offset) is defined for the value at (row, position).
Status checkLogDomain(const std::string& type, const NumericParams& params, const Table& t,
                      std::size_t row, std::size_t position) {
  const float v = t.numeric.data<float>()[row * t.columns.numeric.size() + position];
  if (std::isnan(v) || static_cast<double>(v) + params.offset > 0) {
    return okStatus();
  }
  return invalidArgument(type + ": column '" + t.columns.numeric[position] + "' row " +
                         std::to_string(row) + " holds " + std::to_string(v) +
                         ", outside the logarithm's domain (the value + offset " +
                         std::to_string(params.offset) + " must be > 0)");
}

}  // namespace

Expected<std::unique_ptr<NumericTransform>> NumericTransform::create(NumericParams params) {
  const std::string problem = paramsProblem(params);
  if (!problem.empty()) {
    return invalidArgument(std::string(numericTypeName(params.op)) + ": " + problem);
  }
  return std::unique_ptr<NumericTransform>(new NumericTransform(std::move(params)));
}

NumericTransform::NumericTransform(NumericParams params)
    : TableTransform(numericTypeName(params.op), std::move(params)) {}

Expected<TableColumns> NumericTransform::learn(const NumericParams& params, const Table& rows,
                                               NumericLearnt& learnt) const {
  AIMASS_ASSIGN_OR_RETURN(learnt.positions, numericPositions(params.columns, rows.columns, type()));
  for (std::size_t p : learnt.positions) {
    if (params.op == NumericOp::kLog) {
      for (std::size_t r = 0; r < rows.rows(); ++r) {
        AIMASS_RETURN_IF_ERROR(checkLogDomain(type(), params, rows, r, p));
      }
      continue;
    }
    if (!params.quantiles) {
      learnt.low.push_back(params.min);
      learnt.high.push_back(params.max);
      continue;
    }
    AIMASS_ASSIGN_OR_RETURN(auto values, presentValues(rows, p, type()));
    learnt.low.push_back(quantileOf(values, params.quantile_low / 100));
    learnt.high.push_back(quantileOf(values, params.quantile_high / 100));
  }
  return rows.columns;
}

Status NumericTransform::map(const NumericParams& params, const NumericLearnt& learnt,
                             const Table& in, Table& out) const {
  copyBlocks(in, out);
  const std::size_t n = in.columns.numeric.size();
  float* data = out.numeric.data<float>();
  for (std::size_t r = 0; r < in.rows(); ++r) {
    for (std::size_t i = 0; i < learnt.positions.size(); ++i) {
      float& v = data[r * n + learnt.positions[i]];
      if (std::isnan(v)) {
        continue;
      }
      if (params.op == NumericOp::kClip) {
        v = static_cast<float>(
            std::min(std::max(static_cast<double>(v), learnt.low[i]), learnt.high[i]));
        continue;
      }
      AIMASS_RETURN_IF_ERROR(checkLogDomain(type(), params, in, r, learnt.positions[i]));
      v = static_cast<float>(params.offset == 1 ? std::log1p(static_cast<double>(v))
                                                : std::log(v + params.offset));
    }
  }
  return okStatus();
}

void NumericTransform::writeState(const NumericParams& params, const NumericLearnt& learnt,
                                  ByteWriter& writer) const {
  writer.u8(static_cast<std::uint8_t>(params.op));
  writeStrings(writer, params.columns);
  writer.f64(params.offset);
  writer.f64(params.min);
  writer.f64(params.max);
  writer.u8(params.quantiles ? 1 : 0);
  writer.f64(params.quantile_low);
  writer.f64(params.quantile_high);
  writePositions(writer, learnt.positions);
  writeDoubles(writer, learnt.low);
  writeDoubles(writer, learnt.high);
}

bool NumericTransform::readState(ByteReader& reader, const TableColumns& input,
                                 const TableColumns& output, NumericParams& params,
                                 NumericLearnt& learnt) const {
  params.op = static_cast<NumericOp>(reader.u8());
  if (!reader.ok() || params.op > NumericOp::kClip || numericTypeName(params.op) != type() ||
      !readStrings(reader, params.columns)) {
    return false;
  }
  params.offset = reader.f64();
  params.min = reader.f64();
  params.max = reader.f64();
  const std::uint8_t quantiles = reader.u8();
  params.quantiles = quantiles == 1;
  params.quantile_low = reader.f64();
  params.quantile_high = reader.f64();
  if (!reader.ok() || quantiles > 1 || !paramsProblem(params).empty() || !(output == input) ||
      !readPositions(reader, input.numeric.size(), learnt.positions)) {
    return false;
  }
  const std::size_t bounds = params.op == NumericOp::kClip ? learnt.positions.size() : 0;
  return readDoubles(reader, bounds, learnt.low) && readDoubles(reader, bounds, learnt.high);
}

}  // namespace aimass::plugins::transform
