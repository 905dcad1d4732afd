// SPDX-License-Identifier: Apache-2.0
// transform.standardize, transform.minmax, transform.robust: entry point and registration.

#include "aimass/plugin.h"

#include <memory>
#include <string>
#include <vector>

#include "scale.h"

namespace {

using aimass::ParamSpec;
using aimass::ParamType;
using aimass::plugins::transform::ScaleMethod;
using aimass::plugins::transform::ScaleParams;
using aimass::plugins::transform::ScaleTransform;

ParamSpec columnsParam() {
  return ParamSpec::list("columns", ParamType::kStringList,
                         "The numeric columns to scale, in place; empty: every numeric column. "
                         "Naming a text column or one the data lacks fails at fit.")
      .withDefault(std::vector<std::string>{});
}

/// `values` must hold exactly two numbers; the factory's error names `param`.
aimass::Status takePair(const std::string& type, const std::string& param,
                        const std::vector<double>& values, ScaleParams& params) {
  if (values.size() != 2) {
    return aimass::invalidArgument(type + ": " + param +
                                   " must hold two numbers [low, high], got " +
                                   std::to_string(values.size()));
  }
  params.low = values[0];
  params.high = values[1];
  return aimass::okStatus();
}

aimass::NodeType scaleType(ScaleMethod method, std::string summary, const char* pair_param,
                           ParamSpec pair_spec) {
  aimass::NodeType type;
  type.type = aimass::plugins::transform::scaleTypeName(method);
  type.kind = aimass::NodeKind::kTransform;
  type.summary = std::move(summary);
  type.params.push_back(columnsParam());
  if (pair_param != nullptr) {
    type.params.push_back(std::move(pair_spec));
  }
  const std::string name = type.type;
  const std::string pair = pair_param != nullptr ? pair_param : "";
  type.factory =
      [method, name,
       pair](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
    ScaleParams params;
    params.method = method;
    params.columns = config.getStringList("columns");
    if (!pair.empty()) {
      AIMASS_RETURN_IF_ERROR(takePair(name, pair, config.getFloatList(pair), params));
    }
    AIMASS_ASSIGN_OR_RETURN(auto made, ScaleTransform::create(std::move(params)));
    return std::unique_ptr<aimass::Node>(std::move(made));
  };
  return type;
}

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("transform.scale registration", [&]() -> aimass::Status {
    AIMASS_RETURN_IF_ERROR(registrar.add(
        scaleType(ScaleMethod::kStandardize,
                  "Standardises numeric columns to mean 0 and standard deviation 1", nullptr, {})));
    AIMASS_RETURN_IF_ERROR(registrar.add(
        scaleType(ScaleMethod::kMinMax,
                  "Maps each numeric column's training [min, max] onto a range", "range",
                  ParamSpec::list("range", ParamType::kFloatList,
                                  "Target range [low, high] of the training minimum and maximum; a "
                                  "constant column maps to low.")
                      .withDefault(std::vector<double>{0, 1}))));
    return registrar.add(scaleType(
        ScaleMethod::kRobust,
        "Centres numeric columns on the median and divides by an inter-quantile range",
        "quantile_range",
        ParamSpec::list("quantile_range", ParamType::kFloatList,
                        "The quantiles [low, high] in percent whose distance divides each column; "
                        "a zero distance divides by 1.")
            .withDefault(std::vector<double>{25, 75})));
  });
}

}  // namespace

AIMASS_PLUGIN("transform.scale", "1.0.0", "Standardise, min-max and robust scaling", &registerTypes)
