// SPDX-License-Identifier: Apache-2.0
// model.gmm: entry point and registration.

#include "aimass/plugin.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "clustering_params.h"
#include "gmm.h"

namespace {

using aimass::ParamSpec;
using aimass::plugins::model::CovarianceType;
using aimass::plugins::model::GmmInit;
using aimass::plugins::model::GmmOptions;

std::vector<ParamSpec> gmmParams() {
  std::vector<ParamSpec> params;
  params.push_back(ParamSpec::integer("components", "Number of Gaussian components k.")
                       .withDefault(std::int64_t{1})
                       .atLeast(1)
                       .withExample("3"));
  params.push_back(ParamSpec::string("covariance",
                                     "full: one d x d covariance per component (clusters of any "
                                     "orientation; O(d^2) per row and component). diag: one "
                                     "variance per feature (axis-aligned; O(d)).")
                       .withDefault(std::string("full"))
                       .oneOf({"full", "diag"}));
  params.push_back(ParamSpec::integer("max_iterations", "Most EM iterations per restart.")
                       .withDefault(std::int64_t{100})
                       .atLeast(1));
  params.push_back(ParamSpec::number("tolerance",
                                     "Stop when the mean log-likelihood per row changes by "
                                     "less than this between iterations.")
                       .withDefault(1e-3)
                       .atLeast(0));
  params.push_back(ParamSpec::number("reg_covar",
                                     "Added to every covariance's diagonal, keeping it positive "
                                     "definite.")
                       .withDefault(1e-6)
                       .atLeast(0));
  params.push_back(ParamSpec::string("init",
                                     "Starting responsibilities: kmeans (one-hot from k-means++ "
                                     "and a few Lloyd iterations) or random (seeded).")
                       .withDefault(std::string("kmeans"))
                       .oneOf({"kmeans", "random"}));
  params.push_back(ParamSpec::integer("n_init",
                                      "Restarts; the one with the highest log-likelihood is "
                                      "kept.")
                       .withDefault(std::int64_t{1})
                       .atLeast(1));
  params.push_back(aimass::plugins::model::fitSeedParam("the start"));
  params.push_back(aimass::plugins::model::fitThreadsParam());
  return params;
}

GmmOptions optionsOf(const aimass::NodeConfig& config) {
  GmmOptions options;
  options.components = config.getInt("components");
  options.covariance =
      config.getString("covariance") == "diag" ? CovarianceType::kDiag : CovarianceType::kFull;
  options.max_iterations = config.getInt("max_iterations");
  options.tolerance = config.getFloat("tolerance");
  options.reg_covar = config.getFloat("reg_covar");
  options.init = config.getString("init") == "random" ? GmmInit::kRandom : GmmInit::kKMeans;
  options.n_init = config.getInt("n_init");
  options.seed = config.getInt("seed");
  options.threads = aimass::plugins::model::fitThreads(config.getInt("threads"));
  return options;
}

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("model.gmm registration", [&]() -> aimass::Status {
    aimass::NodeType type;
    type.type = "model.gmm";
    type.kind = aimass::NodeKind::kModel;
    type.summary = "Gaussian mixture clustering by EM, full or diagonal covariances";
    type.params = gmmParams();
    type.factory =
        [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      std::unique_ptr<aimass::Node> node;
      aimass::Status status = aimass::guard("model.gmm factory", [&] {
        node = std::make_unique<aimass::plugins::model::GaussianMixture>(optionsOf(config));
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

AIMASS_PLUGIN("model.gmm", "1.0.0", "Gaussian mixture clustering", &registerTypes)
