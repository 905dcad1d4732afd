// SPDX-License-Identifier: Apache-2.0
// transform.impute: entry point and registration.

#include "aimass/plugin.h"

#include <memory>
#include <string>
#include <vector>

#include "impute.h"

namespace {

using aimass::ParamSpec;
using aimass::ParamType;
using aimass::plugins::transform::ImputeParams;
using aimass::plugins::transform::ImputeTransform;

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("transform.impute registration", [&]() -> aimass::Status {
    aimass::NodeType type;
    type.type = "transform.impute";
    type.kind = aimass::NodeKind::kTransform;
    type.summary =
        "Fills missing values (NaN numbers, empty text) with a learnt statistic or "
        "a constant";
    type.params.push_back(
        ParamSpec::string("strategy",
                          "What fills a gap: the column's training mean, median or most "
                          "frequent value (ties: the smallest), or fill_value. mean and median "
                          "work on numeric columns only.")
            .withDefault(std::string("mean"))
            .oneOf({"mean", "median", "most_frequent", "constant"}));
    type.params.push_back(
        ParamSpec::list("columns", ParamType::kStringList,
                        "The columns to impute; empty: every numeric column, and every text "
                        "column unless strategy is mean or median. Naming a text column with "
                        "mean or median, or a column the data lacks, fails at fit.")
            .withDefault(std::vector<std::string>{}));
    type.params.push_back(
        ParamSpec::string("fill_value",
                          "strategy constant: the fill, a number for numeric columns and any "
                          "text for text columns; empty: 0 for numbers, \"missing\" for text.")
            .withDefault(std::string()));
    type.params.push_back(
        ParamSpec::boolean("indicator",
                           "Append a numeric column <col>_missing (1 where the value was "
                           "missing, else 0) for each imputed column that had a missing value "
                           "in training.")
            .withDefault(false));
    type.factory =
        [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      ImputeParams params;
      if (!aimass::plugins::transform::parseImputeStrategy(config.getString("strategy"),
                                                           params.strategy)) {
        return aimass::invalidArgument("transform.impute: unknown strategy '" +
                                       config.getString("strategy") + "'");
      }
      params.columns = config.getStringList("columns");
      params.fill_value = config.getString("fill_value");
      params.indicator = config.getBool("indicator");
      AIMASS_ASSIGN_OR_RETURN(auto made, ImputeTransform::create(std::move(params)));
      return std::unique_ptr<aimass::Node>(std::move(made));
    };
    return registrar.add(std::move(type));
  });
}

}  // namespace

AIMASS_PLUGIN("transform.impute", "1.0.0", "Imputation of missing values", &registerTypes)
