// SPDX-License-Identifier: Apache-2.0
// transform.log, transform.clip: entry point and registration.

#include "aimass/plugin.h"

#include <memory>
#include <string>
#include <vector>

#include "numeric.h"

namespace {

using aimass::ParamSpec;
using aimass::ParamType;
using aimass::plugins::transform::NumericOp;
using aimass::plugins::transform::NumericParams;
using aimass::plugins::transform::NumericTransform;

aimass::NodeType numericType(NumericOp op, std::string summary, std::vector<ParamSpec> params) {
  aimass::NodeType type;
  type.type = aimass::plugins::transform::numericTypeName(op);
  type.kind = aimass::NodeKind::kTransform;
  type.summary = std::move(summary);
  type.params.push_back(ParamSpec::list("columns", ParamType::kStringList,
                                        "The numeric columns to map, in place; empty: every "
                                        "numeric column. Naming a text column or one the data "
                                        "lacks fails at fit.")
                            .withDefault(std::vector<std::string>{}));
  for (auto& p : params) {
    type.params.push_back(std::move(p));
  }
  const std::string name = type.type;
  type.factory =
      [op,
       name](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
    NumericParams params;
    params.op = op;
    params.columns = config.getStringList("columns");
    if (op == NumericOp::kLog) {
      params.offset = config.getFloat("offset");
    } else {
      if (config.has("min")) {
        params.min = config.getFloat("min");
      }
      if (config.has("max")) {
        params.max = config.getFloat("max");
      }
      const auto& quantiles = config.getFloatList("quantiles");
      if (!quantiles.empty()) {
        if (quantiles.size() != 2) {
          return aimass::invalidArgument(name +
                                         ": quantiles must hold two percentages "
                                         "[low, high], got " +
                                         std::to_string(quantiles.size()) + " numbers");
        }
        params.quantiles = true;
        params.quantile_low = quantiles[0];
        params.quantile_high = quantiles[1];
      }
    }
    AIMASS_ASSIGN_OR_RETURN(auto made, NumericTransform::create(std::move(params)));
    return std::unique_ptr<aimass::Node>(std::move(made));
  };
  return type;
}

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("transform.numeric registration", [&]() -> aimass::Status {
    std::vector<ParamSpec> log_params;
    log_params.push_back(ParamSpec::number("offset",
                                           "Added before the logarithm: log(x + offset). The "
                                           "default 1 is log1p. A value with x + offset <= 0 is "
                                           "an error naming its column and row, at fit and at "
                                           "apply.")
                             .withDefault(1.0));
    AIMASS_RETURN_IF_ERROR(registrar.add(numericType(
        NumericOp::kLog, "Takes the logarithm of numeric columns", std::move(log_params))));
    std::vector<ParamSpec> clip_params;
    clip_params.push_back(
        ParamSpec::number("min", "Fixed lower bound; values below become min.").optional());
    clip_params.push_back(
        ParamSpec::number("max", "Fixed upper bound; values above become max.").optional());
    clip_params.push_back(
        ParamSpec::list("quantiles", ParamType::kFloatList,
                        "Bounds learnt at fit instead: the [low, high] percentiles of each "
                        "column's training values (exact, interpolated). Not with min/max.")
            .withDefault(std::vector<double>{})
            .withExample("[1, 99]"));
    return registrar.add(numericType(NumericOp::kClip,
                                     "Clips numeric columns to fixed or learnt (quantile) bounds",
                                     std::move(clip_params)));
  });
}

}  // namespace

AIMASS_PLUGIN("transform.numeric", "1.0.0", "Logarithm and clipping of numeric columns",
              &registerTypes)
