// SPDX-License-Identifier: Apache-2.0
// model.linear: entry point and registration.

#include "aimass/plugin.h"

#include <memory>

#include "linear.h"

namespace {

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("model.linear registration", [&]() -> aimass::Status {
    aimass::NodeType type;
    type.type = "model.linear";
    type.kind = aimass::NodeKind::kModel;
    type.summary = "Least-squares linear regression with L2, in closed form or by gradients";
    type.params.push_back(
        aimass::ParamSpec::number("l2",
                                  "Weight of the L2 penalty l2/2 * ||W||^2 added to half the "
                                  "mean squared error (the intercept is not penalised). 0 "
                                  "disables it; a small value makes collinear data solvable.")
            .withDefault(0.0)
            .atLeast(0));
    type.params.push_back(
        aimass::ParamSpec::boolean("fit_intercept",
                                   "Learn a bias per target; false fits a line through the origin.")
            .withDefault(true));
    type.params.push_back(
        aimass::ParamSpec::string(
            "solver",
            "closed_form: job.train calls fit(), which solves the normal equations over the "
            "whole dataset by Cholesky (no optimizer needed). gradient: job.train drives it with "
            "its `optimizer:` like any gradient model.")
            .withDefault(std::string("closed_form"))
            .oneOf({"closed_form", "gradient"}));
    type.factory =
        [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      aimass::plugins::model::LinearOptions options;
      options.l2 = config.getFloat("l2");
      options.fit_intercept = config.getBool("fit_intercept");
      options.solver = config.getString("solver") == "gradient"
                           ? aimass::plugins::model::LinearSolver::kGradient
                           : aimass::plugins::model::LinearSolver::kClosedForm;
      std::unique_ptr<aimass::Node> node;
      aimass::Status status = aimass::guard("model.linear factory", [&] {
        node = std::make_unique<aimass::plugins::model::LinearRegression>(options);
      });
      if (!status.ok()) {
        return status;
      }
      return node;
    };
    return registrar.add(std::move(type));
  });
}

}  // namespace

AIMASS_PLUGIN("model.linear", "1.0.0", "Least-squares linear regression", &registerTypes)
