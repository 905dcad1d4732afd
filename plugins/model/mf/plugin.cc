// SPDX-License-Identifier: Apache-2.0
// model.mf: entry point and registration.

#include "aimass/plugin.h"

#include <memory>

#include "mf.h"

namespace {

using aimass::ParamSpec;
using aimass::plugins::model::MfFeedback;
using aimass::plugins::model::MfOptions;
using aimass::plugins::model::MfSolver;

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("model.mf registration", [&]() -> aimass::Status {
    aimass::NodeType type;
    type.type = "model.mf";
    type.kind = aimass::NodeKind::kModel;
    type.summary =
        "Matrix factorisation recommender (biased MF for ratings, weighted ALS or BPR for "
        "implicit feedback) with top-k and online fold-in of new interactions";
    type.params.push_back(ParamSpec::integer("rank", "Latent factors per user and item.")
                              .withDefault(std::int64_t{32})
                              .range(1, 1024));
    type.params.push_back(
        ParamSpec::string("feedback",
                          "'explicit': ratings (needs the dataset's rating column), score = mu "
                          "+ b_u + b_i + p_u.q_i; 'implicit': interactions only, score = "
                          "p_u.q_i (+ b_i for bpr).")
            .withDefault(std::string("explicit"))
            .oneOf({"explicit", "implicit"}));
    type.params.push_back(
        ParamSpec::string("solver",
                          "explicit: 'adam' (default; mini-batch Adam), 'sgd' or 'als' (with "
                          "biases); implicit: 'als' (default; Hu, Koren and Volinsky 2008) or "
                          "'bpr'.")
            .oneOf({"adam", "sgd", "als", "bpr"})
            .optional());
    type.params.push_back(ParamSpec::integer("epochs", "Passes over the data (ALS: sweeps).")
                              .withDefault(std::int64_t{20})
                              .atLeast(1));
    type.params.push_back(ParamSpec::number("learning_rate", "Step size of adam, sgd and bpr.")
                              .withDefault(0.01)
                              .atLeast(0));
    type.params.push_back(ParamSpec::integer("batch_size", "Interactions per Adam step.")
                              .withDefault(std::int64_t{1024})
                              .atLeast(1));
    type.params.push_back(
        ParamSpec::number("l2_factors",
                          "L2 weight on the factors. Explicit solvers: per interaction (a row "
                          "with n interactions gets l2 * n). Implicit als: the lambda of HKV. "
                          "Default: 0.06 (adam), 0.05 (sgd), 0.1 (als), 0.01 (bpr).")
            .atLeast(0)
            .optional());
    type.params.push_back(
        ParamSpec::number("l2_factors_start",
                          "adam: the factor weight of the first 70% of the epochs, before it "
                          "drops to l2_factors (a strong start shrinks away what the data does "
                          "not support). Default: 2.5 * l2_factors.")
            .atLeast(0)
            .optional());
    type.params.push_back(
        ParamSpec::number("l2_biases", "L2 weight on the biases, per interaction. Default 0.01.")
            .atLeast(0)
            .optional());
    type.params.push_back(ParamSpec::number("alpha", "Implicit als: confidence 1 + alpha * r.")
                              .withDefault(40.0)
                              .atLeast(0));
    type.params.push_back(
        ParamSpec::number("init_std", "Standard deviation of the initial factors.")
            .withDefault(0.1)
            .atLeast(0));
    type.params.push_back(
        ParamSpec::integer("seed", "Seed of initialisation and shuffling; default: the job's.")
            .atLeast(0)
            .optional());
    type.params.push_back(ParamSpec::integer("threads", "Threads of the ALS steps; 0: every core.")
                              .withDefault(std::int64_t{0})
                              .atLeast(0));
    type.factory =
        [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      MfOptions options;
      options.rank = config.getInt("rank");
      options.feedback = config.getString("feedback") == "implicit" ? MfFeedback::kImplicit
                                                                    : MfFeedback::kExplicit;
      if (config.has("solver")) {
        const std::string& solver = config.getString("solver");
        options.solver = solver == "sgd"   ? MfSolver::kSgd
                         : solver == "als" ? MfSolver::kAls
                         : solver == "bpr" ? MfSolver::kBpr
                                           : MfSolver::kAdam;
      }
      options.epochs = config.getInt("epochs");
      options.learning_rate = config.getFloat("learning_rate");
      options.batch_size = config.getInt("batch_size");
      if (config.has("l2_factors")) {
        options.l2_factors = config.getFloat("l2_factors");
      }
      if (config.has("l2_factors_start")) {
        options.l2_factors_start = config.getFloat("l2_factors_start");
      }
      if (config.has("l2_biases")) {
        options.l2_biases = config.getFloat("l2_biases");
      }
      options.alpha = config.getFloat("alpha");
      options.init_std = config.getFloat("init_std");
      if (config.has("seed")) {
        options.seed = static_cast<std::uint64_t>(config.getInt("seed"));
      }
      options.threads = config.getInt("threads");
      AIMASS_RETURN_IF_ERROR(aimass::plugins::model::checkOptions(options));
      std::unique_ptr<aimass::Node> node;
      AIMASS_RETURN_IF_ERROR(aimass::guard("model.mf factory", [&] {
        node = std::make_unique<aimass::plugins::model::MatrixFactorization>(options);
      }));
      return node;
    };
    return registrar.add(std::move(type));
  });
}

}  // namespace

AIMASS_PLUGIN("model.mf", "1.0.0", "Matrix factorisation recommender", &registerTypes)
